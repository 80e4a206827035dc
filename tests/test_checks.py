"""cnncourse._checks: one rule for every argument (TypeError for a type, ValueError for a value)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

from cnncourse._checks import as_tensor, check_choice, check_float, check_int, check_pair, to_numpy


@pytest.mark.parametrize("value", [3, np.int64(3), np.int32(3), np.uint8(3), torch.tensor(3), np.array(3)])
def test_integers_of_every_kind_pass(value):
    result = check_int(value, "n", minimum=1)
    assert result == 3 and type(result) is int


@pytest.mark.parametrize("value", [True, np.bool_(True), torch.tensor(True), 3.0, np.float64(3), torch.tensor(3.0),
                                   "3", None, torch.tensor([3]), [3]])
def test_non_integers_are_type_errors(value):
    with pytest.raises(TypeError, match="n must be"):
        check_int(value, "n")


@pytest.mark.parametrize("value, kwargs, expected", [
    (0, {"minimum": 1}, "n must be a positive int, got 0"),
    (-1, {"minimum": 0}, "n must be a non-negative int, got -1"),
    (9, {"minimum": 0, "maximum": 8}, "n must be int in [0, 8], got 9"),
    (1, {"minimum": 2}, "n must be int >= 2, got 1"),
])
def test_out_of_range_integers_are_value_errors(value, kwargs, expected):
    with pytest.raises(ValueError) as info:
        check_int(value, "n", **kwargs)
    assert str(info.value) == expected


@pytest.mark.parametrize("value", [0.5, 1, np.float32(0.5), np.int64(1), torch.tensor(0.5), np.array(0.5)])
def test_floats_of_every_kind_pass(value):
    assert isinstance(check_float(value, "x"), float)


@pytest.mark.parametrize("value, error", [
    (math.nan, ValueError), (math.inf, ValueError), (-math.inf, ValueError), (True, TypeError),
    ("0.5", TypeError), (1j, TypeError), (torch.tensor([0.5, 0.5]), TypeError), (None, TypeError),
])
def test_bad_floats(value, error):
    with pytest.raises(error, match="x must be"):
        check_float(value, "x")


def test_float_bounds_and_nan_when_infinite_is_allowed():
    assert check_float(math.inf, "x", finite=False) == math.inf
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        check_float(1.0, "p", minimum=0, maximum=1, exclusive_maximum=True)
    with pytest.raises(ValueError, match="positive"):
        check_float(0.0, "sigma", minimum=0, exclusive_minimum=True)
    with pytest.raises(ValueError, match="nan"):
        check_float(math.nan, "x", minimum=0, finite=False)


def test_choice():
    assert check_choice("max", "mode", ("max", "avg")) == "max"
    with pytest.raises(ValueError, match="mode must be one of 'max', 'avg', got 'median'"):
        check_choice("median", "mode", ("max", "avg"))
    with pytest.raises(TypeError, match="mode must be one of"):
        check_choice(3, "mode", ("max", "avg"))
    with pytest.raises(ValueError):
        check_choice(np.array([1, 2]), "k", (1, 2))


def test_pair():
    assert check_pair(3, "k") == (3, 3)
    assert check_pair((np.int64(2), torch.tensor(3)), "k") == (2, 3)
    with pytest.raises(ValueError, match="pair"):
        check_pair((1, 2, 3), "k")
    with pytest.raises(TypeError):
        check_pair("33", "k")
    with pytest.raises(ValueError, match="positive"):
        check_pair((1, 0), "k", minimum=1)


def test_as_tensor_and_to_numpy():
    t = as_tensor(np.arange(4, dtype=np.uint8), "x", dtype="floating")
    assert t.dtype == torch.float32
    assert as_tensor([1.0, 2.0], "x").dtype == torch.float64
    with pytest.raises(TypeError, match="x must hold real numbers"):
        as_tensor(np.array(["a"]), "x")
    with pytest.raises(TypeError, match="x must be"):
        as_tensor("abc", "x")
    with pytest.raises(ValueError, match="2 dimensions"):
        as_tensor(torch.zeros(3), "x", ndim=2)
    weight = torch.ones(2, 2, requires_grad=True)
    assert isinstance(to_numpy(weight * 2), np.ndarray)
    assert to_numpy(torch.ones(2, dtype=torch.bfloat16)).dtype == np.float32


def test_check_model_names_the_argument_and_what_came():
    from torch import nn

    from cnncourse._checks import check_model

    layer = nn.ReLU()
    assert check_model(layer) is layer
    with pytest.raises(TypeError, match=r"^model must be a torch.nn.Module, got str \('relu'\)$"):
        check_model("relu")
    with pytest.raises(TypeError, match=r"^net must be a torch.nn.Module, got type"):
        check_model(nn.ReLU, "net")


@pytest.mark.parametrize("value", [None, "ab", b"ab", 3, 2.5, {"a": 1}, torch.tensor(1.0),
                                   np.zeros((2, 2))])
def test_check_sequence_refuses_what_is_not_a_sequence(value):
    from cnncourse._checks import check_sequence

    with pytest.raises(TypeError, match=r"^titles must be a sequence"):
        check_sequence(value, "titles")


def test_check_sequence_lengths_items_and_what_passes():
    from functools import partial

    from cnncourse._checks import check_int, check_sequence, check_text

    assert check_sequence((1, 2), "sizes", item=partial(check_int, minimum=1)) == [1, 2]
    assert check_sequence(range(3), "sizes") == [0, 1, 2]
    assert check_sequence(torch.arange(2), "sizes", length=2)[1] == 1
    assert check_sequence((x for x in "ab"), "names", item=check_text) == ["a", "b"]
    assert check_sequence([], "titles", minimum=0) == []
    with pytest.raises(ValueError, match=r"^titles must have at least 1 item, got 0"):
        check_sequence([], "titles")
    with pytest.raises(ValueError, match=r"^titles must have 2 items, got 3"):
        check_sequence(["a", "b", "c"], "titles", length=2)
    with pytest.raises(TypeError, match=r"^titles\[1\] must be a string, got int \(3\) "
                                        r"\(in titles = list \(\['a', 3\]\)\)$"):
        check_sequence(["a", 3], "titles", item=check_text)
    with pytest.raises(ValueError, match=r"^sizes\[0\] must be"):
        check_sequence([0], "sizes", item=partial(check_int, minimum=1))


def test_check_sequence_shows_the_sequence_of_a_refused_item_once():
    """An item's message names its index and ends with the sequence received; a nested
    sequence's item says so once, for the innermost sequence (the one that holds it)."""
    from functools import partial

    from cnncourse._checks import check_float, check_sequence

    with pytest.raises(ValueError, match=r"^fractions\[1\] must be number in \[0, 1\] \(finite\), "
                                         r"got 1\.5 \(in fractions = list \(\[0\.5, 1\.5\]\)\)$"):
        check_sequence([0.5, 1.5], "fractions", item=partial(check_float, minimum=0, maximum=1))
    rows = partial(check_sequence, item=check_float)
    with pytest.raises(TypeError) as info:
        check_sequence([[1.0], [2.0, "x"]], "scores", item=rows)
    assert str(info.value) == ("scores[1][1] must be a number (finite), got str ('x') "
                               "(in scores[1] = list ([2.0, 'x']))")

    class Odd(ValueError):
        def __init__(self, a, b):
            super().__init__(f"{a} {b}")

    def odd(value, name):
        raise Odd(name, value)

    with pytest.raises(Odd, match=r"^names\[0\] 3$"):  # another error type passes unchanged
        check_sequence([3], "names", item=odd)


def test_check_text():
    from cnncourse._checks import check_text

    assert check_text("Loss", "title") == "Loss"
    assert check_text("", "title", nonempty=False) == ""
    with pytest.raises(TypeError, match=r"^title must be a string, got NoneType \(None\)$"):
        check_text(None, "title")
    with pytest.raises(ValueError, match=r"^title must not be empty, got '  '$"):
        check_text("  ", "title")


# --------------------------------------------------------------------------- issue 37: bad input, found by the API fuzz test
@pytest.mark.parametrize("value", [3, 2.5, np.float64(0.5), np.int64(7)])
def test_as_tensor_keeps_a_number_0d_and_the_rank_message_shows_it(value):
    """A number where a tensor is expected becomes a 0-d tensor (not shape (1,)), and the
    rank message shows the number itself."""
    t = as_tensor(value, "image")
    assert t.shape == ()
    shown = re.escape(repr(t.item()))
    with pytest.raises(ValueError, match=rf"image must have 2 dimensions, got a 0-d tensor \({shown}"):
        as_tensor(value, "image", ndim=2)


@pytest.mark.parametrize("shape, axes", [((0, 3), None), ((3, 0), None), ((2, 1, 0, 4), (-2, -1)),
                                          ((2, 1, 4, 0), (-1,))])
def test_check_nonempty_names_the_argument_and_shape(shape, axes):
    from cnncourse._checks import check_nonempty

    with pytest.raises(ValueError, match=rf"^outputs must not be empty.*shape {re.escape(str(shape))}"):
        check_nonempty(torch.zeros(shape), "outputs", axes=axes)


def test_check_nonempty_passes_what_has_elements_on_its_axes():
    from cnncourse._checks import check_nonempty

    t = torch.zeros(0, 1, 3, 3)  # an empty batch of 3x3 images: the image axes are not empty
    assert check_nonempty(t, "images", axes=(-2, -1)) is t
    assert check_nonempty(torch.tensor(2.0), "x").shape == ()
