"""Figures about images as arrays: digit grids, pixel values, histograms."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from cnncourse._checks import check_int, check_mapping, check_pair, check_sequence, to_numpy
from cnncourse.plots._layout import (
    MAX_WIDTH,
    MIN_FONT,
    PALETTE,
    check_cmap,
    check_font_size,
    check_panel_size,
    plot_array,
)

__all__ = ["show_digit_grid", "show_pixel_values", "show_value_histograms"]


def show_digit_grid(images, labels: Sequence[int] | None = None, ncols: int = 8,
                    cmap: str = "gray", size: float = 1.1) -> Figure:
    """A grid of images, each titled with its label.

    Parameters
    ----------
    images
        Array or tensor of shape ``(N, H, W)`` or ``(N, 1, H, W)``.
    labels
        Optional labels shown above the images.
    ncols
        Images per row.
    cmap
        Colour map; ``"gray"`` (the course's convention) draws a pixel's value as its
        brightness: 0 black, 255 white, so MNIST ink is white on black.
    size
        Inches per image.
    """
    cmap = check_cmap(cmap)
    size = check_panel_size(size)
    ncols = check_int(ncols, "ncols", minimum=1)
    x = plot_array(images, "images")
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 3 or len(x) == 0:
        raise ValueError(f"images must have shape (N, H, W) or (N, 1, H, W) with N >= 1, got {x.shape}")
    if labels is not None:
        labels = check_sequence(labels, "labels", item=check_int, length=len(x))
    ncols = max(1, min(ncols, len(x)))
    nrows = -(-len(x) // ncols)
    size = min(size, MAX_WIDTH / ncols)  # the whole grid fits the text column
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows * 1.15),
                             squeeze=False, layout="constrained")
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(x):
            ax.imshow(x[i], cmap=cmap)
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=10)
    plt.close(fig)
    return fig


def show_pixel_values(image, rows: tuple[int, int] | None = None, cols: tuple[int, int] | None = None,
                      cmap: str = "gray", fontsize: float = 10) -> Figure:
    """An image (top), and a window of it drawn large with every pixel's value written on it.

    Parameters
    ----------
    image
        A 2-D array or tensor (e.g. 28x28 values 0-255).
    rows, cols
        Half-open ranges ``(start, stop)`` of the window to write out; default: the whole image
        (legible up to about 16x16 pixels).
    cmap
        Colour map; ``"gray"`` (the course's convention) draws a pixel's value as its
        brightness: 0 black, 255 white, so MNIST ink is white on black.
    fontsize
        Size of the numbers, in points.
    """
    cmap = check_cmap(cmap)
    fontsize = check_font_size(fontsize)
    x = plot_array(image, "image")
    if x.ndim == 3 and x.shape[0] == 1:
        x = x[0]
    if x.ndim != 2:
        raise ValueError(f"image must be 2-D (H, W), got shape {x.shape}")
    h, w = x.shape
    (r0, r1) = (0, h) if rows is None else check_pair(rows, "rows", minimum=0)
    (c0, c1) = (0, w) if cols is None else check_pair(cols, "cols", minimum=0)
    if not (0 <= r0 < r1 <= h and 0 <= c0 < c1 <= w):
        raise ValueError(f"rows {rows} and cols {cols} must be ranges inside the {h}x{w} image")
    window = x[r0:r1, c0:c1]
    fig, (ax_full, ax_zoom) = plt.subplots(2, 1, figsize=(MAX_WIDTH, 8.2), height_ratios=(1, 2.1),
                                           layout="constrained")
    ax_full.imshow(x, cmap=cmap, vmin=0, vmax=max(float(x.max()), 1))
    ax_full.add_patch(plt.Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0, r1 - r0, fill=False, ec=PALETTE["vermillion"], lw=2))
    ax_full.set_title(f"the whole {h}x{w} image")
    ax_zoom.imshow(window, cmap=cmap, vmin=0, vmax=max(float(x.max()), 1),
                   extent=(c0 - 0.5, c1 - 0.5, r1 - 0.5, r0 - 0.5))
    shown = ax_zoom.images[0]
    for r in range(r0, r1):
        for c in range(c0, c1):
            value = x[r, c]
            text = f"{value:.0f}" if np.issubdtype(x.dtype, np.integer) else f"{value:.2f}"
            red, green, blue, _ = shown.cmap(shown.norm(value))
            light = 0.299 * red + 0.587 * green + 0.114 * blue > 0.5  # luminance of the cell
            ax_zoom.text(c, r, text, ha="center", va="center", fontsize=fontsize,
                         color="black" if light else "white")
    ax_zoom.set_title(f"rows {r0}-{r1 - 1}, columns {c0}-{c1 - 1}, with their values")
    for ax in (ax_full, ax_zoom):
        ax.set_xlabel("column c")
        ax.set_ylabel("row r")
    ax_zoom.set_xticks(range(c0, c1))
    ax_zoom.set_yticks(range(r0, r1))
    ax_zoom.tick_params(labelsize=MIN_FONT)
    plt.close(fig)
    return fig


def show_value_histograms(arrays: dict[str, object], bins: int = 50, ncols: int = 2) -> Figure:
    """Histograms of pixel values, one panel per named array (e.g. one per normalization).

    Each panel also marks the mean and writes mean, standard deviation and range. The counts
    are those of ``numpy.histogram`` with ``bins`` equal bins over the range. They are
    computed with ``torch.histc``, faster than NumPy on a whole MNIST split (47 million
    values), in float64: float32 counts stop growing at 2**24, and the zero bin of MNIST holds
    38 million pixels.
    """
    check_mapping(arrays, "arrays", nonempty=False)
    ncols = check_int(ncols, "ncols", minimum=1)
    if not arrays:
        raise ValueError(f"arrays must name at least one array to plot, got {arrays!r}")
    bins = check_int(bins, "bins", minimum=1)
    ncols = max(1, min(ncols, len(arrays)))
    nrows = -(-len(arrays) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(MAX_WIDTH, 3.0 * nrows), squeeze=False,
                             layout="constrained")
    for ax, (name, values) in zip(axes.flat, arrays.items()):
        v = torch.as_tensor(to_numpy(values)).flatten().double()
        if v.numel() == 0:
            raise ValueError(f"array {name!r} is empty: there is nothing to histogram")
        vmin, vmax = v.min().item(), v.max().item()
        low, high = (vmin, vmax) if vmin < vmax else (vmin - 0.5, vmax + 0.5)  # numpy.histogram's range
        counts = torch.histc(v, bins=bins, min=low, max=high)
        mean, std = v.mean().item(), v.std(correction=0).item()
        ax.stairs(counts.numpy(), np.linspace(low, high, bins + 1), fill=True, color="C0")
        ax.set_yscale("log")
        ax.axvline(mean, color=PALETTE["vermillion"], ls="--")
        ax.set_title(f"{name}\nmean {mean:.3f}, std {std:.3f}\nrange [{vmin:.2f}, {vmax:.2f}]",
                     fontsize=MIN_FONT)
        ax.set_xlabel("pixel value")
    for ax in axes[:, 0]:
        ax.set_ylabel("count (log scale)")
    for ax in list(axes.flat)[len(arrays):]:
        ax.axis("off")
    plt.close(fig)
    return fig
