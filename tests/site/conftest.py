"""Fixtures of the browser test of the built site: a local HTTP server for _build/html and one
headless Chromium tab. Run with `make test-site` (or `pytest tests/site` after
`bash tests/site/setup.sh`); a plain `pytest tests` (make test-unit) skips this folder.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from site_browser import Browser, find_chromium

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SITE = REPO / "_build" / "html"
SCREENSHOTS = REPO / "artifacts" / "screenshots"
MATHJAX_DIR = Path(os.environ.get("MATHJAX_DIR", REPO / ".venv" / "share" / "mathjax"))
if not MATHJAX_DIR.is_absolute():
    MATHJAX_DIR = REPO / MATHJAX_DIR
# Where Sphinx's default mathjax_path points; requests to it are served from MATHJAX_DIR if present.
MATHJAX_CDN = "https://cdn.jsdelivr.net/npm/mathjax@3/"
MATHJAX_LOCAL_PREFIX = "/__mathjax__/"


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
    def translate_path(self, path):
        if path.startswith(MATHJAX_LOCAL_PREFIX):
            relative = path[len(MATHJAX_LOCAL_PREFIX):].split("?", 1)[0].split("#", 1)[0]
            return str(MATHJAX_DIR / relative)
        return super().translate_path(path)

    def end_headers(self):
        self.send_header("Access-Control-Allow-Origin", "*")  # MathJax fonts are fetched with CORS
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
        pytest.skip("no built site in _build/html: run `make book` first")
    with serve(SITE) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    executable = find_chromium()
    if executable is None:
        pytest.fail("no Chromium found: run `bash tests/site/setup.sh` (make test-site does)")
    with Browser(executable) as chromium:
        yield chromium


@pytest.fixture(scope="session")
def page(browser, site_url):
    tab = browser.new_page(width=1280, height=900)
    if (MATHJAX_DIR / "es5" / "tex-mml-chtml.js").is_file():
        tab.redirect(MATHJAX_CDN, site_url.rstrip("/") + MATHJAX_LOCAL_PREFIX)
    return tab
