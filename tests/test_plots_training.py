"""The seed-spread figure draws every finite value, its mean, and marks the diverged runs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cnncourse.plots.training import show_seed_spread

RESULTS = {"Adam": {"raw": [0.31, 0.34, 0.30], "scaled": [0.29, 0.28, 0.30]},
           "SGD": {"raw": [math.nan, math.inf, 2.30], "scaled": [0.40, 0.38, 0.41]}}


def _dots(ax, marker):
    return [line for line in ax.lines if line.get_marker() == marker]


def test_every_finite_value_is_a_dot_and_every_failure_a_cross():
    fig = show_seed_spread(RESULTS)
    adam, sgd = fig.axes
    assert [ax.get_title() for ax in fig.axes] == ["Adam", "SGD"]
    for ax, settings in ((adam, RESULTS["Adam"]), (sgd, RESULTS["SGD"])):
        drawn = sorted(np.concatenate([line.get_ydata() for line in _dots(ax, "o")]).tolist())
        expected = sorted(v for values in settings.values() for v in values if math.isfinite(v))
        np.testing.assert_allclose(drawn, expected)
    crosses = _dots(sgd, "x")
    assert sum(len(line.get_ydata()) for line in crosses) == 2
    assert not _dots(adam, "x")
    assert [t.get_text() for t in sgd.texts] == ["diverged (2)"]


def test_the_bar_of_each_setting_is_at_the_mean_of_its_finite_values():
    fig = show_seed_spread(RESULTS)
    bars = fig.axes[1].collections
    levels = sorted(float(np.asarray(b.get_segments())[0][0][1]) for b in bars)
    np.testing.assert_allclose(levels, sorted([2.30, np.mean([0.40, 0.38, 0.41])]))


def test_labels_and_log_axis():
    fig = show_seed_spread(RESULTS, ylabel="loss", logy=True)
    assert fig.axes[0].get_ylabel() == "loss"
    assert fig.axes[0].get_yscale() == "log"
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["raw", "scaled"]


@pytest.mark.parametrize("results, fragment", [
    ({}, "results is empty"),
    ({"Adam": {}}, r"results\['Adam'\] must have at least one entry"),
    ({"Adam": {"raw": []}}, r"results\['Adam'\]\['raw'\] must have at least 1 item"),
])
def test_bad_input_is_explained(results, fragment):
    with pytest.raises(ValueError, match=fragment):
        show_seed_spread(results)
