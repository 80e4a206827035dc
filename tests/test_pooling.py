"""cnncourse.pooling against torch.nn.functional.max_pool2d / avg_pool2d, and the shift helpers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncourse import pooling as pl
from cnncourse.filters import gaussian_kernel, sobel_x


def _rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("shape", [(8, 8), (9, 7), (3, 11, 10), (2, 3, 13, 12)])
@pytest.mark.parametrize("window,stride", [(1, 1), (2, None), (2, 1), (3, 2), (3, 3), (4, None), ((2, 3), (1, 2))])
def test_matches_torch(shape, window, stride):
    x = _rand(*shape, seed=1)
    s = window if stride is None else stride
    x4 = x.reshape(-1, 1, *shape[-2:])
    ref_max = F.max_pool2d(x4, window, s).reshape(*shape[:-2], *F.max_pool2d(x4, window, s).shape[-2:])
    ref_avg = F.avg_pool2d(x4, window, s).reshape(ref_max.shape)
    torch.testing.assert_close(pl.max_pool2d(x, window, stride), ref_max)
    torch.testing.assert_close(pl.avg_pool2d(x, window, stride), ref_avg)


def test_small_example_and_numpy_input():
    x = np.array([[3, 1, 0, 2], [4, 8, 1, 1], [0, 2, 5, 7], [1, 1, 6, 2]])
    assert pl.max_pool2d(x, 2).tolist() == [[8, 2], [2, 7]]
    assert pl.avg_pool2d(x, 2).tolist() == [[4.0, 1.0], [1.0, 5.0]]
    assert pl.pool2d(x, 3, 1, "max").tolist() == [[8, 8], [8, 8]]


def test_shift_no_wraparound():
    x = torch.arange(1.0, 17.0).reshape(4, 4)
    s = pl.shift(x, 1, -2)
    assert s[0].abs().sum() == 0 and s[:, 2:].abs().sum() == 0
    torch.testing.assert_close(s[1:, :2], x[:3, 2:])
    assert torch.equal(pl.shift(x, 0, 0), x)
    assert pl.shift(x, 5, 0).abs().sum() == 0
    assert pl.shift(_rand(2, 3, 5, 5), 1, 1).shape == (2, 3, 5, 5)


@pytest.mark.parametrize("kernel", [sobel_x(), gaussian_kernel(5), torch.randn(3, 3, generator=torch.Generator().manual_seed(0))])
@pytest.mark.parametrize("dy,dx", [(0, 1), (1, 0), (2, -3), (-1, -1)])
def test_convolution_is_equivariant_away_from_border(kernel, dy, dx):
    x = _rand(3, 20, 17, seed=2)
    assert pl.equivariance_gap(x, kernel.double(), dy, dx) < 1e-12
    assert pl.equivariance_gap(x, kernel.double(), dy, dx, edge="extend") < 1e-12


def test_unchanged_fraction():
    x = torch.zeros(10, 10)
    x[4, 4] = 1.0
    # the bright pixel stays in its 2x2 window when moved from column 4 to 5
    assert pl.unchanged_fraction(x, 0, 1, window=2) == 1.0
    # ... but not from column 5 to 6
    y = pl.shift(x, 0, 1)
    assert pl.unchanged_fraction(y, 0, 1, window=2) == 0.0
    # without pooling nothing active stays
    assert pl.unchanged_fraction(x, 0, 1, window=1) == 0.0
    assert pl.unchanged_fraction(x, 0, 1, window=1, active_only=False) == pytest.approx(98 / 100)
    with pytest.raises(ValueError, match="no non-zero"):
        pl.unchanged_fraction(torch.zeros(4, 4), 0, 1)


def test_pooling_exact_under_shift_by_stride():
    x = _rand(4, 16, 16, seed=3)
    a = pl.max_pool2d(pl.shift(x, 0, 2), 2)
    b = pl.shift(pl.max_pool2d(x, 2), 0, 1)
    torch.testing.assert_close(a[..., 1:], b[..., 1:])


def test_bad_input():
    with pytest.raises(ValueError, match=r"mode must be one of .* got 'min'"):
        pl.pool2d(torch.zeros(4, 4), 2, mode="min")
    with pytest.raises(ValueError, match=r"window 5x5 is larger than the input 4x4"):
        pl.max_pool2d(torch.zeros(4, 4), 5)
    with pytest.raises(ValueError, match=r"stride must be a positive int, got 0"):
        pl.max_pool2d(torch.zeros(4, 4), 2, 0)
    with pytest.raises(ValueError, match=r"window must be a positive int, got -1"):
        pl.avg_pool2d(torch.zeros(4, 4), -1)
    with pytest.raises(ValueError, match=r"x must have shape .* got 1 dimensions"):
        pl.max_pool2d(torch.zeros(4), 2)
    with pytest.raises(TypeError, match=r"dx must be an int, got float"):
        pl.shift(torch.zeros(4, 4), 1, 0.5)
    with pytest.raises(ValueError, match=r"margin 3 leaves nothing"):
        pl.interior(torch.zeros(6, 6), 3)


@settings(max_examples=30, deadline=None)
@given(h=st.integers(1, 12), w=st.integers(1, 12), window=st.integers(1, 4), stride=st.integers(1, 4),
       seed=st.integers(0, 10_000))
def test_property_matches_torch(h, w, window, stride, seed):
    """Seen failing against the mutants `pool-takes-the-minimum` and `pool-window-one-row-short`."""
    if window > min(h, w):
        return
    x = _rand(2, 2, h, w, seed=seed)
    torch.testing.assert_close(pl.max_pool2d(x, window, stride), F.max_pool2d(x, window, stride))
    torch.testing.assert_close(pl.avg_pool2d(x, window, stride), F.avg_pool2d(x, window, stride))
    # max pooling is at least average pooling
    assert bool((pl.max_pool2d(x, window, stride) >= pl.avg_pool2d(x, window, stride) - 1e-12).all())


def test_plot_functions_return_figures():
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from cnncourse.plots import pooling as pp

    x = _rand(8, 8, seed=5)
    figs = [pp.show_pooling(x.abs().round(), 2), pp.show_pooling(x, 3, 2, "avg"),
            pp.show_pooled_maps(x, (2, 4)),
            pp.show_shift_grid({"r": {"a": x, "b": pl.shift(x, 0, 1), "d": pl.shift(x, 0, 1) - x}},
                               mark_changes=True),
            pp.show_unchanged_fractions([1, 2], {"digits": [0.1, 0.3]})]
    assert all(isinstance(f, Figure) for f in figs)
    plt.close("all")


# --------------------------------------------------------------------------- issue 37: bad input, found by the API fuzz test
@pytest.mark.parametrize("call, exc, words", [
    (lambda: pl.shift(torch.zeros(8), 0, 1), ValueError, ["x", "(8,)"]),
    (lambda: pl.shift(3, 0, 1), ValueError, ["x", "0-d tensor (3"]),
    (lambda: pl.interior(None, 1), TypeError, ["x", "NoneType"]),
    (lambda: pl.interior(torch.zeros(8), 1), ValueError, ["x", "(8,)"]),
    (lambda: pl.interior(torch.zeros(1, 1), 1), ValueError, ["margin 1", "x", "1x1"]),
    (lambda: pl.equivariance_gap(torch.zeros(0, 8), torch.ones(3, 3), 1, 1), ValueError, ["x", "empty"]),
    (lambda: pl.equivariance_gap(torch.zeros(8, 8), torch.ones(3, 3), -7, 1), ValueError,
     ["dy=-7", "dx=1", "(8, 8)"]),
    (lambda: pl.equivariance_gap(torch.zeros(8, 8), torch.ones(3, 3), 1, 1000), ValueError, ["dx=1000"]),
    (lambda: pl.equivariance_gap(torch.zeros(8, 8, device="meta"), torch.ones(3, 3), 1, 1), ValueError,
     ["x", "meta"]),
    (lambda: pl.unchanged_fraction(torch.zeros(8, 8), 0, 1), ValueError, ["x", "(8, 8)", "non-zero"]),
])
def test_pooling_arguments_are_named_with_their_value(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_interior_turns_an_array_into_a_tensor():
    out = pl.interior(np.arange(16.0).reshape(4, 4), 1)
    assert isinstance(out, torch.Tensor) and out.tolist() == [[5.0, 6.0], [9.0, 10.0]]
