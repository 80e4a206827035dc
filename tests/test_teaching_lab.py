"""cnncourse.teaching.lab: what `make lab` starts, without starting it (tests/lab starts it)."""

from __future__ import annotations

import asyncio
import json
import socket
import sys

import jupytext
import pytest

from cnncourse.runtime import atomic_write
from cnncourse.teaching import lab


def test_free_port_skips_a_taken_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        taken = sock.getsockname()[1]
        assert lab.free_port(taken) != taken


@pytest.mark.parametrize("bad", [0, 70000, -1, "8888", True, 8.0])
def test_free_port_rejects_what_is_not_a_port(bad):
    with pytest.raises(ValueError, match="start must be a port number"):
        lab.free_port(bad)


def test_the_command_listens_on_loopback_with_the_course_manager(tmp_path, monkeypatch):
    monkeypatch.setattr(lab.os, "geteuid", lambda: 1000)
    command = lab.lab_command(9999, open_browser=False, root=tmp_path)
    assert command[:3] == [sys.executable, "-m", "jupyterlab"]
    assert "--ServerApp.ip=127.0.0.1" in command and "--ServerApp.port=9999" in command
    assert f"--ServerApp.root_dir={tmp_path}" in command and "--no-browser" in command
    assert "--ServerApp.contents_manager_class=cnncourse.teaching.lab.LessonContentsManager" in command
    assert "--allow-root" not in command
    monkeypatch.setattr(lab.os, "geteuid", lambda: 0)
    assert "--allow-root" in lab.lab_command(9999)


def test_settings_open_lessons_as_notebooks_and_fetch_no_news(tmp_path):
    path = lab.write_lab_settings(tmp_path)
    settings = json.loads(path.read_text())
    viewers = settings["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers == {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}
    assert settings["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    assert list(tmp_path.rglob("*.tmp")) == []


def test_the_first_lesson_exists():
    assert (lab.ROOT / lab.FIRST_LESSON).is_file()


def test_language_info_is_what_the_kernel_reports():
    info = lab.kernel_language_info()
    assert info["name"] == "python" and info["version"] == sys.version.split()[0]


def test_the_manager_adds_language_info_but_never_writes_it(tmp_path):
    """JupyterLab gets the kernel's language_info (so opening marks nothing modified); the file
    on disk stays byte for byte what it was after a save of a run but unedited notebook."""
    lesson = lab.ROOT / "lessons" / "09-receptive-fields.md"
    (tmp_path / lesson.name).write_bytes(lesson.read_bytes())
    manager = lab.LessonContentsManager(root_dir=str(tmp_path))

    async def open_and_save():
        model = await manager.get(lesson.name, content=True, type="notebook")
        assert model["content"]["metadata"]["language_info"] == lab.kernel_language_info()
        # what JupyterLab adds while the learner works: evaluated {eval} roles, run metadata
        for cell in model["content"]["cells"]:
            if cell["cell_type"] == "markdown" and "{eval}" in cell["source"]:
                cell["metadata"]["user_expressions"] = [{"expression": "prose.x", "result": {}}]
            if cell["cell_type"] == "code":
                cell["metadata"]["execution"] = {"iopub.status.busy": "2026-12-04T00:00:00Z"}
        await manager.save({"type": "notebook", "content": model["content"]}, lesson.name)

    asyncio.run(open_and_save())
    assert (tmp_path / lesson.name).read_bytes() == lesson.read_bytes()
    assert "language_info" not in jupytext.read(tmp_path / lesson.name).metadata


def test_atomic_write_replaces_whole_files(tmp_path):
    path = tmp_path / "sub" / "f.txt"
    assert atomic_write(path, "één") == path
    assert path.read_bytes() == "één".encode()
    atomic_write(path, b"new")
    assert path.read_bytes() == b"new" and list(tmp_path.rglob("*.tmp")) == []
    with pytest.raises(TypeError, match="payload must be bytes or str, got int"):
        atomic_write(path, 3)
    assert path.read_bytes() == b"new"


@pytest.mark.parametrize("value, port", [(None, 8888), ("", 8888), ("9000", 9000)])
def test_jupyter_port_is_read(value, port):
    assert lab._port_from_env(value) == port


@pytest.mark.parametrize("value", ["abc", "0", "70000", "-1", "88.5"])
def test_a_bad_jupyter_port_is_named(value):
    with pytest.raises(SystemExit, match=f"JUPYTER_PORT must be a port number from 1 to 65535, got '{value}'"):
        lab._port_from_env(value)


@pytest.mark.parametrize("extra, error, pattern", [
    (-1, TypeError, r"^extra must be a list of strings"),
    ("--debug", TypeError, r"^extra must be a list of strings"),
    (["--debug", 3], TypeError, r"^extra\[1\] must be a string, got int \(3\)"),
])
def test_extra_arguments_are_a_list_of_strings(extra, error, pattern):
    with pytest.raises(error, match=pattern):
        lab.lab_command(9999, extra=extra)
    assert lab.lab_command(9999, extra=["--debug"])[-1] == "--debug"


@pytest.mark.parametrize("cells, pattern", [
    (None, r"^cells must be a sequence of notebook cells"),
    ("x = 1", r"^cells must be a sequence of notebook cells"),
    ({"cell_type": "code"}, r"^cells must be a sequence of notebook cells"),
    ([{"cell_type": "code", "source": "", "metadata": {}}, "a"], r"^cells\[1\] must be a notebook cell"),
])
def test_marking_problems_names_cells_that_are_not_cells(cells, pattern):
    from cnncourse.teaching.marking import marking_problems

    with pytest.raises(TypeError, match=pattern):
        marking_problems(cells)
    assert marking_problems(iter([])) == []
