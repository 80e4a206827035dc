"""An offline-complete site: the vendored JavaScript, and nothing a page loads from elsewhere.

* Before the build, ``scripts/vendor_js.py`` fills ``book/_vendor/`` (pinned, hash-checked
  copies of the widget manager, RequireJS, the anywidget front end and MathJax 3) unless it is
  already complete; ``_config.yml`` points ``mathjax_path`` and MyST-NB's ``nb_ipywidgets_js``
  at them. MyST-NB adds the widget scripts only to pages that carry widget state, and Sphinx
  adds MathJax only to pages with math, so other pages load neither.
* sphinx-thebe (pulled in by Jupyter Book v1) writes its configuration script, which names a
  CDN URL, into every page, twice under Sphinx 7.4 ("Identifier 'THEBE_JS_URL' has already
  been declared"). Thebe (live code on the page) is not used by this book, so its scripts are
  taken off every page.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sphinx.errors import ExtensionError

REPO = Path(__file__).resolve().parents[2]


def _vendor(app, config) -> None:
    """Before Sphinx checks html_static_path: the folder must exist by then."""
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "vendor_js.py")],
                            capture_output=True, text=True)
    if result.returncode:
        raise ExtensionError(f"vendoring the site's JavaScript failed: {(result.stderr or result.stdout).strip()}")


def _no_thebe(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    kept = []
    for js in scripts:
        body = str(getattr(js, "attributes", {}).get("body", ""))
        if "THEBE_JS_URL" in body or str(getattr(js, "filename", js) or "").endswith("sphinx-thebe.js"):
            continue
        kept.append(js)
    scripts[:] = kept


def setup(app):
    app.connect("config-inited", _vendor)
    app.connect("html-page-context", _no_thebe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
