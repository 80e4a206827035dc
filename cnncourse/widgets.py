"""Interactive explorers (ipywidgets) for kernels, pooling and receptive fields.

Each explorer is a small class: its widget controls are attributes (so a test or a lesson
can set them from code), ``update()`` recomputes and redraws, and the latest results are
attributes too. The figure is rendered to a PNG in an :class:`ipywidgets.Image`, which
makes one update a single image swap.

* :class:`KernelExplorer`: an image (MNIST digit or a downsampled photograph), a named or
  hand-edited 3x3 kernel, the edge mode, and one highlighted window with its sum of products
  written out (lesson 5);
* :class:`PoolingExplorer`: window, stride, max/avg and a 1-pixel shift, with the number of
  pooled outputs that the shift changes (lesson 7);
* :class:`ErfExplorer`: the effective receptive field of a random stack of convolutions
  (depth, kernel size, dilation) inside its theoretical field, and of a trained network
  passed in by the lesson (lesson 9).

A published (static) book page has no kernel, so widgets do not respond there. Every explorer
therefore also has ``static_figure()``, a matplotlib figure of a few representative
settings for the page to show.

The explorers only wire controls to :mod:`cnncourse.filters`, :mod:`cnncourse.pooling` and
:mod:`cnncourse.receptive_field`; nothing is computed here that those modules do not compute.
"""

from __future__ import annotations

import contextlib
import copy
import io
import time
from collections.abc import Iterator, Sequence
from functools import lru_cache

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import nn

from cnncourse.filters import EDGE_MODES, KERNELS, as_tensor, correlate2d, pad
from cnncourse.plots.filters import _fmt, _imshow_signed, _plain, annotate_grid, draw_kernel
from cnncourse.pooling import POOL_MODES, pool2d, shift
from cnncourse.receptive_field import (
    conv_stack,
    effective_receptive_field,
    fit_gaussian,
    flatten_layers,
    gradient_support,
    receptive_field,
    support_extent,
)

__all__ = [
    "IMAGE_NAMES",
    "PHOTO_NAMES",
    "load_image",
    "named_kernels",
    "KernelExplorer",
    "PoolingExplorer",
    "ErfExplorer",
]

PHOTO_NAMES: tuple[str, ...] = ("camera", "coins", "moon", "checkerboard")
"""Greyscale photographs of ``skimage.data`` offered by the explorers."""

IMAGE_NAMES: tuple[str, ...] = ("digit",) + PHOTO_NAMES
"""Image names the explorers accept: an MNIST digit or one of :data:`PHOTO_NAMES`."""

CUSTOM = "custom"
"""Name shown by the kernel explorer when the nine weights match no named kernel."""

_OWN_IMAGE = "your image"
_DPI = 72


# --------------------------------------------------------------------------- shared helpers
@lru_cache(maxsize=4)
def _mnist_digits(split: str = "test") -> torch.Tensor:
    from cnncourse.data import load_mnist

    return load_mnist(split)[0]


@lru_cache(maxsize=32)
def _photo(name: str, size: int) -> torch.Tensor:
    from skimage import data as skdata
    from skimage.transform import resize

    img = np.asarray(getattr(skdata, name)(), dtype=np.float64)
    if img.max() <= 1.0:  # boolean or [0, 1] images on the 0-255 scale of the others
        img = img * 255.0
    h, w = img.shape
    side = min(h, w)  # centre square, then an anti-aliased resize
    top, left = (h - side) // 2, (w - side) // 2
    small = resize(img[top:top + side, left:left + side], (size, size), anti_aliasing=True,
                   preserve_range=True)
    return torch.from_numpy(small.astype(np.float32))


def _check_choice(value: object, name: str, options: Sequence) -> None:
    if isinstance(value, bool) or value not in options:
        raise ValueError(f"{name} must be one of {tuple(options)}, got {value!r}")


def _check_int_range(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an int from {low} to {high}, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be an int from {low} to {high}, got {value!r}")
    return int(value)


def load_image(name: str, digit_index: int = 0, size: int = 48) -> torch.Tensor:
    """A greyscale image for the explorers, as a float tensor with values 0-255.

    Parameters
    ----------
    name
        ``"digit"`` (an MNIST test digit, 28x28) or a photograph of :data:`PHOTO_NAMES`
        (``skimage.data``), whose centre square is resized to ``size x size`` with
        anti-aliasing so that an update stays fast.
    digit_index
        Which test digit (0-9999).
    size
        Side of a downsampled photograph, 8 to 128.

    Raises
    ------
    ValueError
        For an unknown name or an index or size out of range.
    """
    _check_choice(name, "image", IMAGE_NAMES)
    if name == "digit":
        index = _check_int_range(digit_index, "digit_index", 0, 9999)
        return _mnist_digits("test")[index].float()
    return _photo(name, _check_int_range(size, "size", 8, 128)).clone()


def _as_image(image: object, name: str = "image") -> torch.Tensor:
    """A user's own 2-D array as a float tensor, with a clear error otherwise."""
    try:
        t = as_tensor(image, name)
    except TypeError as exc:
        raise ValueError(f"{name} must be one of {IMAGE_NAMES} or a 2-D array, got {image!r:.60}") from exc
    if t.ndim != 2 or min(t.shape) < 3:
        raise ValueError(f"{name} must be a 2-D array of at least 3x3 pixels, got shape {tuple(t.shape)}")
    return t.float()


def named_kernels() -> dict[str, np.ndarray]:
    """Every kernel of :data:`cnncourse.filters.KERNELS` in its 3x3 version.

    Kernels whose default size is larger (the Gaussian blur is 5x5) are built with
    ``size=3``.
    """
    out: dict[str, np.ndarray] = {}
    for name, build in KERNELS.items():
        k = build()
        if tuple(k.shape) != (3, 3):
            k = build(size=3)
        out[name] = k.numpy().astype(np.float64)
    return out


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Run PyTorch on one thread inside the block, then restore the previous setting."""
    before = torch.get_num_threads()
    if before != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if before != 1:
            torch.set_num_threads(before)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI)
    return buf.getvalue()


class _Explorer:
    """Common machinery: an update counter, a timer, batching of control changes, display."""

    figure_widget: widgets.Image
    text: widgets.HTML
    controls: widgets.Widget

    def _init_common(self) -> None:
        self._held = 0
        self.n_updates = 0
        self.last_update_seconds = float("nan")
        self.figure_widget = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.text = widgets.HTML()
        self._figure = Figure(figsize=self._figsize, dpi=_DPI)

    def _image_source(self, image: str | np.ndarray | torch.Tensor, digit_index: int,
                      photo_size: int) -> tuple[list[str], str]:
        """Check the image arguments shared by the kernel and pooling explorers; return the
        options of the image picker and the one selected first."""
        self.digit_index = _check_int_range(digit_index, "digit_index", 0, 9999)
        self.photo_size = _check_int_range(photo_size, "photo_size", 8, 128)
        if isinstance(image, str):
            _check_choice(image, "image", IMAGE_NAMES)
            self._own_image = None
            return list(IMAGE_NAMES), image
        self._own_image = _as_image(image)
        return [_OWN_IMAGE, *IMAGE_NAMES], _OWN_IMAGE

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Change several controls at once with one update at the end.

        Examples
        --------
        >>> with explorer.hold():                                  # doctest: +SKIP
        ...     explorer.window_slider.value, explorer.stride_slider.value = 3, 1
        """
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
        if self._held == 0:
            self.update()

    def _on_change(self, change: dict | None = None) -> None:
        if self._held == 0:
            self.update()

    def _observe(self, *controls: widgets.Widget) -> None:
        for c in controls:
            c.observe(self._on_change, names="value")

    def update(self) -> None:
        """Recompute from the controls and redraw (called on every control change).

        The tensors are tiny, so PyTorch runs on one thread meanwhile: on a busy machine,
        waking several threads for a 28x28 map costs far more than it saves.
        """
        start = time.perf_counter()
        with _one_thread():
            self._compute()
            self._figure.clear()
            self._draw(self._figure)
            self.figure_widget.value = _png(self._figure)
        self.text.value = self._describe()
        self.n_updates += 1
        self.last_update_seconds = time.perf_counter() - start

    def widget(self) -> widgets.Widget:
        """The controls above the figure and its description, as one box."""
        if not hasattr(self, "_box"):
            self._box = widgets.VBox([self.controls, self.figure_widget, self.text])
        return self._box

    def show(self) -> None:
        """Display the explorer (controls, figure and text) in a notebook."""
        from IPython.display import display

        display(self.widget())

    def _ipython_display_(self) -> None:
        self.show()

    # to be provided by each explorer
    _figsize: tuple[float, float] = (10.0, 3.0)

    def _compute(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _draw(self, fig: Figure) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


# --------------------------------------------------------------------------- kernel explorer
def _kernel_panels(axes, padded: np.ndarray, off: int, shape: tuple[int, int], kernel: np.ndarray,
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
    _plain(ax, f"input, {edge}: {padded.shape[0]}x{padded.shape[1]}")
    ax = axes[1]
    ax.imshow(patch, cmap="gray", vmin=vmin, vmax=vmax if vmax > vmin else vmin + 1)
    annotate_grid(ax, patch)
    _plain(ax, "window (red)")
    draw_kernel(axes[2], kernel, f"kernel, sum {_fmt(round(float(kernel.sum()), 4))}")
    ax = axes[3]
    lim = float(np.abs(products).max()) or 1.0
    ax.imshow(products, cmap="RdBu_r", vmin=-lim, vmax=lim)
    annotate_grid(ax, products)
    value = float(products.sum())
    _plain(ax, f"products, sum = {_fmt(round(value, 4))}")
    ax = axes[4]
    _imshow_signed(ax, output)
    ax.add_patch(Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2))
    _plain(ax, f"output {output.shape[0]}x{output.shape[1]}, [{row}, {col}]")
    return value


class KernelExplorer(_Explorer):
    """Slide a 3x3 kernel over an image and read one sum of products.

    Controls (attributes): ``image_picker`` (Dropdown), ``kernel_picker`` (Dropdown of the
    named kernels and ``"custom"``), ``cells`` (3x3 nested list of FloatText: the kernel's
    weights, editable), ``edge_picker`` (ToggleButtons ``zero``/``crop``/``extend``),
    ``row_slider`` and ``col_slider`` (the highlighted output position).

    Results (attributes, refreshed by ``update()``): ``image`` (the input tensor),
    ``kernel`` (3x3 NumPy array), ``output`` (``correlate2d(image, kernel, edge)``),
    ``padded`` (what the kernel slides over), ``patch`` and ``products`` (the highlighted
    window and its products with the kernel) and ``value`` (their sum, equal to
    ``output[row, col]``).

    Parameters
    ----------
    image
        A name of :data:`IMAGE_NAMES` or your own 2-D array (at least 3x3).
    kernel
        A name of :func:`named_kernels` or a 3x3 array of weights.
    edge
        ``"zero"``, ``"crop"`` or ``"extend"`` (see :func:`cnncourse.filters.pad`).
    row, col
        Highlighted output position; default: the middle of the output.
    digit_index
        Which MNIST test digit ``"digit"`` means.
    photo_size
        Side to which photographs are downsampled (8-128); 48 keeps updates fast.

    Raises
    ------
    ValueError
        For an unknown image, kernel or edge mode, a kernel that is not 3x3, or a position
        outside the output.
    """

    _figsize = (13.0, 2.9)

    def __init__(self, image: str | np.ndarray | torch.Tensor = "digit",
                 kernel: str | np.ndarray | torch.Tensor = "sobel x", edge: str = "zero",
                 row: int | None = None, col: int | None = None, digit_index: int = 0,
                 photo_size: int = 48) -> None:
        self._kernels = named_kernels()
        options, first = self._image_source(image, digit_index, photo_size)
        if isinstance(kernel, str):
            _check_choice(kernel, "kernel", tuple(self._kernels))
            weights = self._kernels[kernel]
        else:
            try:
                weights = as_tensor(kernel, "kernel").double().numpy()
            except TypeError as exc:
                raise ValueError(f"kernel must be one of {tuple(self._kernels)} or a 3x3 array, "
                                 f"got {kernel!r:.60}") from exc
            if weights.shape != (3, 3):
                raise ValueError(f"kernel must be a 3x3 array of weights (or one of {tuple(self._kernels)}), "
                                 f"got shape {weights.shape}")
        _check_choice(edge, "edge", EDGE_MODES)
        self._init_common()

        self.image_picker = widgets.Dropdown(options=options, value=first, description="image")
        self.kernel_picker = widgets.Dropdown(options=[*self._kernels, CUSTOM], value=CUSTOM,
                                              description="kernel")
        self.cells = [[widgets.FloatText(value=float(weights[i, j]), step=0.5,
                                         layout=widgets.Layout(width="70px"))
                       for j in range(3)] for i in range(3)]
        self.edge_picker = widgets.ToggleButtons(options=list(EDGE_MODES), value=edge, description="edge")
        self.row_slider = widgets.IntSlider(value=0, min=0, max=1, description="row")
        self.col_slider = widgets.IntSlider(value=0, min=0, max=1, description="col")
        self._sync_picker()
        self._load_image()
        h, w = self._out_shape()
        for name, value, n in (("row", row, h), ("col", col, w)):
            if value is not None:
                _check_int_range(value, name, 0, n - 1)
        self._set_slider_ranges(row if row is not None else (h - 1) // 2,
                                col if col is not None else (w - 1) // 2)

        grid = widgets.GridBox([c for r in self.cells for c in r],
                               layout=widgets.Layout(grid_template_columns="repeat(3, 74px)"))
        self.controls = widgets.HBox([
            widgets.VBox([self.image_picker, self.kernel_picker, self.edge_picker]),
            widgets.VBox([widgets.Label("kernel weights (edit me)"), grid]),
            widgets.VBox([self.row_slider, self.col_slider]),
        ])
        self.image_picker.observe(self._on_image, names="value")
        self.kernel_picker.observe(self._on_kernel_name, names="value")
        for c in (c for r in self.cells for c in r):
            c.observe(self._on_cell, names="value")
        self.edge_picker.observe(self._on_edge, names="value")
        self._observe(self.row_slider, self.col_slider)
        self.update()

    # ---- state from the controls
    @property
    def kernel(self) -> np.ndarray:
        """The 3x3 kernel currently in the weight cells (float64)."""
        return np.array([[c.value for c in r] for r in self.cells], dtype=np.float64)

    def _load_image(self) -> None:
        name = self.image_picker.value
        self.image = self._own_image if name == _OWN_IMAGE else load_image(name, self.digit_index,
                                                                           self.photo_size)

    def _out_shape(self) -> tuple[int, int]:
        h, w = self.image.shape
        return (h - 2, w - 2) if self.edge_picker.value == "crop" else (h, w)

    def _set_slider_ranges(self, row: int, col: int) -> None:
        h, w = self._out_shape()
        with self._holding():
            for slider, n, v in ((self.row_slider, h, row), (self.col_slider, w, col)):
                slider.max = max(n - 1, 1)
                slider.value = min(max(v, 0), n - 1)

    @contextlib.contextmanager
    def _holding(self) -> Iterator[None]:
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1

    def _sync_picker(self) -> None:
        """Name the kernel in the cells if it equals a named one, else ``"custom"``."""
        k = self.kernel
        name = next((n for n, w in self._kernels.items() if np.allclose(w, k, rtol=0, atol=1e-6)), CUSTOM)
        if self.kernel_picker.value != name:
            with self._holding():
                self.kernel_picker.value = name

    # ---- observers
    def _on_image(self, change: dict) -> None:
        self._load_image()
        h, w = self._out_shape()
        self._set_slider_ranges((h - 1) // 2, (w - 1) // 2)
        self._on_change()

    def _on_kernel_name(self, change: dict) -> None:
        if change["new"] == CUSTOM:
            return
        weights = self._kernels[change["new"]]
        with self._holding():
            for i in range(3):
                for j in range(3):
                    self.cells[i][j].value = float(weights[i, j])
        self._on_change()

    def _on_cell(self, change: dict) -> None:
        if self._held:
            return
        self._sync_picker()
        self._on_change()

    def _on_edge(self, change: dict) -> None:
        # keep the same input pixel highlighted: crop drops one border row and column
        shift_by = 1 if change["old"] == "crop" else 0
        shift_by -= 1 if change["new"] == "crop" else 0
        self._set_slider_ranges(self.row_slider.value + shift_by, self.col_slider.value + shift_by)
        self._on_change()

    # ---- computing and drawing
    def _compute(self) -> None:
        edge = self.edge_picker.value
        k = torch.from_numpy(self.kernel)
        img = self.image.double()
        self.output = correlate2d(img, k, edge=edge)
        self.padded = pad(img, 0 if edge == "crop" else 1, edge)
        r = min(self.row_slider.value, self.output.shape[0] - 1)
        c = min(self.col_slider.value, self.output.shape[1] - 1)
        self.position = (r, c)
        self.patch = self.padded[r:r + 3, c:c + 3].numpy()
        self.products = self.patch * self.kernel
        self.value = float(self.products.sum())

    def _draw(self, fig: Figure) -> None:
        axes = fig.subplots(1, 5, gridspec_kw={"width_ratios": [3, 1.3, 1.3, 1.3, 3]})
        fig.subplots_adjust(left=0.01, right=0.99, bottom=0.03, top=0.88, wspace=0.12)
        edge = self.edge_picker.value
        _kernel_panels(axes, self.padded.numpy(), 0 if edge == "crop" else 1, tuple(self.image.shape),
                       self.kernel, self.output.numpy(), *self.position, edge)

    def _describe(self) -> str:
        terms = " + ".join(f"({_fmt(round(float(w), 4))})({_fmt(round(float(p), 2))})"
                           for w, p in zip(self.kernel.ravel(), self.patch.ravel()))
        r, c = self.position
        return (f"<code>output[{r}, {c}] = {terms} = <b>{_fmt(round(self.value, 4))}</b></code>"
                f"<br>kernel x window, summed: the red window in the input gives the red pixel "
                f"of the output.")

    # ---- the static page
    def static_figure(self, settings: Sequence[tuple[str, str]] = (("sobel x", "zero"),
                                                                   ("laplacian", "crop"),
                                                                   ("box blur", "extend"))) -> Figure:
        """The current image under a few kernels and edge modes, one row each.

        Each row is what the live explorer draws for ``(kernel name, edge mode)``, at the
        position ``row_slider`` / ``col_slider`` (kept inside the output).

        Parameters
        ----------
        settings
            ``(kernel name, edge mode)`` pairs, one per row.
        """
        fig, axes = plt.subplots(len(settings), 5, figsize=(13, 2.8 * len(settings)), squeeze=False,
                                 gridspec_kw={"width_ratios": [3, 1.3, 1.3, 1.3, 3]}, layout="constrained")
        img = self.image.double()
        for ax_row, (name, edge) in zip(axes, settings):
            _check_choice(name, "kernel", tuple(self._kernels))
            _check_choice(edge, "edge", EDGE_MODES)
            k = self._kernels[name]
            out = correlate2d(img, torch.from_numpy(k), edge=edge).numpy()
            off = 0 if edge == "crop" else 1
            padded = pad(img, off, edge).numpy()
            r = min(self.row_slider.value, out.shape[0] - 1)
            c = min(self.col_slider.value, out.shape[1] - 1)
            _kernel_panels(ax_row, padded, off, tuple(img.shape), k, out, r, c, edge)
            ax_row[0].set_ylabel(name, fontsize=11)
        plt.close(fig)  # returned, not left open: the notebook shows it once
        return fig


# --------------------------------------------------------------------------- pooling explorer
_DIRECTIONS: dict[str, tuple[int, int]] = {"right": (0, 1), "down": (1, 0), "down-right": (1, 1)}


def _pooling_panels(axes, shown: np.ndarray, pooled: np.ndarray, changed: np.ndarray, window: int,
                    stride: int, mode: str, title: str) -> None:
    vmin, vmax = float(shown.min()), float(shown.max())
    axes[0].imshow(shown, cmap="gray", vmin=vmin, vmax=vmax if vmax > vmin else vmin + 1)
    # two neighbouring windows near the middle, on the pooling grid
    top = (shown.shape[0] // 2 // stride) * stride
    left = (shown.shape[1] // 2 // stride) * stride
    for n, colour in enumerate(("tab:orange", "tab:cyan")):
        axes[0].add_patch(Rectangle((left + n * stride - 0.5, top - 0.5), window, window, fill=False,
                                    edgecolor=colour, linewidth=2))
    _plain(axes[0], f"{title} {shown.shape[0]}x{shown.shape[1]}")
    _imshow_signed(axes[1], pooled, signed=False)
    _plain(axes[1], f"{mode} pool, window {window}, stride {stride}: {pooled.shape[0]}x{pooled.shape[1]}")
    axes[2].imshow(changed, cmap="Reds", vmin=0, vmax=1)
    _plain(axes[2], f"changed by the shift: {int(changed.sum())} of {changed.size}")


class PoolingExplorer(_Explorer):
    """Pool an image with any window, stride and mode, and see what a 1-pixel shift changes.

    Controls (attributes): ``image_picker``, ``window_slider`` (1-6), ``stride_slider``
    (1-6), ``mode_picker`` (``max``/``avg``), ``shift_toggle`` (show the shifted input and
    its pooled map) and ``direction_picker`` (``right``, ``down``, ``down-right``).

    Results (attributes): ``image``, ``shown`` (the image, shifted when the toggle is on),
    ``pooled`` (``pool2d(shown, window, stride, mode)``), ``changed`` (boolean map: where
    pooling the shifted image differs from pooling the original), ``n_changed``,
    ``n_outputs`` and ``n_active`` (outputs that are non-zero before or after the shift).

    Parameters
    ----------
    image
        A name of :data:`IMAGE_NAMES` or your own 2-D array.
    window, stride
        Pooling window and stride, 1 to 6 (and at most the image size).
    mode
        ``"max"`` or ``"avg"``.
    shifted
        Start with the shifted image shown.
    direction
        ``"right"``, ``"down"`` or ``"down-right"``: the 1-pixel shift.
    digit_index, photo_size
        As for :class:`KernelExplorer`.

    Raises
    ------
    ValueError
        For an unknown image, mode or direction, or a window or stride out of range.
    """

    _figsize = (11.0, 3.4)

    def __init__(self, image: str | np.ndarray | torch.Tensor = "digit", window: int = 2,
                 stride: int = 2, mode: str = "max", shifted: bool = False, direction: str = "right",
                 digit_index: int = 0, photo_size: int = 48) -> None:
        options, first = self._image_source(image, digit_index, photo_size)
        window = _check_int_range(window, "window", 1, 6)
        stride = _check_int_range(stride, "stride", 1, 6)
        _check_choice(mode, "mode", POOL_MODES)
        _check_choice(direction, "direction", tuple(_DIRECTIONS))
        if not isinstance(shifted, bool):
            raise ValueError(f"shifted must be True or False, got {shifted!r}")
        self._init_common()
        self.image_picker = widgets.Dropdown(options=options, value=first, description="image")
        self.window_slider = widgets.IntSlider(value=window, min=1, max=6, description="window")
        self.stride_slider = widgets.IntSlider(value=stride, min=1, max=6, description="stride")
        self.mode_picker = widgets.ToggleButtons(options=list(POOL_MODES), value=mode, description="mode")
        self.shift_toggle = widgets.ToggleButton(value=shifted, description="shift input by 1 pixel",
                                                 icon="arrows")
        self.direction_picker = widgets.Dropdown(options=list(_DIRECTIONS), value=direction,
                                                 description="direction")
        self._load_image()
        self.controls = widgets.HBox([
            widgets.VBox([self.image_picker, self.mode_picker]),
            widgets.VBox([self.window_slider, self.stride_slider]),
            widgets.VBox([self.shift_toggle, self.direction_picker]),
        ])
        self.image_picker.observe(self._on_image, names="value")
        self._observe(self.window_slider, self.stride_slider, self.mode_picker, self.shift_toggle,
                      self.direction_picker)
        self.update()

    def _load_image(self) -> None:
        name = self.image_picker.value
        self.image = self._own_image if name == _OWN_IMAGE else load_image(name, self.digit_index,
                                                                           self.photo_size)
        if self.window_slider.value > min(self.image.shape):
            raise ValueError(f"window must be at most the image size {tuple(self.image.shape)}, "
                             f"got {self.window_slider.value}")

    def _on_image(self, change: dict) -> None:
        self._load_image()
        self._on_change()

    @staticmethod
    def _pool_state(image: torch.Tensor, window: int, stride: int, mode: str, direction: str,
                    shifted: bool) -> dict:
        dy, dx = _DIRECTIONS[direction]
        moved = shift(image, dy, dx)
        before = pool2d(image, window, stride, mode)
        after = pool2d(moved, window, stride, mode)
        changed = before != after
        return {"shown": moved if shifted else image, "pooled": after if shifted else before,
                "changed": changed, "active": (before != 0) | (after != 0)}

    def _compute(self) -> None:
        s = self._pool_state(self.image, self.window_slider.value, self.stride_slider.value,
                             self.mode_picker.value, self.direction_picker.value, self.shift_toggle.value)
        self.shown, self.pooled = s["shown"], s["pooled"]
        self.changed = s["changed"].numpy()
        self.n_changed = int(self.changed.sum())
        self.n_outputs = int(self.changed.size)
        self.n_active = int(s["active"].sum())

    def _draw(self, fig: Figure) -> None:
        axes = fig.subplots(1, 3)
        fig.subplots_adjust(left=0.01, right=0.99, bottom=0.03, top=0.9, wspace=0.08)
        title = f"input shifted {self.direction_picker.value}" if self.shift_toggle.value else "input"
        _pooling_panels(axes, self.shown.numpy(), self.pooled.numpy(), self.changed,
                        self.window_slider.value, self.stride_slider.value, self.mode_picker.value, title)

    def _describe(self) -> str:
        share = self.n_changed / self.n_outputs
        return (f"{self.mode_picker.value} pooling, window {self.window_slider.value}, stride "
                f"{self.stride_slider.value}: a {self.pooled.shape[0]}x{self.pooled.shape[1]} map. "
                f"Shifting the input 1 pixel {self.direction_picker.value} changes <b>{self.n_changed}</b> "
                f"of its {self.n_outputs} outputs ({share:.0%}), or {self.n_changed} of the {self.n_active} "
                f"outputs that are non-zero before or after the shift (an output that is 0 both "
                f"times cannot change).")

    def static_figure(self, windows: Sequence[int] = (1, 2, 4)) -> Figure:
        """Max pooling of the current image with a few windows (stride = window), one row each.

        Each row shows the input, its pooled map and the outputs that a 1-pixel shift in the
        current direction changes; window 1 (no pooling) is the baseline.

        Parameters
        ----------
        windows
            Window sizes (= strides), one per row.
        """
        fig, axes = plt.subplots(len(windows), 3, figsize=(9.5, 3.0 * len(windows)), squeeze=False,
                                 layout="constrained")
        for ax_row, w in zip(axes, windows):
            w = _check_int_range(w, "window", 1, 6)
            s = self._pool_state(self.image, w, w, "max", self.direction_picker.value, False)
            _pooling_panels(ax_row, s["shown"].numpy(), s["pooled"].numpy(), s["changed"].numpy(), w, w,
                            "max", "input")
        plt.close(fig)  # returned, not left open: the notebook shows it once
        return fig


# --------------------------------------------------------------------------- ERF explorer
ERF_KERNEL_SIZES: tuple[int, ...] = (3, 5, 7)
"""Kernel sizes the ERF explorer offers."""
ERF_DILATIONS: tuple[int, ...] = (1, 2, 3)
"""Dilations the ERF explorer offers."""
ERF_MAX_DEPTH = 8
"""Deepest random stack the ERF explorer builds."""
ERF_MAX_SIDE = 49
"""Largest input side of the random stacks (a larger field is clipped to it, to stay fast)."""


def _prefix(layers: list[tuple[str, nn.Module]], depth: int) -> nn.Sequential:
    """The layers up to (not including) the ``depth + 1``-th convolution."""
    out, seen = [], 0
    for _, layer in layers:
        if isinstance(layer, nn.Conv2d):
            if seen == depth:
                break
            seen += 1
        out.append(layer)
    return nn.Sequential(*out)


def _conv_part(model: nn.Module, name: str) -> list[tuple[str, nn.Module]]:
    if not isinstance(model, nn.Module):
        raise ValueError(f"{name} must be an nn.Module (a CNN, or its convolutional part), "
                         f"got {type(model).__name__}")
    part = model.features if isinstance(getattr(model, "features", None), nn.Module) else model
    # a private CPU copy: measuring must not move or change the lesson's model
    part = copy.deepcopy(part).to(device="cpu", dtype=torch.float32, memory_format=torch.contiguous_format)
    part.eval()
    flat = flatten_layers(part)
    n = sum(isinstance(m, nn.Conv2d) for _, m in flat)
    if n == 0:
        raise ValueError(f"{name} has no Conv2d layer: pass a CNN with a .features stack, or the stack")
    # keep the convolutional part: everything up to the first layer without a fixed field
    try:
        receptive_field(part)
    except ValueError as exc:
        raise ValueError(f"{name} (or its .features) must be a stack of convolutions, poolings and "
                         f"pointwise layers: {exc}") from None
    return flat


@lru_cache(maxsize=4)
def _digit_batch(n: int) -> torch.Tensor:
    from cnncourse.data import standardize

    return standardize(_mnist_digits("test")[:n])


def _erf_panels(axes, maps: dict[str, np.ndarray], box, support_box, profile: bool = True) -> None:
    """ERF heatmaps with the theoretical field dashed and, with ``profile``, their central rows
    on the axis after the maps (the support's first and last column dashed)."""
    for ax, (title, m) in zip(axes, maps.items()):
        ax.imshow(m, cmap="viridis", interpolation="nearest")
        (r0, r1), (c0, c1) = box
        ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0 + 1, r1 - r0 + 1, fill=False,
                               edgecolor="white", linestyle="--", linewidth=1.2))
        _plain(ax, title)
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
    ax.legend(fontsize=8, loc="upper right")


class ErfExplorer(_Explorer):
    """Effective receptive field (ERF) against the theoretical one, for stacks you choose.

    ``"untrained"``: a stack of ``depth`` convolutions (``kernel_size``, ``dilation``,
    ``channels`` filters, ReLU; :func:`cnncourse.receptive_field.conv_stack`) with random
    weights, its ERF measured on random inputs by
    :func:`~cnncourse.receptive_field.effective_receptive_field`. The input side grows with
    the field, up to ``ERF_MAX_SIDE``. ``"trained"`` (only with ``trained_model``): the
    first ``depth`` convolutions of that model (and of ``untrained_model``, its weights
    before training, when given), measured on MNIST test digits; kernel size and dilation are
    then the model's own.

    Maps are cached by setting, so revisiting a setting is instant.

    Controls (attributes): ``depth_slider``, ``kernel_picker``, ``dilation_picker``,
    ``weights_picker``.

    Results (attributes): ``erf`` (the map shown, normalised to sum 1), ``erf_before`` (the
    untrained map in trained mode, else ``None``), ``support`` (boolean theoretical field of
    the central unit, :func:`~cnncourse.receptive_field.gradient_support`), ``field`` (its
    size in pixels), ``radius`` (Gaussian-fit radius of ``erf``), ``stack`` (the layers
    measured).

    Parameters
    ----------
    depth
        Number of convolutions, 1 to ``ERF_MAX_DEPTH`` (at most the model's in trained mode).
    kernel_size
        One of ``ERF_KERNEL_SIZES``.
    dilation
        One of ``ERF_DILATIONS``.
    weights
        ``"untrained"`` or ``"trained"`` (needs ``trained_model``).
    trained_model
        A trained CNN (its ``.features`` are used when it has them) or a stack of
        convolutions, poolings and pointwise layers taking 1-channel 28x28 images. The
        explorer measures a CPU copy, so the model itself is left where and as it is.
    untrained_model
        The same architecture before training, drawn next to it.
    channels, n_inputs
        Filters per layer and random inputs per map for the random stacks (small is fast).
    n_digits
        Test digits averaged over in trained mode.
    seed
        Seed of the random weights and inputs.

    Raises
    ------
    ValueError
        For a value outside the offered ones, ``weights="trained"`` without a model, or a
        model that is not a convolutional stack.
    """

    _figsize = (10.0, 3.3)

    def __init__(self, depth: int = 3, kernel_size: int = 3, dilation: int = 1, weights: str = "untrained",
                 trained_model: nn.Module | None = None, untrained_model: nn.Module | None = None,
                 channels: int = 8, n_inputs: int = 8, n_digits: int = 64, seed: int = 0) -> None:
        depth = _check_int_range(depth, "depth", 1, ERF_MAX_DEPTH)
        _check_choice(kernel_size, "kernel_size", ERF_KERNEL_SIZES)
        _check_choice(dilation, "dilation", ERF_DILATIONS)
        _check_choice(weights, "weights", ("untrained", "trained"))
        self.channels = _check_int_range(channels, "channels", 1, 64)
        self.n_inputs = _check_int_range(n_inputs, "n_inputs", 1, 256)
        self.n_digits = _check_int_range(n_digits, "n_digits", 1, 10000)
        self.seed = int(seed)
        self._trained = None if trained_model is None else _conv_part(trained_model, "trained_model")
        self._untrained = None if untrained_model is None else _conv_part(untrained_model, "untrained_model")
        if self._untrained is not None and self._trained is None:
            raise ValueError("untrained_model is given without trained_model: pass both, or neither")
        if weights == "trained" and self._trained is None:
            raise ValueError("weights='trained' needs trained_model=<a trained CNN>; got trained_model=None")
        self._trained_depth = 0 if self._trained is None else sum(isinstance(m, nn.Conv2d) for _, m in self._trained)
        if weights == "trained":
            _check_int_range(depth, "depth", 1, self._trained_depth)
        self._cache: dict[tuple, dict] = {}
        self._init_common()
        self.depth_slider = widgets.IntSlider(value=depth, min=1, max=ERF_MAX_DEPTH, description="depth")
        self.kernel_picker = widgets.ToggleButtons(options=list(ERF_KERNEL_SIZES), value=kernel_size,
                                                   description="kernel")
        self.dilation_picker = widgets.ToggleButtons(options=list(ERF_DILATIONS), value=dilation,
                                                     description="dilation")
        options = ["untrained", "trained"] if self._trained is not None else ["untrained"]
        self.weights_picker = widgets.ToggleButtons(options=options, value=weights, description="weights")
        self.controls = widgets.HBox([
            widgets.VBox([self.depth_slider, self.weights_picker]),
            widgets.VBox([self.kernel_picker, self.dilation_picker]),
        ])
        self._apply_mode()
        self.weights_picker.observe(self._on_weights, names="value")
        self._observe(self.depth_slider, self.kernel_picker, self.dilation_picker)
        self.update()

    def _apply_mode(self) -> None:
        trained = self.weights_picker.value == "trained"
        self._held += 1
        try:
            self.depth_slider.max = self._trained_depth if trained else ERF_MAX_DEPTH
        finally:
            self._held -= 1
        self.kernel_picker.disabled = trained
        self.dilation_picker.disabled = trained

    def _on_weights(self, change: dict) -> None:
        self._apply_mode()
        self._on_change()

    # ---- computing
    @staticmethod
    def _side(field: int) -> int:
        side = min(max(field + 8, 21), ERF_MAX_SIDE)
        return side if side % 2 else side + 1

    def _random_state(self, depth: int, k: int, d: int) -> dict:
        key = ("untrained", depth, k, d)
        if key not in self._cache:
            field = 1 + depth * d * (k - 1)
            side = min(self._side(field), ERF_MAX_SIDE)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed)
                stack = conv_stack(depth, channels=self.channels, kernel_size=k, dilation=d)
            erf = effective_receptive_field(stack, side, n_inputs=self.n_inputs, seed=self.seed)
            self._cache[key] = {"erf": erf, "erf_before": None, "stack": stack, "side": side}
        return self._cache[key]

    def _trained_state(self, depth: int) -> dict:
        key = ("trained", depth)
        if key not in self._cache:
            digits = _digit_batch(self.n_digits)
            stack = _prefix(self._trained, depth)
            erf = effective_receptive_field(stack, inputs=digits)
            before = None
            if self._untrained is not None:
                before = effective_receptive_field(_prefix(self._untrained, depth), inputs=digits)
            self._cache[key] = {"erf": erf, "erf_before": before, "stack": stack, "side": digits.shape[-1]}
        return self._cache[key]

    def _state(self, depth: int, k: int, d: int, weights: str) -> dict:
        s = dict(self._trained_state(depth) if weights == "trained" else self._random_state(depth, k, d))
        if "support" not in s:
            support = gradient_support(s["stack"], s["side"])
            rf = receptive_field(s["stack"], s["side"])
            centre = tuple((n - 1) // 2 for n in rf.out_shape)
            s["support"], s["field"], s["box"] = support, rf.size[0], rf.bounds(centre)
            s["radius"] = fit_gaussian(s["erf"]).radius
            s["support_box"] = support_extent(support)
            key = ("trained", depth) if weights == "trained" else ("untrained", depth, k, d)
            self._cache[key].update({n: s[n] for n in ("support", "field", "box", "radius", "support_box")})
        return s

    def _compute(self) -> None:
        s = self._state(self.depth_slider.value, self.kernel_picker.value, self.dilation_picker.value,
                        self.weights_picker.value)
        for name in ("erf", "erf_before", "stack", "support", "field", "box", "radius", "support_box"):
            setattr(self, name, s[name])
        self.input_side = s["side"]

    def _maps(self, s: dict, label: str) -> dict[str, np.ndarray]:
        maps = {}
        if s["erf_before"] is not None:
            maps[f"before training: radius {fit_gaussian(s['erf_before']).radius:.1f}"] = s["erf_before"]
        maps[f"{label}: radius {s['radius']:.1f} px"] = s["erf"]
        return maps

    def _draw(self, fig: Figure) -> None:
        trained = self.weights_picker.value == "trained"
        s = {"erf": self.erf, "erf_before": self.erf_before, "radius": self.radius}
        maps = self._maps(s, "trained" if trained else "random weights")
        axes = fig.subplots(1, len(maps) + 1, gridspec_kw={"width_ratios": [1] * len(maps) + [1.4]})
        fig.subplots_adjust(left=0.02, right=0.98, bottom=0.16, top=0.88, wspace=0.25)
        _erf_panels(axes, maps, self.box, self.support_box)

    def _describe(self) -> str:
        if self.weights_picker.value == "trained":
            what = f"the first {self.depth_slider.value} convolution(s) of the trained model, on {self.n_digits} test digits"
        else:
            what = (f"{self.depth_slider.value} random {self.kernel_picker.value}x{self.kernel_picker.value} "
                    f"convolution(s), dilation {self.dilation_picker.value}, on {self.input_side}x{self.input_side} noise")
        clipped = " (clipped by the input)" if self.field > self.input_side else ""
        return (f"ERF of the central unit of {what}. Theoretical field: <b>{self.field}x{self.field}</b> "
                f"pixels{clipped} (dashed); ERF radius (Gaussian fit): <b>{self.radius:.2f}</b> pixels.")

    def static_figure(self, depths: Sequence[int] = (1, 3, 6), kernel_size: int = 3,
                      dilations: Sequence[int] = (1, 2)) -> Figure:
        """ERFs of random stacks: one row per dilation, one column per depth.

        Every panel is titled with the theoretical field and the ERF radius and shows the
        theoretical field as a dashed box. With ``trained_model``, a last row compares the
        untrained and trained maps of the whole model.

        Parameters
        ----------
        depths
            Depths of the columns.
        kernel_size
            Kernel size of every stack.
        dilations
            Dilations of the rows.
        """
        _check_choice(kernel_size, "kernel_size", ERF_KERNEL_SIZES)
        for d in depths:
            _check_int_range(d, "depths", 1, ERF_MAX_DEPTH)
        for d in dilations:
            _check_choice(d, "dilations", ERF_DILATIONS)
        rows = len(dilations) + (self._trained is not None)
        cols = max(len(depths), 3)
        fig, axes = plt.subplots(rows, cols, figsize=(2.9 * cols, 3.0 * rows), squeeze=False,
                                 layout="constrained")
        for ax_row, dil in zip(axes, dilations):
            for ax, depth in zip(ax_row, depths):
                s = self._state(depth, kernel_size, dil, "untrained")
                _erf_panels([ax], {
                    f"depth {depth}, dilation {dil}\nfield {s['field']}, radius {s['radius']:.1f}": s["erf"]},
                    s["box"], s["support_box"], profile=False)
            for ax in ax_row[len(depths):]:
                ax.axis("off")
        if self._trained is not None:
            s = self._state(self._trained_depth, 3, 1, "trained")
            maps = self._maps(s, "trained")
            ax_row = axes[-1]
            _erf_panels(list(ax_row[:len(maps) + 1]), maps, s["box"], s["support_box"])
            for ax in ax_row[len(maps) + 1:]:
                ax.axis("off")
        plt.close(fig)  # returned, not left open: the notebook shows it once
        return fig
