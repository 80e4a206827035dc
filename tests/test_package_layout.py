"""The package's own rules of layout (docs/ARCHITECTURE.md): every module says what it
exports (``__all__``), and no module imports a private name of another module."""

from __future__ import annotations

import ast
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


def test_no_module_imports_a_private_name_of_another():
    """A name with a leading underscore is its module's own business: what two modules share
    has a public name (in a private module, such as plots._layout, if it is not for users)."""
    found = []
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cnncourse"):
                found += [f"{_name(path)}: {node.module}.{a.name}" for a in node.names
                          if a.name.startswith("_") and a.name != "__all__"]
    assert not found, "private names imported across modules:\n" + "\n".join(found)


def test_every_top_level_module_is_on_a_floor_of_the_import_contract():
    """The floors contract (pyproject.toml) is not exhaustive by itself: a module left out of
    it could import anything. Seen failing before kernel_learning was added to it."""
    import re

    import tomllib

    config = tomllib.loads((ROOT.parent / "pyproject.toml").read_text(encoding="utf-8"))
    floors = next(c for c in config["tool"]["importlinter"]["contracts"] if c["name"].startswith("Floors"))
    named = set(re.findall(r"cnncourse\.(\w+)", " ".join(floors["layers"])))
    children = {p.stem if p.is_file() else p.name for p in ROOT.iterdir()
                if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()}
    assert children - named == set(), f"modules on no floor: {sorted(children - named)}"


def test_the_documents_pyproject_points_at_exist():
    import re

    text = (ROOT.parent / "pyproject.toml").read_text(encoding="utf-8")
    named = set(re.findall(r"(?<![\w/.-])([\w/.-]+\.md)\b", text))
    assert "docs/ARCHITECTURE.md" in named
    assert all((ROOT.parent / name).exists() for name in named), named
