"""What each answer box of the book must answer, from the exercise checkers themselves.

Key: ``(exercise name, box label)`` as the box shows them (``data-exercise`` and its label).
Value: ``(checker as the lesson binds it, a right answer, a known-wrong answer, an answer the
box does not know)``. The right answers are computed here from the concept modules, not copied
from the lessons; the browser test types each answer into the box and compares the verdict
and the text with ``checker(answer)``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from cnncourse.exercises import cnn, convolution, images, mlp, pooling, receptive_field, training
from cnncourse.filters import output_size
from cnncourse.initialization import init_std
from cnncourse.models import mlp_parameter_count
from cnncourse.receptive_field import receptive_field as field_of

_RF_STACK = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 8, 3), nn.ReLU())
_DILATED = [nn.Conv2d(1, 1, 3, dilation=d, padding=d) for d in (1, 2, 4, 8)]
_SIZES = (784, 256, 128, 10)
_POOLED = torch.nn.functional.max_pool2d(torch.from_numpy(pooling.POOLING_INPUT).double()[None], 2)[0]
_CONV = cnn.exercise_stack()[3]


def _flat_pooled(a):
    return pooling.check_pooled_output([list(a[:len(a) // 2]), list(a[len(a) // 2:])])


_q = convolution.OUTPUT_SIZE_QUESTION
ANSWERS = {
    ("output size", "Rows of the output:"): (
        convolution.check_output_size,
        output_size(_q["n"], _q["k"], _q["padding"], _q["stride"]),
        output_size(_q["n"], _q["k"], _q["padding"], _q["stride"]) - 1, 57),
    ("kernels that keep brightness", "Kernels that keep a flat image unchanged:"): (
        convolution.check_brightness_kernels, {"box blur", "gaussian blur", "sharpen"},
        {"box blur", "gaussian blur", "sharpen", "laplacian"}, None),
    ("pooled output", "The pooled map, row by row (e.g. 1, 2, 3, 4, 5, 6):"): (
        _flat_pooled, [int(v) for v in _POOLED.reshape(-1)],
        [float(v) for v in torch.nn.functional.avg_pool2d(torch.from_numpy(pooling.POOLING_INPUT).double()[None],
                                                          2)[0].reshape(-1)], [1, 1, 1, 1, 1, 1]),
    ("shift that pooling follows exactly", "Smallest exact shift, in pixels:"): (
        pooling.check_exact_shift, 2, 4, 1),  # 1 gets the catch-all hint: "not yet"
    ("receptive field size", "Field size, in pixels:"): (
        lambda a: receptive_field.check_field_size(a, _RF_STACK), field_of(_RF_STACK).size[0], 11, 777),
    ("jump", "Jump, in pixels:"): (
        lambda a: receptive_field.check_jump(a, _RF_STACK), field_of(_RF_STACK).jump[0], 3, 777),
    ("receptive field size", "Field of the dilated stack, in pixels:"): (
        lambda a: receptive_field.check_field_size(a, _DILATED), field_of(_DILATED).size[0], 9, 777),
    ("ERF growth", "Growth factor of the ERF radius:"): (
        lambda a: receptive_field.check_erf_growth(a, depth_ratio=4), float(np.sqrt(4)), 4, 2345),
    ("parameter count", "Number of parameters:"): (
        lambda a: mlp.check_parameter_count(a, sizes=_SIZES),
        sum(a * b + b for a, b in zip(_SIZES[:-1], _SIZES[1:])),
        sum(a * b for a, b in zip(_SIZES[:-1], _SIZES[1:])), 3),
    ("test-time scale", "Test-time factor:"): (
        lambda a: training.check_test_time_scale(a, p=0.3), 0.7, 0.3, 0.55),
    ("diagonal edge detector", "The strongest detector:"): (
        lambda a: convolution.check_detector_choice(a, "diagonal"), "a", "d", None),
    ("gradient direction", "Direction, in degrees:"): (
        convolution.check_gradient_direction, -90, 90, 7),
    ("output shape", "Output shape (channels, height, width):"): (
        cnn.check_output_shape, [32, 6, 6], [32, 12, 12], [3, 3, 3]),
    ("conv parameters", "Number of parameters:"): (
        cnn.check_conv_parameters, sum(p.numel() for p in _CONV.parameters()), 3 * 3 * 16 * 32, 4641),
    ("smallest input", "Smallest side, in pixels:"): (cnn.check_smallest_input, None, None, 1999),
    ("normalized range", "Smallest and largest value (e.g. 0, 1):"): (
        lambda a: images.check_normalized_range(*a), [-1, 1], [0, 1], [-3, 3]),
    ("weight decay", "Factor per step:"): (
        lambda a: training.check_decay_factor(a, lr=0.1, weight_decay=0.01), round(1 - 0.1 * 0.01, 3),
        round(1 - 0.01, 3), 0.5),  # forgetting the learning rate; 0.5 is not in the box
    ("momentum gain", "Times the plain step:"): (
        lambda a: training.check_momentum_gain(a, momentum=0.9), round(1 / (1 - 0.9), 1), 1.9, 123),
    ("He initialisation", "Standard deviation:"): (
        lambda a: training.check_he_std(a, fan_in=400), round(init_std("he", 400), 3),
        round(1 / 400 ** 0.5, 3), 0.5),  # the linear-layer rule, without the factor 2
    ("BatchNorm parameters", "Learned numbers:"): (
        lambda a: cnn.check_batchnorm_parameters(a, channels=32),
        sum(p.numel() for p in nn.BatchNorm2d(32).parameters()),
        sum(p.numel() for p in nn.BatchNorm2d(32).parameters()) * 2, 999),  # running stats counted
    ("fine-tuned parameters", "Trained parameters:"): (
        lambda a: cnn.check_finetuned_parameters(a, sizes=(800, 256, 5)), mlp_parameter_count((800, 256, 5)),
        mlp_parameter_count((256, 5)), 7),  # only the last layer
}


def _smallest_input() -> int:
    """The smallest side the exercise stack accepts, found by running it."""
    stack = cnn.exercise_stack().eval()
    for n in range(1, 200):
        try:
            with torch.no_grad():
                stack(torch.zeros(1, 1, n, n))
            return n
        except RuntimeError:
            continue
    raise AssertionError("the exercise stack accepts no input up to 199 pixels")


_side = _smallest_input()
ANSWERS["smallest input", "Smallest side, in pixels:"] = (cnn.check_smallest_input, _side, _side + 1, 1999)


def type_answer(box, kind: str, answer) -> None:
    """Answer an answer box as a reader does: type, tick or choose, then press its button."""
    if kind in ("number", "list"):
        text = ", ".join(str(a) for a in answer) if kind == "list" else str(answer)
        box.locator("input[type=text]").fill(text)
    elif kind == "choice":
        box.locator(f"input[value='{answer}']").check()
    else:
        for option in box.locator("input[type=checkbox]").all():
            option.set_checked(option.get_attribute("value") in answer)
    box.locator("button").click()
