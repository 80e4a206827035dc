"""The pooling explorer: any window, stride and mode, and what a 1-pixel shift changes."""

from __future__ import annotations

from collections.abc import Sequence

import anywidget
import matplotlib.pyplot as plt
import numpy as np
import torch
import traitlets
from matplotlib.figure import Figure

from cnncourse._checks import check_choice, check_int
from cnncourse.plots._layout import MAX_WIDTH
from cnncourse.pooling import POOL_MODES, pool2d, shift
from cnncourse.widgets._shared import esm, image_choices, state_image
from cnncourse.widgets._static import POOL_DIRECTIONS, pooling_panels

__all__ = ["PoolingExplorer"]


def _pool_state(image: torch.Tensor, window: int, stride: int, mode: str, direction: str,
                shifted: bool) -> dict:
    dy, dx = POOL_DIRECTIONS[direction]
    moved = shift(image, dy, dx)
    before = pool2d(image, window, stride, mode)
    after = pool2d(moved, window, stride, mode)
    return {"shown": moved if shifted else image, "pooled": after if shifted else before,
            "changed": (before != after).numpy(), "active": (before != 0) | (after != 0)}


class PoolingExplorer(anywidget.AnyWidget):
    """Pool an image with any window, stride and mode, and see what a 1-pixel shift changes.

    An anywidget whose browser side (``pooling.js``) computes exactly
    :func:`cnncourse.pooling.pool2d` and :func:`cnncourse.pooling.shift`, so it reacts to its
    controls in JupyterLab and on the published static page alike.

    State (traitlets, synced with the browser): ``image`` (name), ``window`` and ``stride``
    (1-6), ``mode`` (``"max"``/``"avg"``), ``shifted`` (show the shifted input and its
    pooled map), ``direction`` (``"right"``, ``"down"``, ``"down-right"``) and the offered
    ``images``.

    Results (read-only attributes, computed with :mod:`cnncourse.pooling`): ``image_tensor``,
    ``shown`` (the image, shifted when ``shifted``), ``pooled`` (``pool2d(shown, window,
    stride, mode)``), ``changed`` (boolean map: where pooling the shifted image differs from
    pooling the original), ``n_changed``, ``n_outputs`` and ``n_active`` (outputs that are
    non-zero before or after the shift).

    Parameters
    ----------
    image
        A name of ``cnncourse.widgets.IMAGE_NAMES`` or your own 2-D array.
    window, stride
        Pooling window and stride, 1 to 6 (the window at most the image size).
    mode
        ``"max"`` or ``"avg"``.
    shifted
        Start with the shifted image shown.
    direction
        ``"right"``, ``"down"`` or ``"down-right"``: the 1-pixel shift.
    digit_index, photo_size
        As for :class:`~cnncourse.widgets.KernelExplorer`.

    Raises
    ------
    ValueError
        For an unknown image, mode or direction, or a window or stride out of range.
    """

    _esm = esm("pooling.js")
    images = traitlets.Dict().tag(sync=True)
    image = traitlets.Unicode().tag(sync=True)
    window = traitlets.Int().tag(sync=True)
    stride = traitlets.Int().tag(sync=True)
    mode = traitlets.Unicode().tag(sync=True)
    shifted = traitlets.Bool().tag(sync=True)
    direction = traitlets.Unicode().tag(sync=True)

    def __init__(self, image: str | np.ndarray | torch.Tensor = "digit", window: int = 2,
                 stride: int = 2, mode: str = "max", shifted: bool = False, direction: str = "right",
                 digit_index: int = 0, photo_size: int = 48) -> None:
        images, first, self._own = image_choices(image, digit_index, photo_size)
        window = check_int(window, "window", minimum=1, maximum=6)
        stride = check_int(stride, "stride", minimum=1, maximum=6)
        check_choice(mode, "mode", POOL_MODES)
        check_choice(direction, "direction", tuple(POOL_DIRECTIONS))
        if not isinstance(shifted, bool):
            raise TypeError(f"shifted must be True or False, got {shifted!r}")
        side = min(images[first]["rows"], images[first]["cols"])
        if window > side:
            raise ValueError(f"window must be at most the image size {side}, got {window}")
        super().__init__(images=images, image=first, window=window, stride=stride, mode=mode,
                         shifted=shifted, direction=direction)

    @property
    def image_tensor(self) -> torch.Tensor:
        """The image selected, ``(H, W)`` (the reader's own one as passed)."""
        return state_image(self.images, self.image, self._own)

    def _state(self) -> dict:
        img = self.image_tensor
        window = min(self.window, *img.shape)  # as the browser does for a small image
        return _pool_state(img, window, self.stride, self.mode, self.direction, self.shifted)

    @property
    def shown(self) -> torch.Tensor:
        """The input the pooled map is computed from (shifted when ``shifted``)."""
        return self._state()["shown"]

    @property
    def pooled(self) -> torch.Tensor:
        """``pool2d(shown, window, stride, mode)``."""
        return self._state()["pooled"]

    @property
    def changed(self) -> np.ndarray:
        """Boolean map of the pooled outputs that the 1-pixel shift changes."""
        return self._state()["changed"]

    @property
    def n_changed(self) -> int:
        """How many pooled outputs the shift changes."""
        return int(self.changed.sum())

    @property
    def n_outputs(self) -> int:
        """How many pooled outputs there are."""
        return int(self.changed.size)

    @property
    def n_active(self) -> int:
        """Pooled outputs that are non-zero before or after the shift."""
        return int(self._state()["active"].sum())

    def static_figure(self, windows: Sequence[int] = (1, 2, 4)) -> Figure:
        """Max pooling of the current image with a few windows (stride = window), one column each.

        Each column shows the input, its pooled map and the outputs that a 1-pixel shift in the
        current direction changes; window 1 (no pooling) is the baseline. Three columns fill the
        book's text column.

        Parameters
        ----------
        windows
            Window sizes (= strides), one per column.
        """
        fig, axes = plt.subplots(3, len(windows), figsize=(min(MAX_WIDTH, 1.8 * len(windows)), 6.6),
                                 squeeze=False, layout="constrained")
        for ax_row, w in zip(axes.T, windows):
            w = check_int(w, "window", minimum=1, maximum=6)
            s = _pool_state(self.image_tensor, w, w, "max", self.direction, False)
            pooling_panels(ax_row, s["shown"].numpy(), s["pooled"].numpy(), s["changed"], w, w,
                            "max", "input")
        plt.close(fig)  # returned, not left open: the notebook shows it once
        return fig
