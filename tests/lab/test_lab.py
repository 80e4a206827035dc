"""The learner's seat in a real JupyterLab: every lesson opened, run and saved as a learner would.

JupyterLab is started the way ``make lab`` starts it (``python -m cnncourse.teaching.lab``),
on a copy of ``lessons/`` and ``book/`` in a temporary folder, so the repository's files are
never touched. Playwright drives Debian's chromium (``tests/site/setup.sh`` installs it). For
each lesson the test checks, in this order:

1. the tab is not marked modified after opening (so autosave writes nothing);
2. every worked solution is a closed dropdown and every cell the book hides is collapsed;
3. Run All ends without a traceback;
4. no raw MyST (a role, a directive fence or option, LaTeX, an unevaluated ``{eval}``) shows
   in any rendered cell; the notebook is windowed, so the test scrolls through all of it;
5. each explorer redraws when one control changes, and each answer box answers;
6. an edit of one exercise line, saved, changes exactly that line on disk.

Screenshots go to ``artifacts/lab/``. Run with ``make test-lab`` (part of ``make test``).
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import jupytext
import pytest

from cnncourse.teaching.marking import SOLUTION_FIRST_LINE, hidden_in_lab, is_solution, is_solution_dropdown

ROOT = Path(__file__).resolve().parents[2]
LESSONS = sorted((ROOT / "lessons").glob("*.md"))
ARTIFACTS = ROOT / "artifacts" / "lab"
TOKEN = "cnncourse-lab-test"
RUN_TIMEOUT_S = 900

sys.path.insert(0, str(ROOT / "tests" / "site"))

# Raw markup that must never reach the reader's eye in a rendered Markdown cell.
RAW_MARKUP = [
    (re.compile(r"\{[a-z][a-z:-]*\}`"), "a MyST role"),
    (re.compile(r"(^|\n)\s*(```|~~~|:::)"), "a directive fence"),
    (re.compile(r"(^|\n):[a-z-]+:( |$)"), "a directive option"),
    (re.compile(r"\\(frac|sqrt|big|tfrac|cdot|sum|mathbb|operatorname|left|right)\b"), "raw LaTeX"),
    (re.compile(r"\$\$|(^|\s)\$[^$\s][^$]*\$"), "unrendered math"),
    (re.compile(r"\bprose\.[a-z_]"), "an unevaluated {eval}"),
    (re.compile(r"\+\+\+"), "a Jupytext cell marker"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab started like ``make lab``, on a scratch copy of the course's pages."""
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(ROOT / "lessons", root / "lessons")
    shutil.copytree(ROOT / "book", root / "book", ignore=shutil.ignore_patterns("_vendor"))
    port = _free_port()
    log = open(root / "lab.log", "w")  # noqa: SIM115 (open while the server runs)
    env = dict(os.environ, OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "PASSIVE"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "cnncourse.teaching.lab", "--no-browser", "--port", str(port),
         "--root", str(root), f"--IdentityProvider.token={TOKEN}"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"make lab's JupyterLab exited: {(root / 'lab.log').read_text()[-2000:]}")
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("JupyterLab did not listen within 90 s")
    yield {"url": url, "root": root, "log": root / "lab.log"}
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


def test_launcher_says_where_and_what(lab):
    text = lab["log"].read_text()
    assert "http://127.0.0.1:" in text and "this computer only" in text
    assert "Start with lessons/01-images-as-arrays.md" in text
    assert "ServerApp] Jupyter Server" in text or "is running at" in text


# ----------------------------------------------------------------------------- helpers on a page
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"

CELLS_IN_VIEW = """() => [...document.querySelectorAll('PANEL .jp-Cell')].map(c => ({
    index: Number(c.dataset.windowedListIndex),
    markdown: c.classList.contains('jp-MarkdownCell'),
    rendered: c.classList.contains('jp-MarkdownCell') ?
        (c.querySelector('.jp-RenderedMarkdown, .jp-MarkdownOutput') || {}).innerText || '' : '',
    collapsed: !!c.querySelector('.jp-InputPlaceholder'),
    placeholder: (c.querySelector('.jp-InputPlaceholder') || {}).textContent || '',
    details: [...c.querySelectorAll('details')].map(d => d.open),
    errors: [...c.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
        .map(e => e.innerText).filter(t => /Traceback|Error:/.test(t)),
    prompt: (c.querySelector('.jp-InputPrompt') || {}).innerText || '',
}))""".replace("PANEL", PANEL)


# How many cells are laid out inside the visible part of the notebook.
CELLS_SHOWN = """() => { const view = document.querySelector('PANEL .jp-WindowedPanel-outer')
    .getBoundingClientRect();
    return [...document.querySelectorAll('PANEL .jp-Cell')].filter(c => {
        const r = c.getBoundingClientRect();
        return r.height > 0 && r.bottom > view.top && r.top < view.bottom; }).length; }""".replace("PANEL", PANEL)


def _open(page, url: str, relpath: str):
    page.goto(f"{url}/lab/tree/{relpath}?reset&token={TOKEN}")
    page.locator(f"{PANEL} .jp-Notebook").wait_for(timeout=90_000)
    page.wait_for_selector(f"{PANEL} .jp-Notebook-ExecutionIndicator[data-status=idle]", timeout=90_000)
    page.wait_for_timeout(2000)  # the kernel's info arrives, metadata settle


def _dirty(page) -> bool:
    return "jp-mod-dirty" in (page.locator(".lm-TabBar-tab.lm-mod-current").first.get_attribute("class") or "")


def _scan(page) -> dict[int, dict]:
    """Scroll the windowed notebook from top to bottom; every cell as it was rendered in view."""
    scroller = page.locator(f"{PANEL} .jp-WindowedPanel-outer")
    scroller.evaluate("el => el.scrollTo(0, 0)")
    page.wait_for_timeout(300)
    seen: dict[int, dict] = {}
    for _ in range(2000):
        page.wait_for_timeout(150)
        for cell in page.evaluate(CELLS_IN_VIEW):
            seen[cell["index"]] = cell
        at_end = scroller.evaluate(
            "el => { const before = el.scrollTop; el.scrollBy(0, el.clientHeight * 0.8);"
            " return el.scrollTop === before; }")
        if at_end:
            page.wait_for_timeout(300)
            for cell in page.evaluate(CELLS_IN_VIEW):
                seen[cell["index"]] = cell
            break
    return seen


def _run_all(page) -> None:
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
    page.wait_for_selector(f"{PANEL} .jp-Notebook-ExecutionIndicator:not([data-status=idle])", timeout=30_000)
    page.wait_for_selector(f"{PANEL} .jp-Notebook-ExecutionIndicator[data-status=idle]",
                           timeout=RUN_TIMEOUT_S * 1000)
    page.wait_for_timeout(1500)


def _raw_markup(text: str) -> list[str]:
    return [f"{what}: {m.group(0).strip()!r}" for pattern, what in RAW_MARKUP for m in [pattern.search(text)] if m]


def _canvases(widget) -> str:
    return widget.evaluate("el => [...el.querySelectorAll('canvas')].map(c => c.toDataURL()).join('|')")


def _check_explorers(page, lesson: str) -> int:
    """Move one control of each explorer; its canvases must change. Returns how many were moved."""
    moved = 0
    explorers = page.locator(f"{PANEL} .cnx")
    for i in range(explorers.count()):
        widget = explorers.nth(i)
        widget.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        before = _canvases(widget)
        select = widget.locator("select").first
        options = select.evaluate("s => [...s.options].map(o => o.value)")
        current = select.input_value()
        select.select_option(next(o for o in options if o != current))
        # the redraw is prompt when idle; a busy machine (make test's other lane) may take seconds
        deadline = time.monotonic() + 20
        while _canvases(widget) == before and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        assert _canvases(widget) != before, f"{lesson}: explorer {i} did not redraw when its first control changed"
        moved += 1
    return moved


def _check_answer_boxes(page, lesson: str) -> int:
    from answers import ANSWERS, type_answer

    boxes = page.locator(f"{PANEL} .cnc-answer")
    for i in range(boxes.count()):
        box = boxes.nth(i)
        box.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        # text_content: JupyterLab skips laying out cells out of view, where innerText is empty
        key = (box.get_attribute("data-exercise"), box.locator(".cnc-answer-label").text_content().strip())
        assert key in ANSWERS, f"{lesson}: answer box {key} has no entry in tests/site/answers.py"
        checker, right, wrong, _ = ANSWERS[key]
        for answer, verdict in ((right, "correct"), (wrong, "hint")):
            type_answer(box, box.get_attribute("data-kind"), answer)
            got = box.get_attribute("data-verdict")
            assert got == verdict, f"{lesson}: answer box {key} answered {answer!r} with {got!r}"
            assert checker(answer).message in box.locator(".cnc-answer-feedback").text_content()
    return boxes.count()


def _exercise_line(path: Path) -> tuple[int, str, str]:
    """(cell index, old source, new source) of the first exercise placeholder, answered."""
    for index, cell in enumerate(jupytext.read(path).cells):
        if cell.cell_type != "code":
            continue
        for line in cell.source.splitlines():
            m = re.match(r"^(\w+) = (?:\.\.\.|None)(\s+#.*)?$", line)
            if m:
                return index, cell.source, cell.source.replace(line, f"{m.group(1)} = 42{m.group(2) or ''}", 1)
    raise AssertionError(f"{path.name} has no exercise placeholder 'name = ...' or 'name = None'")


def _edit_cell(page, index: int, new_source: str) -> None:
    scroller = page.locator(f"{PANEL} .jp-WindowedPanel-outer")
    cell = page.locator(f"{PANEL} .jp-Cell[data-windowed-list-index='{index}']")
    for _ in range(400):
        if cell.count():
            break
        scroller.evaluate("el => el.scrollBy(0, el.clientHeight * 0.8)")
        page.wait_for_timeout(100)
    cell.scroll_into_view_if_needed()
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(new_source)  # no key events: the editor closes no brackets
    page.keyboard.press("Escape")
    page.keyboard.press("Control+s")
    page.wait_for_function(
        "() => !document.querySelector('.lm-TabBar-tab.lm-mod-current').classList.contains('jp-mod-dirty')",
        timeout=30_000)
    page.wait_for_timeout(500)


# ----------------------------------------------------------------------------------- the test
@pytest.mark.parametrize("source", LESSONS, ids=lambda p: p.stem)
def test_lesson_in_jupyterlab(lab, browser, source):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    lesson = source.name
    on_disk = lab["root"] / "lessons" / lesson
    original = on_disk.read_text(encoding="utf-8")
    cells = jupytext.read(on_disk).cells
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        _open(page, lab["url"], f"lessons/{lesson}")
        assert not _dirty(page), f"{lesson}: opening the lesson marked it modified"
        page.screenshot(path=str(ARTIFACTS / f"{source.stem}-opened.png"))

        seen = _scan(page)
        assert len(seen) == len(cells), f"{lesson}: scrolled through {len(seen)} of {len(cells)} cells"
        for index, cell in enumerate(cells):
            shown = seen[index]
            assert shown["collapsed"] == hidden_in_lab(cell), (
                f"{lesson}: cell {index} is {'collapsed' if shown['collapsed'] else 'open'} in Lab, "
                f"but the book {'hides' if hidden_in_lab(cell) else 'shows'} it")
            if is_solution_dropdown(cell):
                assert shown["details"] and not any(shown["details"]), (
                    f"{lesson}: the worked solution in cell {index} is not a closed dropdown")
            if cell.cell_type == "code" and is_solution(cell):
                # a collapsed cell shows its first line: the comment, and no line of the answer
                code = [line.strip() for line in cell.source.splitlines()[1:] if line.strip()]
                assert SOLUTION_FIRST_LINE in shown["placeholder"] and not any(
                    line[:40] in shown["placeholder"] for line in code), (
                    f"{lesson}: collapsed solution cell {index} shows {shown['placeholder']!r}")

        _run_all(page)
        seen = _scan(page)
        problems = []
        for index, shown in sorted(seen.items()):
            problems += [f"cell {index}: traceback {e[:300]!r}" for e in shown["errors"]]
            if shown["markdown"]:
                problems += [f"cell {index}: {p}" for p in _raw_markup(shown["rendered"])]
            if "*" in shown["prompt"]:
                problems.append(f"cell {index}: still running after Run All")
        assert not problems, f"{lesson}: " + "; ".join(problems[:10])
        assert not any(any(s["details"]) for s in seen.values()), f"{lesson}: a dropdown opened itself"

        widgets = page.locator(f"{PANEL} .cnx, {PANEL} .cnc-answer")
        if widgets.count():  # as the learner first sees them, before the test moves anything
            widgets.first.evaluate("el => el.closest('.jp-Cell').scrollIntoView({block: 'start'})")
            page.wait_for_timeout(1500)  # the windowed notebook lays out the cells now in view
            page.screenshot(path=str(ARTIFACTS / f"{source.stem}-widgets.png"))
        explorers = _check_explorers(page, lesson)
        boxes = _check_answer_boxes(page, lesson)
        # a widget that never rendered would pass the two checks above with nothing to check
        assert explorers or "Explorer(" not in original, f"{lesson}: no explorer rendered in Lab"
        assert boxes or "answer_box(" not in original, f"{lesson}: no answer box rendered in Lab"
        if not widgets.count():  # the end of the lesson, not JupyterLab's blank space past it
            page.locator(f"{PANEL} .jp-WindowedPanel-outer").evaluate(
                "el => el.scrollTo(0, el.scrollHeight - 2 * el.clientHeight)")
            page.wait_for_timeout(1500)
        assert page.evaluate(CELLS_SHOWN) > 0, f"{lesson}: no cell in view for the screenshot"
        page.screenshot(path=str(ARTIFACTS / f"{source.stem}-run.png"))

        index, old, new = _exercise_line(on_disk)
        _edit_cell(page, index, new)
        saved = on_disk.read_text(encoding="utf-8")
        diff = list(difflib.unified_diff(original.splitlines(), saved.splitlines(), lineterm="", n=0))
        changed = [line for line in diff[2:] if line[:1] in "+-"]
        expected_old = next(a for a, b in zip(old.splitlines(), new.splitlines()) if a != b)
        expected_new = next(b for a, b in zip(old.splitlines(), new.splitlines()) if a != b)
        assert changed == [f"-{expected_old}", f"+{expected_new}"], (
            f"{lesson}: saving one answered exercise changed {len(changed)} lines on disk: {changed[:6]}")
    finally:
        # Shut the lesson's kernel down, as closing it in JupyterLab would, before the next one.
        sessions = page.request.get(f"{lab['url']}/api/sessions?token={TOKEN}").json()
        for session in sessions:
            page.request.delete(f"{lab['url']}/api/sessions/{session['id']}?token={TOKEN}")
        page.close()
