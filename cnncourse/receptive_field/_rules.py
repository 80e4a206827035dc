"""One table of per-operation rules: for every kind of operation, side by side, how a traced
node of that kind is recognised, what it does to the receptive field (the theory) and what it
computes in the all-ones counting copy (the check).

A rule is a class: ``modules`` (layer classes, tested with ``isinstance`` in table order) and
``functions`` (function and method names) say which nodes it takes; ``read_module`` and
``read_call`` read what it needs from the layer or the call (a dim, an output size, the
window's geometry) into the node's :class:`Op`; ``geometry`` maps the :class:`Field` of the
inputs (``f`` is the first of them) to that of the output; ``count`` gives the counting copy's
value (``run()`` runs the node as it is). A new operation is one new class in :data:`RULES`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F
from torch import nn

from cnncourse.geometry import Geometry, layer_geometry
from cnncourse.receptive_field._field import (
    META_VALUE,
    Field,
    Many,
    global_field,
    merge_fields,
    norm_dim,
    not_whole,
    spatial_positions,
)
from cnncourse.receptive_field._graph import param_value
from cnncourse.receptive_field._windows import apply_window, count_window, window_attrs
from cnncourse.receptive_field.errors import ReceptiveFieldError

__all__ = ["Op", "RULES", "BOUNDARY", "WINDOW", "POINTWISE"]


@dataclass
class Op:
    """One traced node as its rule read it (shared by the theory and the counting copy)."""

    rule: _Rule
    label: str                  # class or function name shown in the table
    geometry: Geometry | None = None
    conv: bool = False          # window that sums over channels (a convolution)
    window: dict = field(default_factory=dict)  # the layer's own settings, for the check
    arg: object = None          # dim, dims, output size, ... depending on the rule
    module: nn.Module | None = None

    @property
    def kind(self) -> str:
        return self.rule.kind


class _Rule:
    """The defaults: nothing to read, no geometry of its own, counted by running the node."""

    kind = ""
    modules: tuple[type, ...] = ()
    functions: frozenset[str] = frozenset()

    def read_module(self, m: nn.Module) -> dict:
        return {}

    def read_call(self, node, name: str, model: nn.Module) -> dict | None:
        return {}

    def geometry(self, op: Op, f: Field, fields: list, values: list, where: str, input_size):
        raise NotImplementedError(f"{self.kind} nodes are read by the theory itself")

    def count(self, op: Op, tensors: list, run):
        return run()


class _Boundary(_Rule):
    """The input, constants (``get_attr``) and the output: the theory and the copy read them."""

    def __init__(self, kind: str) -> None:
        self.kind = kind


# --------------------------------------------------------------------------- windows
class _Window(_Rule):
    """Convolutions and poolings: the recurrence of size, jump and centre; a window sum."""

    kind = "window"  # PixelUnshuffle(s) too: a unit, all its channels, sees one s x s block
    modules = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.PixelUnshuffle)
    functions = frozenset({"conv2d", "max_pool2d", "avg_pool2d", "pixel_unshuffle"})
    ARGS = {  # positional argument names of the functional windows
        "conv2d": ("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
        "max_pool2d": ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode"),
        "avg_pool2d": ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                       "divisor_override"),
        "pixel_unshuffle": ("input", "downscale_factor"),
    }

    def read_module(self, m):
        return window_attrs(nn.AvgPool2d(m.downscale_factor) if isinstance(m, nn.PixelUnshuffle) else m, m)

    def read_call(self, node, name, model):
        bound = dict(zip(self.ARGS[name], node.args))
        bound.update(node.kwargs)
        if name == "pixel_unshuffle":
            factor = bound.get("downscale_factor")
            return window_attrs(nn.AvgPool2d(factor)) if isinstance(factor, int) else None
        if name == "conv2d":
            weight = param_value(model, bound.get("weight"))
            if weight is None:
                return None
            layer = nn.Conv2d(1, 1, tuple(weight.shape[-2:]), stride=bound.get("stride", 1),
                              padding=bound.get("padding", 0), dilation=bound.get("dilation", 1))
        else:
            settings = {k: v for k, v in bound.items() if k in ("kernel_size", "stride", "padding", "dilation", "ceil_mode")}
            layer = (nn.MaxPool2d if name == "max_pool2d" else nn.AvgPool2d)(**settings)
        return window_attrs(layer)

    def geometry(self, op, f, fields, values, where, input_size):
        # on a globally pooled map (a gate's 1x1 convolutions) it stays global
        return f if f.dims is None else apply_window(f, op.geometry, where, input_size)

    def count(self, op, tensors, run):
        return count_window(op, tensors[0])


class _Adaptive(_Rule):
    """Adaptive pooling: global to 1x1; a window when the map is a multiple of the output."""

    kind = "adaptive"
    modules = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
    functions = frozenset({"adaptive_avg_pool2d", "adaptive_max_pool2d"})

    def read_module(self, m):
        return {"arg": m.output_size}

    def read_call(self, node, name, model):
        return {"arg": node.kwargs.get("output_size", node.args[1] if len(node.args) > 1 else None)}

    def geometry(self, op, f, fields, values, where, input_size):
        if f.dims is None:
            return f
        out = op.arg if isinstance(op.arg, (tuple, list)) else (op.arg, op.arg)
        if f.dims != (-2, -1):
            raise ReceptiveFieldError(f"{where} pools the last two axes, but the feature map's rows and "
                                      f"columns are at axes {f.dims}")
        if all(o == 1 for o in out):
            return global_field(f.ndim, f)  # global pooling: every unit after it sees the whole input
        if f.shape is None:
            raise ReceptiveFieldError(f"{where} pools to {tuple(out)}: its windows depend on the map size. Give "
                                      "input_size, or pass the part of the model before it (model.features).")
        kernel = []
        for a in (0, 1):
            o, n = out[a], f.shape[a]
            if o is None or o == n:
                kernel.append(1)
            elif n % o == 0:
                kernel.append(n // o)
            else:
                raise ReceptiveFieldError(f"{where} pools a {f.shape[0]}x{f.shape[1]} map to {tuple(out)}: its "
                                          "windows overlap unevenly, so no single field describes a unit. Choose "
                                          "an input_size that makes the map a multiple of the output size.")
        return apply_window(f, layer_geometry(nn.AvgPool2d(tuple(kernel))), where, input_size)

    def count(self, op, tensors, run):
        return F.adaptive_avg_pool2d(tensors[0], op.arg)


# --------------------------------------------------------------------------- channels and shapes
class _Linear(_Rule):
    """``Linear`` mixes the last axis: fine on channels (channels last), refused on columns."""

    kind = "linear"
    modules = (nn.Linear,)
    functions = frozenset({"linear"})

    def geometry(self, op, f, fields, values, where, input_size):
        if f.dims is not None and (f.dims[1] == -1 or f.dims[0] == -1):
            raise ReceptiveFieldError(f"{where} multiplies along the last axis, which is a spatial axis "
                                      "(the columns) of the feature map: flatten the map first (then every "
                                      "unit sees the whole input), or pass only the convolutional part "
                                      "(for example model.features)")
        return f

    def count(self, op, tensors, run):
        return tensors[0].sum(dim=-1, keepdim=True)


class _Norm(_Rule):
    """Layer, group and instance normalization over the last ``arg`` axes: spatial ones mix."""

    kind = "norm"
    modules = (nn.LayerNorm, nn.GroupNorm, nn.InstanceNorm2d)
    functions = frozenset({"layer_norm", "group_norm", "instance_norm"})

    def read_module(self, m):  # group and instance norm: channels, rows and columns together
        return {"arg": len(m.normalized_shape) if isinstance(m, nn.LayerNorm) else 3}

    def read_call(self, node, name, model):
        if name != "layer_norm":
            return {"arg": 3}
        shape = node.kwargs.get("normalized_shape", node.args[1] if len(node.args) > 1 else ())
        return {"arg": len(shape) if isinstance(shape, (list, tuple)) else 1}

    def geometry(self, op, f, fields, values, where, input_size):
        if f.dims is None:
            return f
        mixed = any(p >= f.ndim - op.arg for p in spatial_positions(f))
        return replace(f, whole=not f.gaps, note="; ".join(filter(None, (f.note, not_whole(f.gaps))))) if mixed else f

    def count(self, op, tensors, run):
        return tensors[0] + tensors[0].mean(dim=tuple(range(-op.arg, 0)), keepdim=True)


class _Pointwise(_Rule):
    """Element-wise layers and functions (and normalization across channels): field unchanged."""

    kind = "pointwise"
    modules = (nn.LocalResponseNorm,)  # across channels at each position
    functions = frozenset({
        "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "elu_", "selu", "celu", "gelu",
        "silu", "mish", "sigmoid", "sigmoid_", "tanh", "tanh_", "softplus", "hardtanh", "hardtanh_",
        "hardswish", "hardsigmoid", "softsign", "dropout", "dropout2d", "alpha_dropout",
        "feature_alpha_dropout", "stochastic_depth", "batch_norm", "contiguous", "clone", "float",
        "double", "to", "type_as", "abs", "neg", "exp", "sqrt", "rsqrt", "square", "clamp", "clamp_",
        "clip", "pow", "erf",
    })

    def geometry(self, op, f, fields, values, where, input_size):
        return merge_fields(fields, where)

    def count(self, op, tensors, run):
        return tensors[0]


class _Add(_Pointwise):
    """Branches that meet in a sum or a difference: the union of their fields."""

    kind = "add"
    modules = ()
    functions = frozenset({"add", "add_", "iadd", "sub", "sub_", "isub"})

    def count(self, op, tensors, run):
        return sum(tensors[1:], tensors[0])


class _Mul(_Pointwise):
    """Branches that meet in a product (a gate): the union of their fields."""

    kind = "mul"
    modules = ()
    functions = frozenset({"mul", "mul_", "imul", "truediv", "div", "div_", "itruediv"})

    def count(self, op, tensors, run):  # the largest factor times the others scaled to 1: the value
        # stays that of one factor (no overflow through many gates), the gradient positive
        main = max(range(len(tensors)), key=lambda i: tensors[i].numel())
        value = tensors[main]
        for i, t in enumerate(tensors):
            if i != main:
                value = value * (t / t.detach().clamp_min(1e-300))
        return value


class _Cat(_Pointwise):
    """Concatenation on the channels: the union of the fields; refused on a spatial axis."""

    kind = "cat"
    modules = ()
    functions = frozenset({"cat", "concat", "concatenate"})

    def read_call(self, node, name, model):
        return {"arg": node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else 0)}

    def geometry(self, op, f, fields, values, where, input_size):
        if f.dims is not None:
            dim = norm_dim(op.arg, f.ndim, where)
            if dim in spatial_positions(f):
                raise ReceptiveFieldError(f"{where} concatenates along a spatial axis: the units of the "
                                          "result do not share one geometry")
        return merge_fields(fields, where)

    def count(self, op, tensors, run):
        return run()


class _Stack(_Rule):
    """``stack``: branches meet on a new axis: the union of their fields, the rows and columns
    moved one axis on when the new axis comes before them."""

    kind = "stack"
    functions = frozenset({"stack"})

    def read_call(self, node, name, model):
        return {"arg": node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else 0)}

    def geometry(self, op, f, fields, values, where, input_size):
        merged = merge_fields(fields, where)
        ndim = merged.ndim + 1
        dim = norm_dim(op.arg, ndim, where)  # where the new axis is in the result
        if merged.dims is None:
            return replace(merged, ndim=ndim)
        return replace(merged, ndim=ndim, dims=tuple((p if p < dim else p + 1) - ndim
                                                     for p in spatial_positions(merged)))

    def count(self, op, tensors, run):  # the copy's maps may have 1 channel where others have more
        return torch.stack(torch.broadcast_tensors(*tensors), dim=op.arg)


class _Flatten(_Rule):
    """``flatten``: of the spatial axes, every unit sees the whole input; else axes move."""

    kind = "flatten"
    modules = (nn.Flatten,)
    functions = frozenset({"flatten"})

    def read_module(self, m):
        return {"arg": (m.start_dim, m.end_dim), "module": m}

    def read_call(self, node, name, model):
        args = list(node.args[1:]) + [None, None]
        start = node.kwargs.get("start_dim", args[0] if args[0] is not None else 0)
        end = node.kwargs.get("end_dim", args[1] if args[1] is not None else -1)
        return {"arg": (start, end)}

    def geometry(self, op, f, fields, values, where, input_size):
        start, end = (norm_dim(d, f.ndim, where) for d in op.arg)
        if f.dims is None or any(start <= p <= end for p in spatial_positions(f)):
            return global_field(f.ndim - (end - start), f)  # nothing spatial is left
        shift = end - start if spatial_positions(f)[0] < start else 0
        return replace(f, ndim=f.ndim - (end - start), dims=(f.dims[0] + shift, f.dims[1] + shift))


class _Permute(_Rule):
    """``permute``: the rows and columns move to other axes."""

    kind = "permute"
    functions = frozenset({"permute"})

    def read_call(self, node, name, model):
        dims = node.kwargs.get("dims", node.args[1:])
        if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
            dims = dims[0]
        return {"arg": tuple(dims)}

    def geometry(self, op, f, fields, values, where, input_size):
        if f.dims is None:
            return f
        perm = [norm_dim(d, f.ndim, where) for d in op.arg]
        return replace(f, dims=tuple(perm.index(p) - f.ndim for p in spatial_positions(f)))


class _Transpose(_Rule):
    """``transpose`` / ``swapaxes``: two axes trade places."""

    kind = "transpose"
    functions = frozenset({"transpose", "swapaxes"})

    def read_call(self, node, name, model):
        return {"arg": tuple(node.args[1:3])}

    def geometry(self, op, f, fields, values, where, input_size):
        if f.dims is None:
            return f
        a, b = (norm_dim(d, f.ndim, where) for d in op.arg)
        swap = {a: b, b: a}
        return replace(f, dims=tuple(swap.get(p, p) - f.ndim for p in spatial_positions(f)))


class _Reshape(_Rule):
    """``view`` / ``reshape`` to at most two axes flattens the map; more axes cannot be followed."""

    kind = "reshape"
    functions = frozenset({"view", "reshape"})

    def read_call(self, node, name, model):
        shape = node.args[1:]
        if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
            shape = shape[0]
        return {"arg": len(shape)}

    def geometry(self, op, f, fields, values, where, input_size):
        if f.dims is None or op.arg <= 2:
            return global_field(op.arg, f)
        raise ReceptiveFieldError(f"{where} reshapes a feature map into {op.arg} axes: the rows and columns "
                                  "cannot be followed through it. Pass the part of the model before it.")


class _Reduce(_Rule):
    """Reductions: over a spatial axis every unit sees the whole input; a max counts as a mean."""

    kind = "reduce"
    functions = frozenset({"mean", "sum", "amax", "amin", "std", "var", "logsumexp"})

    def read_call(self, node, name, model):
        dims = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else None)
        keep = node.kwargs.get("keepdim", node.args[2] if len(node.args) > 2 else False)
        return {"arg": (dims, bool(keep))}

    def geometry(self, op, f, fields, values, where, input_size):
        dims, keep = op.arg
        if f.dims is None:
            n = f.ndim if dims is None else len(dims) if isinstance(dims, (list, tuple)) else 1
            return global_field(f.ndim if keep else f.ndim - (f.ndim if dims is None else n), f)
        pos = spatial_positions(f)
        reduced = list(range(f.ndim)) if dims is None else [
            norm_dim(d, f.ndim, where) for d in (dims if isinstance(dims, (list, tuple)) else [dims])]
        if any(p in reduced for p in pos):
            return global_field(f.ndim if keep else f.ndim - len(reduced), f)
        if keep:
            return f
        return replace(f, ndim=f.ndim - len(reduced),
                       dims=tuple(d + sum(r > p for r in reduced) for d, p in zip(f.dims, pos)))

    def count(self, op, tensors, run):
        if op.label in ("amax", "amin"):  # a max routes to one winner
            dims, keep_dim = op.arg
            return tensors[0].mean(dim=dims, keepdim=keep_dim)
        return run()


class _Meta(_Rule):
    """Sizes and shapes: values computed from the input's shape, not from its pixels."""

    kind = "meta"
    functions = frozenset({"size", "dim", "getattr", "numel"})

    def geometry(self, op, f, fields, values, where, input_size):
        return META_VALUE


class _Getitem(_Rule):
    """Indexing: a piece of a split, a size, or a tensor indexed on non-spatial axes."""

    kind = "getitem"
    functions = frozenset({"getitem"})

    def read_call(self, node, name, model):
        return {"arg": node.args[1]}

    def geometry(self, op, f, fields, values, where, input_size):
        base = values[0]
        if isinstance(base, Many):
            return base.field
        if base is META_VALUE:
            return META_VALUE
        items = op.arg if isinstance(op.arg, tuple) else (op.arg,)
        if f.dims is None:
            return f
        pos = spatial_positions(f)
        if any(i is None for i in items) or sum(i is Ellipsis for i in items) > 1:
            raise ReceptiveFieldError(f"{where} adds axes to the feature map (None): not supported")
        if Ellipsis in items:
            at = items.index(Ellipsis)
            items = items[:at] + (slice(None),) * (f.ndim - len(items) + 1) + items[at + 1:]
        dropped = 0
        for p, item in enumerate(items):
            if p in pos:
                if item != slice(None):
                    raise ReceptiveFieldError(f"{where} crops or indexes a spatial axis of the feature map: the "
                                              "field of the result is not a sliding window")
            elif not isinstance(item, slice):
                dropped += 1
        return replace(f, ndim=f.ndim - dropped)


class _Split(_Rule):
    """``chunk`` / ``split`` on a non-spatial axis: every piece has the field of the whole."""

    kind = "split"
    functions = frozenset({"chunk", "split", "tensor_split"})

    def read_call(self, node, name, model):
        return {"arg": node.kwargs.get("dim", node.args[2] if len(node.args) > 2 else 0)}

    def geometry(self, op, f, fields, values, where, input_size):
        if f.dims is not None and norm_dim(op.arg, f.ndim, where) in spatial_positions(f):
            raise ReceptiveFieldError(f"{where} splits the feature map along a spatial axis; the field of "
                                      "the pieces is not a sliding window")
        return Many(f)

    def count(self, op, tensors, run):  # the copy has one channel: every piece is the whole
        return _Pieces((tensors[0],))


class _Pieces(tuple):
    """The pieces of a split in the one-channel counting copy: each is the whole map (the
    copy sums the channels, so it has fewer pieces than the model); ``torch.cat`` reads the
    one piece, indexing gives it for any index."""

    def __getitem__(self, index):
        return tuple.__getitem__(self, 0) if isinstance(index, int) else tuple.__getitem__(self, index)


# --------------------------------------------------------------------------- the table
WINDOW, POINTWISE = _Window(), _Pointwise()
RULES: tuple[_Rule, ...] = (  # layer classes are tested in this order
    WINDOW, _Adaptive(), _Flatten(), _Linear(), _Norm(), POINTWISE, _Add(), _Mul(), _Cat(), _Stack(),
    _Permute(), _Transpose(), _Reshape(), _Reduce(), _Meta(), _Getitem(), _Split(),
)
BOUNDARY = {"placeholder": (_Boundary("input"), "input"), "get_attr": (_Boundary("const"), "constant"),
            "output": (_Boundary("output"), "output")}
