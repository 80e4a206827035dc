"""Every student notebook runs top to bottom without an error, and its checkers answer.

``make test-student`` writes the edition (``make student``) and runs this: each notebook in a
fresh kernel, from the ``lessons/`` folder as a student's copy would be, no network.

The notebooks run with their own data folder (``$CNNCOURSE_DATA``: the repository's MNIST linked
in, an empty ``checkpoints/``), so that what they write never meets the lessons that ``make
test`` runs at the same time in the other lane (nbval, JupyterLab), nor the repository's data.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
EDITION = ROOT / "_build" / "student" / "lessons"
LESSONS = sorted((ROOT / "lessons").glob("*.md"))


@pytest.fixture(scope="module")
def own_data(tmp_path_factory):
    """A data folder of the edition's own: MNIST linked from the repository's, nothing else."""
    from cnncourse.data import DATA_ENV, data_root

    folder = tmp_path_factory.mktemp("student-data")
    (folder / "MNIST").symlink_to(data_root() / "MNIST", target_is_directory=True)
    before = os.environ.get(DATA_ENV)
    os.environ[DATA_ENV] = str(folder)
    yield folder
    if before is None:
        os.environ.pop(DATA_ENV, None)
    else:
        os.environ[DATA_ENV] = before


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_student_notebook_runs(lesson, own_data):
    path = EDITION / f"{lesson.stem}.ipynb"
    assert path.is_file(), f"no {path}: run make student"
    assert path.stat().st_mtime >= lesson.stat().st_mtime, f"{path} is older than {lesson}: run make student"
    notebook = nbformat.read(path, as_version=4)
    env_before = os.environ.get("OMP_WAIT_POLICY")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        NotebookClient(notebook, timeout=900, kernel_name="python3",
                       resources={"metadata": {"path": str(ROOT / "lessons")}}).execute()
    finally:
        if env_before is None:
            os.environ.pop("OMP_WAIT_POLICY", None)
    printed = "\n".join(
        output.get("text", "") + "".join(str(v) for v in output.get("data", {}).values())
        for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", []))
    assert "No answer yet" in printed, f"{lesson.name}: no checker said 'No answer yet' to a placeholder"
    assert "Traceback" not in printed
