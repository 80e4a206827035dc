"""Training recipes: the optimizer, schedule, loss and budget the lessons and benchmarks train with.

A recipe is data (:class:`Recipe`); :func:`one_cycle` turns it into an optimizer and a
learning-rate schedule, and :func:`train` runs :func:`cnncourse.training.fit` with it. Lessons 3,
8 and 10 and the scripts in ``benchmarks/`` import their recipes from here, so a recipe that a
lesson asserts an accuracy for is the very one the benchmarks measure over seeds.

Every recipe is Adam :cite:`kingma2015` with a one-cycle learning-rate schedule
(Smith and Topin, "Super-Convergence", 2019; ``torch.optim.lr_scheduler.OneCycleLR``): the
learning rate warms up to ``max_lr`` over the first 30 % of the steps, then anneals towards
zero, stepped after every batch, while Adam's first beta (the momentum of its running mean of
the gradient) moves the opposite way, from 0.95 to 0.85 and back. A recipe states that cycle
(``beta1_range``) rather than a fixed first beta, because ``OneCycleLR`` overwrites Adam's first
beta from its construction on: what a recipe prints is what the optimizer uses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn

from cnncourse._checks import check_batches, check_float, check_int, check_model, describe
from cnncourse.data import MNIST_MEAN, MNIST_STD
from cnncourse.runtime import TrainingConfig
from cnncourse.shifts import ShiftAugmented
from cnncourse.training import History, fit

__all__ = ["Recipe", "LESSON3_MLP", "LESSON8_CNN", "LESSON10_CNN", "LESSON10_LONG", "FASTEST_PUBLISHED",
           "one_cycle", "augmented", "train"]


@dataclass(frozen=True)
class Recipe:
    """A training recipe: budget, batch size and optimizer settings.

    Attributes
    ----------
    name
        A short description, printed by lessons and benchmarks.
    epochs
        Passes over the training images (positive).
    batch_size
        Images per optimizer step (positive); the training batches must have this size.
    max_lr
        Peak learning rate of the one-cycle schedule (positive, finite).
    beta1_range
        ``(highest, lowest)``: Adam's first beta (the decay rate of its running mean of the
        gradient) starts at ``highest``, falls to ``lowest`` while the learning rate warms up and
        climbs back while it anneals (``OneCycleLR``'s ``max_momentum`` and ``base_momentum``),
        each in [0, 1), ``highest >= lowest``.
    beta2
        Adam's decay rate of the running mean of the squared gradient, in [0, 1); it holds
        throughout.
    label_smoothing
        Weight in [0, 1) moved from the true class to a uniform target
        (``nn.CrossEntropyLoss(label_smoothing=...)``).
    weight_decay
        Adam's L2 penalty (non-negative, finite).
    max_shift
        Data augmentation: every training image is shifted by a random whole-pixel offset of
        at most this many pixels along each axis, anew in every epoch
        (:class:`cnncourse.shifts.ShiftAugmented`); 0 for none.

    Raises
    ------
    TypeError, ValueError
        For a field of the wrong type or out of range, naming the field.
    """

    name: str
    epochs: int
    batch_size: int
    max_lr: float
    beta1_range: tuple[float, float] = (0.95, 0.85)
    beta2: float = 0.999
    label_smoothing: float = 0.0
    weight_decay: float = 0.0
    max_shift: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"name must be a non-empty string, got {self.name!r}")
        # frozen dataclass: store the checked (plain Python) values through object.__setattr__
        for key in ("epochs", "batch_size"):
            object.__setattr__(self, key, check_int(getattr(self, key), key, minimum=1))
        object.__setattr__(self, "max_shift", check_int(self.max_shift, "max_shift", minimum=0))
        object.__setattr__(self, "max_lr", check_float(self.max_lr, "max_lr", minimum=0.0,
                                                       exclusive_minimum=True))
        object.__setattr__(self, "label_smoothing", check_float(
            self.label_smoothing, "label_smoothing", minimum=0.0, maximum=1.0,
            exclusive_maximum=True))
        object.__setattr__(self, "weight_decay", check_float(self.weight_decay, "weight_decay",
                                                             minimum=0.0))
        object.__setattr__(self, "beta2", check_float(self.beta2, "beta2", minimum=0.0, maximum=1.0,
                                                      exclusive_maximum=True))
        beta1 = self.beta1_range
        if not isinstance(beta1, tuple) or len(beta1) != 2:
            raise TypeError(f"beta1_range must be a tuple of two numbers (highest, lowest), got {beta1!r}")
        beta1 = tuple(check_float(b, f"beta1_range[{i}]", minimum=0.0, maximum=1.0, exclusive_maximum=True)
                      for i, b in enumerate(beta1))
        if beta1[0] < beta1[1]:
            raise ValueError(f"beta1_range must be (highest, lowest), got {self.beta1_range!r}: its first "
                             f"value is below its second")
        object.__setattr__(self, "beta1_range", beta1)


LESSON3_MLP = Recipe("lesson 3 MLP", epochs=12, batch_size=512, max_lr=4e-3, label_smoothing=0.1)
"""Lesson 3's recipe for its 784-400-400-10 MLP (dropout 0.3). Lesson 3 asserts 98.0 % on the
validation images and 98.4 % on the test set (``benchmarks/seeds.py`` measures the margins)."""

LESSON8_CNN = Recipe("lesson 8 CNN", epochs=3, batch_size=256, max_lr=0.01, beta2=0.9,
                     label_smoothing=0.1)
"""Lesson 8's recipe for its two-convolution ``ConvNet``: the optimizer settings of the fastest
published recipe, label smoothing, three epochs, chosen on the validation images. Lesson 8
asserts 99.0 % on the validation images and 99.25 % on the test set."""

LESSON10_CNN = Recipe("lesson 10 CNN, one epoch", epochs=1, batch_size=256, max_lr=0.01,
                      beta2=0.9, label_smoothing=0.1)
"""Lesson 10's recipe, for :func:`cnncourse.models.fast_convnet`: :data:`FASTEST_PUBLISHED`
with label smoothing and one epoch. Lesson 10 asserts 99 % on the test set."""

LESSON10_LONG = Recipe("lesson 10 CNN, 99.5 %", epochs=10, batch_size=256, max_lr=0.01,
                       beta2=0.9, label_smoothing=0.1, max_shift=1)
"""Lesson 10's network widened to ``fast_convnet(channels=(32, 64))``, trained towards 99.5 %
test accuracy: :data:`LESSON10_CNN` for ten epochs with random shifts of up to one pixel.
``benchmarks/run.py`` measures its time to 99.5 %; the width, the epochs and the shifts were
chosen on the validation split (``benchmarks/stem_search.py --long``, ``benchmarks/RESULTS.md``)."""


FASTEST_PUBLISHED = Recipe("fastest published", epochs=2, batch_size=256, max_lr=0.01, beta2=0.9)
"""The recipe of T. Oikarinen, "Training a NN to 99% accuracy on MNIST in 0.76 seconds"
(https://github.com/tuomaso/train_mnist_fast, 2021), as the benchmark re-implements it: Adam
with learning rate 0.01, one-cycle, batches of 256, for ``ConvNet``. The author's code builds
Adam with ``betas=(0.7, 0.9)``, but its ``OneCycleLR`` (default ``cycle_momentum=True``) replaces
the first beta at construction and cycles it from 0.95 to 0.85, so what trains is
``beta1_range=(0.95, 0.85)``, ``beta2=0.9``, as here. The
author trains one epoch and reports a mean of 99.04 %; the benchmark trains two, so that every
seed reaches 99 %."""


def _check_recipe(recipe: object) -> Recipe:
    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a cnncourse.recipes.Recipe, got {type(recipe).__name__}")
    return recipe


def one_cycle(model: nn.Module, recipe: Recipe, steps_per_epoch: int
              ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """Adam and a one-cycle learning-rate schedule for ``recipe``, stepped after every batch.

    Parameters
    ----------
    model
        The module whose parameters are optimized.
    recipe
        Supplies ``max_lr``, ``beta1_range``, ``beta2``, ``weight_decay`` and ``epochs``.
    steps_per_epoch
        Batches per epoch (``len(train_batches)``), positive.

    Returns
    -------
    tuple
        ``(torch.optim.Adam, torch.optim.lr_scheduler.OneCycleLR)``.

    Raises
    ------
    TypeError
        If ``model`` is not an ``nn.Module`` or ``recipe`` not a :class:`Recipe`.
    ValueError
        If ``steps_per_epoch`` is not a positive integer.
    """
    check_model(model, trainable=True)
    _check_recipe(recipe)
    steps_per_epoch = check_int(steps_per_epoch, "steps_per_epoch", minimum=1)
    highest, lowest = recipe.beta1_range
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.max_lr, betas=(highest, recipe.beta2),
                                 weight_decay=recipe.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=recipe.max_lr, epochs=recipe.epochs,
                                                    steps_per_epoch=steps_per_epoch, cycle_momentum=True,
                                                    max_momentum=highest, base_momentum=lowest)
    return optimizer, scheduler


def augmented(recipe: Recipe, train_batches: Iterable, seed: int = 0) -> Iterable:
    """``train_batches`` as ``recipe`` trains on them: wrapped in
    :class:`cnncourse.shifts.ShiftAugmented` when the recipe shifts its images, else unchanged.

    Parameters
    ----------
    recipe
        Supplies ``max_shift``.
    train_batches
        Batches of standardized MNIST images ``(Tensor[N, 1, 28, 28], Tensor[N])``; the
        uncovered strip of a shifted image takes the standardized background
        ``-MNIST_MEAN / MNIST_STD``.
    seed
        Seed of the shifts' generator.

    Raises
    ------
    TypeError
        If ``recipe`` is not a :class:`Recipe`.
    """
    _check_recipe(recipe)
    if not recipe.max_shift:
        return train_batches
    return ShiftAugmented(train_batches, recipe.max_shift, fill=-MNIST_MEAN / MNIST_STD,
                          seed=check_int(seed, "seed"))


def train(model: nn.Module, recipe: Recipe, train_batches: Iterable, val_batches: Iterable | None = None,
          *, config: TrainingConfig | None = None, checkpoint=None, progress: bool = False) -> History:
    """Train ``model`` with ``recipe``: :func:`one_cycle`, label-smoothed cross-entropy, ``fit``,
    on the batches :func:`augmented` makes of ``train_batches``.

    Parameters
    ----------
    model
        A classifier returning ``(N, classes)`` logits, already on its device.
    recipe
        The recipe; its ``batch_size`` must be the batch size of ``train_batches``.
    train_batches, val_batches
        Batches of ``(inputs (Tensor[N, C, H, W]), targets (Tensor[N]))``, e.g.
        :func:`cnncourse.data.fast_loaders`; ``train_batches`` must have a length.
    config
        :func:`cnncourse.runtime.training_config`'s choice of memory format and precision, or
        ``None`` for float32 in the usual memory format. With ``channels_last`` the model's
        weights are converted too.
    checkpoint
        Path where ``fit`` keeps the model with the lowest validation loss (atomically).
    progress
        Show a progress bar per epoch.

    Returns
    -------
    cnncourse.training.History
        One record per epoch.

    Raises
    ------
    TypeError
        For a ``recipe`` or ``config`` of the wrong type, or batches without a length.
    ValueError
        When the batches' ``batch_size`` differs from the recipe's.
    """
    check_model(model, numbers=True)
    _check_recipe(recipe)
    # checked here for their type; fit, which gets them, checks every batch as it is drawn
    check_batches(train_batches, "train_batches")
    if val_batches is not None:
        check_batches(val_batches, "val_batches")
    if config is not None and not isinstance(config, TrainingConfig):
        raise TypeError(f"config must be a cnncourse.runtime.TrainingConfig or None, got {type(config).__name__}")
    size = getattr(train_batches, "batch_size", None)
    if isinstance(size, int) and size != recipe.batch_size:
        raise ValueError(f"train_batches has batch_size {size}, but recipe {recipe.name!r} trains with "
                         f"batches of {recipe.batch_size}: build the batches with "
                         f"batch_size=recipe.batch_size")
    try:
        steps_per_epoch = len(train_batches)
    except TypeError:
        raise TypeError(f"train_batches must have a length (batches per epoch), got "
                        f"{type(train_batches).__name__}") from None
    if steps_per_epoch == 0:
        raise ValueError(f"train_batches must hold at least one batch, got {describe(train_batches)} of "
                         "length 0")
    options = config.options() if config is not None else {}
    if options.get("channels_last"):
        model = model.to(memory_format=torch.channels_last)
    optimizer, scheduler = one_cycle(model, recipe, steps_per_epoch)
    # the shifts follow the seed the caller set (seed_everything sets torch's initial seed)
    shifted = augmented(recipe, train_batches, seed=torch.initial_seed() % 2**31)
    return fit(model, shifted, val_batches, epochs=recipe.epochs, optimizer=optimizer,
               scheduler=scheduler, loss_fn=nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing),
               checkpoint=checkpoint, progress=progress, **options)
