"""The figures' colours stay distinguishable with the common colour-vision deficiencies:
the palette is set once (cnncourse.plots._layout.apply_style) and every map is a safe one."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.colors import to_rgb

import cnncourse.plots  # noqa: F401  (applies the style)
from cnncourse.plots._layout import PALETTE, SAFE_CMAPS, apply_style

ROOT = Path(__file__).resolve().parents[1]

# Machado, Oliveira & Fernandes (2009), severity 1.0, on linear RGB.
DEFICIENCIES = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                     [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                   [0.004733, 0.691367, 0.303900]],
}
MIN_DELTA_E = 15.0  # CIE76 distance in Lab between the closest two colours, as seen


def _lab(rgb_linear: np.ndarray) -> np.ndarray:
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ np.clip(
        rgb_linear, 0, 1) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def closest_pair(colours, deficiency: str) -> float:
    """The smallest Lab distance between two of ``colours`` as a reader with ``deficiency`` sees them."""
    m = np.asarray(DEFICIENCIES[deficiency])
    linear = [np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4) for c in map(np.array, map(to_rgb, colours))]
    labs = [_lab(m @ c) for c in linear]
    return min(float(np.linalg.norm(a - b)) for a, b in itertools.combinations(labs, 2))


def test_the_colour_cycle_is_the_safe_palette():
    apply_style()
    assert matplotlib.rcParams["axes.prop_cycle"].by_key()["color"] == list(PALETTE.values())
    assert matplotlib.rcParams["image.cmap"] in SAFE_CMAPS


@pytest.mark.parametrize("deficiency", list(DEFICIENCIES))
def test_the_first_six_colours_stay_apart(deficiency):
    """Seen failing against the mutant palette-back-to-tab10."""
    assert closest_pair(list(PALETTE.values())[:6], deficiency) >= MIN_DELTA_E


def test_the_check_fails_matplotlibs_default_cycle():
    """tab10's red and green (C2, C3) merge for protanopes and deuteranopes: the check sees it."""
    default = matplotlib.rcParamsDefault["axes.prop_cycle"].by_key()["color"][:6]
    assert closest_pair(default, "deuteranopia") < MIN_DELTA_E
    assert closest_pair(default, "protanopia") < MIN_DELTA_E


def test_figures_name_no_unsafe_colour_or_map():
    """Colours come from the cycle or PALETTE; maps are safe ones (no jet, no tab: names)."""
    sources = sorted((ROOT / "cnncourse" / "plots").glob("*.py")) + [ROOT / "cnncourse" / "widgets" / "_static.py"]
    problems = []
    for path in sources:
        text = path.read_text(encoding="utf-8")
        problems += [f"{path.name}: {m}" for m in re.findall(r"[\"']tab:\w+[\"']", text)]
        problems += [f"{path.name}: cmap {m}" for m in re.findall(r"cmap(?:=|\s*or\s*)[\"'](\w+)[\"']", text)
                     if m not in SAFE_CMAPS]
    assert not problems, problems
