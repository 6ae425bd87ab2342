#!/usr/bin/env python3
"""Measures the targets started by bench/run.sh and writes bench/results/ (RESULTS.md, results.json,
chart.png). Every target is measured in the same run, round-robin, so machine drift cancels out in
the ratios. Every loop is bounded in count and in time; every address is loopback."""

import asyncio
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timezone

ENV = os.environ
RENDER = sys.argv[2] if len(sys.argv) == 3 and sys.argv[1] == "--render" else None
if RENDER:
    with open(RENDER) as _file:
        MODE = json.load(_file)["mode"]
else:
    MODE = ENV["BENCH_MODE"]
WORK = ENV.get("BENCH_WORK", "")
ROOT = ENV.get("BENCH_ROOT", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RESULTS = os.path.join(ROOT, "bench", "results")
QUICK = MODE == "quick"

CONNECTIONS = [16, 64, 256]
ROUNDS = 1 if QUICK else 3
WRK_SECONDS = 2 if QUICK else 5
HEY_SECONDS = 3 if QUICK else 10
HEY_WORKERS, HEY_QPS_PER_WORKER = 50, 20  # 50 x 20 = 1,000 requests/s
# Paced: 50 connections, each waiting a random 0-100 ms (mean 50) after every answer: about 1,000
# requests/s arriving spread out, where hey's workers tick together and send bursts of 50.
PACED_CONNECTIONS, PACED_MAX_DELAY_MS = 50, 100
TTFB_SAMPLES = 10 if QUICK else 30
STREAMS = 200 if QUICK else 1000
STREAM_HOLD_SECONDS = 6  # the fake upstream's streams last 10 s; sample while all are open
LITELLM_STREAM_BOUND = 20 if QUICK else 30
CLK_TCK = os.sysconf("SC_CLK_TCK")

MESSAGES = [{"role": "user", "content": "Say hello."}]
METADATA = json.dumps({"plan": "paid", "user_id": "bench-user-1"})


def body(model, stream=False):
    payload = {"model": model, "messages": MESSAGES}
    if stream:
        payload["stream"] = True
    return json.dumps(payload, separators=(",", ":"))


class Target:
    def __init__(self, name, base, path, model, pid, headers=None, kind="switchyard"):
        self.name, self.base, self.path, self.model, self.pid = name, base, path, model, int(pid)
        self.headers = {"Content-Type": "application/json", "Authorization": "Bearer sk-bench"}
        self.headers.update(headers or {})
        self.kind = kind
        if kind == "litellm":
            self.headers["Authorization"] = "Bearer " + ENV.get("LL_KEY", "0")

    @property
    def url(self):
        return self.base + self.path


SY, SY_PID = ENV.get("SY_URL", "0"), ENV.get("SY_PID", "0")
DYN = {"cf-aig-metadata": METADATA}
JSON_TARGETS = [
    Target("nginx-direct", ENV.get("UP_URL", "0"), "/v1/chat/completions", "gpt-5.2", ENV.get("UP_PID", "0"), kind="nginx"),
    Target("nginx-proxy", ENV.get("PX_URL", "0"), "/v1/chat/completions", "gpt-5.2", ENV.get("PX_PID", "0"), kind="nginx"),
    Target("hummingbird-floor", ENV.get("FLOOR_URL", "0"), "/v1/chat/completions", "gpt-5.2", ENV.get("FLOOR_PID", "0"), kind="floor"),
    Target("switchyard-compat", SY, "/compat/chat/completions", "openai/gpt-5.2", SY_PID),
    Target("switchyard-dynamic", SY, "/compat/chat/completions", "dynamic/bench", SY_PID, DYN),
    Target("switchyard-passthrough", SY, "/openai/chat/completions", "gpt-5.2", SY_PID),
    Target("litellm", ENV.get("LL_URL", "0"), "/v1/chat/completions", "gpt-5.2", ENV.get("LL_PID", "0"), kind="litellm"),
]
SSE_TARGETS = [
    Target("nginx-direct", ENV.get("UPS_URL", "0"), "/v1/chat/completions", "gpt-5.2", ENV.get("UP_PID", "0"), kind="nginx"),
    Target("nginx-proxy", ENV.get("PXS_URL", "0"), "/v1/chat/completions", "gpt-5.2", ENV.get("PX_PID", "0"), kind="nginx"),
    Target("switchyard-compat", SY, "/compat/chat/completions", "ssebench/gpt-5.2", SY_PID),
    Target("switchyard-dynamic", SY, "/compat/chat/completions", "dynamic/bench-sse", SY_PID, DYN),
    Target("switchyard-passthrough", SY, "/ssebench/chat/completions", "gpt-5.2", SY_PID),
    Target("litellm", ENV.get("LL_URL", "0"), "/v1/chat/completions", "gpt-5.2-sse", ENV.get("LL_PID", "0"), kind="litellm"),
]
SLOW_TARGETS = [
    Target("fake-direct", ENV.get("FAKE_URL", "0"), "/v1/chat/completions", "gpt-5.2", ENV.get("FAKE_PID", "0"), kind="fake"),
    Target("nginx-proxy", ENV.get("PXF_URL", "0"), "/v1/chat/completions", "gpt-5.2", ENV.get("PX_PID", "0"), kind="nginx"),
    Target("switchyard-compat", SY, "/compat/chat/completions", "slow/gpt-5.2", SY_PID),
    Target("switchyard-passthrough", SY, "/slow/chat/completions", "gpt-5.2", SY_PID),
    Target("litellm", ENV.get("LL_URL", "0"), "/v1/chat/completions", "slow", ENV.get("LL_PID", "0"), kind="litellm"),
]


def log(message):
    print(f"bench: {message}", flush=True)


# --- processes ---------------------------------------------------------------------------------

def process_tree(root):
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except OSError:
            continue
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / CLK_TCK


class RSSSampler:
    """Samples a process tree's resident memory every 100 ms while a load runs; keeps the peak."""

    def __init__(self, root):
        self.pids = process_tree(root)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, rss_kib(self.pids))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


# --- sanity ------------------------------------------------------------------------------------

def request(target, payload, timeout=30):
    parts = urllib.parse.urlsplit(target.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("POST", parts.path, payload, target.headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def check(target):
    try:
        status, data = request(target, body(target.model))
        if status != 200:
            return f"HTTP {status}: {data[:200].decode(errors='replace')}"
        answer = json.loads(data)
        if answer.get("object") != "chat.completion" or not answer.get("choices"):
            return f"not a chat.completion: {data[:200].decode(errors='replace')}"
        return None
    except Exception as error:  # noqa: BLE001 - any failure disqualifies the target
        return f"{type(error).__name__}: {error}"


# --- wrk and hey -------------------------------------------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def to_ms(text):
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(match.group(1)) * UNITS[match.group(2)]


def lua_script(target, paced=False):
    path = os.path.join(WORK, f"post-{target.name}{'-paced' if paced else ''}.lua")
    lines = ['wrk.method = "POST"', f"wrk.body = [==[{body(target.model)}]==]"]
    lines += [f'wrk.headers["{k}"] = [==[{v}]==]' for k, v in target.headers.items()]
    if paced:
        lines += ["function init(args) math.randomseed(20261130) end",
                  f"function delay() return math.random(0, {PACED_MAX_DELAY_MS}) end"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def wrk_command(target, connections):
    return ["wrk", "-t2", f"-c{connections}", f"-d{WRK_SECONDS}s", "--timeout", "10s", "--latency",
            "-s", lua_script(target), target.url]


def run_wrk(target, connections):
    command = wrk_command(target, connections)
    pids = process_tree(target.pid)
    cpu_before = cpu_seconds(pids)
    with RSSSampler(target.pid) as sampler:
        output = subprocess.run(command, capture_output=True, text=True, timeout=WRK_SECONDS + 60).stdout
    cpu = cpu_seconds(pids) - cpu_before
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
              "requests": int(re.search(r"(\d+) requests in", output).group(1)),
              "non2xx": int((re.search(r"Non-2xx or 3xx responses: (\d+)", output) or [0, 0])[1]),
              "socket_errors": (re.search(r"Socket errors: (.*)", output) or [None, ""])[1],
              "cpu_s": cpu, "peak_rss_kib": sampler.peak}
    for pct in ("50", "90", "99"):
        match = re.search(rf"^\s+{pct}%\s+(\S+)", output, re.M)
        result[f"p{pct}_ms"] = to_ms(match.group(1)) if match and result["requests"] else None
    return result


def paced_command(target):
    return ["wrk", "-t1", f"-c{PACED_CONNECTIONS}", f"-d{HEY_SECONDS}s", "--timeout", "10s", "--latency",
            "-s", lua_script(target, paced=True), target.url]


def run_paced(target):
    output = subprocess.run(paced_command(target), capture_output=True, text=True, timeout=HEY_SECONDS + 60).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
              "non2xx": int((re.search(r"Non-2xx or 3xx responses: (\d+)", output) or [0, 0])[1])}
    for pct in ("50", "90", "99"):
        match = re.search(rf"^\s+{pct}%\s+(\S+)", output, re.M)
        result[f"p{pct}_ms"] = to_ms(match.group(1)) if match else None
    return result


def hey_command(target):
    command = ["hey", "-z", f"{HEY_SECONDS}s", "-c", str(HEY_WORKERS), "-q", str(HEY_QPS_PER_WORKER),
               "-t", "10", "-m", "POST", "-d", body(target.model)]
    for k, v in target.headers.items():
        command += ["-T", v] if k == "Content-Type" else ["-H", f"{k}: {v}"]
    return command + [target.url]


def run_hey(target):
    output = subprocess.run(hey_command(target), capture_output=True, text=True, timeout=HEY_SECONDS + 60).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}
    for pct in ("50", "90", "99"):
        match = re.search(rf"\b{pct}%+ in ([\d.]+) secs", output)
        result[f"p{pct}_ms"] = float(match.group(1)) * 1e3 if match else None
    statuses = dict((int(s), int(n)) for s, n in re.findall(r"\[(\d+)\]\s+(\d+) responses", output))
    result["ok"] = statuses.get(200, 0)
    result["not_ok"] = sum(n for s, n in statuses.items() if s != 200)
    result["errors"] = sum(int(n) for n in re.findall(r"^\s+\[(\d+)\]\s+\S", output.split("Error distribution:")[-1], re.M)) \
        if "Error distribution:" in output else 0
    return result


# --- streaming ---------------------------------------------------------------------------------

def first_chunk_ms(target):
    """Milliseconds from sending the request to the first `data:` line, on a fresh connection."""
    parts = urllib.parse.urlsplit(target.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
    try:
        conn.connect()
        start = time.perf_counter()
        conn.request("POST", parts.path, body(target.model, stream=True), target.headers)
        response = conn.getresponse()
        if response.status != 200:
            return None
        for _ in range(1000):
            line = response.readline()
            if not line:
                return None
            if line.startswith(b"data:"):
                return (time.perf_counter() - start) * 1e3
        return None
    except OSError:
        return None
    finally:
        conn.close()


def ttfb_series(targets, rounds):
    samples = {t.name: [] for t in targets}
    per_round = max(1, TTFB_SAMPLES // rounds)
    for _ in range(rounds):
        for target in targets:
            deadline = time.monotonic() + 30
            for _ in range(per_round):
                if time.monotonic() > deadline:
                    break
                samples[target.name].append(first_chunk_ms(target))
    out = {}
    for name, values in samples.items():
        good = sorted(v for v in values if v is not None)
        out[name] = {"n": len(good), "failed": len(values) - len(good),
                     "p50_ms": statistics.median(good) if good else None,
                     "p90_ms": good[int(0.9 * (len(good) - 1))] if good else None}
    return out


async def hold_streams(target, count, bound):
    """Opens `count` streams at once and holds them; returns how many delivered a first chunk and the
    target's resident memory while the most were open."""
    parts = urllib.parse.urlsplit(target.url)
    payload = body(target.model, stream=True).encode()
    head = f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Length: {len(payload)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in target.headers.items()) + "\r\n"
    request_bytes = head.encode() + payload
    state = {"open": 0, "first": 0, "done": 0, "failed": 0}

    async def one():
        writer = None
        try:
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
            writer.write(request_bytes)
            await writer.drain()
            seen_first = False
            state["open"] += 1
            while True:
                line = await reader.readline()
                if not line:
                    break
                if not seen_first and line.startswith(b"data:"):
                    seen_first = True
                    state["first"] += 1
            state["open"] -= 1
            state["done"] += 1
        except (OSError, asyncio.IncompleteReadError):
            state["failed"] += 1
        finally:
            if writer is not None:
                writer.close()

    pids = process_tree(target.pid)
    tasks = [asyncio.ensure_future(one()) for _ in range(count)]
    start = time.monotonic()
    best = {"open_with_first_chunk": 0, "rss_kib": rss_kib(pids), "seconds_to_all_first": None}
    peak = 0
    while time.monotonic() - start < bound:
        await asyncio.sleep(0.2)
        rss = rss_kib(pids)
        peak = max(peak, rss)
        live = min(state["first"] - state["done"], state["open"])
        if live >= best["open_with_first_chunk"]:
            best.update(open_with_first_chunk=live, rss_kib=rss)
        if state["first"] >= count and best["seconds_to_all_first"] is None:
            best["seconds_to_all_first"] = round(time.monotonic() - start, 2)
        if best["seconds_to_all_first"] is not None and time.monotonic() - start >= STREAM_HOLD_SECONDS:
            break
        if state["done"] + state["failed"] >= count:
            break
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    best.update(peak_rss_kib=peak, first_chunks=state["first"], failed=state["failed"], requested=count)
    return best


# --- report ------------------------------------------------------------------------------------

def sh(command):
    try:
        done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=60)
        return (done.stdout + done.stderr).strip()
    except Exception as error:  # noqa: BLE001
        return f"({error})"


def fmt(value, digits=1):
    if value is None:
        return "—"
    if isinstance(value, float):
        if value >= 100:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}" if value >= 1 else f"{value:.{max(digits, 2)}f}"
    return f"{value:,}"


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def main():
    os.makedirs(RESULTS, exist_ok=True)
    started = datetime.now(timezone.utc)
    load_start = os.getloadavg()
    data = {"mode": MODE, "started": started.isoformat(timespec="seconds"), "skipped": {}}

    idle = {t.name: rss_kib(process_tree(t.pid)) for t in JSON_TARGETS}
    targets = []
    for target in JSON_TARGETS:
        problem = check(target)
        if problem:
            log(f"{target.name} skipped: {problem}")
            data["skipped"][target.name] = problem
        else:
            targets.append(target)
    names = [t.name for t in targets]
    sse_targets = [t for t in SSE_TARGETS if t.name in names]
    slow_targets = [t for t in SLOW_TARGETS if t.name in names or t.kind == "fake"]

    # Throughput and latency: round-robin over targets within each concurrency level and round.
    wrk = {t.name: {c: [] for c in CONNECTIONS} for t in targets}
    for round_number in range(ROUNDS):
        for connections in CONNECTIONS:
            for target in targets:
                result = run_wrk(target, connections)
                wrk[target.name][connections].append(result)
                log(f"round {round_number + 1}/{ROUNDS} c={connections:<3} {target.name:<24} "
                    f"{result['rps']:>10,.0f} req/s  p50 {fmt(result['p50_ms'], 2)} ms  non-2xx {result['non2xx']}")
    summary = {}
    for name, by_c in wrk.items():
        summary[name] = {}
        for connections, runs in by_c.items():
            cpu = sum(r["cpu_s"] for r in runs)
            requests_total = sum(r["requests"] for r in runs)
            summary[name][connections] = {
                "rps": median([r["rps"] for r in runs]),
                "p50_ms": median([r["p50_ms"] for r in runs]),
                "p90_ms": median([r["p90_ms"] for r in runs]),
                "p99_ms": median([r["p99_ms"] for r in runs]),
                "non2xx": sum(r["non2xx"] for r in runs),
                "socket_errors": [r["socket_errors"] for r in runs if r["socket_errors"]],
                "cpu_s_per_1000": cpu / requests_total * 1000 if requests_total else None,
                "peak_rss_kib": max(r["peak_rss_kib"] for r in runs),
            }
    data["wrk"] = summary

    def each_target(key, run):
        data[key] = {}
        for target in targets:
            r = data[key][target.name] = run(target)
            log(f"{key} {target.name:<24} {r['rps']:>8,.0f} req/s  p50 {fmt(r['p50_ms'], 2)} ms  p99 {fmt(r['p99_ms'], 2)} ms")

    log(f"fixed rate: hey {HEY_WORKERS} workers x {HEY_QPS_PER_WORKER} req/s for {HEY_SECONDS} s per target")
    each_target("hey", run_hey)
    log(f"paced: wrk {PACED_CONNECTIONS} connections, random 0-{PACED_MAX_DELAY_MS} ms between requests, {HEY_SECONDS} s per target")
    each_target("paced", run_paced)

    log("time to first chunk (static SSE upstream, then the slow fake upstream)")
    data["ttfb_static"] = ttfb_series(sse_targets, ROUNDS)
    data["ttfb_slow"] = ttfb_series(slow_targets, ROUNDS)

    data["streams"] = {}
    for target in [t for t in slow_targets if t.kind != "fake"]:
        bound = LITELLM_STREAM_BOUND if target.kind == "litellm" else 25
        if target.name == "switchyard-passthrough":
            continue  # the same process as switchyard-compat; one stream test for switchyard
        log(f"{STREAMS} concurrent streams through {target.name} (at most {bound} s)")
        data["streams"][target.name] = asyncio.run(hold_streams(target, STREAMS, bound))
        time.sleep(2)  # let the upstream finish the abandoned streams before the next target
    data["idle_rss_kib"] = idle
    data["after_rss_kib"] = {t.name: rss_kib(process_tree(t.pid)) for t in JSON_TARGETS}

    micro_path = os.path.join(WORK, "micro.txt")
    data["micro"] = open(micro_path).read().strip() if os.path.exists(micro_path) else "(not run)"
    data["load_average"] = {"start": load_start, "end": os.getloadavg()}
    data["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    data["machine"] = {
        "nproc": sh("nproc"), "cpu": sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip(),
        "kernel": sh("uname -srm"), "free": sh("free -h"),
    }
    data["versions"] = {
        "switchyard": sh(f"git -C {ROOT} rev-parse --short HEAD"),
        "swift": sh("swift --version 2>&1 | head -1"),
        "nginx": sh("nginx -v 2>&1"),
        "wrk": sh("wrk --version 2>&1 | head -1"),
        "hey": sh("dpkg-query -W -f='${Version}' hey 2>/dev/null"),
        "litellm": sh(f"{sys.executable} -m pip show litellm 2>/dev/null | grep ^Version"),
        "python": sys.version.split()[0],
    }
    compat = next(t for t in JSON_TARGETS if t.name == "switchyard-compat")
    data["commands"] = {
        "wrk": " ".join(wrk_command(compat, 64)).replace(WORK, "$WORK"),
        "hey": " ".join(f"'{a}'" if " " in a or "{" in a else a for a in hey_command(compat)),
        "paced": " ".join(paced_command(compat)).replace(WORK, "$WORK"),
    }
    with open(os.path.join(RESULTS, "results.json"), "w") as f:
        json.dump(data, f, indent=1, default=str)
    write_markdown(data, [t.name for t in targets])
    write_chart(data, [t.name for t in targets])
    print_ratios(data)


def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "—"


def ratio_lines(data):
    lines = []
    wrk = data["wrk"]
    for name in [n for n in wrk if n.startswith("switchyard")]:
        for c in CONNECTIONS:
            sy = wrk[name][c]["rps"]
            lines.append(f"| {name} | {c} | {ratio(sy, wrk.get('nginx-proxy', {}).get(c, {}).get('rps'))} | "
                         f"{ratio(sy, wrk.get('hummingbird-floor', {}).get(c, {}).get('rps'))} | "
                         f"{ratio(sy, wrk.get('litellm', {}).get(c, {}).get('rps'))} |")
    return lines


def print_ratios(data):
    wrk = data["wrk"]
    print()
    print("Throughput ratios (median requests/s; same run):")
    for name in [n for n in wrk if n.startswith("switchyard")]:
        for c in CONNECTIONS:
            sy = wrk[name][c]["rps"]
            print(f"  {name:<24} c={c:<3} / nginx-proxy {ratio(sy, wrk.get('nginx-proxy', {}).get(c, {}).get('rps')):>7}"
                  f"   / hummingbird-floor {ratio(sy, wrk.get('hummingbird-floor', {}).get(c, {}).get('rps')):>7}"
                  f"   / litellm {ratio(sy, wrk.get('litellm', {}).get(c, {}).get('rps')):>8}")
    print(f"\nWritten: {os.path.join(RESULTS, 'RESULTS.md')} and chart.png")


def write_markdown(data, names):
    wrk, mb = data["wrk"], lambda kib: f"{kib / 1024:,.0f} MB" if kib else "—"
    out = [f"# Benchmark results ({data['mode']} run, {data['started']})", ""]
    out += ["Generated by `bench/run.sh" + (" --quick" if data["mode"] == "quick" else "") + "`. "
            "All targets share the machine with the load generator and the upstream; "
            "compare ratios within this run, not absolute numbers across machines.", ""]
    la = data["load_average"]
    out += ["## Machine", "",
            f"- CPUs: {data['machine']['nproc']} × {data['machine']['cpu']}; kernel {data['machine']['kernel']}",
            f"- Load average (1/5/15 min) at start {la['start'][0]:.2f}/{la['start'][1]:.2f}/{la['start'][2]:.2f}, "
            f"at end {la['end'][0]:.2f}/{la['end'][1]:.2f}/{la['end'][2]:.2f} (other engineers' builds share the machine)",
            "", "```", data["machine"]["free"], "```", "",
            "Versions: " + "; ".join(f"{k} {v}" for k, v in data["versions"].items()), ""]
    if data["skipped"]:
        out += ["**Skipped targets** (failed the sanity request): " +
                "; ".join(f"`{k}`: {v}" for k, v in data["skipped"].items()), ""]
    out += ["## Throughput and latency (wrk, median of rounds)", "",
            "| target | c | requests/s | p50 ms | p90 ms | p99 ms | non-2xx | socket errors | CPU s / 1,000 req |",
            "|---|---|---|---|---|---|---|---|---|"]
    for c in CONNECTIONS:
        for name in names:
            s = wrk[name][c]
            errors = sum(sum(int(n) for n in re.findall(r"\d+", e)) for e in s["socket_errors"])
            out.append(f"| {name} | {c} | {fmt(s['rps'])} | {fmt(s['p50_ms'], 2)} | {fmt(s['p90_ms'], 2)} | "
                       f"{fmt(s['p99_ms'], 2)} | {s['non2xx']} | {errors:,} | {fmt(s['cpu_s_per_1000'], 3)} |")
    out += ["", "Socket errors are summed over the rounds; wrk counts a read error when the server closes a "
            "keep-alive connection, so a count near the number of requests means one connection per request."]
    out += ["", "## Ratios", "", "| target | c | / nginx-proxy | / hummingbird-floor | / LiteLLM |", "|---|---|---|---|---|"]
    out += ratio_lines(data)
    direct = wrk.get("nginx-direct", {}).get(16, {}).get("p50_ms")
    proxy = wrk.get("nginx-proxy", {}).get(16, {}).get("p50_ms")
    if direct is not None and proxy is not None:
        out += ["", f"Added p50 latency over nginx-direct at 16 connections: nginx-proxy "
                f"{proxy - direct:+.3f} ms" + "".join(
                    f", {n} {wrk[n][16]['p50_ms'] - direct:+.3f} ms" for n in names if n.startswith("switchyard"))
                + " (wrk's p50 includes queueing behind the saturated CPUs)."]
    out += ["", f"## Fixed rate: {HEY_WORKERS * HEY_QPS_PER_WORKER:,} requests/s offered "
            f"(hey, {HEY_WORKERS} workers × {HEY_QPS_PER_WORKER}/s, {HEY_SECONDS} s)", "",
            "| target | achieved req/s | p50 ms | p90 ms | p99 ms | 200 | other statuses | errors |", "|---|---|---|---|---|---|---|---|"]
    for name in names:
        h = data["hey"][name]
        out.append(f"| {name} | {fmt(h['rps'])} | {fmt(h['p50_ms'], 2)} | {fmt(h['p90_ms'], 2)} | {fmt(h['p99_ms'], 2)} | "
                   f"{h['ok']} | {h['not_ok']} | {h['errors']} |")
    out += ["", f"## Paced: about {PACED_CONNECTIONS * 1000 // (PACED_MAX_DELAY_MS // 2):,} requests/s arriving spread out "
            f"(wrk, {PACED_CONNECTIONS} connections, each waiting a random 0–{PACED_MAX_DELAY_MS} ms after every answer, {HEY_SECONDS} s)", "",
            "hey's workers above tick together, so its 1,000 requests/s arrive as bursts of 50 and the p50 is mostly the time "
            "to work through a burst; here arrivals are spread out as independent clients make them.", "",
            "| target | achieved req/s | p50 ms | p90 ms | p99 ms | non-2xx |", "|---|---|---|---|---|---|"]
    for name in names:
        h = data.get("paced", {}).get(name)
        if h:
            out.append(f"| {name} | {fmt(h['rps'])} | {fmt(h['p50_ms'], 2)} | {fmt(h['p90_ms'], 2)} | {fmt(h['p99_ms'], 2)} | {h['non2xx']} |")
    for key, title in (("ttfb_static", "static SSE answer from nginx"),
                       ("ttfb_slow", "fake-upstream slow stream (an event every 100 ms)")):
        out += ["", f"## Time to first streamed chunk: {title}", "",
                "Request sent on an open connection → first `data:` line received (Python client).", "",
                "| target | samples | failed | p50 ms | p90 ms |", "|---|---|---|---|---|"]
        for name, t in data[key].items():
            out.append(f"| {name} | {t['n']} | {t['failed']} | {fmt(t['p50_ms'], 2)} | {fmt(t['p90_ms'], 2)} |")
    out += ["", "## Resident memory (VmRSS, whole process tree)", "",
            "| target | idle | peak under wrk load | after the run |", "|---|---|---|---|"]
    seen = set()
    for name in names:
        label = "switchyard" if name.startswith("switchyard") else name  # one process, three paths
        if label in seen:
            continue
        seen.add(label)
        peak = max(wrk[n][c]["peak_rss_kib"] for n in names for c in CONNECTIONS
                   if n == name or (label == "switchyard" and n.startswith("switchyard")))
        out.append(f"| {label} | {mb(data['idle_rss_kib'][name])} | {mb(peak)} | {mb(data['after_rss_kib'][name])} |")
    out += ["", f"## {STREAMS:,} concurrent open streams (slow fake upstream, 100 events × 100 ms)", "",
            "| target | streams with a first chunk, open at once | RSS then | peak RSS | seconds until all had a first chunk | failed |",
            "|---|---|---|---|---|---|"]
    for name, s in data["streams"].items():
        out.append(f"| {name} | {s['open_with_first_chunk']:,} / {s['requested']:,} | {mb(s['rss_kib'])} | "
                   f"{mb(s['peak_rss_kib'])} | {fmt(s['seconds_to_all_first'], 2) if s['seconds_to_all_first'] else 'not all'} | {s['failed']} |")
    out += ["", "## Route engine micro-benchmark (`swift run -c release SwitchyardBench`)", "", "```", data["micro"], "```",
            "", "## Commands", "",
            "- Targets: nginx-direct (nginx `return 200` with a fixed `chat.completion`), nginx-proxy (nginx "
            "`proxy_pass` with upstream keepalive), hummingbird-floor (`bench/BaselineProxy`: Hummingbird 2 + AsyncHTTPClient "
            "forwarding the body to the same upstream and returning the answer, nothing else: what the frameworks Switchyard is "
            "built on cost by themselves), switchyard-compat (`/compat/chat/completions`, `openai/gpt-5.2`), "
            "switchyard-dynamic (`dynamic/bench`: condition → rate limit 10⁹/h → 50/50 sticky split; "
            "`bench/routes/bench.yaml`), switchyard-passthrough (`/openai/chat/completions`), litellm (proxy, one worker, no database).",
            f"- Throughput: `{data['commands']['wrk']}` (post-TARGET.lua sets method, body and headers); "
            f"{ROUNDS} round(s), targets interleaved within each round; the table shows the median.",
            f"- Fixed rate: `{data['commands']['hey']}`",
            f"- Paced: `{data['commands'].get('paced', '')}` (post-TARGET-paced.lua adds a seeded random `delay()`)",
            "- First chunk, memory and CPU: `bench/measure.py` (CPU from /proc/PID/stat utime+stime over all wrk runs "
            "of a level; memory from /proc/PID/status VmRSS, summed over the process tree).", ""]
    with open(os.path.join(RESULTS, "RESULTS.md"), "w") as f:
        f.write("\n".join(out))


def write_chart(data, names):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(figsize=(10, 5.5))
    width = 0.8 / max(1, len(names))
    for i, name in enumerate(names):
        values = [data["wrk"][name][c]["rps"] or 0 for c in CONNECTIONS]
        positions = [x + (i - (len(names) - 1) / 2) * width for x in range(len(CONNECTIONS))]
        bars = axes.bar(positions, values, width, label=name)
        axes.bar_label(bars, labels=[f"{v:,.0f}" for v in values], fontsize=7, rotation=90, padding=2)
    axes.set_yscale("log")
    top = max((data["wrk"][n][c]["rps"] or 1) for n in names for c in CONNECTIONS)
    axes.set_ylim(top=top * 6)  # room for the rotated labels
    axes.set_xticks(range(len(CONNECTIONS)), [f"{c} connections" for c in CONNECTIONS])
    axes.set_ylabel("requests/s (median, log scale)")
    axes.set_title(f"Chat completions through each target, one machine, one run ({data['started'][:10]})")
    axes.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=3)
    figure.tight_layout()
    figure.savefig(os.path.join(RESULTS, "chart.png"), dpi=120)


def render(path):
    """Re-renders RESULTS.md and chart.png from a results.json (`measure.py --render FILE`)."""
    with open(path) as f:
        data = json.load(f)
    for section in ("wrk",):
        data[section] = {n: {int(c): v for c, v in by_c.items()} for n, by_c in data[section].items()}
    names = list(data["wrk"])
    write_markdown(data, names)
    write_chart(data, names)
    print_ratios(data)


if __name__ == "__main__":
    if RENDER:
        render(RENDER)
    else:
        main()
