"""Sliding windows (convolutions and poolings), the heart of both computations: the settings
read from a layer (:func:`window_attrs`), the step of the recurrence of size, jump and centre
(:func:`apply_window`) and the window sum of the all-ones counting copy (:func:`count_window`)."""

from __future__ import annotations

import warnings
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn

from cnncourse._checks import check_pair
from cnncourse.geometry import Geometry, kernel_span, layer_geometry, output_shape
from cnncourse.receptive_field._field import Field
from cnncourse.receptive_field.errors import ReceptiveFieldError

__all__ = ["window_attrs", "count_window", "apply_window"]


def window_attrs(layer: nn.Module, module: nn.Module | None = None) -> dict:
    settings = {"kernel_size": layer.kernel_size, "stride": layer.stride, "padding": layer.padding,
                "dilation": getattr(layer, "dilation", 1), "ceil_mode": getattr(layer, "ceil_mode", False),
                "padding_mode": getattr(layer, "padding_mode", "zeros")}
    if isinstance(layer, nn.Conv2d) and settings["padding_mode"] != "zeros":
        settings["reversed_padding"] = layer._reversed_padding_repeated_twice
    return {"geometry": layer_geometry(layer), "conv": isinstance(layer, nn.Conv2d), "window": settings,
            "module": module}


def _window_sum(x: torch.Tensor, dim: int, kernel: int, stride: int, dilation: int) -> torch.Tensor:
    """Sum of the ``kernel`` taps ``dilation`` apart, windows ``stride`` apart, along ``dim``.

    Python's slicing counts the windows (every start whose last tap is inside ``x``), so no
    output-size formula is involved; exact in float64 and much faster than a float64 conv2d.
    """
    if kernel == 1 and stride == 1:
        return x
    length = x.shape[dim] - kernel_span(kernel, dilation) + 1  # the positions where a window can start
    if length < 1:
        raise ValueError(f"a window of {kernel_span(kernel, dilation)} pixels does not fit a map of {x.shape[dim]}")
    total = None
    for t in range(kernel):
        part = x.narrow(dim, t * dilation, length)
        part = part[..., ::stride, :] if dim == -2 else part[..., ::stride]
        total = part if total is None else total + part
    return total


def count_window(op, x: torch.Tensor) -> torch.Tensor:
    """The window of ``op`` (a window rule's node) in the all-ones copy: a sum over the window."""
    w = op.window
    if op.conv:  # every weight 1, one channel: sum the channels, then a window sum
        x = x.sum(dim=-3, keepdim=True)
        padding = w["padding"]
        if "reversed_padding" in w:
            x = F.pad(x, w["reversed_padding"], mode=w["padding_mode"])
            padding = 0
        kernel = check_pair(w["kernel_size"], "kernel_size")
        stride = check_pair(w["stride"], "stride")
        dilation = check_pair(w["dilation"], "dilation")
        if isinstance(padding, str) and padding != "valid":  # "same": PyTorch's own padding rule
            ones = torch.ones(1, 1, *kernel, dtype=x.dtype, device=x.device)
            with warnings.catch_warnings():  # even kernels: PyTorch warns it pads a copy
                warnings.filterwarnings("ignore", message="Using padding='same'")
                return F.conv2d(x, ones, None, stride, padding, dilation)
        pad = (0, 0) if isinstance(padding, str) else check_pair(padding, "padding")
        if kernel == (1, 1) and stride == (1, 1) and pad == (0, 0):
            return x
        x = F.pad(x, (pad[1], pad[1], pad[0], pad[0])) if any(pad) else x
        if dilation == (1, 1):  # a window sum: PyTorch's pooling kernel, fast in float64
            return F.avg_pool2d(x, kernel, stride, 0, False, True, 1)
        return _window_sum(_window_sum(x, -2, kernel[0], stride[0], dilation[0]),
                           -1, kernel[1], stride[1], dilation[1])
    g = op.geometry
    if g.dilation == (1, 1):  # a window *sum* with PyTorch's own pooling geometry (ceil_mode too)
        return F.avg_pool2d(x, w["kernel_size"], w["stride"], w["padding"], w["ceil_mode"],
                            count_include_pad=True, divisor_override=1)
    # dilated max pooling: a dilated window sum per channel, padded to PyTorch's output size
    out = output_shape(g, tuple(x.shape[-2:]))
    pads = []
    for a in (1, 0):
        before = g.padding[a][0]
        span = (out[a] - 1) * g.stride[a] + g.span[a]
        pads += [before, max(span - x.shape[-2 + a] - before, 0)]
    c = x.shape[-3]
    ones = torch.ones(c, 1, *g.kernel_size, dtype=x.dtype, device=x.device)
    return F.conv2d(F.pad(x, pads), ones, None, g.stride, 0, g.dilation, groups=c)


def apply_window(f: Field, g: Geometry, where: str, input_size) -> Field:
    """Slide the window of geometry ``g`` over the rows and columns of ``f``: the recurrence."""
    if set(f.dims) != {-2, -1}:
        raise ReceptiveFieldError(f"{where} slides over the last two axes, but the feature map's rows and "
                                  f"columns are at axes {f.dims} (after a permute)")
    order = (0, 1) if f.dims == (-2, -1) else (1, 0)  # state axis a <-> the layer's axis order[a]
    size, jump, start = list(f.size), list(f.jump), list(f.start)
    for a in (0, 1):
        b = order[a]
        k = g.span[b]
        size[a] = size[a] + (k - 1) * jump[a]
        start[a] = start[a] + ((k - 1) / 2 - g.padding[b][0]) * jump[a]
        jump[a] = jump[a] * g.stride[b]
    shape = f.shape
    layer_in = out = None
    if shape is not None:
        layer_in = shape if order == (0, 1) else shape[::-1]
        try:
            out = output_shape(g, layer_in)
        except ValueError as exc:
            raise ReceptiveFieldError(f"input_size {input_size} is too small: {where} gets a "
                                      f"{shape[0]}x{shape[1]} map ({exc})") from None
        shape = out if order == (0, 1) else out[::-1]
    gaps = f.gaps or _skips(g, where, layer_in, out)
    return replace(f, size=tuple(size), jump=tuple(jump), start=tuple(start), shape=shape, gaps=gaps)


def _skips(g: Geometry, where: str, layer_in: tuple[int, int] | None, out: tuple[int, int] | None) -> str:
    """Why the windows of ``g`` may leave positions of their input map unread ("" if they read all).

    Without the map's size only the taps are known: ``kernel_size`` taps ``dilation`` apart,
    windows ``stride`` apart, read every position only if the taps meet every remainder modulo
    the stride (a 1x1 window of stride 2 reads every other one). With the size, every window is
    laid out, so the positions after the last window (and any hole) are found too. An input pixel
    whose every path goes through unread positions reaches no unit after this window: a unit that
    mixes all positions later (global pooling, flatten) does not see the whole input. Whether the
    fields of the positions read still cover such a pixel is not followed, so the answer is "may".
    """
    for a, axis in ((0, "rows"), (1, "columns")):
        k, s, d, (before, _), _ = g.axis(a)
        if layer_in is None:
            if len({(t * d) % s for t in range(k)}) < s:
                return (f"{where} reads only some of the {axis} of its input (stride {s}, "
                        f"{_taps(k, d)})")
            continue
        read = {i * s - before + t * d for i in range(out[a]) for t in range(k)}
        unread = layer_in[a] - len(read.intersection(range(layer_in[a])))
        if unread:
            return (f"{where} leaves {unread} of the {layer_in[a]} {axis} of its input unread (stride {s}, "
                    f"{_taps(k, d)})")
    return ""


def _taps(k: int, d: int) -> str:
    return f"a window of {k}" if d == 1 else f"{k} taps {d} apart"
