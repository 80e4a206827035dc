"""Speed and accuracy benchmark of the course's training paths and recipes (``make bench``).

Prints a table (or, with ``--json``, one JSON object per line: name, value, unit, device).
Every figure is the median of several repetitions of one run of this script. Rows:

- ``throughput/<model>/<path>``: training images per second for the lesson MLP, lesson 8's CNN
  (``cnn``) and lesson 10's (``fastcnn``, :func:`cnncourse.models.fast_convnet`), batch 64,
  through the torchvision ``dataloader``, the ``fast`` path (data as one tensor, batches by
  index), both in float32, then ``chosen`` (the fast path in the configuration
  :func:`cnncourse.runtime.training_config` chooses, measured on the CNN) and ``bound`` (the
  faster of float32 and the chosen configuration on one resident batch, forward + backward +
  step only, timed until its repetitions agree within 5 %: no data path can beat it), with
  ``spread/<model>/bound``;
- ``ratio/<model>/fast_over_dataloader``, ``ratio/<model>/chosen_over_fast`` and
  ``ratio/<model>/chosen_over_bound``;
- ``flops_per_image/<model>``: training operations (forward + backward) per image, counted by
  ``torch.utils.flop_counter.FlopCounterMode``; ``peak_matmul/<dtype>``: the best rate of a
  1024x1024 matrix product in float32 and bfloat16 with the same threads;
  ``limit_percent/<model>/<fast|chosen|bound>``: operations per second reached over that peak (in the
  dtype the path computes in), the share of the machine's arithmetic that training uses;
- ``time_to_99/<recipe>``: seconds from a cold start (model creation included, data already
  provisioned and loaded, the process's one-time imports paid) until the 10,000-image test
  accuracy, measured after every epoch, first reaches 99.0 %, median over the seeds that
  reach it; the recipes run seed by seed in turn; ``seeds_reaching_99/<recipe>``: how many
  seeds do. Recipes: ``examples`` and ``fastest`` (re-implementations of published recipes),
  ``cnncourse`` (the course's own: lesson 10's network and recipe) and the steps between the
  two, each adding one change to the one before (the ablation lesson 10 teaches):
  ``step1_precision`` (``fastest`` in the configuration ``training_config`` chooses),
  ``step2_one_epoch`` (label smoothing and one epoch: lesson 10's recipe on lesson 8's
  network), ``step3_stem`` (the space-to-depth stem, widths 24 and 32), then ``cnncourse``
  (widths 32 and 48); ``cnncourse_no_smoothing`` takes label smoothing out again;
- ``time_to_99.5/cnncourse_long`` and ``seeds_reaching_99.5/cnncourse_long``: the same for
  99.5 % with lesson 10's network widened to 32 and 64 filters and
  :data:`cnncourse.recipes.LESSON10_LONG` (ten epochs, random shifts);
- ``ratio/time_to_99/fastest_over_cnncourse`` and ``ratio/time_to_99/fastest_over_<step>``;
  ``share/time_to_99/<step>``: each step's share of the whole gain (:func:`cnncourse.speed.ablation`);
- ``lesson_seconds/<lesson>``: seconds to execute each lesson in a fresh kernel, and
  ``book_seconds``, their sum (the execution part of ``make book``);
- ``load_seconds/<lesson>/<idle|one_busy_core>`` and ``ratio/load/<lesson>``: one lesson
  executed idle, then while this script keeps one core busy with a spinning process;
- with ``--test-outputs``: ``test_outputs_seconds/<idle|one_busy_core>`` and
  ``ratio/load/test_outputs``, the same for ``make test-outputs`` (the built book re-run and
  compared).

The header line names the processor and its AMX, AVX-512 and AVX2 flags, and the thread count.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# isort: off
import cnncourse.runtime  # noqa: F401  (first: sets the OpenMP wait policy before torch loads)
# isort: on
import torch
from torch import nn

from cnncourse.data import TensorBatches, fast_loaders, mnist_loaders, mnist_tensors
from cnncourse.models import MLP, ConvNet, fast_convnet
from cnncourse.recipes import FASTEST_PUBLISHED, LESSON10_CNN, LESSON10_LONG, Recipe, augmented, one_cycle
from cnncourse.runtime import (
    FLOAT32,
    TrainingConfig,
    autocast,
    configure_threads,
    cpu_description,
    device_summary,
    pick_device,
    seed_everything,
    to_device,
    training_config,
)
from cnncourse.speed import ablation, measure_throughput, peak_matmul_flops, training_flops_per_image
from cnncourse.training import evaluate, train_one_epoch

ROOT = Path(__file__).resolve().parents[1]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


# ------------------------------------------------------------------ throughput
MODELS: dict[str, Callable[[], nn.Module]] = {"mlp": MLP, "cnn": ConvNet, "fastcnn": fast_convnet}
"""The networks of the throughput rows: the lesson MLP, lesson 8's CNN and lesson 10's."""

def throughput(model_name: str, path: str, device: torch.device, batch_size: int, steps: int,
               repeats: int, config: TrainingConfig = FLOAT32):
    """Training images per second of one model through one data path, in ``config``.

    Returns the :class:`cnncourse.speed.Throughput`; the ``bound`` path (one resident batch)
    doubles its steps until the repetitions agree within 5 % (or 60 s of timing are spent).
    """
    seed_everything(0)
    model = MODELS[model_name]().to(device)
    if path == "dataloader":
        batches = mnist_loaders(batch_size)[0]
    elif path in ("fast", "chosen"):
        batches = fast_loaders(batch_size, device=device)[0]
    else:  # bound: one pre-made batch on the device, no data handling at all
        batches = [next(iter(fast_loaders(batch_size, device=device)[0]))]
    # the bound: weights fixed (lr 0), so repeating its one batch cannot change the arithmetic
    spread = {"max_spread": 0.05, "max_seconds": 60, "lr": 0.0} if path == "bound" else {}
    return measure_throughput(model, batches, steps=steps, warmup=10, repeats=repeats, **config.options(),
                              **spread)


# ------------------------------------------------------------------ recipes
@dataclass
class Contender:
    """A training recipe as benchmarked: a builder of model, data, optimizer and schedule, and
    the most epochs trained (the test accuracy is measured after each)."""

    name: str
    build: Callable[[torch.device, dict], tuple]
    epochs: int
    recipe: Recipe | None = None
    """The :mod:`cnncourse.recipes` recipe it trains with, where it has one."""
    target: float = 0.99
    """The test accuracy whose time is measured."""


class ExamplesNet(nn.Module):
    """pytorch/examples mnist/main.py: conv32-conv64-maxpool-dropout-fc128-dropout-fc10."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Dropout(0.25), nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(128, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def build_examples(device, data):
    model = ExamplesNet().to(device)
    train = mnist_loaders(64, val_size=0, seed=torch.initial_seed() % 2**31)[0]
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    return model, train, optimizer, scheduler, "epoch", {}


def build_recipe(recipe: Recipe, config: TrainingConfig | None,
                 network: Callable[[], nn.Module] = ConvNet):
    """A builder for ``recipe`` on ``network()`` with the data as one tensor, in ``config``
    (``None``: the configuration :func:`cnncourse.runtime.training_config` chooses)."""

    def build(device, data):
        chosen = training_config(device) if config is None else config
        model = network().to(device)
        if chosen.channels_last:
            model = model.to(memory_format=torch.channels_last)
        x, y = data["train_all"]
        seed = torch.initial_seed() % 2**31
        train = augmented(recipe, TensorBatches(x, y, recipe.batch_size, shuffle=True, seed=seed), seed)
        optimizer, scheduler = one_cycle(model, recipe, len(train))
        options = {**chosen.options(), "loss_fn": nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)}
        return model, train, optimizer, scheduler, "batch", options

    return build


NO_SMOOTHING = dataclasses.replace(LESSON10_CNN, name="lesson 10 CNN, no smoothing", label_smoothing=0.0)


def stem_24_32() -> nn.Module:
    return fast_convnet(channels=(24, 32))


def wide_fast_convnet() -> nn.Module:
    """The network of :data:`cnncourse.recipes.LESSON10_LONG`."""
    return fast_convnet(channels=(32, 64))


RECIPES = {
    "examples": Contender("examples", build_examples, epochs=6),
    # the published recipe as published: float32, the usual memory format
    "fastest": Contender("fastest", build_recipe(FASTEST_PUBLISHED, FLOAT32), FASTEST_PUBLISHED.epochs,
                         FASTEST_PUBLISHED),
    # the ablation: one change at a time from the published recipe to the course's
    "step1_precision": Contender("step1_precision", build_recipe(FASTEST_PUBLISHED, None),
                                 FASTEST_PUBLISHED.epochs, FASTEST_PUBLISHED),
    "step2_one_epoch": Contender("step2_one_epoch", build_recipe(LESSON10_CNN, None), LESSON10_CNN.epochs,
                                 LESSON10_CNN),
    "step3_stem": Contender("step3_stem", build_recipe(LESSON10_CNN, None, stem_24_32), LESSON10_CNN.epochs,
                            LESSON10_CNN),
    # the course's: lesson 10's network and one-epoch recipe, in the configuration measured to pay here
    "cnncourse": Contender("cnncourse", build_recipe(LESSON10_CNN, None, fast_convnet), LESSON10_CNN.epochs,
                           LESSON10_CNN),
    "cnncourse_no_smoothing": Contender("cnncourse_no_smoothing", build_recipe(NO_SMOOTHING, None, fast_convnet),
                                        NO_SMOOTHING.epochs, NO_SMOOTHING),
    "cnncourse_long": Contender("cnncourse_long", build_recipe(LESSON10_LONG, None, wide_fast_convnet),
                                LESSON10_LONG.epochs, LESSON10_LONG, target=0.995),
}
STEPS = ("step1_precision", "step2_one_epoch", "step3_stem", "cnncourse")


def warm_up_process(device: torch.device) -> None:
    """Pay this process's one-time costs before any recipe is timed.

    The first optimizer a process creates imports ``torch._dynamo`` (1.2 to 1.8 s on a 2-core
    Xeon, torch 2.14), and the first convolution of each precision and memory format sets up
    its kernels. Without this, the first seed of whichever recipe runs first would pay them.
    """
    seed_everything(0)
    model = ConvNet().to(device)
    torch.optim.Adam(model.parameters())
    x = torch.zeros(2, 1, 28, 28, device=device)
    for config in {FLOAT32, training_config(device)}:
        layout = torch.channels_last if config.channels_last else torch.contiguous_format
        with torch.no_grad(), autocast(device, config.autocast_dtype):
            model.to(memory_format=layout)(to_device(x, device, config.channels_last))


def time_to_target(recipe: Contender, seed: int, device: torch.device, data: dict) -> float | None:
    """Seconds until the test accuracy first reaches ``recipe.target``, or None if it never does."""
    seed_everything(seed)
    sync(device)
    start = time.perf_counter()
    model, train, optimizer, scheduler, step_on, options = recipe.build(device, data)
    for _ in range(recipe.epochs):
        train_one_epoch(model, train, optimizer, device=device,
                        scheduler=scheduler if step_on == "batch" else None, **options)
        if step_on == "epoch":
            scheduler.step()
        accuracy = evaluate(model, data["test"], device=device, **options).accuracy
        if accuracy >= recipe.target:
            sync(device)
            return time.perf_counter() - start
    return None


def header_line(device: torch.device) -> str:
    """``# <device, threads, torch>, <processor and its AMX/AVX-512/AVX2 flags>, python, wait policy``."""
    what = f", {cpu_description()}" if device.type == "cpu" else ""
    return (f"# {device_summary(device)}{what}, python {platform.python_version()}, "
            f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}")


# ------------------------------------------------------------------ lessons
def execute_lesson(path: Path, env: dict[str, str] | None = None) -> float:
    """Wall seconds to execute the lesson ``path`` in a fresh kernel, as the book build does,
    with the environment variables ``env`` set for the kernel (which inherits this process's)."""
    import jupytext
    from nbclient import NotebookClient

    notebook = jupytext.read(path)
    before = {name: os.environ.get(name) for name in env or {}}
    os.environ.update(env or {})
    try:
        start = time.perf_counter()
        NotebookClient(notebook, timeout=1800, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        return time.perf_counter() - start
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def lesson_seconds(pattern: str = "*.md") -> dict[str, float]:
    """Wall seconds to execute each lesson in a fresh kernel, as the book build does."""
    return {path.stem: execute_lesson(path) for path in sorted((ROOT / "lessons").glob(pattern))}


def idle_and_loaded(run: Callable[[], float]) -> dict[str, float]:
    """``run()``'s seconds on the machine as it is, then while a spinning process keeps one core busy."""
    found = {"idle": run()}
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(1)  # let the spinner take its core first
        found["one_busy_core"] = run()
    finally:
        spinner.terminate()
        spinner.wait()
    return found


def load_seconds(lesson: str) -> dict[str, float]:
    """Seconds to execute ``lesson`` idle, then while one core is kept busy by a spinning process."""
    return idle_and_loaded(lambda: lesson_seconds(f"{lesson}.md")[lesson])


def test_outputs_seconds() -> float:
    """Wall seconds of ``make test-outputs`` (the strict re-run of the built book); raises if it fails."""
    start = time.perf_counter()
    subprocess.run(["make", "--no-print-directory", "test-outputs"], cwd=ROOT, check=True)
    return time.perf_counter() - start


# ------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: best available)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=100, help="training steps per throughput repetition")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--recipes", default="fastest,step1_precision,step2_one_epoch,step3_stem,cnncourse,"
                                             "cnncourse_no_smoothing,cnncourse_long,examples")
    parser.add_argument("--examples-seeds", type=int, default=None,
                        help="seeds for the slow 'examples' recipe (default: --seeds)")
    parser.add_argument("--lessons", default="*", help="glob of the lessons to time (default: all)")
    parser.add_argument("--load-lesson", default="08-convolutional-networks",
                        help="the lesson timed idle and under one busy core")
    parser.add_argument("--skip", default="", help="comma-separated: throughput,recipes,lessons,load")
    parser.add_argument("--test-outputs", action="store_true",
                        help="also time `make test-outputs` idle and under one busy core (needs a built book)")
    args = parser.parse_args(argv)
    unknown = sorted(set(filter(None, args.recipes.split(","))) - set(RECIPES))
    if unknown:
        parser.error(f"unknown recipe(s) {unknown}; choose from {sorted(RECIPES)}")
    configure_threads()
    device = pick_device(args.device)
    skip = set(filter(None, args.skip.split(",")))
    rows: list[dict] = []

    def row(name: str, value: float, unit: str) -> None:
        rows.append({"name": name, "value": round(value, 4), "unit": unit, "device": device.type})
        if args.json:
            print(json.dumps(rows[-1]), flush=True)
        else:
            print(f"{name:45s} {value:12.2f} {unit}", flush=True)

    header = header_line(device)
    print(header if not args.json else json.dumps({"header": header}), flush=True)

    if "throughput" not in skip:
        chosen = training_config(device)
        print(("# " + chosen.describe().replace("\n", "\n# ")) if not args.json
              else json.dumps({"training_config": chosen.name, "rates": dict(chosen.rates)}), flush=True)
        peaks = {dtype: peak_matmul_flops(device, dtype, seconds=1.0) for dtype in (torch.float32, torch.bfloat16)}
        for dtype, peak in peaks.items():
            row(f"peak_matmul/{str(dtype)[6:]}", peak / 1e9, "GFLOP/s")
        for model_name, batch in (("mlp", 64), ("cnn", 64), ("fastcnn", 64)):
            measured = {path: throughput(model_name, path, device, batch, args.steps, args.repeats,
                                         FLOAT32 if path in ("dataloader", "fast") else chosen)
                        for path in ("dataloader", "fast", "chosen")}
            # the bound: the faster of the two configurations (the choice is measured on the CNN)
            best = chosen if measured["chosen"].rate > measured["fast"].rate else FLOAT32
            measured["bound"] = throughput(model_name, "bound", device, batch, args.steps, args.repeats, best)
            rates = {path: m.rate for path, m in measured.items()}
            for path, rate in rates.items():
                row(f"throughput/{model_name}/{path}", rate, "images/s")
            row(f"spread/{model_name}/bound", measured["bound"].spread, "fraction")
            row(f"ratio/{model_name}/fast_over_dataloader", rates["fast"] / rates["dataloader"], "x")
            row(f"ratio/{model_name}/chosen_over_fast", rates["chosen"] / rates["fast"], "x")
            row(f"ratio/{model_name}/chosen_over_bound", rates["chosen"] / rates["bound"], "x")
            seed_everything(0)
            example = next(iter(fast_loaders(batch, device=device)[0]))[0]
            flops = training_flops_per_image(MODELS[model_name]().to(device), example)
            row(f"flops_per_image/{model_name}", flops / 1e6, "MFLOP")
            for path, dtype in (("fast", torch.float32), ("chosen", chosen.autocast_dtype or torch.float32),
                                ("bound", best.autocast_dtype or torch.float32)):
                row(f"limit_percent/{model_name}/{path}", 100 * flops * rates[path] / peaks[dtype], "%")

    if "recipes" not in skip:
        tensors = mnist_tensors(device, val_size=0)
        data = {"train_all": tensors["train"], "test": TensorBatches(*tensors["test"], batch_size=250)}
        medians = {}
        names = list(filter(None, args.recipes.split(",")))
        seeds = {name: args.examples_seeds if name == "examples" and args.examples_seeds else args.seeds
                 for name in names}
        warm_up_process(device)
        times = {name: [] for name in names}
        # seed by seed, every recipe in turn: a slow spell of this shared host then hits all
        # recipes alike instead of whichever ran during it
        for seed in range(max(seeds.values(), default=0)):
            for name in names:
                if seed < seeds[name]:
                    times[name].append(time_to_target(RECIPES[name], seed, device, data))
        for name in names:
            n_seeds = seeds[name]
            reached = [t for t in times[name] if t is not None]
            target = f"{RECIPES[name].target * 100:g}"
            if reached:
                medians[name] = statistics.median(reached)
                row(f"time_to_{target}/{name}", medians[name], "s")
            row(f"seeds_reaching_{target}/{name}", len(reached), f"of {n_seeds}")
        for name in STEPS:
            if "fastest" in medians and name in medians:
                row(f"ratio/time_to_99/fastest_over_{name}", medians["fastest"] / medians[name], "x")
        chain = ["fastest", *STEPS]
        if all(name in medians for name in chain):  # the ablation: each step's share of the gain
            for step in ablation([(name, medians[name]) for name in chain])[1:]:
                row(f"share/time_to_99/{step.change}", 100 * step.share, "%")

    if "lessons" not in skip:
        seconds = lesson_seconds(f"{args.lessons}.md" if not args.lessons.endswith(".md") else args.lessons)
        for lesson, value in seconds.items():
            row(f"lesson_seconds/{lesson}", value, "s")
        if seconds:
            row("book_seconds", sum(seconds.values()), "s")

    if "load" not in skip:
        timed = load_seconds(args.load_lesson)
        for state, value in timed.items():
            row(f"load_seconds/{args.load_lesson}/{state}", value, "s")
        row(f"ratio/load/{args.load_lesson}", timed["one_busy_core"] / timed["idle"], "x")

    if args.test_outputs:
        timed = idle_and_loaded(test_outputs_seconds)
        for state, value in timed.items():
            row(f"test_outputs_seconds/{state}", value, "s")
        row("ratio/load/test_outputs", timed["one_busy_core"] / timed["idle"], "x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
