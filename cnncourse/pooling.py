"""Pooling from scratch, and what shifting an image does to convolution and pooling.

Pooling slides a window over each feature map, like a kernel, but replaces the sum of
products by a fixed summary of the window: its maximum (max pooling) or its mean (average
pooling). It has no weights to learn.

The second half of the module holds the shift experiments of lesson 7:

* :func:`shift` moves images by whole pixels, filling the uncovered border with zeros
  (no wrap-around);
* :func:`equivariance_gap` measures how far ``conv(shift(x))`` is from
  ``shift(conv(x))`` away from the borders (zero: convolution is equivariant);
* :func:`unchanged_fraction` counts the pooled outputs that a shift leaves unchanged
  (pooling gives only partial invariance).
"""

from __future__ import annotations

import torch

from cnncourse._checks import as_tensor as checked_tensor
from cnncourse._checks import check_choice, check_int, check_nonempty, check_pair, check_tolerance, describe
from cnncourse.filters import ArrayLike, as_tensor, correlate2d
from cnncourse.geometry import output_size
from cnncourse.shifts import shifted

__all__ = ["POOL_MODES", "pool2d", "max_pool2d", "avg_pool2d", "shift", "interior", "equivariance_gap",
           "unchanged_fraction"]

POOL_MODES: tuple[str, ...] = ("max", "avg")
"""Summaries a pooling window can take."""


def _check_rank(x: torch.Tensor, name: str = "x") -> None:
    if x.ndim not in (2, 3, 4):
        raise ValueError(
            f"{name} must have shape (H, W), (N, H, W) or (N, C, H, W), got {x.ndim} dimensions: "
            f"{describe(x)}"
        )


def pool2d(x: ArrayLike, window: int | tuple[int, int] = 2, stride: int | tuple[int, int] | None = None,
           mode: str = "max") -> torch.Tensor:
    """Max or average pooling over the last two axes, no padding.

    Output pixel ``(i, j)`` summarises the window whose top-left corner is
    ``(i * stride, j * stride)``. Like :func:`cnncourse.filters.correlate2d`, the code visits
    the ``window * window`` offsets inside the window and combines the shifted copies of
    the input, which computes every output position at once.

    Parameters
    ----------
    x
        ``(H, W)``, ``(N, H, W)`` or ``(N, C, H, W)``; every channel is pooled on its own.
    window
        Window size (int or ``(rows, cols)``), positive and not larger than the input.
    stride
        Step between windows; ``None`` (default) means ``window``: windows tile the
        input without overlap, as in ``torch.nn.MaxPool2d``.
    mode
        ``"max"`` or ``"avg"``.

    Returns
    -------
    torch.Tensor
        Same leading shape, spatial size ``floor((H - window) / stride) + 1`` by the
        same for ``W``; rows and columns that no complete window reaches are dropped.
    """
    check_choice(mode, "mode", POOL_MODES)
    t = as_tensor(x, "x")
    _check_rank(t)
    kh, kw = check_pair(window, "window", minimum=1)
    sh, sw = (kh, kw) if stride is None else check_pair(stride, "stride", minimum=1)
    H, W = t.shape[-2:]
    if kh > H or kw > W:
        raise ValueError(f"x is too small: window {kh}x{kw} is larger than the input {H}x{W}")
    out_h, out_w = output_size(H, kh, stride=sh), output_size(W, kw, stride=sw)
    result = None
    for a in range(kh):            # offset of the pixel inside the window ...
        for b in range(kw):
            # ... and that pixel for every window at once
            part = t[..., a:a + sh * (out_h - 1) + 1:sh, b:b + sw * (out_w - 1) + 1:sw]
            if result is None:
                result = part.clone()
            elif mode == "max":
                result = torch.maximum(result, part)
            else:
                result = result + part
    return result if mode == "max" else result / (kh * kw)


def max_pool2d(x: ArrayLike, window: int | tuple[int, int] = 2,
               stride: int | tuple[int, int] | None = None) -> torch.Tensor:
    """Max pooling: the largest value of each window (see :func:`pool2d`)."""
    return pool2d(x, window, stride, mode="max")


def avg_pool2d(x: ArrayLike, window: int | tuple[int, int] = 2,
               stride: int | tuple[int, int] | None = None) -> torch.Tensor:
    """Average pooling: the mean of each window (see :func:`pool2d`)."""
    return pool2d(x, window, stride, mode="avg")


# --------------------------------------------------------------------------- shifts
def shift(x: ArrayLike, dy: int, dx: int) -> torch.Tensor:
    """Move images ``dy`` pixels down and ``dx`` pixels right (negative: up / left).

    Pixels pushed over the border are lost and the uncovered strip is filled with zeros;
    nothing wraps around (unlike ``torch.roll``). Accepts arrays as well as tensors; see
    :func:`cnncourse.shifts.shift_images` for other fill values.
    """
    return shifted(as_tensor(x, "x"), dy, dx, name="x")


def interior(x: torch.Tensor, margin: int) -> torch.Tensor:
    """``x`` without a border of ``margin`` pixels on every side (last two axes).

    ``x`` is a tensor (a NumPy array or nested list is turned into one) with at least two
    dimensions.

    Raises
    ------
    TypeError
        For an ``x`` that is not an array of real numbers, or a ``margin`` that is not an int.
    ValueError
        For an ``x`` with fewer than 2 dimensions, or a ``margin`` that leaves nothing.
    """
    t = checked_tensor(x, "x")
    margin = check_int(margin, "margin", minimum=0)
    if t.ndim < 2:
        raise ValueError(f"x must have at least 2 dimensions (H, W), got {describe(t)}")
    H, W = t.shape[-2:]
    if 2 * margin >= min(H, W):
        raise ValueError(f"margin {margin} leaves nothing of x, whose last two axes are {H}x{W} "
                         f"(shape {tuple(t.shape)})")
    return t[..., margin:H - margin, margin:W - margin]


def equivariance_gap(x: ArrayLike, kernel: ArrayLike, dy: int, dx: int,
                     edge: str = "zero") -> float:
    """Largest ``|conv(shift(x)) - shift(conv(x))|`` away from the borders.

    Convolution is translation-equivariant: shifting the input shifts the output by the
    same amount. Near the borders the two sides differ (pixels fell off, zeros came in,
    the padding sees different values), so the comparison skips a margin of
    ``max(|dy|, |dx|) + k // 2`` pixels. Away from it the gap is exactly zero (up to
    floating-point rounding).

    Raises
    ------
    TypeError, ValueError
        As :func:`cnncourse.filters.correlate2d`, and a ``ValueError`` for an empty ``x`` or
        a shift so large (for this kernel) that no pixel is left to compare.
    """
    t = checked_tensor(x, "x", dtype="floating", numbers=True)
    _check_rank(t)
    check_nonempty(t, "x", axes=(-2, -1))
    w = checked_tensor(kernel, "kernel", dtype="floating", numbers=True)
    dy, dx = check_int(dy, "dy"), check_int(dx, "dx")
    a = correlate2d(shift(t, dy, dx), w, edge=edge)
    b = shift(correlate2d(t, w, edge=edge), dy, dx)
    margin = max(abs(dy), abs(dx)) + max(w.shape[-2:]) // 2
    if 2 * margin >= min(a.shape[-2:]):
        raise ValueError(f"the shift dy={dy}, dx={dx} and the {w.shape[-2]}x{w.shape[-1]} kernel leave "
                         f"nothing to compare of x of shape {tuple(t.shape)}: the margin max(|dy|, |dx|) "
                         f"+ k // 2 = {margin} must be less than half of its {a.shape[-2]}x{a.shape[-1]} "
                         "responses")
    return float((interior(a, margin) - interior(b, margin)).abs().max())


def unchanged_fraction(x: ArrayLike, dy: int, dx: int, window: int = 2, stride: int | None = None,
                       mode: str = "max", active_only: bool = True, atol: float = 0.0) -> float:
    """Fraction of pooled outputs that a shift of the input leaves unchanged.

    Compares ``pool(shift(x))`` with ``pool(x)`` at the same output positions.

    Parameters
    ----------
    x
        Images or feature maps, ``(H, W)``, ``(N, H, W)`` or ``(N, C, H, W)``.
    dy, dx
        The shift in pixels.
    window, stride, mode
        The pooling (see :func:`pool2d`).
    active_only
        Count only outputs that are non-zero before or after the shift. On MNIST most
        windows lie on the empty background, which no shift changes; counting them would
        flatter pooling.
    atol
        Tolerance for "unchanged" (0: exactly equal).

    With ``window=1`` there is no pooling: the result is the fraction of pixels a
    shift leaves unchanged, the baseline to compare pooling with.
    """
    t = checked_tensor(x, "x", dtype="floating", numbers=True)
    _check_rank(t)
    before = pool2d(t, window, stride, mode)
    after = pool2d(shift(t, dy, dx), window, stride, mode)
    same = (before - after).abs() <= check_tolerance(atol, "atol")
    if active_only:
        active = (before != 0) | (after != 0)
        if not bool(active.any()):
            raise ValueError(f"x ({describe(t)}) has no non-zero pooled output: nothing to compare with "
                             "active_only=True")
        return float(same[active].float().mean())
    return float(same.float().mean())
