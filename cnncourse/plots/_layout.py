"""Figure sizes that stay legible in the book's text column and on a phone.

The site shows a figure as a PNG saved at matplotlib's default 100 dpi, scaled down to the
width of the text column (672 px on a desktop, about 358 px on a 390 px phone). A figure at
most ``MAX_WIDTH`` inches wide loses at most a third of its size on the phone, so a text of
``MIN_FONT`` points or more is still about 9 px tall there. Panels that would make a figure
wider wrap into further rows.
"""

from __future__ import annotations

import base64
import importlib
import math
import struct
import zlib

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.text
import numpy as np
from matplotlib.figure import Figure

from cnncourse._checks import as_tensor, check_float, describe, to_numpy

__all__ = ["MAX_WIDTH", "MIN_FONT", "columns", "panel_grid", "legend_below", "TEXT_SIZE_KEY",
           "visible_texts", "smallest_text_px", "png_with_text_size", "record_text_size_in_png",
           "plot_array", "image_array", "format_value", "plain_axes", "imshow_signed", "finish",
           "MIN_PANEL", "MAX_PANEL", "check_panel_size", "check_font_size",
           "check_axes", "check_cmap"]

MAX_WIDTH = 5.4  # inches
MIN_FONT = 10.0  # points

# Colours that readers with the common colour-vision deficiencies (deuteranopia, protanopia,
# tritanopia) still tell apart: Okabe & Ito's palette, the colour cycle of every line, bar and
# marker (refer to them as "C0", "C1", ... or PALETTE["..."], never by a tab10 name). Maps use
# perceptually uniform colormaps (viridis, magma, gray) or ColorBrewer's colour-blind-safe
# single-hue (Reds, Blues, Oranges) and diverging (RdBu_r) ones. ``apply_style`` sets the
# cycle and the default map once, when ``cnncourse.plots`` is imported.
PALETTE = {"blue": "#0072B2", "orange": "#E69F00", "green": "#009E73", "vermillion": "#D55E00",
           "purple": "#CC79A7", "sky": "#56B4E9", "black": "#000000", "yellow": "#F0E442"}
SEQUENTIAL_CMAP = "viridis"
DIVERGING_CMAP = "RdBu_r"
SAFE_CMAPS = frozenset({"viridis", "magma", "cividis", "gray", "Greys", "Reds", "Blues", "Oranges",
                        "RdBu_r", "RdBu"})


MIN_PANEL, MAX_PANEL = 0.1, 20.0  # inches: the side of one panel of a figure


def check_panel_size(value: object, name: str = "size") -> float:
    """The side of one panel, in inches: a finite number in ``[MIN_PANEL, MAX_PANEL]``. The
    rule of every plot's ``size``, checked before matplotlib sees it (a figure of zero, NaN or
    1e300 inches fails deep inside matplotlib, or takes the machine's memory)."""
    return check_float(value, name, minimum=MIN_PANEL, maximum=MAX_PANEL)


def check_font_size(value: object, name: str = "fontsize") -> float:
    """A font size in points: a finite number in ``[1, 100]``."""
    return check_float(value, name, minimum=1, maximum=100)


def check_axes(value: object, name: str = "ax"):
    """``value`` itself when it is a matplotlib ``Axes`` (e.g. ``plt.subplots()[1]``)."""
    from matplotlib.axes import Axes

    if not isinstance(value, Axes):
        raise TypeError(f"{name} must be a matplotlib Axes, e.g. plt.subplots()[1], got "
                        f"{describe(value)}")
    return value


def check_cmap(value: object, name: str = "cmap"):
    """``value`` itself when it is a matplotlib ``Colormap`` or the name of a registered one."""
    from matplotlib.colors import Colormap

    if isinstance(value, Colormap):
        return value
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a colormap name such as 'gray' or a Colormap, got "
                        f"{describe(value)}")
    if value not in matplotlib.colormaps:
        raise ValueError(f"{name} must name a matplotlib colormap such as 'gray' or "
                         f"'viridis', got {value!r}")
    return value


def apply_style() -> None:
    """The colour-vision-safe colour cycle and default colormap for every figure."""
    from cycler import cycler

    plt.rcParams["axes.prop_cycle"] = cycler(color=list(PALETTE.values()))
    plt.rcParams["image.cmap"] = SEQUENTIAL_CMAP


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


def finish(fig: Figure, title: str | None = None, ax=None) -> Figure:
    """The last step of a ``show_*`` function: the title (on ``ax``, else over the whole
    figure), then ``fig`` closed and returned, so that the notebook shows it exactly once."""
    if title:
        if ax is not None:
            ax.set_title(title)
        else:
            fig.suptitle(title)
    plt.close(fig)
    return fig


def legend_below(fig, ax, ncols: int | None = None):
    """The legend of ``ax`` under the figure, where it cannot cover data, in as many columns
    (at most ``ncols``, default 3) as fit the figure's width: a wider legend would widen the
    saved figure, and the page would shrink all its text."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    ncols = ncols or min(len(labels), 3)
    renderer = fig.canvas.get_renderer()
    while True:
        legend = fig.legend(handles, labels, loc="outside lower center", ncols=ncols, frameon=False)
        if ncols == 1 or legend.get_window_extent(renderer).width <= fig.bbox.width:
            return legend
        legend.remove()
        ncols -= 1


# ------------------------------------------------------------------ text size, recorded in the PNG
TEXT_SIZE_KEY = "cnncourse:smallest-text-px"
"""The PNG text chunk that holds the height, in pixels of the PNG itself, of a figure's smallest
text: shown at ``w`` px wide, a PNG ``W`` px wide shows that text ``value * w / W`` px tall (the
browser test of the site reads it)."""


def visible_texts(fig) -> list[matplotlib.text.Text]:
    """Every visible, non-empty text artist of a drawn figure (titles, labels, ticks, legends)."""
    found = []
    for text in fig.findobj(matplotlib.text.Text):
        if not text.get_visible() or not text.get_text().strip():
            continue
        if text.axes is not None and not text.axes.get_visible():
            continue
        found.append(text)
    return found


def smallest_text_px(fig, dpi: float | None = None, *, draw: bool = True) -> float | None:
    """Height in pixels of the figure's smallest text when saved at ``dpi`` (default: the
    figure's own), or ``None`` for a figure without text.

    ``draw`` draws the figure first: tick labels get their text only when it is drawn.
    """
    if draw:
        fig.canvas.draw()
    sizes = [text.get_fontsize() for text in visible_texts(fig)]
    return min(sizes) * (dpi or fig.dpi) / 72 if sizes else None


def png_with_text_size(png: bytes, size_px: float | None) -> bytes:
    """``png`` with a ``TEXT_SIZE_KEY`` text chunk after its header (unchanged when ``size_px`` is None)."""
    if size_px is None:
        return png
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("png must be a PNG file starting with its IHDR chunk")
    data = TEXT_SIZE_KEY.encode("latin-1") + b"\0" + f"{size_px:.2f}".encode("latin-1")
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", zlib.crc32(b"tEXt" + data))
    end_of_header = 8 + 4 + 4 + 13 + 4
    return png[:end_of_header] + chunk + png[end_of_header:]


def record_text_size_in_png() -> bool:
    """In an IPython kernel, make the PNG of every shown figure carry its smallest text size.

    Wraps the PNG formatter that IPython's inline backend registered for matplotlib figures
    (same options, e.g. ``bbox_inches="tight"``), so the built site can check how large a
    figure's text is rendered at each screen width. Returns whether it did; outside IPython
    it does nothing.
    """
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import print_figure
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    backend = plt.get_backend()
    if backend.startswith("module://"):  # the inline backend registers its formatters on import
        importlib.import_module(backend.removeprefix("module://"))
    formatter = shell.display_formatter.formatters["image/png"]
    current = formatter.lookup_by_type(Figure) if Figure in formatter.type_printers else None
    if current is not None and getattr(current, "_cnncourse", False):
        return True
    if getattr(current, "func", None) is not print_figure:  # none, or another format (retina)
        return False
    options = dict(getattr(current, "keywords", {}) or {})
    options.pop("fmt", None)
    options.pop("base64", None)

    def png(fig):
        data = print_figure(fig, "png", base64=False, **options)  # draws the figure
        if data is None:  # a figure with nothing in it
            return None
        size = smallest_text_px(fig, options.get("dpi"), draw=False)
        return base64.b64encode(png_with_text_size(data, size)).decode("ascii")

    png._cnncourse = True
    formatter.for_type(Figure, png)
    return True


# --------------------------------------------------------------------------- images on axes
def plot_array(x, name: str, *, finite: bool = True) -> np.ndarray:
    """``x`` (an array, a tensor, a nested list of real numbers) as a NumPy array for a figure
    (its dtype kept; float16 and bfloat16 as float32): the one check of every array a
    ``show_*`` function draws. ``name`` names the argument in the messages.

    Raises
    ------
    TypeError
        For what is not an array of real numbers (:func:`cnncourse._checks.as_tensor`: None,
        strings, complex values), and for a lone number, which is no array to draw.
    ValueError
        For a meta tensor (a shape without numbers) and, when ``finite``, for NaN or infinite
        values: matplotlib cannot colour them and warns from deep inside.
    """
    if isinstance(x, (int, float, complex, np.generic)):
        raise TypeError(f"{name} must be an array or tensor of numbers, got {describe(x)}")
    arr = to_numpy(as_tensor(x, name, numbers=True), name)
    if finite and arr.size and not np.isfinite(arr).all():
        raise ValueError(f"{name} must hold finite numbers, got NaN or infinite values in "
                         f"{describe(x)}")
    return arr


def image_array(x, name: str = "image") -> np.ndarray:
    """``x`` (an array, a tensor, a nested list of real numbers) as a 2-D float NumPy image,
    singleton axes dropped; ``name`` names the argument in the messages (as
    :func:`plot_array`, which refuses what is not an array of finite real numbers).
    """
    arr = plot_array(x, name).astype(float)
    if arr.ndim != 2:
        arr = np.squeeze(arr)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D image, got {describe(x)}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    return arr


def format_value(v: float) -> str:
    """A number as a grid cell shows it: whole numbers bare, others with 2 or 3 decimals."""
    if float(v).is_integer():
        return f"{int(v)}"
    return f"{v:.2f}" if abs(v) >= 0.01 else f"{v:.3f}"


def plain_axes(ax, title: str | None = None) -> None:
    """No ticks; a small title if given."""
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)


def imshow_signed(ax, arr: np.ndarray, signed: bool | None = None, cmap: str | None = None,
                  robust: bool = False, vrange: tuple[float, float] | None = None):
    """Grey for images, a diverging map centred on 0 for signed responses.

    ``robust`` scales the colours to the 99.5th percentile of ``|arr|`` instead of its
    maximum, so that a few very strong responses do not wash out the rest.
    """
    if signed is None:
        signed = arr.min() < 0
    if signed:
        mag = np.abs(arr)
        lim = float(np.percentile(mag, 99.5) if robust else mag.max()) or float(mag.max()) or 1.0
        return ax.imshow(arr, cmap=cmap or "RdBu_r", vmin=-lim, vmax=lim)
    if vrange is not None:
        return ax.imshow(arr, cmap=cmap or "gray", vmin=vrange[0], vmax=vrange[1])
    return ax.imshow(arr, cmap=cmap or "gray")
