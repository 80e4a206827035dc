"""Training recipes: checked against PyTorch's Adam/OneCycleLR and against fit() assembled by hand."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from cnncourse import recipes
from cnncourse.data import MNIST_MEAN, MNIST_STD, TensorBatches
from cnncourse.recipes import LESSON3_MLP, LESSON8_CNN, LESSON10_CNN, Recipe, one_cycle, train
from cnncourse.runtime import TrainingConfig
from cnncourse.training import History, fit


def test_the_lessons_recipes_keep_their_numbers():
    assert (LESSON3_MLP.epochs, LESSON3_MLP.batch_size, LESSON3_MLP.max_lr, LESSON3_MLP.beta1_range,
            LESSON3_MLP.beta2, LESSON3_MLP.label_smoothing, LESSON3_MLP.weight_decay
            ) == (12, 512, 4e-3, (0.95, 0.85), 0.999, 0.1, 0.0)
    assert (LESSON8_CNN.epochs, LESSON8_CNN.batch_size, LESSON8_CNN.max_lr, LESSON8_CNN.beta1_range,
            LESSON8_CNN.beta2, LESSON8_CNN.label_smoothing) == (3, 256, 0.01, (0.95, 0.85), 0.9, 0.1)
    assert dataclasses.replace(LESSON10_CNN, name=LESSON8_CNN.name, epochs=3) == LESSON8_CNN
    fastest = recipes.FASTEST_PUBLISHED
    assert (fastest.epochs, fastest.label_smoothing) == (2, 0.0)
    assert dataclasses.replace(fastest, name=LESSON10_CNN.name, epochs=1, label_smoothing=0.1) == LESSON10_CNN


@pytest.mark.parametrize("change, error, words", [
    ({"epochs": 0}, ValueError, ["epochs", "positive", "0"]),
    ({"epochs": 2.0}, TypeError, ["epochs", "int", "float"]),
    ({"batch_size": True}, TypeError, ["batch_size", "bool"]),
    ({"max_lr": 0.0}, ValueError, ["max_lr", "positive", "0.0"]),
    ({"max_lr": float("inf")}, ValueError, ["max_lr", "finite", "inf"]),
    ({"max_lr": float("nan")}, ValueError, ["max_lr", "nan"]),
    ({"max_lr": "0.01"}, TypeError, ["max_lr", "number", "str"]),
    ({"label_smoothing": 1.0}, ValueError, ["label_smoothing", "[0.0, 1.0)", "1.0"]),
    ({"weight_decay": -1e-4}, ValueError, ["weight_decay", "non-negative", "-0.0001"]),
    ({"beta1_range": (0.9,)}, TypeError, ["beta1_range", "two numbers"]),
    ({"beta1_range": [0.95, 0.85]}, TypeError, ["beta1_range", "tuple"]),
    ({"beta1_range": (1.0, 0.85)}, ValueError, ["beta1_range[0]", "[0.0, 1.0)"]),
    ({"beta1_range": (0.85, 0.95)}, ValueError, ["beta1_range", "(highest, lowest)", "(0.85, 0.95)"]),
    ({"beta2": 1.0}, ValueError, ["beta2", "[0.0, 1.0)", "1.0"]),
    ({"beta2": float("nan")}, ValueError, ["beta2", "nan"]),
    ({"name": ""}, TypeError, ["name", "non-empty"]),
])
def test_bad_recipes_are_refused_by_field(change, error, words):
    with pytest.raises(error) as raised:
        dataclasses.replace(LESSON8_CNN, **change)
    assert all(word in str(raised.value) for word in words), str(raised.value)


def test_one_cycle_is_torch_adam_and_one_cycle():
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    recipe = Recipe("t", epochs=2, batch_size=4, max_lr=0.05, beta2=0.95, weight_decay=1e-3)
    optimizer, scheduler = one_cycle(model, recipe, steps_per_epoch=10)
    assert isinstance(optimizer, torch.optim.Adam)
    group = optimizer.param_groups[0]
    assert group["betas"][1] == 0.95 and group["weight_decay"] == 1e-3
    reference = torch.optim.lr_scheduler.OneCycleLR(torch.optim.Adam(nn.Linear(3, 2).parameters()),
                                                    max_lr=0.05, total_steps=20)
    ours, theirs = [], []
    for _ in range(20):
        ours.append((scheduler.get_last_lr()[0], optimizer.param_groups[0]["betas"][0]))
        theirs.append((reference.get_last_lr()[0], reference.optimizer.param_groups[0]["betas"][0]))
        optimizer.step()
        scheduler.step()
        reference.optimizer.step()
        reference.step()
    assert [v for pair in ours for v in pair] == pytest.approx([v for pair in theirs for v in pair])
    assert max(lr for lr, _ in ours) == pytest.approx(0.05)
    # OneCycleLR cycles Adam's first beta between 0.95 and 0.85, the recipe's beta1_range
    assert {round(beta1, 6) for _, beta1 in ours} >= {0.95, 0.85}


@pytest.mark.parametrize("recipe", [recipes.LESSON3_MLP, recipes.LESSON8_CNN, recipes.LESSON10_CNN,
                                    recipes.FASTEST_PUBLISHED,
                                    Recipe("odd", epochs=3, batch_size=8, max_lr=0.2, beta1_range=(0.9, 0.5),
                                           beta2=0.8, weight_decay=0.01)],
                         ids=lambda r: r.name)
def test_what_a_recipe_prints_is_what_the_optimizer_uses(recipe):
    """Every optimizer setting a recipe's repr shows is read back from the optimizer and its
    schedule, from construction to the last step (a lesson prints the repr)."""
    steps_per_epoch = 10  # 30 % of the steps is a whole step, so the peak is stepped on
    optimizer, scheduler = one_cycle(nn.Linear(2, 2), recipe, steps_per_epoch)
    shown = repr(recipe)
    for field in ("max_lr", "beta1_range", "beta2", "weight_decay", "epochs"):
        assert f"{field}={getattr(recipe, field)!r}" in shown
    highest, lowest = recipe.beta1_range
    group = optimizer.param_groups[0]
    assert group["betas"] == pytest.approx((highest, recipe.beta2)), "at construction, before any step"
    assert group["weight_decay"] == recipe.weight_decay
    seen_lr, seen_beta1 = [], []
    for _ in range(recipe.epochs * steps_per_epoch):
        seen_lr.append(group["lr"])
        seen_beta1.append(group["betas"][0])
        assert group["betas"][1] == recipe.beta2
        optimizer.step()
        scheduler.step()
    assert max(seen_lr) == pytest.approx(recipe.max_lr)
    assert max(seen_beta1) == pytest.approx(highest) and min(seen_beta1) == pytest.approx(lowest)


def test_one_cycle_bad_input():
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, got str"):
        one_cycle("net", LESSON8_CNN, 10)
    with pytest.raises(TypeError, match="recipe must be a cnncourse.recipes.Recipe, got dict"):
        one_cycle(nn.Linear(2, 2), {"max_lr": 0.01}, 10)
    with pytest.raises(ValueError, match="steps_per_epoch must be a positive int, got 0"):
        one_cycle(nn.Linear(2, 2), LESSON8_CNN, 0)
    with pytest.raises(TypeError, match="steps_per_epoch must be a positive int"):
        one_cycle(nn.Linear(2, 2), LESSON8_CNN, 2.5)


def _data(batch_size=8):
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(64, 1, 6, 6, generator=generator)
    y = (x.mean(dim=(1, 2, 3)) > 0).long()
    return TensorBatches(x, y, batch_size=batch_size, shuffle=True, seed=0), TensorBatches(x, y, batch_size=16)


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(64, 2))


def test_train_is_fit_with_the_recipe():
    recipe = Recipe("tiny", epochs=2, batch_size=8, max_lr=0.02, beta2=0.9, label_smoothing=0.1)
    train_batches, val_batches = _data()
    ours = _net()
    history = train(ours, recipe, train_batches, val_batches)
    assert isinstance(history, History) and len(history) == 2
    by_hand = _net()
    optimizer = torch.optim.Adam(by_hand.parameters(), lr=0.02, betas=(0.7, 0.9))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.02, epochs=2, steps_per_epoch=8)
    train_batches, val_batches = _data()
    expected = fit(by_hand, train_batches, val_batches, epochs=2, optimizer=optimizer, scheduler=scheduler,
                   loss_fn=nn.CrossEntropyLoss(label_smoothing=0.1), progress=False)
    assert all(torch.equal(a, b) for a, b in zip(ours.state_dict().values(), by_hand.state_dict().values()))
    assert history.column("train_loss") == expected.column("train_loss")


def test_train_label_smoothing_changes_the_loss():
    smooth = Recipe("s", epochs=1, batch_size=8, max_lr=0.01, label_smoothing=0.2)
    plain = dataclasses.replace(smooth, label_smoothing=0.0)
    losses = [train(_net(), r, *_data()).column("train_loss")[0] for r in (smooth, plain)]
    assert losses[0] > losses[1], "smoothed targets can never be matched exactly, so the loss is higher"


def test_train_in_a_configuration():
    recipe = Recipe("tiny", epochs=1, batch_size=8, max_lr=0.01)
    model = _net()
    train(model, recipe, *_data(), config=TrainingConfig(channels_last=True, autocast_dtype=torch.bfloat16))
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert model[0].weight.dtype == torch.float32, "autocast computes in bf16, the weights stay float32"


def test_train_bad_input():
    recipe = Recipe("tiny", epochs=1, batch_size=8, max_lr=0.01)
    with pytest.raises(ValueError, match="batch_size 16, but recipe 'tiny' trains with batches of 8"):
        train(_net(), recipe, *_data(batch_size=16))
    with pytest.raises(TypeError, match="config must be a cnncourse.runtime.TrainingConfig or None, got dict"):
        train(_net(), recipe, *_data(), config={"channels_last": True})
    with pytest.raises(TypeError, match="train_batches must have a length"):
        train(_net(), recipe, iter(list(_data()[0])))
    with pytest.raises(TypeError, match="recipe must be"):
        train(_net(), "lesson 8", *_data())


def test_augmented_shifts_only_when_the_recipe_says_so():
    batches = TensorBatches(torch.randn(8, 1, 28, 28), torch.arange(8), batch_size=4)
    assert recipes.augmented(recipes.LESSON10_CNN, batches) is batches
    shifted = recipes.augmented(recipes.LESSON10_LONG, batches, seed=3)
    assert len(shifted) == len(batches) and recipes.LESSON10_LONG.max_shift == 1
    (x, y), (x0, y0) = next(iter(shifted)), next(iter(batches))
    assert torch.equal(y, y0) and x.shape == x0.shape and not torch.equal(x, x0)
    # the uncovered strip is the standardized background, not zero
    background = -MNIST_MEAN / MNIST_STD
    edges = torch.cat([x[:, 0, 0], x[:, 0, -1], x[:, 0, :, 0], x[:, 0, :, -1]], 1)
    assert torch.isclose(edges, torch.tensor(background)).any()


@pytest.mark.parametrize("bad, error", [(-1, ValueError), (1.5, TypeError), ("1", TypeError)])
def test_max_shift_is_checked(bad, error):
    with pytest.raises(error, match="max_shift"):
        dataclasses.replace(recipes.LESSON10_CNN, max_shift=bad)


def test_train_refuses_empty_batches_by_name():
    recipe = Recipe("tiny", epochs=1, batch_size=4, max_lr=0.01)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    with pytest.raises(ValueError, match=r"^train_batches must hold at least one batch, got list \(\[\]\)"):
        train(model, recipe, [])
