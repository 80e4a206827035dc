"""Validation and test accuracy of the lessons' training recipes over several seeds (``make seeds``).

A lesson trains with one seed, so its asserted accuracy target is met by one run. This script
says how much margin the target has: it trains each recipe of :mod:`cnncourse.recipes` from
scratch with seeds 0, 1, ... (model initialisation and batch order both follow the seed; the
validation split is the course's one split, :func:`cnncourse.data.split_indices`, for every
seed), in every training configuration :func:`cnncourse.runtime.training_config` may choose for
it, and prints the validation accuracy (5,000 images held out of the training set, where
recipes are chosen and compared) and the test accuracy (10,000 test images, measured once per
final model) of every run, then the worst and the mean of each. Rows, with the test accuracy
the lesson asserts:

- ``lesson03-mlp``: lesson 3's MLP and recipe, target 98.4 %;
- ``lesson08-cnn``: lesson 8's CNN and recipe, target 99.25 %;
- ``lesson08-cnn-no-smoothing``: the same without label smoothing, the ablation behind
  choosing it (decided on validation accuracy);
- ``lesson10-cnn``: lesson 10's network (:func:`cnncourse.models.fast_convnet`) and one-epoch
  recipe, target 99 %;
- ``lesson10-long``: the same network with 32 and 64 filters and
  :data:`cnncourse.recipes.LESSON10_LONG` (ten epochs, random shifts), target 99.5 % (no lesson
  asserts it; ``make bench`` times it).

Each row runs once per configuration of ``--configs`` (default: ``float32`` and
``bf16+channels_last``, the two ends of what the choice may pick; lesson 3 trains in float32
only).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from cnncourse.data import fast_loaders
from cnncourse.models import MLP, ConvNet, fast_convnet
from cnncourse.recipes import LESSON3_MLP, LESSON8_CNN, LESSON10_CNN, LESSON10_LONG, Recipe, train
from cnncourse.runtime import FLOAT32, TrainingConfig, configure_threads, device_summary, pick_device, seed_everything
from cnncourse.training import evaluate


@dataclass(frozen=True)
class Row:
    """One lesson's model and recipe, and the test accuracy the lesson asserts."""

    recipe: Recipe
    model: Callable[[], nn.Module]
    target: float
    configurable: bool = True
    """Whether the lesson trains in the configuration ``training_config`` chooses."""
    val_target: float | None = None
    """The validation accuracy the lesson asserts, if it asserts one."""


def lesson8_cnn() -> nn.Module:
    return ConvNet(channels=(24, 32), kernel_sizes=(5, 3), hidden=256)


ROWS = {
    "lesson03-mlp": Row(LESSON3_MLP, lambda: MLP((784, 400, 400, 10), dropout=0.3), 0.984, configurable=False,
                        val_target=0.98),
    "lesson08-cnn": Row(LESSON8_CNN, lesson8_cnn, 0.9925, val_target=0.99),
    "lesson08-cnn-no-smoothing": Row(dataclasses.replace(LESSON8_CNN, name="lesson 8 CNN, no smoothing",
                                                         label_smoothing=0.0), lesson8_cnn, 0.9925),
    "lesson10-cnn": Row(LESSON10_CNN, fast_convnet, 0.99),
    "lesson10-long": Row(LESSON10_LONG, lambda: fast_convnet(channels=(32, 64)), 0.995),
}

CONFIGS = {
    "float32": FLOAT32,
    "channels_last": TrainingConfig(channels_last=True, autocast_dtype=None),
    "bf16+channels_last": TrainingConfig(channels_last=True, autocast_dtype=torch.bfloat16),
}


def accuracies(row: Row, seed: int, device: torch.device, config: TrainingConfig) -> tuple[float, float]:
    """Train ``row`` from scratch with ``seed`` in ``config``; its accuracy on the 5,000 validation
    images and on the 10,000 test images."""
    seed_everything(seed)
    train_batches, val_batches, test_batches = fast_loaders(batch_size=row.recipe.batch_size, device=device,
                                                            shuffle_seed=seed)
    model = row.model().to(device)
    train(model, row.recipe, train_batches, val_batches, config=config)
    return (evaluate(model, val_batches, **config.options()).accuracy,
            evaluate(model, test_batches, **config.options()).accuracy)


def _line(label: str, values: list[float]) -> str:
    return (f"{label} " + " ".join(f"{a:.2%}" for a in values)
            + f"  worst {min(values):.2%}  mean {statistics.mean(values):.2%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--recipes", default=",".join(ROWS), help="comma-separated names")
    parser.add_argument("--configs", default="float32,bf16+channels_last",
                        help=f"comma-separated, from {list(CONFIGS)}")
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: best available)")
    args = parser.parse_args(argv)
    names = [name for name in args.recipes.split(",") if name]
    unknown = sorted(set(names) - set(ROWS))
    if unknown:
        parser.error(f"unknown recipe(s) {unknown}; choose from {sorted(ROWS)}")
    configs = [name for name in args.configs.split(",") if name]
    unknown = sorted(set(configs) - set(CONFIGS))
    if unknown:
        parser.error(f"unknown configuration(s) {unknown}; choose from {sorted(CONFIGS)}")
    configure_threads()
    device = pick_device(args.device)
    print(f"# {device_summary(device)}, seeds 0-{args.seeds - 1}", flush=True)
    for name in names:
        row = ROWS[name]
        for config_name in configs if row.configurable else ["float32"]:
            start = time.perf_counter()
            val, test = [], []
            for seed in range(args.seeds):
                v, t = accuracies(row, seed, device, CONFIGS[config_name])
                val.append(v)
                test.append(t)
                print(f"#   {name} {config_name} seed {seed}: validation {v:.2%}, test {t:.2%}", flush=True)
            met = sum(a >= row.target for a in test)
            val_met = ("" if row.val_target is None else
                       f"  target {row.val_target:.2%} met by {sum(a >= row.val_target for a in val)} of {len(val)}")
            print(f"{name:26s} {config_name:19s} " + _line("validation", val) + val_met, flush=True)
            print(f"{name:26s} {config_name:19s} " + _line("test", test)
                  + f"  target {row.target:.2%} met by {met} of {len(test)}"
                  + f"  ({time.perf_counter() - start:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
