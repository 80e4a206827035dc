"""book/_ext/figure_captions.py: one caption cell, shown in Lab, moved into the book's figure."""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
from figure_captions import move_captions

LESSON = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  name: python3
  display_name: Python 3 (ipykernel)
  language: python
---

Intro.

```{code-cell} ipython3
---
mystnb:
  figure:
    name: fig-x
  image:
    alt: A line.
---
show()
```

+++ {"tags": ["figure-caption"]}

*Figure.* A line that rises, with a {term}`jump`.

+++

After.
"""


def test_the_caption_moves_into_the_figure():
    moved = jupytext.reads(move_captions(LESSON), fmt="md:myst")
    assert [c.cell_type for c in moved.cells] == ["markdown", "code", "markdown"]
    assert moved.cells[1].metadata["mystnb"]["figure"] == {
        "name": "fig-x", "caption": "A line that rises, with a {term}`jump`."}
    assert moved.cells[2].source == "After."


def test_a_lesson_without_captions_is_left_as_it_is():
    text = LESSON.replace('+++ {"tags": ["figure-caption"]}\n\n*Figure.* A line that rises, with a {term}`jump`.\n\n+++\n\n', "")
    assert move_captions(text) == text


@pytest.mark.parametrize("bad, message", [
    (LESSON.replace("*Figure.* A line", "A line"), "must start with"),
    (LESSON.replace("  figure:\n    name: fig-x\n", ""), "must follow a figure"),
])
def test_a_misplaced_caption_is_named(bad, message):
    with pytest.raises(ValueError, match=f"demo: .*{message}"):
        move_captions(bad, "demo")
