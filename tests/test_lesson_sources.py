"""What the reader sees of a lesson: only the lesson's code, at most 88 characters wide, in MyST
that both the book (MyST-NB) and JupyterLab (jupyterlab-myst) render.

Read from the lessons' MyST sources (jupytext), so it holds before any book is built; the
browser test checks the same width on the rendered pages, and tests/lab the rendering in Lab.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import pytest

LESSONS = sorted((Path(__file__).resolve().parents[1] / "lessons").glob("*.md"))
HIDDEN = {"hide-input", "remove-input", "remove-cell"}


def _visible_code_cells(path: Path):
    for index, cell in enumerate(jupytext.read(path).cells):
        if cell.cell_type == "code" and not HIDDEN & set(cell.metadata.get("tags", [])):
            yield index, cell.source


# The MyST both renderers understand. MyST-NB's glue, sphinxcontrib-bibtex's {cite} and Sphinx's
# {doc} show as raw text in JupyterLab: numbers in prose are {eval}`prose.name`, citations and
# links to other pages are Markdown links ([Luo et al., 2016](../book/references.md)).
ROLES = {"term", "eval"}
DIRECTIVES = {"admonition", "dropdown", "code-cell", "note", "tip", "warning", "important", "glossary"}
ROLE = re.compile(r"\{([a-z][a-z:-]*)\}`")
DIRECTIVE = re.compile(r"^(?:`{3,}|:{3,})\{([a-z][a-z:-]*)\}", re.MULTILINE)
PROSE_SET = re.compile(r"\bprose\.(\w+)\s*=|setattr\(prose,\s*f?\"(\w+)")


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_myst_renders_in_the_book_and_in_jupyterlab(path):
    text = path.read_text(encoding="utf-8")
    roles = set(ROLE.findall(text)) - ROLES
    directives = set(DIRECTIVE.findall(text)) - DIRECTIVES
    assert not roles, f"{path.name}: roles {sorted(roles)} have no JupyterLab rendering; use {sorted(ROLES)}"
    assert not directives, f"{path.name}: directives {sorted(directives)} are not in {sorted(DIRECTIVES)}"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_prose_values_are_set_in_hidden_cells_before_the_text_uses_them(path):
    """{eval}`prose.x` is evaluated where the text stands (MyST-NB inline execution, and
    jupyterlab-myst when the cell runs), so x must be set by an earlier, hidden code cell."""
    set_so_far, problems = set(), []
    hidden = {index for index, _ in enumerate(jupytext.read(path).cells)} - {i for i, _ in _visible_code_cells(path)}
    for index, cell in enumerate(jupytext.read(path).cells):
        if cell.cell_type == "code":
            names = {a or b for a, b in PROSE_SET.findall(cell.source)}
            if names and index not in hidden:
                problems.append(f"cell {index} sets prose values in a visible cell")
            # setattr(prose, f"adam_{key}", ...) sets a family: match by prefix
            set_so_far |= names
        else:
            for name in re.findall(r"\{eval\}`prose\.(\w+)`", cell.source):
                if not any(name == s or (s.endswith("_") and name.startswith(s)) for s in set_so_far):
                    problems.append(f"cell {index} shows prose.{name} before a code cell sets it")
    assert not problems, f"{path.name}: " + "; ".join(problems)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_code_fits_the_column(path):
    wide = [(index, line) for index, source in _visible_code_cells(path)
            for line in source.splitlines() if len(line) > 88]
    assert not wide, f"{path.name}: lines over 88 characters scroll sideways: {wide[:3]}"


def test_the_lessons_are_found():
    assert len(LESSONS) >= 10


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_every_figure_has_its_caption_in_a_cell_lab_shows(path):
    """The caption is a Markdown cell after the figure (JupyterLab shows it; the book moves it
    into the figure, book/_ext/figure_captions.py), never figure metadata Lab cannot show."""
    cells = jupytext.read(path).cells
    problems = []
    for index, cell in enumerate(cells):
        figure = cell.metadata.get("mystnb", {}).get("figure") if cell.cell_type == "code" else None
        if figure is None:
            continue
        if "caption" in figure:
            problems.append(f"cell {index}: caption in the metadata, which JupyterLab never shows")
        following = cells[index + 1] if index + 1 < len(cells) else None
        if following is None or "figure-caption" not in following.metadata.get("tags", []):
            problems.append(f"cell {index}: figure {figure.get('name')} has no 'figure-caption' cell after it")
        if not cell.metadata.get("mystnb", {}).get("image", {}).get("alt"):
            problems.append(f"cell {index}: figure {figure.get('name')} has no alt text")
    assert not problems, f"{path.name}: " + "; ".join(problems)
