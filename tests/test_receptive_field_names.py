"""node_names, leaf_modules and the named error of cnncourse.receptive_field."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnncourse.receptive_field import (
    ReceptiveFieldError,
    gradient_support,
    measure_field,
    node_names,
    receptive_field,
    support_extent,
    usage_map,
)


class _SignFlip(nn.Module):
    """Element-wise, but its forward branches on a tensor value: torch.fx cannot trace it."""

    def forward(self, x):
        return x if x.sum() > 0 else -x


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2))
        self.flip = _SignFlip()
        self.head = nn.Conv2d(2, 1, 3, padding=1)

    def forward(self, x):
        y = self.features(x)
        return self.head(self.flip(y)) + y.sum(1, keepdim=True)


def test_node_names_are_the_table_rows_and_what_node_takes():
    """The names node_names lists are the rows of the table, in order, and every one is
    accepted by node= (torchvision's get_graph_node_names for the receptive field)."""
    stack = nn.Sequential(nn.Conv2d(1, 1, 3), nn.ReLU(), nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(1, 1, 3)))
    names = node_names(stack)
    assert names == ["0", "1", "2.0", "2.1"]
    assert [row.name for row in receptive_field(stack)] == names
    for name in names:
        assert measure_field(stack, 24, name).name == name


def test_node_names_come_for_a_model_whose_field_cannot_be_computed():
    model = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Upsample(scale_factor=2))
    assert node_names(model) == ["0", "1"]
    with pytest.raises(ReceptiveFieldError, match=r"layer 1 \(Upsample, node '1'\).*leaf_modules"):
        receptive_field(model)


def test_functions_and_sizes_in_node_names():
    class Gate(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 3, padding=1)

        def forward(self, x):
            n = x.size(0)  # a size lookup is not a node of the table
            return (self.conv(x) * torch.sigmoid(x)).view(n, -1)

    assert node_names(Gate()) == ["conv", "sigmoid", "mul", "view"]


def test_leaf_modules_trace_past_an_untraceable_module():
    """Without leaf_modules the trace fails, naming the module and the way out; with the
    module's class or its name as a leaf, it is one element-wise node, and the theory equals
    the gradient support."""
    with pytest.raises(ReceptiveFieldError, match=r"inside flip \(_SignFlip\).*leaf_modules"):
        receptive_field(_Net())
    for leaves in ([_SignFlip], ["flip"]):
        assert "flip" in node_names(_Net(), leaf_modules=leaves)
        rf = receptive_field(_Net(), 24, leaf_modules=leaves)
        assert rf["flip"].kind == "_SignFlip" and rf["flip"].size == (4, 4)
        assert rf.size == (8, 8) and rf.jump == (2, 2)
        me = measure_field(_Net(), 24, leaf_modules=leaves)
        assert (me.size, me.jump, me.start) == (rf.size, rf.jump, rf.start)
        mask = gradient_support(_Net(), 24, node="flip", leaf_modules=leaves)
        (r0, r1), (c0, c1) = support_extent(mask)
        assert (r1 - r0 + 1, c1 - c0 + 1) == (4, 4)
        assert usage_map(_Net(), 24, None, leaf_modules=leaves).shape == (24, 24)


def test_a_known_leaf_keeps_its_rule():
    model = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 5, dilation=2))
    assert receptive_field(model, leaf_modules=[nn.Conv2d]).size == receptive_field(model).size == (11, 11)
    single = receptive_field(_SignFlip(), leaf_modules=[_SignFlip])  # the model itself as a leaf
    assert single.size == (1, 1) and single[0].kind == "_SignFlip"


def test_bad_leaf_modules():
    with pytest.raises(TypeError, match=r"leaf_modules.*list.*'flip'"):
        receptive_field(_Net(), leaf_modules="flip")
    with pytest.raises(TypeError, match=r"leaf_modules must hold.*3"):
        receptive_field(_Net(), leaf_modules=[3])
    with pytest.raises(ValueError, match=r"leaf_modules names \['flop'\].*flip"):
        receptive_field(_Net(), leaf_modules=["flop", "flip"])


def test_the_named_error_is_a_value_error_and_names_node_and_operation():
    """Every refusal of an operation is a ReceptiveFieldError (a ValueError, so callers that
    catch ValueError keep working) naming the node and the operation."""
    with pytest.raises(ReceptiveFieldError, match=r"\(Linear, node '1'\)"):
        receptive_field([nn.Conv2d(1, 1, 3), nn.Linear(3, 3)])
    with pytest.raises(ValueError, match=r"\(cat, node 'cat'\) concatenates along a spatial axis"):
        receptive_field(_Cat())
    assert issubclass(ReceptiveFieldError, ValueError)
    with pytest.raises(ValueError, match=r"no node or module named 'nope'.*node_names"):
        usage_map(nn.Conv2d(1, 1, 3), 8, node="nope")


class _Cat(nn.Module):
    def forward(self, x):
        return torch.cat([x, x], dim=-1)
