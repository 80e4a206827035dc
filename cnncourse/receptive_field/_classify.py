"""Which rule of the table (:mod:`._rules`) takes each node of a traced model: the
:class:`~._rules.Op` of every node, read once and shared by the theory and the counting copy."""

from __future__ import annotations

from torch import nn

from cnncourse.geometry import layer_geometry
from cnncourse.receptive_field._graph import Traced, call_name, trace_model
from cnncourse.receptive_field._rules import BOUNDARY, POINTWISE, RULES, WINDOW, Op
from cnncourse.receptive_field._windows import window_attrs

__all__ = ["trace_rules"]

_FUNCTIONS = {}  # function and method name -> its rule
for _rule in RULES:
    for _name in _rule.functions:
        if _name in _FUNCTIONS:
            raise RuntimeError(f"{_name!r} is claimed by the rules {_FUNCTIONS[_name].kind} and {_rule.kind}")
        _FUNCTIONS[_name] = _rule
del _rule, _name


def _classify(node, model: nn.Module, modules: dict, leaves: frozenset = frozenset()) -> Op | None:
    """The rule of one node and what it read; ``None`` for an operation no rule knows. A leaf
    module the caller named (``leaves``) that no rule knows is taken as element-wise."""
    if node.op in BOUNDARY:
        return Op(*BOUNDARY[node.op])
    if node.op == "call_module":
        m = modules[node.target]
        label = type(m).__name__
        for rule in RULES:
            if isinstance(m, rule.modules):
                return Op(rule, label, **rule.read_module(m))
        try:  # a layer no rule lists: element-wise if geometry says it keeps the map's size
            geometry = layer_geometry(m)
        except TypeError:
            return Op(POINTWISE, label) if node.target in leaves else None
        return Op(POINTWISE, label) if geometry is None else Op(WINDOW, label, **window_attrs(m, m))
    name = call_name(node)
    rule = _FUNCTIONS.get(name)
    attrs = None if rule is None else rule.read_call(node, name, model)
    return None if attrs is None else Op(rule, name, **attrs)


def trace_rules(layers, leaf_modules=None) -> Traced:
    """Trace ``layers`` (not into the ``leaf_modules``) and give every node its rule."""
    return trace_model(layers, _classify, leaf_modules)
