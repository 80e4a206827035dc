"""The training recipes lessons and benchmarks share.

A :class:`Recipe` names every number of a training run that is not the model or the data:
epochs, batch size, the peak learning rate of a one-cycle schedule, Adam's betas, label
smoothing and weight decay. :func:`one_cycle` turns it into an optimizer and a scheduler,
and :func:`train` runs :func:`cnncourse.training.fit` with them.

This is a minimal version with the agreed API (``Recipe``, ``LESSON3_MLP``,
``LESSON8_CNN``, ``one_cycle``, ``train``); its numbers reproduce lessons 3 and 8.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import nn

from cnncourse.training import History, fit

__all__ = ["Recipe", "LESSON3_MLP", "LESSON8_CNN", "one_cycle", "train"]


@dataclass(frozen=True)
class Recipe:
    """Adam with a one-cycle learning-rate schedule and label-smoothed cross-entropy.

    Attributes
    ----------
    name
        A short label.
    epochs
        Passes over the training set.
    batch_size
        Images per training batch.
    max_lr
        Peak learning rate of ``OneCycleLR``.
    betas
        Adam's ``(beta1, beta2)``.
    label_smoothing
        Of ``nn.CrossEntropyLoss``.
    weight_decay
        Adam's L2 penalty.
    """

    name: str
    epochs: int
    batch_size: int
    max_lr: float
    betas: tuple[float, float] = (0.9, 0.999)
    label_smoothing: float = 0.0
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        for field in ("epochs", "batch_size"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{field} must be an int, got {type(value).__name__} ({value!r})")
            if value < 1:
                raise ValueError(f"{field} must be at least 1, got {value}")
        if not isinstance(self.max_lr, (int, float)) or isinstance(self.max_lr, bool):
            raise TypeError(f"max_lr must be a float, got {type(self.max_lr).__name__}")
        if not self.max_lr > 0:
            raise ValueError(f"max_lr must be positive, got {self.max_lr}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")


LESSON3_MLP = Recipe("lesson3-mlp", epochs=12, batch_size=512, max_lr=4e-3, label_smoothing=0.1)
"""Lesson 3's MLP recipe (with dropout 0.3 in the model)."""

LESSON8_CNN = Recipe("lesson8-cnn", epochs=3, batch_size=256, max_lr=0.01, betas=(0.7, 0.9),
                     label_smoothing=0.1)
"""Lesson 8's CNN recipe."""


def one_cycle(model: nn.Module, recipe: Recipe, steps_per_epoch: int
              ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """Adam(lr=max_lr, betas, weight_decay) and ``OneCycleLR`` over ``recipe.epochs``.

    Raises
    ------
    TypeError
        When ``recipe`` is not a :class:`Recipe`.
    ValueError
        When ``steps_per_epoch`` is not a positive int.
    """
    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a Recipe, got {type(recipe).__name__}")
    if isinstance(steps_per_epoch, bool) or not isinstance(steps_per_epoch, int) or steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be a positive int, got {steps_per_epoch!r}")
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.max_lr, betas=recipe.betas,
                                 weight_decay=recipe.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=recipe.max_lr, epochs=recipe.epochs,
                                                    steps_per_epoch=steps_per_epoch)
    return optimizer, scheduler


def train(model: nn.Module, recipe: Recipe, train_batches, val_batches=None, *, config=None,
          checkpoint: str | os.PathLike | None = None, progress: bool = False) -> History:
    """Train ``model`` with ``recipe`` via :func:`cnncourse.training.fit`.

    ``train_batches`` must have a ``len()`` (batches per epoch). ``config`` is a runtime
    ``TrainingConfig`` (``channels_last``, ``autocast_dtype``) or ``None`` for float32 with
    the contiguous layout.
    """
    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a Recipe, got {type(recipe).__name__}")
    optimizer, scheduler = one_cycle(model, recipe, len(train_batches))
    channels_last = bool(getattr(config, "channels_last", False)) if config is not None else False
    autocast_dtype = getattr(config, "autocast_dtype", None) if config is not None else None
    return fit(model, train_batches, val_batches, epochs=recipe.epochs, optimizer=optimizer,
               scheduler=scheduler, loss_fn=nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing),
               checkpoint=checkpoint, channels_last=channels_last, autocast_dtype=autocast_dtype,
               progress=progress)
