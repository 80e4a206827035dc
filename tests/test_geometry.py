"""cnncourse.geometry against real PyTorch layers (Conv2d, MaxPool2d, AvgPool2d).

The property tests draw thousands of random layer settings from a seeded generator (non-square
kernels, strides, dilations, int/"same"/"valid" padding, ceil_mode) and compare the computed
output shape with the shape PyTorch produces on a 1-channel input, and the smallest accepted
input with what PyTorch accepts.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from cnncourse import geometry
from cnncourse.geometry import Geometry, layer_geometry, min_input_size, output_shape, output_size

N_LAYERS = 6000
N_CHAINS = 400


@pytest.fixture(autouse=True)
def one_thread():
    """Thousands of tiny layers: one thread each is many times faster than a pool on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _random_layer(rng: np.random.Generator) -> nn.Module:
    """A random Conv2d, MaxPool2d or AvgPool2d with settings PyTorch builds and may run."""
    kind = rng.integers(3)
    k = tuple(int(v) for v in rng.integers(1, 6, size=2))
    if kind == 0:
        d = tuple(int(v) for v in rng.integers(1, 4, size=2))
        choice = rng.integers(4)
        if choice == 0:
            return nn.Conv2d(1, 1, k, dilation=d, padding="same", bias=False)
        if choice == 1:
            return nn.Conv2d(1, 1, k, stride=tuple(int(v) for v in rng.integers(1, 4, size=2)), dilation=d,
                             padding="valid", bias=False)
        return nn.Conv2d(1, 1, k, stride=tuple(int(v) for v in rng.integers(1, 4, size=2)), dilation=d,
                         padding=tuple(int(v) for v in rng.integers(0, 4, size=2)), bias=False)
    s = tuple(int(v) for v in rng.integers(1, 5, size=2))
    p = tuple(int(rng.integers(0, ki // 2 + 1)) for ki in k)  # PyTorch: padding <= kernel_size / 2
    ceil_mode = bool(rng.integers(2))
    if kind == 1:
        d = tuple(int(v) for v in rng.integers(1, 4, size=2))
        return nn.MaxPool2d(k, stride=s, padding=p, dilation=d, ceil_mode=ceil_mode)
    return nn.AvgPool2d(k, stride=s, padding=p, ceil_mode=ceil_mode)


def _torch_shape(layers, size: tuple[int, int]) -> tuple[int, int] | None:
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "same" with an even kernel: PyTorch warns of a copy
            out = nn.Sequential(*layers)(torch.zeros(1, 1, *size))
    except RuntimeError:
        return None
    return (out.shape[-2], out.shape[-1]) if out.numel() else None


def _our_shape(layers, size: tuple[int, int]) -> tuple[int, int] | None:
    try:
        for layer in layers:
            size = output_shape(layer_geometry(layer), size)
    except ValueError:
        return None
    return size


def test_property_output_shape_matches_torch_layers():
    """6,000 random layers, each on a random input (some too small): the same shape, or both refuse."""
    rng = np.random.default_rng(20)
    refused = 0
    for _ in range(N_LAYERS):
        layer = _random_layer(rng)
        size = tuple(int(v) for v in rng.integers(1, 16, size=2))
        expected = _torch_shape([layer], size)
        refused += expected is None
        assert _our_shape([layer], size) == expected, (layer, size)
    assert N_LAYERS / 20 < refused < N_LAYERS / 2  # both branches are exercised


def test_property_min_input_size_matches_torch():
    """Random chains of 1-4 layers: PyTorch runs on min_input_size and refuses one pixel less."""
    rng = np.random.default_rng(21)
    for _ in range(N_CHAINS):
        layers = [_random_layer(rng) for _ in range(int(rng.integers(1, 5)))]
        h, w = min_input_size([layer_geometry(m) for m in layers])
        assert _torch_shape(layers, (h, w)) is not None, (layers, h, w)
        if h > 1:
            assert _torch_shape(layers, (h - 1, w)) is None, (layers, h, w)
        if w > 1:
            assert _torch_shape(layers, (h, w - 1)) is None, (layers, h, w)


@pytest.mark.parametrize("layers, expected", [
    ([nn.Conv2d(1, 4, 3, padding="same", dilation=2)], (1, 1)),
    ([nn.Conv2d(1, 1, 4, padding="same") for _ in range(4)], (1, 1)),
    ([nn.Conv2d(1, 1, 3), nn.MaxPool2d(2, ceil_mode=True), nn.Conv2d(1, 1, 3), nn.MaxPool2d(2, ceil_mode=True)],
     (7, 7)),
    ([nn.Conv2d(1, 1, 3), nn.MaxPool2d(3, stride=2, ceil_mode=True)], (4, 4)),
    ([nn.Conv2d(1, 1, (3, 5))], (3, 5)),
], ids=["same-dilated", "same-even-x4", "ceil-mode-chain", "ceil-mode-stride", "non-square"])
def test_min_input_size_of_the_issue_cases(layers, expected):
    assert min_input_size([layer_geometry(m) for m in layers]) == expected
    assert min_input_size(nn.Sequential(*layers)) == expected  # a module: its windows, in order
    h, w = expected
    assert _torch_shape(layers, (h, w)) is not None
    assert _torch_shape(layers, (h - 1, w)) is None or h == 1


def test_ceil_mode_chain_maps_7x7_to_1x1():
    layers = [nn.Conv2d(1, 1, 3), nn.MaxPool2d(2, ceil_mode=True), nn.Conv2d(1, 1, 3), nn.MaxPool2d(2, ceil_mode=True)]
    assert _our_shape(layers, (7, 7)) == (1, 1) == _torch_shape(layers, (7, 7))


def test_padding_amounts_same_is_asymmetric_for_even_kernels():
    assert geometry.padding_amounts(4, 1, "same") == (1, 2)
    assert geometry.padding_amounts(3, 2, "same") == (2, 2)
    assert geometry.padding_amounts(3, 1, "valid") == (0, 0)
    assert geometry.padding_amounts(3, 1, 2) == (2, 2)
    assert geometry.padding_amounts(3, 1, (0, 1)) == (0, 1)


def test_output_size_examples_and_ceil_mode_rule():
    assert output_size(28, 3) == 26
    assert output_size(28, 3, padding="same") == 28
    assert output_size(28, 5, stride=2, padding=2) == 14
    assert output_size(7, 2, stride=2, ceil_mode=True) == 4
    # the last window would start at 6 >= 5 + 1 (input + left padding): PyTorch drops it
    assert output_size(5, 2, stride=2, padding=1, ceil_mode=True) == 3
    assert nn.MaxPool2d(2, padding=1, ceil_mode=True)(torch.zeros(1, 1, 5, 5)).shape[-1] == 3


def test_numpy_and_tensor_integers_are_accepted():
    assert output_size(np.int64(28), np.int32(3), stride=torch.tensor(1)) == 26
    g = layer_geometry(nn.Conv2d(1, 1, kernel_size=np.int64(3)))
    assert g.kernel_size == (3, 3) and all(type(v) is int for v in g.kernel_size)


@pytest.mark.parametrize("call, error, fragment", [
    (lambda: output_size(True, 3), TypeError, "size"),
    (lambda: output_size(28.0, 3), TypeError, "float"),
    (lambda: output_size(28, 0), ValueError, "kernel_size"),
    (lambda: output_size(2, 3), ValueError, "smallest size that fits is 3"),
    (lambda: output_size(28, 3, stride=2, padding="same"), ValueError, "stride 1"),
    (lambda: output_size(28, 3, padding="full"), ValueError, "'same'"),
    (lambda: output_size(28, 3, padding=-1), ValueError, "non-negative"),
    (lambda: output_size(28, 3, padding=1.5), TypeError, "padding"),
    (lambda: layer_geometry(nn.Linear(2, 2)), TypeError, "Linear"),
    (lambda: layer_geometry(nn.AdaptiveAvgPool2d(1)), TypeError, "AdaptiveAvgPool2d"),
    (lambda: output_shape((3, 3), (5, 5)), TypeError, "Geometry"),
    (lambda: min_input_size([nn.Conv2d(1, 1, 3)]), TypeError, "Conv2d"),
    (lambda: min_input_size("conv"), TypeError, "torch.nn.Module"),
    (lambda: output_shape(3, (5, 5)), TypeError, "Geometry"),
])
def test_bad_arguments(call, error, fragment):
    with pytest.raises(error, match=None) as info:
        call()
    assert fragment in str(info.value)


def test_layers_that_keep_the_size_have_no_geometry():
    assert layer_geometry(nn.ReLU()) is None and layer_geometry(nn.BatchNorm2d(3)) is None
    assert min_input_size([None, layer_geometry(nn.Conv2d(1, 1, 3)), None]) == (3, 3)
    assert isinstance(layer_geometry(nn.MaxPool2d(2)), Geometry)


def test_kernel_span_is_the_dilated_window():
    from cnncourse.geometry import kernel_span

    assert [kernel_span(k, d) for k, d in ((1, 1), (3, 1), (3, 2), (5, 4))] == [1, 3, 5, 17]
    g = layer_geometry(nn.Conv2d(1, 1, (3, 5), dilation=(2, 1)))
    assert g.span == (5, 5)


# --------------------------------------------------------------------------- issue 37: bad input, found by the API fuzz test
@pytest.mark.parametrize("input_size, words", [(1, ["input_size 1x1", "window 1 of 3"]),
                                               ((8, 5), ["input_size 8x5", "window 3 of 3", "width"])])
def test_output_shape_names_input_size_and_the_window_that_gets_too_little(input_size, words):
    layers = nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool2d(2), nn.Conv2d(1, 1, 3))
    with pytest.raises(ValueError) as info:
        output_shape(layers, input_size)
    for word in words:
        assert word in str(info.value)


def test_checked_output_size_names_the_callers_arguments():
    """The one place that checks a window's arguments, with the caller's names."""
    names = {"size": "n", "kernel_size": "k", "stride": "s"}
    with pytest.raises(ValueError, match=r"^n 2 is too small for a window of k 3 .* smallest n that fits is 3"):
        geometry.checked_output_size(2, 3, names=names)
    with pytest.raises(ValueError, match=r"^s must be a positive int, got 0"):
        geometry.checked_output_size(8, 3, stride=0, names=names)
    with pytest.raises(TypeError, match=r"^k must be a positive int, got bool"):
        geometry.checked_output_size(8, True, names=names)
    assert geometry.checked_output_size(28, 5, 2, 2, names=names) == output_size(28, 5, 2, 2) == 14


@pytest.mark.parametrize("args, exc, word", [(("3",), TypeError, "kernel_size"), ((3, "2"), TypeError, "dilation"),
                                             ((0,), ValueError, "kernel_size"), ((3, 0), ValueError, "dilation")])
def test_kernel_span_checks_its_arguments(args, exc, word):
    with pytest.raises(exc, match=word):
        geometry.kernel_span(*args)
