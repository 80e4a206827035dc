"""cnncourse.initialization: the rules checked against torch.nn.init and against the spread
they are designed to keep."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from cnncourse.initialization import SCHEMES, activation_spread, init_std, initialize


def _deep(depth=10, width=256, activation=nn.ReLU):
    layers = [nn.Linear(64, width), activation()]
    for _ in range(depth - 1):
        layers += [nn.Linear(width, width), activation()]
    return nn.Sequential(*layers, nn.Linear(width, 10))


@pytest.mark.parametrize("scheme", SCHEMES)
def test_initialize_draws_the_stated_std(scheme):
    layer = nn.Linear(2000, 1000)
    initialize(layer, scheme, seed=0)
    expected = init_std(scheme, 2000, 1000)
    assert float(layer.weight.detach().std()) == pytest.approx(expected, rel=0.01)
    if scheme != "default":
        assert torch.count_nonzero(layer.bias) == 0


def test_initialize_is_torch_nn_init():
    a, b = nn.Conv2d(3, 8, 5), nn.Conv2d(3, 8, 5)
    initialize(a, "he", seed=3)
    torch.manual_seed(3)
    nn.init.kaiming_normal_(b.weight, mode="fan_in", nonlinearity="relu")
    assert torch.equal(a.weight, b.weight)
    initialize(a, "xavier", seed=4)
    torch.manual_seed(4)
    nn.init.xavier_normal_(b.weight)
    assert torch.equal(a.weight, b.weight)
    torch.manual_seed(5)
    fresh = nn.Conv2d(3, 8, 5)
    initialize(a, "default", seed=5)
    assert torch.equal(a.weight, fresh.weight) and torch.equal(a.bias, fresh.bias)


def test_init_std_formulas():
    assert init_std("he", 400) == math.sqrt(2 / 400)
    assert init_std("xavier", 400, 100) == math.sqrt(2 / 500)
    assert init_std("default", 300) == pytest.approx(1 / 30)


def test_he_keeps_the_spread_of_a_deep_relu_network_and_the_others_shrink():
    x = torch.randn(512, 64)
    spread = {s: activation_spread(initialize(_deep(), s, seed=0), x) for s in SCHEMES}
    assert all(len(v) == 10 for v in spread.values())
    he, xavier, default = spread["he"], spread["xavier"], spread["default"]
    assert 0.5 < he[-1] / he[0] < 2
    assert xavier[-1] / xavier[0] < 0.1 and default[-1] / default[0] < 0.2


def test_activation_spread_leaves_the_mode_and_no_hooks():
    net = _deep(depth=2)
    net.train()
    activation_spread(net, torch.randn(4, 64))
    assert net.training
    assert all(not m._forward_hooks for m in net.modules())


@pytest.mark.parametrize("call, error, words", [
    (lambda: init_std("kaiming", 3), ValueError, ["scheme", "kaiming"]),
    (lambda: init_std("he", 0), ValueError, ["fan_in", "0"]),
    (lambda: init_std("xavier", 3), ValueError, ["fan_out", "xavier"]),
    (lambda: init_std("he", 2.5), TypeError, ["fan_in"]),
    (lambda: initialize("net", "he"), TypeError, ["model", "str"]),
    (lambda: initialize(nn.ReLU(), "he"), ValueError, ["no nn.Linear"]),
    (lambda: initialize(nn.Linear(2, 2), None), TypeError, ["scheme"]),
    (lambda: activation_spread(nn.Linear(2, 2), torch.ones(1, 2)), ValueError, ["no activation"]),
    (lambda: activation_spread(_deep(1), torch.ones(1, 64, dtype=torch.long)), TypeError, ["floating"]),
    (lambda: activation_spread(3, torch.ones(1, 2)), TypeError, ["model"]),
])
def test_bad_input(call, error, words):
    with pytest.raises(error) as raised:
        call()
    assert all(w in str(raised.value) for w in words), str(raised.value)
