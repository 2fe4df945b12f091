"""The serving process: peak memory under a realistic mix of requests, and cold page loads in headless Chromium.

The app runs as it is deployed today (`python app.py`, one process) against the big store on a free loopback port.
Browsers load the overview first (the first load meets a server that has served nothing yet), then about two
hundred requests walk the journeys users take: open the overview, change filters, open a workstream and a cohort,
and download the national CSV and Excel files. Peak resident memory is the kernel's high-water mark (VmHWM).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from urllib.request import urlopen

from bench.dashcalls import DashClient, http_transport
from bench.scenarios import COHORT_CASES, EXPORTS, OVERVIEW_QUERIES, WORKSTREAM_CASES
from bench.stores import ROOT
from bench.timing import summary

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
BROWSER_FLAGS = ("--headless=new", "--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1440,1000")
# Resolves with performance.now() at the first animation frame where all five panels have a drawn chart, with the
# frames at which the five panels (without charts) and the first chart appeared, and every request's timing.
PANELS_DRAWN = """
const done = arguments[arguments.length - 1];
let panelsAt = null, firstChartAt = null;
function check() {
  const panels = document.querySelectorAll('.panel');
  const drawn = Array.from(panels).filter(p => p.querySelector('.js-plotly-plot .main-svg'));
  if (panels.length === 5 && panelsAt === null) { panelsAt = performance.now(); }
  if (drawn.length > 0 && firstChartAt === null) { firstChartAt = performance.now(); }
  if (panels.length === 5 && drawn.length === 5) {
    const nav = performance.getEntriesByType('navigation')[0] || {};
    const requests = performance.getEntriesByType('resource').map(r => ({
      path: new URL(r.name).pathname.split('/').slice(-1)[0].slice(0, 60), start_ms: Math.round(r.startTime),
      end_ms: Math.round(r.responseEnd), kb: Math.round((r.encodedBodySize || 0) / 1024)}));
    done({drawn_ms: performance.now(), panels_ms: panelsAt, first_chart_ms: firstChartAt,
          response_end_ms: nav.responseEnd, dom_content_loaded_ms:
          nav.domContentLoadedEventEnd, load_event_ms: nav.loadEventEnd, requests: requests});
  } else { requestAnimationFrame(check); }
}
check();
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, log_file=None, extra_env: dict | None = None, script: tuple = ("app.py",),
                 timeout: float = 120) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "HOST": "127.0.0.1", "PORT": str(port), **(extra_env or {})}
    out = log_file or subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, *script], cwd=ROOT, env=env, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}"
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"app.py exited with {proc.returncode}")
        try:
            with urlopen(base + "/healthz", timeout=5) as resp:
                if resp.status == 200:
                    return proc, base
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("app.py did not answer /healthz in time")


def memory_mb(pid: int) -> dict:
    fields = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                fields[key] = round(int(value.split()[0]) / 1024, 1)
    return {"peak_rss_mb": fields.get("VmHWM"), "rss_mb": fields.get("VmRSS")}


def browser_loads(base: str, samples: int, log=print) -> dict:
    """Fresh browser (empty cache) per sample; time from navigation start to all five panels drawn."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    runs = []
    for i in range(samples):
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in BROWSER_FLAGS:
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        try:
            driver.set_script_timeout(60)
            driver.get(base + "/")
            timing = driver.execute_async_script(PANELS_DRAWN)
            requests = timing.pop("requests", [])
            runs.append({k: round(v, 1) for k, v in timing.items() if v is not None})
            if i == 0:   # what the first load waited for: every request, in the order they finished
                runs[-1]["requests"] = sorted(requests, key=lambda r: r["end_ms"])
            log(f"    page load {i + 1}: all five panels drawn at {runs[-1]['drawn_ms']} ms")
        finally:
            driver.quit()
    drawn = [r["drawn_ms"] for r in runs]
    return {**summary(drawn), "first_ms": drawn[0] if drawn else None, "samples": runs,
            "note": "navigation start to the first frame with all five panels' charts drawn; fresh browser each"}


def drive(base: str, rounds: int, log=print) -> dict:
    """A journey per round: overview filters and a workstream; every fourth a cohort page; every tenth round both
    national downloads."""
    get, post = http_transport(base)
    dash = DashClient(get, post)
    from dashboard import ids

    latencies: dict[str, list[float]] = {}
    errors: dict[str, str] = {}
    count = 0

    def timed(kind, fn):
        nonlocal count
        count += 1
        t0 = time.perf_counter()
        try:
            fn()
        except Exception as exc:   # noqa: BLE001 - counted and reported: the load test's "errors"
            errors[f"{kind} #{count}"] = f"{type(exc).__name__}: {str(exc)[:200]}"
            return
        latencies.setdefault(kind, []).append((time.perf_counter() - t0) * 1000)

    has_cohort = hasattr(ids, "COHORT_CONTENT")
    for r in range(rounds):
        timed("page", lambda: get("/"))
        timed("layout", lambda: get("/_dash-layout"))
        for q in (OVERVIEW_QUERIES[r % len(OVERVIEW_QUERIES)], OVERVIEW_QUERIES[(r + 3) % len(OVERVIEW_QUERIES)]):
            timed("overview", lambda q=q: dash.call(f"{ids.OVERVIEW}.children", {f"{ids.URL}.search": f"?{q}"},
                                                    [f"{ids.URL}.search"]))
        code, q = WORKSTREAM_CASES[r % len(WORKSTREAM_CASES)]
        timed("workstream", lambda: dash.call(f"{ids.WORKSTREAM_CONTENT}.children",
                                              {f"{ids.URL}.search": f"?{q}", f"{ids.URL}.pathname":
                                               f"/workstream/{code}"}, [f"{ids.URL}.search"]))
        if has_cohort and r % 4 == 0:   # a cohort page is heavy (seconds): one journey in four opens one
            metric, q, _, _ = COHORT_CASES[r % len(COHORT_CASES)]
            search = f"?metric={metric}" + (f"&{q}" if q else "")
            timed("cohort", lambda: dash.call(f"{ids.COHORT_CONTENT}.children",
                                              {f"{ids.URL}.search": search, f"{ids.URL}.pathname": "/cohort"},
                                              [f"{ids.URL}.search"]))
        if r % 10 == 0:
            timed("export_csv", lambda: get(EXPORTS["export_csv"]))
            timed("export_xlsx", lambda: get(EXPORTS["export_xlsx"]))
    log(f"    {count} requests, {len(errors)} errors")
    return {"requests": count, "errors": len(errors), "first_errors": dict(list(errors.items())[:5]),
            "latency": {k: summary(v) for k, v in latencies.items()}}


def measure_serving(url: str, rounds: int, browser_samples: int, log=print) -> dict:
    server_log = tempfile.TemporaryFile("w+")
    cache_dir = tempfile.mkdtemp(prefix="rasso-bench-cache-")   # the app's result cache starts empty
    proc, base = start_server(url, server_log, {"CACHE_DIR": cache_dir})
    try:
        out = {"server": "python app.py (one process)", "idle": memory_mb(proc.pid)}
        if browser_samples:
            try:
                out["page_load"] = browser_loads(base, browser_samples, log)
            except Exception as exc:   # noqa: BLE001 - a missing browser must not lose the other figures
                out["page_load"] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
                log(f"    browser load failed: {out['page_load']['error']}")
        if browser_samples:
            from dashboard.chart_bundle import chart_bundle_url
            out["plotly_js"] = chart_bundle_url() or "Dash's full bundle"
        out["load"] = drive(base, rounds, log)
        if proc.poll() is not None:   # the server died: keep what it said last
            server_log.seek(0)
            out["server_exit"] = {"code": proc.returncode, "log_tail": server_log.read()[-3000:]}
            log(f"    app.py exited with {proc.returncode}")
            return out
        out["after"] = memory_mb(proc.pid)
        log(f"    peak RSS {out['after']['peak_rss_mb']} MB")
        return out
    finally:
        server_log.close()
        shutil.rmtree(cache_dir, ignore_errors=True)
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
