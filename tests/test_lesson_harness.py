"""The lesson test harness: the root conftest lets nbval run MyST-Markdown lessons, and a cell
that raises fails the run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

FRONT_MATTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A tiny lesson

```{code-cell} ipython3
x = 21 * 2
```
"""


def _run_nbval(folder: Path) -> subprocess.CompletedProcess:
    shutil.copy(REPO / "conftest.py", folder / "conftest.py")
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
                           "--nbval-current-env", str(folder / "lesson.md")],
                          cwd=folder, capture_output=True, text=True, timeout=300)


def test_working_lesson_passes(tmp_path):
    (tmp_path / "lesson.md").write_text(FRONT_MATTER + "\n```{code-cell} ipython3\nassert x == 42\n```\n")
    result = _run_nbval(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_broken_lesson_is_caught(tmp_path):
    """A lesson whose cell raises must fail `make test` (proved on a lesson built to break)."""
    (tmp_path / "lesson.md").write_text(FRONT_MATTER + "\n```{code-cell} ipython3\nassert x == 41, 'broken'\n```\n")
    result = _run_nbval(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 failed" in result.stdout and "AssertionError" in result.stdout


def test_plain_markdown_is_not_collected(tmp_path):
    (tmp_path / "lesson.md").write_text("# Not a notebook\n\nJust prose.\n")
    result = _run_nbval(tmp_path)
    assert "no tests ran" in result.stdout
