"""The argument checks of the figures (issue 37): every array a ``show_*`` function draws goes
through ``plot_array`` (real, finite numbers; a meta tensor or a lone number refused), and every
sequence argument (titles, labels, names, windows, ...) through ``check_sequence``, so a
wrong value is refused with a message that names the caller's argument."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

from cnncourse.plots import (
    activations,
    cnn,
    evaluation,
    filters,
    images,
    pooling,
    receptive_field,
    training,
)

IMAGE = torch.linspace(0, 1, 64).reshape(8, 8)


def test_plot_array_keeps_the_dtype_and_refuses_what_is_no_array_of_finite_numbers():
    from cnncourse.plots._layout import plot_array

    assert plot_array(torch.zeros(2, 2, dtype=torch.uint8), "images").dtype == np.uint8
    assert plot_array([[1.0, 2.0]], "values").shape == (1, 2)
    assert np.isnan(plot_array([math.nan], "per_class", finite=False)).all()
    for value in (3, 2.5, np.float64(0.5), None, "image"):
        with pytest.raises(TypeError, match=r"^image must be"):
            plot_array(value, "image")
    with pytest.raises(TypeError, match=r"^image must be real-valued"):
        plot_array(torch.zeros(2, 2, dtype=torch.complex64), "image")
    with pytest.raises(ValueError, match=r"^image must hold numbers, got a meta tensor"):
        plot_array(torch.zeros(2, 2, device="meta"), "image")
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match=r"^image must hold finite numbers, got NaN or infinite"):
            plot_array([[0.0, bad]], "image")


def _with(value: float) -> torch.Tensor:
    out = IMAGE.clone()
    out[0, 0] = value
    return out


@pytest.mark.parametrize("bad", [math.nan, math.inf])
@pytest.mark.parametrize("call, name", [
    (lambda x: filters.show_kernel(x), "kernel"),
    (lambda x: filters.show_filtering(
        IMAGE, torch.ones(3, 3), x), "output"),
    (lambda x: filters.show_gradients(
        IMAGE, x, IMAGE, IMAGE, IMAGE), "gx"),
    (lambda x: images.show_pixel_values(x), "image"),
    (lambda x: images.show_digit_grid(x[None]), "images"),
    (lambda x: cnn.show_filters(x[None]), "weight"),
    (lambda x: receptive_field.show_usage_map(
        {"a": x}), "maps['a']"),
])
def test_non_finite_images_are_refused_naming_the_argument(call, name, bad):
    with pytest.raises(ValueError, match=rf"^{re.escape(name)} must hold finite numbers"):
        call(_with(bad))


def test_per_class_accuracy_takes_nan_for_an_empty_class_but_nothing_outside_0_1():
    from cnncourse.plots.evaluation import show_per_class_accuracy

    show_per_class_accuracy(torch.tensor([0.9, math.nan, 0.8]), overall=0.85)
    for bad in ([0.9, math.inf], [1.5, 0.5], [-0.1, 0.5]):
        with pytest.raises(ValueError, match=r"^per_class must hold accuracies in \[0, 1\]"):
            show_per_class_accuracy(torch.tensor(bad))
    with pytest.raises(TypeError, match=r"^overall must be"):
        show_per_class_accuracy(torch.tensor([0.9]), overall=1 + 1j)


@pytest.mark.parametrize("call, error, pattern", [
    (lambda: filters.show_filtering(
        IMAGE, torch.ones(3, 3), IMAGE, titles=None), TypeError, r"^titles must be a sequence"),
    (lambda: filters.show_filtering(
        IMAGE, torch.ones(3, 3), IMAGE, titles=("a", "b")), ValueError, r"^titles must have 3 items"),
    (lambda: filters.show_edge_modes(
        IMAGE, torch.ones(3, 3), modes=()), ValueError, r"^modes must have at least 1 item"),
    (lambda: filters.show_edge_modes(
        IMAGE, torch.ones(3, 3), modes=("zero", "mirror")), ValueError, r"^modes\[1\] must be one of"),
    (lambda: images.show_digit_grid(
        torch.zeros(2, 4, 4), labels=0), TypeError, r"^labels must be a sequence"),
    (lambda: images.show_digit_grid(
        torch.zeros(2, 4, 4), labels=[1]), ValueError, r"^labels must have 2 items"),
    (lambda: images.show_pixel_values(
        IMAGE, rows="ab"), TypeError, r"^rows must be an int or a pair"),
    (lambda: evaluation.show_confusion_matrix(
        torch.eye(2), class_names=-1), TypeError, r"^class_names must be a sequence"),
    (lambda: evaluation.show_mistakes(
        torch.zeros(2, 4, 4), ["a"]), TypeError, r"^mistakes\[0\] must be a Mistake"),
    (lambda: cnn.show_filters_before_after(
        torch.zeros(2, 3, 3), torch.zeros(2, 3, 3), labels=None), TypeError, r"^labels must be a sequence"),
    (lambda: cnn.show_filters_before_after(
        torch.zeros(2, 3, 3), torch.zeros(2, 3, 3), scores=([1.0, 2.0], [1.0])), ValueError,
     r"^scores\[1\] must have 2 items"),
    (lambda: cnn.show_shifted_digits(
        [IMAGE, IMAGE], titles=-1), TypeError, r"^titles must be a sequence"),
    (lambda: cnn.show_shift_accuracy(
        {"a": {"x": [0.9, 0.8]}}, max_shift=2.0), TypeError, r"^max_shift must be"),
    (lambda: pooling.show_pooled_maps(
        IMAGE, windows=()), ValueError, r"^windows must have at least 1 item"),
    (lambda: pooling.show_pooled_maps(
        IMAGE[:1, :1], windows=(2,)), ValueError, r"^windows must fit in the image"),
    (lambda: pooling.show_unchanged_fractions(
        [2], {"max": [0.5, 0.25]}), ValueError, r"^fractions\['max'\] has 2 values for the 1 windows"),
    (lambda: training.show_history(None), TypeError,
     r"^history must be a History"),
    (lambda: training.show_negative_log([None]),
     TypeError, r"^marked\[0\] must be"),
    (lambda: training.show_curves({"a": ["x"]}),
     TypeError, r"^curves\['a'\]\[0\] must be a number"),
    (lambda: receptive_field.show_field_growth(
        ["a", "b"], {}), TypeError, r"^depths\[0\] must be"),
    (lambda: receptive_field.show_erf_comparison(
        {"a": IMAGE}, field_bounds="ab"), TypeError, r"^field_bounds must be a sequence"),
    (lambda: receptive_field.show_dilation_comparison(
        {"a": IMAGE}, parameters=torch.tensor(2)), TypeError, r"^parameters must be a dict"),
    (lambda: activations.show_activations(("relu", "a")),
     ValueError, r"^names\[1\] must be one of"),
    (lambda: cnn.show_feature_maps(IMAGE, "maps"), TypeError, r"^maps must be a dict"),
    (lambda: cnn.show_feature_maps(IMAGE, {"a": torch.zeros(0, 6, 6)}), ValueError,
     r"^maps\['a'\] must have shape \(C, h, w\) and hold numbers"),
    (lambda: filters.show_filter_bank(IMAGE, {"box": torch.ones(2, 3, 3)}), ValueError,
     r"^kernels\['box'\] must be a 2-D image"),
])
def test_sequence_and_pair_arguments_are_checked_naming_the_argument(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_direction_to_rgb_wraps_angles_and_needs_one_shape():
    from cnncourse.plots.filters import direction_to_rgb

    d = torch.tensor([[-math.pi, 0.0], [math.pi, 3 * math.pi]])
    rgb = direction_to_rgb(d, torch.ones(2, 2))
    assert np.allclose(rgb[0, 0], rgb[1, 0], atol=1e-6) and np.allclose(rgb[0, 0], rgb[1, 1], atol=1e-6)
    with pytest.raises(ValueError, match=r"^direction and magnitude must have the same shape"):
        direction_to_rgb(torch.zeros(1, 1), torch.zeros(2, 2))


def test_filter_bank_draws_a_kernel_given_with_a_singleton_axis():
    """A (1, 3, 3) kernel is drawn as the 3x3 one it is (image_array drops the axis), and
    filtered as that one (it reached correlate2d with its extra axis)."""
    fig = filters.show_filter_bank(IMAGE, {"box": torch.ones(1, 3, 3) / 9})
    assert len(fig.axes) >= 3
