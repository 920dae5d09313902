"""Open a local HTML file in Debian's headless Chromium and record what a reader's browser would do with it."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# The machine's network is closed: without these flags Chromium's own background traffic shows up as
# refused connections, which would drown the report's (zero) requests.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions"]
ARTIFACTS = Path(__file__).parent / "artifacts"


def chromium_path() -> str | None:
    return os.environ.get("BATON_LAB_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium() -> str:
    """The browser, or a skip with a clear reason; on CI (CI=true) a missing browser is a failure."""
    path = chromium_path()
    if path:
        return path
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail("CI=true but no chromium found: .ci/run must install Debian's chromium (apt-get install chromium)")
    pytest.skip("no chromium found (install Debian's `chromium` to run the browser tests; CI always runs them)")


@dataclass
class PageVisit:
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    charts: list[dict] = field(default_factory=list)   # per chart container: id, svg/canvas present, drawn marks
    text: str = ""
    script_count: int = 0


def visit(html: Path, screenshot: Path | None = None, *, chart_selector: str = ".vega",
          settle_ms: int = 4000) -> PageVisit:
    """Load `html` from disk, wait for charts to draw, and collect requests, errors, dialogs and chart content."""
    from playwright.sync_api import sync_playwright

    seen = PageVisit()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=require_chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("request", lambda r: seen.requests.append(r.url))
            page.on("requestfailed", lambda r: seen.failed.append(f"{r.url}: {r.failure}"))
            page.on("console", lambda m: seen.console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: seen.page_errors.append(str(e)))
            page.on("dialog", lambda d: (seen.dialogs.append(d.message), d.dismiss()))
            page.goto(html.resolve().as_uri(), wait_until="load")
            try:  # every container gets its SVG; then give the last ones a moment to finish drawing
                page.wait_for_function(
                    f"[...document.querySelectorAll('{chart_selector}')].every(e => e.querySelector('svg, canvas'))",
                    timeout=settle_ms * 5)
            except Exception:  # noqa: BLE001 - the assertions below say which chart is missing
                pass
            page.wait_for_timeout(300)
            seen.charts = page.evaluate(f"""() => [...document.querySelectorAll('{chart_selector}')].map(e => {{
                const svg = e.querySelector('svg');
                return {{id: (e.closest('[id]') || e).id, svg: !!svg, canvas: !!e.querySelector('canvas'),
                         marks: svg ? svg.querySelectorAll('path, rect, line, circle, text, symbol').length : 0,
                         width: svg ? svg.getBoundingClientRect().width : 0}};
            }})""")
            seen.text = page.inner_text("body")
            seen.script_count = page.evaluate("document.querySelectorAll('script').length")
            if screenshot is not None:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot), full_page=False)
        finally:
            browser.close()
    return seen


def external(requests: list[str], page: Path | None = None) -> list[str]:
    """Requests beyond the page itself (and inline data:/blob: URLs); with `page`, other local files count too."""
    own = page.resolve().as_uri() if page is not None else None
    return [u for u in requests if not (u.startswith(("data:", "blob:", "about:")) or u == own
                                        or (own is None and u.startswith("file://")))]
