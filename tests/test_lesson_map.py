"""book/_ext/lesson_map.py: the instructor page's map is read from the lessons' own links."""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import lesson_map  # noqa: E402

from cnncourse.teaching.grade import lesson_exercises  # noqa: E402


def test_the_map_follows_the_toc_and_the_links():
    lessons = lesson_map._toc_lessons(ROOT)
    assert [p.name for p in lessons] == sorted(p.name for p in (ROOT / "lessons").glob("*.md"))
    rows = {path.stem: (title, linked, n) for path, title, linked, n in lesson_map.lesson_map(lessons)}
    for path in lessons:
        text = "\n".join(c.source for c in jupytext.read(path).cells)
        title, linked, exercises = rows[path.stem]
        assert title == next(line[2:] for line in text.splitlines() if line.startswith("# "))
        earlier = {p.stem for p in lessons[:lessons.index(path)]}
        assert {item.split("|")[1] for item in linked} == {s for s in lesson_map.LINK.findall(text) if s in earlier}
        assert exercises == len(lesson_exercises(path))


def test_a_lesson_left_out_of_the_toc_leaves_the_map(tmp_path):
    lessons = lesson_map._toc_lessons(ROOT)
    without_5 = [p for p in lessons if not p.name.startswith("05-")]
    rows = {p.stem: linked for p, _, linked, _ in lesson_map.lesson_map(without_5)}
    assert all("05-kernel-convolution" not in item for linked in rows.values() for item in linked)


def test_exercises_read_the_same_from_the_lesson_and_its_notebook(tmp_path):
    """The PDF build reads executed .ipynb copies of the lessons (book/_ext/lesson_map.py)."""
    for path in sorted((ROOT / "lessons").glob("*.md")):
        notebook = tmp_path / f"{path.stem}.ipynb"
        jupytext.write(jupytext.read(path), notebook)
        assert lesson_exercises(notebook) == lesson_exercises(path)
