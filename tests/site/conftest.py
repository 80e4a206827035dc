"""Fixtures of the browser test of the built site (pytest-playwright driving Debian's chromium).

The site in _build/html is served on a local port; every request to another host is blocked
(and counted as a failure), as a reader offline would see the book. Run with `make test-site`
(or `pytest tests/site` after `bash tests/site/setup.sh`); a plain `pytest tests` skips this
folder. `playwright install` is never needed: the browser is the system's chromium.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import threading
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SITE = Path(os.environ.get("CNNCOURSE_SITE", REPO / "_build" / "html")).resolve()  # another built site to test
SCREENSHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-default-apps", "--disable-sync", "--no-first-run"]


def find_chromium() -> str | None:
    """$CHROMIUM, else the first of chromium, chromium-browser, google-chrome on PATH."""
    env = os.environ.get("CHROMIUM")
    if env and os.access(env, os.X_OK):
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _explicitly_requested(config: pytest.Config) -> bool:
    for arg in config.args:
        path = Path(arg.split("::")[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_collection_modifyitems(config, items):
    """The site test runs only when this folder is asked for (make test-site), not in `pytest tests`."""
    if _explicitly_requested(config):
        return
    skip = pytest.mark.skip(reason="browser test of the built site: run `make test-site`")
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)


class _Handler(SimpleHTTPRequestHandler):
    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(directory: Path):
    """Serve a folder on a free local port; yield its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def site_url():
    if not (SITE / "index.html").is_file():
        pytest.fail("no built site in _build/html: run `make book` first (make test does)")
    with serve(SITE) as url:
        yield url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright launches the system's chromium (Playwright's own download is not used)."""
    executable = find_chromium()
    if executable is None:
        pytest.fail("no Chromium found: run `bash tests/site/setup.sh` (make test-site does)")
    return {**browser_type_launch_args, "executable_path": executable, "args": CHROMIUM_ARGS}


@dataclass
class Watched:
    """A page and everything that went wrong while it was used."""

    page: object
    base: str
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        out = [f"console error: {e}" for e in self.console_errors]
        out += [f"failed request: {r}" for r in self.failed_requests]
        out += [f"request to another host (blocked): {r}" for r in self.blocked]
        return out

    def clear(self) -> None:
        self.console_errors.clear()
        self.failed_requests.clear()
        self.blocked.clear()


def watch(context, base: str) -> Watched:
    """Open a page in ``context`` that blocks and records every request to a host other than
    ``base``'s, and records console errors, page errors and failed requests."""
    local = urlsplit(base).netloc
    page = context.new_page()
    w = Watched(page, base)

    def route(route, request):
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob") or parts.netloc == local:
            route.continue_()
        else:
            w.blocked.append(request.url)
            route.abort()

    page.route("**/*", route)
    page.on("console", lambda msg: msg.type == "error" and w.console_errors.append(
        f"{msg.text} ({msg.location.get('url', '')})"))
    page.on("pageerror", lambda exc: w.console_errors.append(f"uncaught: {exc}"))

    def failed(request):
        if urlsplit(request.url).netloc == local and not request.url.endswith("/favicon.ico"):
            w.failed_requests.append(f"{request.failure} {request.url}")

    page.on("requestfailed", failed)
    page.on("response", lambda r: r.status >= 400 and not r.url.endswith("/favicon.ico")
            and w.failed_requests.append(f"HTTP {r.status} {r.url}"))
    return w


VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="session")
def contexts(browser):
    """One browser context per (viewport, colour scheme): desktop/phone x light/dark."""
    made = {}
    for name, viewport in VIEWPORTS.items():
        for scheme in ("light", "dark"):
            made[name, scheme] = browser.new_context(viewport=viewport, color_scheme=scheme,
                                                     is_mobile=name == "phone", has_touch=name == "phone",
                                                     device_scale_factor=1)
    yield made
    for ctx in made.values():
        ctx.close()


@pytest.fixture
def open_page(contexts, site_url):
    """``open_page(path, view="desktop", scheme="light")``: a watched page, loaded."""
    opened = []

    def _open(path: str, view: str = "desktop", scheme: str = "light") -> Watched:
        w = watch(contexts[view, scheme], site_url)
        opened.append(w)
        w.page.goto(site_url + path, wait_until="load")
        return w

    yield _open
    for w in opened:
        w.page.close()


def pytest_terminal_summary(terminalreporter):
    """The moderate and minor axe findings (tests/site/a11y.py), which do not fail a page."""
    from a11y import FINDINGS

    if FINDINGS:
        terminalreporter.section(f"axe-core: {len(FINDINGS)} moderate/minor finding(s) (see axe-snapshot.json)")
        for line in FINDINGS:
            terminalreporter.write_line(line)
