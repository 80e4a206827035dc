import math

import torch

from cnncourse.exercises.mlp import check_parameter_count, check_sigmoid_derivative, check_softmax


def _hint(feedback):
    assert feedback.passed is False and feedback.message
    return feedback.message


def test_placeholders_are_unanswered():
    for checker in (check_parameter_count, check_sigmoid_derivative, check_softmax):
        for placeholder in (None, ...):
            fb = checker(placeholder)
            assert fb.passed is None and not fb


def test_parameter_count():
    assert check_parameter_count(235_146)
    assert check_parameter_count(478_410, sizes=(784, 400, 400, 10))
    assert check_parameter_count(235_146.0)
    assert "bias" in _hint(check_parameter_count(784 * 256 + 256 * 128 + 128 * 10))
    assert "per output" in _hint(check_parameter_count(784 * 256 + 784 + 256 * 128 + 256 + 128 * 10 + 128))
    assert "missing" in _hint(check_parameter_count(784 * 256 + 256 + 256 * 128 + 128))
    assert "neurons" in _hint(check_parameter_count(784 + 256 + 128 + 10))
    assert "235146" not in _hint(check_parameter_count(1))
    assert "whole number" in _hint(check_parameter_count("many"))
    assert "whole number" in _hint(check_parameter_count(True))


def test_sigmoid_derivative():
    assert check_sigmoid_derivative(lambda z: torch.sigmoid(z) * (1 - torch.sigmoid(z)))
    assert "sigmoid itself" in _hint(check_sigmoid_derivative(torch.sigmoid))
    assert "1/4" in _hint(check_sigmoid_derivative(lambda z: torch.ones_like(z)))
    assert "raised" in _hint(check_sigmoid_derivative(lambda z: 1 / 0))
    assert "shape" in _hint(check_sigmoid_derivative(lambda z: z.sum()))
    assert "function" in _hint(check_sigmoid_derivative(3))


def test_softmax():
    def stable(z):
        e = torch.exp(z - z.max(dim=-1, keepdim=True).values)
        return e / e.sum(dim=-1, keepdim=True)

    def naive(z):
        return torch.exp(z) / torch.exp(z).sum(dim=-1, keepdim=True)

    assert check_softmax(stable)
    assert check_softmax(lambda z: torch.softmax(z, dim=1))
    assert "overflow" in _hint(check_softmax(naive))
    assert "column" in _hint(check_softmax(lambda z: torch.exp(z) / torch.exp(z).sum(0, keepdim=True)))
    assert "sum to 1" in _hint(check_softmax(torch.exp))
    assert "raised" in _hint(check_softmax(lambda z: z.nope()))
    assert "exp(z - z.max" not in _hint(check_softmax(naive))  # no solution given away
    assert math.inf == float("inf")


def test_parameter_count_sizes_are_a_sequence_of_positive_ints():
    """Issue 37: sizes=None failed with "'NoneType' object is not iterable"."""
    import pytest

    assert check_parameter_count(5 * 3 + 3, sizes=(5, 3)).passed
    with pytest.raises(TypeError, match=r"^sizes must be a sequence"):
        check_parameter_count(1, sizes=None)
    with pytest.raises(ValueError, match=r"^sizes must have at least 2 items"):
        check_parameter_count(1, sizes=(5,))
    with pytest.raises(ValueError, match=r"^sizes\[1\] must be a positive int, got 0"):
        check_parameter_count(1, sizes=(5, 0))
