"""Tracing a model with ``torch.fx``: the model and its input size as the receptive field
takes them, the traced nodes, their names in the table, and what each node does (the
classification the theory and the counting copy share)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import torch
import torch.fx as fx
from torch import nn

from cnncourse._checks import check_pair
from cnncourse.geometry import Geometry, layer_geometry


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
