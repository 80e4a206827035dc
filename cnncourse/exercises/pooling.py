"""Checkers for the exercises of lesson 7 (pooling).

Each checker returns a :class:`~cnncourse.exercises.feedback.Feedback`; a placeholder
(``None`` or ``...``) gives "no answer yet", a wrong answer a hint without the solution.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import torch

from cnncourse.exercises.feedback import (
    Feedback,
    call_learner,
    checker,
    correct,
    read_array,
    read_number,
    wrong,
)
from cnncourse.pooling import avg_pool2d, max_pool2d, pool2d, shift

POOLING_INPUT = np.array([
    [1, 3, 2, 0, 7, 1],
    [4, 2, 1, 5, 0, 2],
    [0, 6, 3, 1, 2, 8],
    [2, 1, 4, 4, 9, 3],
], dtype=np.int64)
"""The 4x6 feature map of the pooled-output exercise (2x2 max pooling, stride 2)."""


@checker("pooled output")
def check_pooled_output(answer: object) -> Feedback:
    """2x2 max pooling with stride 2 of :data:`POOLING_INPUT`, written out by the learner."""
    name = "pooled output"
    got = read_array(answer, name, what="a 2-D list or array of numbers")
    x = torch.from_numpy(POOLING_INPUT.astype(np.float64))
    expected = max_pool2d(x, 2, 2).numpy()
    if got.shape != expected.shape:
        hint = f"expected shape {expected.shape}, got {got.shape}."
        if got.shape == max_pool2d(x, 2, 1).shape:
            hint += " That is the shape for stride 1; here the windows do not overlap (stride 2)."
        elif got.shape == expected.shape[::-1]:
            hint += " Rows and columns are swapped."
        return wrong(name, hint)
    if np.allclose(got, expected):
        return correct(name, "each number is the largest of its 2x2 window.")
    if np.allclose(got, avg_pool2d(x, 2, 2).numpy()):
        return wrong(name, "those are the window means: this is max pooling.")
    if np.allclose(got, -max_pool2d(-x, 2, 2).numpy()):
        return wrong(name, "those are the window minima: max pooling keeps the largest value.")
    if np.allclose(got, expected.T.reshape(got.shape)):
        return wrong(name, "the right numbers in the wrong order: fill the output row by row.")
    bad = np.argwhere(~np.isclose(got, expected))[0]
    return wrong(name, f"the value at position {tuple(int(i) for i in bad)} is wrong: which 2x2 window "
                       "does that output cell summarise?")


_POOL_CASES = ((4, 4, 2), (6, 8, 2), (7, 7, 2), (9, 6, 3), (5, 5, 1), (6, 6, 4))


def check_pool_function(fn: Callable | None, mode: str = "max",
                        cases: Iterable[tuple[int, int, int]] = _POOL_CASES, seed: int = 0) -> Feedback:
    """Test the learner's ``fn(x, window)``: pooling of a 2-D array with stride = window.

    Compared with :func:`cnncourse.pooling.pool2d` on random arrays, including sizes that
    the window does not divide (the incomplete windows at the right and bottom are dropped,
    as in PyTorch).
    """
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")
    return _check_pool_function(fn, mode, cases, seed, f"{mode} pooling function")


@checker("pooling function", name_from="name")
def _check_pool_function(fn: Callable | None, mode: str, cases: Iterable[tuple[int, int, int]], seed: int,
                         name: str) -> Feedback:
    """:func:`check_pool_function` once its ``mode`` is known to be right."""
    if not callable(fn):
        return wrong(name, f"give a function fn(x, window), got {type(fn).__name__}.")
    rng = np.random.default_rng(seed)
    cases = list(cases)
    for number, (h, w, k) in enumerate(cases, start=1):
        x = rng.integers(-9, 10, size=(h, w)).astype(np.float64)
        what = f"case {number} of {len(cases)} (input {h}x{w}, window {k})"
        expected = pool2d(torch.from_numpy(x), k, k, mode).numpy()
        got = read_array(call_learner(fn, name, x.copy(), k, call=what, expects="the pooled array"), name,
                         what=f"{what}: the output, an array of numbers,", finite=False)
        if got.shape != expected.shape:
            hint = f"{what}: expected shape {expected.shape}, got {got.shape}."
            if got.shape == (-(-h // k), -(-w // k)):
                hint += " You kept the incomplete windows at the border; drop them (round down)."
            elif got.shape == (h - k + 1, w - k + 1):
                hint += " That is stride 1: move the window by its own size."
            return wrong(name, hint)
        if np.allclose(got, expected):
            continue
        other = "avg" if mode == "max" else "max"
        if np.allclose(got, pool2d(torch.from_numpy(x), k, k, other).numpy()):
            return wrong(name, f"{what}: you computed {other} pooling instead of {mode} pooling.")
        bad = np.argwhere(~np.isclose(got, expected))[0]
        return wrong(name, f"{what}: the value at output position {tuple(int(i) for i in bad)} is wrong.")
    return correct(name, f"your function agrees with the reference on all {len(cases)} cases.")


@checker("shift that pooling follows exactly")
def check_exact_shift(answer: object) -> Feedback:
    """Smallest positive shift (pixels) after which 2x2 max pooling with stride 2 gives
    exactly the shifted pooled map again (away from the borders)."""
    name = "shift that pooling follows exactly"
    answer = read_number(answer, name, integer=True, what="a whole number of pixels")
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(4, 24, 24, generator=generator, dtype=torch.float64)

    def follows(d: int) -> bool:
        if d % 2 or d >= x.shape[-1] // 2:
            return False  # an odd shift cannot be a whole number of pooled pixels; a huge one leaves nothing
        a = max_pool2d(shift(x, 0, d), 2)
        b = shift(max_pool2d(x, 2), 0, d // 2)
        m = d // 2 + 1
        return bool(torch.equal(a[..., m:-m], b[..., m:-m]))

    expected = next(d for d in range(1, 12) if follows(d))
    if answer == expected:
        return correct(name, "the pooled map moves by one of its own (coarser) pixels.")
    if answer <= 0:
        return wrong(name, "a shift of 0 pixels changes nothing; the question asks for a positive shift.")
    if answer > expected and follows(answer):
        return wrong(name, f"{answer} pixels works, but a smaller shift does too.")
    return wrong(name, f"after a {answer}-pixel shift the pooled map is not an exact shift of the "
                       "original: try it with shift and max_pool2d and compare.")


__all__ = ["POOLING_INPUT", "check_exact_shift", "check_pool_function", "check_pooled_output"]
