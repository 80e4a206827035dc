"""Receptive fields: which input pixels a unit of a feature map can see, and which it really uses.

Two questions, two kinds of answer:

* The **theoretical receptive field** of a unit is the set of input pixels that can change
  its value at all. It follows from the kernel sizes, strides, paddings and dilations alone
  (:func:`receptive_field`), by the recurrence

  .. math::

     r_l = r_{l-1} + (k_l - 1)\\, j_{l-1}, \\qquad j_l = j_{l-1}\\, s_l, \\qquad
     c_l = c_{l-1} + \\left(\\tfrac{k_l - 1}{2} - p_l\\right) j_{l-1},

  from :math:`r_0 = j_0 = 1, c_0 = 0`, where :math:`k_l = d_l (k^{raw}_l - 1) + 1` is the
  effective kernel of layer :math:`l` (dilation :math:`d_l` included), :math:`s_l` its
  stride, :math:`p_l` its padding before the first pixel, :math:`r_l` the field size,
  :math:`j_l` the *jump* (how many input pixels apart two neighbouring units are) and
  :math:`c_l` the input coordinate of the centre of unit 0's field (Araujo et al. 2019).
  The model is traced with ``torch.fx``, so the recurrence follows branches: where branches
  meet (a residual ``add``, a ``cat``, a multiplication by a gate) the field is the union of
  the fields of the branches.
* The **effective receptive field** (ERF) weighs every input pixel by how much it actually
  changes the unit: the magnitude of the gradient of the unit with respect to the input,
  averaged over random inputs and random weights (:func:`effective_receptive_field`).
  Luo et al. (2016) showed that it is roughly Gaussian and that its width grows like the
  square root of depth, while the theoretical field grows linearly.

Between the two sit the counting maps: :func:`usage_map` backpropagates through a copy of
the model with every weight set to one, one channel, window sums in place of poolings and
no non-linearity, so that no two paths can cancel; :func:`gradient_support` is the set of
pixels where that gradient is positive, the exact theoretical field of one unit measured by
backpropagation, the check of :func:`receptive_field`.

This module computes; the figures are in :mod:`cnncourse.plots.receptive_field`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.fx as fx
import torch.nn.functional as F
from torch import nn

from cnncourse._checks import check_int, check_pair
from cnncourse.geometry import Geometry, layer_geometry, output_shape

__all__ = [
    "LayerField",
    "ReceptiveField",
    "receptive_field",
    "flatten_layers",
    "usage_map",
    "gradient_support",
    "FieldMeasurement",
    "measure_field",
    "support_extent",
    "effective_receptive_field",
    "GaussianFit",
    "fit_gaussian",
    "mass_radius",
    "fit_power_law",
    "conv_stack",
]


# --------------------------------------------------------------------------- helpers
def _square(pair: tuple | None) -> str:
    """``(3, 3)`` -> ``"3"``, ``(3, 5)`` -> ``"3x5"``; floats with one decimal if needed."""
    if pair is None:
        return "-"

    def fmt(v):
        return f"{v:g}" if isinstance(v, float) else str(v)
    return fmt(pair[0]) if pair[0] == pair[1] else f"{fmt(pair[0])}x{fmt(pair[1])}"


def _check_size(input_size, name: str = "input_size") -> tuple[int, int]:
    try:
        return check_pair(input_size, name, minimum=1)
    except TypeError:
        raise TypeError(f"{name} must be an int or a pair (height, width), got {input_size!r}") from None


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

    Raises
    ------
    TypeError
        For something that is not a module or a list of modules.
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


# --------------------------------------------------------------------------- tracing
class _Tracer(fx.Tracer):
    """``torch.fx`` tracer that remembers in which module a trace failed."""

    def __init__(self) -> None:
        super().__init__()
        self.failed_in: str | None = None

    def call_module(self, m, forward, args, kwargs):
        try:
            return super().call_module(m, forward, args, kwargs)
        except Exception:
            if self.failed_in is None:
                try:
                    self.failed_in = f"{self.path_of_module(m) or '(the model itself)'} ({type(m).__name__})"
                except NameError:
                    self.failed_in = type(m).__name__
            raise


def _as_model(layers) -> nn.Module:
    if isinstance(layers, (list, tuple)):
        for i, m in enumerate(layers):
            if not isinstance(m, nn.Module):
                raise TypeError(f"layer {i} is a {type(m).__name__}, not an nn.Module")
        return nn.Sequential(*layers)
    if not isinstance(layers, nn.Module):
        raise TypeError(f"layers must be an nn.Module (a model, an nn.Sequential, a layer) or a list "
                        f"of modules, got {type(layers).__name__}")
    if not isinstance(layers, nn.Sequential) and fx.Tracer().is_leaf_module(layers, ""):
        return nn.Sequential(layers)  # a single built-in layer: trace it as a one-layer stack
    return layers


@dataclass
class _Op:
    """What one traced node does to the geometry (shared by the theory and the gradient check)."""

    kind: str                   # see _classify
    label: str                  # class or function name shown in the table
    geometry: Geometry | None = None
    conv: bool = False          # window that sums over channels (a convolution)
    window: dict = field(default_factory=dict)  # the layer's own settings, for the check
    arg: object = None          # dim, dims, output size, ... depending on kind
    module: nn.Module | None = None


@dataclass
class _Traced:
    model: nn.Module
    nodes: list
    ops: dict
    names: dict


_POINTWISE = {
    "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "elu_", "selu", "celu", "gelu",
    "silu", "mish", "sigmoid", "sigmoid_", "tanh", "tanh_", "softplus", "hardtanh", "hardtanh_",
    "hardswish", "hardsigmoid", "softsign", "dropout", "dropout2d", "alpha_dropout",
    "feature_alpha_dropout", "stochastic_depth", "batch_norm", "contiguous", "clone", "float",
    "double", "to", "type_as", "abs", "neg", "exp", "sqrt", "rsqrt", "square", "clamp", "clamp_",
    "clip", "pow", "erf",
}
_ADD = {"add", "add_", "iadd", "sub", "sub_", "isub"}
_MUL = {"mul", "mul_", "imul", "truediv", "div", "div_", "itruediv"}
_REDUCE = {"mean", "sum", "amax", "amin", "std", "var", "logsumexp"}
_META = {"size", "dim", "getattr", "numel"}
_SPLIT = {"chunk", "split", "tensor_split"}
_ADAPTIVE = {"adaptive_avg_pool2d", "adaptive_max_pool2d"}
_ARGS = {  # positional argument names of the functional windows
    "conv2d": ("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
    "max_pool2d": ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode"),
    "avg_pool2d": ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                   "divisor_override"),
}


def _bind(name: str, node) -> dict:
    bound = dict(zip(_ARGS[name], node.args))
    bound.update(node.kwargs)
    return bound


def _window_op(label: str, layer: nn.Module, module: nn.Module | None = None) -> _Op:
    geometry = layer_geometry(layer)
    settings = {"kernel_size": layer.kernel_size, "stride": layer.stride, "padding": layer.padding,
                "dilation": getattr(layer, "dilation", 1), "ceil_mode": getattr(layer, "ceil_mode", False),
                "padding_mode": getattr(layer, "padding_mode", "zeros")}
    if isinstance(layer, nn.Conv2d) and settings["padding_mode"] != "zeros":
        settings["reversed_padding"] = layer._reversed_padding_repeated_twice
    return _Op("window", label, geometry, isinstance(layer, nn.Conv2d), settings, module=module)


def _param(model: nn.Module, node) -> torch.Tensor | None:
    if getattr(node, "op", None) != "get_attr":
        return None
    value = model
    for part in node.target.split("."):
        value = getattr(value, part)
    return value if isinstance(value, torch.Tensor) else None


def _classify(node, model: nn.Module, modules: dict) -> _Op | None:
    """The geometric meaning of one node; ``None`` for an operation this module does not know."""
    if node.op == "placeholder":
        return _Op("input", "input")
    if node.op == "get_attr":
        return _Op("const", "constant")
    if node.op == "output":
        return _Op("output", "output")
    if node.op == "call_module":
        m = modules[node.target]
        label = type(m).__name__
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            return _window_op(label, m, m)
        if isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
            return _Op("adaptive", label, arg=m.output_size)
        if isinstance(m, nn.Flatten):
            return _Op("flatten", label, arg=(m.start_dim, m.end_dim), module=m)
        if isinstance(m, nn.Linear):
            return _Op("linear", label)
        if isinstance(m, nn.LayerNorm):
            return _Op("norm", label, arg=len(m.normalized_shape))
        if isinstance(m, (nn.GroupNorm, nn.InstanceNorm2d)):
            return _Op("norm", label, arg=3)  # channels, rows and columns together
        if isinstance(m, nn.LocalResponseNorm):  # across channels at each position
            return _Op("pointwise", label)
        try:
            geometry = layer_geometry(m)
        except TypeError:
            return None
        return _Op("pointwise", label) if geometry is None else _window_op(label, m, m)
    name = node.target if node.op == "call_method" else getattr(node.target, "__name__", str(node.target))
    if name in _POINTWISE:
        return _Op("pointwise", name)
    if name in _ADD:
        return _Op("add", name)
    if name in _MUL:
        return _Op("mul", name)
    if name in ("cat", "concat", "concatenate"):
        return _Op("cat", name, arg=node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else 0))
    if name == "flatten":
        args = list(node.args[1:]) + [None, None]
        start = node.kwargs.get("start_dim", args[0] if args[0] is not None else 0)
        end = node.kwargs.get("end_dim", args[1] if args[1] is not None else -1)
        return _Op("flatten", name, arg=(start, end))
    if name == "permute":
        dims = node.kwargs.get("dims", node.args[1:])
        if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
            dims = dims[0]
        return _Op("permute", name, arg=tuple(dims))
    if name in ("transpose", "swapaxes"):
        return _Op("transpose", name, arg=tuple(node.args[1:3]))
    if name in ("view", "reshape"):
        shape = node.args[1:]
        if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
            shape = shape[0]
        return _Op("reshape", name, arg=len(shape))
    if name in _REDUCE:
        dims = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else None)
        keep = node.kwargs.get("keepdim", node.args[2] if len(node.args) > 2 else False)
        return _Op("reduce", name, arg=(dims, bool(keep)))
    if name in _META:
        return _Op("meta", name)
    if name == "getitem":
        return _Op("getitem", name, arg=node.args[1])
    if name in _SPLIT:
        return _Op("split", name, arg=node.kwargs.get("dim", node.args[2] if len(node.args) > 2 else 0))
    if name in _ADAPTIVE:
        return _Op("adaptive", name, arg=node.kwargs.get("output_size", node.args[1] if len(node.args) > 1 else None))
    if name == "linear":
        return _Op("linear", name)
    if name == "layer_norm":
        shape = node.kwargs.get("normalized_shape", node.args[1] if len(node.args) > 1 else ())
        return _Op("norm", name, arg=len(shape) if isinstance(shape, (list, tuple)) else 1)
    if name in ("group_norm", "instance_norm"):
        return _Op("norm", name, arg=3)
    if name in ("max_pool2d", "avg_pool2d"):
        bound = _bind(name, node)
        settings = {k: v for k, v in bound.items() if k in ("kernel_size", "stride", "padding", "dilation", "ceil_mode")}
        layer = (nn.MaxPool2d if name == "max_pool2d" else nn.AvgPool2d)(**settings)
        return _window_op(name, layer)
    if name == "conv2d":
        bound = _bind(name, node)
        weight = _param(model, bound.get("weight"))
        if weight is None:
            return None
        layer = nn.Conv2d(1, 1, tuple(weight.shape[-2:]), stride=bound.get("stride", 1),
                          padding=bound.get("padding", 0), dilation=bound.get("dilation", 1))
        return _window_op(name, layer)
    return None


def _node_name(node, counts: dict) -> str:
    if node.op == "call_module":
        counts[node.target] = counts.get(node.target, 0) + 1
        return node.target if counts[node.target] == 1 else f"{node.target}:{counts[node.target]}"
    stack = node.meta.get("nn_module_stack") or {}
    scopes = [v[0] if isinstance(v, tuple) else k for k, v in stack.items()]
    scope = scopes[-1] if scopes else ""
    return f"{scope}.{node.name}" if scope else node.name


def _trace(layers) -> _Traced:
    model = _as_model(layers)
    tracer = _Tracer()
    try:
        graph = tracer.trace(model)
    except Exception as exc:  # noqa: BLE001 - any failure of torch.fx is reported the same way
        where = f" (it failed inside {tracer.failed_in})" if tracer.failed_in else ""
        raise ValueError(
            f"torch.fx cannot trace {type(model).__name__}{where}: {type(exc).__name__}: {exc}. "
            "The receptive field needs a model whose forward does not branch on tensor values: "
            "pass the part that can be traced, for example model.features, or an nn.Sequential "
            "of its layers."
        ) from None
    modules = dict(model.named_modules())
    nodes = list(graph.nodes)
    counts: dict = {}
    ops, names = {}, {}
    for node in nodes:
        ops[node] = _classify(node, model, modules)
        names[node] = _node_name(node, counts) if node.op not in ("placeholder", "output") else node.name
    return _Traced(model, nodes, ops, names)


# --------------------------------------------------------------------------- the theory
@dataclass(frozen=True)
class _Field:
    """Geometry of one tensor that depends on the input."""

    ndim: int
    dims: tuple[int, int] | None     # negative positions of the (row, column) axes; None: none left
    size: tuple[int, int] | None = None
    jump: tuple[int, int] | None = None
    start: tuple[float, float] | None = None
    whole: bool = False              # some path reaches every input pixel
    shape: tuple[int, int] | None = None
    note: str = ""


class _Many:
    """The tuple of tensors returned by ``chunk``/``split``: each has the same geometry."""

    def __init__(self, field_: _Field) -> None:
        self.field = field_


_META_VALUE = object()  # sizes, shapes: values computed from the input's shape, not its pixels


def _where(traced: _Traced, node, index: int | None = None) -> str:
    op = traced.ops.get(node)
    if op is not None:
        label = op.label
    elif node.op == "call_module":
        label = type(traced.model.get_submodule(node.target)).__name__
    else:
        label = node.target if node.op == "call_method" else getattr(node.target, "__name__", str(node.target))
    at = f"layer {index} " if index is not None else ""
    return f"{at}({label}, node {traced.names[node]!r})"


def _norm_dim(dim, ndim: int, where: str) -> int:
    d = check_int(dim, f"dim at {where}")
    if not -ndim <= d < ndim:
        raise ValueError(f"{where}: dim {d} is out of range for a {ndim}-D tensor")
    return d % ndim


def _spatial_positions(f: _Field) -> tuple[int, int]:
    return (f.ndim + f.dims[0], f.ndim + f.dims[1])


def _global(ndim: int) -> _Field:
    return _Field(ndim, None, whole=True)


def _apply_window(f: _Field, op: _Op, where: str, input_size) -> _Field:
    if set(f.dims) != {-2, -1}:
        raise ValueError(f"{where} slides over the last two axes, but the feature map's rows and "
                         f"columns are at axes {f.dims} (after a permute)")
    order = (0, 1) if f.dims == (-2, -1) else (1, 0)  # state axis a <-> the layer's axis order[a]
    g = op.geometry
    size, jump, start = list(f.size), list(f.jump), list(f.start)
    for a in (0, 1):
        b = order[a]
        k = g.dilation[b] * (g.kernel_size[b] - 1) + 1
        size[a] = size[a] + (k - 1) * jump[a]
        start[a] = start[a] + ((k - 1) / 2 - g.padding[b][0]) * jump[a]
        jump[a] = jump[a] * g.stride[b]
    shape = f.shape
    if shape is not None:
        layer_in = shape if order == (0, 1) else shape[::-1]
        try:
            out = output_shape(g, layer_in)
        except ValueError as exc:
            raise ValueError(f"input_size {input_size} is too small: {where} gets a "
                             f"{shape[0]}x{shape[1]} map ({exc})") from None
        shape = out if order == (0, 1) else out[::-1]
    return replace(f, size=tuple(size), jump=tuple(jump), start=tuple(start), shape=shape)


def _merge(fields: list[_Field], where: str) -> _Field:
    spatial = [f for f in fields if f.dims is not None]
    if not spatial:
        return _global(max(f.ndim for f in fields))
    first = spatial[0]
    whole = any(f.whole for f in fields) or len(spatial) < len(fields)
    if len(spatial) == 1:
        return replace(first, whole=whole)
    if any(f.dims != first.dims for f in spatial):
        raise ValueError(f"{where} combines feature maps whose rows and columns are on different "
                         f"axes: {[f.dims for f in spatial]}")
    jumps = sorted({f.jump for f in spatial})
    if len(jumps) > 1:
        raise ValueError(f"{where} combines branches with different jumps {jumps}: their units "
                         "are not aligned on the input, so no single field describes a unit")
    size, start, notes = [], [], [f.note for f in spatial if f.note]
    for a in (0, 1):
        lo = min(f.start[a] - (f.size[a] - 1) / 2 for f in spatial)
        hi = max(f.start[a] + (f.size[a] - 1) / 2 for f in spatial)
        size.append(round(hi - lo) + 1)
        start.append((lo + hi) / 2)
    starts = sorted({f.start for f in spatial})
    if len(starts) > 1:
        notes.append(f"branches centred at {', '.join(_square(s) for s in starts)}: the field is their union")
    shape = first.shape
    return _Field(first.ndim, first.dims, tuple(size), first.jump, tuple(start), whole, shape,
                  "; ".join(notes))


def _propagate(traced: _Traced, input_size, needed: set | None = None) -> tuple[list, dict]:
    """Run the recurrence over the traced graph (only the ``needed`` nodes, if given);
    return the table rows and the node states."""
    env: dict = {}
    rows: list[LayerField] = []
    seen_input = False
    for node in traced.nodes:
        if needed is not None and node not in needed:
            continue
        op = traced.ops[node]
        if node.op == "placeholder":
            if not seen_input:
                env[node] = _Field(4, (-2, -1), (1, 1), (1, 1), (0.0, 0.0), shape=input_size)
                seen_input = True
            else:
                env[node] = None
            continue
        if node.op == "output":
            continue
        values = []
        fx.node.map_arg((node.args, node.kwargs), lambda n, acc=values: acc.append(env[n]))
        fields = [v for v in values if isinstance(v, _Field)]
        if node.op == "get_attr" or (not fields and not any(isinstance(v, _Many) for v in values)):
            env[node] = _META_VALUE if any(v is _META_VALUE for v in values) else None
            continue
        where = _where(traced, node, len(rows))
        if op is None:
            raise ValueError(
                f"receptive_field does not know {where}: it has no fixed receptive field or is "
                "not supported (convolutions, poolings, element-wise layers, add, mul, cat, "
                "flatten, permute, global pooling and Linear are). Pass the part of the model "
                "before it, for example model.features, or an nn.Sequential of its layers.")
        result = _step(op, node, values, fields, where, input_size)
        env[node] = result
        if isinstance(result, _Field):
            rows.append(_row(len(rows), traced.names[node], op, result))
    return rows, env


def _step(op: _Op, node, values: list, fields: list[_Field], where: str, input_size):
    kind = op.kind
    f = fields[0] if fields else None
    if kind == "getitem":
        base = values[0]
        if isinstance(base, _Many):
            return base.field
        if base is _META_VALUE:
            return _META_VALUE
        return _index(f, op.arg, where)
    if kind == "meta":
        return _META_VALUE
    if kind == "split":
        if f.dims is not None and _norm_dim(op.arg, f.ndim, where) in _spatial_positions(f):
            raise ValueError(f"{where} splits the feature map along a spatial axis; the field of "
                             "the pieces is not a sliding window")
        return _Many(f)
    if kind == "window":  # on a globally pooled map (a gate's 1x1 convolutions) it stays global
        return f if f.dims is None else _apply_window(f, op, where, input_size)
    if kind in ("pointwise", "add", "mul", "cat"):
        if kind == "cat" and f.dims is not None and len(fields) >= 1:
            dim = _norm_dim(op.arg, f.ndim, where)
            if dim in _spatial_positions(f):
                raise ValueError(f"{where} concatenates along a spatial axis: the units of the "
                                 "result do not share one geometry")
        return _merge(fields, where)
    if f.dims is None:  # nothing spatial is left: every later unit sees the whole input
        if kind == "reshape":
            return _global(op.arg)
        if kind == "flatten":
            start, end = (_norm_dim(d, f.ndim, where) for d in op.arg)
            return _global(f.ndim - (end - start))
        if kind == "reduce":
            dims, keep = op.arg
            n = f.ndim if dims is None else len(dims) if isinstance(dims, (list, tuple)) else 1
            return _global(f.ndim if keep else f.ndim - (f.ndim if dims is None else n))
        return f
    pos = _spatial_positions(f)
    if kind == "linear":
        if f.dims[1] == -1 or f.dims[0] == -1:
            raise ValueError(f"{where} multiplies along the last axis, which is a spatial axis "
                             "(the columns) of the feature map: flatten the map first (then every "
                             "unit sees the whole input), or pass only the convolutional part "
                             "(for example model.features)")
        return f
    if kind == "norm":
        mixed = any(p >= f.ndim - op.arg for p in pos)
        return replace(f, whole=True) if mixed else f
    if kind == "flatten":
        start, end = (_norm_dim(d, f.ndim, where) for d in op.arg)
        if any(start <= p <= end for p in pos):
            return _global(f.ndim - (end - start))
        shift = end - start if pos[0] < start else 0
        return replace(f, ndim=f.ndim - (end - start), dims=(f.dims[0] + shift, f.dims[1] + shift))
    if kind == "permute":
        perm = [_norm_dim(d, f.ndim, where) for d in op.arg]
        new = tuple(perm.index(p) - f.ndim for p in pos)
        return replace(f, dims=new)
    if kind == "transpose":
        a, b = (_norm_dim(d, f.ndim, where) for d in op.arg)
        swap = {a: b, b: a}
        return replace(f, dims=tuple(swap.get(p, p) - f.ndim for p in pos))
    if kind == "reshape":
        if op.arg <= 2:
            return _global(op.arg)
        raise ValueError(f"{where} reshapes a feature map into {op.arg} axes: the rows and columns "
                         "cannot be followed through it. Pass the part of the model before it.")
    if kind == "reduce":
        dims, keep = op.arg
        reduced = list(range(f.ndim)) if dims is None else [
            _norm_dim(d, f.ndim, where) for d in (dims if isinstance(dims, (list, tuple)) else [dims])]
        if any(p in reduced for p in pos):
            return _global(f.ndim if keep else f.ndim - len(reduced))
        if keep:
            return f
        return replace(f, ndim=f.ndim - len(reduced),
                       dims=tuple(d + sum(r > p for r in reduced) for d, p in zip(f.dims, pos)))
    if kind == "adaptive":
        return _adaptive(f, op, where, input_size)
    raise AssertionError(f"unhandled kind {kind}")  # pragma: no cover - _classify lists them all


def _index(f: _Field, index, where: str) -> _Field:
    items = index if isinstance(index, tuple) else (index,)
    if f.dims is None:
        return f
    pos = _spatial_positions(f)
    if any(i is None for i in items) or sum(i is Ellipsis for i in items) > 1:
        raise ValueError(f"{where} adds axes to the feature map (None): not supported")
    if Ellipsis in items:
        at = items.index(Ellipsis)
        items = items[:at] + (slice(None),) * (f.ndim - len(items) + 1) + items[at + 1:]
    dropped = 0
    for p, item in enumerate(items):
        if p in pos:
            if item != slice(None):
                raise ValueError(f"{where} crops or indexes a spatial axis of the feature map: the "
                                 "field of the result is not a sliding window")
        elif not isinstance(item, slice):
            dropped += 1
    return replace(f, ndim=f.ndim - dropped)


def _adaptive(f: _Field, op: _Op, where: str, input_size) -> _Field:
    out = op.arg if isinstance(op.arg, (tuple, list)) else (op.arg, op.arg)
    if f.dims != (-2, -1):
        raise ValueError(f"{where} pools the last two axes, but the feature map's rows and "
                         f"columns are at axes {f.dims}")
    if all(o == 1 for o in out):
        return _global(f.ndim)  # global pooling: every unit after it sees the whole input
    if f.shape is None:
        raise ValueError(f"{where} pools to {tuple(out)}: its windows depend on the map size. Give "
                         "input_size, or pass the part of the model before it (model.features).")
    kernel = []
    for a in (0, 1):
        o, n = out[a], f.shape[a]
        if o is None or o == n:
            kernel.append(1)
        elif n % o == 0:
            kernel.append(n // o)
        else:
            raise ValueError(f"{where} pools a {f.shape[0]}x{f.shape[1]} map to {tuple(out)}: its "
                             "windows overlap unevenly, so no single field describes a unit. Choose "
                             "an input_size that makes the map a multiple of the output size.")
    layer = nn.AvgPool2d(tuple(kernel))
    return _apply_window(f, _window_op(op.label, layer), where, input_size)


def _row(index: int, name: str, op: _Op, f: _Field) -> LayerField:
    g = op.geometry if op.kind == "window" else None
    if op.kind == "adaptive" and f.dims is not None:
        g = None
    kernel = tuple(g.dilation[a] * (g.kernel_size[a] - 1) + 1 for a in (0, 1)) if g else (1, 1)
    stride = g.stride if g else (1, 1)
    padding = tuple(g.padding[a][0] for a in (0, 1)) if g else (0, 0)
    dilation = g.dilation if g else (1, 1)
    return LayerField(
        index, name, op.label, kernel, stride, padding,
        None if f.whole else f.size, f.jump if f.dims is not None else None,
        f.start if f.dims is not None else None, f.shape if f.dims is not None else None,
        dilation, whole=f.whole, spatial=f.dims is not None,
        local_size=f.size if f.dims is not None else None, note=f.note)


@dataclass(frozen=True)
class LayerField:
    """The receptive field after one layer (one traced node); all pairs are ``(rows, columns)``.

    Attributes
    ----------
    index
        Position of the row in the table (0 is the first layer).
    name
        Where the node is in the model: the module path (``"features.3"``,
        ``"layer1.0.conv1"``; ``"layer1.0.relu:2"`` for a second call of the same module) or,
        for a function, its module scope and node name (``"layer1.0.add"``).
    kind
        Class name of the layer (``"Conv2d"``, ``"ReLU"``, ...) or the function's name
        (``"add"``, ``"cat"``, ``"flatten"``).
    kernel
        Effective kernel ``d (k - 1) + 1`` (dilation included); 1 for other layers.
    stride
        Stride of the layer (1 for other layers).
    padding
        Padding before the first pixel (top, left).
    size
        Receptive field size in input pixels, :math:`r_l = r_{l-1} + (k_l - 1) j_{l-1}`;
        ``None`` when the field is the whole input (``whole``).
    jump
        Distance in input pixels between neighbouring units, :math:`j_l = j_{l-1} s_l`;
        ``None`` once the map has no spatial axes (after global pooling or flatten).
    start
        Input coordinate (pixel index, may be fractional or negative) of the centre of the
        field of unit ``(0, 0)``: :math:`c_l = c_{l-1} + ((k_l - 1)/2 - p_l)\\, j_{l-1}`.
        Unit ``(i, j)`` is centred on ``start + (i, j) * jump``. ``None`` without spatial axes.
    out_shape
        Height and width of the node's output map, when an input size was given.
    dilation
        Dilation of the layer (1 for pooling and other layers).
    whole
        ``True`` when every unit of this node sees the whole input, whatever its size: after
        global or adaptive pooling to 1x1, ``flatten`` of the spatial axes and ``Linear``, or
        when a branch through global pooling (a squeeze-and-excitation gate) joins in.
    spatial
        Whether the output still has rows and columns.
    local_size
        The window the paths that avoid global pooling see (equal to ``size`` unless ``whole``).
    note
        What happened where branches met, e.g. branches whose centres disagree; empty if nothing.
    """

    index: int
    name: str
    kind: str
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    size: tuple[int, int] | None
    jump: tuple[int, int] | None
    start: tuple[float, float] | None
    out_shape: tuple[int, int] | None = None
    dilation: tuple[int, int] = (1, 1)
    whole: bool = False
    spatial: bool = True
    local_size: tuple[int, int] | None = None
    note: str = ""


@dataclass(frozen=True)
class ReceptiveField(Sequence):
    """The receptive-field table of a model, one :class:`LayerField` row per traced node.

    ``print`` it to see the table. ``size``, ``jump`` and ``start`` are those of the last row
    (of the input itself for an empty stack); ``table["layer2"]`` is the row of a node, or the
    last row inside a module (the output of a stage).
    """

    rows: tuple[LayerField, ...]
    input_size: tuple[int, int] | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i):
        if isinstance(i, str):
            return self.row(i)
        return self.rows[i]

    def __iter__(self) -> Iterator[LayerField]:
        return iter(self.rows)

    def row(self, name: str) -> LayerField:
        """The row of node ``name``, or the last row inside the module ``name`` (a stage).

        Raises
        ------
        ValueError
            When no row has that name or lies inside that module.
        """
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, got {type(name).__name__}")
        for r in self.rows:
            if r.name == name:
                return r
        inside = [r for r in self.rows if r.name.startswith(name + ".")]
        if inside:
            return inside[-1]
        known = sorted({r.name.split(".")[0] for r in self.rows})
        raise ValueError(f"no node or module named {name!r}; top-level names: {', '.join(known[:12])}")

    @property
    def size(self) -> tuple[int, int] | None:
        """Receptive field size ``(rows, columns)`` of a unit of the last row (``None``: whole input)."""
        return self.rows[-1].size if self.rows else (1, 1)

    @property
    def jump(self) -> tuple[int, int] | None:
        """Jump (effective stride) of the last row."""
        return self.rows[-1].jump if self.rows else (1, 1)

    @property
    def start(self) -> tuple[float, float] | None:
        """Centre of the field of unit ``(0, 0)`` of the last row, in input coordinates."""
        return self.rows[-1].start if self.rows else (0.0, 0.0)

    @property
    def whole(self) -> bool:
        """Whether a unit of the last row sees the whole input."""
        return self.rows[-1].whole if self.rows else False

    @property
    def out_shape(self) -> tuple[int, int] | None:
        """Output map shape of the last row (``None`` without an input size or spatial axes)."""
        if not self.rows:
            return self.input_size
        return self.rows[-1].out_shape

    def center(self, unit: tuple[int, int]) -> tuple[float, float]:
        """Input coordinates of the centre of the field of output ``unit = (row, col)``."""
        if self.jump is None:
            raise ValueError("the last row has no spatial axes: its units have no position")
        unit = check_pair(unit, "unit")
        return (self.start[0] + unit[0] * self.jump[0], self.start[1] + unit[1] * self.jump[1])

    def bounds(self, unit: tuple[int, int]) -> tuple[tuple[float, float], tuple[float, float]]:
        """First and last input row, first and last input column of the field of ``unit``.

        Inclusive; they may lie outside the image (the field then reaches into the padding).

        Raises
        ------
        ValueError
            When the field is the whole input (it has no bounds of its own).
        """
        if self.size is None:
            raise ValueError("a unit of the last row sees the whole input: its field has no bounds")
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
                   _square(r.kernel), _square(r.stride), _square(r.padding),
                   "whole" if r.whole else _square(r.size), _square(r.jump),
                   _square(None if r.start is None else tuple(float(v) for v in r.start))]
            if with_shape:
                row.append("-" if r.out_shape is None else f"{r.out_shape[0]}x{r.out_shape[1]}")
            lines.append(row)
        widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
        fmt = "  ".join(f"{{:{'<' if i == 1 else '>'}{w}}}" for i, w in enumerate(widths))
        out = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
        out += [fmt.format(*line) for line in lines]
        notes = [f"{r.index}: {r.note}" for r in self.rows if r.note]
        if notes:
            out += ["", "notes:"] + notes
        return "\n".join(out)

    def _repr_pretty_(self, p, cycle) -> None:  # IPython shows the table, not the dataclass
        p.text(str(self))


def receptive_field(layers: nn.Module | Iterable[nn.Module],
                    input_size: int | tuple[int, int] | None = None) -> ReceptiveField:
    """Theoretical receptive field of every node of a model (size, jump and centre, per axis).

    The model is traced with ``torch.fx`` and the recurrence

    .. math::

        r_l = r_{l-1} + (k_l - 1) j_{l-1}, \\quad j_l = j_{l-1} s_l, \\quad
        c_l = c_{l-1} + \\left(\\tfrac{k_l - 1}{2} - p_l\\right) j_{l-1}

    (effective kernel :math:`k_l = d_l (k_l^{raw} - 1) + 1`, stride :math:`s_l`, padding
    :math:`p_l` before the first pixel) runs along rows and columns separately, from
    :math:`r_0 = j_0 = 1` and :math:`c_0 = 0` (the centre of pixel 0). It handles:

    * ``Conv2d``, ``MaxPool2d``, ``AvgPool2d`` (and ``F.conv2d``, ``F.max_pool2d``,
      ``F.avg_pool2d``) with integer, ``"same"`` (extra pixel after, for even totals) and
      ``"valid"`` padding, stride, dilation, ``ceil_mode`` and non-square kernels;
    * element-wise layers and functions (activations, batch normalization, dropout,
      stochastic depth, ``Linear`` on the channels of a channels-last map, ``permute``):
      the field is unchanged;
    * branches that meet in ``add``, ``mul``, ``cat`` (on the channels): the field is the
      union of the branches' fields. Branches with different jumps raise; branches whose
      centres differ are noted in the row's ``note``;
    * global and adaptive pooling to 1x1, ``flatten`` of the spatial axes, ``Linear`` after
      it, layer/group normalization over the spatial axes, and any branch through them (a
      squeeze-and-excitation gate): the row says ``whole``, its units see the whole input.

    Parameters
    ----------
    layers
        Any model ``torch.fx`` can trace (a torchvision ResNet, DenseNet, ...), an
        ``nn.Sequential`` (nested ones are flattened in the names), a single layer, or a list
        of layers. Its input is ``Tensor[N, C, H, W]``.
    input_size
        Optional input side or ``(height, width)``; when given, every row also records the
        ``(height, width)`` of the node's output map, and a too small input raises.

    Returns
    -------
    ReceptiveField
        The table, one row per node whose output depends on the input; ``print`` it, read
        ``.size``, ``.jump``, ``.start`` (last row), or ``table["layer3"]`` (a stage's output).

    Raises
    ------
    TypeError
        For ``layers`` that is not a module or a list of modules, or a malformed input size.
    ValueError
        When ``torch.fx`` cannot trace the model (naming the module where it failed and what to
        pass instead); for an operation without a fixed receptive field (naming the node, e.g.
        ``Linear`` on the columns of a feature map, a crop, an upsampling); for branches with
        different jumps; when ``input_size`` is not positive or so small that a window does not
        fit (naming the layer).

    Notes
    -----
    Checked against :func:`gradient_support` (the exact set of input pixels with a non-zero
    gradient) for every stage of torchvision's ResNet, VGG, AlexNet, MobileNet, EfficientNet,
    DenseNet and ConvNeXt in the tests. Recurrence: Araujo, Norris and Sim (2019),
    "Computing receptive fields of convolutional neural networks", Distill.
    """
    shape = None if input_size is None else _check_size(input_size)
    rows, _ = _propagate(_trace(layers), shape)
    return ReceptiveField(tuple(rows), shape)


# --------------------------------------------------------------------------- counting paths
def _window_sum(x: torch.Tensor, dim: int, kernel: int, stride: int, dilation: int) -> torch.Tensor:
    """Sum of the ``kernel`` taps ``dilation`` apart, windows ``stride`` apart, along ``dim``.

    Python's slicing counts the windows (every start whose last tap is inside ``x``), so no
    output-size formula is involved; exact in float64 and much faster than a float64 conv2d.
    """
    if kernel == 1 and stride == 1:
        return x
    length = x.shape[dim] - dilation * (kernel - 1)  # the positions where a window can start
    if length < 1:
        raise ValueError(f"a window of {dilation * (kernel - 1) + 1} pixels does not fit a map of {x.shape[dim]}")
    total = None
    for t in range(kernel):
        part = x.narrow(dim, t * dilation, length)
        part = part[..., ::stride, :] if dim == -2 else part[..., ::stride]
        total = part if total is None else total + part
    return total


def _count_window(op: _Op, x: torch.Tensor) -> torch.Tensor:
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
        span = (out[a] - 1) * g.stride[a] + g.dilation[a] * (g.kernel_size[a] - 1) + 1
        pads += [before, max(span - x.shape[-2 + a] - before, 0)]
    c = x.shape[-3]
    ones = torch.ones(c, 1, *g.kernel_size, dtype=x.dtype, device=x.device)
    return F.conv2d(F.pad(x, pads), ones, None, g.stride, 0, g.dilation, groups=c)


def _count_forward(traced: _Traced, x: torch.Tensor, keep: set) -> dict:
    """The all-ones, one-channel, linear copy of the traced model run on ``x``, as far as the
    nodes in ``keep`` need."""
    env: dict = {}
    out: dict = {}
    seen_input = False
    needed = _ancestors(keep)
    for node in traced.nodes:
        if node not in needed:
            continue
        op = traced.ops[node]
        if node.op == "placeholder":
            env[node] = x if not seen_input else (node.args[0] if node.args else None)
            seen_input = True
            continue
        if node.op == "get_attr":
            value = _param(traced.model, node)
            env[node] = (torch.ones_like(value, dtype=x.dtype, device=x.device)
                         if value is not None and value.is_floating_point() else value)
            continue
        if node.op == "output":
            break
        args = fx.node.map_arg(node.args, lambda n: env[n])
        kwargs = fx.node.map_arg(node.kwargs, lambda n: env[n])
        tensors = [v for v in args if isinstance(v, torch.Tensor)]
        kind = op.kind if op is not None else None
        try:
            if kind == "window":
                value = _count_window(op, tensors[0])
            elif kind == "pointwise":
                value = tensors[0]
            elif kind == "add":
                value = sum(tensors[1:], tensors[0])
            elif kind == "mul":  # the largest factor times the others scaled to 1: the value
                # stays that of one factor (no overflow through many gates), the gradient positive
                main = max(range(len(tensors)), key=lambda i: tensors[i].numel())
                value = tensors[main]
                for i, t in enumerate(tensors):
                    if i != main:
                        value = value * (t / t.detach().clamp_min(1e-300))
            elif kind == "adaptive":
                value = F.adaptive_avg_pool2d(tensors[0], op.arg)
            elif kind == "linear":
                value = tensors[0].sum(dim=-1, keepdim=True)
            elif kind == "norm":
                value = tensors[0] + tensors[0].mean(dim=tuple(range(-op.arg, 0)), keepdim=True)
            elif kind == "reduce" and op.label in ("amax", "amin"):  # a max routes to one winner
                dims, keep_dim = op.arg
                value = tensors[0].mean(dim=dims, keepdim=keep_dim)
            else:  # shapes, indexing, concatenation, flatten, permute, reductions: as they are
                value = _run(traced, node, args, kwargs)
        except (RuntimeError, ValueError) as exc:
            raise ValueError(f"the counting copy cannot run {_where(traced, node)}: {exc}") from None
        env[node] = value
        if node in keep:
            out[node] = value
    return out


def _run(traced: _Traced, node, args, kwargs):
    if node.op == "call_module":
        return traced.model.get_submodule(node.target)(*args, **kwargs)
    if node.op == "call_method":
        return getattr(args[0], node.target)(*args[1:], **kwargs)
    return node.target(*args, **kwargs)


def _ancestors(nodes) -> set:
    seen, todo = set(), list(nodes)
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(node.all_input_nodes)
    return seen


def _find_node(traced: _Traced, name: str | None):
    """The node called ``name``, or the last computing node inside the module ``name``."""
    computing = [n for n in traced.nodes if n.op not in ("placeholder", "output", "get_attr")
                 and not (traced.ops[n] is not None and traced.ops[n].kind == "meta")]
    if name is None:
        if not computing:
            raise ValueError("the model has no layer: there is no output unit to backpropagate from")
        return computing[-1]
    if not isinstance(name, str):
        raise TypeError(f"node must be a str (a name of the receptive_field table), got {type(name).__name__}")
    for n in computing:
        if traced.names[n] == name:
            return n
    inside = [n for n in computing if traced.names[n].startswith(name + ".")]
    if inside:
        return inside[-1]
    known = sorted({traced.names[n].split(".")[0] for n in computing})
    raise ValueError(f"no node or module named {name!r}; top-level names: {', '.join(known[:12])}")


def _measured(traced: _Traced, shape, names: list) -> tuple[list, dict, dict]:
    """Propagate the theory as far as the named nodes need; run the counting copy on them."""
    targets = [_find_node(traced, name) for name in names]
    _, env = _propagate(traced, shape, _ancestors(targets))
    for t in targets:
        if not isinstance(env.get(t), _Field):
            raise ValueError(f"node {traced.names[t]!r} does not depend on the input pixels")
    x = torch.ones(1, 1, *shape, dtype=torch.float64, requires_grad=True)
    return targets, env, {"x": x, **{t: y for t, y in _count_forward(traced, x, set(targets)).items()}}


def usage_map(layers: nn.Module | Iterable[nn.Module], input_size: int | tuple[int, int],
              unit: tuple[int, int] | str | None = "center", *, node: str | None = None) -> np.ndarray:
    """How many times each input pixel is used, by backpropagating through an all-ones copy.

    The model is traced (as in :func:`receptive_field`) and run as a copy in which every
    convolution is a one-channel window *sum* with the layer's own kernel size, stride,
    padding and dilation (the channels are summed first), every pooling a window sum with the
    pooling's own geometry (``ceil_mode`` included), every non-linearity and normalization
    the identity (layer or group normalization over the spatial axes becomes ``x + mean``),
    ``Linear`` a sum, every parameter 1, and the input all ones. All weights are then
    positive and no path can cancel (a product of branches, such as a gate, keeps the value
    of its largest factor and multiplies by the others divided by their own value, so its
    gradient stays positive without overflowing): the gradient of an output unit with respect to an input pixel counts the
    computation paths from the pixel to that unit (for a chain: how many windows, layer after
    layer, the pixel takes part in).

    Parameters
    ----------
    layers
        A model accepted by :func:`receptive_field`.
    input_size
        Input side or ``(height, width)``; the input is ``Tensor[1, 1, height, width]``.
    unit
        ``"center"`` (default): one output unit, the middle one
        ``((h - 1) // 2, (w - 1) // 2)`` of the output map; a pair ``(row, col)``: that unit;
        ``None``: the sum over *all* output units, i.e. how many windows of the whole final
        map use each pixel (pixels at the image border are used less). The unit's channels
        are summed; an output without spatial axes backpropagates from its first element.
    node
        Backpropagate from this node or module (a name of the :func:`receptive_field` table,
        e.g. ``"layer2"`` for the output of a ResNet's second stage) instead of the last one.

    Returns
    -------
    numpy.ndarray
        ``float64`` array of shape ``(height, width)`` holding whole numbers (positive reals
        when the model multiplies branches or averages).

    Raises
    ------
    ValueError
        As :func:`receptive_field`; for a unit outside the output map or an unknown node.
    """
    shape = _check_size(input_size)
    traced = _trace(layers)
    (target,), env, outputs = _measured(traced, shape, [node])
    f, y, x = env[target], outputs[target], outputs["x"]
    if unit is None:
        scalar = y.sum()
    elif f.dims is None:
        if unit != "center":
            raise ValueError(f"node {traced.names[target]!r} has no spatial axes: unit must be 'center' or None, got {unit!r}")
        scalar = y.reshape(-1)[0]
    else:
        h, w = _map_shape(y, f)
        if isinstance(unit, str):
            if unit != "center":
                raise ValueError(f"unit must be 'center', a pair (row, col) or None, got {unit!r}")
            unit = ((h - 1) // 2, (w - 1) // 2)
        scalar = _unit_value(y, f, unit)
    return _input_gradient(scalar, x)


def _map_shape(y: torch.Tensor, f: _Field) -> tuple[int, int]:
    pos = _spatial_positions(f)
    h, w = y.shape[pos[0]], y.shape[pos[1]]
    if (h, w) != f.shape:  # guard: the copy must have the geometry that the theory computed
        raise RuntimeError(f"internal error: the counting copy gives a {h}x{w} map, the theory {f.shape}")
    return h, w


def _unit_value(y: torch.Tensor, f: _Field, unit) -> torch.Tensor:
    h, w = _map_shape(y, f)
    i, j = check_pair(unit, "unit")
    if not (0 <= i < h and 0 <= j < w):
        raise ValueError(f"unit {unit!r} is outside the {h}x{w} output map")
    pos = _spatial_positions(f)
    index: list = [slice(None)] * y.ndim  # the unit: all its channels, first example
    index[0], index[pos[0]], index[pos[1]] = 0, i, j
    return y[tuple(index)].sum()


def _input_gradient(scalar: torch.Tensor, x: torch.Tensor) -> np.ndarray:
    (grad,) = torch.autograd.grad(scalar, x, retain_graph=True, allow_unused=True)
    if grad is None:  # the unit does not depend on the input at all
        return np.zeros(tuple(x.shape[-2:]))
    return grad[0, 0].numpy()


@dataclass(frozen=True)
class FieldMeasurement:
    """The receptive field of a node measured from gradient supports (see :func:`measure_field`).

    Attributes
    ----------
    name
        The node's name in the :func:`receptive_field` table.
    size
        Extent ``(rows, columns)`` of the gradient support of the centre unit; ``None`` when
        the support is the whole input.
    jump
        Distance between the supports of two neighbouring units; ``None`` when it cannot be
        seen (whole input, or no spatial axes).
    start
        Centre of the field of unit ``(0, 0)``, extrapolated from the centre unit.
    whole
        Whether the support is every input pixel.
    """

    name: str
    size: tuple[int, int] | None
    jump: tuple[int, int] | None
    start: tuple[float, float] | None
    whole: bool


def measure_field(layers: nn.Module | Iterable[nn.Module], input_size: int | tuple[int, int],
                  node: str | Sequence[str] | None = None) -> FieldMeasurement | list[FieldMeasurement]:
    """Measure size, jump and centre of the receptive field from exact gradient supports.

    For the output map of ``node`` (``h x w``), backpropagates through the all-ones copy of
    :func:`usage_map` from the centre unit ``u = ((h - 1) // 2, (w - 1) // 2)`` and from its
    diagonal neighbour ``u + (1, 1)``: the bounding box of the first support is the field
    size, the shift between the two supports the jump, and ``start = centre(u) - u * jump``.
    A field is measured as the whole input when the supports of the centre unit and of the
    corner unit ``(0, 0)`` are both every pixel.
    Nothing here uses the recurrence of :func:`receptive_field`, so the two can check each
    other. One forward pass serves all the nodes.

    Parameters
    ----------
    layers
        A model accepted by :func:`receptive_field`; its input is ``Tensor[1, 1, H, W]``.
    input_size
        Input side or ``(height, width)``; it must be large enough for the centre unit's field
        to stay clear of the image border.
    node
        A name of the :func:`receptive_field` table (or a module such as ``"layer2"``, for the
        last node inside it), a list of them, or ``None`` for the last node.

    Returns
    -------
    FieldMeasurement or list of FieldMeasurement
        One per node, in the order given.

    Raises
    ------
    ValueError
        When the support touches the image border (the field is clipped: give a larger
        ``input_size``), when a map is smaller than 2x2 (no neighbour to measure a jump), or
        as :func:`receptive_field`.
    """
    shape = _check_size(input_size)
    traced = _trace(layers)
    names = [node] if node is None or isinstance(node, str) else list(node)
    targets, env, outputs = _measured(traced, shape, names)
    x = outputs["x"]
    results = []
    for target in targets:
        f, y, name = env[target], outputs[target], traced.names[target]
        if f.dims is None:
            support = _input_gradient(y.reshape(-1)[0], x) > 0
            results.append(FieldMeasurement(name, None, None, None, bool(support.all())))
            continue
        h, w = _map_shape(y, f)
        if h < 2 or w < 2:
            raise ValueError(f"node {name!r} has a {h}x{w} map on a {shape[0]}x{shape[1]} input: "
                             "measuring a jump needs two units per axis; give a larger input_size")
        u0 = ((h - 1) // 2, (w - 1) // 2)
        s0 = _input_gradient(_unit_value(y, f, u0), x) > 0
        clipped = ValueError(f"the field of node {name!r} reaches the border of the "
                             f"{shape[0]}x{shape[1]} input, so it is clipped: give a larger input_size")
        if s0.all():  # the whole input, or a field clipped on all sides: ask the corner unit
            if (_input_gradient(_unit_value(y, f, (0, 0)), x) > 0).all():
                results.append(FieldMeasurement(name, None, None, None, True))
                continue
            raise clipped
        s1 = _input_gradient(_unit_value(y, f, (u0[0] + 1, u0[1] + 1)), x) > 0
        boxes = (support_extent(s0), support_extent(s1))
        for (r0, r1), (c0, c1) in boxes:
            if r0 == 0 or c0 == 0 or r1 == shape[0] - 1 or c1 == shape[1] - 1:
                raise clipped
        size = tuple(hi - lo + 1 for lo, hi in boxes[0])
        centres = [tuple((lo + hi) / 2 for lo, hi in box) for box in boxes]
        jump = tuple(round(centres[1][a] - centres[0][a]) for a in (0, 1))
        start = tuple(centres[0][a] - u0[a] * jump[a] for a in (0, 1))
        results.append(FieldMeasurement(name, size, jump, start, False))
    return results[0] if node is None or isinstance(node, str) else results


def gradient_support(layers: nn.Module | Iterable[nn.Module], input_size: int | tuple[int, int],
                     unit: tuple[int, int] | str = "center", *, node: str | None = None) -> np.ndarray:
    """Boolean mask of the input pixels with a non-zero gradient for one output unit.

    Computed on the all-ones copy of :func:`usage_map`: with positive weights no two paths
    can cancel and max pooling cannot route the gradient to a single winner, so the mask is
    exactly the set of pixels that *can* influence the unit (its theoretical receptive field,
    clipped to the image). With dilation or with strides larger than kernels the mask has
    holes; its bounding box (:func:`support_extent`) is the theoretical size.

    Parameters
    ----------
    layers, input_size, node
        As :func:`usage_map`.
    unit
        ``"center"`` or ``(row, col)`` of the output map of the node.

    Returns
    -------
    numpy.ndarray
        ``bool`` array of shape ``(height, width)``.
    """
    if unit is None:
        raise ValueError("unit must be 'center' or a pair (row, col), got None")
    return usage_map(layers, input_size, unit, node=node) > 0


def support_extent(mask: np.ndarray) -> tuple[tuple[int, int], tuple[int, int]]:
    """Bounding box of the non-zero entries of a 2-D map.

    Returns
    -------
    ((first_row, last_row), (first_col, last_col))
        Inclusive indices; the size is ``last - first + 1`` along each axis.

    Raises
    ------
    ValueError
        For a map that is not 2-D or has no non-zero entry.
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
    n_inits = check_int(n_inits, "n_inits", minimum=1)
    if not is_factory and n_inits != 1:
        raise ValueError(f"n_inits is {n_inits}, but model is a single module: pass a factory to average over initialisations")
    if inputs is None:
        if input_size is None:
            raise ValueError("give input_size (for random inputs) or inputs")
        size = _check_size(input_size)
        n_inputs = check_int(n_inputs, "n_inputs", minimum=1)
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
                i, j = check_pair(unit, "unit")
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

    Returns
    -------
    nn.Sequential
        Maps ``Tensor[N, in_channels, H, W]`` to ``Tensor[N, channels, H, W]``.

    Raises
    ------
    TypeError
        For a non-integer depth, kernel size or dilation (NumPy integers are accepted).
    ValueError
        For a depth below 1, an even kernel size, or dilations that are not ``depth`` positive
        integers.
    """
    depth = check_int(depth, "depth", minimum=1)
    kernel_size = check_int(kernel_size, "kernel_size", minimum=1)
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be a positive odd int, got {kernel_size!r}")
    if isinstance(dilation, Sequence) and not isinstance(dilation, str):
        if len(dilation) != depth:
            raise ValueError(f"dilation must be a positive int or {depth} positive ints, got {dilation!r}")
        dilations = [check_int(d, "dilation", minimum=1) for d in dilation]
    else:
        dilations = [check_int(dilation, "dilation", minimum=1)] * depth
    layers: list[nn.Module] = []
    c = in_channels
    for d in dilations:
        layers.append(nn.Conv2d(c, channels, kernel_size, padding=d * (kernel_size - 1) // 2, dilation=d))
        if activation is not None:
            layers.append(activation())
        c = channels
    return nn.Sequential(*layers)

