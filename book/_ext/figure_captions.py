"""Figure captions written once, as a Markdown cell that JupyterLab shows and the book moves.

A lesson's figure is a code cell whose metadata names the figure and its alt text
(``mystnb: {figure: {name: ...}, image: {alt: ...}}``), followed by a Markdown cell tagged
``figure-caption`` that starts with ``*Figure.*``. JupyterLab renders that cell under the
figure, as a caption (JupyterLab has no rendering for MyST-NB's caption metadata). When the
book reads a lesson, this extension moves the cell's text into the figure's
``mystnb.figure.caption`` and drops the cell, so the site and the PDF get a real, numbered
``<figcaption>``. One caption, in one place, for both seats.
"""

from __future__ import annotations

import re

import jupytext

CAPTION_TAG = "figure-caption"
PREFIX = re.compile(r"^\*Figure\.\*\s+")


def move_captions(text: str, docname: str = "lesson") -> str:
    """The lesson's MyST text with every ``figure-caption`` cell moved into its figure.

    Raises
    ------
    ValueError
        If a caption cell does not follow a figure cell, or does not start with ``*Figure.*``.
    """
    notebook = jupytext.reads(text, fmt="md:myst")
    cells, moved = [], 0
    for cell in notebook.cells:
        if CAPTION_TAG in cell.metadata.get("tags", []):
            figure = cells[-1].metadata.get("mystnb", {}).get("figure") if cells else None
            if figure is None or cells[-1].cell_type != "code":
                raise ValueError(f"{docname}: a '{CAPTION_TAG}' cell must follow a figure's code cell")
            if not PREFIX.match(cell.source):
                raise ValueError(f"{docname}: a '{CAPTION_TAG}' cell must start with '*Figure.*'")
            figure["caption"] = " ".join(PREFIX.sub("", cell.source).split())
            moved += 1
            continue
        cells.append(cell)
    if not moved:
        return text
    notebook.cells = cells
    return jupytext.writes(notebook, fmt="md:myst")


def _source_read(app, docname, source):
    if docname.startswith("lessons/") and str(app.env.doc2path(docname)).endswith(".md"):
        source[0] = move_captions(source[0], docname)


def setup(app):
    app.connect("source-read", _source_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
