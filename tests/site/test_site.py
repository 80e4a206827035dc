"""Browser test of the built book (`make test-site`): every page of _build/html, as a reader sees it.

Each page is loaded in headless Chromium from a local HTTP server, and fails on a missing image,
an image or figure without a real alt text, a broken internal link or anchor, a failed request or
a JavaScript error, an execution error shown in an output, a docutils error, or math that MathJax
did not render. A full-page screenshot of each page in the light and the dark theme is saved to
artifacts/screenshots/ (look at them). Search and the lessons' download menu are checked too.
"""

from __future__ import annotations

import posixpath
import re
import struct
import time
import warnings
import zlib
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from site_browser import CDPError

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "_build" / "html"
SCREENSHOTS = REPO / "artifacts" / "screenshots"

SKIPPED_DIRS = {"_static", "_sources", "_images", "_modules", "_downloads"}
SKIPPED_PAGES = {"genindex.html", "search.html", "py-modindex.html"}


def _redirect_of(path: Path) -> str | None:
    """The target of a page that only redirects (Jupyter Book's root index.html), else None."""
    head = path.read_text(encoding="utf-8", errors="replace")[:500]
    match = re.search(r'http-equiv="Refresh" content="\d+;\s*url=([^"]+)"', head, re.IGNORECASE)
    return match.group(1) if match else None


def _pages() -> list[str]:
    if not SITE.is_dir():
        return []
    pages = []
    for path in sorted(SITE.rglob("*.html")):
        relative = path.relative_to(SITE)
        if relative.parts[0] in SKIPPED_DIRS or relative.as_posix() in SKIPPED_PAGES or _redirect_of(path):
            continue
        pages.append(relative.as_posix())
    return pages


PAGES = _pages()

# JavaScript errors that are known, harmless to a reader and not ours to fix: text -> why.
KNOWN_JS_ERRORS = {
    "Identifier 'THEBE_JS_URL' has already been declared":
        "sphinx-thebe 0.3.1 (pulled in by Jupyter Book v1) emits its config <script> twice per page "
        "under Sphinx 7.4; thebe (live code) is not enabled in this book",
}

# Runs in the page once it has loaded: waits for MathJax and the images, then reports problems.
INSPECT = r"""
(async () => {
  const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
  const problems = [];
  const article = document.querySelector("article") || document.querySelector("main") || document.body;

  // MathJax: every .math element must hold a rendered mjx-container, and no TeX error.
  const maths = article.querySelectorAll(".math");
  if (maths.length) {
    for (let i = 0; i < 200 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++) await sleep(100);
    if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) {
      problems.push(`MathJax did not load: ${maths.length} math element(s) left as TeX`);
    } else {
      await MathJax.startup.promise;
      const raw = [...maths].filter(m => !m.querySelector("mjx-container"));
      if (raw.length) problems.push(`${raw.length} math element(s) not rendered, e.g. ${raw[0].textContent.trim().slice(0, 60)}`);
      for (const err of article.querySelectorAll("mjx-merror"))
        problems.push(`MathJax error: ${(err.getAttribute("data-mjx-error") || err.textContent).slice(0, 100)}`);
    }
  }

  // Images: loaded (naturalWidth > 0) and described (an alt text that is not a file name).
  const images = [...document.images];
  images.forEach(img => { img.loading = "eager"; });
  await Promise.all(images.map(img => img.complete ? null : new Promise(resolve => {
    img.addEventListener("load", resolve); img.addEventListener("error", resolve); setTimeout(resolve, 10000);
  })));
  for (const img of images) {
    const src = img.getAttribute("src");
    if (img.naturalWidth === 0) problems.push(`missing image: ${src}`);
    if (!article.contains(img)) continue;
    const alt = (img.getAttribute("alt") || "").trim();
    if (!alt) problems.push(`image without alt text: ${src}`);
    else if (/\.(png|jpe?g|svg|gif|webp)$/i.test(alt) || alt === src) problems.push(`image whose alt text is its file name: ${src}`);
  }
  for (const fig of article.querySelectorAll("figure")) {
    if (!fig.querySelector("img[alt]:not([alt='']), svg[aria-label], [role=img][aria-label]"))
      problems.push(`figure without alt text: ${fig.id || fig.textContent.trim().slice(0, 60)}`);
  }

  // Execution errors in outputs, and docutils/Sphinx errors left in the page.
  for (const el of article.querySelectorAll(".output.traceback, .output.error, .cell_output .traceback"))
    problems.push(`execution error output: ${el.textContent.trim().split("\n").slice(-1)[0].slice(0, 120)}`);
  for (const el of article.querySelectorAll(".cell_output, .output"))
    if (el.textContent.includes("Traceback (most recent call last)"))
      { problems.push(`traceback in an output: ${el.textContent.trim().slice(0, 120)}`); break; }
  for (const el of article.querySelectorAll(".system-message, .problematic"))
    problems.push(`docutils error: ${el.textContent.trim().slice(0, 120)}`);

  // reST that reached the page as text (e.g. autodoc output parsed as Markdown: wrap it in {eval-rst}).
  const rst = [...article.querySelectorAll("p, dt, dd")].map(e => e.textContent.trim())
    .filter(t => /^\.\. [a-z][\w:-]*::/.test(t) || /(^|\s):(param \w+|rtype|returns?|raises \w+):/.test(t));
  if (rst.length) problems.push(`${rst.length} paragraph(s) of unrendered reST, e.g. "${rst[0].slice(0, 80)}"`);

  const links = [...document.querySelectorAll("a[href]")]
    .filter(a => a.protocol === "http:" && a.host === location.host)
    .map(a => a.href);
  const ids = [...document.querySelectorAll("[id], a[name]")].map(e => e.id || e.getAttribute("name"));
  const downloads = [...document.querySelectorAll(".dropdown-download-buttons a, a.btn")]
    .map(a => a.getAttribute("href") || "").filter(h => h.includes("_sources/"));
  return {problems, links, ids, downloads, title: document.title};
})()
"""

# Switches pydata-sphinx-theme (and so sphinx-book-theme) to its dark or light theme.
SET_THEME = """
(async (mode) => {
  document.documentElement.dataset.theme = mode;
  document.documentElement.dataset.mode = mode;
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  await new Promise(r => setTimeout(r, 150));
  return getComputedStyle(document.body).backgroundColor;
})("%s")
"""


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "id" or (tag == "a" and name == "name"):
                self.ids.add(value or "")


@lru_cache(maxsize=None)
def _ids_in(path: Path) -> frozenset[str]:
    parser = _Ids()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(parser.ids)


def _broken_links(page_path: str, links: list[str], live_ids: set[str], root: Path = SITE) -> list[str]:
    broken = []
    for href in sorted(set(links)):
        parts = urlsplit(href)
        target = unquote(parts.path).lstrip("/")
        if target == "" or target.endswith("/"):
            target += "index.html"
        file = root / posixpath.normpath(target)
        if not file.is_file():
            broken.append(f"broken link (no {file.relative_to(root) if root in file.parents else file}): {href}")
            continue
        anchor = unquote(parts.fragment)
        if not anchor or file.suffix != ".html":
            continue
        same_page = file == root / page_path
        if anchor not in (_ids_in(file) | (live_ids if same_page else set())):
            broken.append(f"broken anchor #{anchor} in {file.relative_to(root)}: {href}")
    return broken


def _is_local_failure(failure: str, site_url: str) -> bool:
    """A failed request for a file of the site (the browser's own /favicon.ico request aside)."""
    url = failure.rsplit(" ", 1)[-1]
    return url.startswith(site_url) and not url.endswith("/favicon.ico")


def _warn_external(page_path: str, failures: list[str], site_url: str) -> None:
    """Requests to other hosts fail on an offline machine; they are reported, not failed: the page
    works without them only if it degrades gracefully (e.g. MyST-NB's widget renderer from a CDN)."""
    external = sorted({f.rsplit(" ", 1)[-1] for f in failures if not f.rsplit(" ", 1)[-1].startswith(site_url)})
    if external:
        warnings.warn(f"{page_path} loads from other hosts (unreachable here): {', '.join(external)}")


def _shot_name(page_path: str, theme: str) -> Path:
    return SCREENSHOTS / f"{page_path.removesuffix('.html').replace('/', '__')}-{theme}.png"


@pytest.mark.skipif(not PAGES, reason="no built site in _build/html: run `make book` first")
@pytest.mark.parametrize("page_path", PAGES)
def test_page(page, site_url, page_path):
    page.goto(site_url + page_path)
    report = page.evaluate(INSPECT)
    problems = list(report["problems"])
    problems += _broken_links(page_path, report["links"], set(report["ids"]))
    problems += [f"failed request: {r}" for r in page.failed_requests if _is_local_failure(r, site_url)]
    _warn_external(page_path, page.failed_requests, site_url)
    problems += [f"JavaScript: {e}" for e in page.js_errors if not any(k in e for k in KNOWN_JS_ERRORS)]

    light = page.evaluate(SET_THEME % "light")
    page.screenshot(_shot_name(page_path, "light"))
    dark = page.evaluate(SET_THEME % "dark")
    page.screenshot(_shot_name(page_path, "dark"))
    page.evaluate(SET_THEME % "light")
    if light == dark:
        problems.append(f"the dark theme did not change the page background ({light})")

    if page_path.startswith("lessons/"):
        suffixes = sorted(Path(h.split("?")[0]).suffix for h in report["downloads"])
        if ".ipynb" not in suffixes or ".md" not in suffixes:
            problems.append(f"download menu offers {suffixes or 'nothing'}, expected .md and .ipynb")

    assert not problems, f"{page_path} ({report['title']}):\n  " + "\n  ".join(problems)


@pytest.mark.skipif(not PAGES, reason="no built site in _build/html: run `make book` first")
def test_site_root_leads_to_the_intro(page, site_url):
    assert _redirect_of(SITE / "index.html") in PAGES
    page.goto(site_url)
    landed, deadline = "", time.monotonic() + 15
    while not landed.endswith("/intro.html") and time.monotonic() < deadline:
        try:
            landed = page.evaluate("location.pathname")
        except CDPError:  # the redirect is under way
            pass
        time.sleep(0.1)
    assert landed.endswith("book/intro.html")


@pytest.mark.skipif(not PAGES, reason="no built site in _build/html: run `make book` first")
def test_search_finds_a_lesson(page, site_url):
    page.goto(site_url + "search.html?q=flattening")
    found = page.evaluate("""
    (async () => {
      // Sphinx fills the results in stages (glossary terms and objects first, pages last) and
      // writes its summary ("Search finished, found N pages ...") when it is done: wait for it.
      const hits = () => [...document.querySelectorAll("#search-results li a")].map(a => a.getAttribute("href"));
      for (let i = 0; i < 200; i++) {
        const summary = document.querySelector("#search-results .search-summary, #search-results p");
        if (summary && /found/i.test(summary.innerText)) return hits();
        await new Promise(r => setTimeout(r, 100));
      }
      return hits();
    })()
    """)
    errors = [e for e in page.js_errors if not any(k in e for k in KNOWN_JS_ERRORS)]
    errors += [r for r in page.failed_requests if _is_local_failure(r, site_url)]
    assert not errors, errors
    assert any("lessons/01-images-as-arrays" in hit for hit in found), f"search for 'flattening' found {found}"
    page.screenshot(SCREENSHOTS / "search-light.png", full_page=False)


BROKEN_PAGE = """<!DOCTYPE html><html><head><title>broken</title></head><body><article>
<p>Inline math <span class="math notranslate nohighlight">\\(x^2\\)</span> with no MathJax on the page.</p>
<img src="missing.png" alt="A picture that is not there.">
<img src="ok.png">
<figure><img src="ok.png" alt="ok.png"><figcaption>A figure described by its file name.</figcaption></figure>
<div class="cell_output"><div class="output traceback"><pre>Traceback (most recent call last):
ZeroDivisionError: division by zero</pre></div></div>
<p>.. py:function:: f(x) :module: m</p>
<a href="nowhere.html">a missing page</a> <a href="page.html#no-such-id">a missing anchor</a>
<a href="#here" id="here">a good anchor</a>
</article></body></html>"""

def _png_1px() -> bytes:
    """A valid 1x1 grey PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND", b""))


def test_the_checks_catch_a_broken_page(page, tmp_path):
    """The page checks themselves, on a page built to break each of them."""
    from conftest import serve

    (tmp_path / "page.html").write_text(BROKEN_PAGE, encoding="utf-8")
    (tmp_path / "ok.png").write_bytes(_png_1px())
    with serve(tmp_path) as url:
        page.goto(url + "page.html")
        report = page.evaluate(INSPECT)
    problems = "\n".join(report["problems"])
    assert "MathJax did not load" in problems
    assert "missing image: missing.png" in problems
    assert "image without alt text: ok.png" in problems
    assert "alt text is its file name" in problems
    assert "execution error output" in problems and "traceback in an output" in problems
    assert "unrendered reST" in problems
    broken = _broken_links("page.html", report["links"], set(report["ids"]), root=tmp_path)
    assert any("nowhere.html" in b for b in broken) and any("#no-such-id" in b for b in broken), broken
    assert not any("#here" in b for b in broken), broken
    assert any(r.startswith("HTTP 404") and r.endswith("/missing.png") for r in page.failed_requests)
