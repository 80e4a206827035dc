"""Every checker, every kind of bad answer: a Feedback comes back (never a traceback), it does
not pass, and it does not print the right answer.

The answers are the ones learners give (issue 20, kind 3): the placeholder, None, NaN and
infinities, strings, bools, NumPy scalars and 0-d tensors of a wrong value, arrays where a
number is asked, tensors that require grad, and functions that raise, forget ``return``,
return NaN, an array or a string.
"""

from __future__ import annotations

import importlib
import inspect
import math

import numpy as np
import pytest
import torch
from torch import nn

from cnncourse.exercises import feedback
from cnncourse.exercises.cnn import (
    check_batchnorm_parameters,
    check_conv_parameters,
    check_finetuned_parameters,
    check_head_parameters,
    check_output_shape,
    check_smallest_input,
)
from cnncourse.exercises.convolution import (
    check_brightness_kernels,
    check_correlate,
    check_detector_choice,
    check_edge_kernel,
    check_gradient_direction,
    check_output_size,
    check_rgb_layer_parameters,
)
from cnncourse.exercises.feedback import Feedback
from cnncourse.exercises.images import check_flat_index, check_normalized_range, check_pixel_position
from cnncourse.exercises.mlp import check_parameter_count, check_sigmoid_derivative, check_softmax
from cnncourse.exercises.pooling import check_exact_shift, check_pool_function, check_pooled_output
from cnncourse.exercises.receptive_field import (
    check_erf_growth,
    check_field_size,
    check_jump,
    check_stage_field,
)
from cnncourse.exercises.speed import check_epoch_seconds
from cnncourse.exercises.training import (
    check_cross_entropy,
    check_decay_factor,
    check_dropout,
    check_epoch_loss,
    check_he_std,
    check_momentum_gain,
    check_test_time_scale,
)

STACK = [nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3, stride=2)]

class _Residual(torch.nn.Module):
    """One residual block (3x3, 3x3, identity shortcut) after a stem: a branching model."""

    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Conv2d(1, 2, 3, padding=1)
        self.block = torch.nn.Sequential(torch.nn.Conv2d(2, 2, 3, padding=1), torch.nn.ReLU(),
                                         torch.nn.Conv2d(2, 2, 3, padding=1))

    def forward(self, x):
        x = self.stem(x)
        return x + self.block(x)


RESIDUAL = _Residual()

# checker -> (how to call it with an answer, its right answer as text that must not leak, kind)
CHECKERS = {
    "output shape": (check_output_shape, None, "sequence"),
    "conv parameters": (check_conv_parameters, "4640", "number"),
    "head parameters": (check_head_parameters, "330", "number"),
    "rgb layer parameters": (check_rgb_layer_parameters, "1216", "number"),
    "smallest input": (check_smallest_input, None, "number"),
    "output size": (check_output_size, None, "number"),
    "correlate": (check_correlate, None, "function"),
    "brightness": (check_brightness_kernels, None, "choice"),
    "detector": (check_detector_choice, None, "choice"),
    "edge kernel": (check_edge_kernel, None, "array"),
    "gradient direction": (check_gradient_direction, None, "number"),
    "flat index": (check_flat_index, None, "function"),
    "pixel position": (check_pixel_position, None, "function"),
    "normalized range": (lambda a: check_normalized_range(a, 1.0), None, "number"),
    "parameter count": (check_parameter_count, "235146", "number"),
    "sigmoid derivative": (check_sigmoid_derivative, None, "function"),
    "softmax": (check_softmax, None, "function"),
    "pooled output": (check_pooled_output, None, "array"),
    "pool function": (check_pool_function, None, "function"),
    "exact shift": (check_exact_shift, None, "number"),
    "field size": (lambda a: check_field_size(a, STACK), None, "number"),
    "jump": (lambda a: check_jump(a, STACK), None, "number"),
    "stage field": (lambda a: check_stage_field(a, RESIDUAL, "block"), None, "number"),
    "erf growth": (check_erf_growth, None, "number"),
    "epoch seconds": (lambda a: check_epoch_seconds(a, 60_000, 3_000.0), "20", "number"),
    "cross-entropy": (check_cross_entropy, None, "function"),
    "epoch loss": (check_epoch_loss, None, "function"),
    "dropout": (check_dropout, None, "function"),
    "test-time scale": (check_test_time_scale, None, "number"),
    "momentum gain": (check_momentum_gain, "10", "number"),
    "batchnorm parameters": (check_batchnorm_parameters, "64", "number"),
    "fine-tuned parameters": (check_finetuned_parameters, "206341", "number"),
    "he std": (check_he_std, None, "number"),
    "weight decay": (check_decay_factor, None, "number"),
}


def _raises(*_args):
    raise ZeroDivisionError("division by zero")


def _forgets_return(*_args):
    _ = 1 + 1


VALUE_ANSWERS = {
    "ellipsis": ..., "none": None, "nan": math.nan, "inf": math.inf, "-inf": -math.inf, "np-nan": np.float64("nan"),
    "string": "thirteen", "bool": True, "np-bool": np.bool_(False), "np-int": np.int64(-3), "np-float": np.float32(0.37),
    "0-d tensor": torch.tensor(-7), "0-d nan tensor": torch.tensor(math.nan), "grad tensor": torch.ones(3, 3, requires_grad=True),
    "grad scalar": torch.tensor(0.5, requires_grad=True), "array": np.arange(6.0).reshape(2, 3), "empty": [],
    "ragged": [[1, 2], [3]], "dict": {"a": 1}, "complex": 1j, "object": object(), "huge": 10**30,
    "function": _raises,
}
FUNCTION_ANSWERS = {
    "raises": _raises, "forgets return": _forgets_return, "returns nan": lambda *a: math.nan,
    "returns inf tensor": lambda *a: torch.full((3,), math.inf), "returns string": lambda *a: "done",
    "returns array": lambda *a: np.zeros((2, 2)), "returns grad tensor": lambda *a: torch.ones(2, requires_grad=True) * 2,
    "returns tuple": lambda *a: (1, 2, 3), "returns dict": lambda *a: {}, "not callable": 42,
    "wrong arity": lambda: 0, "returns object": lambda *a: object(),
}


def _cases():
    for checker_name, (check, _secret, kind) in CHECKERS.items():
        answers = dict(VALUE_ANSWERS)
        if kind == "function":
            answers.update(FUNCTION_ANSWERS)
        for answer_name, answer in answers.items():
            yield pytest.param(check, answer, id=f"{checker_name}-{answer_name}")


@pytest.mark.parametrize("check, answer", list(_cases()))
def test_every_checker_answers_every_bad_answer_with_feedback(check, answer):
    fb = check(answer)
    assert isinstance(fb, Feedback)
    assert fb.passed is not True
    assert fb.message and "Traceback" not in fb.message


@pytest.mark.parametrize("name", [n for n, (_, secret, _) in CHECKERS.items() if secret])
def test_wrong_answers_never_leak_the_right_one(name):
    check, secret, _ = CHECKERS[name]
    for answer in (1, 2, int(secret) - 1, int(secret) + 1, -5, 0.5, math.nan, "x", np.int64(7)):
        assert secret not in check(answer).message


def test_each_checker_is_in_the_table():
    """A new checker must join the family test."""
    found = set()
    for module in ("cnn", "convolution", "images", "mlp", "pooling", "receptive_field", "speed", "training"):
        mod = importlib.import_module(f"cnncourse.exercises.{module}")
        found |= {n for n, f in inspect.getmembers(mod, callable) if n.startswith("check_") and f.__module__ == mod.__name__}
    listed = {c.__name__ for c, _, _ in CHECKERS.values() if hasattr(c, "__name__") and c.__name__.startswith("check_")}
    listed |= {"check_normalized_range", "check_field_size", "check_jump", "check_epoch_seconds",
               "check_stage_field"}
    assert found <= listed, found - listed


@pytest.mark.parametrize("answer, fragment", [
    (math.nan, "finite"), (np.int64(4640), None), (torch.tensor(4640), None), (4640.0, None), (True, "whole number"),
])
def test_numbers_of_every_type_are_read(answer, fragment):
    fb = check_conv_parameters(answer)
    assert (fb.passed is True) if fragment is None else (fragment in fb.message and not fb)


def test_the_issue_cases():
    assert not check_epoch_loss(lambda losses, sizes: math.nan)
    assert "finite" in check_epoch_loss(lambda losses, sizes: math.nan).message
    for check in (check_softmax, check_sigmoid_derivative, check_dropout):
        fb = check(_forgets_return)
        assert "forget `return`" in fb.message and fb.passed is None
    assert check_conv_parameters(math.inf).passed is False
    assert check_smallest_input(math.nan).passed is False
    conv = nn.Conv2d(1, 1, 3)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]]))
    assert check_edge_kernel(conv.weight[0, 0])  # requires grad, right answer
    assert "int" in check_flat_index(lambda r, c, w: np.array([r * w + c, 0])).message
    assert check_flat_index(lambda r, c, w: np.int64(r * w + c))
    assert check_output_size(torch.tensor(13))


def test_mistake_tables_are_what_the_checkers_say():
    for count, hint in check_conv_parameters.mistakes().items():
        assert check_conv_parameters(count).message == hint
    for side, hint in check_smallest_input.mistakes().items():
        assert check_smallest_input(side).message == hint


def test_rejected_carries_its_feedback():
    fb = feedback.wrong("x", "hint")
    assert feedback.Rejected(fb).feedback is fb


@pytest.mark.parametrize("answer", [[None, None], [1.0, None], ["1.5"], [[1.0, 2.0], [3.0]],
                                    [1 + 2j], [torch.tensor(1.0, requires_grad=True)]])
def test_read_array_ends_the_check_on_entries_that_are_not_real_numbers(answer):
    """Issue 37: None among the numbers became NaN (a 'result' full of NaN), a string a number."""
    with pytest.raises(feedback.Rejected, match="give an array of numbers"):
        feedback.read_array(answer, "ex", finite=False)
    with pytest.raises(feedback.Rejected, match="give an array of numbers"):
        feedback.read_tensor(answer, "ex")  # what a learner's function returned, read alike


def test_read_array_still_reads_numbers_booleans_and_lists_of_tensors():
    assert feedback.read_array([True, False], "ex").tolist() == [1.0, 0.0]
    assert feedback.read_array([torch.tensor(1.0), np.float32(2)], "ex").tolist() == [1.0, 2.0]
    assert feedback.read_array(np.arange(3, dtype=np.uint8), "ex").dtype == np.float64
