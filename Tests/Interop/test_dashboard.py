"""The dashboard in a real headless Chromium against the running gateway.

Drives the pages over the Chrome DevTools Protocol (websocket-client), sends traffic through the
gateway, and checks that the numbers and rows each page shows equal what the JSON admin API
answers. Screenshots of every page go to .artifacts/dashboard/ (DASHBOARD_ARTIFACTS overrides).
"""
import base64
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import time
import urllib.request

import httpx
import pytest

from conftest import BASE_URL, make_client

websocket = pytest.importorskip("websocket")

ADMIN_TOKEN = os.environ.get("INTEROP_ADMIN_TOKEN", "")
ARTIFACTS = pathlib.Path(os.environ.get("DASHBOARD_ARTIFACTS", pathlib.Path(__file__).resolve().parents[2] / ".artifacts" / "dashboard"))


def chromium_binary():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """One headless Chromium with one page, spoken to over CDP."""

    def __init__(self, binary):
        self.profile = tempfile.mkdtemp(prefix="switchyard-chromium-")
        self.process = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--remote-debugging-port=0", f"--user-data-dir={self.profile}", "--window-size=1440,1000", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = pathlib.Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
        self.next_id = 0
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=1440, height=1000, deviceScaleFactor=1, mobile=False)

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {expression}; page text: {self.evaluate('document.body.innerText')[:2000]}")

    def open(self, url):
        """Loads `url` (or moves to its #fragment) and waits until the page has drawn its data."""
        self.evaluate("document.body && delete document.body.dataset.ready")
        self.call("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete' && document.body.dataset.ready === '1'")

    def screenshot(self, name):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        height = self.evaluate("Math.min(4000, document.documentElement.scrollHeight)")
        self.call("Emulation.setDeviceMetricsOverride", width=1440, height=max(1000, height), deviceScaleFactor=1, mobile=False)
        data = self.call("Page.captureScreenshot", format="png")["data"]
        self.call("Emulation.setDeviceMetricsOverride", width=1440, height=1000, deviceScaleFactor=1, mobile=False)
        path = ARTIFACTS / f"{name}.png"
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self):
        try:
            self.ws.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    binary = chromium_binary()
    if binary is None:
        pytest.skip("no chromium on this machine (scripts/interop.sh installs Debian's package)")
    b = Browser(binary)
    yield b
    b.close()


def admin(path):
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"} if ADMIN_TOKEN else {}
    response = httpx.get(BASE_URL + path, headers=headers, timeout=30)
    response.raise_for_status()
    return response.json()


def wait_logged(count):
    """The request log is written in batches: waits until at least `count` records are stored."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if admin("/admin/logs?per_page=1")["result_info"]["total_count"] >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} requests were logged")


def test_dashboard_pages_show_what_the_admin_api_answers(browser):
    before = admin("/admin/logs?per_page=1")["result_info"]["total_count"]
    client = make_client()
    for i in range(4):
        client.chat.completions.create(model="openai/gpt-5-mini", messages=[{"role": "user", "content": f"dashboard {i}"}])
    client.chat.completions.create(model="anthropic/claude-sonnet-4-5", messages=[{"role": "user", "content": "dashboard claude"}])
    client.chat.completions.create(model="dynamic/customer-support", messages=[{"role": "user", "content": "dashboard route"}],
                                   extra_headers={"cf-aig-metadata": json.dumps({"plan": "paid", "org_id": "acme", "user_id": "u-dash"})})
    client.chat.completions.create(model="dynamic/customer-support", messages=[{"role": "user", "content": "dashboard free"}],
                                   extra_headers={"cf-aig-metadata": json.dumps({"plan": "free", "user_id": "u-free"})})
    with pytest.raises(Exception):
        client.chat.completions.create(model="nosuchprovider/x", messages=[{"role": "user", "content": "dashboard error"}])
    wait_logged(before + 8)

    # Sign in when the gateway has an admin token: the page asks for it and keeps it for the tab.
    browser.open(BASE_URL + "/dashboard#/overview?since=1h")
    if ADMIN_TOKEN:
        assert browser.evaluate("document.getElementById('login').open")
        browser.evaluate(f"document.getElementById('token').value = {json.dumps(ADMIN_TOKEN)}")
        browser.evaluate("delete document.body.dataset.ready; document.getElementById('login-form').requestSubmit()")
        browser.wait_for("document.body.dataset.ready === '1' && !!document.querySelector('[data-stat=requests]')")

    # Overview: every card equals /admin/stats for the same range.
    shown = browser.evaluate("Object.fromEntries([...document.querySelectorAll('[data-stat]')].map(e => [e.dataset.stat, e.dataset.value]))")
    stats = admin("/admin/stats?since=1h")["result"]["totals"]
    for key in ("requests", "errors", "tokens_in", "tokens_out"):
        assert float(shown[key]) == stats[key], (key, shown, stats)
    assert stats["requests"] >= 7 and stats["errors"] >= 1
    assert abs(float(shown["cost"]) - stats["cost"]) < 1e-9
    assert float(shown["p50_ms"]) == pytest.approx(stats["p50_ms"]) and float(shown["p99_ms"]) == pytest.approx(stats["p99_ms"])
    assert browser.evaluate("document.querySelectorAll('[data-chart] svg').length") >= 5
    bars = browser.evaluate("document.querySelectorAll('[data-chart=requests] rect').length")
    assert bars >= 1
    models = browser.evaluate("[...document.querySelectorAll('[data-table=models] tbody tr')].map(r => [r.cells[0].textContent, r.cells[1].textContent])")
    api_models = admin("/admin/stats?since=1h")["result"]["models"]
    assert [m[0] for m in models] == [m["name"] for m in api_models]
    assert [int(m[1].replace(",", "")) for m in models] == [m["requests"] for m in api_models]
    browser.screenshot("overview")

    # Logs: the first page's rows are /admin/logs's, in order.
    browser.open(BASE_URL + "/dashboard#/logs")
    rows = browser.evaluate("[...document.querySelectorAll('[data-table=logs] tbody tr')].map(r => r.dataset.logId)")
    logs = admin("/admin/logs?per_page=50&order_by=created_at&direction=desc")
    assert rows == [r["id"] for r in logs["result"]]
    assert int(browser.evaluate("document.querySelector('[data-testid=log-total]').dataset.value")) == logs["result_info"]["total_count"]
    browser.screenshot("logs")

    # A filter goes to the API as a filter.
    browser.open(BASE_URL + "/dashboard#/logs?provider=anthropic")
    filtered = browser.evaluate("[...document.querySelectorAll('[data-table=logs] tbody tr')].map(r => r.dataset.logId)")
    assert filtered == [r["id"] for r in admin("/admin/logs?per_page=50&filter=provider:eq:anthropic")["result"]]
    assert len(filtered) >= 1

    # One request: its route path, its bodies, and feedback that the API then reports.
    routed = next(r for r in logs["result"] if r.get("route") and "dashboard route" in (admin(f"/admin/logs/{r['id']}")["result"].get("request_body") or ""))
    browser.open(BASE_URL + f"/dashboard#/logs/{routed['id']}")
    assert browser.evaluate("document.querySelector('[data-route-path]').dataset.routePath") == routed["route_path"]
    assert "dashboard route" in browser.evaluate("document.querySelectorAll('pre.body')[0].textContent")
    browser.evaluate("delete document.body.dataset.ready; document.querySelector('[data-feedback=\"1\"]').click()")
    browser.wait_for("document.body.dataset.ready === '1' && document.querySelector('[data-feedback=\"1\"]').classList.contains('on')")
    assert admin(f"/admin/logs/{routed['id']}")["result"]["feedback"] == 1
    browser.screenshot("log-detail")

    # Routes: the list and one route's graph, drawn from the compiled graph.
    browser.open(BASE_URL + "/dashboard#/routes")
    names = browser.evaluate("[...document.querySelectorAll('[data-table=routes] tbody tr')].map(r => r.dataset.route)")
    assert names == [r["name"] for r in admin("/admin/routes")["routes"]]
    browser.screenshot("routes")
    browser.open(BASE_URL + "/dashboard#/routes/customer-support")
    drawn = browser.evaluate("[...document.querySelectorAll('[data-testid=route-graph] [data-node]')].map(n => n.dataset.node)")
    assert sorted(drawn) == sorted(n["name"] for n in admin("/admin/routes/customer-support")["result"]["nodes"])
    browser.screenshot("route-graph")
    # The canary's gated node: breaker state and in-flight count as /admin/routes reports them.
    browser.open(BASE_URL + "/dashboard#/routes/canary")
    targets = next(r for r in admin("/admin/routes")["routes"] if r["name"] == "canary")["targets"]
    assert targets, "routes/canary.yaml has a breaker and max_concurrency"
    shown_targets = browser.evaluate("[...document.querySelectorAll('[data-table=targets] tbody tr')].map(r => [r.dataset.node, r.querySelector('[data-field=breaker]').textContent, r.querySelector('[data-field=in_flight]').textContent])")
    assert shown_targets == [[t["node"], t["breaker"]["state"] if "breaker" in t else "–",
                              f"{t['in_flight']} / {t['max_concurrency']}" if "max_concurrency" in t else str(t["in_flight"])] for t in targets]

    # A pick route: after two requests each arm it chose shows the figures /admin/routes has.
    for i in range(2):
        client.chat.completions.create(model="dynamic/fastest", messages=[{"role": "user", "content": f"dashboard pick {i}"}])
    browser.open(BASE_URL + "/dashboard#/routes/fastest")
    picks = next(r for r in admin("/admin/routes")["routes"] if r["name"] == "fastest")["picks"]
    assert [a["node"] for a in picks[0]["arms"]] == ["gpt", "claude"]
    assert any(a["value"] is not None for a in picks[0]["arms"]), picks
    shown_arms = browser.evaluate("[...document.querySelectorAll('[data-table=picks] tbody tr')].map(r => [r.dataset.arm, r.querySelector('[data-field=value]').textContent === 'unmeasured'])")
    assert shown_arms == [[a["node"], a["value"] is None] for a in picks[0]["arms"]]
    browser.screenshot("route-pick")

    # Limits: every configured limit node, and the keys in use.
    browser.open(BASE_URL + "/dashboard#/limits")
    limits = admin("/admin/limits")["result"]["limits"]
    shown_limits = browser.evaluate("[...document.querySelectorAll('[data-table=limits] > tbody > tr')].map(r => r.dataset.limit)")
    assert shown_limits == [(l["route"] or "gateway:" + l["gateway"]) + "/" + l["node"] for l in limits]
    shown_keys = browser.evaluate("[...document.querySelectorAll('[data-limit-key]')].map(r => r.dataset.limitKey)")
    assert shown_keys == [k["key"] for l in limits for k in l["keys"]]
    browser.screenshot("limits")
