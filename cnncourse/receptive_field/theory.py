"""The theoretical receptive field: the recurrence of size, jump and centre, run along the
traced graph node by node, each node by its rule (:func:`receptive_field`)."""

from __future__ import annotations

from collections.abc import Iterable

import torch.fx as fx
from torch import nn

from cnncourse.receptive_field._classify import trace_rules
from cnncourse.receptive_field._field import META_VALUE, Field, Many
from cnncourse.receptive_field._graph import Traced, check_size, describe_node
from cnncourse.receptive_field._rules import Op
from cnncourse.receptive_field.errors import ReceptiveFieldError
from cnncourse.receptive_field.table import LayerField, ReceptiveField

__all__ = ["propagate", "receptive_field"]


def propagate(traced: Traced, input_size, needed: set | None = None) -> tuple[list, dict]:
    """Run the recurrence over the traced graph (only the ``needed`` nodes, if given);
    return the table rows and the node states."""
    if not isinstance(traced, Traced):
        raise TypeError(f"traced must be what trace_rules returns, got {type(traced).__name__}")
    input_size = None if input_size is None else check_size(input_size)
    if needed is not None and not isinstance(needed, (set, frozenset)):
        raise TypeError(f"needed must be a set of graph nodes or None, got "
                        f"{type(needed).__name__} ({needed!r:.40})")
    env: dict = {}
    rows: list[LayerField] = []
    seen_input = False
    for node in traced.nodes:
        if needed is not None and node not in needed:
            continue
        op = traced.ops[node]
        if node.op == "placeholder":
            if not seen_input:
                env[node] = Field(4, (-2, -1), (1, 1), (1, 1), (0.0, 0.0), shape=input_size)
                seen_input = True
            else:
                env[node] = None
            continue
        if node.op == "output":
            continue
        values = []
        fx.node.map_arg((node.args, node.kwargs), lambda n, acc=values: acc.append(env[n]))
        # the pieces of a chunk/split (a tuple passed on whole, as to cat) have the field of the whole
        fields = [v.field if isinstance(v, Many) else v for v in values if isinstance(v, (Field, Many))]
        if node.op == "get_attr" or not fields:
            env[node] = META_VALUE if any(v is META_VALUE for v in values) else None
            continue
        where = describe_node(traced, node, len(rows))
        if op is None:
            raise ReceptiveFieldError(
                f"receptive_field does not know {where}: it has no fixed receptive field or is "
                "not supported (convolutions, poolings, element-wise layers, add, mul, cat, stack, "
                "flatten, permute, global pooling and Linear are). Pass the part of the model "
                "before it, for example model.features, or an nn.Sequential of its layers; if it "
                "acts on each position alone, pass its module as a leaf module (leaf_modules=[...]).")
        result = op.rule.geometry(op, fields[0], fields, values, where, input_size)
        env[node] = result
        if isinstance(result, Field):
            rows.append(_row(len(rows), traced.names[node], op, result))
    return rows, env


def _row(index: int, name: str, op: Op, f: Field) -> LayerField:
    g = op.geometry if op.kind == "window" else None
    if op.kind == "adaptive" and f.dims is not None:
        g = None
    kernel = g.span if g else (1, 1)
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
                    input_size: int | tuple[int, int] | None = None, *,
                    leaf_modules: Iterable[type | str] | None = None) -> ReceptiveField:
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
      squeeze-and-excitation gate): the row says ``whole``, its units see the whole input,
      unless a window before may have left input pixels unread (a stride larger than the
      window, a last window short of the border): then the row's ``note`` says which.

    Parameters
    ----------
    layers
        Any model ``torch.fx`` can trace (a torchvision ResNet, DenseNet, ...), an
        ``nn.Sequential`` (nested ones are flattened in the names), a single layer, or a list
        of layers. Its input is ``Tensor[N, C, H, W]``.
    input_size
        Optional input side or ``(height, width)``; when given, every row also records the
        ``(height, width)`` of the node's output map, and a too small input raises.
    leaf_modules
        Module classes (``nn.Module`` subclasses) or module names (as :func:`node_names`
        gives them) not to trace into, as in torchvision's feature extraction: the escape
        hatch for a module whose forward ``torch.fx`` cannot trace. Each becomes one node; a
        leaf whose class a rule knows (a convolution, a pooling, an activation ...) keeps its
        rule, any other is taken as element-wise: its output at each position must depend on
        its input at that position only.

    Returns
    -------
    ReceptiveField
        The table, one row per node whose output depends on the input; ``print`` it, read
        ``.size``, ``.jump``, ``.start`` (last row), or ``table["layer3"]`` (a stage's output).

    Raises
    ------
    TypeError
        For ``layers`` that is not a module or a list of modules, a malformed input size or
        malformed ``leaf_modules``.
    ReceptiveFieldError
        (a ``ValueError``) When ``torch.fx`` cannot trace the model (naming the module where it failed and what to
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
    shape = None if input_size is None else check_size(input_size)
    rows, _ = propagate(trace_rules(layers, leaf_modules), shape)
    return ReceptiveField(tuple(rows), shape)
