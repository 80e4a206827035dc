"""Offer the executed notebook (.ipynb) of each lesson in the theme's download menu.

sphinx-book-theme 1.3 lists ".ipynb" next to the page source (".md") only when a launch button
(Binder, JupyterHub, Colab, ...) is configured, because it is the launch-button code that copies
the executed notebook into _sources/. This book builds offline and has no launch service by
default, so this extension does that copy itself for every notebook page written in Markdown,
before the theme assembles its header buttons. With launch buttons configured the theme does the
same copy again, harmlessly.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def _offer_ipynb(app, pagename, templatename, context, doctree):
    if context.get("ipynb_source") or "kernelspec" not in app.env.metadata.get(pagename, {}):
        return
    if not context.get("sourcename", "").endswith((".md", ".md.txt")):
        return
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not executed.is_file():
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(executed, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def setup(app):
    # The theme's launch and header buttons run at priority 501 on the same event.
    app.connect("html-page-context", _offer_ipynb, priority=500)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
