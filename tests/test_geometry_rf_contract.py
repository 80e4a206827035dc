"""The parts of cnncourse.geometry that cnncourse.receptive_field relies on, against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cnncourse.geometry import Geometry, layer_geometry, output_shape, output_size, padding_amounts

LAYERS = [
    nn.Conv2d(1, 1, (3, 5), stride=(2, 1), padding=(1, 2), dilation=(1, 2)),
    nn.Conv2d(1, 1, 4, padding="same", dilation=3),
    nn.Conv2d(1, 1, 3, padding="valid", stride=3),
    nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
    nn.MaxPool2d(2, ceil_mode=True, dilation=2),
    nn.AvgPool2d((2, 3), stride=(3, 2), padding=1, ceil_mode=True),
    nn.Conv2d(1, 1, np.int64(3), stride=np.int64(2)),
    nn.MaxPool2d(np.int64(2)),
]


@pytest.mark.parametrize("layer", LAYERS, ids=lambda m: repr(m))
@pytest.mark.parametrize("size", [(1, 1), (4, 4), (5, 7), (8, 9), (13, 6)])
def test_output_shape_is_pytorchs(layer, size):
    geometry = layer_geometry(layer)
    try:
        expected = tuple(layer(torch.zeros(1, 1, *size)).shape[-2:])
    except RuntimeError:
        with pytest.raises(ValueError):
            output_shape(geometry, size)
        return
    assert output_shape(geometry, size) == expected


def test_ceil_mode_last_window_starts_inside():
    # 5 pixels, window 2, stride 2, padding 1: the third window would start in the right padding
    assert output_size(5, 2, stride=2, padding=1, ceil_mode=True) == 3
    assert nn.MaxPool2d(2, 2, padding=1, ceil_mode=True)(torch.zeros(1, 1, 5, 5)).shape[-1] == 3
    assert output_size(2, 3, stride=2, ceil_mode=True) == 1  # the issue-20 case: 4x4 -> conv3 -> 1x1


def test_same_padding_amounts():
    assert padding_amounts(4, 1, "same") == (1, 2)
    assert padding_amounts(3, 2, "same") == (2, 2)
    assert padding_amounts(3, 1, "valid") == (0, 0)
    assert layer_geometry(nn.Conv2d(1, 1, 4, padding="same")).padding == ((1, 2), (1, 2))


def test_layer_geometry_kinds():
    g = layer_geometry(nn.MaxPool2d(np.int64(3)))
    assert g == Geometry((3, 3), (3, 3), (1, 1), ((0, 0), (0, 0)), False)
    for keep in (nn.ReLU(), nn.ReLU6(), nn.SiLU(), nn.GELU(), nn.Hardswish(), nn.Hardsigmoid(),
                 nn.Sigmoid(), nn.BatchNorm2d(2), nn.Dropout(), nn.Identity()):
        assert layer_geometry(keep) is None, type(keep).__name__
    with pytest.raises(TypeError, match="Upsample"):
        layer_geometry(nn.Upsample(scale_factor=2))
