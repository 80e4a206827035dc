"""Tests of the lesson-9 checkers: right answers pass, typical mistakes get a pointed hint."""

from __future__ import annotations

import pytest
from torch import nn

from cnncourse.exercises.receptive_field import (
    check_erf_growth,
    check_field_size,
    check_jump,
    erf_growth_range,
)
from cnncourse.receptive_field import conv_stack, effective_receptive_field, fit_gaussian, fit_power_law


def stack_with_pool():
    return nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(8, 8, 3), nn.ReLU())  # size 10, jump 2


def dilated():
    return [nn.Conv2d(1, 1, 3, dilation=d, padding=d) for d in (1, 2, 4)]  # size 15


def strided():
    return nn.Sequential(nn.Conv2d(1, 8, 3, stride=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 8, 3, stride=2))  # jump 8


@pytest.mark.parametrize("placeholder", [None, ...])
def test_placeholders_are_unanswered(placeholder):
    for fb in (check_field_size(placeholder, stack_with_pool()), check_jump(placeholder, strided()),
               check_erf_growth(placeholder)):
        assert fb.passed is None and not fb
        assert "placeholder" in fb.message


def test_right_answers_pass():
    assert check_field_size(10, stack_with_pool())
    assert check_field_size(10.0, stack_with_pool())
    assert check_field_size((10, 10), stack_with_pool())
    assert check_field_size(15, dilated())
    assert check_jump(2, stack_with_pool())
    assert check_jump(8, strided())
    assert check_erf_growth(2)
    assert check_erf_growth(2.1)
    assert check_erf_growth(3, depth_ratio=9)


@pytest.mark.parametrize("answer, hint", [
    (8, "jump"),            # forgot the jump after the pool
    (7, "pooling"),         # forgot the pool
    (9, "off by one"),
    (11, "added the kernel sizes"),
    (14, "too large"),
    (4, "too small"),
])
def test_field_size_hints(answer, hint):
    fb = check_field_size(answer, stack_with_pool())
    assert fb.passed is False
    assert hint in fb.message
    assert "10" not in fb.message  # the answer is never given away


def test_dilation_hints():
    fb = check_field_size(7, dilated())
    assert not fb and "dilat" in fb.message
    fb = check_field_size(14, dilated())
    assert not fb and "off by one" in fb.message
    assert "15" not in fb.message


@pytest.mark.parametrize("answer, hint", [
    (6, "added the strides"),
    (4, "added the strides"),
    (1, "no layer subsamples"),
    (5, "product of the strides"),
])
def test_jump_hints(answer, hint):
    fb = check_jump(answer, strided())
    assert fb.passed is False and hint in fb.message
    assert "8" not in fb.message


def test_jump_forgot_pooling():
    fb = check_jump(1, stack_with_pool())
    assert not fb and "pooling" in fb.message


def test_erf_growth_range_edges_are_included():
    # 1.1 * 2 is 2.2000000000000002 in floating point: the learner who types 2.2 is right
    low, high = erf_growth_range(4)
    assert check_erf_growth(low) and check_erf_growth(high)
    assert check_erf_growth(1.8) and check_erf_growth(2.2)
    assert not check_erf_growth(1.79) and not check_erf_growth(2.21)


@pytest.mark.parametrize("factor", [2.2, 2.205, 2.20, 2.35, 2.45, 2.47])
def test_erf_growth_accepts_the_factors_the_lesson_measured(factor):
    """The factors issue 31 read off lesson 9's data for a 4x deeper stack, all accepted once
    the lesson passes its measurements."""
    measured = [2.20, 2.35, 2.45, 2.47]
    assert check_erf_growth(factor, depth_ratio=4, measured=measured)
    assert not check_erf_growth(2.47 * 1.06, depth_ratio=4, measured=measured)
    assert "theoretical" in check_erf_growth(4, depth_ratio=4, measured=measured).message


def test_erf_growth_range_holds_lesson_9s_own_measurement():
    """Lesson 9's measurement, re-run with the lesson's own settings (depths 1-16, 8 channels,
    40x40 inputs, 16 inputs x 4 initialisations, seed = depth): every factor its data gives
    for a 4x deeper stack, and each rounded to the answer box's one decimal, is accepted, and
    the square-root law too."""
    depths = [1, 2, 4, 8, 16]
    radius = [fit_gaussian(effective_receptive_field(lambda d=d: conv_stack(d, channels=8), 40, n_inputs=16,
                                                     n_inits=4, seed=d)).radius for d in depths]
    growth4 = [radius[i + 2] / radius[i] for i in range(3)] + [4 ** fit_power_law(depths, radius)[0]]
    for factor in growth4 + [round(f, 1) for f in growth4] + [2.0]:
        assert check_erf_growth(factor, depth_ratio=4, measured=growth4), (factor, growth4)
    assert not check_erf_growth(4, depth_ratio=4, measured=growth4)


@pytest.mark.parametrize("measured, error, words", [
    ([1.0], ValueError, ["measured[0]", "1"]),
    ([float("nan")], ValueError, ["measured[0]", "nan"]),
    ([4.5], ValueError, ["measured[0]", "below depth_ratio"]),
    ("2.2", TypeError, ["measured", "str"]),
    (2.2, TypeError, ["measured", "float"]),
])
def test_erf_growth_bad_measurements(measured, error, words):
    with pytest.raises(error) as raised:
        check_erf_growth(2, depth_ratio=4, measured=measured)
    assert all(w in str(raised.value) for w in words), str(raised.value)


def test_erf_growth_hints():
    fb = check_erf_growth(4)
    assert not fb and "theoretical" in fb.message
    assert "too fast" in check_erf_growth(3).message
    assert "too slow" in check_erf_growth(1.3).message
    assert "above 1" in check_erf_growth(0.5).message


@pytest.mark.parametrize("bad", ["ten", 10.5, True, float("nan"), [1, 2, 3]])
def test_malformed_answers_get_a_hint(bad):
    fb = check_field_size(bad, stack_with_pool())
    assert fb.passed is False and "whole number" in fb.message
    assert check_jump(bad, strided()).passed is False


def test_bad_exercise_arguments():
    with pytest.raises(ValueError, match="depth_ratio"):
        check_erf_growth(2, depth_ratio=1)
    with pytest.raises(ValueError, match="Linear"):
        check_field_size(3, [nn.Linear(2, 2)])
    assert "give a number" in check_erf_growth("two").message


def test_stage_field_names_its_stage_and_model():
    """Issue 37: an unknown or empty stage was reported as the table's own 'name'."""
    from cnncourse.exercises.receptive_field import check_stage_field

    model = nn.Sequential(nn.Conv2d(1, 1, 3), nn.ReLU(), nn.Conv2d(1, 1, 3))
    assert check_stage_field(5, model, "2").passed
    with pytest.raises(ValueError, match=r"^stage must not be empty"):
        check_stage_field(5, model, "")
    with pytest.raises(TypeError, match=r"^stage must be a string"):
        check_stage_field(5, model, 2)
    with pytest.raises(ValueError, match=r"^stage 'block' is not in the table of model \(Sequential\): "
                                         r"no node or module named 'block'"):
        check_stage_field(5, model, "block")
