"""Browser test of the built book, as readers use it: pytest-playwright driving chromium,
with every request to another host blocked (an offline reader), at 1280 px and 390 px, in the
light and the dark theme.

Every page fails on a failed request, a request to another host, a console error, math that
MathJax did not render, a missing image or alt text, a broken internal link, an execution
error or unrendered reST; a lesson page also fails on a code cell that scrolls sideways at
1280 px and on a figure whose smallest text it shows under 9 px (8.5 px on the phone). The
explorers must render, react to each control, and show values equal to cnncourse's (filters,
pooling, receptive_field) to 1e-6; every answer box must answer a right, a known-wrong and an
unknown answer as its Python checker does; both sidebar toggles must open and close at both
widths. Screenshots go to artifacts/screenshots/ (look at them).
"""

from __future__ import annotations

import json
import posixpath
import re
import struct
import zlib
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest
import torch
from a11y import check as axe_check
from legibility import MIN_PX, PHONE_MIN_PX
from PIL import Image

from cnncourse.plots._layout import TEXT_SIZE_KEY
from conftest import SCREENSHOTS, SITE, VIEWPORTS, serve, watch

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


PAGES = _pages() or ["(no built site: run make book)"]
WIDGET_PAGES = [p for p in PAGES if (SITE / p).is_file()
                and "application/vnd.jupyter.widget-state+json" in (SITE / p).read_text(encoding="utf-8")]
ANSWER_PAGES = [p for p in PAGES if (SITE / p).is_file() and 'class="cnc-answer"' in (SITE / p).read_text(encoding="utf-8")]

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
<script src="https://example.org/x.js"></script>
<script>console.error("broken on purpose")</script>
</article></body></html>"""

def _png_1px() -> bytes:
    """A valid 1x1 grey PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND", b""))




def _shot(page_path: str, view: str, scheme: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{page_path.removesuffix('.html').replace('/', '__')}-{view}-{scheme}.png"


def _wait_for_widgets(page, timeout_ms: int = 30000) -> None:
    """Every widget of the page rendered by the widget manager (or a clear failure)."""
    page.wait_for_function("""() => {
      const tags = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]');
      return tags.length > 0 && [...tags].every(t => {
        const area = t.previousElementSibling;
        return area && area.classList.contains("widget-subarea") && area.querySelector(".cnx, .widget-box, .widget-inline-hbox");
      });
    }""", timeout=timeout_ms)


# The figures of the cell outputs as the page shows them: file, width of the PNG, width on screen.
FIGURES = """() => [...document.querySelectorAll('article .cell_output img')]
    .filter(img => img.checkVisibility())
    .map(img => ({src: img.getAttribute('src'), natural: img.naturalWidth,
                  shown: img.getBoundingClientRect().width}))"""


def _small_figure_text(page_path: str, view: str, figures: list[dict], root: Path = SITE) -> list[str]:
    """Figures whose smallest text the page shows under 9 px (8.5 px on a phone).

    The height comes from the PNG itself: ``cnncourse.plots`` records the smallest text of every
    figure a lesson shows (``TEXT_SIZE_KEY``, in pixels of the PNG), and the page scales it by
    the width it shows the image at.
    """
    smallest = MIN_PX if view == "desktop" else PHONE_MIN_PX
    problems = []
    for figure in figures:
        name = figure["src"]
        file = root / posixpath.normpath(posixpath.join(posixpath.dirname(page_path), unquote(name)))
        if not file.is_file() or file.suffix != ".png" or not figure["natural"]:
            continue  # a missing image is reported by INSPECT; other formats carry no record
        recorded = Image.open(file).text.get(TEXT_SIZE_KEY)
        if recorded is None:
            problems.append(f"figure without a recorded text size (not drawn through cnncourse.plots?): {name}")
            continue
        shown = float(recorded) * figure["shown"] / figure["natural"]
        if shown < smallest:
            problems.append(f"figure text {shown:.1f} px tall at {view} width (at least {smallest} px): {name}")
    return problems


# --------------------------------------------------------------------------- every page
@pytest.mark.parametrize("view, scheme", [("desktop", "light"), ("phone", "dark")])
@pytest.mark.parametrize("page_path", PAGES)
def test_page(open_page, page_path, view, scheme):
    w = open_page(page_path, view, scheme)
    page = w.page
    if page_path in WIDGET_PAGES:
        _wait_for_widgets(page)
    report = page.evaluate(INSPECT)
    problems = list(report["problems"])
    if view == "desktop":
        problems += _broken_links(page_path, report["links"], set(report["ids"]))
    theme = page.evaluate("document.documentElement.dataset.theme")
    if theme != scheme:
        problems.append(f"the page follows the reader's {scheme} setting with the {theme!r} theme")
    if page_path.startswith("lessons/") and view == "desktop":
        suffixes = sorted(Path(h.split("?")[0]).suffix for h in report["downloads"])
        if ".ipynb" not in suffixes or ".md" not in suffixes:
            problems.append(f"download menu offers {suffixes or 'nothing'}, expected .md and .ipynb")
    if page_path.startswith("lessons/") and view == "desktop":
        # code a reader must scroll sideways to read: a line wider than the text column
        wide = page.evaluate("""() => [...document.querySelectorAll('.cell_input pre')]
            .filter(pre => pre.checkVisibility() && pre.scrollWidth > pre.clientWidth + 1)
            .map(pre => pre.innerText.split('\\n').reduce((a, b) => (b.length > a.length ? b : a), ''))""")
        problems += [f"code cell scrolls sideways at 1280 px: {line.strip()[:60]!r}..." for line in wide]
    if page_path.startswith("lessons/"):
        # printed output wraps (cnncourse.css): none may hide its end past the column's edge
        cut = page.evaluate("""() => [...document.querySelectorAll('.cell_output pre')]
            .filter(pre => pre.checkVisibility() && pre.scrollWidth > pre.clientWidth + 1)
            .map(pre => pre.innerText.trim().split('\\n')[0])""")
        problems += [f"printed output scrolls sideways: {line[:60]!r}..." for line in cut]
        problems += _small_figure_text(page_path, view, page.evaluate(FIGURES))
    problems += axe_check(page, page_path, view, scheme)
    page.screenshot(path=_shot(page_path, view, scheme), full_page=view == "desktop")
    problems += w.problems()
    assert not problems, f"{page_path} at {view}, {scheme} ({report['title']}):\n  " + "\n  ".join(problems)


# test_page runs axe at 1280 px light and 390 px dark; these are the other two settings.
@pytest.mark.parametrize("view, scheme", [("desktop", "dark"), ("phone", "light")])
@pytest.mark.parametrize("page_path", PAGES)
def test_axe(open_page, page_path, view, scheme):
    w = open_page(page_path, view, scheme)
    if page_path in WIDGET_PAGES:
        _wait_for_widgets(w.page)
    problems = axe_check(w.page, page_path, view, scheme) + w.problems()
    assert not problems, f"{page_path} at {view}, {scheme}:\n  " + "\n  ".join(problems)


def test_root_leads_to_the_intro(open_page):
    assert _redirect_of(SITE / "index.html") in PAGES
    w = open_page("")
    w.page.wait_for_url("**/intro.html", timeout=15000)
    assert not w.problems(), w.problems()


def test_search_finds_a_lesson(open_page):
    w = open_page("search.html?q=flattening")
    w.page.wait_for_function("""() => {
      const s = document.querySelector("#search-results .search-summary, #search-results p");
      return s && /found/i.test(s.innerText);
    }""", timeout=20000)
    found = w.page.eval_on_selector_all("#search-results li a", "as => as.map(a => a.getAttribute('href'))")
    assert any("lessons/01-images-as-arrays" in hit for hit in found), f"search for 'flattening' found {found}"
    assert not w.problems(), w.problems()


def test_no_page_names_a_cdn():
    """Nothing a page loads comes from a CDN: no page or loaded file names one."""
    pattern = re.compile(rb"cdn\.jsdelivr|cdnjs|unpkg")
    hits = [str(p.relative_to(SITE)) for p in SITE.rglob("*")
            if p.is_file() and p.suffix in (".html", ".js", ".css") and pattern.search(p.read_bytes())]
    assert not hits, f"files naming a CDN: {hits}"


def test_heavy_bundles_only_where_needed():
    for page_path in PAGES:
        text = (SITE / page_path).read_text(encoding="utf-8")
        has_widgets = page_path in WIDGET_PAGES
        assert ("embed-amd.js" in text) == has_widgets, page_path
        assert ("require.min.js" in text) == has_widgets, page_path
    assert WIDGET_PAGES, "no page carries widget state"


# --------------------------------------------------------------------------- sidebars
SIDEBAR_STATE = """(which) => {
  const el = document.querySelector(which === "primary" ? "#pst-primary-sidebar, .bd-sidebar-primary"
                                                        : "#pst-secondary-sidebar, .bd-sidebar-secondary");
  if (!el) return "missing";
  const r = el.getBoundingClientRect(), s = getComputedStyle(el);
  const shown = r.width > 40 && r.height > 40 && r.right > 0 && r.left < innerWidth &&
                s.visibility !== "hidden" && s.display !== "none";
  return shown ? "open" : "closed";
}"""


@pytest.mark.parametrize("view, scheme", [("phone", "light"), ("phone", "dark"), ("desktop", "light"),
                                          ("desktop", "dark")])
@pytest.mark.parametrize("which", ["primary", "secondary"])
def test_sidebar_toggles(open_page, view, scheme, which):
    page_path = next((p for p in PAGES if p.startswith("lessons/05")), PAGES[0])
    w = open_page(page_path, view, scheme)
    page = w.page
    toggles = page.locator(f"button.{which}-toggle:visible")
    before = page.evaluate(SIDEBAR_STATE, which)
    if toggles.count() == 0:
        # a wide screen may show the sidebar with no toggle at all (the book theme's secondary one)
        assert view == "desktop" and before == "open", f"no visible {which} toggle at {view}; sidebar {before}"
        assert not w.problems(), w.problems()
        return
    toggles.first.click()
    page.wait_for_timeout(600)
    after = page.evaluate(SIDEBAR_STATE, which)
    if view == "phone":
        assert (before, after) == ("closed", "open"), f"{which} sidebar at {view}: {before} -> {after}"
        page.screenshot(path=_shot(f"sidebar-{which}", view, scheme))
        page.keyboard.press("Escape")
        page.wait_for_timeout(400)
        if page.evaluate(SIDEBAR_STATE, which) == "open":  # else a click on the backdrop closes it
            page.mouse.click(385 if which == "primary" else 5, 420)
            page.wait_for_timeout(600)
        closed = page.evaluate(SIDEBAR_STATE, which)
        assert closed == "closed", f"{which} sidebar at {view} does not close: {closed}"
    else:
        assert before != after and "missing" not in (before, after), f"{which} sidebar at {view}: {before} -> {after}"
        page.locator(f"button.{which}-toggle:visible").first.click()
        page.wait_for_timeout(600)
        assert page.evaluate(SIDEBAR_STATE, which) == before
    assert not w.problems(), w.problems()


# --------------------------------------------------------------------------- explorers
def _state_models(page) -> dict:
    text = page.eval_on_selector('script[type="application/vnd.jupyter.widget-state+json"]', "s => s.textContent")
    return json.loads(text)["state"]


def _images(page) -> dict:
    for model in _state_models(page).values():
        if "images" in model["state"]:
            return model["state"]["images"]
    raise AssertionError("no explorer with images in the widget state")


def _tensor(img: dict) -> torch.Tensor:
    return torch.tensor(img["data"], dtype=torch.float64).reshape(img["rows"], img["cols"])


def _data(widget) -> dict:
    return widget.evaluate("el => Object.fromEntries(Object.entries(el.dataset).map(([k, v]) => "
                           "[k, (() => { try { return JSON.parse(v); } catch (e) { return v; } })()]))")


def _changes(widget, act) -> dict:
    """Do ``act`` (move a control) and return the explorer's new values; fail if none changed."""
    before = json.dumps(_data(widget), sort_keys=True)
    act()  # the front end recomputes synchronously in the control's event handler
    widget.page.wait_for_timeout(50)
    after = _data(widget)
    assert json.dumps(after, sort_keys=True) != before, "the explorer did not change when a control moved"
    return after


def _lesson(prefix: str) -> str:
    page = next((p for p in WIDGET_PAGES if p.startswith(prefix)), None)
    assert page is not None, f"no built page {prefix}* with widgets"
    return page


def _check_kernel(d: dict, images: dict) -> None:
    from cnncourse.filters import correlate2d

    expected = correlate2d(_tensor(images[d["image"]]), torch.tensor(d["kernel"], dtype=torch.float64).reshape(3, 3),
                           edge=d["edge"]).numpy()
    got = np.asarray(d["output"]).reshape(d["shape"])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    assert abs(d["value"] - expected[tuple(d["position"])]) < 1e-6


@pytest.mark.parametrize("view", ["desktop", "phone"])
def test_kernel_explorer(open_page, view):
    w = open_page(_lesson("lessons/05"), view, "light")
    _wait_for_widgets(w.page)
    widget = w.page.locator("[data-output]").first
    images = _images(w.page)
    _check_kernel(_data(widget), images)
    selects = widget.locator("select")
    for kernel in ("laplacian", "box blur", "sobel y"):
        _check_kernel(_changes(widget, lambda: selects.nth(1).select_option(kernel)), images)
    for edge in ("crop", "extend", "zero"):
        _check_kernel(_changes(widget, lambda: selects.nth(2).select_option(edge)), images)
    for image in ("camera", "coins", "digit"):
        _check_kernel(_changes(widget, lambda: selects.nth(0).select_option(image)), images)
    cell = widget.locator(".cnx-grid input").nth(4)
    def edit():
        cell.fill("2.5")
        cell.dispatch_event("change")
    d = _changes(widget, edit)
    assert d["kernel"][4] == 2.5 and selects.nth(1).input_value() == "custom"
    _check_kernel(d, images)
    for n, key in ((0, "ArrowRight"), (1, "ArrowLeft")):
        r = widget.locator("input[type=range]").nth(n)
        d = _changes(widget, lambda: r.press(key))
        _check_kernel(d, images)
    w.page.screenshot(path=_shot("kernel-explorer", view, "light"))
    assert not w.problems(), w.problems()


def _check_pooling(d: dict, images: dict) -> None:
    from cnncourse.pooling import pool2d, shift

    img = _tensor(images[d["image"]])
    dy, dx = {"right": (0, 1), "down": (1, 0), "down-right": (1, 1)}[d["direction"]]
    before = pool2d(img, d["window"], d["stride"], d["mode"])
    after = pool2d(shift(img, dy, dx), d["window"], d["stride"], d["mode"])
    np.testing.assert_allclose(np.asarray(d["pooled"]).reshape(d["shape"]),
                               (after if d["shifted"] else before).numpy(), rtol=0, atol=1e-6)
    assert d["nChanged"] == int((before != after).sum()) and d["nOutputs"] == before.numel()


@pytest.mark.parametrize("view", ["desktop", "phone"])
def test_pooling_explorer(open_page, view):
    w = open_page(_lesson("lessons/07"), view, "light")
    _wait_for_widgets(w.page)
    widget = w.page.locator("[data-pooled]").first
    images = _images(w.page)
    _check_pooling(_data(widget), images)
    selects, ranges = widget.locator("select"), widget.locator("input[type=range]")
    _check_pooling(_changes(widget, lambda: selects.nth(1).select_option("avg")), images)
    for n, key in ((0, "ArrowRight"), (1, "ArrowLeft"), (0, "ArrowRight")):
        _check_pooling(_changes(widget, lambda: ranges.nth(n).press(key)), images)
    _check_pooling(_changes(widget, lambda: widget.locator("input[type=checkbox]").check()), images)
    _check_pooling(_changes(widget, lambda: selects.nth(2).select_option("down-right")), images)
    _check_pooling(_changes(widget, lambda: selects.nth(0).select_option("camera")), images)
    w.page.screenshot(path=_shot("pooling-explorer", view, "light"))
    assert not w.problems(), w.problems()


def _check_erf(d: dict) -> None:
    from torch import nn

    from cnncourse.receptive_field import fit_gaussian, gradient_support, receptive_field, usage_map

    if d["weights"] != "uniform":
        return
    k, dil, side = d["kernelSize"], d["dilation"], d["side"]
    stack = nn.Sequential(*[nn.Conv2d(1, 1, k, padding=dil * (k - 1) // 2, dilation=dil) for _ in range(d["depth"])])
    usage = usage_map(stack, side)
    erf = np.asarray(d["erf"]).reshape(side, side)
    np.testing.assert_allclose(erf, usage / usage.sum(), rtol=0, atol=1e-6)
    assert d["field"] == receptive_field(stack, side).size[0]
    assert abs(d["radius"] - fit_gaussian(usage).radius) < 1e-6
    support = gradient_support(stack, side)
    rows, cols = np.nonzero(support)
    assert d["supportBox"] == [[int(rows.min()), int(rows.max())], [int(cols.min()), int(cols.max())]]


@pytest.mark.parametrize("view", ["desktop", "phone"])
def test_erf_explorer(open_page, view):
    w = open_page(_lesson("lessons/09"), view, "light")
    _wait_for_widgets(w.page)
    widget = w.page.locator("[data-erf]").first
    _check_erf(_data(widget))
    selects, depth = widget.locator("select"), widget.locator("input[type=range]").first
    for key in ("ArrowRight", "ArrowRight", "ArrowLeft"):
        _check_erf(_changes(widget, lambda: depth.press(key)))
    _check_erf(_changes(widget, lambda: selects.nth(1).select_option("5")))
    _check_erf(_changes(widget, lambda: selects.nth(2).select_option("2")))
    if "trained" in selects.nth(0).evaluate("s => [...s.options].map(o => o.value)"):
        d = _changes(widget, lambda: selects.nth(0).select_option("trained"))
        assert d["weights"] == "trained" and abs(sum(d["erf"]) - 1) < 1e-6
    w.page.screenshot(path=_shot("erf-explorer", view, "light"))
    assert not w.problems(), w.problems()


# --------------------------------------------------------------------------- answer boxes
def _expected_answers() -> dict:
    """Exercise name -> (checker, right answer, known-wrong answer, unknown answer), from the
    exercise modules; every answer box on the site must be listed here."""
    from answers import ANSWERS

    return ANSWERS



@pytest.mark.parametrize("view", ["desktop", "phone"])
@pytest.mark.parametrize("page_path", ANSWER_PAGES or ["(no page with answer boxes)"])
def test_answer_boxes(open_page, page_path, view):
    assert ANSWER_PAGES, "no page has an answer box"
    from answers import type_answer

    table = _expected_answers()
    w = open_page(page_path, view, "dark" if view == "phone" else "light")
    boxes = w.page.locator(".cnc-answer")
    assert boxes.count() > 0
    for i in range(boxes.count()):
        box = boxes.nth(i)
        box.scroll_into_view_if_needed()
        exercise, kind = box.get_attribute("data-exercise"), box.get_attribute("data-kind")
        key = (exercise, box.locator(".cnc-answer-label").inner_text().strip())
        assert key in table, f"answer box {key} on {page_path} has no entry in tests/site/answers.py"
        checker, right, wrong_answer, unknown = table[key]
        trials = [(right, "correct", checker(right).message), (wrong_answer, "hint", checker(wrong_answer).message)]
        if unknown is not None:  # a set or choice box knows every possible answer
            trials.append((unknown, "unknown", None))
        for answer, verdict, message in trials:
            type_answer(box, kind, answer)
            got = box.get_attribute("data-verdict")
            text = box.locator(".cnc-answer-feedback").inner_text()
            assert got == verdict, f"{key}: answer {answer!r} gave {got!r} ({text}), expected {verdict!r}"
            if message is not None:
                assert message in text, f"{key}: answer {answer!r} shows {text!r}, expected {message!r}"
    page_source = (SITE / page_path).read_text(encoding="utf-8")
    for key, (checker, right, _, _) in table.items():
        message = checker(right).message
        assert message not in page_source, f"the right answer's feedback of {key} is readable in {page_path}"
    w.page.screenshot(path=_shot(page_path.replace(".html", "-answers"), view, "light"))
    assert not w.problems(), w.problems()


# --------------------------------------------------------------------------- the checks themselves
def test_the_checks_catch_a_broken_page(contexts, tmp_path):
    """The page checks, on a page built to break each of them, with a request to another host."""
    (tmp_path / "page.html").write_text(BROKEN_PAGE, encoding="utf-8")
    (tmp_path / "ok.png").write_bytes(_png_1px())
    with serve(tmp_path) as url:
        w = watch(contexts["desktop", "light"], url)
        w.page.goto(url + "page.html")
        report = w.page.evaluate(INSPECT)
        w.page.wait_for_timeout(300)
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
    assert any("missing.png" in r for r in w.failed_requests), w.failed_requests
    assert any("example.org" in r for r in w.blocked), w.blocked
    assert any("broken on purpose" in e for e in w.console_errors), w.console_errors
    w.page.close()


def test_the_figure_text_check_catches_small_text(tmp_path):
    """A figure shown at half its width with 10 px text fails; 20 px text passes; no record fails."""
    from cnncourse.plots._layout import png_with_text_size

    (tmp_path / "lessons").mkdir()
    (tmp_path / "small.png").write_bytes(png_with_text_size(_png_1px(), 10.0))
    (tmp_path / "large.png").write_bytes(png_with_text_size(_png_1px(), 20.0))
    (tmp_path / "bare.png").write_bytes(_png_1px())
    shown = [{"src": f"../{name}.png", "natural": 1000, "shown": 500} for name in ("small", "large", "bare")]
    problems = _small_figure_text("lessons/page.html", "desktop", shown, root=tmp_path)
    assert len(problems) == 2, problems
    assert "5.0 px tall at desktop width" in problems[0] and "small.png" in problems[0]
    assert "without a recorded text size" in problems[1] and "bare.png" in problems[1]
    assert _small_figure_text("lessons/page.html", "phone", shown[1:2], root=tmp_path) == []


# --------------------------------------------------------------------------- keyboard and screen reader
# Every control of an explorer, reached with Tab alone and moved with the keys a keyboard user
# has (arrows, Space): its visible label is its accessible name, its focus is visible, the
# numbers still equal cnncourse's, the polite live region says what changed, and the pictures'
# text alternatives follow the state.
CONTROLS = """(root) => [...root.querySelectorAll('select, input, button')].filter(e => !e.disabled).length"""
FOCUSED = """(root) => {
  const e = document.activeElement;
  if (!root.contains(e)) return null;
  const s = getComputedStyle(e);
  const labelId = e.getAttribute('aria-labelledby');
  const label = labelId ? document.getElementById(labelId) : null;
  const group = e.closest('[role=group], [role=radiogroup]');
  const groupLabel = group && document.getElementById(group.getAttribute('aria-labelledby') || '');
  return {tag: e.tagName.toLowerCase(), type: e.type || '', value: e.value,
          index: e.selectedIndex ?? -1, options: e.options ? e.options.length : 0,
          min: e.min, max: e.max,
          outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,
          labelText: label && label.checkVisibility() ? label.textContent.trim() : null,
          ariaLabel: e.getAttribute('aria-label'),
          groupLabel: groupLabel && groupLabel.checkVisibility() ? groupLabel.textContent.trim() : null,
          box: (r => [r.width, r.height])(e.getBoundingClientRect())};
}"""
SPOKEN = """(root) => ({live: [...root.querySelectorAll('[aria-live=polite]')].map(e => e.textContent),
                     alts: [...root.querySelectorAll('canvas[role=img]')].filter(c => c.checkVisibility())
                             .map(c => c.getAttribute('aria-label'))})"""


def _keys_for(f: dict) -> list[str]:
    """A key that changes the focused control, then the key that takes it back."""
    if f["tag"] == "select":
        return ["ArrowUp", "ArrowDown"] if f["index"] > 0 else ["ArrowDown", "ArrowUp"]
    if f["type"] == "range":
        at_max = f["value"] == f["max"]
        return ["ArrowLeft", "ArrowRight"] if at_max else ["ArrowRight", "ArrowLeft"]
    if f["type"] == "checkbox":
        return [" ", " "]
    if f["type"] == "number":
        return ["ArrowUp", "ArrowDown"]
    raise AssertionError(f"an explorer control the keyboard test does not know: {f}")


EXPLORERS = {"kernel": ("lessons/05", "[data-output]", lambda d, images: _check_kernel(d, images),
                        lambda d: f"Output {d['shape'][0]}x{d['shape'][1]}"),
             "pooling": ("lessons/07", "[data-pooled]", lambda d, images: _check_pooling(d, images),
                         lambda d: f"Output {d['shape'][0]}x{d['shape'][1]}"),
             "erf": ("lessons/09", "[data-erf]", lambda d, images: _check_erf(d),
                     lambda d: f"Field {d['field']}x{d['field']}")}


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("explorer", list(EXPLORERS))
def test_explorer_by_keyboard(open_page, explorer, scheme):
    prefix, selector, check, said = EXPLORERS[explorer]
    w = open_page(_lesson(prefix), "desktop", scheme)
    page = w.page
    _wait_for_widgets(page)
    widget = page.locator(selector).first
    images = _images(page) if explorer != "erf" else None
    handle = widget.element_handle()
    n_controls = widget.evaluate(CONTROLS)
    widget.locator("select, input").first.focus()  # the entry point; from here on, keys only
    page.keyboard.press("Tab")
    page.keyboard.press("Shift+Tab")
    seen, problems = 0, []
    while True:
        f = page.evaluate(FOCUSED, handle)
        if f is None:
            break
        seen += 1
        where = f"{explorer} control {seen} ({f['tag']} {f['type']} {f['labelText'] or f['ariaLabel']!r})"
        if not f["outline"]:
            problems.append(f"{where}: no visible focus outline in {scheme}")
        if f["labelText"] is None and not (f["ariaLabel"] and f["groupLabel"]):
            problems.append(f"{where}: no visible label that is its accessible name")
        if min(f["box"]) < 24:
            problems.append(f"{where}: {f['box'][0]:.0f}x{f['box'][1]:.0f} px, under 24 x 24")
        for key in _keys_for(f):
            before = page.evaluate(SPOKEN, handle)
            d = _changes(widget, lambda: page.keyboard.press(key))
            check(d, images)
            after = page.evaluate(SPOKEN, handle)
            live = " ".join(after["live"])
            if said(d) not in live:
                problems.append(f"{where}, {key}: the live region says {live!r}, not {said(d)!r}")
            if after["alts"] == before["alts"]:
                problems.append(f"{where}, {key}: no picture's text alternative changed")
        page.keyboard.press("Tab")
    assert seen == n_controls, f"Tab reached {seen} of the {explorer} explorer's {n_controls} controls"
    assert not problems, "\n  ".join(problems)
    assert not w.problems(), w.problems()


@pytest.mark.parametrize("page_path", ANSWER_PAGES or ["(no page with answer boxes)"])
def test_answer_boxes_by_keyboard(open_page, page_path):
    """Each answer box answered right with the keyboard alone (dark theme): type or pick with
    arrows and Space, Tab to Check, Enter; the verdict is read out by a polite live region."""
    table = _expected_answers()
    w = open_page(page_path, "desktop", "dark")
    page = w.page
    boxes = page.locator(".cnc-answer")
    problems = []
    for i in range(boxes.count()):
        box = boxes.nth(i)
        kind = box.get_attribute("data-kind")
        label = box.locator(".cnc-answer-label").inner_text().strip()
        key = (box.get_attribute("data-exercise"), label)
        checker, right, _, _ = table[key]
        box.locator("input").first.focus()
        page.keyboard.press("Tab")  # to Check, and back: focus moved by the keyboard
        page.keyboard.press("Shift+Tab")
        handle = box.element_handle()
        f = page.evaluate(FOCUSED, handle)
        if not f["outline"]:
            problems.append(f"{key}: no visible focus outline")
        if kind in ("number", "list"):
            if f["ariaLabel"] != label:
                problems.append(f"{key}: the field's name {f['ariaLabel']!r} is not its visible label")
            page.keyboard.type(", ".join(str(a) for a in right) if kind == "list" else str(right))
        elif kind == "choice":
            if f["groupLabel"] != label:
                problems.append(f"{key}: the options are not a group named by {label!r}")
            for _ in range(20):  # radio buttons: Space picks the first, the arrow keys move the choice
                checked = box.locator("input:checked")
                if checked.count() and checked.get_attribute("value") == str(right):
                    break
                page.keyboard.press("ArrowDown" if checked.count() else " ")
        else:
            if f["groupLabel"] != label:
                problems.append(f"{key}: the options are not a group named by {label!r}")
            options = box.locator("input[type=checkbox]")
            for n in range(options.count()):
                if (options.nth(n).get_attribute("value") in right) != options.nth(n).is_checked():
                    page.keyboard.press(" ")
                page.keyboard.press("Tab")
        while page.evaluate("document.activeElement.tagName") != "BUTTON":
            page.keyboard.press("Tab")
        if not page.evaluate(FOCUSED, handle)["outline"]:
            problems.append(f"{key}: the Check button shows no focus")
        page.keyboard.press("Enter")
        verdict = box.get_attribute("data-verdict")
        feedback = box.locator(".cnc-answer-feedback")
        if verdict != "correct":
            problems.append(f"{key}: the right answer by keyboard gave {verdict!r}")
        if (feedback.get_attribute("role"), feedback.get_attribute("aria-live")) != ("status", "polite"):
            problems.append(f"{key}: the verdict is not in a polite live region")
        if checker(right).message not in feedback.inner_text():
            problems.append(f"{key}: the live region says {feedback.inner_text()!r}")
    assert not problems, "\n  ".join(problems)
    assert not w.problems(), w.problems()


# --------------------------------------------------------------------------- motion, files
MOTION = """() => [...document.querySelectorAll('*')].map(e => getComputedStyle(e))
    .filter(s => s.transitionDuration.split(',').some(d => parseFloat(d) > 0)
              || (s.animationName !== 'none' && s.animationDuration.split(',').some(d => parseFloat(d) > 0))).length"""


def test_nothing_moves_for_a_reader_who_asked_for_reduced_motion(browser, site_url):
    """With prefers-reduced-motion, no element of a lesson page has a transition or animation
    (the theme's sidebars slide and fade otherwise: the check sees them without the setting)."""
    page_path = next((p for p in PAGES if p.startswith("lessons/05")), PAGES[0])
    counts = {}
    for motion in ("no-preference", "reduce"):
        context = browser.new_context(viewport=VIEWPORTS["desktop"], reduced_motion=motion)
        page = context.new_page()
        page.goto(site_url + page_path, wait_until="load")
        counts[motion] = page.evaluate(MOTION)
        context.close()
    assert counts["no-preference"] > 0, "the check found nothing that moves even without the setting"
    assert counts["reduce"] == 0, f"{counts['reduce']} element(s) still move with prefers-reduced-motion"


def test_every_file_is_readable_by_the_web_server():
    """The site is served by a web server running as another user: every file must be readable
    by others and every folder enterable (the PDF was once copied in with mode 0600: 403)."""
    bad = []
    for path in [SITE, *SITE.rglob("*")]:
        need = 0o005 if path.is_dir() else 0o004
        mode = path.stat().st_mode
        if mode & need != need:
            bad.append(f"{oct(mode & 0o777)} {path.relative_to(SITE)}")
    assert not bad, f"{len(bad)} path(s) others cannot read: {bad[:20]}"


AXE_PAGE = """<!DOCTYPE html><html lang="en"><head><title>axe check</title></head><body><main>
<h1>A page with one critical and one minor finding</h1>
<button type="button"></button>
<div role="directory"><p>A deprecated role.</p></div>
</main></body></html>"""


def test_the_axe_check_fails_serious_and_new_findings(contexts, tmp_path, monkeypatch):
    """A critical violation always fails; a minor one fails until the snapshot records it."""
    import a11y

    monkeypatch.setattr(a11y, "SNAPSHOT", tmp_path / "axe-snapshot.json")
    monkeypatch.setattr(a11y, "FINDINGS", [])
    monkeypatch.delenv("CNNCOURSE_AXE_SNAPSHOT", raising=False)
    (tmp_path / "page.html").write_text(AXE_PAGE, encoding="utf-8")
    with serve(tmp_path) as url:
        w = watch(contexts["desktop", "light"], url)
        w.page.goto(url + "page.html")
        first = a11y.check(w.page, "page.html", "desktop", "light")
        (tmp_path / "axe-snapshot.json").write_text(json.dumps(
            {"page.html": {"desktop light": {"aria-deprecated-role": 1}}}))
        second = a11y.check(w.page, "page.html", "desktop", "light")
        w.page.close()
    assert any("critical button-name" in p for p in first), first
    assert any("aria-deprecated-role" in p and "snapshot" in p for p in first), first
    assert any("critical button-name" in p for p in second), second
    assert not any("aria-deprecated-role" in p for p in second), second
    assert any("aria-deprecated-role" in f for f in a11y.FINDINGS), a11y.FINDINGS
