"""Every figure of the course stays legible in the 672 px text column and on a 390 px phone.

Each plotting function is drawn with inputs shaped like the lessons' own (24 filters, eight
feature maps per layer, a 14x14 window of pixel values, ...). The smallest text must be at
least 9 px on the desktop column and about 9 px (8.5) on the phone, and no legend may sit on
the axes, where it can cover data.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from legibility import DESKTOP, MIN_PX, PHONE, PHONE_MIN_PX, smallest_text_px

from cnncourse.filters import get_kernel
from cnncourse.plots import _layout
from cnncourse.plots import activations as A
from cnncourse.plots import cnn as C
from cnncourse.plots import evaluation as E
from cnncourse.plots import filters as F
from cnncourse.plots import images as I
from cnncourse.plots import pooling as P
from cnncourse.plots import receptive_field as R
from cnncourse.plots import training as T
from cnncourse.training import EpochRecord, History
from cnncourse.widgets import ErfExplorer, KernelExplorer, PoolingExplorer

rng = np.random.default_rng(0)
torch.manual_seed(0)
h = History([EpochRecord(e, 1 / e, 0.9, 1.1 / e, 0.88) for e in range(1, 5)], best_epoch=3)
digit = torch.from_numpy(rng.integers(0, 256, (28, 28))).float()
digits = torch.from_numpy(rng.integers(0, 256, (24, 28, 28))).float()
k3 = torch.randn(3, 3)
bank = {
    n: torch.randn(3, 3) for n in ("box blur", "gaussian blur", "sharpen", "laplacian", "sobel x")
}
photo = torch.rand(64, 64) * 255
maps = {"a": rng.random((21, 21)), "b": rng.random((21, 21))}
cases = {
    "show_history": lambda: T.show_history(h),
    "show_histories": lambda: T.show_histories({"a": h, "b": h}),
    "show_curves": lambda: T.show_curves({"a": [1, 2, 3]}),
    "show_seed_spread": lambda: T.show_seed_spread(
        {
            "Adam, lr 0.001": {
                "raw 0-255": [1, 2],
                "divided by 255": [1, 2],
                "standardized": [1, 2],
            },
            "SGD, lr 0.1": {
                "raw 0-255": [math.nan, 2],
                "divided by 255": [1, 2],
                "standardized": [1, 2],
            },
        },
        logy=True,
    ),
    "show_negative_log": lambda: T.show_negative_log(),
    "show_throughput": lambda: T.show_throughput(
        {"fast path": 1000.0, "DataLoader": 300.0, "bf16": 1200.0}
    ),
    "show_digit_grid": lambda: I.show_digit_grid(digits, list(range(24))),
    "show_pixel_values": lambda: I.show_pixel_values(
        digit.to(torch.uint8), rows=(6, 20), cols=(7, 21)
    ),
    "show_value_histograms": lambda: I.show_value_histograms(
        {"a": digits, "b": digits / 255, "c": digits, "d": digits}
    ),
    "show_activations": lambda: A.show_activations(),
    "show_filters": lambda: C.show_filters(torch.randn(24, 1, 5, 5), ncols=12),
    "show_feature_maps": lambda: C.show_feature_maps(
        digit[None], {"conv1": torch.rand(1, 24, 24, 24), "pool1": torch.rand(1, 24, 12, 12)}, n=8
    ),
    "show_shifted_digits": lambda: C.show_shifted_digits(
        {f"right {d} px": digit for d in range(7)}
    ),
    "show_shift_accuracy": lambda: C.show_shift_accuracy(
        {
            "MLP": {"right": [0.9, 0.8, 0.5], "down": [0.9, 0.7, 0.4]},
            "CNN": {"right": [0.99, 0.98, 0.9], "down": [0.99, 0.97, 0.8]},
        }
    ),
    "show_per_class_accuracy": lambda: E.show_per_class_accuracy(
        np.linspace(0.95, 0.99, 10), overall=0.97
    ),
    "show_confusion_matrix": lambda: E.show_confusion_matrix(rng.integers(0, 1000, (10, 10))),
    "show_kernel": lambda: F.show_kernel(k3),
    "show_kernels": lambda: F.show_kernels(bank),
    "show_worked_example": lambda: F.show_worked_example(digit[:3, :3], k3),
    "show_filtering": lambda: F.show_filtering(photo, k3, photo),
    "show_images": lambda: F.show_images(
        {f"m{i}": torch.randn(8, 8) for i in range(8)},
        ncols=4,
        size=2.2,
        signed=True,
        colorbar=True,
    ),
    "show_filter_bank": lambda: F.show_filter_bank(photo, bank),
    "show_edge_modes": lambda: F.show_edge_modes(digit[:10, :10], torch.ones(5, 5) / 25),
    "show_response_table": lambda: F.show_response_table(
        {
            "a": {"horizontal": 1.0, "vertical": 2.0},
            "b": {"horizontal": 1.0, "vertical": 0.0},
            "c": {"horizontal": 1.0, "vertical": 2.0},
            "d": {"horizontal": 1.0, "vertical": 2.0},
        },
        title="max |response|",
    ),
    "show_gradients": lambda: F.show_gradients(photo, photo, photo, photo, torch.zeros(64, 64)),
    "show_pooling": lambda: P.show_pooling(torch.rand(5, 5) * 9, window=3, stride=2),
    "show_pooled_maps": lambda: P.show_pooled_maps(photo, windows=(2, 4)),
    "show_shift_grid": lambda: P.show_shift_grid(
        {"": {"a": photo[:10, :10], "b": photo[:10, :10], "c": photo[:10, :10]}}
    ),
    "show_unchanged_fractions": lambda: P.show_unchanged_fractions(
        [2, 3, 4], {"max": [0.5, 0.4, 0.3], "avg": [0.1, 0.1, 0.1]}
    ),
    # shaped like lesson 7's: four long labels, which once widened the figure past the column
    "show_unchanged_fractions, long labels": lambda: P.show_unchanged_fractions(
        [1, 2, 3, 4],
        {f"{what}, 1 px {where}": [1, 0.5, 0.4, 0.3]
         for what, where in (("digits", "right"), ("digits", "down"), ("digits", "diagonal"),
                             ("edge maps", "right"))},
    ),
    # lesson 5's bank, with its 5x5 kernel
    "show_kernels, lesson 5": lambda: F.show_kernels(
        {name: get_kernel(name) for name in ("box blur", "gaussian blur", "sharpen", "laplacian", "sobel x")}
    ),
    "show_rgb_channels, lesson 5": lambda: F.show_rgb_channels(
        torch.rand(3, 64, 64) * 255,
        {"Sobel x on all\nchannels": rng.random((62, 62)), "Sobel x: red\nminus blue": rng.random((62, 62))},
    ),
    "show_filters_before_after, lesson 8": lambda: C.show_filters_before_after(
        torch.randn(24, 1, 5, 5), torch.randn(24, 1, 5, 5), ncols=8,
        scores=(rng.random(24), rng.random(24)),
    ),
    # the explorers' static figures, as lessons 5, 7 and 9 draw them
    "KernelExplorer.static_figure": lambda: KernelExplorer().static_figure(),
    "PoolingExplorer.static_figure": lambda: PoolingExplorer().static_figure(windows=(1, 2, 4)),
    "ErfExplorer.static_figure": lambda: ErfExplorer().static_figure(depths=(1, 3, 6), dilations=(1, 2)),
    "show_usage_map": lambda: R.show_usage_map(
        {"one": rng.random((9, 9)), "two": rng.random((9, 9))}
    ),
    "show_erf_by_depth": lambda: R.show_erf_by_depth(
        {
            1: rng.random((21, 21)),
            2: rng.random((21, 21)),
            4: rng.random((21, 21)),
            8: rng.random((21, 21)),
        }
    ),
    "show_field_growth": lambda: R.show_field_growth([1, 2, 4], {"a": [1, 2, 3], "b": [1, 1.5, 2]}),
    "show_erf_comparison": lambda: R.show_erf_comparison(maps),
    "show_dilation_comparison": lambda: R.show_dilation_comparison(
        {
            "3 plain": rng.random((21, 21)),
            "3 dilated": rng.random((21, 21)),
            "7 plain": rng.random((21, 21)),
        }
    ),
}


@pytest.mark.parametrize("name", list(cases))
def test_text_is_legible_on_desktop_and_phone(name):
    fig = cases[name]()
    assert smallest_text_px(fig, DESKTOP) >= MIN_PX
    assert smallest_text_px(fig, PHONE) >= PHONE_MIN_PX


@pytest.mark.parametrize("name", list(cases))
def test_no_legend_covers_data(name):
    fig = cases[name]()
    assert all(ax.get_legend() is None for ax in fig.axes)


def test_wide_banks_wrap_into_rows():
    fig = C.show_filters(torch.randn(24, 1, 5, 5), ncols=12)
    assert len(fig.axes) == 24
    rows = {round(ax.get_position().y0, 3) for ax in fig.axes}
    assert len(rows) >= 2 and fig.get_figwidth() <= _layout.MAX_WIDTH


@pytest.mark.parametrize(
    "n, width, expected", [(24, 0.9, 6), (3, 0.9, 3), (5, 10.0, 1), (0, 1.0, 1)]
)
def test_columns(n, width, expected):
    assert _layout.columns(n, width) == expected


def test_panel_grid_switches_off_the_unused_axes():
    fig, axes = _layout.panel_grid(5, 1.75, 2.0)
    assert len(axes) == 5 and len(fig.axes) == 6
    assert sum(ax.axison for ax in fig.axes) == 5


# ------------------------------------------------------------------ the size recorded for the site
def test_smallest_text_px_reads_the_smallest_visible_text():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1])
    ax.set_title("title", fontsize=14)
    ax.set_xlabel("x", fontsize=7)
    ax.text(0.5, 0.5, "hidden", fontsize=3).set_visible(False)
    ax.text(0.5, 0.5, "   ", fontsize=2)  # blank: nothing to read
    assert _layout.smallest_text_px(fig, dpi=72) == 7.0
    assert _layout.smallest_text_px(fig, dpi=144) == 14.0
    plt.close(fig)
    empty = plt.figure()
    assert _layout.smallest_text_px(empty) is None
    plt.close(empty)


def test_png_carries_the_text_size():
    import io

    from PIL import Image

    fig = T.show_curves({"a": [1, 2, 3]})
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    png = _layout.png_with_text_size(buffer.getvalue(), 12.345)
    image = Image.open(io.BytesIO(png))
    image.load()  # every chunk's CRC is checked while reading
    assert image.text[_layout.TEXT_SIZE_KEY] == "12.35"
    assert _layout.png_with_text_size(buffer.getvalue(), None) == buffer.getvalue()
    with pytest.raises(ValueError, match="png must be a PNG"):
        _layout.png_with_text_size(b"GIF89a" + bytes(40), 10.0)


def test_outside_ipython_nothing_is_registered():
    assert _layout.record_text_size_in_png() is False
