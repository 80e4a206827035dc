"""The learner's seat: JupyterLab on the lessons, as ``make lab`` starts it.

``python -m cnncourse.teaching.lab [--port N] [--no-browser] [JUPYTER_ARGS...]`` starts
JupyterLab at the root of the course, listening on 127.0.0.1 only, with the ``.md`` lessons
opening as notebooks, their MyST rendered by jupyterlab-myst, and
:class:`LessonContentsManager` serving them. It says which lesson to open first; when the port
(``--port``, else ``JUPYTER_PORT``, else 8888) is taken it says so and takes the next free one;
as root it adds ``--allow-root`` (containers, CI runners).

Why a contents manager of our own: JupyterLab copies the kernel's ``language_info`` into every
notebook it opens. Jupytext leaves that field out of a text notebook (it names the Python
version, which differs from one learner to the next), so without it every lesson would be
marked modified as soon as its kernel started, and autosave would rewrite it two minutes later.
:class:`LessonContentsManager` hands JupyterLab the notebook with the ``language_info`` the
kernel will report; Jupytext still leaves it out when the notebook is saved. No JupyterLab or
Jupytext setting does this (checked against jupytext 1.19.6 and JupyterLab 4.6.6:
``tests/lab`` opens every lesson and fails if its tab is marked modified).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import socket
import sys
from pathlib import Path

__all__ = [
    "FIRST_LESSON",
    "LessonContentsManager",
    "kernel_language_info",
    "lab_command",
    "free_port",
    "write_lab_settings",
]

ROOT = Path(__file__).resolve().parents[2]
FIRST_LESSON = "lessons/01-images-as-arrays.md"

# JupyterLab settings for the course: lessons open as notebooks; no news fetched from the
# internet (the machines the course runs on are often offline).
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension:plugin": {
        "defaultViewers": {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"},
    },
    "@jupyterlab/apputils-extension:notification": {
        "checkForUpdates": False,
        "fetchNews": "false",
    },
}


def kernel_language_info() -> dict:
    """The ``language_info`` the course's kernel (ipykernel, this Python) reports at start."""
    from ipykernel.ipkernel import IPythonKernel

    return json.loads(json.dumps(IPythonKernel.language_info))


def _contents_manager_base():
    from jupytext.async_contentsmanager import AsyncTextFileContentsManager

    return AsyncTextFileContentsManager


class LessonContentsManager(_contents_manager_base()):  # type: ignore[misc]
    """Jupytext's contents manager, adding the kernel's ``language_info`` to notebooks it reads.

    Only what JupyterLab receives changes: the file on disk, and what Jupytext writes on save
    (it filters ``language_info`` out of text notebooks), stay as they are.
    """

    async def get(self, path, content=True, type=None, format=None, **kwargs):
        model = await super().get(path, content=content, type=type, format=format, **kwargs)
        if content and model.get("type") == "notebook" and model.get("content") is not None:
            metadata = model["content"].setdefault("metadata", {})
            if "language_info" not in metadata:
                metadata["language_info"] = kernel_language_info()
        return model


def free_port(start: int, host: str = "127.0.0.1", tries: int = 50) -> int:
    """The first port from ``start`` on which ``host`` can listen.

    Raises
    ------
    ValueError
        If ``start`` is not a port number (1 to 65535).
    OSError
        If none of ``tries`` ports in a row is free.
    """
    if not isinstance(start, int) or isinstance(start, bool) or not 1 <= start <= 65535:
        raise ValueError(f"start must be a port number from 1 to 65535, got {start!r}")
    for port in range(start, min(start + tries, 65536)):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError as err:
                if err.errno in (errno.EADDRINUSE, errno.EACCES):
                    continue
                raise
            return port
    raise OSError(f"no free port among {start} to {start + tries - 1} on {host}")


def write_lab_settings(prefix: Path) -> Path:
    """Write the course's JupyterLab settings overrides into an environment's ``prefix``.

    Returns the path of ``share/jupyter/lab/settings/overrides.json``; written atomically.
    """
    from cnncourse.runtime import atomic_write

    path = Path(prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, json.dumps(LAB_SETTINGS, indent=2) + "\n")


def lab_command(port: int, *, open_browser: bool = True, extra: list[str] | None = None,
                root: Path = ROOT) -> list[str]:
    """The ``jupyter lab`` command line that ``make lab`` runs (loopback only, our manager).

    ``extra``: further arguments, each a string, appended as they are.

    Raises
    ------
    TypeError
        When ``extra`` is not a sequence of strings.
    """
    # check_sequence's rule, written here: cnncourse._checks imports torch, and the lab's
    # server extension must start without it
    if extra is not None and (isinstance(extra, (str, bytes)) or not isinstance(extra, (list, tuple))):
        raise TypeError(f"extra must be a list of strings (command-line arguments), got "
                        f"{type(extra).__name__} ({extra!r:.40})")
    for index, argument in enumerate(extra or ()):
        if not isinstance(argument, str):
            raise TypeError(f"extra[{index}] must be a string, got {type(argument).__name__} "
                            f"({argument!r:.40}) (in extra = {extra!r:.60})")
    command = [
        sys.executable, "-m", "jupyterlab",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.contents_manager_class=cnncourse.teaching.lab.LessonContentsManager",
    ]
    if not open_browser:
        command.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return command + list(extra or [])


def _port_from_env(value: str | None) -> int:
    """The port JUPYTER_PORT asks for (8888 when unset); SystemExit with a clear message otherwise."""
    if value is None or value.strip() == "":
        return 8888
    try:
        port = int(value)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise SystemExit(f"make lab: JUPYTER_PORT must be a port number from 1 to 65535, got {value!r}")
    return port


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnncourse.teaching.lab", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=None,
                        help="first port to try (default: $JUPYTER_PORT, else 8888)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="folder JupyterLab serves (default: the course's root)")
    args, extra = parser.parse_known_args(argv)
    wanted = args.port if args.port is not None else _port_from_env(os.environ.get("JUPYTER_PORT"))
    port = free_port(wanted)
    if port != wanted:
        print(f"make lab: port {wanted} is taken; using port {port} instead.", flush=True)
    try:
        write_lab_settings(Path(sys.prefix))
    except OSError as err:  # an environment the user may not write to: lessons open with Open With
        print(f"make lab: could not write JupyterLab's settings into {sys.prefix} ({err}); "
              "open a lesson with right-click > Open With > Jupytext Notebook", flush=True)
    print(f"make lab: JupyterLab on http://127.0.0.1:{port}/lab (this computer only; "
          f"the address with its token follows). Start with {FIRST_LESSON}.", flush=True)
    command = lab_command(port, open_browser=not args.no_browser, extra=extra, root=args.root)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
