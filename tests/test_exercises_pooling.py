"""Checkers of lesson 7 accept right answers and give hints on typical wrong ones."""

from __future__ import annotations

import numpy as np
import torch

from cnncourse.exercises import pooling as ex
from cnncourse.pooling import avg_pool2d, max_pool2d


def _mp(x, k):
    h, w = x.shape[0] // k, x.shape[1] // k
    return np.array([[x[i * k:(i + 1) * k, j * k:(j + 1) * k].max() for j in range(w)] for i in range(h)])


def test_pooled_output():
    right = max_pool2d(ex.POOLING_INPUT, 2).tolist()
    assert ex.check_pooled_output(right)
    assert ex.check_pooled_output(np.array(right)) and ex.check_pooled_output(torch.tensor(right))
    assert ex.check_pooled_output(None).passed is None and ex.check_pooled_output(...).passed is None
    fb = ex.check_pooled_output(avg_pool2d(ex.POOLING_INPUT, 2).tolist())
    assert not fb and "means" in fb.message
    fb = ex.check_pooled_output(max_pool2d(ex.POOLING_INPUT, 2, 1).tolist())
    assert not fb and "stride 1" in fb.message
    fb = ex.check_pooled_output((-max_pool2d(-ex.POOLING_INPUT, 2)).tolist())
    assert not fb and "minima" in fb.message
    wrong = np.array(right)
    wrong[1, 2] += 1
    fb = ex.check_pooled_output(wrong)
    assert not fb and "(1, 2)" in fb.message
    assert str(right) not in ex.check_pooled_output(wrong).message
    assert not ex.check_pooled_output("four")


def test_pool_function():
    assert ex.check_pool_function(_mp)
    assert ex.check_pool_function(lambda x, k: torch.from_numpy(_mp(x, k)))
    assert ex.check_pool_function(None).passed is None
    assert ex.check_pool_function(lambda x, k: None).passed is None
    ceil = lambda x, k: np.array([[x[i * k:(i + 1) * k, j * k:(j + 1) * k].max()  # noqa: E731
                                   for j in range(-(-x.shape[1] // k))] for i in range(-(-x.shape[0] // k))])
    fb = ex.check_pool_function(ceil)
    assert not fb and "incomplete windows" in fb.message
    fb = ex.check_pool_function(lambda x, k: avg_pool2d(x, k).numpy())
    assert not fb and "avg pooling instead" in fb.message
    fb = ex.check_pool_function(lambda x, k: max_pool2d(x, k, 1).numpy())
    assert not fb and "stride 1" in fb.message
    fb = ex.check_pool_function(lambda x, k: 1 / 0)
    assert not fb and "ZeroDivisionError" in fb.message
    assert ex.check_pool_function(lambda x, k: avg_pool2d(x, k).numpy(), mode="avg")


def test_exact_shift():
    assert ex.check_exact_shift(2)
    assert ex.check_exact_shift(None).passed is None
    assert not ex.check_exact_shift(1)
    fb = ex.check_exact_shift(4)
    assert not fb and "smaller" in fb.message
    assert not ex.check_exact_shift(0) and not ex.check_exact_shift("2")
