"""Batch normalization written out: what ``nn.BatchNorm2d`` computes, in training and in evaluation.

Batch normalization (Ioffe and Szegedy, 2015) standardizes every channel of a batch of feature
maps ``(N, C, H, W)`` over the batch *and* the positions, the axes ``(0, 2, 3)``: each channel
gets one mean and one variance, computed from ``N * H * W`` numbers. Then a learned scale
(``weight``) and shift (``bias``), one per channel, let the network undo the standardization
where it needs to.

In training mode the statistics are the current batch's (with the biased variance, dividing by
``N * H * W``), and running averages are updated for later:
``running = (1 - momentum) * running + momentum * batch`` (with the *unbiased* variance, as
PyTorch does). In evaluation mode the running averages are used instead, so each image is
normalized by fixed numbers, independently of the rest of its batch.

:func:`batch_norm2d` is checked against ``nn.BatchNorm2d`` in both modes in the tests.
"""

from __future__ import annotations

import torch

from cnncourse._checks import as_tensor, check_float, check_nonempty, describe

__all__ = ["batch_norm2d", "batch_statistics"]


def _channels(x: object, name: str) -> torch.Tensor:
    x = as_tensor(x, name, numbers=True)
    if x.ndim != 4:
        raise ValueError(f"{name} must be a batch of feature maps (N, C, H, W), got {describe(x)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    return x


def batch_statistics(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean and the biased variance of every channel of ``x``, over the batch and the positions.

    Parameters
    ----------
    x
        Feature maps ``(N, C, H, W)``.

    Returns
    -------
    (mean, var)
        Two tensors of shape ``(C,)``.

    Raises
    ------
    TypeError, ValueError
        For an ``x`` that is not a 4-D floating-point tensor, or an empty one (a mean of no
        values is undefined).
    """
    x = check_nonempty(_channels(x, "x"), "x")
    return x.mean(dim=(0, 2, 3)), x.var(dim=(0, 2, 3), unbiased=False)


def batch_norm2d(x: torch.Tensor, running_mean: torch.Tensor, running_var: torch.Tensor,
                 weight: torch.Tensor | None = None, bias: torch.Tensor | None = None, *,
                 training: bool, momentum: float = 0.1, eps: float = 1e-5
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Batch normalization of ``x``, from scratch: ``nn.BatchNorm2d``'s forward pass.

    Parameters
    ----------
    x
        Feature maps ``(N, C, H, W)``, floating point.
    running_mean, running_var
        The running statistics, shape ``(C,)``; not changed in place.
    weight, bias
        The learned per-channel scale and shift, shape ``(C,)``; ``None`` for 1 and 0.
    training
        Normalize with the batch's statistics and update the running ones (``True``), or with
        the running statistics (``False``).
    momentum
        Weight of the batch's statistics in the running average, in (0, 1].
    eps
        Added to the variance before the square root (positive).

    Returns
    -------
    (y, running_mean, running_var)
        The normalized maps, shape of ``x``, and the running statistics after this batch (the
        same ones in evaluation mode).

    Raises
    ------
    TypeError, ValueError
        For tensors of the wrong rank, dtype or length, a ``training`` that is not a bool, a
        batch with a single value per channel in training mode (no variance), or ``momentum``
        or ``eps`` out of range.
    """
    x = _channels(x, "x")
    if not isinstance(training, bool):
        raise TypeError(f"training must be a bool, got {type(training).__name__} ({training!r})")
    momentum = check_float(momentum, "momentum", minimum=0, maximum=1, exclusive_minimum=True)
    eps = check_float(eps, "eps", minimum=0, exclusive_minimum=True)
    c = x.shape[1]
    per_channel = {}
    for name, value in (("running_mean", running_mean), ("running_var", running_var),
                        ("weight", weight), ("bias", bias)):
        if value is None and name in ("weight", "bias"):
            per_channel[name] = None
            continue
        value = as_tensor(value, name, numbers=True)
        if value.shape != (c,):
            raise ValueError(f"{name} must have one value per channel of x, shape ({c},) for x of shape "
                             f"{tuple(x.shape)}, got {describe(value)}")
        per_channel[name] = value
    if training:
        count = x.shape[0] * x.shape[2] * x.shape[3]
        if count < 2:
            raise ValueError(f"training mode needs more than one value per channel to compute a variance, "
                             f"got x of shape {tuple(x.shape)}")
        mean, var = batch_statistics(x)
        new_mean = (1 - momentum) * per_channel["running_mean"] + momentum * mean.detach()
        new_var = (1 - momentum) * per_channel["running_var"] + momentum * var.detach() * count / (count - 1)
    else:
        mean, var = per_channel["running_mean"], per_channel["running_var"]
        new_mean, new_var = mean, var
    shape = (1, c, 1, 1)
    y = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + eps)
    if per_channel["weight"] is not None:
        y = y * per_channel["weight"].reshape(shape)
    if per_channel["bias"] is not None:
        y = y + per_channel["bias"].reshape(shape)
    return y, new_mean, new_var
