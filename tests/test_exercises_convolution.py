"""Checkers of lessons 5 and 6 accept right answers and give hints on typical wrong ones."""

from __future__ import annotations

import numpy as np
import torch

from cnncourse.exercises import convolution as ex
from cnncourse.exercises.feedback import Feedback
from cnncourse.filters import correlate2d, sobel_x, sobel_y


def _valid(image, kernel):
    kh, kw = kernel.shape
    h, w = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    return np.array([[(image[i:i + kh, j:j + kw] * kernel).sum() for j in range(w)] for i in range(h)])


def test_output_size():
    assert ex.check_output_size(13) and ex.check_output_size(np.int64(13)) and ex.check_output_size(13.0)
    assert ex.check_output_size(None).passed is None and ex.check_output_size(...).passed is None
    hints = {12: "off by one", 11: "left out the padding", 14: "rounded up", 26: "stride", 12.5: "whole number"}
    for answer, words in hints.items():
        fb = ex.check_output_size(answer)
        assert isinstance(fb, Feedback) and fb.passed is False and words in fb.message, (answer, fb)
        assert "13" not in fb.message
    assert not ex.check_output_size("13")
    assert ex.check_output_size(28, n=28, k=3, padding=1, stride=1)


def test_correlate():
    assert ex.check_correlate(_valid)
    assert ex.check_correlate(lambda im, k: torch.from_numpy(_valid(im, k)))
    assert ex.check_correlate(lambda im, k: correlate2d(im, k, edge="crop"))
    assert ex.check_correlate(None).passed is None
    assert ex.check_correlate(lambda im, k: None).passed is None
    cases = {
        "flipped the kernel": lambda im, k: _valid(im, k[::-1, ::-1]),
        "wrong sign": lambda im, k: -_valid(im, k),
        "Off by one": lambda im, k: _valid(im, k)[:-1, :-1],
        "cropping": lambda im, k: correlate2d(im, k, edge="zero", padding=(k.shape[0] // 2, k.shape[1] // 2)).numpy()
        if k.shape[0] % 2 else np.zeros_like(im),
        "transposed": lambda im, k: _valid(im, k.T) if k.shape[0] == k.shape[1] else _valid(im, k),
        "ZeroDivisionError": lambda im, k: 1 / 0,
        "position": lambda im, k: _valid(im, k) + (np.arange(_valid(im, k).size).reshape(_valid(im, k).shape) == 1),
    }
    for words, fn in cases.items():
        fb = ex.check_correlate(fn)
        assert fb.passed is False and words in fb.message, (words, fb)
        assert "case 1 of" in fb.message
    assert not ex.check_correlate("not a function")


def test_brightness_kernels():
    right = {"box blur", "gaussian blur", "sharpen"}
    assert ex.check_brightness_kernels(right) and ex.check_brightness_kernels(sorted(right))
    assert ex.check_brightness_kernels(None).passed is None
    fb = ex.check_brightness_kernels(right | {"laplacian"})
    assert not fb and "'laplacian'" in fb.message
    fb = ex.check_brightness_kernels({"box blur"})
    assert not fb and "2 more" in fb.message
    fb = ex.check_brightness_kernels({"emboss"})
    assert not fb and "unknown" in fb.message


def test_detector_choice():
    assert ex.check_detector_choice("a", "diagonal") and ex.check_detector_choice(" A ", "diagonal")
    assert ex.check_detector_choice("d", "horizontal") and ex.check_detector_choice("b", "vertical")
    assert ex.check_detector_choice(None).passed is None
    fb = ex.check_detector_choice("b", "horizontal")
    assert not fb and "gives 0" in fb.message
    fb = ex.check_detector_choice("d", "diagonal")
    assert not fb and "more strongly" in fb.message
    assert not ex.check_detector_choice("e") and not ex.check_detector_choice(3)


def test_edge_kernel():
    assert ex.check_edge_kernel(-sobel_x()) and ex.check_edge_kernel([[0, 0, 0], [1, 0, -1], [0, 0, 0]])
    assert ex.check_edge_kernel(np.array([[1, 0, -1]] * 5, dtype=float))
    assert ex.check_edge_kernel(None).passed is None
    for kernel, words in [(sobel_x(), "wrong sign"), (sobel_y(), "horizontal edges"),
                          (np.ones((3, 3)), "flat region"), (np.zeros((3, 3)), "gives 0"),
                          (np.ones((2, 2)), "odd sides"), ("abc", "array")]:
        fb = ex.check_edge_kernel(kernel)
        assert fb.passed is False and words in fb.message, (kernel, fb)


def test_gradient_direction():
    assert ex.check_gradient_direction(-90) and ex.check_gradient_direction(270.0)
    assert ex.check_gradient_direction(None).passed is None
    fb = ex.check_gradient_direction(90)
    assert not fb and "opposite" in fb.message
    fb = ex.check_gradient_direction(0)
    assert not fb and "along the edge" in fb.message
    assert not ex.check_gradient_direction(30) and not ex.check_gradient_direction("up")


def test_rgb_layer_parameters():
    right = (5 * 5 * 3 + 1) * 16
    assert right == sum(p.numel() for p in torch.nn.Conv2d(3, 16, 5).parameters())
    assert ex.check_rgb_layer_parameters(right) and ex.check_rgb_layer_parameters(np.int64(right))
    assert ex.check_rgb_layer_parameters(None).passed is None
    hints = {5 * 5 * 16 + 16: "all the input channels", 5 * 5 * 3 * 16: "bias",
             (5 * 5 + 1) * 3 * 16: "one bias", 7: "count the weights", 1216.5: "whole number"}
    for answer, words in hints.items():
        fb = ex.check_rgb_layer_parameters(answer)
        assert fb.passed is False and words in fb.message, (answer, fb)
        assert str(right) not in fb.message.replace(str(answer), "")  # the echo is no leak
    assert not ex.check_rgb_layer_parameters("1216") and not ex.check_rgb_layer_parameters(float("nan"))


def test_output_size_question_numbers_are_checked_by_their_names():
    """Issue 37: the question's n and k were checked by output_size as 'size' and 'kernel_size'."""
    import pytest

    assert ex.check_output_size(13, n=np.int64(28), k=torch.tensor(7)).passed
    with pytest.raises(TypeError, match=r"^k must be a positive int, got bool"):
        ex.check_output_size(13, k=True)
    with pytest.raises(TypeError, match=r"^n must be a positive int, got a 0-d tensor"):
        ex.check_output_size(13, n=torch.tensor(2.0))
    with pytest.raises(ValueError, match=r"^padding must be a non-negative int, got -1"):
        ex.check_output_size(13, padding=-1)
    with pytest.raises(ValueError, match=r"^the question has no answer: a kernel of k=7 does not fit an "
                                         r"image of n=2 with padding 2"):
        ex.check_output_size(13, n=2)
