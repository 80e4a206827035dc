"""Let nbval test the course's MyST-Markdown lessons directly.

nbval collects only ``.ipynb`` files. The lessons are Jupytext text notebooks
(``lessons/*.md``), so this hook reads them with ``jupytext`` and hands them to nbval's own
collector. A text notebook stores no outputs, so with ``--nbval-lax`` every code cell is run
and must not raise; output comparison runs on the executed ``.ipynb`` copies of the book
build (see the Makefile).
"""

from __future__ import annotations

import types
from pathlib import Path

import jupytext
import nbformat

try:
    from nbval import plugin as nbval_plugin
except ImportError:  # nbval not installed: plain unit tests still run
    nbval_plugin = None


def _is_lesson(path: Path) -> bool:
    if path.suffix != ".md" or path.name.lower() == "readme.md":
        return False
    head = path.read_text(encoding="utf-8", errors="replace")[:2000]
    return head.startswith("---") and "jupytext:" in head and "kernelspec:" in head


if nbval_plugin is not None:

    class _JupytextAsNbformat(types.SimpleNamespace):
        """Stands in for the ``nbformat`` module inside nbval while it reads a notebook."""

        def __getattr__(self, name):
            return getattr(nbformat, name)

        @staticmethod
        def read(path, as_version=4):
            return jupytext.read(path, as_version=as_version)

    class MarkdownNotebook(nbval_plugin.IPyNbFile):
        """An nbval notebook collector for a Jupytext MyST-Markdown file."""

        def collect(self):
            real = nbval_plugin.nbformat
            nbval_plugin.nbformat = _JupytextAsNbformat()
            try:
                items = list(super().collect())
            finally:
                nbval_plugin.nbformat = real
            yield from items

    def pytest_collect_file(file_path: Path, parent):
        opt = parent.config.option
        if (opt.nbval or opt.nbval_lax) and _is_lesson(file_path):
            return MarkdownNotebook.from_parent(parent, path=file_path)
        return None

    # Strict output comparison (--nbval) runs on the executed notebooks of the book build. MyST-NB
    # moves the outputs of `glue(..., display=False)` (MIME types "application/papermill.record/*")
    # out of those notebooks into *.glue.json, so a re-run emits outputs the reference lacks and
    # every glue cell would fail with "Unexpected output fields". nbval cannot be told to skip a
    # MIME-type prefix, so its tuple of skipped keys is given one that also holds that prefix.
    _GLUE_PREFIX = "application/papermill.record/"

    class _SkipCompareWithGlue(tuple):
        def __contains__(self, key):
            return (isinstance(key, str) and key.startswith(_GLUE_PREFIX)) or tuple.__contains__(self, key)

    def pytest_itemcollected(item):
        notebook = getattr(item, "parent", None)
        if isinstance(notebook, nbval_plugin.IPyNbFile) and not isinstance(notebook.skip_compare,
                                                                          _SkipCompareWithGlue):
            notebook.skip_compare = _SkipCompareWithGlue(notebook.skip_compare)

    # nbval sends each cell with store_history=False. IPython decides whether a trailing ";"
    # hides a cell's result by looking the cell up in the input history, so under nbval
    # `show_figure(...);` still emits an execute_result ("<Figure size ...>") that the book build
    # (nbclient, store_history=True) does not: every such cell would differ. Run cells as Jupyter does.
    from nbval import kernel as _nbval_kernel

    def _execute_cell_input(self, cell_input, allow_stdin=None):
        return self.kc.execute(cell_input, store_history=True, allow_stdin=allow_stdin)

    _nbval_kernel.RunningKernel.execute_cell_input = _execute_cell_input
