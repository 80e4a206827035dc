"""Tracing a model with ``torch.fx``: the model and its input size as the receptive field
takes them, the traced nodes, their names in the table, and reading a node (the name of what
it calls, its parameters); what each node does is the rules' business (``_rules``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.fx as fx
from torch import nn

from cnncourse._checks import check_pair
from cnncourse.receptive_field.errors import ReceptiveFieldError

__all__ = ["check_size", "flatten_layers", "Traced", "param_value", "call_name", "trace_model",
           "describe_node"]


def check_size(input_size, name: str = "input_size") -> tuple[int, int]:
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
    """``torch.fx`` tracer that remembers in which module a trace failed, and does not trace
    into the leaf modules given (classes, or qualified names as :func:`node_names` gives)."""

    def __init__(self, leaf_classes: tuple[type, ...] = (), leaf_names: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.failed_in: str | None = None
        self.leaf_classes, self.leaf_names = leaf_classes, leaf_names
        self.leaves: set[str] = set()  # the qualified names of the given leaf modules met

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        if isinstance(m, self.leaf_classes) or module_qualified_name in self.leaf_names:
            self.leaves.add(module_qualified_name)
            return True
        return super().is_leaf_module(m, module_qualified_name)

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


def _check_leaves(leaf_modules) -> tuple[tuple[type, ...], frozenset[str]]:
    """``leaf_modules`` as (classes, qualified names); ``None`` is none."""
    if leaf_modules is None:
        return (), frozenset()
    if isinstance(leaf_modules, (str, type)) or not isinstance(leaf_modules, Iterable):
        raise TypeError("leaf_modules must be a list of nn.Module classes or module names "
                        f"(as node_names gives them), got {leaf_modules!r}")
    classes, names = [], []
    for item in leaf_modules:
        if isinstance(item, type) and issubclass(item, nn.Module):
            classes.append(item)
        elif isinstance(item, str):
            names.append(item)
        else:
            raise TypeError("leaf_modules must hold nn.Module classes or module names (str), "
                            f"got {item!r}")
    return tuple(classes), frozenset(names)


def _as_model(layers, leaf_classes: tuple[type, ...] = ()) -> nn.Module:
    if isinstance(layers, (list, tuple)):
        for i, m in enumerate(layers):
            if not isinstance(m, nn.Module):
                raise TypeError(f"layer {i} is a {type(m).__name__}, not an nn.Module")
        return nn.Sequential(*layers)
    if not isinstance(layers, nn.Module):
        raise TypeError(f"layers must be an nn.Module (a model, an nn.Sequential, a layer) or a list "
                        f"of modules, got {type(layers).__name__}")
    if not isinstance(layers, nn.Sequential) and (fx.Tracer().is_leaf_module(layers, "")
                                                  or isinstance(layers, leaf_classes)):
        return nn.Sequential(layers)  # a single built-in layer: trace it as a one-layer stack
    return layers


@dataclass
class Traced:
    model: nn.Module
    nodes: list
    ops: dict
    names: dict
    leaves: frozenset = frozenset()  # the modules traced as leaves at the caller's request


def param_value(model: nn.Module, node) -> torch.Tensor | None:
    if getattr(node, "op", None) != "get_attr":
        return None
    value = model
    for part in node.target.split("."):
        value = getattr(value, part)
    return value if isinstance(value, torch.Tensor) else None


def call_name(node) -> str:
    """The name of a called function or method (``"add"``, ``"flatten"``, ``"getitem"``)."""
    return node.target if node.op == "call_method" else getattr(node.target, "__name__", str(node.target))


def _node_name(node, counts: dict) -> str:
    if node.op == "call_module":
        counts[node.target] = counts.get(node.target, 0) + 1
        return node.target if counts[node.target] == 1 else f"{node.target}:{counts[node.target]}"
    stack = node.meta.get("nn_module_stack") or {}
    scopes = [v[0] if isinstance(v, tuple) else k for k, v in stack.items()]
    scope = scopes[-1] if scopes else ""
    return f"{scope}.{node.name}" if scope else node.name


def trace_model(layers, classify, leaf_modules=None) -> Traced:
    """Trace ``layers``, not into the ``leaf_modules``; ``classify(node, model, modules,
    leaves)`` says what each node does (the rules)."""
    leaf_classes, leaf_names = _check_leaves(leaf_modules)
    model = _as_model(layers, leaf_classes)
    tracer = _Tracer(leaf_classes, leaf_names)
    try:
        graph = tracer.trace(model)
    except Exception as exc:  # noqa: BLE001 - any failure of torch.fx is reported the same way
        where = f" (it failed inside {tracer.failed_in})" if tracer.failed_in else ""
        raise ReceptiveFieldError(
            f"torch.fx cannot trace {type(model).__name__}{where}: {type(exc).__name__}: {exc}. "
            "The receptive field needs a model whose forward does not branch on tensor values: "
            "pass the part that can be traced, for example model.features, or an nn.Sequential "
            "of its layers, or pass the module that fails as a leaf module (leaf_modules=[...], "
            "if it acts on each position alone)."
        ) from None
    modules = dict(model.named_modules())
    unknown = sorted(leaf_names - set(modules))
    if unknown:
        raise ValueError(f"leaf_modules names {unknown}, which are not modules of {type(model).__name__}; "
                         f"its modules: {', '.join(sorted(n for n in modules if n)[:12])}")
    leaves = frozenset(tracer.leaves)
    nodes = list(graph.nodes)
    counts: dict = {}
    ops, names = {}, {}
    for node in nodes:
        ops[node] = classify(node, model, modules, leaves)
        names[node] = _node_name(node, counts) if node.op not in ("placeholder", "output") else node.name
    return Traced(model, nodes, ops, names, leaves)


def describe_node(traced: Traced, node, index: int | None = None) -> str:
    op = traced.ops.get(node)
    if op is not None:
        label = op.label
    elif node.op == "call_module":
        label = type(traced.model.get_submodule(node.target)).__name__
    else:
        label = call_name(node)
    at = f"layer {index} " if index is not None else ""
    return f"{at}({label}, node {traced.names[node]!r})"
