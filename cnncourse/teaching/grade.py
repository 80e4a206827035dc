"""The grader: every student's notebook run in a fresh kernel, every exercise judged by the course's checkers.

``python -m cnncourse.teaching.grade SUBMISSIONS [--timeout SECONDS]`` (``make grade
SUBMISSIONS=DIR [TIMEOUT=600]``) grades every ``DIR/<student>/<lesson>.ipynb`` (a notebook of
the student edition, :mod:`cnncourse.teaching.student`, that the student filled in) and writes
``DIR/grades.csv`` (``student, lesson, exercise, result, feedback``; ``result`` is ``correct``,
``wrong``, ``missing``, ``error`` or ``timeout``) and ``DIR/grades.md``, one table per lesson with
one row per student and one column per exercise. Nothing else in ``DIR`` changes.

What an exercise is comes from the lessons themselves (:func:`lesson_exercises`): every call of
a checker imported from :mod:`cnncourse.exercises` that stands on its own in an exercise cell,
``check_x(answer, ...)``, whose leading arguments are the placeholders the cell assigns
(``answer = ...``). Those names hold the student's answer; the other arguments are the
question (literals, read from the lesson's source, or names of the lesson's objects).

How a submission is graded
--------------------------
1. The file is read as JSON and as an nbformat-4 notebook, and must be the lesson its name
   says (the student edition's ``metadata.cnncourse.lesson``, or the lesson's title).
2. It is copied alone into a scratch folder and run there, top to bottom, in a fresh
   ``python3`` kernel whose working folder and ``TMPDIR`` are that folder, under one time limit
   for the whole notebook. A cell that raises does not stop the run (later exercises are still
   graded); the first error is reported.
3. Still in that kernel, the answers are read out as *data* (:mod:`cnncourse.teaching._codec`):
   numbers, strings, lists, sets, dicts, arrays and tensors as ``.npy`` bytes, read back without
   pickle. A function answer stays in the kernel: the grader gets a handle, and each call the
   checker makes sends its arguments to the kernel and gets the result back as data.
4. The checkers run in the grader's own process, imported before any submission ran, on those
   values. The kernel is then shut down and the scratch folder deleted.

Threat model
------------
Students are a class, not an adversary with a budget: some will try to game the grader, a few
will write code that loops or crashes. What the grader guarantees:

* *Patching a checker gains nothing.* A submission can redefine ``check_x``, patch
  ``cnncourse.exercises`` or ``Feedback``, replace NumPy's comparisons: all of it happens in its
  kernel, a separate process, whose checkers are never consulted. The grader's checkers were
  imported before any submission ran, so editing their files on disk does not reach them either
  (and is reported, below). The verdict is computed only from data and from the results of
  the student's own functions; data cannot carry code (no pickle, no ``eval``), and a value
  that is not data (a model, say) arrives as a stand-in that only knows its type's name.
* *A student controls only their own answers.* Whatever the kernel hands back is, at worst,
  an answer the student chose: making the extraction lie is the same as writing that answer.
  A question that depends on the student's own run (lesson 10's measured speed) reads that
  value from the run as data, so a student who changes it changes their question, not the
  checker. A question about an object (lesson 9's stack of layers) is rebuilt by the grader
  from the lesson itself (the student edition run once in a clean kernel, never the
  submission), so a student cannot swap in an easier model.
* *One bad submission cannot stop the others.* Not JSON, not a notebook, another lesson, an
  exception, a dead kernel, an endless loop (in the notebook or inside a function the checker
  calls): each ends as rows of its own with the reason, and the next submission is graded.
* *Writes stay in the scratch copy.* The kernel's first cell (the grader's, before the
  student's) installs a Python audit hook (PEP 578, which Python code cannot remove) that
  refuses to open a file for writing, create, rename or delete one outside the scratch folder,
  or start another program; each refusal is reported on the submission's ``(notebook)`` row.
  As a second line, the kernels import a private copy of the course's package, made when the
  grading starts (``PYTHONPATH``), and the grader compares the files of ``DIR`` and the
  contents of that copy before and after each submission; a change there voids the
  submission's grades, and the copy is restored for the next one. The course's own files are
  not watched, so an instructor may edit the course while a class is being graded: the
  grading goes on with the course as it was when it started.

What it does not guarantee: the student edition keeps every checker (so that a student's
notebook says "correct" or gives a hint), so a student can ask a checker about every small
answer until one is right; an answer box adds nothing to that (it is computed in the student's
kernel from the same checker), and the edition's files hold no outputs. Native code (``ctypes``, a compiled extension) can get past an
audit hook, and nothing here limits memory or network. A class whose submissions may be
hostile beyond that should run ``make grade`` in a container or a virtual machine, as any
autograder (nbgrader, otter-grader) must.

Why not nbgrader or otter-grader
--------------------------------
Both grade notebooks written in their own formats: nbgrader's autograder cells with ``###
BEGIN/END SOLUTION`` markers and hidden tests stored in its database (``nbgrader
generate_assignment``/``autograde``), otter's ``# ASSIGNMENT CONFIG`` cells and ``otter.Notebook.check``
test files. The lessons are Jupytext Markdown whose exercises already call the course's own
checkers (the same ones the student sees and the book's answer boxes use); adopting either tool
would mean a second copy of every check written as their test cells, and their grading runs the
tests inside the student's kernel (nbgrader autograde executes the hidden tests in the notebook,
otter runs its tests in the same process as the submission), where a submission that patched a
checker or ``assert`` wins. So the grader reuses nbclient (which nbgrader also runs notebooks
with) and the course's checkers.
"""

from __future__ import annotations

import argparse
import ast
import csv
import hashlib
import importlib
import io
import json
import os
import pickle
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

import cnncourse.teaching._codec as codec
from cnncourse._checks import check_path
from cnncourse.data import data_root
from cnncourse.exercises.feedback import Feedback, is_placeholder
from cnncourse.runtime import atomic_write
from cnncourse.teaching.marking import is_solution
from cnncourse.teaching.student import student_notebook

__all__ = [
    "DEFAULT_TIMEOUT",
    "RESULTS",
    "Exercise",
    "Row",
    "course_exercises",
    "grade",
    "lesson_exercises",
    "main",
]

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TIMEOUT = 600.0
"""Seconds a submission may run, top to bottom (``make grade TIMEOUT=...``)."""
CHECK_TIMEOUT = 120.0
"""Seconds the checking of one exercise may take, the student's function calls included."""
RESULTS = ("correct", "wrong", "missing", "error", "timeout")
RUN = "(notebook)"
"""The ``exercise`` of a row about the whole submission (it raised, timed out, is not a notebook)."""
CSV_NAME, SUMMARY_NAME = "grades.csv", "grades.md"
_CHECKER_PACKAGE = "cnncourse.exercises"


# ----------------------------------------------------------------------------- the exercises
@dataclass(frozen=True)
class Exercise:
    """One checker call of a lesson's exercise cell, ``check_x(answer, *args, **kwargs)``.

    Attributes
    ----------
    lesson
        The lesson's name (``01-images-as-arrays``).
    name
        The exercise's name in the reports: its answer variables, ``"flat_index"`` or
        ``"low, high"``.
    checker, module
        The checker's name and the module of :mod:`cnncourse.exercises` it is imported from.
    answers
        The variables that hold the student's answer (the checker's leading arguments).
    args, kwargs
        The other arguments, as source text (``"(784, 256, 128, 10)"``, ``"exercise_stack"``).
    cell
        Index of the exercise cell in the lesson as Jupytext reads it.
    """

    lesson: str
    name: str
    checker: str
    module: str
    answers: tuple[str, ...]
    args: tuple[str, ...]
    kwargs: tuple[tuple[str, str], ...]
    cell: int

    def call_text(self) -> str:
        """The call as the lesson writes it."""
        parts = [*self.answers, *self.args, *(f"{k}={v}" for k, v in self.kwargs)]
        return f"{self.checker}({', '.join(parts)})"

    def contexts(self) -> list[str]:
        """The arguments that are not literals: names or expressions of the lesson's objects."""
        return [text for text in (*self.args, *(v for _, v in self.kwargs)) if not _is_literal(text)]


def _is_literal(text: str) -> bool:
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return True


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except SyntaxError:  # an IPython magic, say: not an exercise cell
        return None


def _placeholders(tree: ast.Module) -> set[str]:
    """Names the cell assigns a placeholder (``x = None``, ``x = ...``, ``a, b = None, None``)
    or defines as a function whose body is only ``...``."""
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and all(
                isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                and (s.value.value is Ellipsis or isinstance(s.value.value, str)) for s in node.body):
            names.add(node.name)  # def answer(...): ...  (a docstring at most)
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            pairs = [(target, node.value)]
            if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                pairs = list(zip(target.elts, node.value.elts))
            for name, value in pairs:
                if (isinstance(name, ast.Name) and isinstance(value, ast.Constant)
                        and is_placeholder(value.value)):
                    names.add(name.id)
    return names


def lesson_exercises(source: Path | str) -> list[Exercise]:
    """The exercises of a lesson, read from its checker calls.

    ``source`` is the lesson as written (``lessons/NN-name.md``) or as a notebook
    (``.ipynb``: an executed copy, as the PDF build reads it, or a student's edition).

    Raises
    ------
    ValueError
        If ``source`` is not an existing ``.md`` or ``.ipynb`` file, if a checker call of an
        exercise cell does not start with the placeholders the cell assigns (the grader would
        not know where the answer is), or if two exercises would share a name: the message
        names the lesson and the call.
    """
    source = check_path(source, "source")
    if source.suffix not in (".md", ".ipynb") or not source.is_file():
        raise ValueError(f"source must be an existing lesson file (lessons/NN-name.md, or a "
                         f".ipynb notebook of one), got {str(source)!r}")
    notebook = jupytext.read(source)
    cells = [(i, c) for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
    imports: dict[str, str] = {}
    for _, cell in cells:
        tree = _parse(cell.source)
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(_CHECKER_PACKAGE):
                imports.update({a.asname or a.name: node.module for a in node.names})
    exercises: list[Exercise] = []
    for index, cell in cells:
        if is_solution(cell):
            continue
        tree = _parse(cell.source)
        if tree is None:
            continue
        placeholders = _placeholders(tree)
        for node in tree.body:
            call = node.value if isinstance(node, ast.Expr) else None
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                    and call.func.id in imports):
                continue
            answers = []
            for arg in call.args:
                if isinstance(arg, ast.Name) and arg.id in placeholders:
                    answers.append(arg.id)
                else:
                    break
            if not answers:
                raise ValueError(
                    f"{source.stem}, cell {index}: {ast.unparse(call)} is an exercise's checker call, "
                    "but its first argument is not a placeholder the cell assigns (answer = ...): "
                    "the grader cannot tell where the answer is")
            exercises.append(Exercise(
                lesson=source.stem, name=", ".join(answers), checker=call.func.id,
                module=imports[call.func.id], answers=tuple(answers),
                args=tuple(ast.unparse(a) for a in call.args[len(answers):]),
                kwargs=tuple((k.arg, ast.unparse(k.value)) for k in call.keywords if k.arg),
                cell=index))
    names = [e.name for e in exercises]
    if len(set(names)) != len(names):
        raise ValueError(f"{source.stem}: two exercises use the same answer variable ({names}); "
                         "the grader names exercises by their answer variables")
    return exercises


def course_exercises(lessons: Iterable[Path] | None = None) -> dict[str, list[Exercise]]:
    """``{lesson name: its exercises}`` for the given lessons (default: all of ``lessons/``)."""
    paths = sorted((ROOT / "lessons").glob("*.md")) if lessons is None else list(lessons)
    return {Path(p).stem: lesson_exercises(p) for p in paths}


def _lesson_title(notebook) -> str | None:
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return None


# ----------------------------------------------------------------------------- rows
@dataclass(frozen=True)
class Row:
    """One line of ``grades.csv``."""

    student: str
    lesson: str
    exercise: str
    result: str
    feedback: str

    def __post_init__(self) -> None:
        if self.result not in RESULTS:
            raise ValueError(f"result must be one of {RESULTS}, got {self.result!r}")


# ----------------------------------------------------------------------------- the kernel side
# The grader's first cell in every submission's kernel: import the heavy libraries the lessons
# use (so their caches are read before the guard), then refuse every write outside the scratch
# folder and every new program, and log each refusal to a file opened before the guard.
_GUARD = r'''
def _cnncourse_guard(scratch, log_path):
    import json, os, sys
    import numpy, torch, matplotlib.pyplot  # noqa: F401  (their caches are read before the guard)
    scratch = os.path.realpath(scratch)
    allowed = (scratch, "/dev/null", "/dev/shm", "/dev/tty", "/dev/urandom")
    log = open(log_path, "a", buffering=1)
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
    path_events = {"os.remove": 1, "os.rmdir": 1, "os.mkdir": 1, "os.rename": 2, "os.link": 2,
                   "os.symlink": 2, "os.truncate": 1, "os.chmod": 1, "os.chown": 1, "os.utime": 1,
                   "shutil.rmtree": 1, "os.mkfifo": 1, "os.mknod": 1, "os.setxattr": 1,
                   "os.removexattr": 1}
    programs = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "pty.spawn"}
    realpath, fsdecode, readlink = os.path.realpath, os.fsdecode, os.readlink
    join, isabs = os.path.join, os.path.isabs

    def inside(path, dir_fd=None):
        if isinstance(path, int):
            return True  # an open file descriptor: its opening was checked
        try:
            path = fsdecode(path)
            if dir_fd is not None and not isabs(path):
                path = join(readlink(f"/proc/self/fd/{dir_fd}"), path)
            path = realpath(path)
        except Exception:
            return False
        return any(path == root or path.startswith(root + os.sep) for root in allowed)

    def refuse(what, detail):
        log.write(json.dumps({"what": what, "detail": str(detail)[:300]}) + "\n")
        raise PermissionError(f"the grader runs this notebook in a scratch folder: {what} "
                              f"{str(detail)[:300]} is not allowed")

    def hook(event, args):
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None))[:3]
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & write_flags)
            if writes and not inside(path):
                refuse("writing to", path)
        elif event in path_events:
            dir_fd = args[-1] if event in ("os.remove", "os.rmdir", "os.mkdir") else None
            for path in args[:path_events[event]]:
                if not inside(path, dir_fd if isinstance(dir_fd, int) else None):
                    refuse(f"{event} on", path)
        elif event in programs:
            refuse("starting a program", args[0] if args else event)

    sys.dont_write_bytecode = True
    sys.addaudithook(hook)


_cnncourse_guard(__SCRATCH__, __LOG__)
del _cnncourse_guard
'''

# Defines the reading side in the kernel, after the submission ran: the codec's own source
# (one copy of the format for both sides) and the two calls the grader makes.
_READER = r'''
def _cnncourse_reader(codec_source):
    import json, os, sys, types
    codec = types.ModuleType("_cnncourse_grader_codec")
    exec(compile(codec_source, "_cnncourse_grader_codec", "exec"), codec.__dict__)
    namespace = get_ipython().user_ns
    functions = {}

    def write(path, text):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)

    def read(expressions, out_path):
        values = {}
        for key, text in expressions.items():
            try:
                value = eval(text, namespace)
            except NameError as exc:
                values[key] = {"t": "undefined", "msg": str(exc)[:300]}
                continue
            except BaseException as exc:
                values[key] = {"t": "raised", "type": type(exc).__name__[:80], "msg": str(exc)[:300]}
                continue
            values[key] = codec.encode(value, functions)
        write(out_path, json.dumps(values))

    def call(key, in_path, out_path):
        with open(in_path) as f:
            args = codec.loads(f.read())
        try:
            result = {"ok": codec.encode(functions[key](*args), functions)}
        except BaseException as exc:
            result = {"raised": {"type": type(exc).__name__[:80], "msg": str(exc)[:300]}}
        write(out_path, json.dumps(result))

    return types.SimpleNamespace(read=read, call=call)


_cnncourse_grader = _cnncourse_reader(__CODEC__)
del _cnncourse_reader
'''


class _CallTimeout(BaseException):
    """A student's function did not return in time (not an ``Exception``: no checker catches it)."""


class _KernelGone(BaseException):
    """The kernel died or stopped answering while an exercise was being checked."""


def _exception_type(name: str) -> type[Exception]:
    clean = "".join(c for c in name if c.isalnum() or c == "_")[:80] or "Exception"
    return type(clean if not clean[0].isdigit() else "_" + clean, (Exception,), {})


def _read_bounded(path: Path) -> str:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as f:
        data = f.read(codec.MAX_BYTES + 1)
    if len(data) > codec.MAX_BYTES:
        raise ValueError(f"the kernel's answer data is larger than {codec.MAX_BYTES} bytes")
    return data.decode("utf-8")


@dataclass
class _Run:
    """What running a notebook gave: the first error, a timeout, refusals of the guard."""

    error: str | None = None
    timed_out: str | None = None
    died: str | None = None
    refused: list[str] = field(default_factory=list)


class _Kernel:
    """A fresh ``python3`` kernel running one notebook in ``scratch`` (use as a context manager)."""

    def __init__(self, scratch: Path, private: Path, guard: bool, course: Path | None = None) -> None:
        self.scratch, self.private, self.guard, self.course = scratch, private, guard, course
        self.deadline = time.monotonic()
        self.log = private / "refused.jsonl"
        self.client = NotebookClient(
            nbformat.v4.new_notebook(), kernel_name="python3", allow_errors=True,
            timeout_func=lambda cell: max(1, int(self.deadline - time.monotonic()) + 1),
            interrupt_on_timeout=False, record_timing=False,
            resources={"metadata": {"path": str(scratch)}}, shutdown_kernel="immediate")
        self._context = None
        self._index = 0

    def __enter__(self) -> _Kernel:
        env = dict(os.environ)
        tmp = self.scratch / ".tmp"
        tmp.mkdir(exist_ok=True)
        env.update(TMPDIR=str(tmp), TEMP=str(tmp), TMP=str(tmp), PYTHONDONTWRITEBYTECODE="1",
                   IPYTHONDIR=str(self.private / "ipython"), MPLBACKEND="agg",
                   # torch's compiler caches default to /tmp/torchinductor_<user>, outside the
                   # scratch copy: the guard would refuse creating them (seen when the folder
                   # did not exist yet)
                   TORCHINDUCTOR_CACHE_DIR=str(tmp / "torchinductor"), TRITON_CACHE_DIR=str(tmp / "triton"))
        if self.course is not None:  # the grader's frozen copy of the package, and the real data
            env["PYTHONPATH"] = os.pathsep.join([str(self.course), *filter(None, [env.get("PYTHONPATH")])])
            env["CNNCOURSE_DATA"] = str(data_root())
        self._context = self.client.setup_kernel(env=env, stdout=subprocess.DEVNULL,
                                                 stderr=subprocess.DEVNULL)
        self._context.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._context.__exit__(*exc)
        except Exception:  # noqa: BLE001 - a kernel that will not shut down is killed below
            pass
        km = self.client.km
        if km is not None and km.has_kernel:
            try:
                km.shutdown_kernel(now=True)
            except Exception:  # noqa: BLE001
                pass

    def execute(self, source: str, limit: float) -> nbformat.NotebookNode:
        """Run ``source`` as a cell within ``limit`` seconds; returns the cell with its outputs."""
        cell = nbformat.v4.new_code_cell(source)
        self.client.nb.cells.append(cell)
        self.deadline = time.monotonic() + limit
        self.client.execute_cell(cell, self._index, store_history=False)
        self._index += 1
        return cell

    def refused(self) -> list[str]:
        if not self.log.exists():
            return []
        out = []
        for line in _read_bounded(self.log).splitlines()[:20]:
            try:
                entry = json.loads(line)
                out.append(f"{entry['what']} {entry['detail']}")
            except (ValueError, KeyError, TypeError):
                out.append(line[:300])
        return out


def _first_error(cell) -> str | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename', 'Error')}: {str(output.get('evalue', ''))[:300]}"
    return None


def _run_cells(kernel: _Kernel, sources: list[str], timeout: float) -> _Run:
    run = _Run()
    end = time.monotonic() + timeout
    if kernel.guard:
        cell = kernel.execute(_GUARD.replace("__SCRATCH__", repr(str(kernel.scratch)))
                              .replace("__LOG__", repr(str(kernel.log))), 120)
        if _first_error(cell):
            raise RuntimeError(f"the grader's guard failed in the kernel: {_first_error(cell)}")
    for number, source in enumerate(sources, start=1):
        try:
            cell = kernel.execute(source, end - time.monotonic())
        except CellTimeoutError:
            run.timed_out = (f"did not finish within the time limit of {timeout:g} s "
                             f"(code cell {number} was still running)")
            return run
        except DeadKernelError:
            run.died = f"the kernel died in code cell {number} (out of memory, or the process exited)"
            return run
        error = _first_error(cell)
        if error and run.error is None:
            run.error = f"code cell {number} raised {error}"
        if time.monotonic() > end:
            run.timed_out = f"did not finish within the time limit of {timeout:g} s"
            return run
    return run


class _Reader:
    """Reads values out of a kernel after its notebook ran, and calls the functions it holds."""

    def __init__(self, kernel: _Kernel) -> None:
        self.kernel = kernel
        cell = kernel.execute(_READER.replace("__CODEC__", repr(Path(codec.__file__).read_text(encoding="utf-8"))), 60)
        if _first_error(cell):
            raise RuntimeError(f"the kernel did not accept the grader's reader: {_first_error(cell)}")
        self.check_deadline = time.monotonic() + CHECK_TIMEOUT
        # From now on a call that runs out of time is interrupted and answered at once, so one
        # endless function costs its own exercise, not the rest of the submission.
        kernel.client.interrupt_on_timeout = True
        kernel.client.error_on_timeout = {"ename": "Timeout", "evalue": "the grader's limit", "traceback": []}

    def _path(self, kind: str) -> Path:
        return self.kernel.scratch / f".grader-{kind}-{secrets.token_hex(8)}.json"

    def _run(self, code: str, out: Path, limit: float) -> str:
        try:
            cell = self.kernel.execute(code, limit)
        except CellTimeoutError:
            raise _CallTimeout() from None
        except DeadKernelError:
            raise _KernelGone("the kernel died") from None
        if time.monotonic() >= self.kernel.deadline:
            raise _CallTimeout()
        if _first_error(cell) and not out.exists():
            raise _KernelGone(f"the grader's call failed in the kernel: {_first_error(cell)}")
        return _read_bounded(out)

    def read(self, expressions: dict[str, str]) -> dict[str, object]:
        """``{key: raw encoded data}`` for each expression, evaluated in the student's namespace."""
        out = self._path("answers")
        text = self._run(f"_cnncourse_grader.read({expressions!r}, {str(out)!r})", out, 120)
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("malformed answer data")
        return {key: data.get(key, {"t": "undefined", "msg": "not read"}) for key in expressions}

    def function(self, key: str, name: str) -> Callable:
        def call(*args):
            source = self._path("args")
            fd = os.open(source, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(codec.dumps(list(args)))
            out = self._path("result")
            limit = self.check_deadline - time.monotonic()
            if limit <= 0:
                raise _CallTimeout()
            text = self._run(f"_cnncourse_grader.call({key!r}, {str(source)!r}, {str(out)!r})", out, limit)
            result = json.loads(text)
            if "raised" in result:
                raised = result["raised"]
                raise _exception_type(str(raised.get("type", "Exception")))(str(raised.get("msg", "")))
            return codec.decode(result["ok"], self.function)
        call.__name__ = call.__qualname__ = name
        return call


# ----------------------------------------------------------------------------- grading
def _decode(raw: dict, reader: _Reader | None):
    return codec.decode(raw, reader.function if reader is not None else None)


class _References:
    """The lesson's own objects an exercise asks about, rebuilt by running the student edition
    of the lesson (course code only, never a submission) once per lesson, in a clean kernel."""

    def __init__(self, lessons_dir: Path, timeout: float, work: Path, course: Path | None = None) -> None:
        self.lessons_dir, self.timeout, self.work, self.course = lessons_dir, timeout, work, course
        self.values: dict[str, dict[str, object]] = {}
        self.problems: dict[str, str] = {}

    def get(self, lesson: str, expressions: list[str]) -> dict[str, object]:
        if lesson not in self.values and lesson not in self.problems:
            try:
                self.values[lesson] = self._build(lesson, sorted(set(expressions)))
            except Exception as exc:  # noqa: BLE001 - reported on the exercises that need it
                self.problems[lesson] = f"{type(exc).__name__}: {exc}"
        if lesson in self.problems:
            raise RuntimeError(f"the grader could not rebuild the lesson's objects: {self.problems[lesson]}")
        return self.values[lesson]

    def _build(self, lesson: str, expressions: list[str]) -> dict[str, object]:
        print(f"  (running the lesson {lesson} once to rebuild {', '.join(expressions)})", flush=True)
        source = self.lessons_dir / f"{lesson}.md"
        notebook = student_notebook(jupytext.read(source), lesson)
        scratch = Path(tempfile.mkdtemp(prefix=f"reference-{lesson}-", dir=self.work))
        private = Path(tempfile.mkdtemp(prefix="private-", dir=self.work))
        out = private / "values.pickle"
        with _Kernel(scratch, private, guard=False, course=self.course) as kernel:
            run = _run_cells(kernel, [c.source for c in notebook.cells if c.cell_type == "code"],
                             max(self.timeout, DEFAULT_TIMEOUT))
            if run.timed_out or run.died or run.error:
                raise RuntimeError(run.timed_out or run.died or run.error)
            code = (f"import pickle as _p\nwith open({str(out)!r}, 'wb') as _f:\n"
                    f"    _p.dump({{_k: eval(_k) for _k in {expressions!r}}}, _f)")
            cell = kernel.execute(code, 120)
            if _first_error(cell):
                raise RuntimeError(_first_error(cell))
        with open(out, "rb") as f:
            return pickle.load(f)  # written by the lesson's own code in a kernel no submission touched


def _snapshot(paths: Iterable[Path], skip: set[Path]) -> dict[str, tuple[int, int]]:
    state = {}
    for top in paths:
        if top.is_file():
            files = [top]
        elif top.is_dir():
            files = [p for p in top.rglob("*") if "__pycache__" not in p.parts]
        else:
            continue
        for path in files:
            if path in skip or not path.is_file():
                continue
            st = path.stat()
            state[str(path)] = (st.st_size, st.st_mtime_ns)
    return state


def _contents(top: Path) -> dict[str, str]:
    """The SHA-256 of every file under ``top`` (bytecode caches aside), by relative path."""
    return {str(p.relative_to(top)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(top.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def _changed(before: dict, after: dict) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def _feedback_row(student, exercise: Exercise, feedback: object) -> Row:
    """``correct`` or ``wrong`` as the checker says; ``missing`` when it says "no answer yet"
    (a placeholder, or a function that still returns ``None``)."""
    if not isinstance(feedback, Feedback):
        return Row(student, exercise.lesson, exercise.name, "error",
                   f"the checker returned {type(feedback).__name__}, not a verdict")
    result = {True: "correct", False: "wrong", None: "missing"}.get(feedback.passed, "error")
    return Row(student, exercise.lesson, exercise.name, result, feedback.message)


def _check(student: str, exercise: Exercise, raw: dict, reader: _Reader, references: _References,
           checkers: dict[str, Callable]) -> Row:
    def row(result, message):
        return Row(student, exercise.lesson, exercise.name, result, message)

    answers = []
    for name in exercise.answers:
        data = raw[f"answer:{name}"]
        if data.get("t") == "undefined":
            return row("missing", f"`{name}` is not defined after the notebook ran.")
        if data.get("t") == "raised":
            return row("error", f"reading `{name}` raised {data.get('type')}: {data.get('msg')}")
        answers.append(_decode(data, reader))
    contexts = {}
    for text in exercise.contexts():
        data = raw[f"context:{text}"]
        value = None if data.get("t") in ("undefined", "raised") else _decode(data, None)
        if value is None or isinstance(value, codec.Opaque):
            # not data in the submission (a model): the lesson's own object, rebuilt by the grader
            value = references.get(exercise.lesson, exercise.contexts())[text]
        contexts[text] = value
    args = [ast.literal_eval(t) if _is_literal(t) else contexts[t] for t in exercise.args]
    kwargs = {k: ast.literal_eval(t) if _is_literal(t) else contexts[t] for k, t in exercise.kwargs}
    reader.check_deadline = time.monotonic() + CHECK_TIMEOUT
    try:
        feedback = checkers[exercise.checker](*answers, *args, **kwargs)
    except _CallTimeout:
        return row("timeout", f"your function did not return within {CHECK_TIMEOUT:g} s while being checked.")
    except Exception as exc:  # noqa: BLE001 - a checker that cannot use the answer
        return row("error", f"the checker could not use the answer: {type(exc).__name__}: {exc}")
    return _feedback_row(student, exercise, feedback)


def _all(student, lesson, exercises, result, message) -> list[Row]:
    return [Row(student, lesson, RUN, result, message)] + [
        Row(student, lesson, e.name, result, message) for e in exercises]


def _grade_submission(student: str, path: Path, lesson: str, exercises: list[Exercise],
                      title: str | None, timeout: float, work: Path, references: _References,
                      checkers: dict[str, Callable], course: Path | None = None) -> list[Row]:
    try:
        text = path.read_bytes().decode("utf-8")
        json.loads(text)
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except (UnicodeDecodeError, ValueError, nbformat.ValidationError, AttributeError, KeyError,
            TypeError) as exc:
        return _all(student, lesson, exercises, "error",
                    f"not a Jupyter notebook ({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''})")
    tagged = notebook.metadata.get("cnncourse", {})
    tagged = tagged.get("lesson") if isinstance(tagged, dict) else None
    if tagged is not None and tagged != lesson:
        return _all(student, lesson, exercises, "error",
                    f"this notebook is the lesson {tagged!r}, not {lesson!r}: submit it under its own name")
    if tagged is None and title is not None and _lesson_title(notebook) != title:
        return _all(student, lesson, exercises, "error",
                    f"this notebook is not the lesson {lesson!r} (its title is "
                    f"{_lesson_title(notebook)!r}, the lesson's is {title!r})")
    scratch = Path(tempfile.mkdtemp(prefix="scratch-", dir=work))
    private = Path(tempfile.mkdtemp(prefix="private-", dir=work))
    shutil.copyfile(path, scratch / path.name)
    sources = [c.source for c in notebook.cells if c.cell_type == "code"]
    rows: list[Row] = []
    try:
        with _Kernel(scratch, private, guard=True, course=course) as kernel:
            run = _run_cells(kernel, sources, timeout)
            run.refused = kernel.refused()
            if run.timed_out:
                return _all(student, lesson, exercises, "timeout", run.timed_out)
            if run.died:
                return _all(student, lesson, exercises, "error", run.died)
            reader = _Reader(kernel)
            expressions = {f"answer:{n}": n for e in exercises for n in e.answers}
            expressions.update({f"context:{t}": t for e in exercises for t in e.contexts()})
            raw = reader.read(expressions)
            for exercise in exercises:
                try:
                    rows.append(_check(student, exercise, raw, reader, references, checkers))
                except _KernelGone as exc:
                    rows.append(Row(student, lesson, exercise.name, "error", f"while checking: {exc}"))
                except (ValueError, KeyError, TypeError, RuntimeError) as exc:
                    rows.append(Row(student, lesson, exercise.name, "error", f"{type(exc).__name__}: {exc}"))
            run.refused = kernel.refused()
    except (CellTimeoutError, _CallTimeout):
        return _all(student, lesson, exercises, "timeout", "the kernel stopped answering the grader")
    except Exception as exc:  # noqa: BLE001 - one submission never stops the grader
        return _all(student, lesson, exercises, "error", f"the grader could not run it: {type(exc).__name__}: {exc}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(private, ignore_errors=True)
    problems = []
    if run.refused:
        problems.append("tried to act outside its scratch copy, refused: " + "; ".join(run.refused))
    if run.error:
        problems.append(run.error)
    if problems:
        rows.insert(0, Row(student, lesson, RUN, "error", " | ".join(problems)))
    return rows


def _write_reports(directory: Path, rows: list[Row], exercises: dict[str, list[Exercise]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "lesson", "exercise", "result", "feedback"])
    for row in rows:
        writer.writerow([row.student, row.lesson, row.exercise, row.result, row.feedback])
    atomic_write(directory / CSV_NAME, buffer.getvalue())

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["# Grades", "", f"{len({r.student for r in rows})} students, "
             f"{len({(r.student, r.lesson) for r in rows})} submissions. Each cell is the result of "
             f"one exercise; the reasons and the checkers' hints are in `{CSV_NAME}`.", ""]
    for lesson in sorted({r.lesson for r in rows}):
        names = [e.name for e in exercises.get(lesson, [])]
        lesson_rows = [r for r in rows if r.lesson == lesson]
        lines += [f"## {lesson}", "",
                  "| student | notebook | " + " | ".join(f"`{cell(n)}`" for n in names) + " | correct |",
                  "|---|---|" + "---|" * len(names) + "---:|"]
        for student in sorted({r.student for r in lesson_rows}):
            mine = {r.exercise: r for r in lesson_rows if r.student == student}
            run = mine.get(RUN)
            status = "ok" if run is None else cell(f"{run.result}: {run.feedback}")[:160]
            results = [mine[n].result if n in mine else "" for n in names]
            score = f"{results.count('correct')}/{len(names)}"
            lines.append(f"| {cell(student)} | {status} | " + " | ".join(results) + f" | {score} |")
        lines.append("")
    atomic_write(directory / SUMMARY_NAME, "\n".join(lines))


def _lesson_for(stem: str, lessons: list[str]) -> str | None:
    if stem in lessons:
        return stem
    number = stem.split("-")[0].split("_")[0]
    matches = [name for name in lessons if number.isdigit() and name.split("-")[0] == number.zfill(2)]
    return matches[0] if len(matches) == 1 else None


def grade(submissions: Path | str, timeout: float = DEFAULT_TIMEOUT, lessons_dir: Path | None = None,
          log: Callable[[str], None] = print) -> list[Row]:
    """Grade every ``submissions/<student>/<lesson>.ipynb`` and write the reports there.

    Parameters
    ----------
    submissions
        The folder with one subfolder per student.
    timeout
        Seconds each notebook may run, top to bottom (positive).
    lessons_dir
        The lessons whose exercises are graded (default: the course's ``lessons/``).
    log
        Called with one progress line per submission.

    Returns
    -------
    list of Row
        The rows of ``grades.csv``, in order.
    """
    directory = Path(submissions)
    if not directory.is_dir():
        raise ValueError(f"submissions must be a folder of student folders, got {str(submissions)!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    lessons_dir = ROOT / "lessons" if lessons_dir is None else Path(lessons_dir)
    exercises = course_exercises(sorted(lessons_dir.glob("*.md")))
    titles = {name: _lesson_title(jupytext.read(lessons_dir / f"{name}.md")) for name in exercises}
    # The checkers are imported now, before any submission runs.
    checkers = {e.checker: getattr(importlib.import_module(e.module), e.checker)
                for lesson in exercises.values() for e in lesson}
    jobs = sorted((s.name, p) for s in directory.iterdir() if s.is_dir() and not s.name.startswith(".")
                  for p in s.iterdir() if p.is_file() and not p.name.startswith("."))
    reports = {directory / CSV_NAME, directory / SUMMARY_NAME}
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="cnncourse-grade-") as work:
        work = Path(work)
        # the course as it is now, for every kernel: edits to the course during grading, or by
        # a submission, cannot reach the next submission
        pristine, course = work / "pristine", work / "course"
        shutil.copytree(ROOT / "cnncourse", pristine / "cnncourse",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        shutil.copytree(lessons_dir, pristine / "lessons", ignore=shutil.ignore_patterns(".*"))
        shutil.copytree(pristine, course)
        frozen = _contents(pristine)
        references = _References(course / "lessons", timeout, work, course)
        for number, (student, path) in enumerate(jobs, start=1):
            started = time.monotonic()
            lesson = _lesson_for(path.stem, list(exercises))
            if lesson is None or path.suffix != ".ipynb":
                mine = [Row(student, path.stem, RUN, "error",
                            f"{path.name} is not a lesson's notebook: name it after its lesson "
                            f"(one of {', '.join(f'{n}.ipynb' for n in exercises)})")]
            else:
                before = _snapshot([directory], reports)
                mine = _grade_submission(student, path, lesson, exercises[lesson], titles[lesson],
                                         timeout, work, references, checkers, course)
                changed = _changed(before, _snapshot([directory], reports))
                tampered = _changed(frozen, _contents(course))
                if tampered:  # reported, and the course put back for the next submission
                    changed += [f"the course's {name}" for name in tampered]
                    shutil.rmtree(course)
                    shutil.copytree(pristine, course)
                if changed:
                    message = ("changed files outside its scratch copy, so its grades are void: "
                               + ", ".join(changed[:5]))
                    mine = _all(student, lesson, exercises[lesson], "error", message)
            rows.extend(mine)
            counts = {r: sum(1 for m in mine if m.result == r and m.exercise != RUN) for r in RESULTS}
            run = next((m for m in mine if m.exercise == RUN), None)
            note = f"; {run.result}: {run.feedback[:120]}" if run else ""
            log(f"[{number}/{len(jobs)}] {student}/{path.name}: {counts['correct']}/"
                f"{sum(counts.values())} correct{note} ({time.monotonic() - started:.1f} s)")
    _write_reports(directory, rows, exercises)
    log(f"wrote {directory / CSV_NAME} and {directory / SUMMARY_NAME}")
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnncourse.teaching.grade",
                                     description="Grade students' notebooks with the course's checkers.")
    parser.add_argument("submissions", type=Path, help="a folder holding <student>/<lesson>.ipynb")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help=f"seconds each notebook may run (default {DEFAULT_TIMEOUT:g})")
    args = parser.parse_args(argv)
    try:
        grade(args.submissions, args.timeout)
    except ValueError as exc:
        sys.exit(f"make grade: {exc}")


if __name__ == "__main__":
    main()
