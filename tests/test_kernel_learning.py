"""Recovering a known kernel from input/output pairs by gradient descent."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cnncourse.filters import laplacian, sobel_x
from cnncourse.kernel_learning import learn_kernel


def _pairs(kernel, n=4, size=16, seed=0):
    x = torch.randn(n, 1, size, size, generator=torch.Generator().manual_seed(seed))
    return x, F.conv2d(x, kernel[None, None])


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.5), ("adam", 0.05)])
@pytest.mark.parametrize("make", [sobel_x, laplacian])
def test_recovers_known_kernel(make, optimizer, lr):
    x, y = _pairs(make())
    result = learn_kernel(x, y, 3, steps=300, lr=lr, optimizer=optimizer)
    assert torch.allclose(result.kernel, make(), atol=1e-2)
    assert len(result.losses) == 301 and result.losses[-1] < 1e-4 * result.losses[0]
    assert not torch.allclose(result.initial, make(), atol=0.1)


def test_same_seed_same_start_and_2d_inputs():
    x, y = _pairs(sobel_x(), n=1)
    a = learn_kernel(x[0, 0], y[0, 0], 3, steps=5, seed=3)
    b = learn_kernel(x, y, 3, steps=5, seed=3)
    assert torch.equal(a.initial, b.initial) and torch.allclose(a.kernel, b.kernel)
    assert not torch.equal(a.initial, learn_kernel(x, y, 3, steps=5, seed=4).initial)


def test_bad_input():
    x, y = _pairs(sobel_x())
    with pytest.raises(ValueError, match="targets must have shape"):
        learn_kernel(x, y, 5)
    with pytest.raises(ValueError, match="optimizer"):
        learn_kernel(x, y, 3, optimizer="lbfgs")
    with pytest.raises(TypeError, match="steps"):
        learn_kernel(x, y, 3, steps=2.5)
    with pytest.raises(ValueError, match="lr"):
        learn_kernel(x, y, 3, lr=0)
    with pytest.raises(ValueError, match="inputs"):
        learn_kernel(torch.zeros(2, 3, 8, 8), y, 3)


# --------------------------------------------------------------------------- issue 37: bad input, found by the API fuzz test
@pytest.mark.parametrize("call, exc, words", [
    (lambda: learn_kernel(torch.zeros(8, 8, device="meta"), torch.zeros(6, 6), 3), ValueError, ["inputs", "meta"]),
    (lambda: learn_kernel(3, torch.zeros(6, 6), 3), ValueError, ["inputs", "0-d tensor (3"]),
    (lambda: learn_kernel(torch.zeros(8, 8), torch.zeros(6, 6), 1000), ValueError, ["kernel_size 1000", "8x8"]),
    (lambda: learn_kernel(torch.zeros(8, 8), torch.zeros(6, 6), 2), ValueError, ["kernel_size=2", "(7, 7)"]),
    (lambda: learn_kernel(torch.zeros(8, 8), torch.zeros(6, 6), 3, lr=1e300), ValueError, ["lr", "1e+300"]),
])
def test_learn_kernel_arguments_are_named_with_their_value(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))
