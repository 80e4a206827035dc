"""How lesson 10's network was chosen: candidates on the validation split (``make stem-search``).

Every candidate is :class:`cnncourse.models.ConvNet` with other arguments, trained with
:data:`cnncourse.recipes.LESSON10_CNN` (one epoch, label smoothing) in the configuration
:func:`cnncourse.runtime.training_config` chooses. For each it prints the training rate on one
resident batch of 256 (the candidates measured in turns, :func:`cnncourse.speed.measure_in_turns`),
the rate relative to lesson 8's ``ConvNet``, and the validation accuracy (5,000 images held out
of the training set) after one epoch for seeds 0, 1, 2 (initialisation and batch order), their
mean and worst. The test set is not touched. ``--long`` trains the candidates of
:data:`cnncourse.recipes.LESSON10_LONG` (10 epochs, random shifts) instead, for the 99.5 %
row of ``make bench``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable

# isort: off
import cnncourse.runtime  # noqa: F401  (first: sets the OpenMP wait policy before torch loads)
# isort: on
import torch
from torch import nn

from cnncourse.data import fast_loaders
from cnncourse.models import ConvNet
from cnncourse.recipes import LESSON10_CNN, LESSON10_LONG, train
from cnncourse.runtime import configure_threads, device_summary, pick_device, seed_everything, training_config
from cnncourse.speed import measure_in_turns
from cnncourse.training import evaluate


def stem(channels: tuple[int, int], **kwargs) -> Callable[[], nn.Module]:
    """A space-to-depth stem, a 3x3 convolution without pooling, a 3x3 convolution with pooling."""
    return lambda: ConvNet(channels=channels, kernel_sizes=3, pool=(1, 2), space_to_depth=2, **kwargs)


CANDIDATES: dict[str, Callable[[], nn.Module]] = {
    "ConvNet (lesson 8)": ConvNet,
    "stem, pooled twice, 32 64": lambda: ConvNet(channels=(32, 64), kernel_sizes=3, space_to_depth=2, hidden=0),
    "stem, 16 32": stem((16, 32)),
    "stem, 24 32": stem((24, 32)),
    "stem, 32 32": stem((32, 32)),
    "stem, 32 48 (fast_convnet)": stem((32, 48)),
    "stem, 32 64": stem((32, 64)),
}
LONG = ("stem, 32 48 (fast_convnet)", "stem, 32 64")


def validation_accuracy(network: Callable[[], nn.Module], recipe, seed: int, device: torch.device) -> float:
    seed_everything(seed)
    train_batches, val_batches, _ = fast_loaders(recipe.batch_size, device=device, shuffle_seed=seed)
    model = network().to(device)
    config = training_config(device)
    train(model, recipe, train_batches, None, config=config)
    return evaluate(model, val_batches, **config.options()).accuracy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--long", action="store_true", help="the 99.5 %% recipe's candidates")
    parser.add_argument("--device", default=None)
    args = parser.parse_args(argv)
    configure_threads()
    device = pick_device(args.device)
    recipe = LESSON10_LONG if args.long else LESSON10_CNN
    names = list(LONG) if args.long else list(CANDIDATES)
    config = training_config(device)
    print(f"# {device_summary(device)}; {recipe}; {config.name}", flush=True)
    seed_everything(0)
    batch = [next(iter(fast_loaders(256, device=device)[0]))]
    rates = measure_in_turns({name: (lambda n=name: (CANDIDATES[n]().to(device), config.options()))
                              for name in names}, batch, rounds=5, steps=20)
    base = rates[names[0]].rate
    print(f"{'candidate':28s} {'images/s':>9s} {'x':>5s}  validation accuracy, seeds 0-{args.seeds - 1}")
    for name in names:
        accuracies = [100 * validation_accuracy(CANDIDATES[name], recipe, seed, device)
                      for seed in range(args.seeds)]
        print(f"{name:28s} {rates[name].rate:9,.0f} {rates[name].rate / base:5.2f}  "
              + " ".join(f"{a:.2f}" for a in accuracies)
              + f"  mean {statistics.mean(accuracies):.2f}  worst {min(accuracies):.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
