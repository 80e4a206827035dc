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


def printable(notebook: dict) -> dict:
    """The notebook without widget outputs and without the widget state (nothing to print)."""
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = [out for out in cell.get("outputs", [])
                               if WIDGET_VIEW not in out.get("data", {})]
    notebook.get("metadata", {}).pop("widgets", None)
    return notebook


def pdf_config(config: dict) -> dict:
    """The book's configuration with execution off (the notebooks are already executed)."""
    config = json.loads(json.dumps(config))
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    return config


def _atomic_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
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
    shutil.copy2(ROOT / "_toc.yml", SRC / "_toc.yml")
    config = pdf_config(yaml.safe_load((ROOT / "_config.yml").read_text()))
    (SRC / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    for name in toc_files(toc):
        if (ROOT / f"{name}.md").is_file() and not name.startswith("lessons/"):
            continue  # prose pages were copied with book/
        executed = EXECUTED / f"{name}.ipynb"
        if not executed.is_file():
            missing.append(str(executed.relative_to(ROOT)))
            continue
        target = SRC / f"{name}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        notebook = printable(json.loads(executed.read_text()))
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
