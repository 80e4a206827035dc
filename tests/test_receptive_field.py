"""Tests of cnncourse.receptive_field: the arithmetic, the gradient maps and the fits."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from cnncourse.receptive_field import (
    GaussianFit,
    conv_stack,
    effective_receptive_field,
    fit_gaussian,
    fit_power_law,
    flatten_layers,
    gradient_support,
    mass_radius,
    measure_field,
    receptive_field,
    support_extent,
    usage_map,
)

matplotlib.use("Agg")


# --------------------------------------------------------------------------- arithmetic
@pytest.mark.parametrize("n", [1, 2, 3, 5, 10])
def test_n_3x3_convs_give_2n_plus_1(n):
    rf = receptive_field(conv_stack(n))
    assert rf.size == (2 * n + 1, 2 * n + 1)
    assert rf.jump == (1, 1)
    assert rf.start == (0.0, 0.0)  # 'same' padding keeps unit (0, 0) centred on pixel (0, 0)


def test_pool_doubles_the_jump():
    stack = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 4, 3), nn.ReLU())
    rf = receptive_field(stack)
    sizes = [row.size[0] for row in rf]
    jumps = [row.jump[0] for row in rf]
    assert sizes == [3, 3, 4, 8, 8]
    assert jumps == [1, 1, 2, 2, 2]
    assert rf.start == (3.5, 3.5)


def test_dilations_1_2_4_give_15():
    stack = [nn.Conv2d(1, 1, 3, dilation=d, padding=d) for d in (1, 2, 4)]
    rf = receptive_field(stack)
    assert rf.size == (15, 15)
    assert [row.kernel for row in rf] == [(3, 3), (5, 5), (9, 9)]
    assert [row.dilation for row in rf] == [(1, 1), (2, 2), (4, 4)]


def test_lesson8_features():
    features = nn.Sequential(nn.Conv2d(1, 24, 5), nn.MaxPool2d(2), nn.ReLU(),
                             nn.Conv2d(24, 32, 3), nn.MaxPool2d(2), nn.ReLU())
    rf = receptive_field(features, 28)
    assert rf.size == (12, 12) and rf.jump == (4, 4)
    assert rf.out_shape == (5, 5)
    assert [row.out_shape for row in rf] == [(24, 24), (12, 12), (12, 12), (10, 10), (5, 5), (5, 5)]


def test_out_shapes_match_pytorch():
    stack = nn.Sequential(nn.Conv2d(1, 2, (3, 5), stride=(1, 2), padding=(1, 0)), nn.ReLU(),
                          nn.MaxPool2d(3, stride=2, ceil_mode=True), nn.AvgPool2d(2, padding=1),
                          nn.Conv2d(2, 2, 3, padding="same", dilation=2), nn.BatchNorm2d(2))
    rf = receptive_field(stack, (31, 40))
    y = stack.eval()(torch.zeros(1, 1, 31, 40))
    assert rf.out_shape == tuple(y.shape[-2:])


def test_non_square_per_axis():
    rf = receptive_field([nn.Conv2d(1, 1, (1, 3)), nn.MaxPool2d((2, 1)), nn.Conv2d(1, 1, (3, 3))])
    assert rf.size == (6, 5)  # rows: 1 -> 2 (pool) -> 2 + 2 * 2; columns: 3 -> 3 -> 3 + 2 * 1
    assert rf.jump == (2, 1)
    assert "x" in str(rf)


def test_nested_sequentials_are_flattened():
    inner = nn.Sequential(nn.Conv2d(1, 1, 3), nn.ReLU())
    model = nn.Sequential(inner, nn.Sequential(inner, nn.Sequential(nn.MaxPool2d(2))))
    names = [name for name, _ in flatten_layers(model)]
    assert names == ["0.0", "0.1", "1.0.0", "1.0.1", "1.1.0"]
    assert receptive_field(model).size == (6, 6)


def test_table_prints_every_layer():
    rf = receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3), nn.ReLU(), nn.MaxPool2d(2)), 10)
    text = str(rf)
    lines = text.splitlines()
    assert len(lines) == 2 + 1 + 3  # header, rule, input row, three layers
    assert "MaxPool2d" in text and "jump" in text and "4x4" in text


def test_empty_stack_is_the_input():
    rf = receptive_field([])
    assert len(rf) == 0 and rf.size == (1, 1) and rf.jump == (1, 1)


def test_unknown_layer_is_named():
    with pytest.raises(ValueError, match=r"layer 1 \(Linear, node '1'\).*spatial axis"):
        receptive_field([nn.Conv2d(1, 1, 3), nn.Linear(3, 3)])
    with pytest.raises(ValueError, match=r"layer 1 \(Upsample, node '1'\).*model.features"):
        receptive_field([nn.Conv2d(1, 1, 3), nn.Upsample(scale_factor=2)])


def test_global_pooling_flatten_and_linear_see_the_whole_input():
    stack = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(2, 2))
    rf = receptive_field(stack, 9)
    assert [r.whole for r in rf] == [False, False, True, True, True]
    assert rf.whole and rf.size is None and rf.jump is None and rf.out_shape is None
    assert "whole" in str(rf)
    assert gradient_support(stack, 9).all()
    with pytest.raises(ValueError, match="whole input"):
        rf.bounds((0, 0))
    # flatten of the spatial axes without pooling: the same
    assert receptive_field([nn.Conv2d(1, 1, 3), nn.Flatten(), nn.Linear(4, 2)]).whole


def test_adaptive_pooling_to_a_divisor_is_a_window():
    rf = receptive_field([nn.Conv2d(1, 1, 3, padding=1), nn.AdaptiveMaxPool2d((4, 2))], 8)
    assert rf.size == (4, 6) and rf.jump == (2, 4) and rf.out_shape == (4, 2)
    with pytest.raises(ValueError, match="input_size"):
        receptive_field([nn.AdaptiveAvgPool2d(3)])
    with pytest.raises(ValueError, match="unevenly"):
        receptive_field([nn.AdaptiveAvgPool2d(3)], 8)


def test_bad_arguments():
    with pytest.raises(TypeError, match="layers"):
        receptive_field(42)
    with pytest.raises(ValueError, match="input_size"):
        receptive_field(conv_stack(2), 0)
    with pytest.raises(ValueError, match="too small"):
        receptive_field([nn.Conv2d(1, 1, 5)], 3)
    with pytest.raises(ValueError, match="depth"):
        conv_stack(0)
    with pytest.raises(ValueError, match="kernel_size"):
        conv_stack(2, kernel_size=4)
    with pytest.raises(ValueError, match="dilation"):
        conv_stack(2, dilation=[1])


# --------------------------------------------------------------------------- gradient maps
def test_usage_of_one_conv_over_the_image():
    counts = usage_map(nn.Conv2d(1, 1, 3, padding=1), 8, unit=None)
    assert counts[0, 0] == 4 and counts[0, 3] == 6 and counts[3, 3] == 9
    assert counts.sum() == 8 * 8 * 9 - (4 * 8 * 3 - 4)  # windows minus the padded taps


def test_usage_of_one_unit_is_a_product_of_box_convolutions():
    counts = usage_map(conv_stack(2, activation=None), 7)
    expected = np.outer([1, 2, 3, 2, 1], [1, 2, 3, 2, 1])
    assert np.array_equal(counts[1:6, 1:6], expected)
    assert counts.sum() == 81


def test_unit_argument():
    with pytest.raises(ValueError, match="outside"):
        usage_map(conv_stack(1), 5, unit=(5, 0))
    with pytest.raises(ValueError, match="unit"):
        usage_map(conv_stack(1), 5, unit="middle")
    corner = gradient_support(conv_stack(2), 9, unit=(0, 0))
    assert support_extent(corner) == ((0, 2), (0, 2))  # clipped by the image border


def test_gradient_support_of_the_lesson8_features():
    features = nn.Sequential(nn.Conv2d(1, 24, 5), nn.MaxPool2d(2), nn.ReLU(),
                             nn.Conv2d(24, 32, 3), nn.MaxPool2d(2), nn.ReLU())
    rf = receptive_field(features, 28)
    mask = gradient_support(features, 28)
    (r0, r1), (c0, c1) = support_extent(mask)
    assert (r1 - r0 + 1, c1 - c0 + 1) == rf.size
    assert ((r0, r1), (c0, c1)) == rf.bounds((2, 2))
    assert mask.sum() == 144  # dense: no holes


def test_dilated_support_has_holes_but_the_right_extent():
    mask = gradient_support([nn.Conv2d(1, 1, 3, dilation=3)], 13)
    assert support_extent(mask) == ((3, 9), (3, 9))
    assert mask.sum() == 9


layer_strategy = st.one_of(
    st.tuples(st.just("conv"), st.sampled_from([1, 2, 3, 5]), st.sampled_from([1, 2]),
              st.sampled_from([1, 2]), st.integers(0, 2)),
    st.tuples(st.just("max"), st.sampled_from([2, 3]), st.sampled_from([1, 2]), st.just(1), st.integers(0, 1)),
    st.tuples(st.just("avg"), st.sampled_from([2, 3]), st.sampled_from([1, 2]), st.just(1), st.just(0)),
    st.tuples(st.just("relu"), st.just(1), st.just(1), st.just(1), st.just(0)),
)


def _build(spec):
    layers = []
    for kind, k, s, d, p in spec:
        if kind == "conv":
            layers.append(nn.Conv2d(1, 1, k, stride=s, dilation=d, padding=min(p, d * (k - 1) // 2)))
        elif kind == "max":
            layers.append(nn.MaxPool2d(k, stride=s, padding=min(p, k // 2)))
        elif kind == "avg":
            layers.append(nn.AvgPool2d(k, stride=s))
        else:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


@settings(max_examples=30, deadline=None)
@given(st.lists(layer_strategy, min_size=1, max_size=5))
def test_gradient_support_matches_the_theory(spec):
    """The size/jump/start recurrence against brute force (the input pixels whose gradient can be
    non-zero). Seen failing against the mutants `field-size-ignores-the-jump`,
    `jump-forgets-earlier-strides` and `start-ignores-padding`."""
    stack = _build(spec)
    rf = receptive_field(stack)
    side = 2 * max(rf.size) + 4 * max(rf.jump) + 8
    assume(side <= 160)
    rf = receptive_field(stack, side)
    unit = ((rf.out_shape[0] - 1) // 2, (rf.out_shape[1] - 1) // 2)
    (lo, hi), _ = rf.bounds(unit)
    assume(lo >= 0 and hi <= side - 1)  # the field lies inside the image
    (r0, r1), (c0, c1) = support_extent(gradient_support(stack, side, unit))
    assert (r1 - r0 + 1, c1 - c0 + 1) == rf.size
    assert ((r0, r1), (c0, c1)) == rf.bounds(unit)
    # the real network (random weights, all-positive input) never reaches outside the field
    with torch.no_grad():
        for m in stack.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.abs_()
    x = torch.rand(1, 1, side, side) + 0.1
    x.requires_grad_(True)
    y = stack(x)
    (g,) = torch.autograd.grad(y[0, 0, unit[0], unit[1]], x)
    nz = np.nonzero(g[0, 0].numpy())
    if nz[0].size:
        assert nz[0].min() >= r0 and nz[0].max() <= r1 and nz[1].min() >= c0 and nz[1].max() <= c1


# --------------------------------------------------------------------------- effective field
def test_erf_is_normalized_and_inside_the_field():
    erf = effective_receptive_field(lambda: conv_stack(3, channels=4), 15, n_inputs=4, n_inits=2)
    assert erf.shape == (15, 15)
    assert math.isclose(erf.sum(), 1.0, rel_tol=1e-9)
    assert support_extent(erf > 0) == ((4, 10), (4, 10))
    assert erf[7, 7] == erf.max()


def test_erf_is_deterministic_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = effective_receptive_field(lambda: conv_stack(2, channels=4), 11, n_inputs=3, seed=5)
    after = torch.rand(1)
    b = effective_receptive_field(lambda: conv_stack(2, channels=4), 11, n_inputs=3, seed=5)
    assert torch.equal(before, after)
    assert np.array_equal(a, b)


def test_erf_of_a_linear_stack_with_all_ones_is_the_usage_map():
    def ones_stack():
        net = conv_stack(3, channels=1, activation=None)
        with torch.no_grad():
            for m in net:
                m.weight.fill_(1.0)
        return net

    erf = effective_receptive_field(ones_stack, 11, n_inputs=2)
    counts = usage_map(conv_stack(3, activation=None), 11)
    np.testing.assert_allclose(erf, counts / counts.sum(), rtol=1e-6)


def test_erf_with_given_inputs_and_modes():
    net = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU())
    net.train()
    erf = effective_receptive_field(net, inputs=torch.randn(5, 1, 9, 9), normalize=False)
    assert net.training  # mode restored
    assert erf.shape == (9, 9) and erf.sum() > 0
    with pytest.raises(ValueError, match="n_inits"):
        effective_receptive_field(net, 9, n_inits=2)
    with pytest.raises(ValueError, match="input_size"):
        effective_receptive_field(net)
    with pytest.raises(ValueError, match=r"\(N, C, h, w\)"):
        effective_receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3), nn.Flatten()), 9)
    with pytest.raises(TypeError, match="model"):
        effective_receptive_field(42, 9)


# --------------------------------------------------------------------------- fits
def _gaussian(shape, r0, c0, sr, sc, rho=0.0, amp=2.0):
    return GaussianFit((r0, c0), (sr, sc), rho, amp).evaluate(shape)


@pytest.mark.parametrize("method", ["moments", "least_squares"])
def test_fit_recovers_a_known_gaussian(method):
    g = _gaussian((61, 57), 30.3, 27.6, 4.0, 6.5, rho=0.3)
    fit = fit_gaussian(g, method=method)
    np.testing.assert_allclose(fit.center, (30.3, 27.6), atol=1e-3)
    np.testing.assert_allclose(fit.sigma, (4.0, 6.5), rtol=1e-3)
    assert abs(fit.correlation - 0.3) < 1e-3
    assert abs(fit.radius - math.sqrt((16 + 6.5**2) / 2)) < 1e-2
    if method == "least_squares":
        assert abs(fit.amplitude - 2.0) < 1e-6


def test_least_squares_ignores_a_faint_background_better():
    g = _gaussian((41, 41), 20, 20, 3, 3) + 0.002
    assert abs(fit_gaussian(g, "least_squares").radius - 3) < 0.05
    assert fit_gaussian(g, "moments").radius > 3.5


def test_fit_rejects_bad_maps():
    with pytest.raises(ValueError, match="2-D"):
        fit_gaussian(np.ones(5))
    with pytest.raises(ValueError, match="non-negative"):
        fit_gaussian(-np.ones((3, 3)))
    with pytest.raises(ValueError, match="zero"):
        fit_gaussian(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="method"):
        fit_gaussian(np.ones((3, 3)), method="magic")


def test_mass_radius():
    w = np.zeros((11, 11))
    w[5, 5] = 1.0
    assert mass_radius(w, 0.9) == 0.0
    w[5, 8] = 1.0  # half the mass 3 pixels away from the centre of mass 1.5 away: both at 1.5
    assert mass_radius(w, 1.0) == 1.5
    g = _gaussian((81, 81), 40, 40, 5, 5)
    # a 2-D Gaussian holds 1 - exp(-r^2 / 2 sigma^2) within r: 90 % at sigma sqrt(2 ln 10)
    assert abs(mass_radius(g, 0.9) - 5 * math.sqrt(2 * math.log(10))) < 0.6
    with pytest.raises(ValueError, match="fraction"):
        mass_radius(g, 0)


def test_fit_power_law():
    x = np.array([1, 2, 4, 8, 16])
    b, a = fit_power_law(x, 3 * x**0.5)
    assert abs(b - 0.5) < 1e-12 and abs(a - 3) < 1e-12
    with pytest.raises(ValueError, match="positive"):
        fit_power_law([1, 2], [0, 1])
    with pytest.raises(ValueError, match="same length"):
        fit_power_law([1, 2, 3], [1, 2])


# --------------------------------------------------------------------------- plots
def test_plots_return_figures():
    from matplotlib.figure import Figure

    from cnncourse.plots.receptive_field import (
        show_dilation_comparison,
        show_erf_by_depth,
        show_erf_comparison,
        show_field_growth,
        show_usage_map,
    )

    m = _gaussian((15, 15), 7, 7, 2, 2)
    box = ((4, 10), (4, 10))
    figs = [
        show_usage_map({"a": usage_map(conv_stack(1), 6, None)}),
        show_erf_by_depth({1: m, 2: m}, {1: box, 2: box}, title="t"),
        show_field_growth([1, 2, 4], {"ERF": [1, 1.4, 2], "theory": [1, 2, 4]},
                          {"ERF": fit_power_law([1, 2, 4], [1, 1.4, 2])}),
        show_erf_comparison({"before": m, "after": m}, box),
        show_dilation_comparison({"plain": m, "dilated": m}, {"plain": 10, "dilated": 10}, {"plain": box}),
    ]
    assert all(isinstance(f, Figure) for f in figs)
    with pytest.raises(ValueError, match="maps"):
        show_usage_map({})
    with pytest.raises(ValueError, match="2-D"):
        show_erf_comparison({"a": np.ones(3)})
    with pytest.raises(ValueError, match="depths"):
        show_field_growth([1], {"a": [1]})


# --------------------------------------------------------------------------- graphs (torch.fx)
class _Residual(nn.Module):
    """conv-conv plus a shortcut; ``shortcut`` and ``second`` are chosen by the test."""

    def __init__(self, second: nn.Module, shortcut: nn.Module):
        super().__init__()
        self.first = nn.Conv2d(1, 2, 3, padding=1)
        self.second = second
        self.shortcut = shortcut

    def forward(self, x):
        return torch.relu(self.second(torch.relu(self.first(x)))) + self.shortcut(x)


def _theory_equals_measurement(model, side, nodes):
    rf = receptive_field(model)
    for me in measure_field(model, side, nodes):
        row = rf[me.name]
        assert me.whole == row.whole, me.name
        if not row.whole:
            assert (me.size, me.jump, me.start) == (row.size, row.jump, row.start), me.name
    return rf


def test_residual_branches_take_the_union():
    # centred shortcut: the field is the longer branch's
    block = _Residual(nn.Conv2d(2, 1, 3, stride=2, padding=1), nn.Conv2d(1, 1, 1, stride=2))
    rf = _theory_equals_measurement(block, 23, [None])
    assert rf.size == (5, 5) and rf.jump == (2, 2) and rf.start == (0.0, 0.0) and not rf[-1].note
    # an off-centre shortcut ("same" with an even kernel puts 3 of 5 padding pixels after):
    # the union of [-2, 2] and [-2, 3] is 6 pixels centred on 0.5, and the table says why
    block = _Residual(nn.Conv2d(2, 1, 3, padding=1), nn.Conv2d(1, 1, 6, padding="same"))
    rf = _theory_equals_measurement(block, 23, [None])
    assert rf.size == (6, 6) and rf.start == (0.5, 0.5)
    assert rf[-1].note == "branches centred at 0, 0.5: the field is their union"
    assert "union" in str(rf)


def test_branches_with_different_jumps_are_reported():
    class Mismatch(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Conv2d(1, 1, 3, stride=2), nn.Conv2d(1, 1, 2, stride=1)

        def forward(self, x):
            return self.a(x) * 0 + self.b(x[..., :, :])  # a full slice keeps the geometry

    with pytest.raises(ValueError, match=r"node 'add'.*different jumps \[\(1, 1\), \(2, 2\)\]"):
        receptive_field(Mismatch())


def test_cat_gates_and_channels_last_layers():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Conv2d(1, 2, 3, padding=1), nn.Conv2d(1, 2, 5, padding=2)
            self.norm, self.mix = nn.LayerNorm(4), nn.Linear(4, 4)
            self.gate = nn.Conv2d(4, 4, 1)

        def forward(self, x):
            y = torch.cat([self.a(x), self.b(x)], dim=1)
            y = self.mix(self.norm(y.permute(0, 2, 3, 1))).permute(0, 3, 1, 2)  # per position
            local = F.max_pool2d(y, 2)
            return local, local * torch.sigmoid(self.gate(y.mean((2, 3), keepdim=True)))

    rf = receptive_field(Net(), 16)
    assert rf["permute_1"].size == (5, 5) and not rf["permute_1"].whole
    assert rf["max_pool2d"].size == (6, 6) and rf["max_pool2d"].jump == (2, 2)
    assert rf["mean"].whole and not rf["mean"].spatial
    assert rf["mul"].whole and rf["mul"].jump == (2, 2) and rf["mul"].local_size == (6, 6)
    _theory_equals_measurement(Net(), 16, ["max_pool2d", "mul"])
    with pytest.raises(ValueError, match="along a spatial axis"):
        receptive_field(lambda_module(lambda x: torch.cat([x, x], dim=3)))


class _Regroup(nn.Module):
    def __init__(self, regroup):
        super().__init__()
        self.conv, self.regroup = nn.Conv2d(1, 4, 3, stride=2), regroup

    def forward(self, x):
        return self.regroup(self.conv(x))


def test_split_pieces_concatenated_keep_the_field():
    """torch.cat of the tuple that torch.split / chunk return: the pieces have the field of the
    whole (before the fix: AttributeError 'NoneType' object has no attribute 'dims')."""
    for regroup in (lambda y: torch.cat(torch.split(y, 2, dim=1), dim=1), lambda y: torch.cat(y.chunk(2, 1), 1)):
        rf = _theory_equals_measurement(_Regroup(regroup), 21, [None])
        assert rf[-1].kind == "cat" and rf.size == (3, 3) and rf.jump == (2, 2) and rf.start == (1.0, 1.0)
    with pytest.raises(ValueError, match=r"\(cat, node 'cat'\) concatenates along a spatial axis"):
        receptive_field(_Regroup(lambda y: torch.cat(torch.split(y, 2, dim=1), dim=2)))


def test_layer_norm_over_the_map_sees_everything():
    rf = receptive_field([nn.Conv2d(1, 1, 3), nn.LayerNorm([6, 6])], 8)
    assert rf.whole and rf.jump == (1, 1)
    assert gradient_support([nn.Conv2d(1, 1, 3), nn.GroupNorm(1, 1)], 8, unit=(0, 0)).all()


class _Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def lambda_module(fn):
    return _Lambda(fn)


def test_untraceable_model_names_the_module():
    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(1, 1, 3))
            self.head = lambda_module(lambda x: x if x.sum() > 0 else -x)

        def forward(self, x):
            return self.head(self.features(x))

    with pytest.raises(ValueError, match=r"cannot trace Branchy \(it failed inside head \(_Lambda\)\).*model.features"):
        receptive_field(Branchy())
    assert receptive_field(Branchy().features).size == (3, 3)


def test_issue_20_geometry_cases():
    """ceil_mode's last window, "same" with dilation and even kernels, NumPy integers."""
    stack = nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool2d(3, stride=2, ceil_mode=True))
    rf = receptive_field(stack, 4)
    assert rf.out_shape == tuple(stack(torch.zeros(1, 1, 4, 4)).shape[-2:]) == (1, 1)
    assert usage_map(stack, 4).shape == (4, 4)
    dilated = nn.Sequential(nn.Conv2d(1, 4, 3, padding="same", dilation=2))
    assert receptive_field(dilated, 1).out_shape == (1, 1)
    even = nn.Sequential(*[nn.Conv2d(1, 1, 4, padding="same") for _ in range(4)])
    rf = receptive_field(even, 9)
    assert rf.out_shape == (9, 9) and rf.size == (13, 13)
    assert rf.start == (2.0, 2.0)  # the extra pixel of "same" goes after: fields lean down-right
    _theory_equals_measurement(even, 21, [None])
    numpy_layer = nn.Conv2d(1, 1, kernel_size=np.int64(3), stride=np.int64(2))
    rf = receptive_field([numpy_layer, nn.MaxPool2d(np.int64(2))], 11)
    assert rf.size == (5, 5) and rf.jump == (4, 4) and rf.out_shape == (2, 2)


def test_measure_field_refuses_a_clipped_field():
    with pytest.raises(ValueError, match="larger input_size"):
        measure_field(conv_stack(4), 9)
    with pytest.raises(ValueError, match="two units"):
        measure_field([nn.Conv2d(1, 1, 3)], 3)
    with pytest.raises(ValueError, match="no node or module named 'nowhere'"):
        measure_field(conv_stack(2), 20, "nowhere")


# torchvision backbones: (builder, stage boundaries, take .features)
BACKBONES = {
    "resnet18": (["maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "fc"], False),
    "resnet34": (["maxpool", "layer1", "layer2", "layer3", "layer4"], False),
    "resnet50": (["maxpool", "layer1", "layer2", "layer3", "layer4"], False),
    "vgg16": (["4", "9", "16", "23", "30"], True),
    "alexnet": (["2", "5", "12"], True),
    "mobilenet_v2": ([f"features.{i}" for i in (1, 3, 6, 10, 13, 17, 18)], False),
    "mobilenet_v3_small": ([f"features.{i}" for i in (0, 1, 3, 8, 12)] + ["classifier"], False),
    "efficientnet_b0": ([f"features.{i}" for i in range(9)], False),
    "densenet121": ([f"features.{n}" for n in ("pool0", "denseblock1", "transition1", "denseblock2",
                                                "transition2", "denseblock3", "transition3",
                                                "denseblock4")], False),
    "convnext_tiny": ([f"features.{i}" for i in range(8)], False),
}


@pytest.mark.parametrize("name", list(BACKBONES))
def test_torchvision_backbones_theory_equals_gradient_support(name):
    """At every stage boundary, size, jump and centre from the recurrence equal those measured
    from exact gradient supports; the input of each stage is just larger than its field.
    The models are built on the meta device: neither computation reads a weight."""
    tvm = pytest.importorskip("torchvision.models")
    stages, features = BACKBONES[name]
    with torch.device("meta"):
        model = getattr(tvm, name)(weights=None)
    model = model.features if features else model
    rf = receptive_field(model)
    for stage in stages:
        row = rf[stage]
        if row.spatial:
            side = row.local_size[0] + 2 * row.jump[0] + 2
        else:
            side = 64
        _theory_equals_measurement(model, side, [stage])


def test_check_stage_field_answers_without_leaking():
    from cnncourse.exercises.receptive_field import check_stage_field

    tvm = pytest.importorskip("torchvision.models")
    with torch.device("meta"):
        model = tvm.resnet18(weights=None)
    assert check_stage_field(67, model, "layer2.0") and check_stage_field((67, 67), model, "layer2.0")
    assert check_stage_field(None, model, "layer2.0").passed is None
    for wrong_answer, hint in [(43, "shortcut"), (110, "union"), (51, "jump"), ("x", "whole number"),
                               (float("nan"), "whole number")]:
        verdict = check_stage_field(wrong_answer, model, "layer2.0")
        assert not verdict and hint in verdict.message and "67" not in verdict.message
    with pytest.raises(ValueError, match="whole input"):
        check_stage_field(3, model, "fc")


@pytest.mark.parametrize("factor", [2, 3, 4])
@pytest.mark.parametrize("functional", [False, True])
def test_space_to_depth_is_a_window_of_its_factor(factor, functional):
    """PixelUnshuffle(s): a unit (all its channels) sees one s x s block; after a convolution the
    field is that of a convolution on the folded grid, and the measurement agrees."""

    class Functional(nn.Module):
        def forward(self, x):
            return F.pixel_unshuffle(x, factor)

    fold = Functional() if functional else nn.PixelUnshuffle(factor)
    layers = nn.Sequential(fold, nn.Conv2d(factor * factor, 2, 3), nn.MaxPool2d(2))
    rows = receptive_field(layers, 12 * factor).rows
    assert (rows[0].kernel, rows[0].stride, rows[0].size, rows[0].jump) == (
        (factor, factor), (factor, factor), (factor, factor), (factor, factor))
    assert rows[-1].size == (4 * factor, 4 * factor) and rows[-1].jump == (2 * factor, 2 * factor)
    for unit in [(0, 0), (2, 3)]:
        (top, bottom), (left, right) = support_extent(gradient_support(layers, 12 * factor, unit))
        assert (bottom - top + 1, right - left + 1) == rows[-1].size
        assert (top, left) == (2 * factor * unit[0], 2 * factor * unit[1])
@pytest.mark.parametrize("skipping, input_size", [
    (nn.MaxPool2d(1, 2), 20),                # every other row and column unread
    (nn.Conv2d(1, 1, 1, stride=2), None),    # the same, known without an input size
    (nn.Conv2d(1, 1, 3, stride=2), 20),      # 18 is even: the last row and column are unread
])
def test_global_pooling_after_a_window_that_skips_pixels_is_not_the_whole_input(skipping, input_size):
    """The theory said "whole input" after global pooling even when a window before it skipped
    pixels (stride larger than the window): now it says which window may leave pixels out."""
    model = nn.Sequential(nn.Conv2d(1, 1, 3), skipping, nn.AdaptiveAvgPool2d(1), nn.Flatten())
    rf = receptive_field(model, input_size)
    assert not rf["2"].whole and not rf.whole
    assert "not claimed to be the whole input" in rf["2"].note and "layer 1" in rf["2"].note
    assert "notes:" in str(rf)
    assert not measure_field(model, 20, "2").whole  # the gradient support agrees: pixels are missing
    dense = nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(1))
    assert receptive_field(dense, 20)["2"].whole and measure_field(dense, 20, "2").whole


# --------------------------------------------------------------------------- issue 37: bad input, found by the API fuzz test
_MAP = np.outer(np.hanning(9), np.hanning(9))


@pytest.mark.parametrize("call, exc, words", [
    # maps of mass: read as real arrays (tensors of any real dtype too), each problem by name
    (lambda: fit_gaussian(None), TypeError, ["weights", "None"]),
    (lambda: fit_gaussian("image"), TypeError, ["weights", "'image'"]),
    (lambda: fit_gaussian(torch.zeros(3, 3, dtype=torch.complex64)), TypeError, ["weights", "complex64"]),
    (lambda: fit_gaussian(torch.zeros(3, 3, device="meta")), ValueError, ["weights", "meta"]),
    (lambda: fit_gaussian(np.zeros((1, 1))), ValueError, ["weights sum to zero", "(1, 1)"]),
    (lambda: fit_gaussian(np.pad(np.ones((1, 1)), 2)), ValueError, ["weights is a single line or point", "(5, 5)"]),
    (lambda: mass_radius(np.zeros(9)), ValueError, ["weights", "(9,)"]),
    (lambda: mass_radius(-_MAP), ValueError, ["weights", "negative"]),
    (lambda: mass_radius(_MAP, fraction=1 + 1j), TypeError, ["fraction", "complex"]),
    (lambda: mass_radius(_MAP, fraction=torch.tensor([0.5, 0.5])), TypeError, ["fraction", "(2,)"]),
    (lambda: mass_radius(_MAP, center=0.0), TypeError, ["center", "pair", "0.0"]),
    (lambda: mass_radius(_MAP, center=(4.0, math.nan)), ValueError, ["center", "finite", "nan"]),
    (lambda: mass_radius(_MAP, center="0.5"), TypeError, ["center", "'0.5'"]),
    # fit data
    (lambda: fit_power_law(None, [1.0, 2.0]), TypeError, ["x", "None"]),
    (lambda: fit_power_law([1.0, 2.0, 4.0], [1.0, 2.0]), ValueError, ["x and y", "[1.0, 2.0, 4.0]"]),
    (lambda: fit_power_law([1.0, 2.0], [None, None]), TypeError, ["y", "None"]),
    # support maps and nodes
    (lambda: support_extent(None), TypeError, ["mask", "NoneType"]),
    (lambda: support_extent(np.zeros((1, 1))), ValueError, ["mask has no non-zero entry", "(1, 1)"]),
    (lambda: support_extent(torch.ones(3, 3, device="meta")), ValueError, ["mask", "meta"]),
    (lambda: measure_field(conv_stack(1), 16, node=-1), TypeError, ["node", "int"]),
    (lambda: measure_field(conv_stack(1), 16, node=["0", 3]), TypeError, ["node[1]", "int"]),
    # conv_stack's channel counts, checked before torch sees them
    (lambda: conv_stack(2, channels=0), ValueError, ["channels", "0"]),
    (lambda: conv_stack(2, in_channels=2.0), TypeError, ["in_channels", "float"]),
    (lambda: conv_stack(2, channels="3"), TypeError, ["channels", "'3'"]),
])
def test_receptive_field_arguments_are_named_with_their_value(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_maps_of_any_real_dtype_are_read():
    """bfloat16, integer and boolean maps measure like float64 ones (no torch in fits)."""
    expected = mass_radius(_MAP)
    assert mass_radius(torch.from_numpy(_MAP).to(torch.bfloat16)) == pytest.approx(expected, abs=1)
    assert support_extent(torch.from_numpy(_MAP > 0.5).to(torch.bfloat16)) == support_extent(_MAP > 0.5)
    assert fit_gaussian(_MAP > 0.1).center == pytest.approx((4.0, 4.0))


@pytest.mark.parametrize("call, exc, words", [
    (lambda: effective_receptive_field(torch.relu, 16), TypeError, ["model", "relu", "failed"]),
    (lambda: effective_receptive_field(nn.Linear, 16), TypeError, ["model", "Linear", "failed"]),
    (lambda: effective_receptive_field(nn.Identity(), 16), ValueError, ["in_channels", "Identity"]),
    (lambda: effective_receptive_field(conv_stack(1).to("meta"), 16), ValueError, ["model", "meta"]),
    (lambda: effective_receptive_field(nn.Conv2d(1, 1, 3), 2), ValueError, ["input_size=(2, 2)", "(32, 1, 2, 2)"]),
    (lambda: effective_receptive_field(conv_stack(1), 16, in_channels=2), ValueError, ["in_channels=2"]),
    (lambda: effective_receptive_field(conv_stack(1), 16, in_channels=2.0), TypeError, ["in_channels", "float"]),
    (lambda: effective_receptive_field(conv_stack(1), 16, device="gpu0"), ValueError, ["device", "'gpu0'"]),
])
def test_effective_receptive_field_arguments_are_named(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_effective_receptive_field_of_a_float64_model():
    """Random inputs take the model's dtype: a float64 model gives the float32 model's map."""
    torch.manual_seed(0)
    net = conv_stack(2)
    erf32 = effective_receptive_field(net, 9, n_inputs=2)
    erf64 = effective_receptive_field(net.double(), 9, n_inputs=2)
    assert np.allclose(erf32, erf64, atol=1e-6)
