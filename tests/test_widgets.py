"""cnncourse.widgets with a kernel: the explorers' Python state and reference values, and the
answer boxes' sealed verdicts. What the browser computes from the same state is compared with
these references by the browser test (tests/site)."""

from __future__ import annotations

import json
import shutil
import subprocess

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

from cnncourse import widgets as W
from cnncourse.exercises.convolution import BRIGHTNESS_KERNELS, check_brightness_kernels, check_output_size
from cnncourse.exercises.feedback import correct, wrong
from cnncourse.filters import correlate2d, get_kernel, pad
from cnncourse.pooling import pool2d, shift
from cnncourse.receptive_field import fit_gaussian, gradient_support, receptive_field, usage_map


def _ramp(h: int = 9, w: int = 11) -> torch.Tensor:
    return torch.arange(h * w, dtype=torch.float32).reshape(h, w) % 7


# --------------------------------------------------------------------------- kernel explorer
def test_kernel_explorer_defaults_match_filters():
    ex = W.KernelExplorer()
    assert ex.kernel_name == "sobel x" and ex.edge == "zero" and ex.image == "digit"
    expected = correlate2d(W.load_image("digit").double(), get_kernel("sobel x").double(), edge="zero")
    torch.testing.assert_close(ex.output, expected)
    assert ex.position == ((28 - 1) // 2, (28 - 1) // 2)
    assert set(ex.images) == set(W.IMAGE_NAMES)
    assert ex.images["camera"]["rows"] == ex.images["camera"]["cols"] == 48


@pytest.mark.parametrize("edge", ["zero", "crop", "extend"])
@pytest.mark.parametrize("name", ["laplacian", "box blur", "gaussian blur"])
def test_kernel_explorer_follows_its_state(edge, name):
    ex = W.KernelExplorer(image=_ramp(), kernel="identity")
    ex.kernel = W.named_kernels()[name].ravel().tolist()
    ex.edge = edge
    assert ex.kernel_name == name
    torch.testing.assert_close(ex.output, correlate2d(_ramp().double(), torch.from_numpy(W.named_kernels()[name]),
                                                      edge=edge))
    assert ex.output.shape == ((7, 9) if edge == "crop" else (9, 11))


def test_kernel_explorer_window_sum_is_the_output_value():
    ex = W.KernelExplorer(image="camera", edge="extend", row=0, col=5)
    padded = pad(ex.image_tensor.double(), 1, "extend").numpy()
    np.testing.assert_allclose(ex.patch, padded[0:3, 5:8])
    np.testing.assert_allclose(ex.products, ex.patch * ex.weights)
    assert ex.value == pytest.approx(float(ex.output[0, 5]), abs=1e-9)
    ex.row, ex.col = 1000, -3  # as the browser does: kept inside the output
    assert ex.position == (47, 0)


def test_edited_weights_make_a_custom_kernel():
    ex = W.KernelExplorer(image=_ramp(), kernel="laplacian", edge="crop")
    k = list(ex.kernel)
    k[4] += 0.5
    ex.kernel = k
    assert ex.kernel_name == W.CUSTOM
    torch.testing.assert_close(ex.output, correlate2d(_ramp().double(), torch.tensor(k).reshape(3, 3).double(),
                                                      edge="crop"))


def test_kernel_explorer_state_is_json_and_names_every_kernel():
    ex = W.KernelExplorer(image=_ramp(), kernel=np.eye(3))
    state = ex.get_state()
    json.dumps({k: v for k, v in state.items() if k in ("images", "kernels", "kernel", "edge", "row", "col")})
    assert set(ex.kernels) == set(W.named_kernels())
    assert ex.kernel_name == W.CUSTOM and ex.image == "your image"
    assert "kernel.js" not in ex._esm and "function correlate3x3" in ex._esm and "function drawMap" in ex._esm


@pytest.mark.parametrize("kwargs, match", [
    ({"image": "cat"}, "image"), ({"kernel": "nope"}, "kernel"), ({"kernel": np.ones((2, 2))}, "3x3"),
    ({"edge": "wrap"}, "edge"), ({"row": 28}, "row"),
    ({"image": np.ones(5)}, "2-D"), ({"digit_index": 10_000}, "digit_index"), ({"photo_size": 4}, "photo_size"),
])
def test_kernel_explorer_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        W.KernelExplorer(**kwargs)


@pytest.mark.parametrize("kwargs, match", [
    ({"kernel": object()}, "kernel"), ({"edge": 3}, "edge"), ({"row": 1.5}, "row"), ({"image": None}, "image"),
    ({"digit_index": True}, "digit_index"), ({"photo_size": "48"}, "photo_size"),
])
def test_kernel_explorer_wrong_types_are_type_errors(kwargs, match):
    """The project's rule (CONTRIBUTING): a wrong type is a TypeError, a wrong value a ValueError."""
    with pytest.raises(TypeError, match=match):
        W.KernelExplorer(**kwargs)


def test_kernel_explorer_static_figure():
    fig = W.KernelExplorer(image=_ramp()).static_figure()
    assert isinstance(fig, Figure) and len(fig.axes) == 15


# --------------------------------------------------------------------------- pooling explorer
@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("window, stride", [(2, 2), (2, 1), (3, 2), (1, 1)])
def test_pooling_explorer_matches_pooling(mode, window, stride):
    ex = W.PoolingExplorer(image="digit", window=window, stride=stride, mode=mode)
    img = W.load_image("digit").double()
    torch.testing.assert_close(ex.pooled, pool2d(img, window, stride, mode))
    after = pool2d(shift(img, 0, 1), window, stride, mode)
    np.testing.assert_array_equal(ex.changed, (pool2d(img, window, stride, mode) != after).numpy())
    assert ex.n_changed == int(ex.changed.sum()) and ex.n_outputs == ex.changed.size
    ex.shifted, ex.direction = True, "down"
    torch.testing.assert_close(ex.shown, shift(img, 1, 0))
    torch.testing.assert_close(ex.pooled, pool2d(shift(img, 1, 0), window, stride, mode))


def test_pooling_explorer_own_image_keeps_its_values():
    img = _ramp()
    ex = W.PoolingExplorer(image=img, window=2, stride=2)
    assert torch.equal(ex.pooled, pool2d(img, 2, 2, "max"))
    assert ex.n_active <= ex.n_outputs


@pytest.mark.parametrize("kwargs, match", [
    ({"window": 0}, "window"), ({"stride": 7}, "stride"), ({"mode": "min"}, "mode"),
    ({"direction": "up"}, "direction"),
    ({"image": torch.ones(4, 4), "window": 5}, "window"),
])
def test_pooling_explorer_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        W.PoolingExplorer(**kwargs)


@pytest.mark.parametrize("kwargs, match", [
    ({"shifted": 1}, "shifted"), ({"window": 2.0}, "window"), ({"stride": True}, "stride"), ({"mode": None}, "mode"),
])
def test_pooling_explorer_wrong_types_are_type_errors(kwargs, match):
    with pytest.raises(TypeError, match=match):
        W.PoolingExplorer(**kwargs)


def test_pooling_explorer_static_figure():
    assert len(W.PoolingExplorer(image=_ramp(12, 12)).static_figure(windows=(1, 2)).axes) == 6


# --------------------------------------------------------------------------- ERF explorer
@pytest.mark.parametrize("depth, k, d", [(1, 3, 1), (3, 3, 1), (2, 5, 2), (8, 7, 3), (4, 3, 3)])
def test_erf_explorer_uniform_matches_receptive_field(depth, k, d):
    ex = W.ErfExplorer(depth=depth, kernel_size=k, dilation=d)
    stack = nn.Sequential(*[nn.Conv2d(1, 1, k, padding=d * (k - 1) // 2, dilation=d) for _ in range(depth)])
    side = ex.side
    assert side % 2 == 1 and 21 <= side <= W.ERF_MAX_SIDE
    usage = usage_map(stack, side)
    np.testing.assert_allclose(ex.erf, usage / usage.sum())
    assert ex.erf.sum() == pytest.approx(1.0)
    np.testing.assert_array_equal(ex.support, gradient_support(stack, side))
    assert ex.field == receptive_field(stack, side).size[0] == 1 + depth * d * (k - 1)
    assert ex.radius == pytest.approx(fit_gaussian(ex.erf).radius)
    assert np.all(ex.erf[~ex.support] == 0)


def test_erf_explorer_trained_maps_are_carried_in_the_state():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 4, 3))
    before = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 4, 3))
    ex = W.ErfExplorer(trained_model=model, untrained_model=before, n_digits=4)
    assert len(ex.trained) == 2 and ex.weights == "uniform"
    json.dumps(ex.trained)
    ex.weights, ex.depth = "trained", 2
    assert ex.erf.shape == (28, 28) and ex.erf_before.shape == (28, 28)
    assert ex.field == receptive_field(model, 28).size[0]
    assert np.all(ex.erf[~ex.support] == 0)
    assert next(model.parameters()).device.type == "cpu"  # the lesson's model is left as it was
    assert len(ex.static_figure(depths=(1, 2), dilations=(1,)).axes) == 6


@pytest.mark.parametrize("kwargs, match", [
    ({"depth": 0}, "depth"), ({"kernel_size": 4}, "kernel_size"), ({"dilation": 5}, "dilation"),
    ({"weights": "trained"}, "trained_model"), ({"weights": "random"}, "weights"),
    ({"untrained_model": nn.Conv2d(1, 1, 3)}, "untrained_model"),
    ({"trained_model": nn.Linear(3, 3)}, "Conv2d"),
])
def test_erf_explorer_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        W.ErfExplorer(**kwargs)


@pytest.mark.parametrize("kwargs, match", [
    ({"trained_model": "cnn"}, "trained_model"), ({"kernel_size": True}, "kernel_size"),
    ({"dilation": 1.0}, "dilation"), ({"depth": "2"}, "depth"), ({"weights": 1}, "weights"),
])
def test_erf_explorer_wrong_types_are_type_errors(kwargs, match):
    with pytest.raises(TypeError, match=match):
        W.ErfExplorer(**kwargs)


# --------------------------------------------------------------------------- answer boxes
def test_answer_box_answers_as_the_checker():
    box = W.answer_box(check_output_size, range(0, 60))
    assert box.n_correct == 1 and box.n_hints >= 3
    verdict, message = box.feedback(13)
    assert verdict == "correct" and message == check_output_size(13).message
    verdict, message = box.feedback(12)  # forgot the + 1: the checker's own hint
    assert verdict == "hint" and message == check_output_size(12).message and "off by one" in message
    assert box.feedback(41) == ("unknown", "")  # only the checker's catch-all: "not yet"
    assert box.feedback(1000) == ("unknown", "")


def test_answer_box_hides_the_answer():
    box = W.answer_box(check_output_size, range(0, 60))
    page = box._repr_html_()
    assert "the kernel fits 13" not in page and "off by one" not in page
    assert box.salt in page and all(key in page for key in box.entries)
    assert box._repr_html_() == page  # reproducible builds: the same page every time


def test_set_box_tries_every_subset():
    box = W.answer_box(check_brightness_kernels, kind="set", options=BRIGHTNESS_KERNELS)
    assert len(box.entries) == 2 ** len(BRIGHTNESS_KERNELS) and box.n_correct == 1
    assert box.feedback({"box blur", "gaussian blur", "sharpen"})[0] == "correct"
    assert box.feedback({"box blur", "laplacian"})[0] == "hint"
    assert 'type="checkbox"' in box._repr_html_()


def test_canonical_forms():
    assert W.canonical(-0.0001, "number", 2) == "0" and W.canonical(2.0, "number", 2) == "2"
    assert W.canonical([32, 6.0, 6], "list") == "32,6,6" and W.canonical("b", "choice") == "b"
    with pytest.raises(ValueError, match="kind"):
        W.canonical(1, "matrix")


def test_answer_box_bad_arguments():
    with pytest.raises(ValueError, match="accepts none"):
        W.answer_box(check_output_size, range(0, 5))
    with pytest.raises(ValueError, match="candidates"):
        W.answer_box(check_output_size)
    with pytest.raises(ValueError, match="options"):
        W.answer_box(check_brightness_kernels, kind="set")
    with pytest.raises(ValueError, match="kind"):
        W.answer_box(check_output_size, [13], kind="matrix")
    with pytest.raises(TypeError, match="Feedback"):
        W.answer_box(lambda a: a == 13, [13])
    with pytest.raises(TypeError, match="callable"):
        W.answer_box("check", [13])


def test_choice_box_keeps_specific_hints():
    def checker(a):
        return correct("pick", "yes") if a == "b" else wrong("pick", f"{a} responds less")
    box = W.answer_box(checker, kind="choice", options=("a", "b", "c"))
    assert box.feedback("b") == ("correct", "yes") and box.feedback("c") == ("hint", "c responds less")


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_browser_hash_equals_python_hash():
    """answer.js's SHA-256 and canonical form, run in node, agree with hashlib and canonical()."""
    import hashlib
    script = (W.answer.__file__.removesuffix(".py") + ".js")
    probe = """
    global.window = {}; global.document = {readyState: "complete", querySelectorAll: () => []};
    require(process.argv[1]);
    const A = window.cncAnswerBoxes;
    console.log(JSON.stringify([A.sha256("abc"), A.sha256("x".repeat(200) + "\u00e9"), A.sha256("")]));
    """
    out = subprocess.run(["node", "-e", probe, script], capture_output=True, text=True, check=True).stdout
    expected = [hashlib.sha256(s.encode()).hexdigest() for s in ("abc", "x" * 200 + "\u00e9", "")]
    assert json.loads(out) == expected


def test_catch_all_hint_naming_a_number_is_left_out():
    """A catch-all hint that happens to contain the candidate's digits is still the catch-all."""
    from cnncourse.exercises.mlp import check_parameter_count

    box = W.answer_box(lambda a: check_parameter_count(a, sizes=(784, 256, 128, 10)), [*range(10), 235_146])
    assert box.feedback(3) == ("unknown", "")  # "... over the 3 Linear layers ..." for any wrong count


def test_erf_explorer_refuses_a_model_whose_outputs_see_everything():
    """A trained model passed without its convolutional part: Flatten/Linear see the whole input."""
    import pytest
    from torch import nn

    from cnncourse.widgets.erf import _conv_part

    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 26 * 26, 10))
    with pytest.raises(ValueError, match="trained_model .*whole input"):
        _conv_part(model, "trained_model")
    assert len(_conv_part(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()), "trained_model")) == 2


def test_answer_box_checks_its_sequences_and_a_checker_that_raises():
    """Issue 37: candidates, options and the checker's failures are named in the message."""
    with pytest.raises(TypeError, match=r"^candidates\[0\] must be a number"):
        W.answer_box(check_output_size, ["a", "b"])
    with pytest.raises(ValueError, match=r"^candidates\[1\] must be a number \(finite\), got nan"):
        W.answer_box(check_output_size, [13, float("nan")])
    with pytest.raises(TypeError, match=r"^candidates\[0\]\[1\] must be a number"):
        W.answer_box(check_output_size, [[1, None]], kind="list")
    with pytest.raises(TypeError, match=r"^candidates must be a sequence"):
        W.answer_box(check_output_size, 13)
    with pytest.raises(TypeError, match=r"^options must be a sequence"):
        W.answer_box(check_brightness_kernels, kind="set", options=None)
    with pytest.raises(ValueError, match=r"^checker function .* raised ZeroDivisionError on the probe"):
        W.answer_box(lambda a: 1 / 0, [13])
    with pytest.raises(ValueError, match=r"^checker function .* raised KeyError on the candidate 'b'"):
        W.answer_box(lambda a: {"a": correct("x", "yes")}[a], kind="choice", options=("a", "b"))
    box = W.answer_box(check_output_size, torch.arange(0, 20))  # a tensor's numbers pass, as before
    assert box.feedback(13)[0] == "correct"


def test_explorers_take_integral_tensors_as_ints_and_load_image_names_its_name():
    kernel = W.KernelExplorer(row=torch.tensor(2), col=np.int64(3))
    assert (kernel.row, kernel.col) == (2, 3) and type(kernel.row) is int
    assert W.ErfExplorer(dilation=torch.tensor(2), kernel_size=np.int64(3)).dilation == 2
    with pytest.raises(TypeError, match=r"^seed must be an int"):
        W.ErfExplorer(seed=2.5)
    with pytest.raises(ValueError, match=r"^name must be one of"):
        W.load_image("")


def test_input_side_takes_positive_ints():
    from cnncourse.widgets.erf import input_side

    assert input_side(np.int64(5)) == 21 and input_side(30, max_side=41) == 39
    with pytest.raises(TypeError, match=r"^field must be a positive int, got str"):
        input_side("3")
    with pytest.raises(TypeError, match=r"^max_side must be a positive int"):
        input_side(5, max_side="3")
