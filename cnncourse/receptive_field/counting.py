"""Counting paths: the all-ones copy of a traced model, whose input gradient counts the
paths from each pixel to a unit (:func:`usage_map`), its support (:func:`gradient_support`)
and the field measured from it (:func:`measure_field`), the check of the theory."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
import torch.fx as fx
from torch import nn

from cnncourse._checks import as_tensor, check_pair, check_sequence, check_text, describe, to_numpy
from cnncourse.receptive_field._classify import trace_rules
from cnncourse.receptive_field._field import Field, spatial_positions
from cnncourse.receptive_field._graph import Traced, check_size, describe_node, param_value
from cnncourse.receptive_field.errors import ReceptiveFieldError
from cnncourse.receptive_field.theory import propagate

__all__ = ["node_names", "usage_map", "FieldMeasurement", "measure_field", "gradient_support",
           "support_extent"]


# --------------------------------------------------------------------------- counting paths
def _count_forward(traced: Traced, x: torch.Tensor, keep: set) -> dict:
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
            value = param_value(traced.model, node)
            env[node] = (torch.ones_like(value, dtype=x.dtype, device=x.device)
                         if value is not None and value.is_floating_point() else value)
            continue
        if node.op == "output":
            break
        args = fx.node.map_arg(node.args, lambda n: env[n])
        kwargs = fx.node.map_arg(node.kwargs, lambda n: env[n])
        tensors = [t for v in args for t in (v if isinstance(v, (list, tuple)) else (v,))
                   if isinstance(t, torch.Tensor)]  # those of a list too (cat, stack)
        run = partial(_run, traced, node, args, kwargs)  # the node as it is
        try:
            value = run() if op is None else op.rule.count(op, tensors, run)
        except (RuntimeError, ValueError) as exc:
            raise ReceptiveFieldError(f"the counting copy cannot run {describe_node(traced, node)}: {exc}") from None
        env[node] = value
        if node in keep:
            out[node] = value
    return out


def _run(traced: Traced, node, args, kwargs):
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


def _computing(traced: Traced) -> list:
    """The nodes that compute something: no input, output, constant or size lookup."""
    return [n for n in traced.nodes if n.op not in ("placeholder", "output", "get_attr")
            and not (traced.ops[n] is not None and traced.ops[n].kind == "meta")]


def node_names(layers: nn.Module | Iterable[nn.Module], leaf_modules: Iterable[type | str] | None = None
               ) -> list[str]:
    """The names of the nodes of a traced model, in running order (like torchvision's
    ``get_graph_node_names``).

    These are the names of the rows of the :func:`~cnncourse.receptive_field.receptive_field`
    table and what the ``node`` argument of :func:`usage_map`, :func:`gradient_support` and
    :func:`measure_field` takes: a module's path (``"features.3"``; ``"features.1:2"`` for
    its second call) or, for a function, its module scope and node name
    (``"layer1.0.add"``). Nothing is analysed, so the names come even for a model whose field
    cannot be computed: look up the node an error names.

    Parameters
    ----------
    layers
        A model accepted by :func:`~cnncourse.receptive_field.receptive_field`.
    leaf_modules
        Module classes or names not to trace into, as for
        :func:`~cnncourse.receptive_field.receptive_field`.

    Returns
    -------
    list of str
        One name per computing node (no input, output, constant or size lookup).

    Raises
    ------
    TypeError
        For ``layers`` that is not a module or a list of modules, or bad ``leaf_modules``.
    ReceptiveFieldError
        When ``torch.fx`` cannot trace the model.
    """
    traced = trace_rules(layers, leaf_modules)
    return [traced.names[n] for n in _computing(traced)]


def _find_node(traced: Traced, name: str | None):
    """The node called ``name``, or the last computing node inside the module ``name``."""
    computing = _computing(traced)
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
    raise ValueError(f"no node or module named {name!r}; top-level names: {', '.join(known[:12])} "
                     "(node_names(model) lists every name)")


def _measured(traced: Traced, shape, names: list) -> tuple[list, dict, dict]:
    """Propagate the theory as far as the named nodes need; run the counting copy on them."""
    targets = [_find_node(traced, name) for name in names]
    _, env = propagate(traced, shape, _ancestors(targets))
    for t in targets:
        if not isinstance(env.get(t), Field):
            raise ReceptiveFieldError(f"node {traced.names[t]!r} does not depend on the input pixels")
    x = torch.ones(1, 1, *shape, dtype=torch.float64, requires_grad=True)
    return targets, env, {"x": x, **_count_forward(traced, x, set(targets))}


def usage_map(layers: nn.Module | Iterable[nn.Module], input_size: int | tuple[int, int],
              unit: tuple[int, int] | str | None = "center", *, node: str | None = None,
              leaf_modules: Iterable[type | str] | None = None) -> np.ndarray:
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
        e.g. ``"layer2"`` for the output of a ResNet's second stage; :func:`node_names` lists
        them) instead of the last one.
    leaf_modules
        Module classes or names not to trace into, as for :func:`receptive_field`.

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
    shape = check_size(input_size)
    traced = trace_rules(layers, leaf_modules)
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


def _map_shape(y: torch.Tensor, f: Field) -> tuple[int, int]:
    pos = spatial_positions(f)
    h, w = y.shape[pos[0]], y.shape[pos[1]]
    if (h, w) != f.shape:  # guard: the copy must have the geometry that the theory computed
        raise RuntimeError(f"internal error: the counting copy gives a {h}x{w} map, the theory {f.shape}")
    return h, w


def _unit_value(y: torch.Tensor, f: Field, unit) -> torch.Tensor:
    h, w = _map_shape(y, f)
    i, j = check_pair(unit, "unit")
    if not (0 <= i < h and 0 <= j < w):
        raise ValueError(f"unit {unit!r} is outside the {h}x{w} output map")
    pos = spatial_positions(f)
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
                  node: str | Sequence[str] | None = None, *,
                  leaf_modules: Iterable[type | str] | None = None) -> FieldMeasurement | list[FieldMeasurement]:
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
        last node inside it), a list of them, or ``None`` for the last node (in a list too).
    leaf_modules
        Module classes or names not to trace into, as for :func:`receptive_field`.

    Returns
    -------
    FieldMeasurement or list of FieldMeasurement
        One per node, in the order given.

    Raises
    ------
    TypeError
        For a ``node`` that is not ``None``, a name or a sequence of names.
    ValueError
        When the support touches the image border (the field is clipped: give a larger
        ``input_size``), when a map is smaller than 2x2 (no neighbour to measure a jump), or
        as :func:`receptive_field`.
    """
    shape = check_size(input_size)
    traced = trace_rules(layers, leaf_modules)
    names = [node] if node is None or isinstance(node, str) else check_sequence(
        node, "node", item=lambda name, where: None if name is None else check_text(name, where))
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
                     unit: tuple[int, int] | str = "center", *, node: str | None = None,
                     leaf_modules: Iterable[type | str] | None = None) -> np.ndarray:
    """Boolean mask of the input pixels with a non-zero gradient for one output unit.

    Computed on the all-ones copy of :func:`usage_map`: with positive weights no two paths
    can cancel and max pooling cannot route the gradient to a single winner, so the mask is
    exactly the set of pixels that *can* influence the unit (its theoretical receptive field,
    clipped to the image). With dilation or with strides larger than kernels the mask has
    holes; its bounding box (:func:`support_extent`) is the theoretical size.

    Parameters
    ----------
    layers, input_size, node, leaf_modules
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
    return usage_map(layers, input_size, unit, node=node, leaf_modules=leaf_modules) > 0


def support_extent(mask: np.ndarray) -> tuple[tuple[int, int], tuple[int, int]]:
    """Bounding box of the non-zero entries of a 2-D map.

    Returns
    -------
    ((first_row, last_row), (first_col, last_col))
        Inclusive indices; the size is ``last - first + 1`` along each axis.

    Raises
    ------
    TypeError
        For a ``mask`` that is not an array of real numbers (a tensor, a NumPy array, a
        nested list).
    ValueError
        For a map that is not 2-D, has no non-zero entry, or is a meta tensor.
    """
    given = mask
    mask = to_numpy(as_tensor(mask, "mask", numbers=True), "mask")
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got {describe(given)}")
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        raise ValueError(f"mask has no non-zero entry, got {describe(given)}")
    return ((int(rows.min()), int(rows.max())), (int(cols.min()), int(cols.max())))
