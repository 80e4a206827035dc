"""cnncourse.normalization against nn.BatchNorm2d, in training and in evaluation mode."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnncourse.normalization import batch_norm2d, batch_statistics


@pytest.mark.parametrize("shape", [(8, 3, 5, 5), (2, 4, 1, 3), (1, 2, 4, 4)])
@pytest.mark.parametrize("momentum", [0.1, 0.01, 1.0])
def test_equals_batchnorm2d_in_both_modes(shape, momentum):
    torch.manual_seed(0)
    bn = nn.BatchNorm2d(shape[1], momentum=momentum)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2)
        bn.bias.uniform_(-1, 1)
    mean, var = bn.running_mean.clone(), bn.running_var.clone()
    for step in range(3):
        x = torch.randn(*shape) * (step + 1) + step
        ours, mean, var = batch_norm2d(x, mean, var, bn.weight, bn.bias, training=True, momentum=momentum)
        theirs = bn.train()(x)
        assert torch.allclose(ours, theirs, atol=1e-5)
        assert torch.allclose(mean, bn.running_mean, atol=1e-6) and torch.allclose(var, bn.running_var, atol=1e-5)
    x = torch.randn(*shape)
    ours, m2, v2 = batch_norm2d(x, mean, var, bn.weight, bn.bias, training=False)
    assert torch.allclose(ours, bn.eval()(x), atol=1e-5)
    assert m2 is mean and v2 is var  # evaluation leaves the running statistics alone


def test_statistics_are_per_channel_over_batch_and_positions():
    x = torch.randn(4, 3, 6, 6)
    mean, var = batch_statistics(x)
    assert torch.allclose(mean, x.permute(1, 0, 2, 3).reshape(3, -1).mean(1))
    assert torch.allclose(var, x.permute(1, 0, 2, 3).reshape(3, -1).var(1, unbiased=False))
    y, _, _ = batch_norm2d(x, torch.zeros(3), torch.ones(3), training=True)
    m, v = batch_statistics(y)
    assert torch.allclose(m, torch.zeros(3), atol=1e-6) and torch.allclose(v, torch.ones(3), atol=1e-4)


def test_a_bias_before_batchnorm_changes_nothing_in_training():
    torch.manual_seed(0)
    x = torch.randn(8, 1, 10, 10)
    with_bias, without = nn.Conv2d(1, 4, 3), nn.Conv2d(1, 4, 3, bias=False)
    without.weight.data.copy_(with_bias.weight.data)
    a, _, _ = batch_norm2d(with_bias(x), torch.zeros(4), torch.ones(4), training=True)
    b, _, _ = batch_norm2d(without(x), torch.zeros(4), torch.ones(4), training=True)
    assert torch.allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("call, error, words", [
    (lambda: batch_norm2d(torch.ones(2, 3, 4), torch.zeros(3), torch.ones(3), training=True), ValueError, ["(N, C, H, W)"]),
    (lambda: batch_norm2d(torch.ones(2, 3, 4, 4, dtype=torch.long), torch.zeros(3), torch.ones(3), training=True),
     TypeError, ["floating"]),
    (lambda: batch_norm2d(torch.ones(2, 3, 4, 4), torch.zeros(2), torch.ones(3), training=True),
     ValueError, ["running_mean", "(3,)"]),
    (lambda: batch_norm2d(torch.ones(1, 3, 1, 1), torch.zeros(3), torch.ones(3), training=True),
     ValueError, ["more than one value"]),
    (lambda: batch_norm2d(torch.ones(2, 3, 4, 4), torch.zeros(3), torch.ones(3), training=1), TypeError, ["training"]),
    (lambda: batch_norm2d(torch.ones(2, 3, 4, 4), torch.zeros(3), torch.ones(3), training=True, momentum=0),
     ValueError, ["momentum"]),
    (lambda: batch_norm2d(torch.ones(2, 3, 4, 4), torch.zeros(3), torch.ones(3), training=True, eps=-1),
     ValueError, ["eps"]),
])
def test_bad_input(call, error, words):
    with pytest.raises(error) as raised:
        call()
    assert all(w in str(raised.value) for w in words), str(raised.value)


# --------------------------------------------------------------------------- issue 37: bad input, found by the API fuzz test
@pytest.mark.parametrize("call, exc, words", [
    (lambda: batch_statistics(torch.zeros(0, 2, 4, 4)), ValueError, ["x must not be empty", "(0, 2, 4, 4)"]),
    (lambda: batch_statistics(torch.zeros(2, 2, 4, 0)), ValueError, ["x must not be empty", "(2, 2, 4, 0)"]),
    (lambda: batch_statistics(3.0), ValueError, ["x", "0-d tensor (3.0"]),
    (lambda: batch_statistics(torch.zeros(2, 2, 4, 4, device="meta")), ValueError, ["x", "meta"]),
    (lambda: batch_norm2d(torch.zeros(1, 1, 2, 2), torch.zeros(2), torch.ones(2), training=False), ValueError,
     ["running_mean", "x of shape (1, 1, 2, 2)", "(2,)"]),
    (lambda: batch_norm2d(torch.zeros(1, 2, 2, 2), torch.zeros(2), 3.0, training=False), ValueError,
     ["running_var", "0-d tensor (3.0"]),
    (lambda: batch_norm2d(torch.zeros(1, 2, 2, 2), torch.zeros(2, device="meta"), torch.ones(2), training=False),
     ValueError, ["running_mean", "meta"]),
])
def test_normalization_arguments_are_named_with_their_value(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))
