"""The student edition keeps every exercise and loses every solution (make student).

Execution of the written notebooks is in tests/student (make test-student): it runs every lesson.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat
import pytest

from cnncourse.teaching.marking import is_solution
from cnncourse.teaching.student import LICENCE_NOTE, student_notebook, write_student_edition

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "lessons").glob("*.md"))
PLACEHOLDER = re.compile(r"^\w+ = (\.\.\.|None)(\s+#.*)?$", re.MULTILINE)


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    return {e.source.name: e for e in write_student_edition(out)}


def _text(cells) -> str:
    return "\n".join(cell.source for cell in cells)


def test_one_notebook_per_lesson(edition):
    assert sorted(edition) == [p.name for p in LESSONS]
    for e in edition.values():
        assert e.path.name == e.source.stem + ".ipynb" and e.path.parent.name == "lessons"
        nbformat.validate(nbformat.read(e.path, as_version=4))


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_no_solution_is_left(edition, lesson):
    original = jupytext.read(lesson).cells
    student = nbformat.read(edition[lesson.name].path, as_version=4).cells
    removed = [c for c in original if is_solution(c)]
    kept_text = _text([c for c in original if not is_solution(c)])
    assert removed and edition[lesson.name].removed == len(removed)
    assert not any(is_solution(c) for c in student)
    student_text = _text(student)
    # Every line a solution cell has and no other cell has: the worked text, each checked answer.
    leaks = [line.strip() for c in removed for line in c.source.splitlines()
             if len(line.strip()) >= 12 and line.strip() not in kept_text and line.strip() in student_text]
    assert not leaks, f"{lesson.name}: solution text left in the student edition: {leaks[:3]}"
    assert "{dropdown} Worked solution" not in student_text and "{dropdown} Solution" not in student_text


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_exercise_is_kept(edition, lesson):
    original = _text(jupytext.read(lesson).cells)
    notebook = nbformat.read(edition[lesson.name].path, as_version=4)
    placeholders = [m.group(0) for m in PLACEHOLDER.finditer(original)]
    assert placeholders, f"{lesson.name} has no exercise placeholder"
    student_text = _text(notebook.cells)
    assert all(p in student_text for p in placeholders)
    boxes = original.count("answer_box(")
    assert student_text.count("answer_box(") == boxes
    assert notebook.cells[0].source == LICENCE_NOTE and "CC BY 4.0" in LICENCE_NOTE and "MIT" in LICENCE_NOTE


def test_a_lesson_with_an_unmarked_solution_gets_no_edition():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("answer = ...\ncheck(answer)"),
        nbformat.v4.new_markdown_cell("````{dropdown} Worked solution\n42\n````"),
        nbformat.v4.new_code_cell("assert check(42)", metadata={"tags": ["hide-input"],
                                                                "jupyter": {"source_hidden": True}}),
    ])
    with pytest.raises(ValueError, match="demo: the solutions are not marked.*without the 'solution' tag"):
        student_notebook(nb, "demo")


@pytest.mark.parametrize("bad", [[], [Path("README.md")], [Path("lessons/99-missing.md")]],
                         ids=["empty", "not-a-lesson", "missing"])
def test_bad_lesson_lists_are_named(tmp_path, bad):
    with pytest.raises(ValueError, match="lessons"):
        write_student_edition(tmp_path, bad)


def test_links_work_in_the_edition(edition):
    """A link to another lesson points to its notebook in the edition; a link to a book page
    (not in the edition) keeps its text and loses its target."""
    for e in edition.values():
        notebook = nbformat.read(e.path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type != "markdown":
                continue
            assert not re.search(r"\]\(\d\d-[\w-]+\.md", cell.source), (e.path.name, cell.source[:200])
            assert "](../book/" not in cell.source, (e.path.name, cell.source[:200])
            for target in re.findall(r"\]\((\d\d-[\w-]+\.ipynb)", cell.source):
                assert (e.path.parent / target).is_file(), (e.path.name, target)


def test_edition_links():
    from cnncourse.teaching.student import edition_links

    assert edition_links("see [Pooling](07-pooling.md) and [its end](07-pooling.md#summary)") == (
        "see [Pooling](07-pooling.ipynb) and [its end](07-pooling.ipynb#summary)")
    assert edition_links("([Luo et al., 2016](../book/references.md))") == "(Luo et al., 2016)"
    assert edition_links("[a site](https://example.org/x.md)") == "[a site](https://example.org/x.md)"


def test_a_partial_edition_unlinks_the_lessons_it_leaves_out(tmp_path):
    from cnncourse.teaching.student import edition_links

    assert edition_links("[Pooling](07-pooling.md) and [Sobel](06-sobel-filters.md)", {"07-pooling"}) == (
        "[Pooling](07-pooling.ipynb) and Sobel")
    written = write_student_edition(tmp_path, [ROOT / "lessons" / "07-pooling.md"])
    notebook = nbformat.read(written[0].path, as_version=4)
    text = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert ".ipynb)" not in text and ".md)" not in text


def test_arguments_are_checked_naming_them():
    """Issue 37: a notebook, a name and the edition's lesson names, each named when wrong."""
    from cnncourse.teaching.student import edition_links

    lesson = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("[Pooling](07-pooling.md)")])
    assert student_notebook(lesson, "07-pooling", edition=("07-pooling",)).metadata["cnncourse"]["lesson"] == (
        "07-pooling")
    with pytest.raises(TypeError, match=r"^lesson must be a notebook read with jupytext.read"):
        student_notebook({"cells": []})
    with pytest.raises(TypeError, match=r"^name must be a string, got int \(3\)"):
        student_notebook(lesson, 3)
    with pytest.raises(TypeError, match=r"^edition must be a sequence"):
        student_notebook(lesson, edition="07-pooling")
    with pytest.raises(TypeError, match=r"^markdown must be a string"):
        edition_links(3)
    with pytest.raises(TypeError, match=r"^lessons\[0\] must be a string"):
        edition_links("", lessons=[7])
    assert edition_links("") == ""
