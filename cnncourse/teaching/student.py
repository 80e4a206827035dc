"""The student edition: every lesson as a notebook without its solutions.

``python -m cnncourse.teaching.student [--out DIR] [LESSON.md ...]`` (``make student``) writes
``_build/student/lessons/NN-name.ipynb``, one per lesson. Each keeps the narrative, the figures'
code, the explorers, every exercise placeholder (``answer = ...``) with its checker call and
the answer boxes, so a student's notebook still answers "no answer yet", "correct" or a hint.
It removes every cell tagged ``solution`` (:mod:`cnncourse.teaching.marking`): the worked
solutions and the cells that reveal or check the answer. A first cell states the licences.

Why not nbgrader or otter-grader: both strip solutions from ``.ipynb`` by markers inside cells
(``### BEGIN SOLUTION``, ``# SOLUTION``), and with Jupytext pairing on, answers came back into
the student copies (jupytext#157). The lessons already mark solutions as whole cells, once, with
a tag that the book and JupyterLab also read, so stripping is removing tagged cells from the
notebook Jupytext reads, which is what this module does.

Links follow the edition: a link to another lesson (``[Pooling](07-pooling.md)``) points to that
lesson's notebook in the edition (``07-pooling.ipynb``), and a link to a page of the book
(``../book/references.md``), which the edition does not contain, keeps its text and loses its
target.
"""

from __future__ import annotations

import argparse
import copy
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat

from cnncourse._checks import check_sequence, check_text, describe
from cnncourse.runtime import atomic_write
from cnncourse.teaching.marking import is_solution, marking_problems

__all__ = ["LICENCE_NOTE", "StudentEdition", "edition_links", "student_notebook", "write_student_edition"]

ROOT = Path(__file__).resolve().parents[2]
LICENCE_NOTE = (
    "**Student edition** of a lesson of *CNNs, Concept by Concept* (cnncourse), without its "
    "worked solutions. The text and figures are licensed under "
    "[CC BY 4.0](https://creativecommons.org/licenses/by/4.0/); the code under the MIT licence "
    "(`LICENSE` and `LICENSE-CONTENT` in the course's repository)."
)


_BOOK_LINK = re.compile(r"\[([^\]]+)\]\(\.\./book/[^)]*\)")


_LESSON_LINK_TEXT = re.compile(r"\[([^\]]+)\]\((\d\d-[\w-]+)\.md(#[^)]*)?\)")


def edition_links(markdown: str, lessons: Collection[str] | None = None) -> str:
    """``markdown`` with its links made to work in the student edition (see the module docstring).

    ``lessons`` names the lessons the edition holds (file stems); a link to a lesson outside it
    keeps its text and loses its target. ``None``: every lesson is in the edition.

    Raises
    ------
    TypeError
        When ``markdown`` is not a string, or ``lessons`` not a collection of strings.
    """
    check_text(markdown, "markdown", nonempty=False)
    lessons = _check_lessons(lessons, "lessons")

    def lesson(m: re.Match) -> str:
        if lessons is not None and m.group(2) not in lessons:
            return m.group(1)
        return f"[{m.group(1)}]({m.group(2)}.ipynb{m.group(3) or ''})"

    markdown = _LESSON_LINK_TEXT.sub(lesson, markdown)
    return _BOOK_LINK.sub(lambda m: m.group(1), markdown)


def _check_lessons(value: object, name: str) -> set[str] | None:
    """``None``, or the lesson names (file stems) an edition holds, as a set."""
    if value is None:
        return None
    return set(check_sequence(value, name, item=check_text, minimum=0))


@dataclass(frozen=True)
class StudentEdition:
    """One written student notebook: where from, where to, and how many cells were removed."""

    source: Path
    path: Path
    removed: int
    kept: int


def student_notebook(lesson: nbformat.NotebookNode, name: str = "lesson",
                     edition: Collection[str] | None = None) -> nbformat.NotebookNode:
    """The student edition of a lesson read with ``jupytext.read``: solutions removed.

    ``edition`` names the lessons the edition holds, for its links (:func:`edition_links`).

    Raises
    ------
    TypeError
        When ``lesson`` is not a notebook (an ``nbformat`` node with cells), ``name`` not a
        string, or ``edition`` not a collection of strings.
    ValueError
        If the lesson breaks the solution-marking rule (a worked solution without its tag,
        say): the edition would leak it, so none is made. The message names the cells. Also
        for an empty ``name``.
    """
    if not isinstance(lesson, nbformat.NotebookNode) or not isinstance(lesson.get("cells"), list):
        raise TypeError(f"lesson must be a notebook read with jupytext.read (an nbformat "
                        f"NotebookNode with its cells), got {describe(lesson)}")
    name = check_text(name, "name")
    edition = _check_lessons(edition, "edition")
    problems = marking_problems(lesson.cells)
    if problems:
        raise ValueError(f"{name}: the solutions are not marked as the rule says, so no student "
                         "edition is made: " + "; ".join(map(str, problems)))
    notebook = copy.deepcopy(lesson)
    notebook.cells = [cell for cell in notebook.cells if not is_solution(cell)]
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = edition_links(cell.source, edition)
    notebook.cells.insert(0, nbformat.v4.new_markdown_cell(LICENCE_NOTE, metadata={"tags": ["licence"]}))
    notebook.metadata.pop("jupytext", None)
    notebook.metadata["cnncourse"] = {"edition": "student", "lesson": name}
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index:03d}"  # stable ids: the same lesson gives the same file
    notebook.nbformat, notebook.nbformat_minor = 4, 5
    nbformat.validate(notebook)
    return notebook


def write_student_edition(out: Path, lessons: list[Path] | None = None) -> list[StudentEdition]:
    """Write ``out/lessons/<lesson>.ipynb`` for each lesson (default: all of ``lessons/``).

    Files are written atomically; an existing edition is replaced. Returns what was written.
    """
    lessons = sorted((ROOT / "lessons").glob("*.md")) if lessons is None else [Path(p) for p in lessons]
    if not lessons:
        raise ValueError("lessons is empty: no lesson to make a student edition of")
    written = []
    names = {Path(p).stem for p in lessons}
    for source in lessons:
        if source.suffix != ".md" or not source.is_file():
            raise ValueError(f"lessons must be the lessons' .md files, got {str(source)!r}")
        lesson = jupytext.read(source)
        if "kernelspec" not in lesson.metadata or not any(c.cell_type == "code" for c in lesson.cells):
            raise ValueError(f"lessons must be lesson notebooks (a kernelspec and code cells), "
                             f"got {str(source)!r}")
        notebook = student_notebook(lesson, source.stem, names)
        path = Path(out) / "lessons" / f"{source.stem}.ipynb"
        atomic_write(path, nbformat.writes(notebook))
        written.append(StudentEdition(source, path, len(lesson.cells) + 1 - len(notebook.cells),
                                      len(notebook.cells)))
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnncourse.teaching.student",
                                     description="Write the student edition of the lessons.")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "student")
    parser.add_argument("lessons", nargs="*", type=Path)
    args = parser.parse_args(argv)
    for edition in write_student_edition(args.out, args.lessons or None):
        print(f"{edition.path}: {edition.kept} cells, {edition.removed} solution cells removed")


if __name__ == "__main__":
    main()
