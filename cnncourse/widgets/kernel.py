"""The kernel explorer: slide a 3x3 kernel over an image and read one sum of products."""

from __future__ import annotations

from collections.abc import Sequence

import anywidget
import matplotlib.pyplot as plt
import numpy as np
import torch
import traitlets
from matplotlib.figure import Figure

from cnncourse._checks import check_choice, check_int
from cnncourse.filters import EDGE_MODES, as_tensor, correlate2d, pad
from cnncourse.plots._layout import MAX_WIDTH, MIN_FONT
from cnncourse.widgets._shared import (
    CUSTOM,
    esm,
    image_choices,
    named_kernels,
    state_image,
)
from cnncourse.widgets._static import kernel_panels

__all__ = ["KernelExplorer"]


class KernelExplorer(anywidget.AnyWidget):
    """Slide a 3x3 kernel over an image and read one sum of products (lesson 5).

    An anywidget: the browser computes and draws everything from the widget state
    (``kernel.js``), so the explorer reacts to its controls in JupyterLab and on the
    published static page alike. The browser computes exactly
    :func:`cnncourse.filters.correlate2d`; the Python attributes below compute the same values
    with :mod:`cnncourse.filters` (tests compare the two).

    State (traitlets, synced with the browser): ``image`` (the name of the image shown),
    ``kernel`` (the nine weights, row-major), ``edge`` (``"zero"``, ``"crop"`` or
    ``"extend"``), ``row`` and ``col`` (the highlighted output position), and the offered
    ``images`` (name -> ``{"rows", "cols", "data"}``) and ``kernels`` (name -> nine weights).

    Results (read-only attributes, from the current state): ``image`` tensor
    (:attr:`image_tensor`), ``output`` (``correlate2d(image, kernel, edge)``, float64),
    ``padded`` (what the kernel slides over), ``position`` (``(row, col)`` kept inside the
    output), ``patch`` and ``products`` (the highlighted window and its products with the
    kernel), ``value`` (their sum, equal to ``output[position]``) and ``kernel_name``.

    Parameters
    ----------
    image
        A name of ``cnncourse.widgets.IMAGE_NAMES`` or your own 2-D array (at least 3x3).
    kernel
        A name of :func:`~cnncourse.widgets.named_kernels` or a 3x3 array of weights.
    edge
        ``"zero"``, ``"crop"`` or ``"extend"`` (see :func:`cnncourse.filters.pad`).
    row, col
        Highlighted output position; default: the middle of the output.
    digit_index
        Which MNIST test digit ``"digit"`` means.
    photo_size
        Side to which photographs are downsampled (8-128).

    Raises
    ------
    ValueError
        For an unknown image, kernel or edge mode, a kernel that is not 3x3, or a position
        outside the output.
    """

    _esm = esm("kernel.js")
    images = traitlets.Dict().tag(sync=True)
    kernels = traitlets.Dict().tag(sync=True)
    image = traitlets.Unicode().tag(sync=True)
    kernel = traitlets.List(traitlets.Float(), minlen=9, maxlen=9).tag(sync=True)
    edge = traitlets.Unicode().tag(sync=True)
    row = traitlets.Int().tag(sync=True)
    col = traitlets.Int().tag(sync=True)

    def __init__(self, image: str | np.ndarray | torch.Tensor = "digit",
                 kernel: str | np.ndarray | torch.Tensor = "sobel x", edge: str = "zero",
                 row: int | None = None, col: int | None = None, digit_index: int = 0,
                 photo_size: int = 48) -> None:
        kernels = named_kernels()
        images, first, self._own = image_choices(image, digit_index, photo_size)
        if isinstance(kernel, str):
            check_choice(kernel, "kernel", tuple(kernels))
            weights = kernels[kernel]
        else:
            try:
                weights = as_tensor(kernel, "kernel").double().numpy()
            except TypeError as exc:
                raise TypeError(f"kernel must be one of {tuple(kernels)} or a 3x3 array, "
                                 f"got {kernel!r:.60}") from exc
            if weights.shape != (3, 3):
                raise ValueError(f"kernel must be a 3x3 array of weights (or one of {tuple(kernels)}), "
                                 f"got shape {weights.shape}")
        check_choice(edge, "edge", EDGE_MODES)
        shape = (images[first]["rows"], images[first]["cols"])
        out = (shape[0] - 2, shape[1] - 2) if edge == "crop" else shape
        row, col = ((n - 1) // 2 if value is None else check_int(value, name, minimum=0, maximum=n - 1)
                    for name, value, n in (("row", row, out[0]), ("col", col, out[1])))
        super().__init__(images=images, kernels={k: v.ravel().tolist() for k, v in kernels.items()},
                         image=first, kernel=[float(w) for w in np.ravel(weights)], edge=edge,
                         row=row, col=col)

    # ---- reference values, computed with cnncourse.filters from the current state
    @property
    def image_tensor(self) -> torch.Tensor:
        """The image shown, ``(H, W)`` (the reader's own one as passed)."""
        return state_image(self.images, self.image, self._own)

    @property
    def weights(self) -> np.ndarray:
        """The 3x3 kernel (float64)."""
        return np.asarray(self.kernel, dtype=np.float64).reshape(3, 3)

    @property
    def kernel_name(self) -> str:
        """The name of the kernel if it equals a named one (to 1e-6), else ``"custom"``."""
        return next((n for n, w in self.kernels.items()
                     if np.allclose(np.reshape(w, (3, 3)), self.weights, rtol=0, atol=1e-6)), CUSTOM)

    @property
    def output(self) -> torch.Tensor:
        """``correlate2d(image, kernel, edge)`` in float64."""
        return correlate2d(self.image_tensor.double(), torch.from_numpy(self.weights), edge=self.edge)

    @property
    def padded(self) -> torch.Tensor:
        """The image with the border the edge mode adds (none for ``"crop"``)."""
        return pad(self.image_tensor.double(), 0 if self.edge == "crop" else 1, self.edge)

    @property
    def position(self) -> tuple[int, int]:
        """The highlighted output position, kept inside the output as the browser keeps it."""
        h, w = self.output.shape
        return min(max(self.row, 0), h - 1), min(max(self.col, 0), w - 1)

    @property
    def patch(self) -> np.ndarray:
        """The 3x3 window of :attr:`padded` under the kernel at :attr:`position`."""
        r, c = self.position
        return self.padded[r:r + 3, c:c + 3].numpy()

    @property
    def products(self) -> np.ndarray:
        """``patch * kernel``, element by element."""
        return self.patch * self.weights

    @property
    def value(self) -> float:
        """The sum of :attr:`products`: ``output[position]``."""
        return float(self.products.sum())

    # ---- the static page
    def static_figure(self, settings: Sequence[tuple[str, str]] = (("sobel x", "zero"),
                                                                   ("laplacian", "crop"),
                                                                   ("box blur", "extend"))) -> Figure:
        """The current image under a few kernels and edge modes, one column each.

        Each column is what the explorer draws for ``(kernel name, edge mode)`` at the current
        position (kept inside the output), from top to bottom: the input with its border and
        the window, the window's numbers, the kernel, the products with their sum, and the
        output. Three columns fill the book's text column.

        Parameters
        ----------
        settings
            ``(kernel name, edge mode)`` pairs, one per column.
        """
        fig, axes = plt.subplots(5, len(settings), figsize=(min(MAX_WIDTH, 1.8 * len(settings)), 9.5),
                                 squeeze=False, gridspec_kw={"height_ratios": [2, 1.4, 1.4, 1.4, 2]},
                                 layout="constrained")
        img = self.image_tensor.double()
        kernels = named_kernels()
        for ax_row, (name, edge) in zip(axes.T, settings):
            check_choice(name, "kernel", tuple(kernels))
            check_choice(edge, "edge", EDGE_MODES)
            k = kernels[name]
            out = correlate2d(img, torch.from_numpy(k), edge=edge).numpy()
            off = 0 if edge == "crop" else 1
            padded = pad(img, off, edge).numpy()
            r = min(self.row, out.shape[0] - 1)
            c = min(self.col, out.shape[1] - 1)
            kernel_panels(ax_row, padded, off, tuple(img.shape), k, out, r, c, edge)
            ax_row[0].set_title(f"{name}\n{ax_row[0].get_title()}", fontsize=MIN_FONT)
        plt.close(fig)  # returned, not left open: the notebook shows it once
        return fig
