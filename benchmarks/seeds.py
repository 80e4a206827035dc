"""Test accuracy of the lessons' training recipes over several seeds (``make seeds``).

A lesson trains with one seed, so its asserted accuracy target is met by one run. This script
says how much margin the target has: it trains each recipe from scratch with seeds 0, 1, ...
(model initialisation and batch order both follow the seed) and prints the test accuracy of
every run, then the worst and the mean. Rows:

- ``lesson03-mlp``: lesson 3's MLP recipe, target 98.4 %;
- ``lesson08-cnn``: lesson 8's CNN recipe, target 99.25 %;
- ``lesson08-cnn-no-smoothing``: the same without label smoothing, the ablation that lesson 8
  cites for choosing it.

The recipes are copied from the lessons; when a lesson's recipe changes, change it here too.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass

import torch
from torch import nn

from cnncourse.data import fast_loaders
from cnncourse.models import MLP, ConvNet
from cnncourse.runtime import device_summary, pick_device, seed_everything
from cnncourse.training import evaluate, fit


@dataclass(frozen=True)
class Recipe:
    """One lesson's training recipe: Adam with a one-cycle schedule, as every lesson uses."""

    model: str
    """``"mlp"`` (784-400-400-10) or ``"cnn"`` (lesson 8's ConvNet)."""
    epochs: int
    batch_size: int
    max_lr: float
    betas: tuple[float, float]
    dropout: float
    label_smoothing: float
    target: float
    """The accuracy the lesson asserts."""


RECIPES = {
    "lesson03-mlp": Recipe("mlp", epochs=12, batch_size=512, max_lr=4e-3, betas=(0.9, 0.999), dropout=0.3,
                           label_smoothing=0.1, target=0.984),
    "lesson08-cnn": Recipe("cnn", epochs=3, batch_size=256, max_lr=0.01, betas=(0.7, 0.9), dropout=0.0,
                           label_smoothing=0.1, target=0.9925),
    "lesson08-cnn-no-smoothing": Recipe("cnn", epochs=3, batch_size=256, max_lr=0.01, betas=(0.7, 0.9),
                                        dropout=0.0, label_smoothing=0.0, target=0.9925),
}


def test_accuracy(recipe: Recipe, seed: int, device: torch.device) -> float:
    """Train ``recipe`` from scratch with ``seed`` and return its accuracy on the 10,000 test images."""
    seed_everything(seed)
    train, val, test = fast_loaders(batch_size=recipe.batch_size, device=device, seed=seed)
    channels_last = recipe.model == "cnn"
    if channels_last:
        model = ConvNet(channels=(24, 32), kernel_sizes=(5, 3), hidden=256, dropout=recipe.dropout)
        model = model.to(device, memory_format=torch.channels_last)
    else:
        model = MLP((784, 400, 400, 10), dropout=recipe.dropout).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.max_lr, betas=recipe.betas)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=recipe.max_lr, epochs=recipe.epochs,
                                                    steps_per_epoch=len(train))
    fit(model, train, val, epochs=recipe.epochs, optimizer=optimizer, scheduler=scheduler,
        loss_fn=nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing), channels_last=channels_last,
        progress=False)
    return evaluate(model, test, channels_last=channels_last).accuracy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--recipes", default=",".join(RECIPES), help="comma-separated names")
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: best available)")
    args = parser.parse_args(argv)
    names = [name for name in args.recipes.split(",") if name]
    unknown = sorted(set(names) - set(RECIPES))
    if unknown:
        parser.error(f"unknown recipe(s) {unknown}; choose from {sorted(RECIPES)}")
    device = pick_device(args.device)
    print(f"# {device_summary(device)}, seeds 0-{args.seeds - 1}", flush=True)
    for name in names:
        recipe = RECIPES[name]
        start = time.perf_counter()
        accuracies = [test_accuracy(recipe, seed, device) for seed in range(args.seeds)]
        met = sum(a >= recipe.target for a in accuracies)
        print(f"{name:27s} " + " ".join(f"{a:.2%}" for a in accuracies)
              + f"  worst {min(accuracies):.2%}  mean {statistics.mean(accuracies):.2%}"
              + f"  target {recipe.target:.2%} met by {met} of {len(accuracies)}"
              + f"  ({time.perf_counter() - start:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
