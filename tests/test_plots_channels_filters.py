"""The figures of the channels section (lesson 5) and of filters before and after training (lesson 8)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch

from cnncourse.plots.cnn import show_filters_before_after
from cnncourse.plots.filters import show_rgb_channels


def test_show_rgb_channels_panels_and_layout():
    rgb = np.random.default_rng(0).integers(0, 256, (16, 12, 3))
    fig = show_rgb_channels(rgb, {"a": np.zeros((16, 12)), "b": np.ones((16, 12)) - 2})
    visible = [ax for ax in fig.axes if ax.axison or ax.images]
    assert len(visible) == 6
    assert [ax.get_title() for ax in fig.axes[:4]] == ["colour", "red channel", "green channel",
                                                       "blue channel"]
    # the red channel panel shows exactly the red values
    assert np.array_equal(fig.axes[1].images[0].get_array(), rgb[..., 0].astype(float))
    chw = show_rgb_channels(torch.from_numpy(rgb).permute(2, 0, 1))
    assert np.array_equal(chw.axes[2].images[0].get_array(), rgb[..., 1].astype(float))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        show_rgb_channels(np.zeros((4, 4)))


def test_show_filters_before_after():
    before = torch.randn(10, 1, 5, 5)
    after = before * 2
    fig = show_filters_before_after(before, after, ncols=4, scores=(np.arange(10), np.arange(10) / 10))
    drawn = [ax for ax in fig.axes if ax.images]
    assert len(drawn) == 20
    labels = [ax.get_xlabel() for ax in drawn]
    assert labels[:3] == ["0.00", "1.00", "2.00"] and labels[10:12] == ["0.00", "0.10"]
    assert np.allclose(drawn[10].images[0].get_array(), after[0, 0].numpy())
    with pytest.raises(ValueError, match="same shape"):
        show_filters_before_after(before, after[:3])
    with pytest.raises(ValueError, match="ncols"):
        show_filters_before_after(before, after, ncols=0)
