"""Read the PDF of the book as a reader would: every lesson is in it, with its figures, and
nothing that only makes sense on screen.

Run by `make test-pdf` (part of `make test`), which builds the PDF first when it is missing or
older than the book. `make test-unit` leaves this folder out.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
LATEX = REPO / "_build" / "latex"
PDF = LATEX / "cnncourse.pdf"
LOG = LATEX / "cnncourse.log"
TEX = LATEX / "cnncourse.tex"
PRINTED = REPO / "_build" / "pdf-src"

if not PDF.is_file():
    pytest.skip(f"no {PDF.relative_to(REPO)}: `make pdf` builds it", allow_module_level=True)

pypdf = pytest.importorskip("pypdf")

# How far a line may stick out into the margin before a reader sees it cut: LaTeX reports
# every overfull line; a few points vanish in the margin, a code line running off the page
# is tens of points.
OVERFULL_TOLERANCE_PT = 5.0
WIDGET_REPRS = ("VBox(", "HBox(", "IntSlider(", "FloatSlider(", "Dropdown(", "children=(",
                "Output(", "Image(value=", "Widget(")


def _script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("pdf_script", REPO / "scripts" / "pdf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _toc_files() -> list[str]:
    """Every page of the book's table of contents except those made for the site only."""
    script = _script()
    files = script.toc_files(yaml.safe_load((REPO / "_toc.yml").read_text()))
    assert len(script.SCREEN_ONLY) <= 1, "the PDF leaves out more than the build report"
    return [f for f in files if f not in script.SCREEN_ONLY]


@lru_cache(maxsize=1)
def _text() -> str:
    reader = pypdf.PdfReader(str(PDF))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    return re.sub(r"\s+", " ", text)


def _title(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    raise AssertionError(f"{path} has no '# ' title")


def _squash(text: str) -> str:
    # Compare without spaces: PDF text extraction splits and joins words at will.
    return re.sub(r"\s+", "", text).lower()


@pytest.mark.parametrize("name", [n for n in _toc_files()])
def test_every_page_of_the_toc_is_in_the_pdf(name):
    source = REPO / f"{name}.md"
    title = re.sub(r"[`*_]", "", _title(source))  # Markdown marks are not printed
    assert _squash(title) in _squash(_text()), f"the PDF has no title {title!r} ({name})"


def test_glossary_terms_and_bibliography_are_printed():
    glossary = (REPO / "book" / "glossary.md").read_text(encoding="utf-8")
    block = glossary.split("```{glossary}", 1)[1].split("```", 1)[0]
    # In a MyST glossary a term starts at column 0; its definition is indented.
    terms = [line.strip() for line in block.splitlines()
             if line and not line[0].isspace() and not line.startswith(":")]
    assert len(terms) >= 20, f"expected the glossary's terms, found {terms}"
    text = _squash(_text())
    missing = [t for t in terms if _squash(t) not in text]
    assert not missing, f"glossary terms missing from the PDF: {missing}"
    bib = (REPO / "book" / "references.bib").read_text(encoding="utf-8")
    # title = {Text with {Braced} words and \% signs},  ->  Text with Braced words and % signs
    titles = [re.sub(r"[{}\\]", "", value).strip().rstrip(",").strip('"')
              for value in re.findall(r"^\s*title\s*=\s*(.+?)\s*$", bib, flags=re.M | re.I)]
    assert titles
    absent = [t for t in titles if _squash(t)[:30] not in text]
    assert not absent, f"bibliography entries missing from the PDF: {absent}"


def test_every_figure_of_the_executed_lessons_is_in_the_pdf():
    expected = 0
    for notebook in sorted(PRINTED.glob("lessons/*.ipynb")):
        cells = json.loads(notebook.read_text())["cells"]
        for cell in cells:
            tags = cell.get("metadata", {}).get("tags", [])
            if "remove-output" in tags or "remove-cell" in tags:
                continue
            for output in cell.get("outputs", []):
                if "image/png" in output.get("data", {}):
                    expected += 1
    assert expected > 20, f"the executed lessons hold only {expected} figures"
    included = len(re.findall(r"\\sphinxincludegraphics", TEX.read_text(encoding="utf-8")))
    assert included == expected, (
        f"the LaTeX source includes {included} figures, the executed lessons hold {expected}")
    reader = pypdf.PdfReader(str(PDF))
    drawn = sum(len(page.images) for page in reader.pages)
    assert drawn >= expected, f"the PDF draws {drawn} images, the lessons hold {expected}"


def test_no_widget_repr_is_printed():
    text = _text()
    found = [r for r in WIDGET_REPRS if r in text]
    assert not found, f"the PDF prints widget reprs instead of figures: {found}"


def test_no_line_runs_off_the_page_and_no_glyph_is_missing():
    log = LOG.read_text(encoding="utf-8", errors="replace")
    overfull = [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    too_wide = [w for w in overfull if w > OVERFULL_TOLERANCE_PT]
    assert not too_wide, (
        f"{len(too_wide)} lines run more than {OVERFULL_TOLERANCE_PT} pt past the text width "
        f"(widest {max(too_wide):.0f} pt); see {LOG.relative_to(REPO)}")
    missing = sorted(set(re.findall(r"Missing character: There is no (.+?) in font", log)))
    assert not missing, f"glyphs missing from the fonts: {missing}"
