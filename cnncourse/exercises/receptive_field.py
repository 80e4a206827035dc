"""Checkers for the receptive-field exercises (lesson 9).

Each checker computes the reference answer itself with :mod:`cnncourse.receptive_field`,
so it works for any stack a lesson (or a curious learner) makes up. When an answer is
wrong, the checker recomputes the typical mistakes (forgetting the jump, forgetting the
dilation, adding strides instead of multiplying them, being off by one) and names the
mistake it recognises, without printing the right number.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from torch import nn

from cnncourse._checks import check_float, check_text
from cnncourse.exercises.feedback import Feedback, checker, correct, read_number, within, wrong
from cnncourse.receptive_field import ReceptiveField, receptive_field

__all__ = ["check_field_size", "check_jump", "check_stage_field", "check_erf_growth", "erf_growth_range"]


def _as_pixels(answer: object, exercise: str) -> tuple[int, int]:
    """An int, a whole float or a pair of them -> (rows, cols); else :class:`Rejected` with a hint."""
    what = "a whole number of pixels (an int)"
    if isinstance(answer, (tuple, list)) and len(answer) == 2:
        return (read_number(answer[0], exercise, integer=True, what=what),
                read_number(answer[1], exercise, integer=True, what=what))
    value = read_number(answer, exercise, integer=True, what=what)
    return value, value


def _variants(rf: ReceptiveField) -> dict[str, tuple[int, int]]:
    """Sizes and jumps that typical mistakes produce, per axis."""
    out: dict[str, list[int]] = {"no_jump": [], "no_dilation": [], "no_pool": [], "sum_kernels": [],
                                 "added_jumps": [], "sum_strides": [], "conv_strides_only": []}
    for a in (0, 1):
        r_nojump = 1
        r_nodil, j_nodil = 1, 1
        r_nopool, j_nopool = 1, 1
        sum_k = 0
        j_add, sum_s, j_conv = 1, 0, 1
        for row in rf:
            k, s, d = row.kernel[a], row.stride[a], row.dilation[a]
            raw = (k - 1) // d + 1
            r_nojump += k - 1
            r_nodil += (raw - 1) * j_nodil
            j_nodil *= s
            if row.kind != "MaxPool2d" and row.kind != "AvgPool2d":
                r_nopool += (k - 1) * j_nopool
                j_nopool *= s
                j_conv *= s
            if k > 1 or s > 1:
                sum_k += k
                j_add += s - 1
                sum_s += s
        out["no_jump"].append(r_nojump)
        out["no_dilation"].append(r_nodil)
        out["no_pool"].append(r_nopool)
        out["sum_kernels"].append(sum_k)
        out["added_jumps"].append(j_add)
        out["sum_strides"].append(sum_s)
        out["conv_strides_only"].append(j_conv)
    return {k: (v[0], v[1]) for k, v in out.items()}


@checker("receptive field size", name_from="exercise")
def check_field_size(answer: object, layers: nn.Module | Iterable[nn.Module],
                     exercise: str = "receptive field size") -> Feedback:
    """Check the learner's theoretical receptive-field size of the last layer of ``layers``.

    Parameters
    ----------
    answer
        The size in input pixels: an int for a square field (or a pair ``(rows, cols)``);
        ``None`` or ``...`` while unanswered.
    layers
        The stack the question is about (anything :func:`~cnncourse.receptive_field.receptive_field`
        accepts).
    exercise
        Name shown in the verdict.
    """
    rf = receptive_field(layers)
    got = _as_pixels(answer, exercise)
    ref = rf.size
    if got == ref:
        return correct(exercise, "that is the number of input pixels (per side) one unit of the last layer can see.")
    v = _variants(rf)
    has_dilation = any(d > 1 for row in rf for d in row.dilation)
    if has_dilation and got == v["no_dilation"]:
        return wrong(exercise, "you used the raw kernel sizes: a dilated kernel spans d(k - 1) + 1 pixels, "
                               "not k. Redo the layers with dilation > 1.")
    if got == v["no_jump"] != ref:
        return wrong(exercise, "you added (k - 1) for every layer, as if all strides were 1. After a layer "
                               "with stride s, one step of a later kernel moves s times further in the input: "
                               "multiply (k - 1) by the jump of the layer before.")
    if got == v["no_pool"] and v["no_pool"] != ref:
        return wrong(exercise, "the pooling layers are missing: a pooling window widens the field like a "
                               "convolution with the same kernel and stride.")
    if got == v["sum_kernels"]:
        return wrong(exercise, "you added the kernel sizes. Two stacked 3x3 layers see 5 pixels, not 6: "
                               "neighbouring windows overlap, so each layer adds (k - 1) jumps, not k.")
    if all(abs(g - r) == 1 for g, r in zip(got, ref)):
        return wrong(exercise, "off by one. Start from a field of 1 pixel (the input itself) and add "
                               "(k - 1) x jump per layer; a single k x k layer sees k pixels.")
    if any(g > r for g, r in zip(got, ref)):
        return wrong(exercise, "too large. Check each step of r_l = r_(l-1) + (k_l - 1) j_(l-1): use the jump "
                               "of the layer *before*, not after, and (k - 1), not k.")
    return wrong(exercise, "too small. Write a table, one row per layer, with the jump and the size: "
                           "r_l = r_(l-1) + (k_l - 1) j_(l-1), j_l = j_(l-1) s_l.")


@checker("jump", name_from="exercise")
def check_jump(answer: object, layers: nn.Module | Iterable[nn.Module],
               exercise: str = "jump") -> Feedback:
    """Check the learner's jump (effective stride, in input pixels) of the last layer of ``layers``.

    Parameters
    ----------
    answer
        The jump: an int (or a pair ``(rows, cols)``); ``None`` or ``...`` while unanswered.
    layers
        The stack the question is about.
    exercise
        Name shown in the verdict.
    """
    rf = receptive_field(layers)
    got = _as_pixels(answer, exercise)
    ref = rf.jump
    if got == ref:
        return correct(exercise, "two neighbouring units of the last layer look at windows this many input "
                                 "pixels apart.")
    v = _variants(rf)
    if got in (v["added_jumps"], v["sum_strides"]):
        return wrong(exercise, "you added the strides. Strides compound: a stride-s layer on top of a map "
                               "whose units are j pixels apart puts its units s x j pixels apart.")
    if got == v["conv_strides_only"] and v["conv_strides_only"] != ref:
        return wrong(exercise, "the pooling layers are missing: pooling has a stride too (by default equal "
                               "to its window), and it multiplies the jump like a strided convolution.")
    if got == (1, 1):
        return wrong(exercise, "a jump of 1 means no layer subsamples. Which layers have a stride above 1?")
    return wrong(exercise, "the jump is the product of the strides of all layers so far; "
                           "kernel sizes, padding and dilation do not change it.")


@checker("field of a residual block", name_from="exercise")
def check_stage_field(answer: object, model: nn.Module, stage: str,
                      exercise: str = "field of a residual block") -> Feedback:
    """Check the learner's receptive-field size at the output of ``stage`` of a branching model.

    The reference is :func:`~cnncourse.receptive_field.receptive_field` of the whole model
    (traced with ``torch.fx``), row ``stage``: for a residual block, the union of the fields
    of its main branch and its shortcut.

    Parameters
    ----------
    answer
        The size in input pixels: an int for a square field (or a pair ``(rows, cols)``);
        ``None`` or ``...`` while unanswered.
    model
        The model, for example a torchvision ResNet (built on the meta device is enough).
    stage
        A name of the table: a module such as ``"layer2.0"`` (its last node) or a node.
    exercise
        Name shown in the verdict.

    Raises
    ------
    TypeError
        When ``stage`` is not a string (or ``model`` not a module).
    ValueError
        When ``stage`` is empty, not in the table or sees the whole input (a mistake of the
        lesson, not of the learner).
    """
    check_text(stage, "stage")
    rf = receptive_field(model)
    try:
        row = rf[stage]
    except ValueError as exc:
        raise ValueError(f"stage {stage!r} is not in the table of model ({type(model).__name__}): "
                         f"{exc}") from None
    if row.size is None:
        raise ValueError(f"stage {stage!r} sees the whole input: ask about a stage with a finite field")
    got = _as_pixels(answer, exercise)
    ref = row.size
    if got == ref:
        return correct(exercise, "the sum sees the union of both branches, and the longer branch "
                                 "decides.")
    first = next(r for r in rf if r.name == stage or r.name.startswith(stage + "."))
    before = rf[first.index - 1].size if first.index > 0 else (1, 1)
    if got == before:
        return wrong(exercise, "that is the field of the shortcut alone (a 1x1 convolution adds "
                               "nothing). The sum also sees everything the main branch sees.")
    if all(g > r for g, r in zip(got, ref)):
        return wrong(exercise, "too large. The two branches look at overlapping windows around the "
                               "same centre: the field of a sum is their union, not the sum of "
                               "their sizes.")
    return wrong(exercise, "too small. Follow the main branch: each 3x3 kernel adds 2 jumps, and "
                           "after the stride-2 convolution the jump has doubled.")


def erf_growth_range(depth_ratio: float, measured: Iterable[float] = ()) -> tuple[float, float]:
    """The growth factors of the ERF radius :func:`check_erf_growth` accepts, ``(low, high)``.

    The square-root law of Luo et al. (2016) predicts ``sqrt(depth_ratio)`` for deep stacks;
    shallow stacks, whose ERF has not become Gaussian yet, grow faster. So the range runs from
    10 % below the law to 5 % above the largest factor measured (or 10 % above the law when
    nothing was measured): every factor the learner can read off the lesson's own data passes.

    Parameters
    ----------
    depth_ratio
        How many times deeper the stack becomes (> 1).
    measured
        Growth factors of the ERF radius for a ``depth_ratio`` times deeper stack, as measured
        (ratios of fitted radii, or ``depth_ratio ** slope`` for a fitted log-log slope); each
        finite and above 1.

    Raises
    ------
    TypeError, ValueError
        For a ``depth_ratio`` that is not a number above 1, or a measured factor that is not a
        finite number above 1 or is not below ``depth_ratio`` (the theoretical field's growth).
    """
    depth_ratio = check_float(depth_ratio, "depth_ratio", minimum=1, exclusive_minimum=True)
    if isinstance(measured, (str, bytes)) or not isinstance(measured, Iterable):
        raise TypeError(f"measured must be a sequence of growth factors, got {type(measured).__name__}")
    factors = [check_float(f, f"measured[{i}]", minimum=1, exclusive_minimum=True)
               for i, f in enumerate(measured)]
    for i, f in enumerate(factors):
        if f >= depth_ratio:
            raise ValueError(f"measured[{i}] must be below depth_ratio={depth_ratio} (an ERF grows more "
                             f"slowly than the theoretical field), got {f}")
    law = math.sqrt(depth_ratio)
    return 0.9 * law, max([1.1 * law] + [1.05 * f for f in factors])


@checker("ERF growth", name_from="exercise")
def check_erf_growth(answer: object, depth_ratio: float = 4.0, measured: Iterable[float] = (),
                     exercise: str = "ERF growth") -> Feedback:
    """Check by what factor the effective receptive field's radius grows when depth grows ``depth_ratio`` times.

    Accepted: the range of :func:`erf_growth_range`, from the square-root law of Luo et al.
    (2016), ``sqrt(depth_ratio)``, to the largest factor the lesson measured. The theoretical
    field's growth, ``depth_ratio`` itself, gets a hint of its own.

    Parameters
    ----------
    answer
        The growth factor (a number); ``None`` or ``...`` while unanswered.
    depth_ratio
        How many times deeper the network becomes (> 1).
    measured
        The growth factors the lesson measured (see :func:`erf_growth_range`), so that every
        factor its data gives is accepted.
    exercise
        Name shown in the verdict.

    Raises
    ------
    TypeError, ValueError
        For a bad ``depth_ratio`` or ``measured`` (never for the learner's answer).
    """
    low, high = erf_growth_range(depth_ratio, measured)
    depth_ratio = float(depth_ratio)
    got = read_number(answer, exercise, what="a number (a growth factor)")
    if within(got, low, high):
        return correct(exercise, "the effective field widens about like the square root of depth, much more "
                                 "slowly than the theoretical one.")
    if within(got, 0.9 * depth_ratio, 1.1 * depth_ratio):
        return wrong(exercise, "that is how the *theoretical* field grows (linearly with depth). The effective "
                               "field is a sum of many small random steps: how does the spread of such a sum grow?")
    if got <= 1:
        return wrong(exercise, "a deeper stack never sees less: the factor is above 1.")
    if got > high:
        return wrong(exercise, "too fast. A radius that grows like depth^b grows by depth_ratio^b: read b, the "
                               "slope of the ERF line, off the log-log plot.")
    return wrong(exercise, "too slow. A radius that grows like depth^b grows by depth_ratio^b: read b, the "
                           "slope of the ERF line, off the log-log plot.")
