"""cnncourse.filters against torch.nn.functional.conv2d and scipy.ndimage.correlate."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.filters
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cnncourse import filters as fl

SCIPY_MODE = {"zero": "constant", "extend": "nearest"}


def _rand(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.parametrize("shape", [(7, 7), (8, 8), (9, 12), (12, 9), (16, 11)])
@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("edge", ["zero", "extend"])
def test_same_size_modes_match_scipy(shape, k, edge):
    x, w = _rand(*shape, seed=1), _rand(k, k, seed=2)
    ours = fl.correlate2d(x, w, edge=edge)
    ref = ndi.correlate(x.numpy(), w.numpy(), mode=SCIPY_MODE[edge])
    assert ours.shape == shape
    np.testing.assert_allclose(ours.numpy(), ref, atol=1e-10)


@pytest.mark.parametrize("shape", [(7, 7), (8, 10), (11, 6)])
@pytest.mark.parametrize("kh,kw", [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (2, 3), (3, 1)])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_crop_matches_conv2d(shape, kh, kw, stride):
    x, w = _rand(*shape, seed=3), _rand(kh, kw, seed=4)
    ours = fl.correlate2d(x, w, edge="crop", stride=stride)
    ref = F.conv2d(x[None, None], w[None, None], stride=stride)[0, 0]
    assert ours.shape == ref.shape
    assert ours.shape == (fl.output_size(shape[0], kh, 0, stride), fl.output_size(shape[1], kw, 0, stride))
    torch.testing.assert_close(ours, ref)


@pytest.mark.parametrize("k,stride,padding", [(3, 1, None), (3, 2, None), (5, 2, None), (5, 3, 1),
                                              (4, 1, 1), (4, 2, 2), (2, 2, 0)])
def test_zero_padding_matches_conv2d(k, stride, padding):
    x, w = _rand(9, 10, seed=5), _rand(k, k, seed=6)
    p = (k - 1) // 2 if padding is None else padding
    ours = fl.correlate2d(x, w, edge="zero", stride=stride, padding=padding)
    ref = F.conv2d(x[None, None], w[None, None], stride=stride, padding=p)[0, 0]
    torch.testing.assert_close(ours, ref)


def test_extend_with_stride_is_subsampled_same_output():
    x, w = _rand(13, 11, seed=7), _rand(3, 3, seed=8)
    full = fl.correlate2d(x, w, edge="extend")
    torch.testing.assert_close(fl.correlate2d(x, w, edge="extend", stride=2), full[::2, ::2])
    torch.testing.assert_close(fl.correlate2d(x, w, edge="extend", stride=(3, 2)), full[::3, ::2])


def test_batch_and_channels_match_conv2d():
    x = _rand(3, 4, 10, 9, seed=9)
    w = _rand(5, 4, 3, 3, seed=10)
    b = _rand(5, seed=11)
    for stride in (1, 2):
        torch.testing.assert_close(fl.correlate2d(x, w, edge="zero", stride=stride, bias=b),
                                   F.conv2d(x, w, b, stride=stride, padding=1))
        torch.testing.assert_close(fl.correlate2d(x, w, edge="crop", stride=stride),
                                   F.conv2d(x, w, stride=stride))


def test_batch_of_2d_images():
    x, w = _rand(6, 8, 7, seed=12), _rand(3, 3, seed=13)
    out = fl.correlate2d(x, w, edge="zero")
    assert out.shape == (6, 8, 7)
    for i in range(6):
        torch.testing.assert_close(out[i], fl.correlate2d(x[i], w, edge="zero"))
    # a 2-D kernel on single-channel 4-D input
    torch.testing.assert_close(fl.correlate2d(x[:, None], w, edge="zero")[:, 0], out)


def test_loops_version_equals_vectorised():
    x, w = _rand(9, 8, seed=14), _rand(3, 2, seed=15)
    torch.testing.assert_close(fl.correlate2d_loops(x, w), fl.correlate2d(x, w, edge="crop"))


def test_numpy_and_integer_inputs():
    x = np.arange(36, dtype=np.uint8).reshape(6, 6)
    w = np.array([[0, -1, 0], [-1, 4, -1], [0, -1, 0]])
    out = fl.correlate2d(x, w, edge="zero")
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), ndi.correlate(x.astype(float), w.astype(float), mode="constant"))


def test_worked_example_sums_to_80():
    patch = torch.tensor([[140, 120, 120], [225, 220, 205], [255, 250, 230]])
    assert float(fl.correlate2d(patch, fl.laplacian(), edge="crop")) == 80.0


def test_convolution_flips_kernel():
    x, w = _rand(8, 9, seed=16), _rand(3, 3, seed=17)
    np.testing.assert_allclose(fl.convolve2d(x, w, edge="zero").numpy(),
                               ndi.convolve(x.numpy(), w.numpy(), mode="constant"), atol=1e-10)
    np.testing.assert_allclose(fl.convolve2d(x, w, edge="extend").numpy(),
                               ndi.convolve(x.numpy(), w.numpy(), mode="nearest"), atol=1e-10)
    # symmetric kernels: no difference; Sobel: sign flips
    torch.testing.assert_close(fl.convolve2d(x, fl.laplacian().double()), fl.correlate2d(x, fl.laplacian().double()))
    torch.testing.assert_close(fl.convolve2d(x, fl.sobel_x().double()), -fl.correlate2d(x, fl.sobel_x().double()))


def test_pad_modes():
    x = torch.arange(1.0, 10.0).reshape(3, 3)
    z = fl.pad(x, 2, "zero")
    assert z.shape == (7, 7) and z.sum() == x.sum() and z[0].abs().sum() == 0
    e = fl.pad(x, 2, "extend")
    np.testing.assert_array_equal(e.numpy(), np.pad(x.numpy(), 2, mode="edge"))
    assert fl.pad(x, 0, "crop") is not None
    assert fl.pad(x, (1, 2), "zero").shape == (5, 7)


@pytest.mark.parametrize("n,k,p,s", [(28, 3, 0, 1), (28, 3, 1, 1), (28, 5, 2, 2), (27, 4, 1, 3),
                                     (10, 10, 0, 1), (5, 7, 1, 1), (32, 7, 3, 2)])
def test_output_size_formula(n, k, p, s):
    expected = math.floor((n + 2 * p - k) / s) + 1
    assert fl.output_size(n, k, p, s) == expected
    assert F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), padding=p, stride=s).shape[-1] == expected


def test_kernel_sums():
    for name in ("identity", "box blur", "gaussian blur", "sharpen"):
        assert abs(fl.kernel_sum(fl.get_kernel(name)) - 1) < 1e-6, name
    for name in ("laplacian", "sobel x", "sobel y", "diagonal"):
        assert abs(fl.kernel_sum(fl.get_kernel(name))) < 1e-6, name
    g = fl.gaussian_kernel(7, 1.5)
    assert torch.equal(g, g.T) and torch.equal(g, fl.flip_kernel(g)) and g.argmax() == 24
    assert torch.equal(fl.sobel_y(), fl.sobel_x().T)
    assert set(fl.edge_candidates()) == {"a", "b", "c", "d"}


def test_edge_candidates_responses():
    images = {o: fl.step_edge(8, o) for o in ("horizontal", "vertical")}
    table = fl.response_table(images, fl.edge_candidates())
    assert max(table, key=lambda k: table[k]["horizontal"]) == "d"
    assert max(table, key=lambda k: table[k]["vertical"]) == "b"
    assert table["d"]["vertical"] == 0 and table["b"]["horizontal"] == 0
    text = fl.format_table(table, "kernel")
    assert text.splitlines()[0].split() == ["kernel", "horizontal", "vertical"] and len(text.splitlines()) == 5


def test_sobel_matches_libraries():
    from skimage import data

    img = data.camera()[100:228, 150:278].astype(np.float64)
    gx, gy = fl.sobel_gradients(img, edge="extend")
    np.testing.assert_allclose(gy.numpy(), ndi.sobel(img, axis=0, mode="nearest"), atol=1e-9)
    np.testing.assert_allclose(gx.numpy(), ndi.sobel(img, axis=1, mode="nearest"), atol=1e-9)
    np.testing.assert_allclose(gy.numpy() / 4, skimage.filters.sobel_h(img), atol=1e-9)
    np.testing.assert_allclose(gx.numpy() / 4, skimage.filters.sobel_v(img), atol=1e-9)
    mag = fl.gradient_magnitude(gx, gy)
    np.testing.assert_allclose(mag.numpy() / (4 * np.sqrt(2)), skimage.filters.sobel(img), atol=1e-9)


def test_gradient_direction_conventions():
    for orientation, expected in (("horizontal", 90.0), ("vertical", 0.0), ("diagonal", 45.0)):
        gx, gy = fl.sobel_gradients(fl.step_edge(9, orientation), edge="crop")
        i = torch.argmax(fl.gradient_magnitude(gx, gy))
        angle = float(fl.gradient_direction(gx.flatten()[i], gy.flatten()[i], degrees=True))
        assert abs(angle - expected) < 1e-6, orientation
    assert float(fl.gradient_direction(torch.tensor(0.0), torch.tensor(-1.0))) == pytest.approx(-math.pi / 2)


def test_photo_is_fast_enough():
    import time

    from skimage import data

    photo = data.camera()
    start = time.perf_counter()
    out = fl.correlate2d(photo, fl.gaussian_kernel(5), edge="extend")
    assert out.shape == (512, 512) and time.perf_counter() - start < 2.0


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs,exc,words", [
    ({"edge": "wrap"}, ValueError, ["edge", "'wrap'"]),
    ({"stride": 0}, ValueError, ["stride", "0"]),
    ({"stride": -1}, ValueError, ["stride", "-1"]),
    ({"stride": 1.5}, TypeError, ["stride", "float"]),
])
def test_bad_arguments(kwargs, exc, words):
    with pytest.raises(exc) as info:
        fl.correlate2d(torch.zeros(5, 5), torch.ones(3, 3), **kwargs)
    for word in words:
        assert word in str(info.value)


def test_bad_shapes():
    with pytest.raises(ValueError, match=r"kernel of size 7x7 is larger than the padded image 5x5"):
        fl.correlate2d(torch.zeros(5, 5), torch.ones(7, 7), edge="crop")
    with pytest.raises(ValueError, match=r"kernel must be 2-D .* got a tensor of shape \(3,\)"):
        fl.correlate2d(torch.zeros(5, 5), torch.ones(3))
    with pytest.raises(ValueError, match=r"even side.*edge='zero'"):
        fl.correlate2d(torch.zeros(5, 5), torch.ones(2, 2), edge="zero")
    with pytest.raises(ValueError, match=r"even side.*edge='extend'"):
        fl.correlate2d(torch.zeros(5, 5), torch.ones(3, 4), edge="extend")
    with pytest.raises(ValueError, match=r"image must have shape .* got 1 dimensions"):
        fl.correlate2d(torch.zeros(5), torch.ones(3, 3))
    with pytest.raises(ValueError, match=r"got 5 dimensions"):
        fl.correlate2d(torch.zeros(1, 1, 1, 5, 5), torch.ones(3, 3))
    with pytest.raises(ValueError, match=r"C_in = 2 .* C = 3"):
        fl.correlate2d(torch.zeros(1, 3, 5, 5), torch.ones(4, 2, 3, 3))
    with pytest.raises(ValueError, match=r"3 channels"):
        fl.correlate2d(torch.zeros(1, 3, 5, 5), torch.ones(3, 3))
    with pytest.raises(ValueError, match=r"padding must be 0 with edge='crop'"):
        fl.correlate2d(torch.zeros(5, 5), torch.ones(3, 3), edge="crop", padding=1)
    with pytest.raises(TypeError, match=r"image must be a torch.Tensor or a NumPy array, got str"):
        fl.correlate2d("image", torch.ones(3, 3))
    with pytest.raises(ValueError, match=r"size 5 is too small for a window of kernel_size 9"):
        fl.output_size(5, 9, 1, 1)
    with pytest.raises(ValueError, match=r"stride must be a positive int, got 0"):
        fl.output_size(5, 3, 0, 0)
    with pytest.raises(ValueError, match=r"name must be one of"):
        fl.get_kernel("emboss")
    with pytest.raises(ValueError, match=r"size must be odd"):
        fl.gaussian_kernel(4)
    with pytest.raises(ValueError, match=r"orientation must be"):
        fl.step_edge(8, "slanted")


# --------------------------------------------------------------------------- properties
@settings(max_examples=25, deadline=None)
@given(h=st.integers(3, 12), w=st.integers(3, 12), k=st.sampled_from([1, 3, 5]),
       stride=st.integers(1, 3), seed=st.integers(0, 10_000))
def test_property_zero_mode_matches_conv2d(h, w, k, stride, seed):
    """Seen failing against the mutants `correlate-flips-kernel` and `zero-pads-by-extending`."""
    x, kern = _rand(2, 3, h, w, seed=seed), _rand(4, 3, k, k, seed=seed + 1)
    torch.testing.assert_close(fl.correlate2d(x, kern, edge="zero", stride=stride),
                               F.conv2d(x, kern, padding=k // 2, stride=stride))


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 10), w=st.integers(1, 10), k=st.sampled_from([1, 3, 5]), seed=st.integers(0, 10_000))
def test_property_extend_matches_scipy_and_linearity(h, w, k, seed):
    """Seen failing against the mutants `correlate-flips-kernel` and `extend-pads-with-zeros`."""
    x, y, kern = _rand(h, w, seed=seed), _rand(h, w, seed=seed + 1), _rand(k, k, seed=seed + 2)
    out = fl.correlate2d(x, kern, edge="extend")
    np.testing.assert_allclose(out.numpy(), ndi.correlate(x.numpy(), kern.numpy(), mode="nearest"), atol=1e-9)
    torch.testing.assert_close(fl.correlate2d(2 * x + y, kern, edge="extend"),
                               2 * out + fl.correlate2d(y, kern, edge="extend"))


@settings(max_examples=80, deadline=None)
@given(n=st.integers(1, 40), k=st.integers(1, 9), p=st.integers(0, 4), s=st.integers(1, 5))
def test_property_output_size_counts_the_kernel_positions(n, k, p, s):
    """Brute force: count the top-left corners at which the kernel fits in the padded input.
    Seen failing against the mutant `output-size-rounds-up` (ceil instead of floor)."""
    assume(k <= n + 2 * p)
    positions = len(range(0, n + 2 * p - k + 1, s))
    assert fl.output_size(n, k, p, s) == positions
    assert F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), padding=p, stride=s).shape[-1] == positions


# --------------------------------------------------------------------------- figures (smoke tests)
def test_plot_functions_return_figures():
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from cnncourse.plots import filters as pf

    img = _rand(20, 20, seed=20).abs()
    gx, gy = fl.sobel_gradients(img)
    table = fl.response_table({o: fl.step_edge(8, o) for o in ("horizontal", "vertical")}, fl.edge_candidates())
    figs = [
        pf.show_kernel(fl.sobel_x(), "sobel x"),
        pf.show_kernels(fl.edge_candidates()),
        pf.show_worked_example(torch.full((3, 3), 9.0), fl.laplacian()),
        pf.show_filtering(img, fl.sharpen(), fl.correlate2d(img, fl.sharpen())),
        pf.show_images({"a": img, "b": -img}, ncols=1, colorbar=True),
        pf.show_filter_bank(img.numpy(), {"blur": fl.box_blur(), "gauss": fl.gaussian_kernel()}),
        pf.show_edge_modes(img, fl.box_blur(5)),
        pf.show_response_table(table, title="t"),
        pf.show_gradients(img, gx, gy, fl.gradient_magnitude(gx, gy), fl.gradient_direction(gx, gy)),
    ]
    assert all(isinstance(f, Figure) for f in figs)
    assert pf.show_worked_example(torch.full((3, 3), 9.0), fl.laplacian()).axes[2].get_title().endswith("= 0")
    plt.close("all")


# --------------------------------------------------------------------------- matrix form, gradients
@pytest.mark.parametrize("kernel_size, stride, padding", [(3, 1, 0), ((3, 2), 2, 1), (1, 1, 0), (4, (2, 3), (1, 2))])
def test_im2col_equals_unfold(kernel_size, stride, padding):
    x = _rand(2, 3, 9, 10)
    ours = fl.im2col(x, kernel_size, stride, padding)
    assert torch.allclose(ours, F.unfold(x, kernel_size, padding=padding, stride=stride))


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), ((1, 2), (0, 1))])
def test_correlate2d_matmul_equals_conv2d(stride, padding):
    x, w = _rand(2, 3, 11, 9), _rand(5, 3, 3, 2, seed=1)
    assert torch.allclose(fl.correlate2d_matmul(x, w, stride, padding),
                          F.conv2d(x, w, stride=stride, padding=padding))


def test_correlate2d_matmul_bad_input():
    with pytest.raises(ValueError, match="C_in = 2"):
        fl.correlate2d_matmul(_rand(1, 3, 8, 8), _rand(4, 2, 3, 3))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        fl.correlate2d_matmul(_rand(8, 8), _rand(4, 1, 3, 3))
    with pytest.raises(ValueError, match=r"kernel_size 5x5 is larger than the padded image 3x3 .*shape \(1, 1, 3, 3\)"):
        fl.im2col(_rand(1, 1, 3, 3), 5)
    with pytest.raises(TypeError, match="stride"):
        fl.im2col(_rand(1, 1, 8, 8), 3, stride=1.5)


@pytest.mark.parametrize("padding", [0, 1, 2])
@pytest.mark.parametrize("kernel_shape", [(4, 3, 3, 3), (2, 3, 3, 4)])
def test_conv2d_gradients_equal_autograd(padding, kernel_shape):
    if padding > min(kernel_shape[-2:]) - 1:
        pytest.skip("padding larger than k - 1")
    x = _rand(2, 3, 8, 9).requires_grad_()
    w = _rand(*kernel_shape, seed=1).requires_grad_()
    y = F.conv2d(x, w, padding=padding)
    g = _rand(*y.shape, seed=2)
    gx, gw = torch.autograd.grad(y, (x, w), g)
    ox, ow = fl.conv2d_gradients(x.detach(), w.detach(), g, padding=padding)
    assert ox.shape == x.shape and ow.shape == w.shape
    assert torch.allclose(ox, gx) and torch.allclose(ow, gw)


def test_conv2d_gradients_bad_input():
    x, w = _rand(1, 2, 6, 6), _rand(3, 2, 3, 3)
    with pytest.raises(ValueError, match="output shape"):
        fl.conv2d_gradients(x, w, _rand(1, 3, 6, 6))
    with pytest.raises(ValueError, match="at most k - 1"):
        fl.conv2d_gradients(x, w, _rand(1, 3, 10, 10), padding=3)


def test_compose_kernels_equals_two_correlations():
    a, b = _rand(5, 3, 3, 3), _rand(2, 5, 3, 2, seed=1)
    c = fl.compose_kernels(a, b)
    assert c.shape == (2, 3, 5, 4)
    x = _rand(2, 3, 12, 11, seed=2)
    assert torch.allclose(F.conv2d(F.conv2d(x, a), b), F.conv2d(x, c))
    k2 = fl.compose_kernels(fl.box_blur(3), fl.box_blur(3))   # 2-D in, 2-D out
    assert k2.shape == (5, 5) and abs(float(k2.sum()) - 1) < 1e-6
    with pytest.raises(ValueError, match="C_mid"):
        fl.compose_kernels(_rand(4, 1, 3, 3), _rand(2, 3, 3, 3))


@pytest.mark.parametrize("n, k, p, s", [(28, 3, 0, 2), (28, 2, 0, 2), (28, 3, 1, 2), (27, 4, 1, 3),
                                        (10, 10, 0, 1), (7, 3, 1, 3), (28, 5, 0, 3), (28, 7, 0, 7),
                                        (28, 5, 2, 4), (9, 4, 2, 5), (1, 1, 0, 1)])
def test_uncovered_pixels_are_the_image_pixels_without_gradient(n, k, p, s):
    # the reference: an image pixel is covered when it changes some output, i.e. its gradient
    # through PyTorch's convolution with an all-ones kernel is non-zero
    x = torch.zeros(1, 1, 1, n, requires_grad=True)
    F.conv2d(x, torch.ones(1, 1, 1, k), padding=(0, p), stride=(1, s)).sum().backward()
    unseen = (x.grad[0, 0, 0] == 0).int().tolist()
    tail = len(unseen) - len("".join(map(str, unseen)).rstrip("1"))
    if s <= k:  # a stride longer than the kernel also skips pixels between windows
        assert sum(unseen) == tail, "only pixels at the end of the axis are ever missed"
    assert fl.uncovered_pixels(n, k, p, s) == tail
    assert 0 <= fl.uncovered_pixels(n, k, p, s) < s


def test_oriented_edges_and_template_fit():
    t = fl.oriented_edges(5, 8)
    assert t.shape == (8, 5, 5)
    assert torch.allclose(t.sum(dim=(1, 2)), torch.zeros(8), atol=1e-6)
    assert torch.allclose(t.flatten(1).norm(dim=1), torch.ones(8), atol=1e-6)
    # the vertical template is Sobel-like: dark left, light right
    assert (t[0][:, :2] < 0).all() and (t[0][:, 3:] > 0).all() and (t[0][:, 2] == 0).all()
    # a scaled, shifted, negated template fits perfectly; random filters fit poorly
    f = torch.stack([-3 * t[2] + 7, t[5] * 0.01])
    assert torch.allclose(fl.template_fit(f, t), torch.ones(2), atol=1e-5)
    rand = torch.randn(500, 5, 5, generator=torch.Generator().manual_seed(0))
    scores = fl.template_fit(rand, t)
    assert 0.25 < float(scores.mean()) < 0.55 and float(scores.max()) <= 1
    # a 3x3 Sobel against 3x3 edges: the 0-degree template is its best
    assert float(fl.template_fit(fl.sobel_x()[None], fl.oriented_edges(3, 4))) > 0.9
    with pytest.raises(ValueError, match="same k"):
        fl.template_fit(rand, fl.oriented_edges(3, 8))
    with pytest.raises(ValueError, match="size"):
        fl.oriented_edges(1)


# --------------------------------------------------------------------------- issue 37: bad input, found by the API fuzz test
@pytest.mark.parametrize("call, words", [
    # an empty argument is refused by its own name, not as "image ... and kernel ..."
    (lambda: fl.compose_kernels(torch.zeros(0, 3), torch.ones(3, 3)), ["first", "empty", "(0, 3)"]),
    (lambda: fl.compose_kernels(torch.ones(3, 3), torch.zeros(1, 1, 3, 0)), ["second", "empty", "(1, 1, 3, 0)"]),
    (lambda: fl.compose_kernels(torch.ones(3), torch.ones(3, 3)), ["first", "2-D or 4-D", "(3,)"]),
    (lambda: fl.correlate2d(torch.zeros(0, 8), torch.ones(3, 3)), ["image", "empty", "(0, 8)"]),
    (lambda: fl.correlate2d(torch.zeros(8, 8), torch.zeros(3, 0)), ["kernel", "empty", "(3, 0)"]),
    (lambda: fl.im2col(torch.zeros(1, 1, 8, 0), 3), ["image", "empty", "(1, 1, 8, 0)"]),
    (lambda: fl.correlate2d_matmul(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 3, 0)), ["kernel", "empty"]),
    (lambda: fl.conv2d_gradients(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 0, 3), torch.ones(1, 1, 6, 6)),
     ["kernel", "empty"]),
    # a window larger than the image names the image and shows its shape
    (lambda: fl.im2col(torch.zeros(1, 1, 1, 1), 3), ["image", "(1, 1, 1, 1)", "kernel_size 3x3"]),
    (lambda: fl.conv2d_gradients(torch.zeros(1, 1, 1, 1), torch.ones(1, 1, 3, 3), torch.ones(1, 1, 1, 1)),
     ["image", "(1, 1, 1, 1)"]),
    # a grad_output that does not fit shows what it was derived from
    (lambda: fl.conv2d_gradients(torch.zeros(1, 1, 8, 8), torch.ones(1, 1, 3, 3), torch.ones(1, 1, 6, 6), 1),
     ["grad_output", "(1, 1, 8, 8)", "padding 1"]),
    # the caller's names for the output_size arguments
    (lambda: fl.uncovered_pixels(True, 3), ["n must be", "bool"]),
    (lambda: fl.uncovered_pixels(2, 3), ["n 2 is too small", "k 3"]),
    (lambda: fl.uncovered_pixels(10, 1000), ["k 1000"]),
    (lambda: fl.uncovered_pixels(10, torch.tensor(2.0)), ["k must be", "0-d tensor"]),
    (lambda: fl.as_tensor(None), ["x must be", "NoneType"]),
    # entries of a mapping are named by their key
    (lambda: fl.response_table({"a": torch.zeros(0, 8)}, {"s": torch.ones(3, 3)}), ["images['a']", "empty"]),
    (lambda: fl.response_table({"a": torch.zeros(8, 8)}, {"s": torch.ones(3)}), ["kernels['s']", "(3,)"]),
    (lambda: fl.format_table({"a": None}), ["table['a']", "None"]),
    (lambda: fl.format_table({"a": {"x": "high"}}), ["table['a']['x']", "'high'"]),
    (lambda: fl.format_table({"a": {"x": 1.0}, "b": {}}), ["table['b']", "'x'"]),
    (lambda: fl.format_table({"a": {"x": 1.0}}, row_title=3), ["row_title", "int"]),
    # a number where a tensor is expected: the message shows it
    (lambda: fl.pad(3, 1), ["image", "0-d tensor (3"]),
    (lambda: fl.gradient_direction(3, torch.zeros(8, 8)), ["gx and gy", "0-d tensor (3"]),
    (lambda: fl.correlate2d(torch.zeros(8, 8), torch.ones(3, 3), bias=torch.zeros(4)), ["bias", "(4,)"]),
    (lambda: fl.template_fit(torch.rand(2, 3, 3), torch.zeros(0, 3, 3)), ["templates", "empty"]),
    (lambda: fl.template_fit(torch.rand(2, 3, 3), torch.ones(2, 3, 3)), ["templates must not be constant"]),
    (lambda: fl.step_edge(low=1e300), ["low", "1e+300"]),
    (lambda: fl.step_edge(high=math.nan), ["high", "nan"]),
])
def test_messages_name_the_callers_argument_and_show_the_value(call, words):
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


@pytest.mark.parametrize("sigma", [1e-300, 5e-324, 1e300, 1.7e308])
def test_gaussian_kernel_is_finite_for_any_positive_sigma(sigma):
    """Tiny sigma: all weight on the centre pixel; huge sigma: a box blur. Never NaN."""
    g = fl.gaussian_kernel(5, sigma)
    assert torch.isfinite(g).all() and math.isclose(float(g.sum()), 1.0, rel_tol=1e-6)
    if sigma < 1:
        assert g[2, 2] == 1
    else:
        assert torch.allclose(g, torch.full((5, 5), 1 / 25))


def test_empty_batches_and_channels_give_empty_results_like_conv2d():
    """An empty batch or zero output channels is no error: the result is empty, as in torch."""
    x, w = _rand(2, 3, 8, 8), _rand(4, 3, 3, 3)
    assert fl.correlate2d_matmul(x[:0], w).shape == (0, 4, 6, 6)
    assert fl.correlate2d_matmul(x, w[:0]).shape == (2, 0, 6, 6)
