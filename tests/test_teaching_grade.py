"""The grader (cnncourse.teaching.grade): every lesson's exercises are gradeable, and a class's
submissions, good and bad, are graded by the course's checkers without one stopping the rest.

The end-to-end tests grade one folder of submissions once (module fixtures): lesson 1's student
edition with its answers filled in from the solution cells, and small notebooks that leave
the placeholders, that raise, patch the checkers, write outside their scratch copy, are not JSON
or are another lesson; a second, short-timeout run holds an endless notebook and a function
that never returns. About a minute on two cores.
"""

from __future__ import annotations

import ast
import base64
import csv
import hashlib
import io
from pathlib import Path

import jupytext
import nbformat
import numpy as np
import pytest
import torch

from cnncourse.exercises.feedback import Feedback
from cnncourse.teaching import _codec, grade
from cnncourse.teaching.marking import is_solution
from cnncourse.teaching.student import student_notebook

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "lessons").glob("*.md"))
LESSON = "01-images-as-arrays"


def _solution_call(lesson, exercise: grade.Exercise) -> tuple[list[ast.stmt], ast.Call]:
    """The solution cell's statements before its asserts, and its first passing call of the checker."""
    for cell in lesson.cells:
        if cell.cell_type != "code" or not is_solution(cell):
            continue
        tree = ast.parse(cell.source)
        for node in tree.body:
            if not isinstance(node, ast.Assert):
                continue
            tests = node.test.values if isinstance(node.test, ast.BoolOp) else [node.test]
            for test in tests:  # `assert check_x(a)` or `assert check_x(a) and ...`, never `not`
                if isinstance(test, ast.Call) and getattr(test.func, "id", None) == exercise.checker:
                    return [n for n in tree.body if not isinstance(n, ast.Assert)], test
    raise LookupError(f"{exercise.lesson}: no solution cell asserts {exercise.checker}(...)")


def filled_student_notebook(path: Path) -> nbformat.NotebookNode:
    """The lesson's student edition with each answer taken from its solution cell."""
    lesson = jupytext.read(path)
    notebook = student_notebook(lesson, path.stem)
    for exercise in grade.lesson_exercises(path):
        source = lesson.cells[exercise.cell].source
        prerequisites, call = _solution_call(lesson, exercise)
        values = ", ".join(ast.unparse(a) for a in call.args[:len(exercise.answers)])
        tree = ast.parse(source)
        line = next(n.lineno for n in tree.body if isinstance(n, ast.Expr)
                    and getattr(getattr(n.value, "func", None), "id", None) == exercise.checker)
        lines = source.splitlines()
        insert = [ast.unparse(n) for n in prerequisites] + [f"{exercise.name} = {values}"]
        cell = next(c for c in notebook.cells if c.source == source)
        cell.source = "\n".join(lines[:line - 1] + insert + lines[line - 1:])
    return notebook


def small_notebook(*sources: str, lesson: str = LESSON) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    notebook.metadata["cnncourse"] = {"edition": "student", "lesson": lesson}
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _rows(folder: Path) -> dict[tuple[str, str], dict]:
    with open(folder / grade.CSV_NAME, newline="") as f:
        return {(r["student"], r["exercise"]): r for r in csv.DictReader(f)}


# ----------------------------------------------------------------------------- every lesson
@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_every_checker_call_of_every_lesson_is_gradeable(path):
    """Each exercise names its answer, its checker is a course checker, its question's literals
    read, its other arguments are plain names or items of the lesson, and the solution cell's
    answer, when it is data, is judged correct after crossing the grader's data codec."""
    lesson = jupytext.read(path)
    exercises = grade.lesson_exercises(path)
    calls = sum(1 for c in lesson.cells if c.cell_type == "code" and not is_solution(c)
                for n in ast.parse(c.source).body if isinstance(n, ast.Expr)
                and isinstance(n.value, ast.Call) and getattr(n.value.func, "id", "").startswith("check_"))
    assert len(exercises) == calls > 0
    for exercise in exercises:
        checker = getattr(__import__(exercise.module, fromlist=[exercise.checker]), exercise.checker)
        assert callable(checker) and checker.__module__.startswith("cnncourse.exercises"), exercise
        for text in exercise.contexts():
            assert isinstance(ast.parse(text, mode="eval").body, (ast.Name, ast.Subscript)), text
        _, call = _solution_call(lesson, exercise)
        answers = call.args[:len(exercise.answers)]
        if exercise.contexts() or not all(grade._is_literal(ast.unparse(a)) for a in answers):
            continue  # functions and the lesson's objects: covered end to end below for lesson 1
        values = [_codec.loads(_codec.dumps(ast.literal_eval(ast.unparse(a)))) for a in answers]
        args = [ast.literal_eval(t) for t in exercise.args]
        kwargs = {k: ast.literal_eval(t) for k, t in exercise.kwargs}
        feedback = checker(*values, *args, **kwargs)
        assert isinstance(feedback, Feedback) and feedback.passed, (exercise, feedback)
        unanswered = checker(*[None] * len(answers), *args, **kwargs)
        assert isinstance(unanswered, Feedback) and unanswered.passed is None, exercise


def test_an_exercise_without_a_placeholder_is_refused(tmp_path):
    source = tmp_path / "99-bad.md"
    notebook = small_notebook("from cnncourse.exercises.images import check_flat_index\n\n"
                              "check_flat_index(lambda r, c, w: 0)")
    jupytext.write(notebook, source, fmt="md:myst")
    with pytest.raises(ValueError, match="placeholder"):
        grade.lesson_exercises(source)


def test_the_codec_carries_data_and_never_code():
    functions = {}
    value = {"a": [1, 2.5, None, ...], "b": (np.arange(6).reshape(2, 3), torch.ones(2)),
             "c": {"x", "y"}, "d": np.float32(1.5), "e": True, "f": 10**30}
    back = _codec.loads(_codec.dumps(value, functions))
    assert back["a"] == [1, 2.5, None, ...] and back["c"] == {"x", "y"} and back["f"] == 10**30
    assert np.array_equal(back["b"][0], value["b"][0]) and isinstance(back["b"][1], torch.Tensor)
    assert back["d"] == np.float32(1.5) and back["e"] is True
    handle = _codec.loads(_codec.dumps(len, functions))  # a function crosses as a handle only
    assert isinstance(handle, _codec.Opaque) and functions["f0"] is len
    stand_in = _codec.loads(_codec.dumps(torch.nn.Linear(2, 2)))
    assert type(stand_in).__name__ == "Linear" and isinstance(stand_in, _codec.Opaque)
    assert _codec.loads(_codec.dumps(np.array([object()], dtype=object))).type_name == "ndarray"
    buffer = io.BytesIO()  # an object array saved with pickle is refused when read back
    np.save(buffer, np.array([{"k": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError):
        _codec.decode({"t": "ndarray", "v": base64.b64encode(buffer.getvalue()).decode()})
    with pytest.raises(ValueError):
        _codec.decode({"t": "pickle", "v": ""})


# ----------------------------------------------------------------------------- a class
@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    outside = tmp_path_factory.mktemp("outside")
    path = ROOT / "lessons" / f"{LESSON}.md"

    def put(student, notebook, name=f"{LESSON}.ipynb"):
        (folder / student).mkdir()
        nbformat.write(notebook, folder / student / name)

    put("alice", filled_student_notebook(path))
    put("bob", small_notebook("flat_index = None", "pixel_position = None",  # nothing answered
                              "low, high = None, None"))
    put("raiser", small_notebook("raise ZeroDivisionError('boom')",
                                 "flat_index = lambda r, c, width: r * width + c"))
    put("patcher", small_notebook(
        "import cnncourse.exercises.images as images, cnncourse.exercises.feedback as feedback\n"
        "from cnncourse.exercises.feedback import Feedback\n"
        "always = lambda *a, **k: Feedback('x', True, 'correct')\n"
        "images.check_flat_index = images.check_pixel_position = images.check_normalized_range = always\n"
        "check_flat_index = always\n"
        "Feedback.__bool__ = lambda self: True\n"
        "feedback.wrong = feedback.correct\n"
        "flat_index = lambda r, c, width: 0\n"
        "low, high = 0, 255",
        "def pixel_position(i, width):\n"
        "    import cnncourse.exercises.feedback as f\n"
        "    f.wrong = f.correct\n"
        "    return (0, 0)"))
    put("writer", small_notebook(
        f"open({str(outside / 'pwned.txt')!r}, 'w').write('x')",
        f"import subprocess\nsubprocess.run(['touch', {str(outside / 'spawned.txt')!r}])",
        f"import os\nos.remove({str(folder / 'bob' / (LESSON + '.ipynb'))!r})",
        "open('inside.txt', 'w').write('scratch is fine')\nlow, high = -1, 1"))
    (folder / "garbage").mkdir()
    (folder / "garbage" / f"{LESSON}.ipynb").write_text("this is not JSON")
    put("mixup", small_notebook("low, high = -1, 1", lesson="02-multi-layer-perceptrons"))
    put("carol", small_notebook("x = 1"), name="homework.ipynb")
    before = _digest(folder)
    lines = []
    rows = grade.grade(folder, timeout=240, log=lines.append)
    return folder, outside, before, rows, lines


def test_reports_are_written_and_nothing_else_changes(graded):
    folder, _, before, rows, lines = graded
    after = _digest(folder)
    assert {k for k in after if k not in before} == {grade.CSV_NAME, grade.SUMMARY_NAME}
    assert {k: v for k, v in after.items() if k in before} == before
    assert len(lines) == 8 + 1 and lines[0].startswith("[1/8] alice/")  # a line per submission
    with open(folder / grade.CSV_NAME, newline="") as f:
        header = next(csv.reader(f))
    assert header == ["student", "lesson", "exercise", "result", "feedback"]
    assert {r.result for r in rows} <= set(grade.RESULTS)
    summary = (folder / grade.SUMMARY_NAME).read_text()
    assert "| `flat_index` | `pixel_position` | `low, high` |" in summary
    assert "| alice | ok | correct | correct | correct | 3/3 |" in summary, summary


def test_right_answers_are_correct_and_placeholders_missing(graded):
    rows = _rows(graded[0])
    for name in ("flat_index", "pixel_position", "low, high"):
        assert rows["alice", name]["result"] == "correct"
        assert rows["bob", name]["result"] == "missing"
    assert ("alice", grade.RUN) not in rows, rows["alice", grade.RUN]


def test_a_notebook_that_raises_is_reported_and_graded_past_the_error(graded):
    rows = _rows(graded[0])
    assert rows["raiser", grade.RUN]["result"] == "error"
    assert "code cell 1 raised ZeroDivisionError: boom" in rows["raiser", grade.RUN]["feedback"]
    assert rows["raiser", "flat_index"]["result"] == "correct"
    assert rows["raiser", "pixel_position"]["result"] == "missing"


def test_patching_the_checkers_gains_nothing(graded):
    rows = _rows(graded[0])
    for name in ("flat_index", "pixel_position", "low, high"):
        assert rows["patcher", name]["result"] == "wrong", rows["patcher", name]
    assert rows["patcher", "pixel_position"]["feedback"] != "correct"


def test_writes_outside_the_scratch_copy_are_refused_and_reported(graded):
    folder, outside, *_ = graded
    rows = _rows(folder)
    assert not (outside / "pwned.txt").exists() and not (outside / "spawned.txt").exists()
    assert (folder / "bob" / f"{LESSON}.ipynb").exists()
    reason = rows["writer", grade.RUN]["feedback"]
    assert rows["writer", grade.RUN]["result"] == "error"
    assert "outside its scratch copy" in reason and "pwned.txt" in reason
    assert "starting a program" in reason and "os.remove" in reason
    assert rows["writer", "low, high"]["result"] == "correct"  # its own scratch folder was fine


def test_not_a_notebook_another_lesson_and_a_stray_file_get_a_reason(graded):
    rows = _rows(graded[0])
    assert rows["garbage", grade.RUN]["result"] == "error"
    assert "not a Jupyter notebook" in rows["garbage", grade.RUN]["feedback"]
    assert rows["garbage", "flat_index"]["result"] == "error"
    assert "02-multi-layer-perceptrons" in rows["mixup", grade.RUN]["feedback"]
    assert rows["mixup", "low, high"]["result"] == "error"
    assert "not a lesson's notebook" in rows["carol", grade.RUN]["feedback"]


def test_endless_notebooks_and_functions_time_out(tmp_path, monkeypatch):
    monkeypatch.setattr(grade, "CHECK_TIMEOUT", 3.0)
    for student, notebook in {
        "looper": small_notebook("while True:\n    pass"),
        "stuck": small_notebook("def flat_index(r, c, width):\n    while True:\n        pass",
                                "low, high = -1, 1"),
    }.items():
        (tmp_path / student).mkdir()
        nbformat.write(notebook, tmp_path / student / f"{LESSON}.ipynb")
    lines = []
    grade.grade(tmp_path, timeout=8, log=lines.append)
    rows = _rows(tmp_path)
    assert rows["looper", grade.RUN]["result"] == "timeout"
    assert "8 s" in rows["looper", grade.RUN]["feedback"]
    assert rows["looper", "flat_index"]["result"] == "timeout"
    assert rows["stuck", "flat_index"]["result"] == "timeout"
    assert rows["stuck", "low, high"]["result"] == "correct"  # the kernel was interrupted, not lost


@pytest.mark.parametrize("timeout", [0, -1, True, "600"])
def test_bad_arguments(tmp_path, timeout):
    with pytest.raises(ValueError, match="timeout"):
        grade.grade(tmp_path, timeout=timeout)
    with pytest.raises(ValueError, match="submissions"):
        grade.grade(tmp_path / "missing")


def test_kernels_import_a_frozen_copy_and_edits_to_the_course_during_grading_void_nothing(tmp_path):
    """The kernels import the grader's copy of the package (so neither a submission nor an
    instructor editing the course can change what the next submission runs against), and an
    edit to the course's own files while a class is graded voids no grade."""
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    (lessons / f"{LESSON}.md").write_bytes((ROOT / "lessons" / f"{LESSON}.md").read_bytes())
    folder = tmp_path / "class"
    for student in ("ann", "ben"):
        (folder / student).mkdir(parents=True)
        nbformat.write(small_notebook(
            "import cnncourse, os\n"
            "assert 'cnncourse-grade-' in cnncourse.__file__, cnncourse.__file__\n"
            "# torch's compiler caches stay in the scratch copy (its default is /tmp/torchinductor_<user>)\n"
            "assert os.environ['TORCHINDUCTOR_CACHE_DIR'].startswith(os.getcwd())\n"
            "low, high = -1, 1"), folder / student / f"{LESSON}.ipynb")

    def log(line):  # the instructor edits the lesson between two submissions
        (lessons / f"{LESSON}.md").write_text((lessons / f"{LESSON}.md").read_text() + "\n")

    rows = grade.grade(folder, timeout=120, lessons_dir=lessons, log=log)
    by = {(r.student, r.exercise): r for r in rows}
    assert (("ann", grade.RUN) not in by and ("ben", grade.RUN) not in by), [r for r in rows if r.exercise == grade.RUN]
    assert by["ann", "low, high"].result == by["ben", "low, high"].result == "correct"
