"""Output-size arithmetic of sliding windows, exactly as PyTorch computes it.

One rule for every module that needs the size of a feature map: integer, ``"same"`` and
``"valid"`` padding, stride, dilation and ``ceil_mode`` (with PyTorch's rule that the last
window must start inside the input or the left padding). Source: the output-shape formulas
of ``torch.nn.Conv2d`` and ``torch.nn.MaxPool2d`` (``pooling_output_shape`` in ATen).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn

from cnncourse._checks import check_int, check_pair

__all__ = ["Geometry", "output_size", "padding_amounts", "layer_geometry", "output_shape",
           "min_input_size"]


def padding_amounts(kernel_size: int, dilation: int = 1, padding: int | str = 0) -> tuple[int, int]:
    """Padding ``(before, after)`` along one axis.

    ``"same"``: total ``dilation * (kernel_size - 1)``, ``before = total // 2`` and the rest
    after (PyTorch puts the extra pixel of an even total after); ``"valid"``: ``(0, 0)``;
    an integer ``p``: ``(p, p)``.
    """
    k = check_int(kernel_size, "kernel_size", minimum=1)
    d = check_int(dilation, "dilation", minimum=1)
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0)
        if padding == "same":
            total = d * (k - 1)
            return (total // 2, total - total // 2)
        raise ValueError(f"padding must be an integer, 'same' or 'valid', got {padding!r}")
    p = check_int(padding, "padding", minimum=0)
    return (p, p)


def _size(size: int, kernel: int, stride: int, before: int, after: int, dilation: int,
          ceil_mode: bool) -> int:
    span = size + before + after - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1  # floor division, as ATen
    if ceil_mode and (out - 1) * stride >= size + before:
        out -= 1
    return max(out, 0)


def output_size(size: int, kernel_size: int, stride: int = 1, padding: int | str = 0,
                dilation: int = 1, ceil_mode: bool = False) -> int:
    """Output length along one axis of a convolution or pooling window.

    Raises
    ------
    ValueError
        When the (padded) input is smaller than the dilated kernel.
    """
    n = check_int(size, "size", minimum=1)
    k = check_int(kernel_size, "kernel_size", minimum=1)
    s = check_int(stride, "stride", minimum=1)
    d = check_int(dilation, "dilation", minimum=1)
    before, after = padding_amounts(k, d, padding)
    out = _size(n, k, s, before, after, d, bool(ceil_mode))
    if out < 1:
        raise ValueError(f"size {n} is too small for kernel_size {k} with dilation {d} and "
                         f"padding {padding!r}: the window spans {d * (k - 1) + 1} pixels")
    return out


@dataclass(frozen=True)
class Geometry:
    """Window geometry of one layer, per axis ``(rows, columns)``."""

    kernel_size: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    padding: tuple[tuple[int, int], tuple[int, int]]
    ceil_mode: bool = False


def layer_geometry(layer: nn.Module) -> Geometry | None:
    """The window geometry of ``Conv2d``, ``MaxPool2d`` and ``AvgPool2d``; ``None`` for a
    layer that keeps the spatial geometry (activations, normalisation per position, dropout).

    Raises
    ------
    TypeError
        For a layer whose geometry this function does not know, naming it.
    """
    if isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
        name = type(layer).__name__
        k = check_pair(layer.kernel_size, f"{name}.kernel_size", minimum=1)
        stride = layer.stride
        if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
            stride = layer.kernel_size  # pooling: the stride defaults to the window
        s = check_pair(stride, f"{name}.stride", minimum=1)
        d = (1, 1) if isinstance(layer, nn.AvgPool2d) else check_pair(layer.dilation, f"{name}.dilation", minimum=1)
        if isinstance(layer.padding, str):
            pad = tuple(padding_amounts(k[a], d[a], layer.padding) for a in (0, 1))
        else:
            p = check_pair(layer.padding, f"{name}.padding", minimum=0)
            pad = ((p[0], p[0]), (p[1], p[1]))
        return Geometry(k, s, d, pad, bool(getattr(layer, "ceil_mode", False)))
    if isinstance(layer, _KEEP):
        return None
    raise TypeError(f"layer_geometry does not know the layer {type(layer).__name__}: only Conv2d, "
                    "MaxPool2d, AvgPool2d and layers that act on each position separately")


_KEEP: tuple[type[nn.Module], ...] = (
    nn.Identity, nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU,
    nn.SiLU, nn.Mish, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.Hardtanh, nn.Hardswish,
    nn.Hardsigmoid, nn.Softsign, nn.Tanhshrink, nn.Dropout, nn.Dropout2d, nn.AlphaDropout,
    nn.BatchNorm2d,
)


def output_shape(geometry: Geometry, input_size: tuple[int, int]) -> tuple[int, int]:
    """``(height, width)`` of the output of a layer with ``geometry`` on ``input_size``.

    Raises
    ------
    ValueError
        When the input is too small for the window along an axis.
    """
    size = check_pair(input_size, "input_size", minimum=1)
    out = []
    for a in (0, 1):
        before, after = geometry.padding[a]
        n = _size(size[a], geometry.kernel_size[a], geometry.stride[a], before, after,
                  geometry.dilation[a], geometry.ceil_mode)
        if n < 1:
            raise ValueError(f"input_size {size} is too small: along axis {a} the window spans "
                             f"{geometry.dilation[a] * (geometry.kernel_size[a] - 1) + 1} pixels "
                             f"with padding {geometry.padding[a]}")
        out.append(n)
    return (out[0], out[1])


def min_input_size(geometries: Sequence[Geometry]) -> tuple[int, int]:
    """Smallest ``(height, width)`` that every layer of the chain accepts, in order."""
    result = []
    for a in (0, 1):
        n = 1
        while True:
            m = n
            for g in geometries:
                m = _size(m, g.kernel_size[a], g.stride[a], *g.padding[a], g.dilation[a], g.ceil_mode)
                if m < 1:
                    break
            if m >= 1:
                break
            n += 1
        result.append(n)
    return (result[0], result[1])
