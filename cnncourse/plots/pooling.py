"""Figures for pooling (lesson 7): windows over a small matrix, pooled feature maps, and the
shift experiments (equivariance of convolution, partial invariance of pooling).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cnncourse._checks import check_float, check_int, check_mapping, check_sequence
from cnncourse.plots._layout import (
    MAX_WIDTH,
    PALETTE,
    check_panel_size,
    image_array,
    imshow_signed,
    legend_below,
    plain_axes,
)
from cnncourse.plots.filters import annotate_grid
from cnncourse.pooling import pool2d

__all__ = ["show_pooling", "show_pooled_maps", "show_shift_grid", "show_unchanged_fractions"]

_WINDOW_COLOURS = (PALETTE["orange"], PALETTE["blue"], PALETTE["green"], PALETTE["purple"], PALETTE["vermillion"],
                   PALETTE["sky"])


def show_pooling(x, window: int = 2, stride: int | None = None, mode: str = "max") -> Figure:
    """A small matrix with its pooling windows outlined, and the pooled output.

    Each output cell is framed in the colour of the window it summarises (colours cycle
    when there are more windows than colours). In max mode the winning input cell of each
    window is written in bold.
    """
    a = image_array(x, "x")
    stride = window if stride is None else stride
    out = pool2d(a, window, stride, mode).numpy()
    oh, ow = out.shape
    fig, axes = plt.subplots(1, 2, figsize=(min(MAX_WIDTH, 1.0 + 0.55 * (a.shape[1] + ow)), 0.8 + 0.55 * a.shape[0]),
                             layout="constrained",
                             gridspec_kw={"width_ratios": [a.shape[1], max(ow, 1)]})
    vmin, vmax = float(a.min()), float(a.max())
    axes[0].imshow(a, cmap="gray", vmin=vmin - 0.6 * (vmax - vmin), vmax=vmax + 0.6 * (vmax - vmin))
    annotate_grid(axes[0], a)
    axes[1].imshow(out, cmap="gray", vmin=vmin - 0.6 * (vmax - vmin), vmax=vmax + 0.6 * (vmax - vmin))
    annotate_grid(axes[1], out)
    for i in range(oh):
        for j in range(ow):
            colour = _WINDOW_COLOURS[(i * ow + j) % len(_WINDOW_COLOURS)]
            inset = 0.08 * ((i + j) % 2)  # overlapping windows stay distinguishable
            axes[0].add_patch(Rectangle((j * stride - 0.5 + inset, i * stride - 0.5 + inset),
                                        window - 2 * inset, window - 2 * inset, fill=False,
                                        edgecolor=colour, linewidth=2.5))
            axes[1].add_patch(Rectangle((j - 0.45, i - 0.45), 0.9, 0.9, fill=False,
                                        edgecolor=colour, linewidth=2.5))
            if mode == "max":
                win = a[i * stride:i * stride + window, j * stride:j * stride + window]
                r, c = np.unravel_index(np.argmax(win), win.shape)
                for t in axes[0].texts:
                    if t.get_position() == (j * stride + c, i * stride + r):
                        t.set_fontweight("bold")
    plain_axes(axes[0], f"input {a.shape[0]}x{a.shape[1]}, window {window}, stride {stride}")
    plain_axes(axes[1], f"{mode} pooled {oh}x{ow}")
    plt.close(fig)  # returned, not left open: the notebook shows it once
    return fig


def show_pooled_maps(image, windows: Sequence[int] = (2, 4), mode: str = "max",
                     size: float = 2.6) -> Figure:
    """An image and its pooled versions (window = stride), each at its own resolution.

    ``windows``: one or more window sides, each at most the image's smaller side.
    """
    size = check_panel_size(size)
    img = image_array(image, "image")
    windows = check_sequence(windows, "windows", item=partial(check_int, minimum=1))
    if max(windows) > min(img.shape):
        raise ValueError(f"windows must fit in the image: a window of {max(windows)} pixels is larger "
                         f"than the image of shape {img.shape}")
    n = len(windows) + 1
    size = min(size, MAX_WIDTH / n)
    fig, axes = plt.subplots(1, n, figsize=(size * n, size + 0.3), layout="constrained")
    imshow_signed(axes[0], img)
    plain_axes(axes[0], f"input {img.shape[0]}x{img.shape[1]}")
    for ax, w in zip(axes[1:], windows):
        out = pool2d(img, w, w, mode).numpy()
        imshow_signed(ax, out, signed=bool(img.min() < 0))
        plain_axes(ax, f"{mode} pool {w}x{w}: {out.shape[0]}x{out.shape[1]}")
    plt.close(fig)  # returned, not left open: the notebook shows it once
    return fig


def show_shift_grid(rows: Mapping[str, Mapping[str, object]], size: float = 2.4,
                    mark_changes: bool = False) -> Figure:
    """A grid of images: one row per entry of ``rows``, one column per entry of each row.

    With ``mark_changes``, the last column of each row is read as a difference map and
    drawn in a diverging colour map centred on zero.
    """
    check_mapping(rows, "rows")
    for row_name, row in rows.items():
        check_mapping(row, f"rows[{row_name!r}]")
    size = check_panel_size(size)
    nrows = len(rows)
    ncols = max(len(r) for r in rows.values())
    size = min(size, MAX_WIDTH / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.2),
                             layout="constrained", squeeze=False)
    for i, (row_name, row) in enumerate(rows.items()):
        for j, (title, img) in enumerate(row.items()):
            arr = image_array(img, f"rows[{row_name!r}][{title!r}]")
            last = j == len(row) - 1
            imshow_signed(axes[i, j], arr, signed=True if (mark_changes and last) else None)
            plain_axes(axes[i, j], title)
        for j in range(len(row), ncols):
            axes[i, j].axis("off")
        axes[i, 0].set_ylabel(row_name, fontsize=10)
    plt.close(fig)  # returned, not left open: the notebook shows it once
    return fig


def show_unchanged_fractions(windows: Sequence[int], fractions: Mapping[str, Sequence[float]],
                             xlabel: str = "pooling window (= stride)") -> Figure:
    """Fraction of pooled outputs unchanged by a shift, one line per experiment.

    ``windows``: the window sides (x axis); ``fractions``: label -> one fraction in [0, 1]
    per window.
    """
    windows = check_sequence(windows, "windows", item=partial(check_int, minimum=1))
    check_mapping(fractions, "fractions", nonempty=False)
    fractions = {label: check_sequence(values, f"fractions[{label!r}]",
                                       item=partial(check_float, minimum=0, maximum=1))
                 for label, values in fractions.items()}
    for label, values in fractions.items():
        if len(values) != len(windows):
            raise ValueError(f"fractions[{label!r}] has {len(values)} values for the "
                             f"{len(windows)} windows {windows}")
    fig, ax = plt.subplots(figsize=(MAX_WIDTH, 3.4), layout="constrained")
    for label, values in fractions.items():
        ax.plot(windows, values, marker="o", label=label)
    ax.set_xticks(windows)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("fraction unchanged")
    ax.set_ylim(0, 1)
    ax.axhline(1.0, color="grey", linewidth=0.8, linestyle=":")
    ax.grid(alpha=0.3)
    legend_below(fig, ax)
    plt.close(fig)  # returned, not left open: the notebook shows it once
    return fig

