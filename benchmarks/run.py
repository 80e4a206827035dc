"""Speed and accuracy benchmark of the course's training paths and recipes (``make bench``).

Prints a table (or, with ``--json``, one JSON object per line: name, value, unit, device).
Every figure is the median of several repetitions of one run of this script. Rows:

- ``throughput/<model>/<path>``: training images per second for the lesson MLP and CNN through
  the torchvision ``dataloader``, the ``fast`` path (data as one tensor, batches by index) and
  ``bound`` (one pre-made batch, forward + backward + step only: the ceiling for the data path);
- ``ratio/<model>/fast_over_dataloader`` and ``ratio/<model>/fast_over_bound``;
- ``time_to_99/<recipe>``: seconds from a cold start (model creation included, data already
  provisioned and loaded) until the 10,000-image test accuracy first reaches 99.0 %, median over
  the seeds that reach it; ``seeds_reaching_99/<recipe>``: how many seeds do. Recipes:
  ``examples`` and ``fastest`` (re-implementations of published recipes), ``cnncourse`` (the
  course's own) and ``cnncourse_no_smoothing`` (the course's without label smoothing);
- ``ratio/time_to_99/fastest_over_cnncourse``;
- ``lesson_seconds/<lesson>``: seconds to execute each lesson in a fresh kernel, and
  ``book_seconds``, their sum (the execution part of ``make book``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
from torch import nn

from cnncourse.data import TensorBatches, fast_loaders, mnist_loaders, mnist_tensors
from cnncourse.models import MLP, MnistCNN
from cnncourse.runtime import pick_device, seed_everything
from cnncourse.speed import training_throughput
from cnncourse.training import evaluate, train_one_epoch

ROOT = Path(__file__).resolve().parents[1]


def cpu_model() -> str:
    """The processor's name from /proc/cpuinfo (or platform)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


# ------------------------------------------------------------------ throughput
def throughput(model_name: str, path: str, device: torch.device, batch_size: int, steps: int,
               repeats: int) -> float:
    """Median training images per second of one model through one data path.

    The CNN trains as lessons 8 and 9 train it, in the ``channels_last`` memory format, on all
    three paths alike.
    """
    seed_everything(0)
    channels_last = model_name == "cnn"
    model = (MLP() if model_name == "mlp" else MnistCNN()).to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    if path == "dataloader":
        batches = mnist_loaders(batch_size)[0]
    elif path == "fast":
        batches = fast_loaders(batch_size, device=device)[0]
    else:  # bound: one pre-made batch on the device, no data handling at all
        batches = [next(iter(fast_loaders(batch_size, device=device)[0]))]
    return training_throughput(model, batches, steps=steps, warmup=10, repeats=repeats, channels_last=channels_last)


# ------------------------------------------------------------------ recipes
@dataclass
class Recipe:
    """A training recipe: a model, an optimizer/schedule, a data path, and a stopping rule."""

    name: str
    build: Callable[[torch.device, dict], tuple]
    epochs: int
    """Most epochs trained; the test accuracy is measured after each."""


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


def build_fastest(device, data):
    model = MnistCNN().to(device)
    x, y = data["train_all"]
    train = TensorBatches(x, y, 256, shuffle=True, seed=torch.initial_seed() % 2**31)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, betas=(0.7, 0.9))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.01, total_steps=2 * len(train))
    return model, train, optimizer, scheduler, "batch", {}


def build_cnncourse(device, data, label_smoothing: float = 0.1):
    """The course's recipe: the same network and optimizer as 'fastest', one epoch instead of
    two, with

    - label smoothing 0.1 (lessons 3 and 8), which lets a one-cycle schedule of a single epoch
      reach 99 % reliably (the ``cnncourse_no_smoothing`` rows measure the recipe without it);
    - the data and the weights in the channels_last memory format (about 1.8x faster
      convolutions on the CPUs measured).

    bf16 autocast is used only on CUDA: on a CPU without AMX/AVX-512-BF16 it was 4x slower than
    float32."""
    model = MnistCNN().to(device).to(memory_format=torch.channels_last)
    x, y = data["train_all"]
    train = TensorBatches(x, y, 256, shuffle=True, seed=torch.initial_seed() % 2**31)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, betas=(0.7, 0.9))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.01, total_steps=len(train))
    options = {"autocast_dtype": torch.bfloat16 if device.type == "cuda" else None, "channels_last": True,
               "loss_fn": nn.CrossEntropyLoss(label_smoothing=label_smoothing)}
    return model, train, optimizer, scheduler, "batch", options


RECIPES = {
    "examples": Recipe("examples", build_examples, epochs=6),
    "fastest": Recipe("fastest", build_fastest, epochs=2),
    "cnncourse": Recipe("cnncourse", build_cnncourse, epochs=1),
    "cnncourse_no_smoothing": Recipe("cnncourse_no_smoothing", partial(build_cnncourse, label_smoothing=0.0),
                                     epochs=1),
}


def time_to_99(recipe: Recipe, seed: int, device: torch.device, data: dict) -> float | None:
    """Seconds until the test accuracy first reaches 99.0 %, or None if the recipe never gets there."""
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
        if accuracy >= 0.99:
            sync(device)
            return time.perf_counter() - start
    return None


# ------------------------------------------------------------------ lessons
def lesson_seconds(pattern: str = "*.md") -> dict[str, float]:
    """Wall seconds to execute each lesson in a fresh kernel, as the book build does."""
    import jupytext
    from nbclient import NotebookClient

    found = {}
    for path in sorted((ROOT / "lessons").glob(pattern)):
        notebook = jupytext.read(path)
        start = time.perf_counter()
        NotebookClient(notebook, timeout=1800, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        found[path.stem] = time.perf_counter() - start
    return found


# ------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: best available)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=100, help="training steps per throughput repetition")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--recipes", default="fastest,cnncourse,cnncourse_no_smoothing,examples")
    parser.add_argument("--examples-seeds", type=int, default=None,
                        help="seeds for the slow 'examples' recipe (default: --seeds)")
    parser.add_argument("--skip", default="", help="comma-separated: throughput,recipes,lessons")
    args = parser.parse_args(argv)
    device = pick_device(args.device)
    skip = set(filter(None, args.skip.split(",")))
    rows: list[dict] = []

    def row(name: str, value: float, unit: str) -> None:
        rows.append({"name": name, "value": round(value, 4), "unit": unit, "device": device.type})
        if args.json:
            print(json.dumps(rows[-1]), flush=True)
        else:
            print(f"{name:45s} {value:12.2f} {unit}", flush=True)

    header = (f"# device {device.type}, {os.cpu_count()} cores, {cpu_model()}, torch {torch.__version__}, "
              f"{torch.get_num_threads()} threads, python {platform.python_version()}")
    print(header if not args.json else json.dumps({"header": header}), flush=True)

    if "throughput" not in skip:
        for model_name, batch in (("mlp", 64), ("cnn", 64)):
            rates = {path: throughput(model_name, path, device, batch, args.steps, args.repeats)
                     for path in ("dataloader", "fast", "bound")}
            for path, rate in rates.items():
                row(f"throughput/{model_name}/{path}", rate, "images/s")
            row(f"ratio/{model_name}/fast_over_dataloader", rates["fast"] / rates["dataloader"], "x")
            row(f"ratio/{model_name}/fast_over_bound", rates["fast"] / rates["bound"], "x")

    if "recipes" not in skip:
        tensors = mnist_tensors(device, val_size=0)
        data = {"train_all": tensors["train"], "test": TensorBatches(*tensors["test"], batch_size=250)}
        medians = {}
        for name in filter(None, args.recipes.split(",")):
            n_seeds = args.examples_seeds if name == "examples" and args.examples_seeds else args.seeds
            times = [time_to_99(RECIPES[name], seed, device, data) for seed in range(n_seeds)]
            reached = [t for t in times if t is not None]
            if reached:
                medians[name] = statistics.median(reached)
                row(f"time_to_99/{name}", medians[name], "s")
            row(f"seeds_reaching_99/{name}", len(reached), f"of {n_seeds}")
        if "fastest" in medians and "cnncourse" in medians:
            row("ratio/time_to_99/fastest_over_cnncourse", medians["fastest"] / medians["cnncourse"], "x")

    if "lessons" not in skip:
        seconds = lesson_seconds()
        for lesson, value in seconds.items():
            row(f"lesson_seconds/{lesson}", value, "s")
        if seconds:
            row("book_seconds", sum(seconds.values()), "s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
