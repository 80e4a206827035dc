"""Strict output comparison (`make test-outputs`): nbval --nbval with the repo's conftest and
nbval-sanitize.cfg passes on an executed notebook re-run unchanged, and fails when one stored
output is altered.

The notebook is tiny and built here (nbformat + nbclient), shaped like the book's executed
notebooks: MyST-NB removes the outputs of `glue(..., display=False)` from them, run-dependent text
(a memory address, a timing) is left to the sanitize file, and a cell ending in ";" shows no result.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]

CELLS = [
    'print("answer:", 6 * 7)',
    'print("an object:", object())',  # a memory address: sanitized
    "import time\nstart = time.perf_counter()\n"
    'print(f"took {time.perf_counter() - start + 0.1:.6f} s")',  # a timing: sanitized
    'from myst_nb import glue\nglue("answer", 42, display=False)\n21 * 2',  # glue + a result
    "6 * 7;",  # a trailing semicolon hides the result, under nbval too (see conftest.py)
]


def _strip_glue(nb: nbformat.NotebookNode) -> None:
    """What MyST-NB does to the executed notebooks it writes to _build/jupyter_execute."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if "scrapbook" not in o.get("metadata", {})]


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> nbformat.NotebookNode:
    folder = tmp_path_factory.mktemp("executed")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    _strip_glue(nb)
    return nb


def _run_nbval(folder: Path, *notebooks: Path) -> tuple[list[tuple[str, str]], str]:
    """Run nbval --nbval as `make test-outputs` does; return [(cell, outcome)] in run order
    (notebook by notebook, as given) and the output."""
    shutil.copy(REPO / "conftest.py", folder / "conftest.py")
    report = folder / "report.xml"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval", "--nbval-current-env",
         "--nbval-sanitize-with", str(REPO / "nbval-sanitize.cfg"), f"--junitxml={report}",
         *map(str, notebooks)],
        cwd=folder, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert report.exists(), output
    outcomes = [(case.get("name"), "failed" if case.find("failure") is not None or case.find("error") is not None
                 else "passed") for case in ET.parse(report).iter("testcase")]
    return outcomes, output


def test_unchanged_outputs_pass_and_an_altered_output_fails(executed, tmp_path):
    """Seen failing with a sanitize rule that hides every number (mutant `sanitize-hides-numbers`):
    the altered output passed."""
    assert "0x" in executed.cells[1].outputs[0].text and " s\n" in executed.cells[2].outputs[0].text
    assert [o.output_type for o in executed.cells[3].outputs] == ["execute_result"]  # glue output removed
    assert executed.cells[4].outputs == []

    nbformat.write(executed, tmp_path / "unchanged.ipynb")
    altered = copy.deepcopy(executed)
    assert altered.cells[0].outputs[0].text == "answer: 42\n"
    altered.cells[0].outputs[0].text = "answer: 41\n"
    nbformat.write(altered, tmp_path / "altered.ipynb")

    outcomes, output = _run_nbval(tmp_path, tmp_path / "unchanged.ipynb", tmp_path / "altered.ipynb")
    assert outcomes == [  # unchanged.ipynb, then altered.ipynb
        ("Cell 0", "passed"), ("Cell 1", "passed"), ("Cell 2", "passed"), ("Cell 3", "passed"), ("Cell 4", "passed"),
        ("Cell 0", "failed"), ("Cell 1", "passed"), ("Cell 2", "passed"), ("Cell 3", "passed"), ("Cell 4", "passed"),
    ], output
    assert "Cell outputs differ" in output and "answer: 41" in output


def _sanitize(text: str) -> str:
    from nbval.plugin import get_sanitize_patterns

    for regex, replace in get_sanitize_patterns((REPO / "nbval-sanitize.cfg").read_text(encoding="utf-8")):
        text = re.sub(regex, replace, text)
    return text


@pytest.mark.parametrize("first, second", [
    ("<object object at 0x7f3a2b1c4d50>", "<object object at 0x7f90aa01be20>"),
    ("epoch 1: 100%|##########| 860/860 [00:05<00:00, 160.11it/s, loss=0.12]",
     "epoch 1: 100%|##########| 860/860 [00:07<00:00, 121.90it/s, loss=0.12]"),
    ("  0%|          | 0/860 [00:00<?, ?it/s]", "  0%|          | 0/860 [00:01<?, ?it/s]"),
    ("CPU times: user 1.23 s, sys: 45.6 ms, total: 1.28 s\nWall time: 1.3 s",
     "CPU times: user 2.01 s, sys: 9 ms, total: 2.02 s\nWall time: 2.4 s"),
    ("1.23 ms \u00b1 45.6 \u00b5s per loop (mean \u00b1 std. dev. of 7 runs, 1,000 loops each)",
     "987 \u00b5s \u00b1 12.1 \u00b5s per loop (mean \u00b1 std. dev. of 7 runs, 10,000 loops each)"),
    ("saved to /tmp/tmpk3j2x_1/model.pt", "saved to /tmp/tmp0a9_zz1q/model.pt"),
    ("training: 12.3 s, 8900 img/s", "training: 9.8 s, 11234.5 img/s"),
    ("finished at 2026-01-31 12:34:56.789 after 0:00:12.345678", "finished at 2026-02-01 08:00:01.001 after 0:00:09.000001"),
    ('<table id="T_1a2b3">', '<table id="T_9f8e7">'),
])
def test_sanitize_file_equalizes_run_dependent_text(first, second):
    assert first != second and _sanitize(first) == _sanitize(second)


@pytest.mark.parametrize("text", [  # outputs of lesson 1: computed numbers are never sanitized
    "digit 0:  5923 images (9.9%)",
    "0.5/0.5 shortcut  range [ -1.000,   1.000]  mean  -0.7387  std  0.6162",
    "Running on cpu (2 threads, torch 2.14.1+cu130)",
    "pixel (5, 14) = 18 sits at position 154: flat[154] = 18",
    "<Figure size 880x379.5 with 24 Axes>",
    "mean of the training pixels: 0.1307",
    "epoch 3: train loss 0.1234, accuracy 96.5%, 10 steps",
])
def test_sanitize_file_keeps_computed_numbers(text):
    """Seen failing against the mutant `sanitize-hides-numbers`."""
    assert _sanitize(text) == text
