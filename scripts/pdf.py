"""Build the PDF of the book from the notebooks that the last `make book` executed.

Usage: python scripts/pdf.py            (run by `make pdf`; the Makefile builds the book first)

The HTML build already ran every lesson; running them again for the PDF would double the build
time and could print different timings than the site. So this script makes a copy of the book
in _build/pdf-src/ whose lessons are the executed notebooks of _build/jupyter_execute/, with
execution switched off, and runs Jupyter Book's LaTeX builder (xelatex) on that copy:

- every lesson listed in _toc.yml must have an executed notebook, else the script stops and
  says to run `make book`;
- interactive widgets cannot be printed: their outputs (a widget view, whose plain-text form is
  a Python repr such as "VBox(children=...)") are dropped from the copy; each explorer also
  draws a static figure, which stays;
- the PDF is written atomically to _build/latex/cnncourse.pdf (with the LaTeX log next to it,
  which tests/test_pdf.py reads) and copied into the site, _build/html/cnncourse.pdf, where the
  download menu of every page links it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"
EXECUTED = BUILD / "jupyter_execute"
SRC = BUILD / "pdf-src"
OUT = BUILD / "latex"
NAME = "cnncourse"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# Pages about the site itself, left out of the PDF: the build report tabulates the run that
# built the HTML pages (with emoji status marks no print font has).
SCREEN_ONLY = ("book/build-report",)
HTML_ONLY_EXTENSIONS = (
    "offline_site", "pdf_download", "search_ranking", "ipynb_download", "prose_values",
    "figure_captions", "a11y_fixes")
EVAL_ROLE = re.compile(r"\{eval\}`([^`]+)`")


def toc_files(toc: dict) -> list[str]:
    """Every file named in a Jupyter Book v1 table of contents, root first, in order."""
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return files


def printed_toc(toc: dict) -> dict:
    """The table of contents without the pages in SCREEN_ONLY."""
    toc = json.loads(json.dumps(toc))

    def keep(entries):
        kept = [e for e in entries or [] if e.get("file") not in SCREEN_ONLY]
        for entry in kept:
            if "sections" in entry:
                entry["sections"] = keep(entry["sections"])
        return kept

    for part in toc.get("parts", []):
        part["chapters"] = keep(part.get("chapters"))
    toc["parts"] = [p for p in toc.get("parts", []) if p["chapters"]] if "parts" in toc else None
    if toc["parts"] is None:
        del toc["parts"]
    if "chapters" in toc:
        toc["chapters"] = keep(toc["chapters"])
    return toc


def with_prose_values(notebook: dict, values: dict, name: str = "notebook") -> dict:
    """Replace each ``{eval}`expr``` of the Markdown cells by the text the HTML build showed.

    ``values`` is the ``<lesson>.prose.json`` that ``book/_ext/prose_values.py`` wrote in the
    same build. A role without a recorded value is an error naming it (the PDF would print a
    blank where the site shows a number).
    """
    missing = []

    def value(match):
        if match.group(1) not in values:
            missing.append(match.group(1))
            return match.group(0)
        return values[match.group(1)]

    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "markdown":
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cell["source"] = EVAL_ROLE.sub(value, source)
    if missing:
        raise ValueError(f"{name}: no value recorded for {sorted(set(missing))}: run `make book`")
    return notebook


def printable(notebook: dict, glue: dict | None = None) -> dict:
    """The notebook ready to print, without execution.

    Widget outputs and the widget state are dropped (nothing to print). MyST-NB keeps the
    values a lesson glued with ``display=False`` in a ``.glue.json`` file beside the executed
    notebook, not in the notebook; they go back into the first code cell as the hidden glue
    outputs MyST-NB reads, so ``{glue:text}`` in the prose resolves.
    """
    code_cells = [c for c in notebook.get("cells", []) if c.get("cell_type") == "code"]
    for cell in code_cells:
        cell["outputs"] = [out for out in cell.get("outputs", [])
                           if WIDGET_VIEW not in out.get("data", {})]
    notebook.get("metadata", {}).pop("widgets", None)
    hidden = [out for out in (glue or {}).values()
              if out.get("metadata", {}).get("scrapbook", {}).get("mime_prefix")]
    if hidden:
        if not code_cells:
            raise ValueError("glue data without a code cell to hold it")
        for out in hidden:
            prefix = out["metadata"]["scrapbook"]["mime_prefix"]
            out = dict(out, data={prefix + k: v for k, v in out["data"].items()})
            code_cells[0].setdefault("outputs", []).append(out)
    return notebook


def pdf_config(config: dict) -> dict:
    """The book's configuration with execution off (the notebooks are already executed)."""
    config = json.loads(json.dumps(config))
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    # Extensions that shape the HTML pages only: the LaTeX builder needs none of them (and
    # offline_site runs the site's JavaScript vendoring from the repository's scripts/).
    extensions = config.get("sphinx", {}).get("local_extensions") or {}
    for name in HTML_ONLY_EXTENSIONS:
        extensions.pop(name, None)
    return config


def _atomic_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        # mkstemp makes the file 0600: the PDF in _build/html must be readable by the web
        # server that serves the site (another user), as runtime.atomic_write's files are.
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def prepare() -> None:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    missing = []
    if SRC.exists():
        shutil.rmtree(SRC)
    shutil.copytree(ROOT / "book", SRC / "book")
    (SRC / "_toc.yml").write_text(yaml.safe_dump(printed_toc(toc), sort_keys=False))
    config = pdf_config(yaml.safe_load((ROOT / "_config.yml").read_text()))
    (SRC / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    for name in toc_files(printed_toc(toc)):
        if (ROOT / f"{name}.md").is_file() and not name.startswith("lessons/"):
            continue  # prose pages were copied with book/
        executed = EXECUTED / f"{name}.ipynb"
        if not executed.is_file():
            missing.append(str(executed.relative_to(ROOT)))
            continue
        target = SRC / f"{name}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        glue_file = executed.with_suffix(".glue.json")
        glue = json.loads(glue_file.read_text()) if glue_file.is_file() else None
        notebook = printable(json.loads(executed.read_text()), glue)
        prose_file = executed.with_suffix(".prose.json")
        prose = json.loads(prose_file.read_text()) if prose_file.is_file() else {}
        notebook = with_prose_values(notebook, prose, name)
        target.write_text(json.dumps(notebook))
    if missing:
        sys.exit("scripts/pdf.py: no executed notebook for " + ", ".join(missing)
                 + ": run `make book` first")


def build() -> Path:
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    env = dict(os.environ)
    env.pop("MAKEFLAGS", None)  # the LaTeX Makefile runs on its own, not as part of ours
    env.pop("MAKELEVEL", None)
    result = subprocess.run([str(jupyter_book), "build", "--builder", "pdflatex", "--all",
                             str(SRC)], cwd=ROOT, env=env)
    latex = SRC / "_build" / "latex"
    pdf = latex / f"{NAME}.pdf"
    if result.returncode != 0 or not pdf.is_file():
        sys.exit(f"scripts/pdf.py: the LaTeX build failed (exit {result.returncode}); "
                 f"see {latex.relative_to(ROOT)}/{NAME}.log")
    _atomic_copy(latex / f"{NAME}.log", OUT / f"{NAME}.log")
    _atomic_copy(latex / f"{NAME}.tex", OUT / f"{NAME}.tex")
    _atomic_copy(pdf, OUT / f"{NAME}.pdf")
    if (BUILD / "html").is_dir():
        _atomic_copy(pdf, BUILD / "html" / f"{NAME}.pdf")
    return OUT / f"{NAME}.pdf"


def main() -> int:
    prepare()
    pdf = build()
    print(f"\nThe PDF is in {pdf} ({pdf.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
