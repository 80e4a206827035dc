"""The explorers' static figures (for print, and for a page read without JavaScript).

Each ``*_panels`` function draws what one explorer shows for one setting on matplotlib Axes,
with the shared helpers of :mod:`cnncourse.plots.filters`.
"""

from __future__ import annotations

import numpy as np
from matplotlib.patches import Rectangle

from cnncourse.plots._layout import MIN_FONT, PALETTE, format_value, imshow_signed, plain_axes
from cnncourse.plots.filters import annotate_grid, draw_kernel

__all__ = ["kernel_panels", "POOL_DIRECTIONS", "pooling_panels", "erf_panels"]


def kernel_panels(axes, padded: np.ndarray, off: int, shape: tuple[int, int], kernel: np.ndarray,
                   output: np.ndarray, row: int, col: int, edge: str) -> float:
    """Draw padded input + window, window numbers, kernel, products and output on 5 axes.

    Returns the sum of products at ``(row, col)``.
    """
    patch = padded[row:row + 3, col:col + 3]
    products = patch * kernel
    ax = axes[0]
    vmin, vmax = float(padded.min()), float(padded.max())
    ax.imshow(padded, cmap="gray", vmin=vmin, vmax=vmax if vmax > vmin else vmin + 1)
    if off:
        ax.add_patch(Rectangle((off - 0.5, off - 0.5), shape[1], shape[0], fill=False,
                               edgecolor="gold", linewidth=1.2))
    ax.add_patch(Rectangle((col - 0.5, row - 0.5), 3, 3, fill=False, edgecolor="red", linewidth=2))
    plain_axes(ax, f"input, {edge}: {padded.shape[0]}x{padded.shape[1]}")
    ax = axes[1]
    ax.imshow(patch, cmap="gray", vmin=vmin, vmax=vmax if vmax > vmin else vmin + 1)
    annotate_grid(ax, patch)
    plain_axes(ax, "window (red)")
    draw_kernel(axes[2], kernel, f"kernel, sum {format_value(round(float(kernel.sum()), 4))}")
    ax = axes[3]
    lim = float(np.abs(products).max()) or 1.0
    ax.imshow(products, cmap="RdBu_r", vmin=-lim, vmax=lim)
    annotate_grid(ax, products)
    value = float(products.sum())
    plain_axes(ax, f"products\nsum = {format_value(round(value, 4))}")
    ax = axes[4]
    imshow_signed(ax, output)
    ax.add_patch(Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2))
    plain_axes(ax, f"output {output.shape[0]}x{output.shape[1]}, [{row}, {col}]")
    return value



POOL_DIRECTIONS: dict[str, tuple[int, int]] = {"right": (0, 1), "down": (1, 0), "down-right": (1, 1)}


def pooling_panels(axes, shown: np.ndarray, pooled: np.ndarray, changed: np.ndarray, window: int,
                    stride: int, mode: str, title: str) -> None:
    vmin, vmax = float(shown.min()), float(shown.max())
    axes[0].imshow(shown, cmap="gray", vmin=vmin, vmax=vmax if vmax > vmin else vmin + 1)
    # two neighbouring windows near the middle, on the pooling grid
    top = (shown.shape[0] // 2 // stride) * stride
    left = (shown.shape[1] // 2 // stride) * stride
    for n, colour in enumerate((PALETTE["orange"], PALETTE["sky"])):
        axes[0].add_patch(Rectangle((left + n * stride - 0.5, top - 0.5), window, window, fill=False,
                                    edgecolor=colour, linewidth=2))
    plain_axes(axes[0], f"{title} {shown.shape[0]}x{shown.shape[1]}")
    imshow_signed(axes[1], pooled, signed=False)
    plain_axes(axes[1], f"{mode} pool, window {window},\nstride {stride}: {pooled.shape[0]}x{pooled.shape[1]}")
    axes[2].imshow(changed, cmap="Reds", vmin=0, vmax=1)
    plain_axes(axes[2], f"changed by the shift:\n{int(changed.sum())} of {changed.size}")



def erf_panels(axes, maps: dict[str, np.ndarray], box, support_box, profile: bool = True) -> None:
    """ERF heatmaps with the theoretical field dashed and, with ``profile``, their central rows
    on the axis after the maps (the support's first and last column dashed)."""
    for ax, (title, m) in zip(axes, maps.items()):
        ax.imshow(m, cmap="viridis", interpolation="nearest")
        (r0, r1), (c0, c1) = box
        ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0 + 1, r1 - r0 + 1, fill=False,
                               edgecolor="white", linestyle="--", linewidth=1.2))
        plain_axes(ax, title)
        ax.set_xlim(-0.5, m.shape[1] - 0.5)
        ax.set_ylim(m.shape[0] - 0.5, -0.5)
    if not profile:
        return
    ax = axes[len(maps)]
    for title, m in maps.items():
        r = int(np.argmax(m.sum(axis=1)))
        row = m[r]
        ax.plot(np.arange(row.size), row / row.max() if row.max() > 0 else row, "o-", ms=2.5,
                label=title.split(":")[0])
    for c in support_box[1]:
        ax.axvline(c, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("input column")
    ax.set_ylabel("central row, peak = 1")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=MIN_FONT, loc="upper right")
