"""The theoretical receptive field: the recurrence of size, jump and centre, run along the
traced graph (:func:`receptive_field`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import torch.fx as fx
from torch import nn

from cnncourse._checks import check_int
from cnncourse.geometry import output_shape
from cnncourse.receptive_field._graph import _check_size, _Op, _trace, _Traced, _where, _window_op
from cnncourse.receptive_field.table import LayerField, ReceptiveField, _square


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
