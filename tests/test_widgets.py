"""cnncourse.widgets: each explorer driven from code, checked against the concept modules.

Update times are printed (run with ``-s`` to see them), never asserted.
"""

from __future__ import annotations

import copy

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

from cnncourse import widgets as W
from cnncourse.filters import correlate2d, get_kernel, pad
from cnncourse.pooling import pool2d, shift, unchanged_fraction
from cnncourse.receptive_field import conv_stack, gradient_support, receptive_field, support_extent


def _report(explorer, what: str) -> None:
    print(f"\n{type(explorer).__name__} update ({what}): {explorer.last_update_seconds * 1000:.0f} ms")


def _ramp(h: int = 9, w: int = 11) -> torch.Tensor:
    return torch.arange(h * w, dtype=torch.float32).reshape(h, w) % 7


# --------------------------------------------------------------------------- kernel explorer
@pytest.fixture(scope="module")
def kernel_explorer():
    return W.KernelExplorer()


def test_kernel_explorer_defaults_match_filters(kernel_explorer):
    ex = kernel_explorer
    assert ex.kernel_picker.value == "sobel x"
    expected = correlate2d(W.load_image("digit").double(), get_kernel("sobel x").double(), edge="zero")
    torch.testing.assert_close(ex.output, expected)
    assert bytes(ex.figure_widget.value)[:4] == b"\x89PNG"
    assert ex.position == ((28 - 1) // 2, (28 - 1) // 2)


@pytest.mark.parametrize("edge", ["zero", "crop", "extend"])
@pytest.mark.parametrize("name", ["laplacian", "box blur", "gaussian blur"])
def test_kernel_explorer_output_equals_correlate2d(edge, name):
    ex = W.KernelExplorer(image=_ramp(), kernel="identity")
    png = bytes(ex.figure_widget.value)
    with ex.hold():
        ex.kernel_picker.value = name
        ex.edge_picker.value = edge
    k = W.named_kernels()[name]
    assert ex.kernel.shape == (3, 3) and np.allclose(ex.kernel, k)
    torch.testing.assert_close(ex.output, correlate2d(_ramp().double(), torch.from_numpy(k), edge=edge))
    assert ex.output.shape == ((7, 9) if edge == "crop" else (9, 11))
    assert bytes(ex.figure_widget.value) != png


def test_kernel_explorer_window_sum_is_the_output_value(kernel_explorer):
    ex = kernel_explorer
    with ex.hold():
        ex.image_picker.value = "camera"
        ex.edge_picker.value = "extend"
        ex.row_slider.value, ex.col_slider.value = 0, 5
    _report(ex, "image + edge + position")
    padded = pad(ex.image.double(), 1, "extend").numpy()
    np.testing.assert_allclose(ex.patch, padded[0:3, 5:8])
    np.testing.assert_allclose(ex.products, ex.patch * ex.kernel)
    assert ex.value == pytest.approx(float(ex.output[0, 5]), abs=1e-9)
    assert "output[0, 5]" in ex.text.value
    assert ex.image.shape == (48, 48)  # the photograph is downsampled


def test_editing_a_cell_makes_a_custom_kernel():
    ex = W.KernelExplorer(image=_ramp(), kernel="laplacian", edge="crop")
    n = ex.n_updates
    ex.cells[1][1].value = 5.0  # laplacian + identity = sharpen
    assert ex.n_updates == n + 1
    assert ex.kernel_picker.value == "sharpen"
    ex.cells[0][0].value = 0.5
    _report(ex, "one weight edited")
    assert ex.kernel_picker.value == W.CUSTOM
    expected = np.array([[0.5, -1, 0], [-1, 5, -1], [0, -1, 0]])
    np.testing.assert_allclose(ex.kernel, expected)
    torch.testing.assert_close(ex.output, correlate2d(_ramp().double(), torch.from_numpy(expected), edge="crop"))


def test_kernel_explorer_accepts_an_array_kernel_and_keeps_position_in_range():
    k = np.arange(9.0).reshape(3, 3)
    ex = W.KernelExplorer(image=_ramp(), kernel=k, edge="zero", row=8, col=10)
    assert ex.kernel_picker.value == W.CUSTOM
    ex.edge_picker.value = "crop"  # output shrinks to 7x9; the same input pixel stays highlighted
    assert ex.position == (6, 8)
    assert ex.row_slider.max == 6 and ex.col_slider.max == 8
    ex.edge_picker.value = "zero"
    assert ex.row_slider.max == 8


@pytest.mark.parametrize("kwargs, words", [
    ({"image": "lena"}, ["image", "'lena'", "digit"]),
    ({"image": np.zeros(5)}, ["image", "2-D", "(5,)"]),
    ({"kernel": np.ones((5, 5))}, ["kernel", "3x3", "(5, 5)"]),
    ({"kernel": "emboss"}, ["kernel", "'emboss'", "sobel x"]),
    ({"edge": "wrap"}, ["edge", "'wrap'", "zero"]),
    ({"row": 99}, ["row", "99", "0 to 27"]),
    ({"photo_size": 4}, ["photo_size", "4"]),
])
def test_kernel_explorer_bad_input(kwargs, words):
    with pytest.raises(ValueError) as info:
        W.KernelExplorer(**kwargs)
    for w in words:
        assert w in str(info.value)


def test_named_kernels_are_3x3():
    ks = W.named_kernels()
    assert set(ks) >= {"identity", "sobel x", "laplacian", "gaussian blur"}
    assert all(k.shape == (3, 3) for k in ks.values())
    assert ks["gaussian blur"].sum() == pytest.approx(1.0)


# --------------------------------------------------------------------------- pooling explorer
@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("window, stride", [(2, 2), (3, 1), (2, 3)])
def test_pooling_explorer_matches_pooling(mode, window, stride):
    ex = W.PoolingExplorer()
    with ex.hold():
        ex.window_slider.value, ex.stride_slider.value, ex.mode_picker.value = window, stride, mode
    x = W.load_image("digit")
    torch.testing.assert_close(ex.pooled, pool2d(x, window, stride, mode))
    n = ex.pooled.numel()
    expected_changed = round((1 - unchanged_fraction(x, 0, 1, window, stride, mode, active_only=False)) * n)
    assert ex.n_outputs == n and ex.n_changed == expected_changed
    active_share = unchanged_fraction(x, 0, 1, window, stride, mode, active_only=True)
    assert ex.n_changed == round((1 - active_share) * ex.n_active)
    assert f"<b>{ex.n_changed}</b>" in ex.text.value


def test_pooling_shift_toggle_shows_the_shifted_input():
    ex = W.PoolingExplorer(window=2, stride=2, direction="down")
    before, png, changed = ex.pooled.clone(), bytes(ex.figure_widget.value), ex.n_changed
    ex.shift_toggle.value = True
    _report(ex, "shift toggle")
    x = W.load_image("digit")
    torch.testing.assert_close(ex.shown, shift(x, 1, 0))
    torch.testing.assert_close(ex.pooled, pool2d(shift(x, 1, 0), 2, 2, "max"))
    assert int((ex.pooled != before).sum()) == ex.n_changed == changed  # the count does not depend on the view
    assert bytes(ex.figure_widget.value) != png


def test_pooling_window_one_counts_changed_pixels():
    img = torch.zeros(6, 6)
    img[2, 1] = 1.0  # one bright pixel, shifted right: two pixels change
    ex = W.PoolingExplorer(image=img, window=1, stride=1)
    assert ex.n_changed == 2 and ex.n_active == 2
    ex.window_slider.value, ex.stride_slider.value = 6, 6  # 1x1 output holding the max: unchanged
    assert ex.n_outputs == 1 and ex.n_changed == 0


@pytest.mark.parametrize("kwargs, words", [
    ({"image": "cat"}, ["image", "'cat'"]),
    ({"mode": "min"}, ["mode", "'min'", "max"]),
    ({"window": 0}, ["window", "1 to 6", "0"]),
    ({"stride": 7}, ["stride", "7"]),
    ({"direction": "left"}, ["direction", "'left'", "right"]),
])
def test_pooling_explorer_bad_input(kwargs, words):
    with pytest.raises(ValueError) as info:
        W.PoolingExplorer(**kwargs)
    for w in words:
        assert w in str(info.value)


# --------------------------------------------------------------------------- ERF explorer
@pytest.fixture(scope="module")
def erf_explorer():
    return W.ErfExplorer(depth=2)


@pytest.mark.parametrize("depth, k, d", [(2, 3, 1), (3, 5, 1), (2, 3, 2), (4, 3, 3)])
def test_erf_map_has_the_theoretical_support(erf_explorer, depth, k, d):
    ex = erf_explorer
    with ex.hold():
        ex.depth_slider.value, ex.kernel_picker.value, ex.dilation_picker.value = depth, k, d
    _report(ex, f"depth {depth}, kernel {k}, dilation {d}")
    field = 1 + depth * d * (k - 1)
    assert ex.field == field
    stack = conv_stack(depth, channels=1, kernel_size=k, dilation=d)
    support = gradient_support(stack, ex.input_side)
    np.testing.assert_array_equal(ex.support, support)
    # no gradient outside the theoretical field, and some on every pixel it can reach
    assert np.all(ex.erf[~support] == 0)
    np.testing.assert_array_equal(ex.erf > 0, support)
    (r0, r1), (c0, c1) = support_extent(ex.erf > 0)
    assert r1 - r0 + 1 == c1 - c0 + 1 == field
    assert ex.erf.sum() == pytest.approx(1.0)
    assert f"{field}x{field}" in ex.text.value


def test_erf_is_cached_and_field_clipped_for_large_settings(erf_explorer):
    ex = erf_explorer
    with ex.hold():
        ex.depth_slider.value, ex.kernel_picker.value, ex.dilation_picker.value = 8, 7, 3
    _report(ex, "deepest, widest, most dilated")
    assert ex.field == 145 and ex.input_side == W.ERF_MAX_SIDE
    assert "clipped" in ex.text.value
    first = ex.erf
    with ex.hold():
        ex.depth_slider.value = 1
    with ex.hold():
        ex.depth_slider.value = 8
    assert ex.erf is first  # revisiting a setting reuses the cached map


def test_erf_deeper_stack_has_wider_field_and_erf():
    ex = W.ErfExplorer(depth=1)
    f1, r1 = ex.field, ex.radius
    ex.depth_slider.value = 6
    assert ex.field == 13 > f1 and ex.radius > r1
    assert ex.radius < (ex.field - 1) / 2  # the ERF uses far less than its field


def _tiny_cnn(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    model = nn.Module()
    model.features = nn.Sequential(nn.Conv2d(1, 4, 5), nn.MaxPool2d(2), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.ReLU())
    return model


def test_erf_trained_mode_uses_the_model_prefix():
    trained, untrained = _tiny_cnn(1), _tiny_cnn(2)
    ex = W.ErfExplorer(trained_model=trained, untrained_model=copy.deepcopy(untrained), weights="trained",
                       depth=2, n_digits=16)
    _report(ex, "trained, depth 2")
    assert ex.depth_slider.max == 2 and ex.kernel_picker.disabled and ex.dilation_picker.disabled
    rf = receptive_field(trained.features, 28)
    assert ex.field == rf.size[0] == 5 + 1 + 2 * 2  # conv 5, pool 2 (jump 2), conv 3
    assert ex.erf_before is not None and not np.allclose(ex.erf, ex.erf_before)
    assert np.all(ex.erf[~ex.support] == 0)
    ex.depth_slider.value = 1
    assert ex.field == 6 and len(ex.stack) == 3  # conv 5 and pool 2 (ReLU: pointwise), up to the second conv
    ex.weights_picker.value = "untrained"
    assert ex.depth_slider.max == W.ERF_MAX_DEPTH and not ex.kernel_picker.disabled
    assert ex.erf_before is None


def test_erf_trained_mode_leaves_the_model_alone():
    model = _tiny_cnn(3).train()
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    ex = W.ErfExplorer(trained_model=model, weights="trained", depth=2, n_digits=8)
    assert model.training  # not switched to eval
    for k, v in model.state_dict().items():
        assert torch.equal(v, weights[k])
    assert all(p.data_ptr() != q.data_ptr() for p in ex.stack.parameters() for q in model.parameters())


def test_erf_without_a_trained_model_offers_untrained_only():
    ex = W.ErfExplorer(depth=1)
    assert tuple(ex.weights_picker.options) == ("untrained",)


@pytest.mark.parametrize("kwargs, words", [
    ({"depth": 0}, ["depth", "1 to 8", "0"]),
    ({"kernel_size": 4}, ["kernel_size", "(3, 5, 7)", "4"]),
    ({"dilation": 5}, ["dilation", "5"]),
    ({"weights": "pretrained"}, ["weights", "'pretrained'"]),
    ({"weights": "trained"}, ["trained_model", "None"]),
    ({"trained_model": "model.pt"}, ["trained_model", "nn.Module", "str"]),
    ({"trained_model": nn.Sequential(nn.Flatten(), nn.Linear(784, 10))}, ["trained_model", "Conv2d"]),
    ({"untrained_model": nn.Conv2d(1, 1, 3)}, ["untrained_model", "trained_model"]),
])
def test_erf_explorer_bad_input(kwargs, words):
    with pytest.raises(ValueError) as info:
        W.ErfExplorer(**kwargs)
    for w in words:
        assert w in str(info.value)


# --------------------------------------------------------------------------- static figures, display
def test_static_figures(kernel_explorer):
    for ex in (kernel_explorer, W.PoolingExplorer(), W.ErfExplorer(trained_model=_tiny_cnn(0), n_digits=8)):
        fig = ex.static_figure()
        assert isinstance(fig, Figure) and len(fig.axes) >= 6
        matplotlib.pyplot.close(fig)


def test_widget_box_and_display(kernel_explorer, capsys):
    box = kernel_explorer.widget()
    assert box.children[1] is kernel_explorer.figure_widget and box is kernel_explorer.widget()
    kernel_explorer.show()  # outside a notebook IPython's display prints the repr; it must not raise


def test_load_image_bad_input():
    with pytest.raises(ValueError, match="digit_index"):
        W.load_image("digit", digit_index=10000)
    with pytest.raises(ValueError, match="size"):
        W.load_image("camera", size=1000)
