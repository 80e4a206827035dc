"""Measuring how fast a model trains: images per second of forward + backward + step."""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Iterable

import torch
from torch import nn

from cnncourse.training import _autocast, _check_model, _model_device, _to_device


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def training_throughput(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
                        steps: int = 50, warmup: int = 5, repeats: int = 3,
                        autocast_dtype: torch.dtype | None = None, channels_last: bool = False,
                        lr: float = 1e-3, max_seconds: float | None = None) -> float:
    """Median training images per second of ``model`` on ``batches``.

    Each repetition times ``steps`` optimizer steps (Adam, cross-entropy) after ``warmup``
    untimed ones; batches are drawn from ``batches`` in a cycle, so a list holding one batch
    measures the model alone, without any data handling.

    Parameters
    ----------
    model
        A classifier; trained in place on the device of its parameters.
    batches
        A DataLoader, :class:`cnncourse.data.TensorBatches` or a list of ``(inputs, targets)``.
    steps, warmup, repeats
        Timed steps per repetition, untimed steps before, and repetitions (the median is returned).
    autocast_dtype, channels_last
        Speed options as in :func:`cnncourse.training.train_one_epoch`.
    lr
        Learning rate of the Adam optimizer used for the steps.
    max_seconds
        Stop repeating once the timed repetitions have taken this long together; one repetition
        always runs. A very slow option (bf16 on a CPU without bf16 instructions runs 10x slower)
        then costs one repetition instead of ``repeats``. ``None`` runs them all.

    Returns
    -------
    float
        Images per second.
    """
    _check_model(model)
    for name, value in (("steps", steps), ("repeats", repeats)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be a non-negative int, got {warmup!r}")
    if max_seconds is not None and (isinstance(max_seconds, bool) or not isinstance(max_seconds, (int, float))
                                    or not max_seconds >= 0):
        raise ValueError(f"max_seconds must be a non-negative number of seconds or None, got {max_seconds!r}")
    device = _model_device(model)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    stream = itertools.cycle(batches) if isinstance(batches, (list, tuple)) else _endless(batches)

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

    run(warmup)
    rates, timed = [], 0.0
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        images = run(steps)
        _sync(device)
        seconds = time.perf_counter() - start
        rates.append(images / seconds)
        timed += seconds
        if max_seconds is not None and timed >= max_seconds:
            break
    return statistics.median(rates)


def _endless(batches: Iterable):
    """Pass over ``batches`` again and again (a new shuffled epoch each time)."""
    while True:
        empty = True
        for batch in batches:
            empty = False
            yield batch
        if empty:
            raise ValueError("batches yielded no batches: check that the dataset is not empty")
