"""The benchmark scripts measure the recipes the lessons actually use.

``benchmarks/seeds.py`` copies each lesson's recipe; these tests read the lessons' source and
fail when a lesson's recipe changes without the copy.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def assigned(source: str, names: str) -> tuple:
    """The values of the one-line tuple assignment ``names = ...`` in a lesson's source."""
    found = re.findall(rf"^{re.escape(names)} = (.+)$", source, flags=re.MULTILINE)
    assert len(found) == 1, f"expected one line '{names} = ...', found {len(found)}"
    value = ast.literal_eval(found[0].split("#")[0].strip())
    return value if isinstance(value, tuple) else (value,)


@pytest.fixture(scope="module")
def seeds() -> ModuleType:
    return load_script("seeds")


def test_lesson3_recipe_is_the_one_measured(seeds):
    recipe = seeds.RECIPES["lesson03-mlp"]
    source = (ROOT / "lessons" / "03-loss-and-training-loop.md").read_text()
    assert assigned(source, "EPOCHS, BATCH, PEAK_LR, DROPOUT, SMOOTHING") == (
        recipe.epochs, recipe.batch_size, recipe.max_lr, recipe.dropout, recipe.label_smoothing)
    assert f"assert test_accuracy >= {recipe.target}" in source


def test_lesson8_recipe_is_the_one_measured(seeds):
    recipe = seeds.RECIPES["lesson08-cnn"]
    source = (ROOT / "lessons" / "08-convolutional-networks.md").read_text()
    assert assigned(source, "CNN_EPOCHS, SMOOTHING") == (recipe.epochs, recipe.label_smoothing)
    assert f"fast_loaders(batch_size={recipe.batch_size}," in source
    assert f"one_cycle(cnn, max_lr={recipe.max_lr}, epochs=CNN_EPOCHS, betas={recipe.betas})" in source
    assert f"assert cnn_test.accuracy >= {recipe.target}" in source
    ablation = seeds.RECIPES["lesson08-cnn-no-smoothing"]
    assert ablation == seeds.Recipe(**{**vars(recipe), "label_smoothing": 0.0})


def test_unknown_recipe_is_a_clear_error(seeds, capsys):
    with pytest.raises(SystemExit):
        seeds.main(["--recipes", "lesson99"])
    assert "unknown recipe(s) ['lesson99']" in capsys.readouterr().err
