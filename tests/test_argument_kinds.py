"""The README's bad-input table is generated from ``cnncourse._checks.ARGUMENT_KINDS``
(scripts/argument_kinds.py), never written by hand: this fails when it is out of date."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("argument_kinds", ROOT / "scripts" / "argument_kinds.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_table_is_generated_from_the_kinds():
    script = _script()
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert script.section() in text, "run .venv/bin/python scripts/argument_kinds.py --write"


def test_every_kind_names_a_check_that_exists():
    from cnncourse import _checks
    from cnncourse.receptive_field import fits

    for _kind, check, _rule, _example in _checks.ARGUMENT_KINDS:
        name = check.rsplit(".", 1)[-1]
        assert hasattr(_checks, name) or hasattr(fits, name), check
