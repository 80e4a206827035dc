"""Measuring how fast a model trains: images per second of forward + backward + step.

Also the two numbers that say how far from the hardware's limit a rate is: the arithmetic
of one training step per image (:func:`training_flops_per_image`, counted by PyTorch's
``FlopCounterMode``) and the machine's peak matrix-multiply rate (:func:`peak_matmul_flops`).
"""

from __future__ import annotations

import copy
import itertools
import math
import os
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnncourse._checks import (
    check_batches,
    check_device,
    check_float,
    check_int,
    check_learning_rate,
    check_mapping,
    check_model,
    check_model_input,
    describe,
    run_model,
)
from cnncourse.runtime import autocast_context as _autocast
from cnncourse.runtime import model_device
from cnncourse.runtime import to_device as _to_device

__all__ = ["Throughput", "training_throughput", "measure_throughput", "measure_in_turns",
           "AblationStep", "ablation",
           "STEP_PARTS", "step_profile", "training_flops_per_image", "peak_matmul_flops"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass(frozen=True)
class Throughput:
    """A throughput measurement: the rate of each timed repetition.

    Attributes
    ----------
    rates
        Images per second of each repetition, in the order measured.
    steps
        Timed optimizer steps per repetition.
    """

    rates: tuple[float, ...]
    steps: int

    @property
    def rate(self) -> float:
        """The median rate (images per second)."""
        return statistics.median(self.rates)

    @property
    def spread(self) -> float:
        """(fastest - slowest) / median of the repetitions: 0.05 means they agree within 5 %."""
        return (max(self.rates) - min(self.rates)) / self.rate


def training_throughput(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
                        steps: int = 50, warmup: int = 5, repeats: int = 3,
                        autocast_dtype: torch.dtype | None = None, channels_last: bool = False,
                        lr: float = 1e-3, max_seconds: float | None = None) -> float:
    """Median training images per second of ``model`` on ``batches``.

    Each repetition times ``steps`` optimizer steps (Adam, cross-entropy) after ``warmup``
    untimed ones; batches are drawn from ``batches`` in a cycle, so a list holding one batch
    measures the model alone, without any data handling. :func:`measure_throughput` does the
    work and also returns every repetition.

    Parameters
    ----------
    model
        A classifier; trained in place on the device of its parameters.
    batches
        A DataLoader, :class:`cnncourse.data.TensorBatches` or a non-empty list of
        ``(inputs (Tensor[N, C, H, W]), targets (Tensor[N]))``.
    steps, warmup, repeats
        Timed steps per repetition, untimed steps before, and repetitions (the median is returned).
    autocast_dtype, channels_last
        Speed options as in :func:`cnncourse.training.train_one_epoch`.
    lr
        Learning rate of the Adam optimizer used for the steps. To time one batch used over and
        over (an upper bound without any data handling), pass ``lr=0``: every step still does
        all the arithmetic of training, but the model cannot memorize the batch, which would
        change the numbers and slow the arithmetic down (the lesson MLP fell from about 16,000
        to 12,000 images per second after 1,200 steps on one batch at ``lr=1e-3``).
    max_seconds
        Stop repeating once the timed repetitions have taken this long together; one repetition
        always runs. A very slow option (bf16 on a CPU without bf16 instructions runs 10x slower)
        then costs one repetition instead of ``repeats``. ``None`` runs them all.

    Returns
    -------
    float
        Images per second.

    Raises
    ------
    TypeError
        If ``model`` is not an ``nn.Module``, or the first batch's inputs are not a
        floating-point tensor of the dtype of its parameters (a ``float64`` model and
        ``float32`` images, say).
    ValueError
        For a non-positive ``steps`` or ``repeats``, a negative ``warmup`` or ``max_seconds``,
        or ``batches`` that hold no batch.
    """
    return measure_throughput(model, batches, steps=steps, warmup=warmup, repeats=repeats,
                              autocast_dtype=autocast_dtype, channels_last=channels_last, lr=lr,
                              max_seconds=max_seconds).rate


def measure_throughput(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
                       steps: int = 50, warmup: int = 5, repeats: int = 3,
                       autocast_dtype: torch.dtype | None = None, channels_last: bool = False,
                       lr: float = 1e-3, max_seconds: float | None = None,
                       max_spread: float | None = None) -> Throughput:
    """Training images per second of every repetition, as :func:`training_throughput` times them.

    Parameters
    ----------
    model, batches, steps, warmup, repeats, autocast_dtype, channels_last, lr, max_seconds
        As in :func:`training_throughput`.
    max_spread
        When given (e.g. ``0.05``), keep measuring until the last ``repeats`` repetitions agree
        within this spread (:attr:`Throughput.spread`), doubling ``steps`` after every round of
        ``repeats`` that does not, while ``max_seconds`` (required with it) allows.

    Returns
    -------
    Throughput
        The rates of the last ``repeats`` repetitions (fewer when ``max_seconds`` stopped the
        first round) and the steps each timed.

    Raises
    ------
    TypeError, ValueError
        As :func:`training_throughput`; ``ValueError`` also for ``max_spread`` without
        ``max_seconds`` or not positive.
    """
    check_model(model, numbers=True, trainable=True)
    lr = check_learning_rate(lr, "lr")
    steps = check_int(steps, "steps", minimum=1)
    repeats = check_int(repeats, "repeats", minimum=1)
    warmup = check_int(warmup, "warmup", minimum=0)
    if max_seconds is not None:
        max_seconds = check_float(max_seconds, "max_seconds", minimum=0.0)
    if max_spread is not None:
        max_spread = check_float(max_spread, "max_spread", minimum=0.0, exclusive_minimum=True)
        if max_seconds is None:
            raise ValueError(f"max_spread needs max_seconds, got max_spread={max_spread!r} "
                             "without max_seconds: without a time budget a noisy machine "
                             "would keep measuring for ever")
    if isinstance(batches, (list, tuple)) and not batches:
        raise ValueError("batches is empty: pass at least one (inputs, targets) batch, e.g. "
                         "[next(iter(train_batches))]")
    device = model_device(model)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    checked = check_batches(batches, "batches")
    stream = itertools.cycle(checked) if isinstance(batches, (list, tuple)) else _endless(checked)
    first = next(stream)  # inputs the model can take (its dtype), before any timing
    with _autocast(device, autocast_dtype):
        check_model_input(first[0], model, "(the inputs of the batches)")
    stream = itertools.chain([first], stream)

    def run(n: int) -> int:
        images = 0
        for x, y in itertools.islice(stream, n):
            x, y = _to_device(x, device, channels_last), y.to(device, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            with _autocast(device, autocast_dtype):
                loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            images += y.shape[0]
        return images

    # A model that memorizes the few batches it repeats drives its gradients into subnormal
    # numbers, which CPUs process many times slower (one batch of the lesson MLP at lr=1e-3 fell
    # to about 300 images/s after 2,000 steps). Flushing them to zero while timing keeps
    # the arithmetic at its ordinary speed.
    torch.set_flush_denormal(True)
    try:
        return _timed_rounds(run, device, warmup, steps, repeats, max_seconds, max_spread)
    finally:
        torch.set_flush_denormal(False)


def measure_in_turns(contenders: Mapping[str, Callable[[], tuple[nn.Module, dict]]],
                     batches: Iterable[tuple[torch.Tensor, torch.Tensor]], rounds: int = 3,
                     steps: int = 10, warmup: int = 3, lr: float = 0.0) -> dict[str, Throughput]:
    """Training rates of several models measured in turns, so that a slow spell hits them alike.

    On a shared machine the speed of the same loop can change by 2x within a minute; timing
    one contender after the other would put the slow spell on whichever ran during it. Here
    every round times ``steps`` steps of each contender in turn (the order reversed every
    other round), after ``warmup`` untimed steps of each, and each contender's rates are the
    rates of its rounds.

    Parameters
    ----------
    contenders
        Name -> a function returning ``(model, options)``: a fresh model on its device and the
        keyword options of :func:`measure_throughput` (``autocast_dtype``, ``channels_last``).
    batches
        As :func:`measure_throughput`; a list of one batch times the models alone.
    rounds, steps, warmup
        Rounds (positive), timed steps per contender and round (positive), untimed steps
        before the first round (non-negative).
    lr
        Adam's learning rate; 0 (the default) keeps the weights fixed, so that repeating one
        batch cannot change the arithmetic (see :func:`training_throughput`).

    Returns
    -------
    dict
        Name -> :class:`Throughput` with one rate per round, in the order of ``contenders``.

    Raises
    ------
    TypeError
        If a contender is not a function or does not return ``(nn.Module, dict)``.
    ValueError
        For no contenders, a contender that raises (the message names it; the error is chained),
        or a non-positive ``rounds`` or ``steps``.
    """
    rounds = check_int(rounds, "rounds", minimum=1)
    steps = check_int(steps, "steps", minimum=1)
    warmup = check_int(warmup, "warmup", minimum=0)
    check_mapping(contenders, "contenders", nonempty=False)
    if not contenders:
        raise ValueError("contenders is empty: pass at least one name -> (model, options) function")
    built = {}
    for name, make in contenders.items():
        if not callable(make):
            raise TypeError(f"contenders[{name!r}] must be a function returning (model, options), got "
                            f"{describe(make)}")
        try:
            made = make()
        except Exception as exc:  # the contender's own error, attributed to it
            raise ValueError(f"contenders[{name!r}] ({describe(make)}) raised {type(exc).__name__}: "
                             f"{exc}") from exc
        if not (isinstance(made, tuple) and len(made) == 2 and isinstance(made[1], dict)):
            raise TypeError(f"contenders[{name!r}] must return (model, options dict), got {describe(made)}")
        check_model(made[0], f"the model of contender {name!r}")
        built[name] = made
    rates: dict[str, list[float]] = {name: [] for name in built}
    order = list(built)
    for i in range(rounds):
        for name in order if i % 2 == 0 else order[::-1]:
            model, options = built[name]
            # a fresh optimizer each round costs nothing measurable; the model keeps its warm kernels
            run = measure_throughput(model, batches, steps=steps, warmup=warmup if i == 0 else 1,
                                     repeats=1, lr=lr, **options)
            rates[name].extend(run.rates)
    return {name: Throughput(tuple(r), steps) for name, r in rates.items()}


@dataclass(frozen=True)
class AblationStep:
    """One row of :func:`ablation`: a change, the time with it, its gain and its share."""

    change: str
    seconds: float
    gain: float
    """Time of the row before over this row's time (1.0 for the first row)."""
    share: float
    """``log(gain) / log(total gain)``: the rows' shares add up to 1 (0 for the first row)."""


def ablation(steps: Sequence[tuple[str, float]]) -> list[AblationStep]:
    """Gains and shares of a chain of changes, each row adding one change to the row before.

    Gains multiply, so each row's share of the whole is the logarithm of its gain over the
    logarithm of the total gain (first row's time over the last row's): the shares add up to
    1, and a change that slowed things down gets a negative share.

    Parameters
    ----------
    steps
        ``(change, seconds)`` pairs in order, the baseline first; at least two, every time
        positive and finite.

    Returns
    -------
    list of AblationStep
        One per step. When the total gain is 1 (nothing changed), every share is 0.

    Raises
    ------
    TypeError, ValueError
        For fewer than two steps, a step that is not a ``(str, number)`` pair, or a time
        that is not positive and finite.
    """
    if isinstance(steps, (str, bytes)) or not isinstance(steps, (Sequence, Iterable)):
        raise TypeError(f"steps must be a sequence of (change, seconds) pairs, got "
                        f"{type(steps).__name__} ({steps!r})")
    steps = list(steps)
    if len(steps) < 2:
        raise ValueError(f"steps must hold the baseline and at least one change, got {len(steps)}")
    times = []
    for i, step in enumerate(steps):
        if not (isinstance(step, tuple) and len(step) == 2 and isinstance(step[0], str)):
            raise TypeError(f"steps[{i}] must be a (change, seconds) pair, got {step!r}")
        times.append(check_float(step[1], f"steps[{i}] seconds", minimum=0.0,
                                 exclusive_minimum=True))
    total = math.log(times[0] / times[-1])
    rows = []
    for i, ((change, _), seconds) in enumerate(zip(steps, times)):
        gain = times[i - 1] / seconds if i else 1.0
        share = math.log(gain) / total if i and total != 0 else 0.0
        rows.append(AblationStep(change, seconds, gain, share))
    return rows


STEP_PARTS = ("convolution", "max-pooling", "ReLU", "linear layers", "loss", "optimizer", "other")
"""The parts :func:`step_profile` divides a training step into."""

_PART_OF_OP = (  # aten operator name fragments -> part of the step; first match wins
    (("convolution", "conv2d", "conv_depthwise"), "convolution"),
    (("max_pool",), "max-pooling"),
    (("relu", "threshold_backward", "clamp_min"), "ReLU"),
    (("addmm", "aten::mm", "aten::linear", "aten::t"), "linear layers"),
    (("log_softmax", "nll_loss", "cross_entropy"), "loss"),
)


def _part(event) -> str:
    """The part of the step a profiled operator belongs to: the first ancestor (or itself)
    that names a part, so that e.g. the copies inside a convolution count as convolution."""
    node = event
    while node is not None:
        if node.name.startswith("Optimizer."):
            return "optimizer"
        node = node.cpu_parent
    node = event
    while node is not None:
        for fragments, part in _PART_OF_OP:
            if any(fragment in node.name for fragment in fragments):
                return part
        node = node.cpu_parent
    return "other"


def step_profile(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
                 steps: int = 10, warmup: int = 3, autocast_dtype: torch.dtype | None = None,
                 channels_last: bool = False) -> dict[str, float]:
    """Where the time of a training step goes, measured by PyTorch's profiler.

    Runs ``warmup`` untimed steps, then ``steps`` steps (Adam at learning rate 0, cross-entropy,
    as :func:`measure_throughput`) under ``torch.profiler.profile``, and adds up the time
    each operator spent in itself (its self CPU time) by the part of the step it belongs to
    (:data:`STEP_PARTS`): the operators of a convolution's forward and backward pass count as
    convolution, those under the optimizer's ``step`` as optimizer, and so on; what no part
    claims (zeroing gradients, dtype conversions, additions) is ``other``. On a CUDA device
    the time counted is the operators' time on the device (the profiler's CUDA activity),
    since the CPU only launches them there.

    Parameters
    ----------
    model, batches, autocast_dtype, channels_last
        As :func:`measure_throughput`; the model is trained in place (at learning rate 0).
    steps, warmup
        Profiled steps (positive) and untimed steps before (non-negative).

    Returns
    -------
    dict
        Part -> share of the profiled time, in the order of :data:`STEP_PARTS`; the shares
        add up to 1.

    Raises
    ------
    TypeError, ValueError
        As :func:`measure_throughput`.
    """
    from torch.profiler import ProfilerActivity, profile

    # the profiler's back end (Kineto) prints its start, stop and device-probe lines to the
    # process's own output unless told otherwise; a lesson's page would show them
    os.environ.setdefault("KINETO_LOG_LEVEL", "6")
    steps = check_int(steps, "steps", minimum=1)
    warmup = check_int(warmup, "warmup", minimum=0)
    measure_throughput(model, batches, steps=1, warmup=warmup, repeats=1, lr=0.0,
                       autocast_dtype=autocast_dtype, channels_last=channels_last)
    # on a GPU the operators run there: count their device time, not the time spent launching
    cuda = model_device(model).type == "cuda"
    activities = [ProfilerActivity.CPU, *([ProfilerActivity.CUDA] if cuda else [])]
    with profile(activities=activities) as profiler:
        measure_throughput(model, batches, steps=steps, warmup=0, repeats=1, lr=0.0,
                           autocast_dtype=autocast_dtype, channels_last=channels_last)
    seconds = dict.fromkeys(STEP_PARTS, 0.0)
    for event in profiler.events():
        seconds[_part(event)] += (event.self_device_time_total if cuda
                                  else event.self_cpu_time_total)
    total = sum(seconds.values())
    return {part: value / total for part, value in seconds.items()}


def _timed_rounds(run: Callable[[int], int], device: torch.device, warmup: int, steps: int, repeats: int,
                  max_seconds: float | None, max_spread: float | None) -> Throughput:
    run(warmup)
    timed = 0.0
    while True:
        rates, round_seconds = [], 0.0
        for _ in range(repeats):
            _sync(device)
            start = time.perf_counter()
            images = run(steps)
            _sync(device)
            seconds = time.perf_counter() - start
            if images == 0:
                raise ValueError("batches yielded batches of no images: check the batch size")
            rates.append(images / seconds)
            round_seconds += seconds
            if max_seconds is not None and timed + round_seconds >= max_seconds:
                break
        timed += round_seconds
        result = Throughput(tuple(rates), steps)
        if max_spread is None or len(rates) < repeats or result.spread <= max_spread:
            return result
        if timed + 2 * round_seconds > max_seconds:  # a round of twice the steps would not fit
            return result
        steps *= 2


def training_flops_per_image(model: nn.Module, inputs: torch.Tensor,
                             autocast_dtype: torch.dtype | None = None) -> float:
    """Floating-point operations of one training step (forward + backward), per image.

    Counted by ``torch.utils.flop_counter.FlopCounterMode`` on a copy of ``model`` (the model
    itself is left untouched): matrix products and convolutions, forward and backward, at
    2 operations per multiply-add. Element-wise work (activations, pooling, the optimizer's
    update) is not counted, so the count is a lower bound of the work.

    Parameters
    ----------
    model
        A classifier returning ``(N, classes)`` logits.
    inputs
        A batch ``(Tensor[N, C, H, W])`` (or ``(N, features)`` for an MLP) on the model's device.
    autocast_dtype
        Count under autocast in this dtype (the count is the same; the kernels differ).

    Returns
    -------
    float
        Operations per image.

    Raises
    ------
    TypeError
        If ``model`` is not an ``nn.Module`` or ``inputs`` not a tensor.
    ValueError
        If ``inputs`` holds no image.
    """
    check_model(model, numbers=True, trainable=True)
    if not isinstance(inputs, torch.Tensor):
        raise TypeError(f"inputs must be a torch.Tensor batch, got {type(inputs).__name__}")
    check_model_input(inputs, model, "as inputs")
    if inputs.ndim < 2 or inputs.shape[0] == 0:
        raise ValueError(f"inputs must be a non-empty batch (N, ...), got shape {tuple(inputs.shape)}")
    clone = copy.deepcopy(model).train()
    counter = FlopCounterMode(display=False)
    with counter:  # one context: entering it again would reset the count
        with _autocast(model_device(clone), autocast_dtype):
            loss = run_model(clone, inputs, "inputs").float().logsumexp(dim=1).mean()
        loss.backward()
    return counter.get_total_flops() / inputs.shape[0]


def peak_matmul_flops(device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
                      size: int = 1024, seconds: float = 0.3) -> float:
    """The fastest rate of ``size x size`` matrix products measured on ``device``, in FLOP/s.

    The product of two ``n x n`` matrices costs ``2 n**3`` operations; this times products
    repeatedly for about ``seconds`` and returns the best rate: what the processor's matrix
    units reach on the friendliest workload, with the threads PyTorch currently uses.

    Parameters
    ----------
    device
        Where to multiply.
    dtype
        ``torch.float32``, or ``torch.bfloat16`` for the reduced-precision units.
    size
        Matrix side (positive); 1024 is large enough to keep a laptop CPU's units busy.
    seconds
        Time budget (positive, at most an hour); at least three products run.

    Returns
    -------
    float
        Operations per second.

    Raises
    ------
    ValueError
        For a non-positive ``size``, a ``seconds`` not in (0, 3600], or a dtype other than
        float32 / bfloat16 / float16.
    """
    size = check_int(size, "size", minimum=1)
    seconds = check_float(seconds, "seconds", minimum=0.0, exclusive_minimum=True, maximum=3600)
    if dtype not in (torch.float32, torch.bfloat16, torch.float16):
        raise ValueError(f"dtype must be torch.float32, torch.bfloat16 or torch.float16, got {dtype}")
    device = check_device(device)
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=generator).to(device, dtype)
    b = torch.randn(size, size, generator=generator).to(device, dtype)
    a @ b  # warm-up: the first product picks its kernel
    best, spent, runs = float("inf"), 0.0, 0
    while runs < 3 or spent < seconds:
        _sync(device)
        start = time.perf_counter()
        a @ b
        _sync(device)
        elapsed = time.perf_counter() - start
        best, spent, runs = min(best, elapsed), spent + elapsed, runs + 1
    return 2 * size**3 / best


def _endless(batches: Iterable):
    """Pass over ``batches`` again and again (a new shuffled epoch each time)."""
    while True:
        empty = True
        for batch in batches:
            empty = False
            yield batch
        if empty:
            raise ValueError("batches yielded no batches: check that the dataset is not empty")
