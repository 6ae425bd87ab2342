// Switchyard dashboard: a hand-written single page over the JSON admin API (docs/dashboard.md).
// No framework, no CDN: the gateway serves this file itself. Every number shown comes from
// /admin/stats, /admin/logs, /admin/routes or /admin/limits, the endpoints scripts use.
"use strict";

const state = { token: sessionStorage.getItem("switchyard.adminToken") || "" };
const main = document.getElementById("main");

// ---------- helpers ----------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

class HTTPError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (state.token) headers["Authorization"] = "Bearer " + state.token;
  if (options.body) headers["Content-Type"] = "application/json";
  const response = await fetch(path, Object.assign({}, options, { headers }));
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (_) { body = null; }
  if (!response.ok) {
    const message = body && body.errors && body.errors[0] ? body.errors[0].message : (text || response.statusText);
    if (response.status === 401) askForToken(state.token ? "That token was not accepted." : "");
    throw new HTTPError(response.status, message);
  }
  return body === null ? text : body;
}

const fmt = {
  int: (n) => (n === null || n === undefined ? "–" : Math.round(n).toLocaleString("en-US")),
  usd: (n) => (n === null || n === undefined ? "–" : n === 0 ? "$0" : "$" + (n >= 1 ? n.toFixed(2) : n >= 0.01 ? n.toFixed(4) : n.toPrecision(3))),
  ms: (n) => (n === null || n === undefined ? "–" : n >= 10000 ? (n / 1000).toFixed(1) + " s" : Math.round(n) + " ms"),
  pct: (n) => (n === null || n === undefined ? "–" : (n * 100).toFixed(1) + "%"),
  time: (t) => new Date(t * 1000).toLocaleTimeString("en-GB", { hour12: false }),
  datetime: (t) => new Date(t * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z"),
  compact: (n) => (n >= 1e6 ? (n / 1e6).toFixed(1) + "M" : n >= 1e3 ? (n / 1e3).toFixed(1) + "k" : String(Math.round(n * 100) / 100)),
};

// Replaces the page's content; null and false children (optional panels) are left out.
function show(...nodes) { main.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false)); }

function setStatus(text) { document.getElementById("status").textContent = text; }

function showError(error) {
  show(el("div", { class: "panel" }, el("h2", {}, "Could not load this page"), el("p", { class: "error", "data-testid": "page-error" }, String(error.message || error))));
}

// ---------- sign-in ----------

function askForToken(message) {
  const dialog = document.getElementById("login");
  document.getElementById("login-error").textContent = message || "";
  if (!dialog.open) dialog.showModal();
}

document.getElementById("login-form").addEventListener("submit", () => {
  state.token = document.getElementById("token").value.trim();
  sessionStorage.setItem("switchyard.adminToken", state.token);
  document.getElementById("signout").hidden = !state.token;
  route();
});
document.getElementById("signout").hidden = !state.token;
document.getElementById("signout").addEventListener("click", () => {
  state.token = "";
  sessionStorage.removeItem("switchyard.adminToken");
  location.reload();
});

// ---------- charts ----------

// A line or bar chart of `series` ([{name, cls, color, values}]) over the buckets' start times.
function chart(title, buckets, series, options = {}) {
  const W = options.width || 640, H = 190, L = options.left || 46, R = 10, T = 10, B = 24;
  const xs = buckets.map((b) => b.start);
  const all = series.flatMap((s) => s.values.filter((v) => v !== null && v !== undefined));
  const max = Math.max(options.min || 0, ...all, 0) || 1;
  const top = niceCeiling(max);
  const n = Math.max(1, buckets.length);
  const bw = (W - L - R) / n;
  const x = (i) => L + bw * i + bw / 2;
  const y = (v) => T + (H - T - B) * (1 - v / top);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img", "aria-label": title });
  for (let k = 0; k <= 4; k++) {
    const v = (top * k) / 4;
    root.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#eceef2", "stroke-width": 1 }));
    root.append(svg("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 10, fill: "#8a939e" }, options.axis ? options.axis(v) : fmt.compact(v)));
  }
  const ticks = Math.min(6, n);
  for (let k = 0; k < ticks; k++) {
    const i = Math.round((k * (n - 1)) / Math.max(1, ticks - 1));
    const anchor = ticks > 1 && k === 0 ? "start" : ticks > 1 && k === ticks - 1 ? "end" : "middle";
    if (xs[i] !== undefined) root.append(svg("text", { x: anchor === "start" ? L + 2 : anchor === "end" ? W - R : x(i), y: H - 6, "text-anchor": anchor, "font-size": 10, fill: "#8a939e" }, fmt.time(xs[i])));
  }
  series.forEach((s, si) => {
    if (options.bars) {
      const inner = Math.max(1, (bw * 0.78) / series.length);
      s.values.forEach((v, i) => {
        if (!v) return;
        const x0 = L + bw * i + bw * 0.11 + inner * si;
        root.append(svg("rect", { x: x0, y: y(v), width: inner, height: Math.max(0.5, y(0) - y(v)), fill: s.color, rx: 1.5 },
          svg("title", {}, `${s.name} ${fmt.time(xs[i])}: ${options.value ? options.value(v) : v}`)));
      });
    } else {
      let d = "";
      s.values.forEach((v, i) => {
        if (v === null || v === undefined) return;
        d += (d && s.values[i - 1] !== null && s.values[i - 1] !== undefined ? "L" : "M") + x(i).toFixed(1) + " " + y(v).toFixed(1);
      });
      root.append(svg("path", { d, fill: "none", stroke: s.color, "stroke-width": 2, "stroke-linejoin": "round" }));
      s.values.forEach((v, i) => {
        if (v === null || v === undefined) return;
        root.append(svg("circle", { cx: x(i), cy: y(v), r: 2.4, fill: s.color }, svg("title", {}, `${s.name} ${fmt.time(xs[i])}: ${options.value ? options.value(v) : v}`)));
      });
    }
  });
  return el("div", { class: "panel chart", "data-chart": options.id || title },
    el("h2", {}, title), root,
    el("div", { class: "legend" }, series.map((s) => el("span", {}, el("span", { class: "swatch " + s.cls }), s.name))));
}

function niceCeiling(v) {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function card(label, value, sub, key, raw) {
  return el("div", { class: "card" }, el("div", { class: "label" }, label),
    el("div", { class: "value", "data-stat": key, "data-value": raw === undefined || raw === null ? "" : raw }, value),
    sub ? el("div", { class: "sub" }, sub) : null);
}

// ---------- overview ----------

const ranges = [["15m", "15 min"], ["1h", "1 hour"], ["6h", "6 hours"], ["24h", "24 hours"], ["7d", "7 days"]];

async function overview(params) {
  const since = params.get("since") || "1h";
  const data = (await api("/admin/stats?since=" + encodeURIComponent(since))).result;
  const t = data.totals;
  const b = data.buckets;
  const rangeButtons = ranges.map(([v, label]) => el("button", { class: "secondary" + (v === since ? " on" : ""), onclick: () => { location.hash = "#/overview?since=" + v; } }, label));
  const head = el("div", { class: "pagehead" },
    el("div", {}, el("h1", {}, "Overview"), el("div", { class: "muted" }, `Since ${fmt.datetime(data.since)} · ${fmt.int(data.bucket_seconds)} s buckets` + (data.truncated ? " · newest 200,000 requests only" : ""))),
    el("div", { class: "spacer" }), el("div", { class: "tabs" }, rangeButtons));
  const cards = el("div", { class: "cards" },
    card("Requests", fmt.int(t.requests), null, "requests", t.requests),
    card("Errors", fmt.int(t.errors), t.requests ? fmt.pct(t.errors / t.requests) + " of requests" : null, "errors", t.errors),
    card("Tokens in", fmt.int(t.tokens_in), null, "tokens_in", t.tokens_in),
    card("Tokens out", fmt.int(t.tokens_out), null, "tokens_out", t.tokens_out),
    card("Cost", fmt.usd(t.cost), null, "cost", t.cost),
    card("Cache hit rate", fmt.pct(t.cache_hit_rate), fmt.int(t.cached) + " cached", "cache_hit_rate", t.cache_hit_rate),
    card("p50 latency", fmt.ms(t.p50_ms), null, "p50_ms", t.p50_ms),
    card("p99 latency", fmt.ms(t.p99_ms), null, "p99_ms", t.p99_ms));
  const charts = el("div", { class: "grid2" },
    chart("Requests and errors", b, [
      { name: "requests", cls: "sw1", color: "#2f6fde", values: b.map((x) => x.requests) },
      { name: "errors", cls: "sw2", color: "#c9372c", values: b.map((x) => x.errors) }], { bars: true, id: "requests" }),
    chart("Latency", b, [
      { name: "p50", cls: "sw1", color: "#2f6fde", values: b.map((x) => x.p50_ms) },
      { name: "p99", cls: "sw4", color: "#8a4fd6", values: b.map((x) => x.p99_ms) }], { axis: (v) => fmt.compact(v) + "ms", value: fmt.ms, id: "latency" }),
  );
  const smaller = el("div", { class: "grid3" },
    chart("Tokens", b, [
      { name: "in", cls: "sw3", color: "#1f8a4c", values: b.map((x) => x.tokens_in) },
      { name: "out", cls: "sw5", color: "#d28a1d", values: b.map((x) => x.tokens_out) }], { bars: true, id: "tokens", width: 420 }),
    chart("Cost", b, [
      { name: "cost (USD)", cls: "sw4", color: "#8a4fd6", values: b.map((x) => x.cost) }], { bars: true, value: fmt.usd, axis: (v) => (v === 0 ? "$0" : "$" + Number(v.toPrecision(2))), id: "cost", width: 420, left: 62 }),
    chart("Cache hit rate", b, [{ name: "hit rate", cls: "sw3", color: "#1f8a4c", values: b.map((x) => x.cache_hit_rate) }],
      { min: 1, axis: (v) => Math.round(v * 100) + "%", value: fmt.pct, id: "cache", width: 420 }));
  const groups = (title, rows, id) => el("div", { class: "panel" }, el("h2", {}, title),
    rows.length === 0 ? el("div", { class: "empty" }, "No requests in this range") :
      el("table", { "data-table": id },
        el("thead", {}, el("tr", {}, el("th", {}, "Name"), el("th", { class: "num" }, "Requests"), el("th", { class: "num" }, "Errors"),
          el("th", { class: "num" }, "Tokens in"), el("th", { class: "num" }, "Tokens out"), el("th", { class: "num" }, "Cost"))),
        el("tbody", {}, rows.map((g) => el("tr", {}, el("td", {}, g.name), el("td", { class: "num" }, fmt.int(g.requests)), el("td", { class: "num" }, fmt.int(g.errors)),
          el("td", { class: "num" }, fmt.int(g.tokens_in)), el("td", { class: "num" }, fmt.int(g.tokens_out)), el("td", { class: "num" }, fmt.usd(g.cost)))))));
  const lower = el("div", { class: "grid2" }, groups("By model", data.models, "models"), groups("By provider", data.providers, "providers"));
  show(head, cards, charts, smaller, lower);
}

// ---------- logs ----------

const logFilters = [["model", "Model", "contains"], ["provider", "Provider", "eq"], ["route", "Route", "contains"], ["status_code", "Status", "eq"]];

async function logs(params) {
  const page = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
  const query = new URLSearchParams({ page: String(page), per_page: "50", order_by: "created_at", direction: "desc" });
  for (const [field, , op] of logFilters) if (params.get(field)) query.append("filter", `${field}:${op}:${params.get(field)}`);
  if (params.get("success")) query.append("filter", "success:eq:" + params.get("success"));
  if (params.get("cached")) query.append("filter", "cached:eq:" + params.get("cached"));
  if (params.get("since")) query.set("since", params.get("since"));
  const data = await api("/admin/logs?" + query.toString());
  const form = el("form", { class: "filters panel", onsubmit: (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    for (const [k, v] of new FormData(e.target).entries()) if (String(v).trim()) next.set(k, String(v).trim());
    location.hash = "#/logs?" + next.toString();
  } },
    logFilters.map(([field, label]) => el("label", {}, label, el("input", { name: field, value: params.get(field) || "", size: field === "status_code" ? 5 : 16 }))),
    el("label", {}, "Outcome", select("success", params.get("success"), [["", "any"], ["true", "success"], ["false", "error"]])),
    el("label", {}, "Cache", select("cached", params.get("cached"), [["", "any"], ["true", "hit"], ["false", "miss"]])),
    el("label", {}, "Since", select("since", params.get("since"), [["", "all"], ["15m", "15 min"], ["1h", "1 hour"], ["24h", "24 hours"], ["7d", "7 days"]])),
    el("button", { type: "submit" }, "Filter"),
    el("button", { type: "button", class: "secondary", onclick: () => { location.hash = "#/logs"; } }, "Clear"));
  const info = data.result_info;
  const rows = data.result.map((r) => el("tr", { class: "click", "data-log-id": r.id, onclick: () => { location.hash = "#/logs/" + encodeURIComponent(r.id); } },
    el("td", { class: "mono" }, fmt.datetime(r.created_at)),
    el("td", {}, el("span", { class: "pill " + (r.success ? "ok" : "bad") }, r.status_code)),
    el("td", {}, r.model, el("div", { class: "muted" }, r.provider)),
    el("td", {}, r.route ? routePath(r) : el("span", { class: "muted" }, "–")),
    el("td", { class: "num" }, fmt.ms(r.duration_ms)),
    el("td", { class: "num" }, fmt.int(r.tokens_in) + " / " + fmt.int(r.tokens_out)),
    el("td", { class: "num" }, fmt.usd(r.cost)),
    el("td", {}, r.cached ? el("span", { class: "pill info" }, "hit") : "", r.stream ? el("span", { class: "pill warn" }, "stream") : "")));
  const table = rows.length === 0 ? el("div", { class: "empty" }, "No requests match") :
    el("table", { "data-table": "logs" },
      el("thead", {}, el("tr", {}, ["Time (UTC)", "Status", "Model", "Route path"].map((h) => el("th", {}, h)),
        el("th", { class: "num" }, "Duration"), el("th", { class: "num" }, "Tokens in / out"), el("th", { class: "num" }, "Cost"), el("th", {}, ""))),
      el("tbody", {}, rows));
  const pages = Math.max(1, Math.ceil(info.total_count / info.per_page));
  const go = (p) => { params.set("page", String(p)); location.hash = "#/logs?" + params.toString(); };
  const pager = el("div", { class: "pager" },
    el("span", { "data-testid": "log-total", "data-value": info.total_count }, `${fmt.int(info.total_count)} requests · page ${page} of ${pages}`),
    el("button", { class: "secondary", disabled: page <= 1, onclick: () => go(page - 1) }, "Newer"),
    el("button", { class: "secondary", disabled: page >= pages, onclick: () => go(page + 1) }, "Older"));
  show(el("div", { class: "pagehead" }, el("h1", {}, "Request logs")), form, el("div", { class: "panel" }, table, pager));
}

function select(name, value, options) {
  return el("select", { name }, options.map(([v, label]) => el("option", { value: v, selected: (value || "") === v }, label)));
}

function routePath(record) {
  const hops = (record.route_path || "").split(">").filter(Boolean);
  return el("div", { class: "path", "data-route-path": record.route_path || "" },
    el("span", { class: "hop" }, record.route),
    hops.map((h) => [el("span", { class: "arrow" }, "→"), el("span", { class: "hop" }, h)]));
}

async function logDetail(id) {
  const r = (await api("/admin/logs/" + encodeURIComponent(id))).result;
  const body = (text) => {
    if (text === null || text === undefined) return el("p", { class: "muted" }, "Not collected (payload collection is off).");
    let shown = text;
    try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (_) { /* not JSON: shown as stored */ }
    return el("pre", { class: "body" }, shown);
  };
  const feedback = el("div", { class: "tabs", "data-testid": "feedback" },
    [[1, "Good"], [0, "Neutral"], [-1, "Bad"]].map(([v, label]) => el("button", {
      class: "secondary" + (r.feedback === v ? " on" : ""), "data-feedback": v,
      onclick: async () => { await api("/admin/logs/" + encodeURIComponent(id), { method: "PATCH", body: JSON.stringify({ feedback: v }) }); route(); },
    }, label)));
  const kv = (pairs) => el("dl", { class: "kv" }, pairs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { "data-field": k }, v)]));
  show(
    el("div", { class: "pagehead" }, el("div", {}, el("a", { href: "#/logs" }, "← Logs"), el("h1", { class: "mono" }, r.id))),
    el("div", { class: "grid2" },
      el("div", { class: "panel" }, el("h2", {}, "Request"), kv([
        ["time", fmt.datetime(r.created_at)], ["status", el("span", { class: "pill " + (r.success ? "ok" : "bad") }, r.status_code)],
        ["model", r.model], ["provider", r.provider], ["gateway", r.gateway], ["path", r.path || "–"],
        ["duration", fmt.ms(r.duration_ms)], ["time to first byte", fmt.ms(r.time_to_first_byte_ms)],
        ["tokens in / out", fmt.int(r.tokens_in) + " / " + fmt.int(r.tokens_out)], ["cost", fmt.usd(r.cost)],
        ["cached", r.cached ? "yes" : "no"], ["stream", r.stream ? "yes" : "no"], ["event id", r.event_id || "–"],
      ])),
      el("div", { class: "panel" }, el("h2", {}, "Route taken"),
        r.route ? [routePath(r), el("p", { class: "muted" }, `step ${r.step} · `, el("a", { href: "#/routes/" + encodeURIComponent(r.route.split("@")[0]) }, "open the route"))]
          : el("p", { class: "muted" }, "A static model, no dynamic route."),
        el("h2", {}, "Feedback"), feedback,
        el("h2", {}, "Metadata"), Object.keys(r.metadata || {}).length ? kv(Object.entries(r.metadata).map(([k, v]) => [k, JSON.stringify(v)])) : el("p", { class: "muted" }, "None"))),
    el("div", { class: "grid2" },
      el("div", { class: "panel" }, el("h2", {}, "Request body"), body(r.request_body)),
      el("div", { class: "panel" }, el("h2", {}, "Response body"), body(r.response_body))));
}

// ---------- routes ----------

async function routes() {
  const data = await api("/admin/routes");
  const rows = data.routes.map((r) => el("tr", { class: "click", "data-route": r.name, onclick: () => { location.hash = "#/routes/" + encodeURIComponent(r.name); } },
    el("td", {}, el("strong", {}, r.name), el("div", { class: "muted mono" }, r.model)),
    el("td", { class: "mono" }, r.version), el("td", { class: "mono" }, r.source),
    el("td", { class: "mono" }, r.loaded_at || "–"), el("td", { class: "num" }, r.versions.length),
    el("td", {}, r.last_error ? el("span", { class: "pill bad" }, "error") : el("span", { class: "pill ok" }, "ok"))));
  show(
    el("div", { class: "pagehead" }, el("h1", {}, "Routes"), el("div", { class: "spacer" }),
      el("button", { class: "secondary", onclick: async () => { await api("/admin/reload", { method: "POST" }); routes(); } }, "Reload now")),
    data.errors.length ? el("div", { class: "panel" }, el("h2", {}, "Reload errors"), el("ul", { class: "errors mono error", "data-testid": "route-errors" }, data.errors.map((e) => el("li", {}, e)))) : null,
    el("div", { class: "panel" }, rows.length === 0 ? el("div", { class: "empty" }, "No routes loaded") :
      el("table", { "data-table": "routes" },
        el("thead", {}, el("tr", {}, ["Route", "Version", "Source", "Loaded"].map((h) => el("th", {}, h)), el("th", { class: "num" }, "Versions"), el("th", {}, "State"))),
        el("tbody", {}, rows))));
}

async function routeDetail(name, params) {
  const [list, graph] = await Promise.all([api("/admin/routes"), api("/admin/routes/" + encodeURIComponent(name) + (params.get("version") ? "?version=" + encodeURIComponent(params.get("version")) : ""))]);
  const g = graph.result;
  const info = list.routes.find((r) => r.name === name) || { versions: [] };
  const versions = info.versions;
  const diffBox = el("div", {});
  const older = select("from", versions[1] ? versions[1].version : "", versions.map((v) => [v.version, v.version + " · " + v.loaded_at]));
  const newer = select("to", versions[0] ? versions[0].version : "", versions.map((v) => [v.version, v.version + " · " + v.loaded_at]));
  const showDiff = async () => {
    const [a, b] = await Promise.all([older.value, newer.value].map((v) => api("/admin/routes/" + encodeURIComponent(name) + "?version=" + encodeURIComponent(v))));
    diffBox.replaceChildren(diff(a.result.mermaid, b.result.mermaid));
  };
  show(
    el("div", { class: "pagehead" }, el("div", {}, el("a", { href: "#/routes" }, "← Routes"), el("h1", {}, g.name),
      el("div", { class: "muted" }, el("span", { class: "mono" }, `dynamic/${g.name} · ${g.version}${g.current ? "" : " (older version)"} · ${g.source}`), g.description ? " · " + g.description : ""))),
    g.errors.length ? el("div", { class: "panel" }, el("h2", {}, "Last reload failed (this version keeps serving)"),
      el("ul", { class: "errors mono error" }, g.errors.map((e) => el("li", {}, e)))) : null,
    el("div", { class: "panel graph" }, el("h2", {}, "Compiled graph"), drawGraph(g)),
    liveTargets(info.targets || []),
    livePicks(info.picks || []),
    el("div", { class: "panel" }, el("h2", {}, "Versions"),
      el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Version"), el("th", {}, "Loaded"), el("th", {}, ""))),
        el("tbody", {}, versions.map((v) => el("tr", {}, el("td", { class: "mono" }, v.version), el("td", { class: "mono" }, v.loaded_at),
          el("td", {}, v.version === g.version ? el("span", { class: "pill info" }, "shown") : el("a", { href: `#/routes/${encodeURIComponent(name)}?version=${encodeURIComponent(v.version)}` }, "show")))))),
      versions.length > 1 ? el("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); showDiff(); } },
        el("label", {}, "From", older), el("label", {}, "To", newer), el("button", { type: "submit" }, "Diff graphs")) : el("p", { class: "muted" }, "One version so far; edits to the route file add versions here."),
      diffBox));
}

// Gated model nodes (breaker, max_concurrency) as the gateway sees them now.
function liveTargets(targets) {
  if (targets.length === 0) return null;
  const state = (b) => !b ? "–" : el("span", { class: "pill " + (b.state === "closed" ? "ok" : b.state === "open" ? "bad" : "info") }, b.state);
  return el("div", { class: "panel" }, el("h2", {}, "Live targets"),
    el("table", { "data-table": "targets" },
      el("thead", {}, el("tr", {}, ["Node", "Target", "Breaker", "Failures (recent / to open)"].map((h) => el("th", {}, h)), el("th", { class: "num" }, "In flight"))),
      el("tbody", {}, targets.map((t) => el("tr", { "data-node": t.node },
        el("td", { class: "mono" }, t.node), el("td", { class: "mono" }, t.target), el("td", { "data-field": "breaker" }, state(t.breaker)),
        el("td", { class: "mono" }, t.breaker ? `${t.breaker.recent_failures} / ${t.breaker.failures} in ${fmt.int(t.breaker.within_s)} s, cooldown ${fmt.int(t.breaker.cooldown_s)} s` : "–"),
        el("td", { class: "num", "data-field": "in_flight" }, t.max_concurrency ? `${t.in_flight} / ${t.max_concurrency}` : String(t.in_flight)))))));
}

// Pick nodes: each arm's live figure (the node's metric), error share and recent samples.
function livePicks(picks) {
  if (picks.length === 0) return null;
  const value = (by, v) => v === null ? "unmeasured" : by === "cost" ? fmt.usd(v) : by === "errors" ? (v * 100).toFixed(1) + "%" : fmt.ms(v * 1000);
  return el("div", { class: "panel" }, el("h2", {}, "Live picks"),
    picks.map((p) => el("table", { "data-table": "picks", "data-node": p.node },
      el("thead", {}, el("tr", {}, el("th", {}, `${p.node}: arm`), el("th", { class: "num" }, `${p.by}`), el("th", { class: "num" }, "errors"), el("th", { class: "num" }, "samples"))),
      el("tbody", {}, p.arms.map((a) => el("tr", { "data-arm": a.node },
        el("td", { class: "mono" }, a.node), el("td", { class: "num", "data-field": "value" }, value(p.by, a.value)),
        el("td", { class: "num" }, a.error_rate === null ? "–" : (a.error_rate * 100).toFixed(1) + "%"),
        el("td", { class: "num" }, a.samples.toFixed(1))))))));
}

// Layered layout: each node sits one row below the deepest node that leads to it from the start.
function drawGraph(g) {
  const depth = new Map([[g.start, 0]]);
  const order = [g.start];
  for (let i = 0; i < order.length; i++) {
    const node = g.nodes[order[i]];
    for (const e of node.edges) {
      if (!depth.has(e.target)) { depth.set(e.target, depth.get(node.index) + 1); order.push(e.target); }
    }
  }
  g.nodes.forEach((n) => { if (!depth.has(n.index)) depth.set(n.index, 0); });
  const rows = [];
  for (const n of g.nodes) (rows[depth.get(n.index)] = rows[depth.get(n.index)] || []).push(n);
  const NW = 210, NH = 48, GX = 64, GY = 64;
  const width = Math.max(...rows.map((r) => (r ? r.length : 0))) * (NW + GX) + GX;
  const height = rows.length * (NH + GY) + 20;
  const pos = new Map();
  rows.forEach((row, d) => (row || []).forEach((n, i) => {
    const rowWidth = row.length * (NW + GX) - GX;
    pos.set(n.index, { x: (width - rowWidth) / 2 + i * (NW + GX), y: 14 + d * (NH + GY) });
  }));
  const colors = { model: ["#e6eefc", "#2f6fde"], conditional: ["#fdf3e1", "#d28a1d"], split: ["#f1eafb", "#8a4fd6"], pick: ["#f1eafb", "#8a4fd6"],
    rate_limit: ["#e4f4ea", "#1f8a4c"], budget: ["#e4f4ea", "#1f8a4c"], reject: ["#fbe7e5", "#c9372c"] };
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, height: Math.min(height, 900), "data-testid": "route-graph" },
    svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      svg("path", { d: "M0 0 L10 5 L0 10 z", fill: "#8a939e" }))));
  for (const n of g.nodes) {
    const a = pos.get(n.index);
    n.edges.forEach((e, k) => {
      const b = pos.get(e.target);
      const x1 = a.x + NW / 2 + (k - (n.edges.length - 1) / 2) * 24, y1 = a.y + NH;
      const x2 = b.x + NW / 2, y2 = b.y;
      if (b.y === a.y) {
        // A sideways edge (an `exceeded` to a sibling): from one node's side to the other's.
        const right = b.x > a.x;
        const sx = right ? a.x + NW : a.x, ex = right ? b.x : b.x + NW, my = a.y + NH / 2;
        root.append(svg("path", { d: `M${sx} ${my} L${ex} ${my}`, fill: "none", stroke: "#9aa3ae", "stroke-width": 1.4, "stroke-dasharray": "5 4", "marker-end": "url(#arrow)" }));
        root.append(svg("text", { class: "elabel", x: (sx + ex) / 2, y: my - 5, "text-anchor": "middle" }, e.label));
        return;
      }
      const up = y2 <= y1;
      const dashed = e.label === "fallback" || e.label === "exceeded" || e.label === "mirror";
      const d = up ? `M${x1} ${y1} C${x1} ${y1 + 40}, ${x2 + NW / 2 + 30} ${y2 - 40}, ${x2} ${y2}` : `M${x1} ${y1} C${x1} ${(y1 + y2) / 2}, ${x2} ${(y1 + y2) / 2}, ${x2} ${y2}`;
      root.append(svg("path", { d, fill: "none", stroke: "#9aa3ae", "stroke-width": 1.4, "stroke-dasharray": dashed ? "5 4" : null, "marker-end": "url(#arrow)" }));
      root.append(svg("text", { class: "elabel", x: (x1 + x2) / 2 + 4, y: (y1 + y2) / 2, "text-anchor": "middle" }, e.label));
    });
  }
  for (const n of g.nodes) {
    const p = pos.get(n.index);
    const [fill, stroke] = colors[n.kind] || ["#f1f3f6", "#66707c"];
    const shown = (s, max) => (s.length > max ? s.slice(0, max - 1) + "…" : s);
    root.append(svg("g", { class: "node", "data-node": n.name },
      svg("rect", { x: p.x, y: p.y, width: NW, height: NH, rx: n.kind === "model" ? 18 : 6, fill, stroke }),
      svg("text", { x: p.x + NW / 2, y: p.y + 19, "text-anchor": "middle", "font-weight": 600 }, shown(n.name, 28)),
      svg("text", { class: "detail", x: p.x + NW / 2, y: p.y + 36, "text-anchor": "middle" }, shown(n.detail, 34)),
      svg("title", {}, `${n.name} (${n.kind})\n${n.detail}` + (n.line ? `\n${g.source}:${n.line}:${n.column}` : ""))));
  }
  return root;
}

// Line diff (longest common subsequence) of two texts.
function diff(a, b) {
  const x = a.split("\n"), y = b.split("\n");
  const m = x.length, n = y.length;
  const lcs = Array.from({ length: m + 1 }, () => new Int32Array(n + 1));
  for (let i = m - 1; i >= 0; i--) for (let j = n - 1; j >= 0; j--) lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < m || j < n) {
    if (i < m && j < n && x[i] === y[j]) { out.push(el("div", {}, "  " + x[i])); i++; j++; }
    else if (j < n && (i >= m || lcs[i][j + 1] >= lcs[i + 1][j])) { out.push(el("div", { class: "add" }, "+ " + y[j])); j++; }
    else { out.push(el("div", { class: "del" }, "- " + x[i])); i++; }
  }
  return el("div", { class: "diff", "data-testid": "route-diff" }, out);
}

// ---------- limits ----------

async function limits() {
  const data = (await api("/admin/limits")).result;
  const rows = data.limits.map((l) => {
    const keys = l.keys.length === 0 ? el("span", { class: "muted" }, "no use in the current window") :
      el("table", { class: "keys" }, el("tbody", {}, l.keys.map((k) => {
        const used = l.kind === "budget" ? k.spent + k.reserved : k.used;
        const share = Math.min(1, used / l.limit);
        return el("tr", { "data-limit-key": k.key },
          el("td", { class: "mono" }, k.key),
          el("td", {}, el("div", { class: "bar" }, barFill(share))),
          el("td", { class: "num" }, l.kind === "budget" ? `${fmt.usd(k.spent)} spent` + (k.reserved ? ` + ${fmt.usd(k.reserved)} reserved` : "") : `${fmt.compact(k.used)} used`),
          el("td", { class: "num muted" }, l.kind === "budget" ? fmt.usd(k.remaining) + " left" : fmt.compact(k.remaining) + " left"));
      })));
    return el("tr", { "data-limit": (l.route || "gateway:" + l.gateway) + "/" + l.node },
      el("td", {}, el("strong", {}, l.node), el("div", { class: "muted" }, l.scope === "gateway" ? "gateway " + l.gateway : "route " + l.route)),
      el("td", {}, el("span", { class: "pill " + (l.kind === "budget" ? "warn" : "info") }, l.kind === "budget" ? "budget" : "rate")),
      el("td", { class: "mono" }, (l.kind === "budget" ? fmt.usd(l.limit) : fmt.int(l.limit)) + " / " + l.window + (l.technique ? " " + l.technique : "")),
      el("td", { class: "mono" }, l.key || "shared"),
      el("td", {}, keys, l.key_count > l.keys.length ? el("div", { class: "muted" }, `${l.key_count - l.keys.length} more keys`) : null));
  });
  show(
    el("div", { class: "pagehead" }, el("div", {}, el("h1", {}, "Limits and budgets"),
      el("div", { class: "muted" }, "Use in the current window, busiest keys first" + (data.max_keys ? ` · ${fmt.int(data.key_count)} of ${fmt.int(data.max_keys)} counters held` : "")))),
    el("div", { class: "panel" }, rows.length === 0 ? el("div", { class: "empty" }, "No rate limits or budgets are configured") :
      el("table", { "data-table": "limits" }, el("thead", {}, el("tr", {}, ["Node", "Kind", "Limit", "Key", "Use per key"].map((h) => el("th", {}, h)))), el("tbody", {}, rows))));
}

function barFill(share) {
  const fill = el("span", { class: share >= 0.9 ? "hot" : share >= 0.6 ? "warm" : "" });
  fill.style.width = (share * 100).toFixed(1) + "%";
  return fill;
}

// ---------- router ----------

async function route() {
  const hash = location.hash.replace(/^#\/?/, "") || "overview";
  const [path, queryText] = hash.split("?");
  const params = new URLSearchParams(queryText || "");
  const parts = path.split("/").map(decodeURIComponent);
  document.querySelectorAll("[data-nav]").forEach((a) => a.classList.toggle("active", a.dataset.nav === parts[0]));
  document.body.dataset.page = parts[0];
  delete document.body.dataset.ready;
  try {
    if (parts[0] === "logs" && parts[1]) await logDetail(parts[1]);
    else if (parts[0] === "logs") await logs(params);
    else if (parts[0] === "routes" && parts[1]) await routeDetail(parts[1], params);
    else if (parts[0] === "routes") await routes();
    else if (parts[0] === "limits") await limits();
    else await overview(params);
    setStatus("updated " + new Date().toLocaleTimeString("en-GB", { hour12: false }));
  } catch (error) {
    if (!(error instanceof HTTPError && error.status === 401)) showError(error);
  }
  // Lets a headless browser test know the page has drawn what the API answered.
  document.body.dataset.ready = "1";
}

window.addEventListener("hashchange", route);
route();
// The overview and limits follow live traffic.
setInterval(() => {
  const page = document.body.dataset.page;
  if ((page === "overview" || page === "limits") && !document.getElementById("login").open) route();
}, 15000);
