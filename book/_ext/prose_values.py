"""Record what each ``{eval}`prose.name``` of a lesson showed when the book was built.

The lessons' numbers in prose are ``{eval}`` roles (MyST-NB evaluates them in the lesson's
kernel during the inline execution; jupyterlab-myst does the same in JupyterLab). The PDF is
made afterwards from the executed notebooks, with no kernel, so it needs the values: this
extension wraps MyST-NB's ``eval`` role, keeps the text each role rendered, and writes it to
``_build/jupyter_execute/<lesson>.prose.json`` beside the executed notebook, where
``scripts/pdf.py`` reads it. One run, one set of numbers, in the site and in the PDF.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from myst_nb.ext.eval import EvalRoleAny


class RecordingEvalRole(EvalRoleAny):
    """MyST-NB's ``eval`` role, which also records the text it rendered."""

    def run(self):
        result_nodes, messages = super().run()
        env = self.document.settings.env
        values = env.__dict__.setdefault("cnncourse_prose", {}).setdefault(env.docname, {})
        values[self.text] = "".join(node.astext() for node in result_nodes)
        return result_nodes, messages


def _purge(app, env, docname):
    env.__dict__.setdefault("cnncourse_prose", {}).pop(docname, None)


def _write(app, exception):
    if exception is not None:
        return
    folder = Path(app.outdir).parent / "jupyter_execute"
    for docname, values in getattr(app.env, "cnncourse_prose", {}).items():
        path = folder / f"{docname}.prose.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(values, handle, indent=1, sort_keys=True)
        os.replace(tmp, path)


def setup(app):
    app.setup_extension("myst_nb")
    app.add_role("eval", RecordingEvalRole(), override=True)
    app.connect("env-purge-doc", _purge)
    app.connect("build-finished", _write)
    return {"parallel_read_safe": False, "parallel_write_safe": True}
