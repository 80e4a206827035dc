"""Checkers for the exercises of lessons 5 (kernel convolution) and 6 (Sobel filters).

Each checker takes the learner's answer, computes the reference itself, and returns a
:class:`~cnncourse.exercises.feedback.Feedback`. A placeholder (``None`` or ``...``) gives
"no answer yet"; a wrong answer gives a hint that names the mistake (which test case,
off by one, flipped kernel, wrong sign, ...) without printing the solution.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import torch

from cnncourse._checks import check_choice, check_int, describe
from cnncourse.exercises.feedback import (
    Feedback,
    call_learner,
    checker,
    correct,
    is_placeholder,
    read_array,
    read_number,
    unanswered,
    wrong,
)
from cnncourse.filters import (
    correlate2d,
    edge_candidates,
    get_kernel,
    gradient_direction,
    output_size,
    sobel_gradients,
    step_edge,
)

# --------------------------------------------------------------------------- lesson 5
OUTPUT_SIZE_QUESTION = {"n": 28, "k": 7, "padding": 2, "stride": 2}
"""The numbers of the output-size exercise: a 28x28 digit, a 7x7 kernel, padding 2, stride 2."""


@checker("output size")
def check_output_size(answer: object, n: int | None = None, k: int | None = None,
                      padding: int | None = None, stride: int | None = None) -> Feedback:
    """Check the learner's output size for :data:`OUTPUT_SIZE_QUESTION` (or given numbers).

    Recognises the usual slips: forgetting the ``+ 1``, forgetting the padding, padding
    one side only, rounding up instead of down, not rounding, ignoring the stride.

    Raises
    ------
    TypeError
        For a question number ``n``, ``k``, ``padding`` or ``stride`` that is not an int.
    ValueError
        For one out of range (``n``, ``k`` and ``stride`` positive, ``padding`` non-negative),
        or a kernel that does not fit the padded image: the question would have no answer.
    """
    name = "output size"
    q = dict(OUTPUT_SIZE_QUESTION)
    for key, v, least in (("n", n, 1), ("k", k, 1), ("padding", padding, 0), ("stride", stride, 1)):
        if v is not None:
            q[key] = check_int(v, key, minimum=least)
    n_, k_, p_, s_ = q["n"], q["k"], q["padding"], q["stride"]
    if n_ + 2 * p_ < k_:
        raise ValueError(f"the question has no answer: a kernel of k={k_} does not fit an image of "
                         f"n={n_} with padding {p_} (n + 2 * padding must be at least k)")
    value = read_number(answer, name, what="one number (an int)")
    expected = output_size(n_, k_, p_, s_)
    if value == expected:
        return correct(name, f"the kernel fits {expected} times along each axis.")
    hints = []
    if not float(value).is_integer():
        hints.append("a size counts kernel positions, so it is a whole number: round the "
                     "division down (a last step that would leave the image is not taken)")
    if value == (n_ + 2 * p_ - k_) // s_:
        hints.append("off by one: the first kernel position counts too (the '+ 1')")
    if value == (n_ + p_ - k_) // s_ + 1:
        hints.append("the padding is added on both sides of the image")
    if value == (n_ - k_) // s_ + 1:
        hints.append("you left out the padding")
    if value == math.ceil((n_ + 2 * p_ - k_) / s_) + 1:
        hints.append("you rounded up: a step that would leave the padded image is not taken, round down")
    if value == n_ + 2 * p_ - k_ + 1:
        hints.append("you left out the stride: the kernel moves stride pixels at a time")
    if not hints:
        hints.append("count the positions: the padded length is n + 2p; the kernel needs k of it; "
                     "then it moves s pixels per step")
    return wrong(name, f"{value:g} is not right. " + "; or ".join(hints) + ".")


def _reference_valid(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return correlate2d(torch.from_numpy(image), torch.from_numpy(kernel), edge="crop").numpy()


_CORRELATE_CASES = ((5, 5, 3, 3), (6, 8, 3, 3), (9, 7, 5, 5), (7, 7, 2, 2), (6, 9, 3, 1), (4, 4, 4, 4))


def _check_cases(cases: object) -> list[tuple[int, int, int, int]]:
    """The checker's test cases (set by the lesson, not the learner's answer)."""
    if isinstance(cases, (str, bytes)) or not isinstance(cases, Iterable):
        raise TypeError(f"cases must be a list of (h, w, kh, kw) tuples, got {describe(cases)}")
    checked = []
    for case in cases:
        if isinstance(case, (str, bytes)) or not isinstance(case, Sequence) or len(case) != 4:
            raise TypeError(f"cases must hold (h, w, kh, kw) tuples, got {describe(case)}")
        checked.append(tuple(check_int(v, "cases", minimum=1) for v in case))
    if not checked:
        raise ValueError(f"cases must hold at least one (h, w, kh, kw) tuple, got {cases!r}")
    return checked


@checker("cross-correlation")
def check_correlate(fn: Callable | None, cases: Iterable[tuple[int, int, int, int]] = _CORRELATE_CASES,
                    seed: int = 0) -> Feedback:
    """Test the learner's ``fn(image, kernel)``: cross-correlation, "crop" mode, stride 1.

    ``fn`` receives 2-D NumPy ``float64`` arrays and may return a NumPy array or a torch
    tensor. It runs on random integer images and kernels of several sizes (square and
    not, odd and even kernels) and is compared with :func:`cnncourse.filters.correlate2d`.
    """
    name = "cross-correlation"
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    cases = _check_cases(cases)
    for number, (h, w, kh, kw) in enumerate(cases, start=1):
        image = rng.integers(-5, 6, size=(h, w)).astype(np.float64)
        kernel = rng.integers(-3, 4, size=(kh, kw)).astype(np.float64)
        if kh > 1 and kw > 1:
            kernel[0, 0] += 7.0  # make the kernel clearly asymmetric, so a flip shows
        what = f"case {number} of {len(cases)} (image {h}x{w}, kernel {kh}x{kw})"
        expected = _reference_valid(image, kernel)
        got = call_learner(fn, name, image.copy(), kernel.copy(), call=what, expects="the output array")
        got = read_array(got, name, what=f"{what}: the output, an array of numbers,", finite=False)
        if got.shape != expected.shape:
            hint = f"{what}: expected an output of shape {expected.shape}, got {got.shape}."
            if got.shape == image.shape:
                hint += " Your output is as large as the image: this exercise wants cropping (no padding)."
            elif got.ndim == 2 and max(abs(a - b) for a, b in zip(got.shape, expected.shape)) == 1:
                hint += (" Off by one: an axis of n pixels holds n - k + 1 kernel positions "
                         "(range(n - k + 1) in Python).")
            elif got.shape == expected.shape[::-1]:
                hint += " Rows and columns are swapped."
            return wrong(name, hint)
        if np.allclose(got, expected, atol=1e-6):
            continue
        flipped = _reference_valid(image, kernel[::-1, ::-1].copy())
        if np.allclose(got, flipped, atol=1e-6):
            return wrong(name, f"{what}: you flipped the kernel. That is true convolution; the "
                               "exercise (and every CNN layer) uses the kernel as it is.")
        if np.allclose(got, -expected, atol=1e-6):
            return wrong(name, f"{what}: every value has the wrong sign.")
        if kh == kw and np.allclose(got, _reference_valid(image, kernel.T.copy()), atol=1e-6):
            return wrong(name, f"{what}: you used the kernel transposed (rows and columns swapped).")
        bad = np.argwhere(~np.isclose(got, expected, atol=1e-6))[0]
        return wrong(name, f"{what}: the value at output position {tuple(int(i) for i in bad)} is wrong. "
                           "It should be the sum of kernel * the patch whose top-left corner is there.")
    return correct(name, f"your function agrees with the reference on all {len(cases)} cases.")


RGB_LAYER_QUESTION = {"in_channels": 3, "out_channels": 16, "kernel_size": 5}
"""The layer of the channels exercise: ``Conv2d(3, 16, kernel_size=5)`` on colour images."""


@checker("parameters of an RGB layer")
def check_rgb_layer_parameters(answer: object) -> Feedback:
    """Check the number of learnable parameters of ``Conv2d(3, 16, kernel_size=5)``.

    The reference is PyTorch's own count of the layer's parameters.
    """
    name = "parameters of an RGB layer"
    value = read_number(answer, name, integer=True, what="a parameter count (a whole number)")
    q = RGB_LAYER_QUESTION
    layer = torch.nn.Conv2d(q["in_channels"], q["out_channels"], q["kernel_size"])
    expected = sum(p.numel() for p in layer.parameters())
    k, c_in, c_out = q["kernel_size"], q["in_channels"], q["out_channels"]
    if int(value) == expected:
        return correct(name, f"{c_out} filters of {k}x{k}x{c_in} weights, plus one bias each.")
    if int(value) == k * k * c_out + c_out:
        return wrong(name, "each filter spans all the input channels: its weights form a k x k x c_in volume")
    if int(value) == k * k * c_in * c_out:
        return wrong(name, "the weights are right; every filter also has a bias")
    if int(value) == (k * k + 1) * c_in * c_out:
        return wrong(name, "a filter has one bias, not one per input channel")
    return wrong(name, "count the weights of one filter (it covers every input channel), add its bias, "
                       "and multiply by the number of filters")


BRIGHTNESS_KERNELS = ("box blur", "gaussian blur", "sharpen", "laplacian", "sobel x", "sobel y")
"""The kernels the brightness exercise asks about (names in :data:`cnncourse.filters.KERNELS`)."""


@checker("kernels that keep brightness")
def check_brightness_kernels(answer: object) -> Feedback:
    """Which kernels of :data:`BRIGHTNESS_KERNELS` leave a flat (constant) image unchanged?

    The answer is a collection of kernel names.
    """
    name = "kernels that keep brightness"
    if isinstance(answer, str):
        answer = [answer]
    try:
        chosen = {a.strip().lower() for a in answer}
    except (TypeError, AttributeError):
        return wrong(name, f"give a list or set of kernel names, got {type(answer).__name__}.")
    unknown = sorted(chosen - set(BRIGHTNESS_KERNELS))
    if unknown:
        return wrong(name, f"unknown name(s) {unknown}; choose from {list(BRIGHTNESS_KERNELS)}.")
    flat = torch.full((7, 7), 100.0)
    keep = {k for k in BRIGHTNESS_KERNELS
            if torch.allclose(correlate2d(flat, get_kernel(k), edge="crop"), torch.tensor(100.0))}
    extra = sorted(chosen - keep)
    if extra:
        return wrong(name, f"{extra[0]!r} does not keep a flat region as it is: filter a constant "
                           "image with it and look at the output (or add up its weights).")
    missing = keep - chosen
    if missing:
        return wrong(name, f"all your choices are right, but {len(missing)} more kernel(s) also keep "
                           "a flat region unchanged.")
    return correct(name, "these kernels' weights add up to 1.")


# --------------------------------------------------------------------------- lesson 6
def check_detector_choice(answer: object, orientation: str = "diagonal") -> Feedback:
    """Which candidate of :func:`~cnncourse.filters.edge_candidates` responds most strongly
    to a step edge of the given ``orientation``?

    The reference decides as lesson 6 does: the largest absolute response of each kernel
    on the ``orientation`` edge image (:func:`~cnncourse.filters.step_edge`), and the
    kernel with the largest one wins.
    """
    name = f"{orientation} edge detector"
    orientations = ("horizontal", "vertical", "diagonal")
    check_choice(orientation, "orientation", orientations)
    if is_placeholder(answer):
        return unanswered(name)
    candidates = edge_candidates()
    if not isinstance(answer, str) or answer.strip().lower() not in candidates:
        return wrong(name, f"answer with one of the letters {sorted(candidates)}, got {answer!r}.")
    image = step_edge(8, orientation)
    peak = {c: float(correlate2d(image, k, edge="crop").abs().max()) for c, k in candidates.items()}
    best = max(peak, key=peak.get)
    a = answer.strip().lower()
    if a == best:
        return correct(name, f"kernel {a} gives the strongest response on the {orientation} edge.")
    if peak[a] == 0:
        return wrong(name, f"kernel {a} gives 0 everywhere on the {orientation} edge image.")
    return wrong(name, f"kernel {a} responds to the {orientation} edge, but another kernel responds "
                       "more strongly: compute every kernel's largest response on that image.")


@checker("light-to-dark vertical edge kernel")
def check_edge_kernel(kernel: object) -> Feedback:
    """The learner's kernel must respond *positively* to a vertical edge that is light on
    the left and dark on the right, and give 0 on flat regions and on horizontal edges.
    """
    name = "light-to-dark vertical edge kernel"
    k = torch.from_numpy(read_array(kernel, name, what="a 2-D array of numbers"))
    if k.ndim != 2 or k.shape[0] % 2 == 0 or k.shape[1] % 2 == 0:
        return wrong(name, f"give a 2-D kernel with odd sides (e.g. 3x3), got shape {tuple(k.shape)}.")
    size = max(9, 2 * max(k.shape) + 3)
    flat = torch.full((size, size), 5.0, dtype=torch.float64)
    light_left = step_edge(size, "vertical", low=1.0, high=0.0).double()
    horizontal = step_edge(size, "horizontal").double()
    if correlate2d(flat, k, edge="crop").abs().max() > 1e-9:
        return wrong(name, "your kernel responds to a flat region: an edge detector's weights must add up to 0.")
    if correlate2d(horizontal, k, edge="crop").abs().max() > 1e-9:
        return wrong(name, "your kernel also responds to horizontal edges: make each row's "
                           "weights add up to 0, so that change from top to bottom is ignored.")
    response = correlate2d(light_left, k, edge="crop")
    if response.abs().max() < 1e-9:
        return wrong(name, "your kernel gives 0 on the vertical edge too: it must weigh the left "
                           "and right sides differently.")
    if response.max() <= 1e-9:
        return wrong(name, "wrong sign: your kernel gives negative values on a light-to-dark edge "
                           "(it detects dark-to-light ones).")
    if response.min() < -1e-9:
        return wrong(name, "your kernel gives both positive and negative values at this one edge; "
                           "make every column on the left weigh one way and every column on the right the other.")
    return correct(name, "positive on light-to-dark vertical edges, 0 on flat regions and horizontal edges.")


@checker("gradient direction")
def check_gradient_direction(answer: object) -> Feedback:
    """Direction (degrees, as :func:`~cnncourse.filters.gradient_direction` reports it) of the
    gradient on a horizontal edge that is dark below and light above."""
    name = "gradient direction"
    value = read_number(answer, name, what="one number of degrees")
    image = step_edge(9, "horizontal", low=1.0, high=0.0)  # light above, dark below
    gx, gy = sobel_gradients(image, edge="extend")
    strongest = torch.argmax(gx**2 + gy**2)
    expected = float(gradient_direction(gx.flatten()[strongest], gy.flatten()[strongest], degrees=True))
    diff = (value - expected + 180.0) % 360.0 - 180.0
    if abs(diff) < 1e-6:
        msg = "the gradient points towards the light side." if value == expected else \
            f"{value:g} is the same direction; gradient_direction reports it in (-180, 180]."
        return correct(name, msg)
    if abs(abs(diff) - 180.0) < 1e-6:
        return wrong(name, "you have the opposite direction: the gradient points to where the image "
                           "gets brighter, and rows grow downwards in an image.")
    if abs(abs(diff) - 90.0) < 1e-6:
        return wrong(name, "that direction is along the edge; the gradient points across it.")
    return wrong(name, "an edge along a row changes only from row to row, so the answer is "
                       "straight up or straight down; work out gx and gy and take atan2(gy, gx).")


__all__ = [
    "BRIGHTNESS_KERNELS",
    "OUTPUT_SIZE_QUESTION",
    "check_brightness_kernels",
    "check_correlate",
    "check_detector_choice",
    "check_edge_kernel",
    "check_gradient_direction",
    "check_output_size",
]
