"""The pixel-value histograms of lesson 1 count what numpy.histogram counts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnncourse.plots.images import show_value_histograms


def _drawn(fig):
    """(counts, edges) of the step histogram in each panel that has one."""
    out = []
    for ax in fig.axes:
        for patch in ax.patches:
            values, edges, _ = patch.get_data()
            out.append((np.asarray(values), np.asarray(edges)))
    return out


def test_counts_and_edges_match_numpy_histogram():
    rng = np.random.default_rng(0)
    byte_images = torch.from_numpy(rng.integers(0, 256, size=(50, 28, 28), dtype=np.uint8))
    arrays = {"bytes": byte_images.float(),  # integer values, many of them exactly on bin edges
              "scaled": byte_images.float() / 255,
              "normal": rng.normal(size=5000)}
    drawn = _drawn(show_value_histograms(arrays, bins=50))
    assert len(drawn) == 3
    for (counts, edges), values in zip(drawn, arrays.values()):
        ref_counts, ref_edges = np.histogram(np.asarray(values, dtype=np.float64).ravel(), bins=50)
        np.testing.assert_array_equal(counts, ref_counts)
        np.testing.assert_allclose(edges, ref_edges)


def test_titles_give_mean_std_and_range():
    fig = show_value_histograms({"x": np.array([0.0, 1.0, 2.0, 3.0])})
    assert fig.axes[0].get_title() == "x\nmean 1.500, std 1.118\nrange [0.00, 3.00]"


def test_a_constant_array_gets_a_unit_range_like_numpy():
    counts, edges = _drawn(show_value_histograms({"ones": np.ones(7)}, bins=4))[0]
    ref_counts, ref_edges = np.histogram(np.ones(7), bins=4)
    np.testing.assert_array_equal(counts, ref_counts)
    np.testing.assert_allclose(edges, ref_edges)


@pytest.mark.parametrize("arrays, bins, error, fragments", [
    ({}, 50, ValueError, ["at least one array"]),
    ({"empty": np.array([])}, 50, ValueError, ["'empty'", "empty"]),
    ({"x": np.ones(3)}, 0, ValueError, ["bins", "0", "positive"]),
    ({"x": np.ones(3)}, 2.5, TypeError, ["bins", "2.5", "int"]),
])
def test_bad_input_is_explained(arrays, bins, error, fragments):
    with pytest.raises(error) as info:
        show_value_histograms(arrays, bins=bins)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_counts_stay_exact_beyond_float32_integers():
    # 2**24 + 3 zeros: a float32 counter stops at 16,777,216; MNIST's zero bin holds 38 million
    counts, _ = _drawn(show_value_histograms({"zeros": torch.zeros(2**24 + 3, dtype=torch.uint8)}, bins=1))[0]
    assert counts.tolist() == [2**24 + 3]
