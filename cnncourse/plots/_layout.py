"""Figure sizes that stay legible in the book's text column and on a phone.

The site shows a figure as a PNG saved at matplotlib's default 100 dpi, scaled down to the
width of the text column (672 px on a desktop, about 358 px on a 390 px phone). A figure at
most ``MAX_WIDTH`` inches wide loses at most a third of its size on the phone, so a text of
``MIN_FONT`` points or more is still about 9 px tall there. Panels that would make a figure
wider wrap into further rows.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

MAX_WIDTH = 5.4  # inches
MIN_FONT = 10.0  # points


def columns(n: int, panel_width: float, max_width: float = MAX_WIDTH) -> int:
    """How many panels ``panel_width`` inches wide fit side by side: at least 1, at most ``n``."""
    return max(1, min(n, int((max_width + 1e-9) // panel_width)))


def panel_grid(n: int, panel_width: float, panel_height: float, *, max_width: float = MAX_WIDTH,
               max_cols: int | None = None, extra_height: float = 0.0, **subplots):
    """A constrained-layout figure with ``n`` panels in as many rows as the width needs.

    Returns ``(fig, axes)``: ``axes`` is the flat list of the first ``n`` axes; the grid's
    unused axes are switched off.
    """
    ncols = columns(n, panel_width, max_width)
    if max_cols is not None:
        ncols = max(1, min(ncols, max_cols))
    nrows = math.ceil(n / ncols)
    fig, grid = plt.subplots(nrows, ncols, figsize=(panel_width * ncols, panel_height * nrows + extra_height),
                             squeeze=False, layout="constrained", **subplots)
    flat = list(np.ravel(grid))
    for ax in flat[n:]:
        ax.axis("off")
    return fig, flat[:n]


def legend_below(fig, ax, ncols: int | None = None):
    """The legend of ``ax`` under the figure, where it cannot cover data."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    return fig.legend(handles, labels, loc="outside lower center",
                      ncols=ncols or min(len(labels), 3), frameon=False)
