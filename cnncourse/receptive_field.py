"""Receptive fields: which input pixels a unit of a feature map can see, and which it really uses.

Two questions, two kinds of answer:

* The **theoretical receptive field** of a unit is the set of input pixels that can change
  its value at all. For a stack of convolutions and poolings it follows from the kernel
  sizes, strides and dilations alone (:func:`receptive_field`), by the recurrence

  .. math::

     r_l = r_{l-1} + (k_l - 1)\\, j_{l-1}, \\qquad j_l = j_{l-1}\\, s_l, \\qquad r_0 = j_0 = 1,

  where :math:`k_l = d_l (k^{raw}_l - 1) + 1` is the effective kernel of layer :math:`l`
  (dilation :math:`d_l` included), :math:`s_l` its stride, :math:`r_l` the field size and
  :math:`j_l` the *jump*: how many input pixels apart two neighbouring units of layer
  :math:`l` are.
* The **effective receptive field** (ERF) weighs every input pixel by how much it actually
  changes the unit: the magnitude of the gradient of the unit with respect to the input,
  averaged over random inputs and random weights (:func:`effective_receptive_field`).
  Luo et al. (2016) showed that it is roughly Gaussian and that its width grows like the
  square root of depth, while the theoretical field grows linearly.

Between the two sit the counting maps: :func:`usage_map` counts, with every weight set to
one, how many computation paths join each input pixel to the output, and
:func:`gradient_support` is the set of pixels where that count is positive, the exact
theoretical field of one unit measured by backpropagation.

This module computes; the figures are in :mod:`cnncourse.plots.receptive_field`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "LayerField",
    "ReceptiveField",
    "receptive_field",
    "flatten_layers",
    "usage_map",
    "gradient_support",
    "support_extent",
    "effective_receptive_field",
    "GaussianFit",
    "fit_gaussian",
    "mass_radius",
    "fit_power_law",
    "conv_stack",
]

# Layers that act on every position separately (in eval mode): they leave the field unchanged.
POINTWISE_LAYERS: tuple[type[nn.Module], ...] = (
    nn.Identity, nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU,
    nn.SiLU, nn.Mish, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.Hardtanh, nn.Hardswish,
    nn.Hardsigmoid, nn.Softsign, nn.Tanhshrink, nn.Dropout, nn.Dropout2d, nn.AlphaDropout,
    nn.BatchNorm2d,
)
"""Layer types that :func:`receptive_field` treats as pointwise (field unchanged).

Batch normalization counts as pointwise because in eval mode it is a per-channel affine map;
in training mode its batch statistics mix all positions.
"""

WINDOW_LAYERS: tuple[type[nn.Module], ...] = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)
"""Layer types with a sliding window: they change the field."""


# --------------------------------------------------------------------------- helpers
def _pair(value, name: str) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return (int(value[0]), int(value[1]))
    raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")


def _square(pair: tuple) -> str:
    """``(3, 3)`` -> ``"3"``, ``(3, 5)`` -> ``"3x5"``; floats with one decimal if needed."""
    def fmt(v):
        return f"{v:g}" if isinstance(v, float) else str(v)
    return fmt(pair[0]) if pair[0] == pair[1] else f"{fmt(pair[0])}x{fmt(pair[1])}"


def _check_size(input_size, name: str = "input_size") -> tuple[int, int]:
    try:
        size = _pair(input_size, name)
    except TypeError:
        raise TypeError(f"{name} must be an int or a pair (height, width), got {input_size!r}") from None
    if min(size) < 1:
        raise ValueError(f"{name} must be positive, got {input_size!r}")
    return size


def flatten_layers(layers: nn.Module | Iterable[nn.Module], prefix: str = "") -> list[tuple[str, nn.Module]]:
    """The layers of a stack in running order, nested ``nn.Sequential`` containers flattened.

    Parameters
    ----------
    layers
        An ``nn.Sequential``, a single layer, or a list/tuple of layers (which may themselves
        be ``nn.Sequential``).
    prefix
        Prepended to the names (used in recursion).

    Returns
    -------
    list of (name, module)
        Names are dotted paths such as ``"features.3"``, as in ``model.named_modules()``.
    """
    if isinstance(layers, nn.Sequential):
        items: Iterable[tuple[str, object]] = layers.named_children()
    elif isinstance(layers, nn.Module):
        return [(prefix or type(layers).__name__, layers)]
    elif isinstance(layers, (list, tuple)):
        items = ((str(i), m) for i, m in enumerate(layers))
    else:
        raise TypeError(
            f"layers must be an nn.Sequential, an nn.Module or a list of modules, got {type(layers).__name__}"
        )
    flat: list[tuple[str, nn.Module]] = []
    for name, module in items:
        full = f"{prefix}.{name}" if prefix else name
        if isinstance(module, (nn.Sequential, list, tuple)):
            flat.extend(flatten_layers(module, full))
        elif isinstance(module, nn.Module):
            flat.append((full, module))
        else:
            raise TypeError(f"layer {full} is a {type(module).__name__}, not an nn.Module")
    return flat


@dataclass(frozen=True)
class _Geometry:
    """Window geometry of one layer along both axes (pointwise layers: k = s = 1, p = 0)."""

    kernel: tuple[int, int]  # effective kernel d (k - 1) + 1
    stride: tuple[int, int]
    pad_before: tuple[int, int]
    pad_after: tuple[int, int]
    dilation: tuple[int, int]
    raw_kernel: tuple[int, int]
    ceil_mode: bool = False


def _geometry(index: int, name: str, layer: nn.Module) -> _Geometry:
    kind = type(layer).__name__
    if isinstance(layer, POINTWISE_LAYERS):
        return _Geometry((1, 1), (1, 1), (0, 0), (0, 0), (1, 1), (1, 1))
    if not isinstance(layer, WINDOW_LAYERS):
        raise ValueError(
            f"receptive_field does not know layer {index} ({kind}, named {name!r}): only Conv2d, "
            "MaxPool2d, AvgPool2d and pointwise layers (activations, dropout, BatchNorm2d, Identity) "
            "have a fixed receptive field. Pass the convolutional part of the model only "
            "(for example model.features), without Flatten, Linear or global pooling."
        )
    k = _pair(layer.kernel_size, f"kernel_size of layer {index}")
    if isinstance(layer, nn.AvgPool2d):
        d = (1, 1)
    else:
        d = _pair(layer.dilation, f"dilation of layer {index}")
    s = _pair(layer.stride if layer.stride not in (None, ()) else layer.kernel_size, f"stride of layer {index}")
    eff = (d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1)
    pad = layer.padding
    if isinstance(pad, str):  # Conv2d only: 'valid' or 'same' (PyTorch puts the extra pixel after)
        if pad == "valid":
            before = after = (0, 0)
        else:
            total = (eff[0] - 1, eff[1] - 1)
            before = (total[0] // 2, total[1] // 2)
            after = (total[0] - before[0], total[1] - before[1])
    else:
        before = after = _pair(pad, f"padding of layer {index}")
    return _Geometry(eff, s, before, after, d, k, bool(getattr(layer, "ceil_mode", False)))


def _out_side(n: int, g: _Geometry, axis: int) -> int:
    k, s = g.kernel[axis], g.stride[axis]
    p0, p1 = g.pad_before[axis], g.pad_after[axis]
    span = n + p0 + p1 - k
    if span < 0:
        return 0
    if not g.ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1
    if (out - 1) * s >= n + p0:  # PyTorch: the last window must start inside the input or left padding
        out -= 1
    return out


# --------------------------------------------------------------------------- the arithmetic
@dataclass(frozen=True)
class LayerField:
    """The receptive field after one layer of a stack (all pairs are ``(rows, columns)``).

    Attributes
    ----------
    index
        Position of the layer in the flattened stack (0 is the first layer).
    name
        Dotted name of the layer in the model (e.g. ``"features.3"``).
    kind
        Class name of the layer (``"Conv2d"``, ``"MaxPool2d"``, ``"ReLU"``, ...).
    kernel
        Effective kernel ``d (k - 1) + 1`` (dilation included); 1 for pointwise layers.
    stride
        Stride of the layer.
    padding
        Padding before the first pixel (top, left).
    size
        Receptive field size in input pixels: :math:`r_l = r_{l-1} + (k_l - 1) j_{l-1}`.
    jump
        Distance in input pixels between neighbouring units: :math:`j_l = j_{l-1} s_l`.
    start
        Input coordinate (pixel index, may be fractional or negative) of the centre of the
        field of unit ``(0, 0)``: :math:`c_l = c_{l-1} + ((k_l - 1)/2 - p_l)\\, j_{l-1}`.
        Unit ``(i, j)`` is centred on ``start + (i, j) * jump``.
    out_shape
        Height and width of the layer's output map, when the stack was given an input size.
    dilation
        Dilation of the layer (1 for pooling and pointwise layers).
    """

    index: int
    name: str
    kind: str
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    size: tuple[int, int]
    jump: tuple[int, int]
    start: tuple[float, float]
    out_shape: tuple[int, int] | None = None
    dilation: tuple[int, int] = (1, 1)


@dataclass(frozen=True)
class ReceptiveField(Sequence):
    """The per-layer receptive-field table of a stack; ``print`` it to see the table.

    It is a sequence of :class:`LayerField` rows (one per layer, pointwise layers included);
    ``size``, ``jump`` and ``start`` are those of the last layer (of the input itself for an
    empty stack).
    """

    rows: tuple[LayerField, ...]
    input_size: tuple[int, int] | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i):
        return self.rows[i]

    def __iter__(self) -> Iterator[LayerField]:
        return iter(self.rows)

    @property
    def size(self) -> tuple[int, int]:
        """Receptive field size ``(rows, columns)`` of a unit of the last layer."""
        return self.rows[-1].size if self.rows else (1, 1)

    @property
    def jump(self) -> tuple[int, int]:
        """Jump (effective stride) of the last layer."""
        return self.rows[-1].jump if self.rows else (1, 1)

    @property
    def start(self) -> tuple[float, float]:
        """Centre of the field of unit ``(0, 0)`` of the last layer, in input coordinates."""
        return self.rows[-1].start if self.rows else (0.0, 0.0)

    @property
    def out_shape(self) -> tuple[int, int] | None:
        """Output map shape of the last layer (``None`` without an input size)."""
        if not self.rows:
            return self.input_size
        return self.rows[-1].out_shape

    def center(self, unit: tuple[int, int]) -> tuple[float, float]:
        """Input coordinates of the centre of the field of output ``unit = (row, col)``."""
        return (self.start[0] + unit[0] * self.jump[0], self.start[1] + unit[1] * self.jump[1])

    def bounds(self, unit: tuple[int, int]) -> tuple[tuple[float, float], tuple[float, float]]:
        """First and last input row, first and last input column of the field of ``unit``.

        Inclusive; they may lie outside the image (the field then reaches into the padding).
        """
        c = self.center(unit)
        half = ((self.size[0] - 1) / 2, (self.size[1] - 1) / 2)
        return ((c[0] - half[0], c[0] + half[0]), (c[1] - half[1], c[1] + half[1]))

    def __str__(self) -> str:
        header = ["#", "layer", "kernel", "stride", "pad", "size", "jump", "start"]
        with_shape = self.input_size is not None
        if with_shape:
            header.append("output")
        lines = [["", "input", "", "", "", "1", "1", "0"]]
        if with_shape:
            lines[0].append(f"{self.input_size[0]}x{self.input_size[1]}")
        for r in self.rows:
            row = [str(r.index), f"{r.kind} ({r.name})" if r.name != str(r.index) else r.kind,
                   _square(r.kernel), _square(r.stride), _square(r.padding), _square(r.size),
                   _square(r.jump), _square(tuple(float(v) for v in r.start))]
            if with_shape:
                row.append(f"{r.out_shape[0]}x{r.out_shape[1]}")
            lines.append(row)
        widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
        fmt = "  ".join(f"{{:{'<' if i == 1 else '>'}{w}}}" for i, w in enumerate(widths))
        out = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
        out += [fmt.format(*line) for line in lines]
        return "\n".join(out)

    def _repr_pretty_(self, p, cycle) -> None:  # IPython shows the table, not the dataclass
        p.text(str(self))


def receptive_field(layers: nn.Module | Iterable[nn.Module],
                    input_size: int | tuple[int, int] | None = None) -> ReceptiveField:
    """Theoretical receptive field of every layer of a stack of convolutions and poolings.

    The recurrence runs separately along rows and columns, so non-square kernels, strides,
    paddings and dilations are supported. For layer :math:`l` with effective kernel
    :math:`k_l = d_l (k_l^{raw} - 1) + 1`, stride :math:`s_l` and padding :math:`p_l`:

    .. math::

        r_l = r_{l-1} + (k_l - 1) j_{l-1}, \\quad j_l = j_{l-1} s_l, \\quad
        c_l = c_{l-1} + \\left(\\tfrac{k_l - 1}{2} - p_l\\right) j_{l-1},

    starting from :math:`r_0 = j_0 = 1` and :math:`c_0 = 0` (the centre of pixel 0).

    Parameters
    ----------
    layers
        An ``nn.Sequential`` (nested ones are flattened), a single layer or a list of layers,
        made of ``Conv2d``, ``MaxPool2d``, ``AvgPool2d`` and pointwise layers (see
        ``POINTWISE_LAYERS``).
    input_size
        Optional input side or ``(height, width)``; when given, every row also records the
        shape of the layer's output map.

    Returns
    -------
    ReceptiveField
        The per-layer table; ``print`` it, or read ``.size``, ``.jump``, ``.start``.

    Raises
    ------
    ValueError
        For a layer without a fixed receptive field (``Linear``, ``Flatten``, adaptive or
        global pooling, ...), naming its position and type; or when an input size is so small
        that a layer's window does not fit.
    """
    return _table(flatten_layers(layers), input_size)


def _table(flat: list[tuple[str, nn.Module]], input_size) -> ReceptiveField:
    shape = None if input_size is None else _check_size(input_size)
    in_shape = shape
    size, jump, start = [1, 1], [1, 1], [0.0, 0.0]
    rows = []
    for index, (name, layer) in enumerate(flat):
        g = _geometry(index, name, layer)
        for a in (0, 1):
            size[a] = size[a] + (g.kernel[a] - 1) * jump[a]
            start[a] = start[a] + ((g.kernel[a] - 1) / 2 - g.pad_before[a]) * jump[a]
            jump[a] = jump[a] * g.stride[a]
        if shape is not None:
            shape = (_out_side(shape[0], g, 0), _out_side(shape[1], g, 1))
            if min(shape) < 1:
                raise ValueError(
                    f"input_size {input_size!r} is too small: layer {index} ({type(layer).__name__}) "
                    f"leaves a {shape[0]}x{shape[1]} map"
                )
        rows.append(LayerField(index, name, type(layer).__name__, g.kernel, g.stride, g.pad_before,
                               (size[0], size[1]), (jump[0], jump[1]), (start[0], start[1]), shape,
                               g.dilation))
    return ReceptiveField(tuple(rows), in_shape)


# --------------------------------------------------------------------------- counting paths
def _count_forward(flat: list[tuple[str, nn.Module]], x: torch.Tensor) -> torch.Tensor:
    """The stack with every weight set to one, on a one-channel map: a sum over paths."""
    for index, (name, layer) in enumerate(flat):
        g = _geometry(index, name, layer)
        if g.kernel == (1, 1) and g.stride == (1, 1) and g.pad_before == (0, 0) and g.pad_after == (0, 0):
            continue
        mode = getattr(layer, "padding_mode", "zeros")
        pads = (g.pad_before[1], g.pad_after[1], g.pad_before[0], g.pad_after[0])
        if g.ceil_mode:  # pad after so that the window count matches PyTorch's ceil_mode
            extra = []
            for a, n in ((1, x.shape[-1]), (0, x.shape[-2])):
                out = _out_side(n, g, a)
                need = (out - 1) * g.stride[a] + g.kernel[a] - (n + g.pad_before[a] + g.pad_after[a])
                extra.append(max(need, 0))
            pads = (pads[0], pads[1] + extra[0], pads[2], pads[3] + extra[1])
        if any(pads):
            x = F.pad(x, pads, mode="constant" if mode == "zeros" else mode)
        ones = torch.ones(1, 1, *g.raw_kernel, dtype=x.dtype, device=x.device)
        x = F.conv2d(x, ones, stride=g.stride, dilation=g.dilation)
    return x


def usage_map(layers: nn.Module | Iterable[nn.Module], input_size: int | tuple[int, int],
              unit: tuple[int, int] | str | None = "center") -> np.ndarray:
    """How many times each input pixel is used, by backpropagating through an all-ones copy.

    Every convolution and pooling is replaced by a one-channel window *sum* with the same
    kernel, stride, padding and dilation (pointwise layers by the identity). The gradient of
    an output with respect to the input pixel is then the number of computation paths from
    the pixel to that output: how many windows, layer after layer, the pixel takes part in.

    Parameters
    ----------
    layers
        A stack accepted by :func:`receptive_field`.
    input_size
        Input side or ``(height, width)``.
    unit
        ``"center"`` (default): one output unit, the middle one
        ``((h - 1) // 2, (w - 1) // 2)`` of the output map; a pair ``(row, col)``: that unit;
        ``None``: the sum over *all* output units, i.e. how many windows of the whole final
        map use each pixel (pixels at the image border are used less).

    Returns
    -------
    numpy.ndarray
        ``float64`` array of shape ``(height, width)`` holding whole numbers.
    """
    flat = flatten_layers(layers)
    rf = _table(flat, input_size)
    h, w = rf.out_shape
    x = torch.zeros(1, 1, *rf.input_size, dtype=torch.float64, requires_grad=True)
    y = _count_forward(flat, x)
    if y.shape[-2:] != (h, w):  # guard: the surrogate must have the real network's geometry
        raise RuntimeError(f"internal error: counting network gives {tuple(y.shape[-2:])}, expected {(h, w)}")
    if unit is None:
        target = y.sum()
    else:
        if isinstance(unit, str):
            if unit != "center":
                raise ValueError(f"unit must be 'center', a pair (row, col) or None, got {unit!r}")
            unit = ((h - 1) // 2, (w - 1) // 2)
        i, j = _pair(unit, "unit")
        if not (0 <= i < h and 0 <= j < w):
            raise ValueError(f"unit {unit!r} is outside the {h}x{w} output map")
        target = y[0, 0, i, j]
    (grad,) = torch.autograd.grad(target, x)
    return grad[0, 0].numpy()


def gradient_support(layers: nn.Module | Iterable[nn.Module], input_size: int | tuple[int, int],
                     unit: tuple[int, int] | str = "center") -> np.ndarray:
    """Boolean mask of the input pixels with a non-zero gradient for one output unit.

    Computed on the all-ones copy of :func:`usage_map`: with positive weights no two paths
    can cancel and max pooling cannot route the gradient to a single winner, so the mask is
    exactly the set of pixels that *can* influence the unit (its theoretical receptive field,
    clipped to the image). With dilation or with strides larger than kernels the mask has
    holes; its bounding box (:func:`support_extent`) is the theoretical size.
    """
    if unit is None:
        raise ValueError("unit must be 'center' or a pair (row, col), got None")
    return usage_map(layers, input_size, unit) > 0


def support_extent(mask: np.ndarray) -> tuple[tuple[int, int], tuple[int, int]]:
    """Bounding box of the non-zero entries of a 2-D map.

    Returns
    -------
    ((first_row, last_row), (first_col, last_col))
        Inclusive indices; the size is ``last - first + 1`` along each axis.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        raise ValueError("mask has no non-zero entry")
    return ((int(rows.min()), int(rows.max())), (int(cols.min()), int(cols.max())))


# --------------------------------------------------------------------------- effective field
def _first_conv_channels(model: nn.Module) -> int | None:
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return m.in_channels
    return None


def effective_receptive_field(
    model: nn.Module | Callable[[], nn.Module],
    input_size: int | tuple[int, int] | None = None,
    *,
    inputs: torch.Tensor | None = None,
    n_inputs: int = 32,
    n_inits: int = 1,
    in_channels: int | None = None,
    unit: tuple[int, int] | str = "center",
    seed: int = 0,
    normalize: bool = True,
    device: torch.device | str | None = None,
) -> np.ndarray:
    """Effective receptive field: mean absolute input gradient of one central output unit.

    The output unit is the middle position of the model's output map; its value is summed
    over channels and backpropagated (gradient 1 at that position, 0 elsewhere, as in Luo et
    al. 2016). The absolute gradient is summed over input channels and averaged over a batch
    of inputs, all in one backward pass, and over ``n_inits`` freshly initialised models when
    ``model`` is a factory. The model runs in eval mode (so batch normalization does not mix
    the examples of the batch); its mode is restored afterwards.

    Parameters
    ----------
    model
        A module returning ``(N, C, h, w)`` feature maps, or a zero-argument callable that
        builds a new randomly initialised one (to average over initialisations).
    input_size
        Side or ``(height, width)`` of the random inputs. Not needed with ``inputs``.
    inputs
        Optional ``(N, C, H, W)`` tensor of inputs (e.g. real images) used instead of
        standard normal noise.
    n_inputs
        Number of random inputs per model (ignored with ``inputs``).
    n_inits
        Number of models built from the factory; must be 1 for a module.
    in_channels
        Channels of the random inputs (default: those of the first ``Conv2d``).
    unit
        ``"center"`` or an output position ``(row, col)``.
    seed
        Seed of the random inputs and initialisations; the global random state is left
        untouched.
    normalize
        Divide the map by its sum, so it is a distribution of gradient mass.
    device
        Where to compute (default: the CPU, or where ``inputs`` are).

    Returns
    -------
    numpy.ndarray
        ``float64`` map of shape ``(H, W)``.
    """
    is_factory = not isinstance(model, nn.Module)
    if is_factory and not callable(model):
        raise TypeError(f"model must be an nn.Module or a callable returning one, got {type(model).__name__}")
    if isinstance(n_inits, bool) or not isinstance(n_inits, int) or n_inits < 1:
        raise ValueError(f"n_inits must be a positive int, got {n_inits!r}")
    if not is_factory and n_inits != 1:
        raise ValueError(f"n_inits is {n_inits}, but model is a single module: pass a factory to average over initialisations")
    if inputs is None:
        if input_size is None:
            raise ValueError("give input_size (for random inputs) or inputs")
        size = _check_size(input_size)
        if isinstance(n_inputs, bool) or not isinstance(n_inputs, int) or n_inputs < 1:
            raise ValueError(f"n_inputs must be a positive int, got {n_inputs!r}")
    else:
        if not isinstance(inputs, torch.Tensor) or inputs.ndim != 4:
            raise ValueError(f"inputs must be a (N, C, H, W) tensor, got {getattr(inputs, 'shape', type(inputs).__name__)}")
    device = torch.device(device) if device is not None else (inputs.device if inputs is not None else torch.device("cpu"))
    total = None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for _ in range(n_inits):
            net = model() if is_factory else model
            if not isinstance(net, nn.Module):
                raise TypeError(f"the model factory returned a {type(net).__name__}, not an nn.Module")
            net = net.to(device)
            if inputs is None:
                c = in_channels or _first_conv_channels(net)
                if c is None:
                    raise ValueError("in_channels is needed: the model has no Conv2d to read it from")
                x = torch.randn(n_inputs, c, *size).to(device)
            else:
                x = inputs.to(device=device, dtype=torch.float32)
            x.requires_grad_(True)
            was_training = net.training
            net.eval()
            try:
                y = net(x)
            finally:
                net.train(was_training)
            if y.ndim != 4:
                raise ValueError(f"the model must return (N, C, h, w) feature maps, got shape {tuple(y.shape)}")
            h, w = y.shape[-2:]
            if isinstance(unit, str):
                if unit != "center":
                    raise ValueError(f"unit must be 'center' or a pair (row, col), got {unit!r}")
                i, j = (h - 1) // 2, (w - 1) // 2
            else:
                i, j = _pair(unit, "unit")
                if not (0 <= i < h and 0 <= j < w):
                    raise ValueError(f"unit {unit!r} is outside the {h}x{w} output map")
            (grad,) = torch.autograd.grad(y[:, :, i, j].sum(), x)
            part = grad.abs().sum(dim=1).mean(dim=0).double().cpu()
            total = part if total is None else total + part
    erf = (total / n_inits).numpy()
    if normalize:
        mass = erf.sum()
        if mass > 0:
            erf = erf / mass
    return erf


# --------------------------------------------------------------------------- measuring it
@dataclass(frozen=True)
class GaussianFit:
    """A 2-D Gaussian fitted to a non-negative map (rows first).

    Attributes
    ----------
    center
        ``(row, col)`` of the mean.
    sigma
        Standard deviations ``(sigma_row, sigma_col)`` in pixels.
    correlation
        Correlation between the row and column coordinates (0 for an axis-aligned ellipse).
    amplitude
        Peak value of the fitted Gaussian (for ``method="moments"``, the peak of the Gaussian
        with the map's total mass).
    """

    center: tuple[float, float]
    sigma: tuple[float, float]
    correlation: float
    amplitude: float

    @property
    def radius(self) -> float:
        """Effective radius: the root-mean-square of the two standard deviations,
        :math:`\\sqrt{(\\sigma_r^2 + \\sigma_c^2)/2}` (equal to :math:`\\sigma` for a round Gaussian)."""
        return math.sqrt((self.sigma[0] ** 2 + self.sigma[1] ** 2) / 2)

    def evaluate(self, shape: tuple[int, int]) -> np.ndarray:
        """The fitted Gaussian sampled on a grid of ``shape``."""
        return _gauss2d(np.indices(shape).astype(float), self.amplitude, *self.center, *self.sigma, self.correlation)


def _gauss2d(grid, amp, r0, c0, sr, sc, rho):
    u, v = (grid[0] - r0) / sr, (grid[1] - c0) / sc
    q = (u * u - 2 * rho * u * v + v * v) / (1 - rho * rho)
    return amp * np.exp(-q / 2)


def fit_gaussian(weights: np.ndarray, method: str = "moments") -> GaussianFit:
    """Fit a 2-D Gaussian to a non-negative map, such as an effective receptive field.

    Parameters
    ----------
    weights
        Non-negative 2-D array (rows, columns); it need not be normalized.
    method
        ``"moments"``: treat the map as a distribution of mass and take its mean and
        covariance (exact for a sampled Gaussian that fits in the map; fast, no iteration).
        ``"least_squares"``: fit ``A exp(-q/2)`` to the values with
        ``scipy.optimize.curve_fit``, starting from the moments (less sensitive to a faint
        wide background).

    Returns
    -------
    GaussianFit
        Centre, standard deviations, correlation and amplitude; ``.radius`` is the effective
        radius :math:`\\sqrt{(\\sigma_r^2 + \\sigma_c^2)/2}`.
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim != 2:
        raise ValueError(f"weights must be a 2-D array, got shape {w.shape}")
    bad, negative = int((~np.isfinite(w)).sum()), int((w < 0).sum())
    if bad or negative:
        raise ValueError(f"weights must be finite and non-negative, got {bad} non-finite and "
                         f"{negative} negative values out of {w.size}")
    mass = w.sum()
    if mass <= 0:
        raise ValueError("weights sum to zero: there is nothing to fit")
    if method not in ("moments", "least_squares"):
        raise ValueError(f"method must be 'moments' or 'least_squares', got {method!r}")
    grid = np.indices(w.shape).astype(float)
    p = w / mass
    r0, c0 = (p * grid[0]).sum(), (p * grid[1]).sum()
    vr = (p * (grid[0] - r0) ** 2).sum()
    vc = (p * (grid[1] - c0) ** 2).sum()
    cov = (p * (grid[0] - r0) * (grid[1] - c0)).sum()
    if vr <= 0 or vc <= 0:
        raise ValueError("the map is a single line or point: its spread is zero along an axis")
    sr, sc = math.sqrt(vr), math.sqrt(vc)
    rho = float(np.clip(cov / (sr * sc), -0.99, 0.99))
    amp = mass / (2 * math.pi * sr * sc * math.sqrt(1 - rho * rho))
    if method == "moments":
        return GaussianFit((float(r0), float(c0)), (sr, sc), rho, float(amp))
    from scipy.optimize import curve_fit

    def model(flat_grid, a, rr, cc, s1, s2, rh):
        return _gauss2d(flat_grid, a, rr, cc, s1, s2, rh).ravel()

    p0 = (w.max(), r0, c0, sr, sc, rho)
    bounds = ([0, -np.inf, -np.inf, 1e-3, 1e-3, -0.99], [np.inf, np.inf, np.inf, np.inf, np.inf, 0.99])
    popt, _ = curve_fit(model, grid.reshape(2, -1), w.ravel(), p0=p0, bounds=bounds, maxfev=20000)
    a, rr, cc, s1, s2, rh = (float(v) for v in popt)
    return GaussianFit((rr, cc), (s1, s2), rh, a)


def mass_radius(weights: np.ndarray, fraction: float = 0.9,
                center: tuple[float, float] | None = None) -> float:
    """Radius of the smallest disc around ``center`` that holds ``fraction`` of the map's mass.

    Pixels count whole, at the distance of their centre, so the result is the distance of
    one pixel centre. ``center`` defaults to the centre of mass.
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim != 2 or (w < 0).any() or w.sum() <= 0:
        raise ValueError("weights must be a non-negative 2-D array with positive sum")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    grid = np.indices(w.shape).astype(float)
    if center is None:
        p = w / w.sum()
        center = ((p * grid[0]).sum(), (p * grid[1]).sum())
    dist = np.hypot(grid[0] - center[0], grid[1] - center[1]).ravel()
    order = np.argsort(dist, kind="stable")
    cum = np.cumsum(w.ravel()[order]) / w.sum()
    k = int(np.searchsorted(cum, fraction - 1e-12))
    return float(dist[order][min(k, dist.size - 1)])


def fit_power_law(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """Fit ``y = a * x**b`` by least squares on ``log y`` against ``log x``.

    Returns
    -------
    (b, a)
        The exponent (slope on a log-log plot) and the prefactor.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise ValueError(f"x and y must be 1-D of the same length >= 2, got shapes {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError(f"x and y must be finite numbers, got x={x.tolist()} and y={y.tolist()}")
    if (x <= 0).any() or (y <= 0).any():
        raise ValueError(f"x and y must be positive for a log-log fit, got x={x.tolist()} and y={y.tolist()}")
    slope, intercept = np.polyfit(np.log(x), np.log(y), 1)
    return float(slope), float(math.exp(intercept))


def conv_stack(depth: int, channels: int = 16, kernel_size: int = 3,
               dilation: int | Sequence[int] = 1, in_channels: int = 1,
               activation: Callable[[], nn.Module] | None = nn.ReLU) -> nn.Sequential:
    """``depth`` size-preserving convolutions (each followed by ``activation``): a field probe.

    Every convolution has ``kernel_size`` (odd), stride 1 and the padding
    ``dilation * (kernel_size - 1) // 2`` that keeps the map size, so the output unit in the
    middle of the map sits in the middle of the input.

    Parameters
    ----------
    depth
        Number of convolutions (>= 1).
    channels
        Output channels of every convolution.
    kernel_size
        Odd kernel side.
    dilation
        One dilation for all layers, or one per layer.
    in_channels
        Input channels.
    activation
        Layer class (or factory) put after every convolution; ``None`` for a linear stack.
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be a positive int, got {depth!r}")
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be a positive odd int, got {kernel_size!r}")
    dilations = [dilation] * depth if isinstance(dilation, int) else list(dilation)
    if len(dilations) != depth or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in dilations):
        raise ValueError(f"dilation must be a positive int or {depth} positive ints, got {dilation!r}")
    layers: list[nn.Module] = []
    c = in_channels
    for d in dilations:
        layers.append(nn.Conv2d(c, channels, kernel_size, padding=d * (kernel_size - 1) // 2, dilation=d))
        if activation is not None:
            layers.append(activation())
        c = channels
    return nn.Sequential(*layers)

