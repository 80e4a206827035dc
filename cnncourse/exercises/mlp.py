"""Checkers for lesson 2, multi-layer perceptrons."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial

import torch

from cnncourse._checks import check_int, check_sequence
from cnncourse.exercises.feedback import Feedback, call_learner, checker, correct, read_number, read_tensor, wrong

__all__ = ["check_parameter_count", "check_sigmoid_derivative", "check_softmax"]


def _sizes(sizes: Sequence[int]) -> tuple[int, ...]:
    return tuple(check_sequence(sizes, "sizes", item=partial(check_int, minimum=1), minimum=2))


@checker("parameter count")
def check_parameter_count(answer: int | None, sizes: Sequence[int] = (784, 256, 128, 10)) -> Feedback:
    """Check the number of trainable parameters of a fully connected network with layer widths ``sizes``.

    Parameters
    ----------
    answer
        The learner's count (``None`` or ``...`` while unanswered).
    sizes
        Layer widths from input to output.
    """
    name = "parameter count"
    sizes = _sizes(sizes)
    answer = read_number(answer, name, integer=True, what="the count")
    pairs = list(zip(sizes[:-1], sizes[1:]))
    expected = sum(a * b + b for a, b in pairs)
    if answer == expected:
        return correct(name, "every Linear layer has n_in * n_out weights plus n_out biases.")
    if answer == sum(a * b for a, b in pairs):
        return wrong(name, "close: every neuron also has a bias, one per output of each layer.")
    if answer == sum(a * b + a for a, b in pairs):
        return wrong(name, "a layer has one bias per output neuron, not per input.")
    if answer == sum(a * b + b for a, b in pairs[:-1]) or answer == sum(a * b + b for a, b in pairs[1:]):
        return wrong(name, f"one layer is missing: {len(sizes)} widths make {len(pairs)} Linear layers.")
    if answer == sum(sizes):
        return wrong(name, "that counts neurons; count the weights between consecutive layers, plus biases.")
    return wrong(name, f"not quite: add up, over the {len(pairs)} Linear layers, the weights between "
                       "consecutive layers and one bias per output.")


@checker("sigmoid derivative")
def check_sigmoid_derivative(fn: Callable[[torch.Tensor], torch.Tensor] | None) -> Feedback:
    """Check a hand-written derivative of the sigmoid, ``fn(z) -> sigma'(z)``, against autograd."""
    name = "sigmoid derivative"
    z = torch.linspace(-8, 8, 161, dtype=torch.float64)
    got = read_tensor(call_learner(fn, name, z.clone(), call="your function (given a float tensor of points z)",
                                   expects="one slope per point"), name)
    if got.shape != z.shape:
        return wrong(name, f"return one slope per point: expected shape {tuple(z.shape)}, got {tuple(got.shape)}")
    zz = z.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(torch.sigmoid(zz).sum(), zz)
    if torch.allclose(got, expected, atol=1e-6):
        return correct(name, "sigma'(z) = sigma(z) * (1 - sigma(z)), largest at z = 0.")
    s = torch.sigmoid(z)
    if torch.allclose(got, s, atol=1e-6):
        return wrong(name, "that is the sigmoid itself; differentiate it.")
    if torch.allclose(got, s * (1 + s), atol=1e-6) or torch.allclose(got, 1 - s, atol=1e-6):
        return wrong(name, "write the derivative in terms of sigma(z) and check it at z = 0, where it should be 1/4.")
    at_zero = float(got[80])  # z[80] == 0
    if not abs(at_zero - 0.25) <= 1e-6:  # also catches NaN
        return wrong(name, f"at z = 0 your slope is {at_zero:.4g}; the sigmoid's slope there is 1/4.")
    return wrong(name, "right at z = 0 but not elsewhere; compare with torch.autograd on a few points.")


@checker("softmax")
def check_softmax(fn: Callable[[torch.Tensor], torch.Tensor] | None) -> Feedback:
    """Check a hand-written softmax over the last dimension, including very large logits."""
    name = "softmax"
    gen = torch.Generator().manual_seed(0)
    cases = [torch.randn(5, 10, generator=gen, dtype=torch.float64),
             torch.tensor([[0.0, 0.0, 0.0]], dtype=torch.float64),
             torch.tensor([[2.0, 1.0, 0.1], [-1.0, 3.0, 0.5]], dtype=torch.float64)]
    for logits in cases:
        got = read_tensor(call_learner(fn, name, logits.clone(), expects="a tensor of probabilities"), name)
        if got.shape != logits.shape:
            return wrong(name, f"the output must have the shape of the logits {tuple(logits.shape)}, got {tuple(got.shape)}")
        expected = torch.softmax(logits, dim=-1)
        if not torch.allclose(got, expected, atol=1e-6):
            if torch.allclose(got.sum(0), torch.ones(got.shape[1], dtype=torch.float64), atol=1e-6) and got.shape[0] > 1:
                return wrong(name, "your probabilities sum to 1 down each column: normalise over the classes "
                                   "(the last dimension) of each row.")
            if not torch.allclose(got.sum(-1), torch.ones(got.shape[0], dtype=torch.float64), atol=1e-6):
                return wrong(name, "each row of probabilities must sum to 1: divide by the sum of the exponentials.")
            return wrong(name, "rows sum to 1 but the values are off: the probability of class i is "
                               "exp(z_i) divided by the sum of exp(z_j) over the row.")
    big = torch.tensor([[1000.0, 999.0, 0.0]], dtype=torch.float32)
    got = read_tensor(call_learner(fn, name, big.clone(), call="with large logits your function",
                                   expects="a tensor of probabilities"), name)
    if not torch.isfinite(got).all() or not torch.allclose(got, torch.softmax(big.double(), -1), atol=1e-5):
        return wrong(name, "correct on small logits, but logits like 1000 overflow exp(); softmax does not "
                           "change when the same number is subtracted from every logit of a row.")
    return correct(name, f"and it survives logits of 1000 (exp(1000) alone would be {math.inf}).")
