"""Figures for kernel filtering (lessons 5 and 6): kernels with their numbers, images side
by side with their filtered versions, edge modes, response tables and image gradients.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import hsv_to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cnncourse._checks import check_choice, check_float, check_int, check_mapping, check_sequence, check_text
from cnncourse.filters import EDGE_MODES, correlate2d, pad
from cnncourse.plots._layout import (
    MAX_WIDTH,
    MIN_FONT,
    check_axes,
    check_font_size,
    check_panel_size,
    columns,
    format_value,
    image_array,
    imshow_signed,
    panel_grid,
    plain_axes,
    plot_array,
)

__all__ = ["annotate_grid", "draw_kernel", "show_kernel", "show_kernels", "show_worked_example",
           "show_filtering", "show_images", "show_filter_bank", "show_edge_modes", "show_response_table",
           "direction_to_rgb", "show_gradients", "show_rgb_channels"]


def annotate_grid(ax, values: np.ndarray, fontsize: float | None = None, cmap_norm=None) -> None:
    """Write every value of a small matrix into its cell (light text on dark cells).

    Raises
    ------
    TypeError
        When ``ax`` is not a matplotlib Axes, or ``values`` not an array of real numbers.
    ValueError
        When ``values`` is not 2-D, or ``fontsize`` is outside [1, 100] points.
    """
    check_axes(ax)
    values = plot_array(values, "values", finite=False)  # a cell may say nan
    if values.ndim != 2:
        raise ValueError(f"values must be a 2-D array, got shape {values.shape}")
    h, w = values.shape
    if fontsize is not None:
        fontsize = check_font_size(fontsize)
    fontsize = fontsize or max(MIN_FONT, min(12.0, 33.0 / max(h, w)))
    im = ax.images[-1] if ax.images else None
    for i in range(h):
        for j in range(w):
            dark = False
            if im is not None:
                r, g, b, _ = im.cmap(im.norm(values[i, j]))
                dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
            ax.text(j, i, format_value(values[i, j]), ha="center", va="center", fontsize=fontsize,
                    color="white" if dark else "black")


def draw_kernel(ax, kernel, title: str | None = None, numbers: bool = True,
                fontsize: float | None = None) -> None:
    """Draw a kernel on ``ax`` as a diverging heat map with its weights written in
    (``fontsize`` points, by default chosen from the kernel's size)."""
    check_axes(ax)
    if fontsize is not None:
        fontsize = check_font_size(fontsize)
    k = image_array(kernel, "kernel")
    lim = float(np.abs(k).max()) or 1.0
    ax.imshow(k, cmap="RdBu_r", vmin=-lim, vmax=lim)
    if numbers:
        annotate_grid(ax, k, fontsize=fontsize)
    plain_axes(ax, title)


def show_kernel(kernel, title: str | None = None, size: float = 2.6) -> Figure:
    """One kernel with its numbers: red positive, blue negative, white zero."""
    size = check_panel_size(size)
    fig, ax = plt.subplots(figsize=(size, size), layout="constrained")
    draw_kernel(ax, kernel, title)
    plt.close(fig)  # returned, not left open: the notebook shows it once
    return fig


def show_kernels(kernels: Mapping[str, object], size: float = 2.2) -> Figure:
    """Several kernels side by side, each titled with its name and its weight sum."""
    check_mapping(kernels, "kernels")
    size = check_panel_size(size)
    widest = max(max(image_array(k, f"kernels[{name!r}]").shape) for name, k in kernels.items())
    size = max(min(size, 1.8), 0.36 * widest)  # room for the numbers, rows that fit the column
    fig, axes = panel_grid(len(kernels), size, size + 0.5)
    for ax, (name, k) in zip(axes, kernels.items()):
        draw_kernel(ax, k, f"{name}\nsum = {format_value(round(float(image_array(k).sum()), 4))}")
    plt.close(fig)  # returned, not left open: the notebook shows it once
    return fig


def show_worked_example(patch, kernel) -> Figure:
    """Patch, kernel and their element-wise products, each cell written out; the title of
    the last panel is the sum of products, the output value at this position."""
    p, k = image_array(patch, "patch"), image_array(kernel, "kernel")
    prod = p * k
    fig, axes = plt.subplots(1, 3, figsize=(MAX_WIDTH, 2.3), layout="constrained")
    axes[0].imshow(p, cmap="gray", vmin=0, vmax=255)
    annotate_grid(axes[0], p)
    plain_axes(axes[0], "image patch")
    draw_kernel(axes[1], k, "kernel")
    lim = float(np.abs(prod).max()) or 1.0
    axes[2].imshow(prod, cmap="RdBu_r", vmin=-lim, vmax=lim)
    annotate_grid(axes[2], prod)
    plain_axes(axes[2], f"products, sum = {format_value(prod.sum())}")
    plt.close(fig)  # returned, not left open: the notebook shows it once
    return fig


def show_filtering(image, kernel, output, titles: Sequence[str] = ("image", "kernel", "output"),
                   signed_output: bool | None = None) -> Figure:
    """Image, kernel (with numbers) and the filtered output side by side.

    ``titles`` are the three panels' titles (image, kernel, output).
    """
    titles = check_sequence(titles, "titles", item=check_text, length=3)
    img, out = image_array(image, "image"), image_array(output, "output")
    fig, axes = plt.subplots(1, 3, figsize=(MAX_WIDTH, 2.4), layout="constrained",
                             gridspec_kw={"width_ratios": [4, 2, 4]})
    imshow_signed(axes[0], img, signed=False)
    plain_axes(axes[0], f"{titles[0]} {img.shape[0]}x{img.shape[1]}")
    draw_kernel(axes[1], kernel, titles[1])
    im = imshow_signed(axes[2], out, signed=signed_output)
    plain_axes(axes[2], f"{titles[2]} {out.shape[0]}x{out.shape[1]}")
    fig.colorbar(im, ax=axes[2], shrink=0.8)
    plt.close(fig)  # returned, not left open: the notebook shows it once
    return fig


def show_images(images: Mapping[str, object], ncols: int | None = None, size: float = 2.6,
                signed: bool | None = None, colorbar: bool = False) -> Figure:
    """A grid of images titled by their keys; signed arrays get a diverging colour map."""
    check_mapping(images, "images")
    size = check_panel_size(size)
    ncols = None if ncols is None else check_int(ncols, "ncols", minimum=1)
    n = len(images)
    fig, axes = panel_grid(n, size, size, max_cols=ncols or n, extra_height=0.3)
    for ax, (title, img) in zip(axes, images.items()):
        im = imshow_signed(ax, image_array(img, f"images[{title!r}]"), signed=signed)
        plain_axes(ax, title)
        if colorbar:
            fig.colorbar(im, ax=ax, shrink=0.75)
    plt.close(fig)  # returned, not left open: the notebook shows it once
    return fig


def show_filter_bank(image, kernels: Mapping[str, object], edge: str = "extend",
                     size: float = 2.6) -> Figure:
    """Each kernel (with numbers) above what it makes of ``image``, in rows that fit the column.

    The first cell shows the image itself. Outputs of kernels that sum to 1 are drawn
    in grey on the image's own grey scale (values beyond it are clipped); outputs of
    kernels that sum to 0 are signed and drawn in a diverging map centred on zero, scaled
    to the 99.5th percentile of their magnitude.
    """
    check_mapping(kernels, "kernels", nonempty=False)
    kernels = {name: image_array(k, f"kernels[{name!r}]") for name, k in kernels.items()}  # 2-D
    size = check_panel_size(size)
    img = image_array(image, "image")
    n = len(kernels) + 1
    width = min(size, 1.75)
    ncols = columns(n, width)
    nrows = -(-n // ncols)
    fig = plt.figure(figsize=(width * ncols, nrows * width * 1.95), layout="constrained")
    cells = list(np.ravel(fig.subfigures(nrows, ncols, squeeze=False)))
    for cell in cells[n:]:
        cell.subplots().axis("off")
    first = cells[0].subplots(2, 1, height_ratios=[1.4, 2])
    first[0].axis("off")
    first[1].imshow(img, cmap="gray")
    plain_axes(first[1], "original")
    for cell, (name, k) in zip(cells[1:], kernels.items()):
        top, bottom = cell.subplots(2, 1, height_ratios=[1.4, 2])
        draw_kernel(top, k, f"{name}\n(sum {format_value(round(float(image_array(k).sum()), 3))})",
                    numbers=image_array(k).size <= 9, fontsize=MIN_FONT)
        out = correlate2d(img, k, edge=edge).numpy()
        imshow_signed(bottom, out, signed=abs(float(image_array(k).sum())) < 1e-6, robust=True,
                       vrange=(float(img.min()), float(img.max())))
        plain_axes(bottom)
    plt.close(fig)  # returned, not left open: the notebook shows it once
    return fig


def show_edge_modes(image, kernel, modes: Sequence[str] = EDGE_MODES) -> Figure:
    """For each edge mode: the padded image the kernel slides over (the original area
    framed in yellow) and the output, titled with its size.

    ``modes``: one or more of ``EDGE_MODES``, one column each.
    """
    modes = check_sequence(modes, "modes", item=lambda mode, name: check_choice(mode, name, EDGE_MODES))
    img = image_array(image, "image")
    k = image_array(kernel, "kernel")
    p = (k.shape[0] - 1) // 2
    side = MAX_WIDTH / len(modes)
    fig, axes = plt.subplots(2, len(modes), figsize=(MAX_WIDTH, 2 * side + 0.6), layout="constrained",
                             squeeze=False)
    vmin, vmax = float(img.min()), float(img.max())
    for col, mode in enumerate(modes):
        padded = pad(img, 0 if mode == "crop" else p, mode).numpy()
        off = 0 if mode == "crop" else p
        ax = axes[0, col]
        ax.imshow(padded, cmap="gray", vmin=vmin, vmax=vmax)
        ax.add_patch(Rectangle((off - 0.5, off - 0.5), img.shape[1], img.shape[0], fill=False,
                               edgecolor="gold", linewidth=1.5))
        plain_axes(ax, f"{mode}: input {padded.shape[0]}x{padded.shape[1]}")
        out = correlate2d(img, k, edge=mode).numpy()
        ax = axes[1, col]
        imshow_signed(ax, out)
        plain_axes(ax, f"{mode}: output {out.shape[0]}x{out.shape[1]}")
    plt.close(fig)  # returned, not left open: the notebook shows it once
    return fig


def show_response_table(table: Mapping[str, Mapping[str, float]], title: str | None = None,
                        digits: int = 1) -> Figure:
    """A table ``{row: {column: value}}`` as a heat map with the numbers written in.

    Every row has the same columns, each holding a finite number.
    """
    check_mapping(table, "table")
    digits = check_int(digits, "digits", minimum=0)
    rows = list(table)
    cols = list(check_mapping(table[rows[0]], f"table[{rows[0]!r}]"))
    for r in rows:
        if set(check_mapping(table[r], f"table[{r!r}]")) != set(cols):
            raise ValueError(f"table[{r!r}] must have the columns {cols} of the first row, got "
                             f"{list(table[r])}")
    vals = np.array([[check_float(table[r][c], f"table[{r!r}][{c!r}]") for c in cols] for r in rows])
    fig, ax = plt.subplots(figsize=(1.6 + 1.5 * len(cols), 0.9 + 0.55 * len(rows)),
                           layout="constrained")
    ax.imshow(vals, cmap="Oranges", vmin=0, vmax=float(np.abs(vals).max()) or 1.0, aspect="auto")
    for i in range(len(rows)):
        for j in range(len(cols)):
            ax.text(j, i, f"{vals[i, j]:.{digits}f}", ha="center", va="center", fontsize=11)
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.tick_params(length=0)
    if title:
        ax.set_title(title, fontsize=10)
    plt.close(fig)  # returned, not left open: the notebook shows it once
    return fig


def direction_to_rgb(direction, magnitude) -> np.ndarray:
    """Colour each pixel by gradient direction (hue) and strength (brightness).

    ``direction`` (angles in radians) and ``magnitude`` are 2-D arrays of the same shape.
    """
    d, m = image_array(direction, "direction"), image_array(magnitude, "magnitude")
    if d.shape != m.shape:
        raise ValueError(f"direction and magnitude must have the same shape, got direction "
                         f"{d.shape} and magnitude {m.shape}")
    hue = np.mod(d + np.pi, 2 * np.pi) / (2 * np.pi)  # an angle wraps around: -pi and pi are one hue
    top = float(np.percentile(m, 99.5)) or float(m.max()) or 1.0
    val = np.clip(m / top, 0.0, 1.0)
    return hsv_to_rgb(np.stack([hue, np.ones_like(hue), val], axis=-1))


def show_gradients(image, gx, gy, magnitude, direction, size: float = 2.8) -> Figure:
    """Image, ``gx``, ``gy``, gradient magnitude and direction (hue = direction,
    brightness = magnitude; a colour wheel in the corner gives the key).

    Colour scales saturate at the 99.5th percentile so that faint edges stay visible."""
    size = check_panel_size(size)
    fig, axes = panel_grid(5, min(size, 1.75), min(size, 1.75) + 0.3)
    axes[0].imshow(image_array(image, "image"), cmap="gray")
    plain_axes(axes[0], "image")
    imshow_signed(axes[1], image_array(gx, "gx"), signed=True, robust=True)
    plain_axes(axes[1], "gx (Sobel x)")
    imshow_signed(axes[2], image_array(gy, "gy"), signed=True, robust=True)
    plain_axes(axes[2], "gy (Sobel y)")
    mag = image_array(magnitude, "magnitude")
    axes[3].imshow(mag, cmap="magma", vmin=0, vmax=float(np.percentile(mag, 99.5)) or None)
    plain_axes(axes[3], "magnitude")
    axes[4].imshow(direction_to_rgb(direction, magnitude))
    plain_axes(axes[4], "direction (colour)")
    # colour key: the direction of each point of a small wheel seen from its centre
    inset = axes[4].inset_axes([0.0, 0.0, 0.3, 0.3])
    yy, xx = np.mgrid[-1:1:41j, -1:1:41j]
    wheel = direction_to_rgb(np.arctan2(yy, xx), (xx**2 + yy**2 <= 1).astype(float))
    inset.imshow(wheel)
    inset.axis("off")
    plt.close(fig)  # returned, not left open: the notebook shows it once
    return fig


def show_rgb_channels(rgb, maps: Mapping[str, object] | None = None, size: float = 1.7) -> Figure:
    """A colour photograph, its red, green and blue channels, and optional feature maps.

    Parameters
    ----------
    rgb
        ``(H, W, 3)`` or ``(3, H, W)`` values in 0-255 (or 0-1).
    maps
        Title -> 2-D feature map, drawn in a second row (signed maps in red and blue).
    size
        Side of one panel in inches (four panels per row).
    """
    if maps is not None:
        check_mapping(maps, "maps", nonempty=False)
    size = check_panel_size(size)
    arr = plot_array(rgb, "rgb").astype(float)
    if arr.ndim == 3 and arr.shape[0] == 3 and arr.shape[-1] != 3:
        arr = np.moveaxis(arr, 0, -1)
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise ValueError(f"rgb must have shape (H, W, 3) or (3, H, W), got {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"rgb must not be empty, got shape {arr.shape}")
    scale = 255.0 if arr.max() > 1.0 else 1.0
    maps = dict(maps or {})
    ncols = 4
    nrows = 1 + -(-len(maps) // ncols)
    size = min(size, MAX_WIDTH / ncols)  # four panels within the text column
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.3),
                             layout="constrained", squeeze=False)
    axes[0, 0].imshow(np.clip(arr / scale, 0, 1))
    plain_axes(axes[0, 0], "colour")
    for i, name in enumerate(("red", "green", "blue")):
        axes[0, i + 1].imshow(arr[..., i], cmap="gray", vmin=0, vmax=scale)
        plain_axes(axes[0, i + 1], f"{name} channel")
    flat = list(axes.flat[ncols:])
    for ax in flat[len(maps):]:
        ax.axis("off")
    for ax, (title, img) in zip(flat, maps.items()):
        imshow_signed(ax, image_array(img, f"maps[{title!r}]"))
        plain_axes(ax, title)
    plt.close(fig)  # returned, not left open: the notebook shows it once
    return fig
