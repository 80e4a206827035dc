"""scripts/pdf.py puts the numbers the HTML build computed into the printed lessons."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("pdf_script", ROOT / "scripts" / "pdf.py")
pdf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pdf)


def _nb(*sources):
    return {"cells": [{"cell_type": "markdown", "source": s, "metadata": {}} for s in sources]
            + [{"cell_type": "code", "source": "{eval}`prose.untouched`", "outputs": [], "metadata": {}}]}


def test_each_role_becomes_its_recorded_text():
    nb = pdf.with_prose_values(_nb("It has {eval}`prose.n` parameters and {eval}`prose.acc`.", ["a ", "{eval}`prose.n`"]),
                               {"prose.n": "13,824", "prose.acc": "98.9%"})
    assert nb["cells"][0]["source"] == "It has 13,824 parameters and 98.9%."
    assert nb["cells"][1]["source"] == "a 13,824"
    assert nb["cells"][2]["source"] == "{eval}`prose.untouched`"  # code is left as it is


def test_a_role_without_a_value_is_named():
    with pytest.raises(ValueError, match=r"lesson-x: no value recorded for \['prose.missing'\]"):
        pdf.with_prose_values(_nb("{eval}`prose.missing`"), {}, "lesson-x")


def test_the_html_only_extensions_include_the_recorder():
    assert "prose_values" in pdf.HTML_ONLY_EXTENSIONS


def test_the_copied_pdf_is_readable_by_others(tmp_path):
    """The PDF is copied into _build/html, which a web server running as another user serves
    (seen failing against the mutant pdf-copied-0600)."""
    source = tmp_path / "book.pdf"
    source.write_bytes(b"%PDF-1.5")
    source.chmod(0o600)
    target = tmp_path / "html" / "book.pdf"
    pdf._atomic_copy(source, target)
    assert target.read_bytes() == b"%PDF-1.5"
    assert target.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["book.pdf"]  # no temporary file left
