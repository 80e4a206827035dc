"""The package's own rules of layout (docs/ARCHITECTURE.md): every module says what it
exports (``__all__``), and no module imports a private name of another module."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "cnncourse"
MODULES = sorted(ROOT.rglob("*.py"))


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_every_module_defines_all_and_its_names_exist(path):
    module = importlib.import_module(_name(path))
    assert hasattr(module, "__all__"), f"{_name(path)} has no __all__"
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing, f"{_name(path)}.__all__ names {missing}, which it does not define"
