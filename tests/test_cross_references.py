"""Lessons refer to each other by link, never by number, so that an instructor can take one
lesson out of the course (or reorder them) and every reference either still holds or fails the
build (a link to a missing page is a warning, and the book builds with -W -n)."""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "lessons").glob("*.md"))
BY_NUMBER = re.compile(r"\b(?:lessons?[ -]\d+|lessons? \d+ (?:and|to) \d+)\b", re.IGNORECASE)
LINK = re.compile(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)")


def _text(path: Path) -> list[tuple[int, str]]:
    """(cell number, source) of every cell a reader sees: Markdown, code, captions."""
    notebook = jupytext.read(path)
    return [(i, c.source) for i, c in enumerate(notebook.cells)
            if "lab-glossary" not in c.metadata.get("tags", [])]


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_no_lesson_is_named_by_its_number(path):
    found = [f"cell {i}: ...{m.group(0)}..." for i, text in _text(path) for m in BY_NUMBER.finditer(text)]
    assert not found, (f"{path.name} names lessons by number; link them by title instead, e.g. "
                       f"[Pooling](07-pooling.md): {found}")


@pytest.mark.parametrize("path", LESSONS + sorted((ROOT / "book").glob("*.md")),
                         ids=lambda p: p.stem)
def test_every_link_to_a_page_resolves(path):
    for target in LINK.findall(path.read_text()):
        if "://" in target:
            continue
        assert (path.parent / target).resolve().is_file(), f"{path.name} links to {target}, which does not exist"


def test_the_pattern_catches_the_ways_lessons_were_named():
    for text in ("as in lesson 3", "Lesson 8 measures", "the lesson-8 CNN", "lessons 5 to 8", "lessons 7 and 8"):
        assert BY_NUMBER.search(text), text
    for text in ("the lesson on pooling", "[Pooling](07-pooling.md)", "lessons/07-pooling.md"):
        assert not BY_NUMBER.search(text), text
