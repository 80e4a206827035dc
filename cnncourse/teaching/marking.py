"""Which cells of a lesson are solutions, and how each seat must show them: the one rule.

A lesson marks its solutions once, with the cell tag ``solution``:

* the worked solution, a Markdown cell that holds only a ``{dropdown}`` whose title names a
  solution (``Worked solution``, ``Solutions``);
* every code cell that reveals or checks the answer, right after it (``assert check_x(20)``).

From that tag each seat follows:

* the book hides a solution code cell's input (tag ``hide-input``) and shows the dropdown
  closed (MyST-NB);
* JupyterLab collapses every cell whose input the book hides or removes (cell metadata
  ``jupyter: {source_hidden: true}``, which JupyterLab honours) and renders the dropdown
  closed (jupyterlab-myst);
* the student edition (:mod:`cnncourse.teaching.student`) removes every ``solution`` cell.

JupyterLab shows the first line of a collapsed cell's source (since JupyterLab 4.0, pull
request 14141), so a solution code cell begins with a comment line that gives nothing away:
:data:`SOLUTION_FIRST_LINE`.

:func:`marking_problems` lists every place where a lesson breaks the rule; the tests run it on
every lesson, so a new exercise cannot ship its answer open.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "BOOK_HIDDEN_TAGS",
    "SOLUTION_FIRST_LINE",
    "SOLUTION_TAG",
    "Problem",
    "hidden_in_book",
    "hidden_in_lab",
    "is_solution",
    "is_solution_dropdown",
    "marking_problems",
]

SOLUTION_TAG = "solution"
#: The first line of every ``solution`` code cell: all that JupyterLab shows of it collapsed.
SOLUTION_FIRST_LINE = "# The worked solution, checked: open this cell after your own attempt."
BOOK_HIDDEN_TAGS = frozenset({"hide-input", "remove-input"})
_DROPDOWN = re.compile(r"^(`{3,}|:{3,})\{dropdown\}[ \t]*(?P<title>.*)$", re.MULTILINE)


def _check_cell(cell: object, name: str = "cell") -> None:
    # check_mapping's rule, written here: cnncourse._checks imports torch, and the marking
    # tools (the lab's server extension) must start without it
    if not isinstance(cell, Mapping):
        raise TypeError(f"{name} must be a notebook cell (a dict such as nbformat's), got "
                        f"{type(cell).__name__} ({cell!r:.40})")


def _check_cells(cells: object) -> list:
    # check_sequence's rule, written here for the same reason
    if cells is None or isinstance(cells, (str, bytes, Mapping)) or not isinstance(cells, Iterable):
        raise TypeError(f"cells must be a sequence of notebook cells (notebook.cells), got "
                        f"{type(cells).__name__} ({cells!r:.40})")
    cells = list(cells)
    for index, cell in enumerate(cells):
        _check_cell(cell, f"cells[{index}]")
    return cells


def _first_line(cell) -> str:
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else str(source)  # JSON keeps lines
    return source.split("\n", 1)[0]


def _tags(cell) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def is_solution(cell) -> bool:
    """Whether a notebook cell (a dict or ``nbformat`` node) carries the ``solution`` tag."""
    _check_cell(cell)
    return SOLUTION_TAG in _tags(cell)


def is_solution_dropdown(cell) -> bool:
    """Whether a Markdown cell holds a ``{dropdown}`` whose title names a solution."""
    _check_cell(cell)
    if cell.get("cell_type") != "markdown":
        return False
    return any("solution" in m.group("title").lower() for m in _DROPDOWN.finditer(cell["source"]))


def hidden_in_book(cell) -> bool:
    """Whether the book hides or removes this code cell's input (MyST-NB tags)."""
    _check_cell(cell)
    return cell.get("cell_type") == "code" and bool(BOOK_HIDDEN_TAGS & _tags(cell))


def hidden_in_lab(cell) -> bool:
    """Whether JupyterLab shows this cell's input collapsed (``jupyter.source_hidden``)."""
    _check_cell(cell)
    return bool(cell.get("metadata", {}).get("jupyter", {}).get("source_hidden", False))


@dataclass(frozen=True)
class Problem:
    """One break of the marking rule: the cell's index in the notebook and what is wrong."""

    cell: int
    message: str

    def __str__(self) -> str:
        return f"cell {self.cell}: {self.message}"


def marking_problems(cells: Iterable) -> list[Problem]:
    """Every break of the marking rule in a notebook's cells, in order (empty when it holds).

    Parameters
    ----------
    cells : iterable of notebook cells
        ``notebook.cells`` of a lesson read with ``jupytext.read`` (or dicts with
        ``cell_type``, ``source`` and ``metadata``).

    Returns
    -------
    list of Problem
        A worked-solution dropdown without the tag, a tagged Markdown cell that holds more
        than its dropdown (the student edition would remove the narrative with it), a tagged
        code cell the book does not hide or whose first line is not
        :data:`SOLUTION_FIRST_LINE`, a solution dropdown not followed by a tagged check cell,
        and any cell whose visibility differs between the book and JupyterLab.

    Raises
    ------
    TypeError
        When ``cells`` is not a sequence of cells (dicts), naming the first one that is not.
    """
    cells = _check_cells(cells)
    problems = []
    for index, cell in enumerate(cells):
        kind = cell.get("cell_type")
        if kind == "markdown":
            if is_solution_dropdown(cell) and not is_solution(cell):
                problems.append(Problem(index, "a worked solution without the 'solution' tag"))
            if is_solution(cell):
                text = cell["source"].strip()
                if not is_solution_dropdown(cell) or not (
                    _DROPDOWN.match(text) and text.endswith(("```", ":::"))
                ):
                    problems.append(Problem(
                        index, "a 'solution' Markdown cell must hold only the dropdown: split "
                        "the narrative into its own cell (a line '+++' in the MyST source)"))
                following = cells[index + 1] if index + 1 < len(cells) else None
                if following is None or following.get("cell_type") != "code" or not is_solution(
                    following
                ):
                    problems.append(Problem(
                        index, "a worked solution must be followed by the code cell that checks "
                        "it, tagged 'solution'"))
            if hidden_in_lab(cell):
                problems.append(Problem(index, "a Markdown cell collapsed in JupyterLab"))
        elif kind == "code":
            if is_solution(cell) and "hide-input" not in _tags(cell):
                problems.append(Problem(
                    index, "a 'solution' code cell must carry 'hide-input' (the book hides it)"))
            if is_solution(cell) and _first_line(cell) != SOLUTION_FIRST_LINE:
                problems.append(Problem(
                    index, "a 'solution' code cell must begin with the line "
                    f"{SOLUTION_FIRST_LINE!r}: JupyterLab shows the first line of a collapsed "
                    "cell, and a line of code there shows the answer"))
            if hidden_in_book(cell) != hidden_in_lab(cell):
                where = "hidden in the book but open" if hidden_in_book(cell) else (
                    "open in the book but collapsed")
                problems.append(Problem(
                    index, f"{where} in JupyterLab: set 'jupyter: source_hidden: true' exactly "
                    "on cells tagged hide-input or remove-input"))
    return problems
