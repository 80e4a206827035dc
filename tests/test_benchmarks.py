"""The benchmark scripts measure the recipes the lessons actually use.

Lessons and benchmarks import their recipes from :mod:`cnncourse.recipes`; these tests check that
the benchmark rows are those objects, not copies.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch

from cnncourse import recipes
from cnncourse.models import MLP, ConvNet, fast_convnet

ROOT = Path(__file__).resolve().parents[1]


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def seeds() -> ModuleType:
    return load_script("seeds")


@pytest.fixture(scope="module")
def run() -> ModuleType:
    return load_script("run")


def test_seed_rows_are_the_lessons_recipes(seeds):
    rows = seeds.ROWS
    assert rows["lesson03-mlp"].recipe is recipes.LESSON3_MLP
    assert rows["lesson08-cnn"].recipe is recipes.LESSON8_CNN
    assert rows["lesson10-cnn"].recipe is recipes.LESSON10_CNN
    ablation = rows["lesson08-cnn-no-smoothing"].recipe
    assert ablation.label_smoothing == 0.0
    assert dataclasses.replace(ablation, name=recipes.LESSON8_CNN.name, label_smoothing=0.1) == recipes.LESSON8_CNN
    assert isinstance(rows["lesson03-mlp"].model(), MLP)
    assert isinstance(rows["lesson08-cnn"].model(), ConvNet)
    assert isinstance(rows["lesson10-cnn"].model(), ConvNet)
    assert rows["lesson10-cnn"].model().space_to_depth == 2  # lesson 10's own network
    assert rows["lesson10-long"].recipe is recipes.LESSON10_LONG
    assert not rows["lesson03-mlp"].configurable and rows["lesson08-cnn"].configurable


@pytest.mark.parametrize("row, lesson, test_assert, val_assert", [
    ("lesson03-mlp", "03-loss-and-training-loop", "assert test_accuracy >= {}", "assert reloaded.accuracy >= {}"),
    ("lesson08-cnn", "08-convolutional-networks", "assert cnn_test.accuracy >= {}", "cnn_val.accuracy >= {}"),
    ("lesson10-cnn", "10-how-fast-can-we-train", "assert test_accuracy >= {}", None),
])
def test_seed_targets_are_what_the_lessons_assert(seeds, row, lesson, test_assert, val_assert):
    """make seeds measures the margin of the targets the lessons assert, on test and on validation."""
    text = (ROOT / "lessons" / f"{lesson}.md").read_text()
    target = seeds.ROWS[row]
    assert test_assert.format(f"{target.target:g}") in text
    if val_assert is None:
        assert target.val_target is None
    else:
        assert val_assert.format(f"{target.val_target:g}") in text


def test_seed_configs_cover_both_ends_of_the_choice(seeds):
    assert seeds.CONFIGS["float32"] == seeds.TrainingConfig(False, None)
    assert seeds.CONFIGS["bf16+channels_last"] == seeds.TrainingConfig(True, torch.bfloat16)


def test_benchmark_recipes_come_from_the_package(run):
    assert run.RECIPES["fastest"].recipe is recipes.FASTEST_PUBLISHED
    assert run.RECIPES["cnncourse"].recipe is recipes.LESSON10_CNN
    assert run.RECIPES["cnncourse_no_smoothing"].recipe.label_smoothing == 0.0
    assert run.RECIPES["cnncourse_long"].recipe is recipes.LESSON10_LONG
    assert run.RECIPES["cnncourse_long"].target == 0.995


def test_ablation_steps_change_one_thing_at_a_time(run):
    """fastest -> precision -> one epoch -> stem -> widths: each step is the one before plus one change."""
    cpu = torch.device("cpu")
    data = {"train_all": (torch.zeros(512, 1, 28, 28), torch.zeros(512, dtype=torch.long))}
    built = {}
    for name in ("fastest", *run.STEPS):
        with torch.no_grad():
            model, *_, options = run.RECIPES[name].build(cpu, data)
        built[name] = (type(model), getattr(model, "space_to_depth", 1),
                       [m.out_channels for m in model.modules() if isinstance(m, torch.nn.Conv2d)],
                       options.get("autocast_dtype"), run.RECIPES[name].recipe.epochs,
                       options["loss_fn"].label_smoothing)
    chosen = run.training_config(cpu).autocast_dtype
    assert built["fastest"] == (ConvNet, 1, [24, 32], None, 2, 0.0)
    assert built["step1_precision"] == (ConvNet, 1, [24, 32], chosen, 2, 0.0)
    assert built["step2_one_epoch"] == (ConvNet, 1, [24, 32], chosen, 1, 0.1)
    assert built["step3_stem"] == (ConvNet, 2, [24, 32], chosen, 1, 0.1)
    assert built["cnncourse"] == (ConvNet, 2, [32, 48], chosen, 1, 0.1)


@pytest.mark.parametrize("args, message", [(["--recipes", "lesson99"], "unknown recipe(s) ['lesson99']"),
                                           (["--configs", "fp8"], "unknown configuration(s) ['fp8']")])
def test_unknown_names_are_a_clear_error(seeds, capsys, args, message):
    with pytest.raises(SystemExit):
        seeds.main(args)
    assert message in capsys.readouterr().err


def test_load_timing_starts_and_stops_its_busy_process(run, monkeypatch):
    started = []

    class Spinner:
        def __init__(self, command):
            started.append(command)
            self.stopped = False

        def terminate(self):
            self.stopped = True

        def wait(self):
            assert self.stopped

    timings = iter([10.0, 14.0])
    monkeypatch.setattr(run.subprocess, "Popen", Spinner)
    monkeypatch.setattr(run.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(run, "lesson_seconds", lambda pattern: {"08-x": next(timings)})
    assert run.load_seconds("08-x") == {"idle": 10.0, "one_busy_core": 14.0}
    assert started and started[0][-1] == "while True: pass"


def test_unknown_benchmark_recipe_is_a_clear_error(run, capsys):
    with pytest.raises(SystemExit):
        run.main(["--recipes", "slowest"])
    assert "unknown recipe(s) ['slowest']" in capsys.readouterr().err


def test_test_outputs_rows_time_make_test_outputs_idle_and_loaded(run, monkeypatch, capsys):
    class Spinner:
        def __init__(self, command):
            pass

        def terminate(self):
            pass

        def wait(self):
            pass

    import types

    timings = iter([300.0, 450.0])
    monkeypatch.setattr(run, "subprocess", types.SimpleNamespace(Popen=Spinner))
    monkeypatch.setattr(run.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(run, "test_outputs_seconds", lambda: next(timings))
    assert run.main(["--skip", "throughput,recipes,lessons,load", "--test-outputs"]) == 0
    out = capsys.readouterr().out
    assert "test_outputs_seconds/idle" in out and "300.00" in out
    assert "ratio/load/test_outputs" in out and "1.50" in out


def test_recipes_take_turns_seed_by_seed(run, monkeypatch, capsys):
    """A slow spell of the host must hit every recipe alike: seed 0 of each, then seed 1 of each."""
    calls = []
    monkeypatch.setattr(run, "warm_up_process", lambda device: calls.append("warm-up"))
    monkeypatch.setattr(run, "mnist_tensors", lambda device, val_size: {
        "train": (torch.zeros(4, 1, 28, 28), torch.zeros(4, dtype=torch.long)),
        "test": (torch.zeros(4, 1, 28, 28), torch.zeros(4, dtype=torch.long))})
    seconds = {"fastest": 20.0, "cnncourse": 4.0}

    def fake_time_to_99(contender, seed, device, data):
        calls.append((contender.name, seed))
        return seconds[contender.name] + seed

    monkeypatch.setattr(run, "time_to_target", fake_time_to_99)
    assert run.main(["--skip", "throughput,lessons,load", "--recipes", "fastest,cnncourse",
                     "--seeds", "3"]) == 0
    assert calls == ["warm-up", ("fastest", 0), ("cnncourse", 0), ("fastest", 1), ("cnncourse", 1),
                     ("fastest", 2), ("cnncourse", 2)]
    out = capsys.readouterr().out
    assert "ratio/time_to_99/fastest_over_cnncourse" in out and "4.20" in out  # 21 / 5


def test_warm_up_process_runs(run):
    run.warm_up_process(torch.device("cpu"))


def test_book_ab_takes_turns_and_keeps_the_fastest_pass(tmp_path, capsys):
    book_ab = load_script("book_ab")
    for version, stems in (("old", ["01-a", "02-b", "03-gone"]), ("new", ["01-a", "02-b", "04-new"])):
        (tmp_path / version / "lessons").mkdir(parents=True)
        for stem in stems:
            (tmp_path / version / "lessons" / f"{stem}.md").write_text("")
    calls, seconds = [], iter([5.0, 6.0, 9.0, 8.0, 4.0, 7.0, 10.0, 9.5])

    def fake_run(root, stem, env):
        calls.append((root.name, stem))
        assert env == ({"CNNCOURSE_CACHE": "/x"} if root.name == "old" else None)
        return next(seconds)

    found = book_ab.compare(tmp_path / "old", tmp_path / "new", passes=2, run=fake_run,
                            old_env={"CNNCOURSE_CACHE": "/x"})
    # only the lessons both have; the order alternates from one lesson to the next
    assert calls == [("old", "01-a"), ("new", "01-a"), ("new", "02-b"), ("old", "02-b"),
                     ("old", "01-a"), ("new", "01-a"), ("new", "02-b"), ("old", "02-b")]
    assert found == {"old": {"01-a": 4.0, "02-b": 8.0}, "new": {"01-a": 6.0, "02-b": 9.0}}


def test_book_ab_refuses_an_unknown_revision_and_a_malformed_env(capsys):
    book_ab = load_script("book_ab")
    with pytest.raises(SystemExit, match="not-a-commit.*is not a commit"):
        book_ab.main(["not-a-commit"])
    with pytest.raises(SystemExit):
        book_ab.main(["HEAD", "--old-env", "CNNCOURSE_CACHE"])
    assert "--old-env must be NAME=VALUE, got 'CNNCOURSE_CACHE'" in capsys.readouterr().err


def test_execute_lesson_sets_the_kernel_environment_and_restores_it(run, monkeypatch, tmp_path):
    import jupytext
    import nbclient

    seen = {}

    class FakeClient:
        def __init__(self, notebook, **options):
            pass

        def execute(self):
            seen["cache"] = os.environ.get("CNNCOURSE_CACHE")

    monkeypatch.setattr(jupytext, "read", lambda path: object())
    monkeypatch.setattr(nbclient, "NotebookClient", FakeClient)
    monkeypatch.delenv("CNNCOURSE_CACHE", raising=False)
    assert run.execute_lesson(tmp_path / "x.md", {"CNNCOURSE_CACHE": "/somewhere"}) >= 0
    assert seen == {"cache": "/somewhere"}
    assert "CNNCOURSE_CACHE" not in os.environ


def test_stem_search_names_lesson_10s_network_among_its_candidates():
    search = load_script("stem_search")
    chosen = search.CANDIDATES["stem, 32 48 (fast_convnet)"]()
    assert str(chosen) == str(fast_convnet())
    assert str(search.CANDIDATES["ConvNet (lesson 8)"]()) == str(ConvNet())
    assert set(search.LONG) <= set(search.CANDIDATES)
    for build in search.CANDIDATES.values():
        assert build()(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_the_ablation_rows_share_the_whole_gain(run, monkeypatch, capsys):
    monkeypatch.setattr(run, "warm_up_process", lambda device: None)
    monkeypatch.setattr(run, "mnist_tensors", lambda device, val_size: {
        "train": (torch.zeros(4, 1, 28, 28), torch.zeros(4, dtype=torch.long)),
        "test": (torch.zeros(4, 1, 28, 28), torch.zeros(4, dtype=torch.long))})
    seconds = {"fastest": 26.06, "step1_precision": 7.59, "step2_one_epoch": 3.72, "step3_stem": 2.50,
               "cnncourse": 2.97}
    monkeypatch.setattr(run, "time_to_target", lambda contender, seed, device, data: seconds[contender.name])
    assert run.main(["--skip", "throughput,lessons,load", "--recipes", ",".join(seconds), "--seeds", "1"]) == 0
    shares = {line.split()[0]: float(line.split()[1]) for line in capsys.readouterr().out.splitlines()
              if line.startswith("share/")}
    assert list(shares) == [f"share/time_to_99/{name}" for name in run.STEPS]
    assert sum(shares.values()) == pytest.approx(100, abs=0.05)
    assert round(shares["share/time_to_99/step1_precision"]) == 57
