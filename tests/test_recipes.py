"""The shared training recipes: the optimizer and schedule they build, and training with them."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnncourse.data import TensorBatches
from cnncourse.recipes import LESSON3_MLP, LESSON8_CNN, Recipe, one_cycle, train


def test_lesson_recipes_numbers():
    assert (LESSON8_CNN.epochs, LESSON8_CNN.batch_size, LESSON8_CNN.max_lr, LESSON8_CNN.betas,
            LESSON8_CNN.label_smoothing) == (3, 256, 0.01, (0.7, 0.9), 0.1)
    assert (LESSON3_MLP.epochs, LESSON3_MLP.batch_size, LESSON3_MLP.max_lr, LESSON3_MLP.label_smoothing) == (
        12, 512, 4e-3, 0.1)


def test_one_cycle_schedule():
    model = nn.Linear(3, 2)
    opt, sched = one_cycle(model, LESSON8_CNN, steps_per_epoch=10)
    # OneCycleLR cycles beta1 itself (cycle_momentum); beta2 is the recipe's
    assert isinstance(opt, torch.optim.Adam) and opt.param_groups[0]["betas"][1] == 0.9
    assert sched.total_steps == 30
    lrs = []
    for _ in range(30):
        opt.step()
        lrs.append(opt.param_groups[0]["lr"])
        sched.step()
    assert max(lrs) == pytest.approx(0.01, rel=0.05) and lrs[-1] < 1e-4


def test_train_runs_and_learns():
    torch.manual_seed(0)
    x = torch.randn(256, 4)
    y = (x[:, 0] > 0).long()
    batches = TensorBatches(x, y, batch_size=32, shuffle=True)
    model = nn.Linear(4, 2)
    recipe = Recipe("tiny", epochs=3, batch_size=32, max_lr=0.1)
    history = train(model, recipe, batches, batches)
    assert len(history) == 3 and history.records[-1].val_accuracy > 0.9


def test_bad_recipes():
    with pytest.raises(ValueError, match="epochs"):
        Recipe("x", epochs=0, batch_size=1, max_lr=0.1)
    with pytest.raises(TypeError, match="batch_size"):
        Recipe("x", epochs=1, batch_size=2.0, max_lr=0.1)
    with pytest.raises(ValueError, match="max_lr"):
        Recipe("x", epochs=1, batch_size=1, max_lr=-1.0)
    with pytest.raises(TypeError, match="recipe"):
        one_cycle(nn.Linear(1, 1), "fast", 3)
