"""Helpers for the few browser tests: an axe-core accessibility scan and screenshots at two widths."""
from __future__ import annotations

import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe_violations(driver, impacts=("serious", "critical")) -> list[dict]:
    """Run axe-core in the page and return violations of the given impacts (id, impact, help, targets)."""
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing: run `npm ci` (make test does this)")
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    driver.set_script_timeout(60)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        f"axe.run(document, {{runOnly: {{type: 'tag', values: {json.dumps(WCAG_TAGS)}}}}})"
        ".then(r => done(JSON.stringify(r.violations))).catch(e => done(JSON.stringify([{id: 'axe-error', "
        "impact: 'critical', help: String(e), nodes: []}])));")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "targets": [n["target"] for n in v["nodes"]][:5]}
            for v in json.loads(result) if v["impact"] in impacts]


def screenshot(driver, name: str, width: int) -> Path:
    """Full-page screenshot at a given width, for people to look at (kept under var/screenshots)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.set_window_size(width, 1000)
    time.sleep(0.8)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(height + 40, 8000))
    time.sleep(0.8)
    path = SCREENSHOTS / f"{name}-{width}.png"
    driver.save_screenshot(str(path))
    return path


def free_port() -> int:
    """A free loopback port, so browser tests of parallel runs never share a server."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(dash_duo, database_url: str, navigate: bool = True, **settings) -> str:
    """Serve the real app on the given store in a thread (and open it unless sign-in comes first)."""
    from dashboard import create_app
    from dashboard.settings import Settings
    navigate = navigate and settings.get("auth_mode", "open") == "open"
    dash_duo.start_server(create_app(Settings(database_url=database_url, **settings)), navigate=navigate,
                          port=free_port())
    return dash_duo.server.url.rstrip("/")


def wait_for(condition, timeout=60, message="condition not met"):
    """Poll until a condition holds. Generous: returns as soon as it holds, and a loaded CI machine is slow."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            if condition():
                return
        except Exception:   # the page may be mid-render
            pass
        time.sleep(0.2)
    raise AssertionError(message)


def assert_accessible_at_both_widths(driver, name: str) -> None:
    """Screenshot the page at desktop and phone widths and require no serious or critical axe violations at each."""
    for width in (1440, 390):
        screenshot(driver, name, width)
        violations = axe_violations(driver)
        assert violations == [], "\n".join(map(str, violations))
