"""Give each lesson, for JupyterLab, the glossary entries of the terms it links.

In the book, ``{term}`receptive field``` links to ``book/glossary.md``. jupyterlab-myst resolves
a term only against a ``{glossary}`` in the same notebook, so each lesson ends with a Markdown
cell tagged ``remove-cell`` (the book and the PDF skip it) and ``lab-glossary`` that holds the
entries of the terms the lesson uses, in the definition-list form jupyterlab-myst reads. In Lab
a term then shows its definition on hover and links to it.

``book/glossary.md`` stays the only place a definition is written: this script derives the
cells from it. ``--check`` (what ``tests/test_lab_glossary.py`` runs) fails when a lesson's cell
differs from what ``book/glossary.md`` gives; ``--write`` rewrites the cells (run it after
changing the glossary or a lesson's terms).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "book" / "glossary.md"
TAG = "lab-glossary"
TERM_ROLE = re.compile(r"\{term\}`([^`]+)`")
HEADING = "## Terms used in this lesson"


def glossary_entries(text: str) -> dict[str, tuple[str, str]]:
    """``{lower-cased term: (term as the glossary writes it, definition)}`` from a Sphinx
    ``{glossary}`` block; every alias line of an entry maps to the same definition."""
    block = re.search(r"```\{glossary\}\n(.*?)\n```", text, re.S)
    if block is None:
        raise ValueError(f"{GLOSSARY.name} has no {{glossary}} block")
    entries, names, definition = {}, [], []

    def flush():
        if names:
            body = " ".join(" ".join(definition).split())
            for name in names:
                entries[name.lower()] = (name, body)

    for line in block.group(1).splitlines():
        if line.startswith(":") or not line.strip():
            continue  # the block's options, and blank lines inside or between entries
        if line.startswith((" ", "\t")):
            definition.append(line.strip())
        else:
            if definition:
                flush()
                names, definition = [], []
            names.append(line.strip())
    flush()
    return entries


def lesson_terms(cells) -> list[str]:
    """The glossary targets a lesson links, in order of first use (``text <target>`` -> target)."""
    seen = []
    for cell in cells:
        if cell.cell_type != "markdown" or TAG in cell.metadata.get("tags", []):
            continue
        for role in TERM_ROLE.findall(cell.source):
            target = role.split("<")[-1].rstrip(">").strip() if "<" in role else role.strip()
            if target.lower() not in [s.lower() for s in seen]:
                seen.append(target)
    return seen


def glossary_cell_source(terms: list[str], entries: dict[str, tuple[str, str]], lesson: str) -> str:
    missing = [t for t in terms if t.lower() not in entries]
    if missing:
        raise ValueError(f"{lesson}: terms {missing} are not in {GLOSSARY.relative_to(ROOT)}")
    lines = [HEADING, "", ":::{glossary}"]
    for term in sorted(terms, key=str.lower):
        name, definition = entries[term.lower()]
        # the entry is named as the lesson links it, so jupyterlab-myst finds it
        lines += [name if name.lower() == term.lower() else term, f": {definition}", ""]
    return "\n".join(lines[:-1] + [":::"])


def expected_cells(path: Path, entries) -> tuple[nbformat.NotebookNode, list]:
    notebook = jupytext.read(path)
    cells = [c for c in notebook.cells if TAG not in c.metadata.get("tags", [])]
    terms = lesson_terms(cells)
    if terms:
        cells.append(nbformat.v4.new_markdown_cell(
            glossary_cell_source(terms, entries, path.name), metadata={"tags": ["remove-cell", TAG]}))
    return notebook, cells


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite the lessons' glossary cells")
    parser.add_argument("lessons", nargs="*", type=Path)
    args = parser.parse_args(argv)
    entries = glossary_entries(GLOSSARY.read_text(encoding="utf-8"))
    stale = []
    for path in args.lessons or sorted((ROOT / "lessons").glob("*.md")):
        notebook, cells = expected_cells(path, entries)
        if [c.source for c in cells] != [c.source for c in notebook.cells]:
            if args.write:
                notebook.cells = cells
                jupytext.write(notebook, path, fmt="md:myst")
                print(f"{path.name}: glossary cell rewritten")
            else:
                stale.append(path.name)
    if stale:
        print("stale JupyterLab glossary in " + ", ".join(stale)
              + ": run .venv/bin/python scripts/lab_glossary.py --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
