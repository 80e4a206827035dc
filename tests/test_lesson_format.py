"""The lessons on disk are in the canonical form Jupytext writes, and their solutions are marked.

JupyterLab saves a lesson through Jupytext. If the file on disk is not what Jupytext would
write, the first save rewrites lines the learner never touched (a YAML re-wrap, the
kernelspec, a version stamp). So every lesson must survive a Jupytext round trip byte for
byte; ``tests/lab`` checks the same in a real JupyterLab.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import jupytext
import nbformat
import pytest

from cnncourse.teaching.marking import (
    SOLUTION_FIRST_LINE,
    hidden_in_lab,
    is_solution,
    is_solution_dropdown,
    marking_problems,
)

LESSONS = sorted((Path(__file__).resolve().parents[1] / "lessons").glob("*.md"))
# What JupyterLab writes for the kernel of `make lab` (name first, as its notebook model orders it).
LAB_KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def first_difference(expected: str, actual: str) -> str:
    """The first differing line of two texts, as 'line N: ...' with both versions."""
    for number, (a, b) in enumerate(zip(expected.splitlines(), actual.splitlines()), 1):
        if a != b:
            return f"line {number}: on disk {a!r}, Jupytext writes {b!r}"
    a, b = expected.splitlines(), actual.splitlines()
    if len(a) != len(b):
        return f"line {min(len(a), len(b)) + 1}: the files differ in length ({len(a)} and {len(b)} lines)"
    return "the line endings or the final newline differ"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_is_in_canonical_jupytext_form(path):
    text = path.read_text(encoding="utf-8")
    written = jupytext.writes(jupytext.reads(text, fmt="md:myst"), fmt="md:myst")
    if written != text:
        diff = list(difflib.unified_diff(text.splitlines(), written.splitlines(), lineterm="", n=0))
        pytest.fail(
            f"{path.name} is not in the form Jupytext writes ({first_difference(text, written)}); "
            f"{sum(line[:1] in '+-' for line in diff[2:])} changed lines. Fix: "
            f".venv/bin/jupytext --to md:myst {path.relative_to(path.parents[1])}"
        )


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_saving_in_lab_adds_nothing_to_the_header(path):
    nb = jupytext.read(path)
    assert dict(nb.metadata["kernelspec"]) == LAB_KERNELSPEC
    assert list(nb.metadata["kernelspec"]) == list(LAB_KERNELSPEC), "key order as Lab writes it"
    jt = nb.metadata["jupytext"]
    # no version stamp that differs from one learner's Jupytext to another's
    assert "jupytext_version" in jt["notebook_metadata_filter"]
    assert "jupytext_version" not in jt["text_representation"]
    # jupyterlab-myst stores evaluated {eval} results here; they must not reach the file
    assert "-user_expressions" in jt["cell_metadata_filter"].split(",")


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_solutions_are_marked(path):
    cells = jupytext.read(path).cells
    problems = marking_problems(cells)
    assert not problems, f"{path.name}: " + "; ".join(map(str, problems))
    assert any(map(is_solution, cells)), f"{path.name} has no marked solution"


def test_first_difference_names_the_line():
    assert first_difference("a\nb\nc\n", "a\nB\nc\n") == "line 2: on disk 'b', Jupytext writes 'B'"
    assert first_difference("a\n", "a\nb\n").startswith("line 2:")
    assert first_difference("a\n", "a") == "the line endings or the final newline differ"


def _md(source, tags=()):
    return nbformat.v4.new_markdown_cell(source, metadata={"tags": list(tags)} if tags else {})


def _code(source, tags=(), hidden=None):
    metadata = {"tags": list(tags)} if tags else {}
    if hidden is not None:
        metadata["jupyter"] = {"source_hidden": hidden}
    return nbformat.v4.new_code_cell(source, metadata=metadata)


DROPDOWN = "````{dropdown} Worked solution\nThe answer is 20.\n````"
CHECK = SOLUTION_FIRST_LINE + "\nassert check_field_size(20, stack)"


def test_a_well_marked_exercise_passes():
    cells = [_md("**1.** How wide?"), _code("answer = ...\ncheck(answer)"),
             _md(DROPDOWN, ["solution"]), _code(CHECK, ["hide-input", "solution"], True)]
    assert marking_problems(cells) == []
    assert is_solution_dropdown(cells[2]) and hidden_in_lab(cells[3])


@pytest.mark.parametrize(
    "cells, expected",
    [
        ([_md(DROPDOWN), _code(CHECK, ["hide-input", "solution"], True)], "without the 'solution' tag"),
        ([_md("Narrative.\n\n" + DROPDOWN, ["solution"]),
          _code(CHECK, ["hide-input", "solution"], True)], "must hold only the dropdown"),
        ([_md(DROPDOWN, ["solution"]), _code(CHECK, ["hide-input"], True)], "followed by the code cell"),
        ([_md(DROPDOWN, ["solution"])], "followed by the code cell"),
        ([_md(DROPDOWN, ["solution"]), _code(CHECK, ["solution"])], "must carry 'hide-input'"),
        ([_code("x = 1", ["hide-input"])], "hidden in the book but open"),
        ([_code("x = 1", ["remove-input"], False)], "hidden in the book but open"),
        ([_code("x = 1", [], True)], "open in the book but collapsed"),
        ([_md(DROPDOWN, ["solution"]),
          _code("assert check_field_size(20, stack)", ["hide-input", "solution"], True)],
         "JupyterLab shows the first line"),
        ([_md(DROPDOWN, ["solution"]),
          _code("# answer: 20\n" + CHECK, ["hide-input", "solution"], True)],
         "JupyterLab shows the first line"),
    ],
    ids=["untagged", "mixed-cell", "check-untagged", "no-check", "check-visible",
         "hide-input-open", "remove-input-open", "collapsed-only-in-lab", "answer-on-first-line",
         "another-comment-first"],
)
def test_each_break_of_the_rule_is_named(cells, expected):
    problems = marking_problems(cells)
    assert problems and any(expected in p.message for p in problems), problems


def test_a_dropdown_that_is_not_a_solution_is_left_alone():
    assert marking_problems([_md("```{dropdown} Why does this work?\nBecause.\n```")]) == []
