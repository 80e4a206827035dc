"""What the reader sees of a lesson's code: only the lesson's code, at most 88 characters wide.

Read from the lessons' MyST sources (jupytext), so it holds before any book is built; the
browser test checks the same width on the rendered pages.
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import pytest

LESSONS = sorted((Path(__file__).resolve().parents[1] / "lessons").glob("*.md"))
HIDDEN = {"hide-input", "remove-input", "remove-cell"}


def _visible_code_cells(path: Path):
    for index, cell in enumerate(jupytext.read(path).cells):
        if cell.cell_type == "code" and not HIDDEN & set(cell.metadata.get("tags", [])):
            yield index, cell.source


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_glue_is_plumbing_in_hidden_cells(path):
    shown = [index for index, source in _visible_code_cells(path)
             if any(line.lstrip().startswith("glue(") for line in source.splitlines())]
    assert not shown, f"{path.name}: cells {shown} show glue() calls; move them into a hide-input cell"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_code_fits_the_column(path):
    wide = [(index, line) for index, source in _visible_code_cells(path)
            for line in source.splitlines() if len(line) > 88]
    assert not wide, f"{path.name}: lines over 88 characters scroll sideways: {wide[:3]}"


def test_the_lessons_are_found():
    assert len(LESSONS) >= 10
