"""The lesson map of the instructor's page: which lessons each lesson builds on, read from the
lessons themselves.

A lesson refers to another by a Markdown link to its file (``[Pooling](07-pooling.md)``), never
by number (``tests/test_cross_references.py``). The directive ``{lesson-map}`` reads every lesson
in ``_toc.yml`` order, collects the earlier lessons each one links to, and renders a table:
lesson, the lessons it builds on, and its exercises (as the grader finds them). The table is derived, so
it cannot drift from the text: drop a lesson from ``_toc.yml`` and the map shows what relied
on it (and the build, run with ``-n``, names every link left dangling).
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx import addnodes

from cnncourse.teaching.grade import lesson_exercises

LINK = re.compile(r"\]\((\d\d-[\w-]+)\.md(?:#[^)]*)?\)")


def lesson_map(lessons: list[Path]) -> list[tuple[Path, str, list[str], int]]:
    """``(path, title, earlier lessons it links to, exercises)`` for each lesson, in order."""
    rows, seen, titles = [], [], {}
    for path in lessons:
        notebook = jupytext.read(path)
        title = next((line[2:].strip() for c in notebook.cells if c.cell_type == "markdown"
                      for line in c.source.splitlines() if line.startswith("# ")), path.stem)
        titles[path.stem] = title
        text = "\n".join(c.source for c in notebook.cells)
        linked = []
        for stem in LINK.findall(text):
            if stem in seen and stem not in linked:
                linked.append(stem)
        exercises = len(lesson_exercises(path))  # what the grader grades
        rows.append((path, title, sorted(linked), exercises))
        seen.append(path.stem)
    return [(p, t, [titles[s] + "|" + s for s in linked], n) for p, t, linked, n in rows]


def _toc_lessons(srcdir: Path) -> list[Path]:
    """The lessons of ``_toc.yml``, in order: the ``.md`` sources, or the executed ``.ipynb``
    where a build works from those (the PDF's copy of the book, ``scripts/pdf.py``)."""
    toc = (srcdir / "_toc.yml").read_text()
    paths = []
    for name in re.findall(r"file:\s*(lessons/[\w-]+)", toc):
        source = srcdir / (name + ".md")
        paths.append(source if source.exists() else srcdir / (name + ".ipynb"))
    return paths


class LessonMap(Directive):
    has_content = False

    def run(self):
        env = self.state.document.settings.env
        srcdir = Path(env.srcdir)
        lessons = _toc_lessons(srcdir)
        for path in lessons:
            env.note_dependency(str(path))
        table = nodes.table(classes=["lesson-map"])
        group = nodes.tgroup(cols=3)
        table += group
        for width in (3, 4, 1):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        group += head
        head += self._row([nodes.Text("lesson"), nodes.Text("builds on"), nodes.Text("exercises")])
        body = nodes.tbody()
        group += body
        here = Path(env.doc2path(env.docname)).parent
        for path, title, linked, exercises in lesson_map(lessons):
            body += self._row([self._link(here, path, title),
                               self._links(here, srcdir, linked) or nodes.Text("nothing before it"),
                               nodes.Text(str(exercises))])
        return [table]

    @staticmethod
    def _link(here: Path, path: Path, title: str) -> nodes.Node:
        """A reference Sphinx resolves for every builder (HTML, LaTeX), like {doc}."""
        target = "/" + str(path.with_suffix("").relative_to(here.parent))  # .md or .ipynb alike
        ref = addnodes.pending_xref("", refdomain="std", reftype="doc", reftarget=target,
                                    refexplicit=True, refwarn=True)
        ref += nodes.inline("", title)
        return ref

    def _links(self, here: Path, srcdir: Path, linked: list[str]):
        if not linked:
            return None
        para = nodes.inline()
        for i, item in enumerate(linked):
            title, stem = item.split("|")
            if i:
                para += nodes.Text(", ")
            para += self._link(here, srcdir / "lessons" / stem, title)
        return para

    @staticmethod
    def _row(cells) -> nodes.row:
        row = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += nodes.paragraph("", "", cell)
            row += entry
        return row


def setup(app):
    app.add_directive("lesson-map", LessonMap)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
