"""cnncourse._text: the one fixed-width table of the package."""

from __future__ import annotations

import pytest

from cnncourse._text import text_table


def test_columns_are_as_wide_as_their_widest_cell_two_spaces_apart():
    rows = [["name", "n"], ["a", "100"], ["longer", "7"]]
    assert text_table(rows, "<>") == ["name      n", "a       100", "longer    7"]
    assert text_table(rows, "<>", rule="columns")[1] == "------  ---"
    assert text_table(rows, "<>", rule="line")[1] == "-" * len("name      n")
    assert text_table(rows, "<>", min_widths=[0, 5])[1] == "a         100"


def test_trailing_spaces_are_removed():
    assert text_table([["a", ""], ["bbb", ""]], "<<") == ["a", "bbb"]


def test_bad_alignment_and_rule():
    with pytest.raises(ValueError, match=r"align.*2 columns.*'<'"):
        text_table([["a", "b"]], "<")
    with pytest.raises(ValueError, match=r"rule.*'dots'"):
        text_table([["a"]], "<", rule="dots")
