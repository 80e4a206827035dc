"""The size arithmetic of sliding windows (convolution and pooling), written once.

Along one axis, a window of ``kernel_size`` taps spaced ``dilation`` apart spans
``dilation * (kernel_size - 1) + 1`` pixels; on an input of ``size`` pixels padded with
``before`` and ``after`` pixels, moved ``stride`` pixels at a time, it fits

``floor((size + before + after - dilation * (kernel_size - 1) - 1) / stride) + 1``

times. This is exactly the rule of PyTorch's ``Conv2d``, ``MaxPool2d`` and ``AvgPool2d``
(``torch.nn`` documentation, "Shape"; ``pooling_output_shape`` in ATen), including

* ``padding="valid"`` (no padding) and ``padding="same"`` (``dilation * (kernel_size - 1)``
  pixels in all, ``total // 2`` before and the rest after, so an even kernel pads one more
  pixel after than before; PyTorch allows it only at stride 1);
* ``ceil_mode=True`` (pooling): the division rounds up, but a last window that would start
  beyond the input and its left padding is dropped.

:func:`layer_geometry` reads these settings from a layer as PyTorch stores them, and
:func:`min_input_size` gives the smallest input a chain of layers accepts. The property
tests in ``tests/test_geometry.py`` check every function against real PyTorch layers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from torch import nn

from cnncourse._checks import check_choice, check_int, check_pair, describe

__all__ = ["kernel_span", "Geometry", "output_size", "padding_amounts", "layer_geometry", "output_shape",
           "min_input_size"]



def kernel_span(kernel_size: int, dilation: int = 1) -> int:
    """Pixels a window of ``kernel_size`` taps spaced ``dilation`` apart spans along one axis:
    ``dilation * (kernel_size - 1) + 1`` (the effective kernel of a dilated convolution).

    Examples
    --------
    >>> kernel_span(3), kernel_span(3, dilation=2)
    (3, 5)
    """
    return check_int(dilation, "dilation", minimum=1) * (check_int(kernel_size, "kernel_size", minimum=1) - 1) + 1


def padding_amounts(kernel_size: int, dilation: int = 1, padding: int | str | tuple[int, int] = 0
                    ) -> tuple[int, int]:
    """Pixels of padding ``(before, after)`` along one axis, as PyTorch applies them.

    Parameters
    ----------
    kernel_size, dilation
        The window's taps and their spacing along the axis (positive ints).
    padding
        An int (the same on both sides), ``"valid"`` (none), ``"same"`` (``total =
        dilation * (kernel_size - 1)``, ``before = total // 2``, ``after = total - before``,
        as ``torch.nn.Conv2d`` does) or an explicit pair ``(before, after)``.

    Raises
    ------
    TypeError
        For a padding that is not an int, a string or a pair of ints.
    ValueError
        For a negative padding or an unknown string.
    """
    kernel_size = check_int(kernel_size, "kernel_size", minimum=1)
    dilation = check_int(dilation, "dilation", minimum=1)
    return _padding_amounts(kernel_size, dilation, padding, "padding")


def _padding_amounts(kernel_size: int, dilation: int, padding: object, name: str) -> tuple[int, int]:
    if isinstance(padding, str):
        check_choice(padding, name, ("same", "valid"))
        if padding == "valid":
            return 0, 0
        total = dilation * (kernel_size - 1)
        return total // 2, total - total // 2
    if isinstance(padding, (tuple, list)):
        before, after = check_pair(padding, name, minimum=0)
        return before, after
    p = check_int(padding, name, minimum=0)
    return p, p


def _fits(size: int, kernel_size: int, stride: int, before: int, after: int, dilation: int,
          ceil_mode: bool) -> int:
    """The number of window positions, possibly < 1 (no check)."""
    span = size + before + after - kernel_span(kernel_size, dilation)  # may be < 0 (then n < 1 ...
    n = (span + (stride - 1 if ceil_mode else 0)) // stride + 1       # ... unless ceil_mode rounds up)
    if ceil_mode and (n - 1) * stride >= size + before:  # the last window must start inside
        n -= 1
    return n


def output_size(size: int, kernel_size: int, padding: int | str | tuple[int, int] = 0, stride: int = 1,
                dilation: int = 1, ceil_mode: bool = False) -> int:
    """Length of the output of a convolution or pooling window along one axis.

    The arguments come in the order of the formula ``floor((n + 2p - k) / s) + 1`` that the
    lessons write (size, kernel, padding, stride): the kernel fits ``n + 2p - k + 1`` times
    along a padded axis of length ``n + 2p``, and with stride ``s`` only every ``s``-th of
    those positions is kept, counting the first.

    ``floor((size + before + after - dilation * (kernel_size - 1) - 1) / stride) + 1``, with
    ``ceil`` instead of ``floor`` under ``ceil_mode`` (and one position fewer when the last
    window would start past the input and its left padding), as PyTorch computes it.

    Parameters
    ----------
    size
        Input length (pixels), positive.
    kernel_size
        Taps of the window, positive.
    padding
        Int (each side), ``"same"``, ``"valid"`` or a pair ``(before, after)``; see
        :func:`cnncourse.geometry.padding_amounts`. ``"same"`` needs ``stride == 1``, as in PyTorch.
    stride
        Step between window positions (pixels), positive.
    dilation
        Spacing between taps, positive (1: adjacent pixels).
    ceil_mode
        Round the number of positions up (pooling layers' ``ceil_mode``).

    Returns
    -------
    int
        Output length, at least 1.

    Raises
    ------
    TypeError
        For a non-integer size, kernel size, stride or dilation, or a bad padding type.
    ValueError
        For an out-of-range argument, ``"same"`` with a stride other than 1, or an input too
        small for the window (the message gives the smallest size that fits).

    Examples
    --------
    >>> output_size(28, 3)
    26
    >>> output_size(28, 3, padding="same")
    28
    >>> output_size(28, 5, 2, 2)  # padding 2, stride 2
    14
    >>> output_size(7, 2, stride=2, ceil_mode=True)
    4
    """
    return checked_output_size(size, kernel_size, padding, stride, dilation, ceil_mode)


def checked_output_size(size: int, kernel_size: int, padding: int | str | tuple[int, int] = 0,
                        stride: int = 1, dilation: int = 1, ceil_mode: bool = False, *,
                        names: Mapping[str, str] | None = None) -> int:
    """:func:`output_size`, for a caller whose own parameters carry these values under other
    names: ``names`` maps ``"size"``, ``"kernel_size"``, ``"padding"``, ``"stride"`` and
    ``"dilation"`` to the caller's names (e.g. ``{"size": "n", "kernel_size": "k"}``), so
    that the message names the argument the caller wrote. The one place that checks a
    window's arguments and refuses an input too small for it."""
    name = {"size": "size", "kernel_size": "kernel_size", "padding": "padding", "stride": "stride",
            "dilation": "dilation", **(names or {})}
    size = check_int(size, name["size"], minimum=1)
    kernel_size = check_int(kernel_size, name["kernel_size"], minimum=1)
    stride = check_int(stride, name["stride"], minimum=1)
    dilation = check_int(dilation, name["dilation"], minimum=1)
    if padding == "same" and stride != 1:
        raise ValueError(f"{name['padding']}='same' needs {name['stride']} 1 (as in PyTorch), got "
                         f"{name['stride']} {stride}")
    before, after = _padding_amounts(kernel_size, dilation, padding, name["padding"])
    n = _fits(size, kernel_size, stride, before, after, dilation, bool(ceil_mode))
    if n < 1:
        span = kernel_span(kernel_size, dilation)
        raise ValueError(
            f"{name['size']} {size} is too small for a window of {name['kernel_size']} {kernel_size} "
            f"with {name['dilation']} {dilation} (it spans {span} pixels) and {name['padding']} "
            f"{before}+{after}: the smallest {name['size']} that fits is {max(span - before - after, 1)}")
    return n


@dataclass(frozen=True)
class Geometry:
    """The spatial settings of one sliding-window layer, per axis ``(rows, cols)``.

    Attributes
    ----------
    kernel_size, stride, dilation
        Pairs of positive ints.
    padding
        ``((top, bottom), (left, right))``: pixels added before and after along each axis.
    ceil_mode
        Pooling's rounding up of the number of positions.
    """

    kernel_size: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    padding: tuple[tuple[int, int], tuple[int, int]]
    ceil_mode: bool = False

    @property
    def span(self) -> tuple[int, int]:
        """Pixels the window spans per axis, ``dilation * (kernel_size - 1) + 1``."""
        return kernel_span(self.kernel_size[0], self.dilation[0]), kernel_span(self.kernel_size[1], self.dilation[1])

    def axis(self, i: int) -> tuple[int, int, int, tuple[int, int], bool]:
        """``(kernel_size, stride, dilation, (before, after), ceil_mode)`` along axis ``i``."""
        return self.kernel_size[i], self.stride[i], self.dilation[i], self.padding[i], self.ceil_mode


# Layers that keep height and width as they are: element-wise functions and normalisations.
_NEUTRAL = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU,
            nn.Mish, nn.Sigmoid, nn.Tanh, nn.Hardtanh, nn.Hardswish, nn.Hardsigmoid, nn.Softplus,
            nn.Softsign, nn.Tanhshrink, nn.Softshrink, nn.Hardshrink, nn.Threshold, nn.LogSigmoid,
            nn.Softmax2d, nn.Identity, nn.Dropout, nn.Dropout2d, nn.AlphaDropout, nn.FeatureAlphaDropout,
            nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm, nn.GroupNorm,
            nn.LocalResponseNorm)


def layer_geometry(layer: nn.Module) -> Geometry | None:
    """The :class:`Geometry` of a ``Conv2d``, ``MaxPool2d`` or ``AvgPool2d`` layer.

    The settings are read as PyTorch stores them (an int or a pair; a pooling ``stride`` of
    ``None`` means the kernel size; ``padding="same"`` resolved by :func:`cnncourse.geometry.padding_amounts`).

    Returns
    -------
    Geometry or None
        ``None`` for a layer that keeps the height and width (activations, batch and group
        normalisation, dropout, ``Identity``).

    Raises
    ------
    TypeError
        For anything else (``Linear``, ``Flatten``, adaptive pooling, transposed
        convolutions, containers ...), naming the layer's type.
    """
    if isinstance(layer, nn.Conv2d):
        k = check_pair(layer.kernel_size, "kernel_size", minimum=1)
        s = check_pair(layer.stride, "stride", minimum=1)
        d = check_pair(layer.dilation, "dilation", minimum=1)
        if isinstance(layer.padding, str):
            pad = (padding_amounts(k[0], d[0], layer.padding), padding_amounts(k[1], d[1], layer.padding))
        else:
            ph, pw = check_pair(layer.padding, "padding", minimum=0)
            pad = ((ph, ph), (pw, pw))
        return Geometry(k, s, d, pad, False)
    if isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d)):
        k = check_pair(layer.kernel_size, "kernel_size", minimum=1)
        s = check_pair(layer.stride if layer.stride is not None else layer.kernel_size, "stride", minimum=1)
        d = check_pair(getattr(layer, "dilation", 1), "dilation", minimum=1)
        ph, pw = check_pair(layer.padding, "padding", minimum=0)
        return Geometry(k, s, d, ((ph, ph), (pw, pw)), bool(layer.ceil_mode))
    if not isinstance(layer, _NEUTRAL):
        raise TypeError(f"layer_geometry handles Conv2d, MaxPool2d, AvgPool2d and layers that keep the "
                        f"height and width, got {type(layer).__name__}")
    return None


def _windows(layers: Geometry | nn.Module | Sequence[Geometry | None], name: str) -> list[Geometry]:
    """The geometries of ``layers`` in the order they run: one :class:`Geometry`; every
    ``Conv2d``, ``MaxPool2d`` and ``AvgPool2d`` of a module, in registration order; or a
    sequence of geometries, whose ``None`` entries (layers that keep the size) are skipped."""
    if isinstance(layers, Geometry):
        return [layers]
    if isinstance(layers, nn.Module):
        kinds = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)
        return [layer_geometry(m) for m in layers.modules() if isinstance(m, kinds)]
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence):
        raise TypeError(f"{name} must be a Geometry (see layer_geometry), a torch.nn.Module or a sequence "
                        f"of Geometry objects, got {describe(layers)}")
    chain = [g for g in layers if g is not None]
    for g in chain:
        if not isinstance(g, Geometry):
            raise TypeError(f"{name} must hold Geometry objects (see layer_geometry), got {describe(g)}")
    return chain


def output_shape(geometry: Geometry | nn.Module | Sequence[Geometry | None],
                 input_size: tuple[int, int]) -> tuple[int, int]:
    """``(height, width)`` of the output of the windows of ``geometry`` on an input of ``input_size``.

    ``geometry`` is one layer's :class:`Geometry`, a sequence of them in the order they run, or
    a module, whose ``Conv2d``, ``MaxPool2d`` and ``AvgPool2d`` layers are taken in the order
    they were registered (the order they run in for a ``Sequential`` and the models of
    :mod:`cnncourse.models.cnn`); other layers are taken to keep the height and width.

    Raises
    ------
    TypeError
        If ``geometry`` is none of these.
    ValueError
        If the input is too small along an axis (the message names ``input_size`` and the
        window that gets too little, with the smallest size that fits it; see
        :func:`output_size`).
    """
    chain = _windows(geometry, "geometry")
    h, w = check_pair(input_size, "input_size", minimum=1)
    out = [h, w]
    for j, g in enumerate(chain):
        for i in (0, 1):
            k, s, d, pad, ceil_mode = g.axis(i)
            try:
                out[i] = output_size(out[i], k, padding=pad, stride=s, dilation=d, ceil_mode=ceil_mode)
            except ValueError as exc:
                raise ValueError(f"input_size {h}x{w} is too small for these windows: window {j + 1} of "
                                 f"{len(chain)} gets a {'height' if i == 0 else 'width'} of {out[i]}, "
                                 f"and {exc}") from None
    return out[0], out[1]


def _chain_fits(geometries: Sequence[Geometry], axis: int, n: int) -> bool:
    for g in geometries:
        k, s, d, (before, after), ceil_mode = g.axis(axis)
        n = _fits(n, k, s, before, after, d, ceil_mode)
        if n < 1:
            return False
    return True


def min_input_size(layers: nn.Module | Sequence[Geometry | None], limit: int = 1 << 20) -> tuple[int, int]:
    """The smallest ``(height, width)`` that every window of a chain of layers accepts, in order.

    The number of window positions never decreases when the input grows, so the smallest
    side is found by doubling, then bisection, along each axis.

    Parameters
    ----------
    layers
        A module, whose ``Conv2d``, ``MaxPool2d`` and ``AvgPool2d`` layers count, in the
        order they were registered (the order they run in for a ``Sequential`` and the
        models of :mod:`cnncourse.models.cnn`); fully connected layers are ignored, so a
        :class:`~cnncourse.models.cnn.ConvNet` accepts only the ``image_size`` it was built for,
        whatever this function says. Or the layers' geometries in the order they run
        (``None`` entries, for layers that keep the size, are skipped).
    limit
        Largest side tried.

    Returns
    -------
    tuple of int
        ``(height, width)``: the smallest input that leaves at least a 1x1 map.

    Raises
    ------
    TypeError
        If ``layers`` is not a module or an entry is not a :class:`Geometry` or ``None``.
    ValueError
        If no side up to ``limit`` fits.

    Examples
    --------
    >>> min_input_size(nn.Sequential(nn.Conv2d(1, 8, 5), nn.MaxPool2d(2)))
    (6, 6)
    """
    chain = _windows(layers, "layers")
    limit = check_int(limit, "limit", minimum=1)
    sides = []
    for axis in (0, 1):
        high = 1
        while not _chain_fits(chain, axis, high):
            if high >= limit:
                raise ValueError(f"no input side up to limit={limit} fits these layers")
            high = min(2 * high, limit)
        low = high // 2  # does not fit (or is 0)
        while high - low > 1:
            mid = (low + high) // 2
            low, high = (low, mid) if _chain_fits(chain, axis, mid) else (mid, high)
        sides.append(high)
    return sides[0], sides[1]
