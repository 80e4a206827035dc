"""Each lesson carries, for JupyterLab, the glossary entries of its terms, derived from book/glossary.md."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("lab_glossary", ROOT / "scripts" / "lab_glossary.py")
lab_glossary = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lab_glossary)

GLOSSARY = """```{glossary}
:sorted:

Convolutional neural network
CNN
  A network of
  convolutions.

Jump
  The distance $j$.

  Also the effective stride.
```"""


def test_the_lessons_glossary_cells_match_book_glossary(capsys):
    assert lab_glossary.main([]) == 0, capsys.readouterr().err


def test_entries_keep_aliases_and_join_lines():
    entries = lab_glossary.glossary_entries(GLOSSARY)
    assert entries["cnn"] == ("CNN", "A network of convolutions.")
    assert entries["convolutional neural network"][1] == "A network of convolutions."
    assert entries["jump"] == ("Jump", "The distance $j$. Also the effective stride.")


def test_a_lesson_cell_lists_the_terms_it_links():
    cells = [nbformat.v4.new_markdown_cell("A {term}`jump` and a {term}`CNNs <CNN>`, a {term}`Jump`.")]
    terms = lab_glossary.lesson_terms(cells)
    assert terms == ["jump", "CNN"]
    source = lab_glossary.glossary_cell_source(terms, lab_glossary.glossary_entries(GLOSSARY), "x")
    assert source.startswith(lab_glossary.HEADING) and ":::{glossary}\nCNN\n: A network" in source


def test_a_term_missing_from_the_glossary_is_named():
    with pytest.raises(ValueError, match=r"x: terms \['pixel'\] are not in book/glossary.md"):
        lab_glossary.glossary_cell_source(["pixel"], {}, "x")


@pytest.mark.parametrize("path", sorted((ROOT / "lessons").glob("*.md")), ids=lambda p: p.stem)
def test_the_glossary_cell_is_last_and_removed_from_the_book(path):
    cells = jupytext.read(path).cells
    tagged = [i for i, c in enumerate(cells) if lab_glossary.TAG in c.metadata.get("tags", [])]
    if lab_glossary.lesson_terms(cells):
        assert tagged == [len(cells) - 1]
        assert "remove-cell" in cells[-1].metadata["tags"]
