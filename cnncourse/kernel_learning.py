"""Learning a kernel by gradient descent from input/output pairs.

A convolutional layer is a kernel whose weights are found by gradient descent rather than
designed. The smallest demonstration: filter images with a known kernel (for example
Sobel x), forget the kernel, and recover it from the pairs (image, filtered image) alone,
starting from random weights and minimising the mean squared difference between
``conv2d(image, w)`` and the filtered image. The problem is linear least squares, so the
known kernel is its unique minimum as soon as the images vary enough.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from cnncourse._checks import FLOAT32_MAX, as_tensor, check_float, describe

__all__ = ["LearnedKernel", "learn_kernel"]

OPTIMIZERS = ("sgd", "adam")
"""The optimizers :func:`learn_kernel` accepts: plain gradient descent, or Adam."""


@dataclass(frozen=True)
class LearnedKernel:
    """The result of :func:`learn_kernel`.

    Attributes
    ----------
    kernel
        The learned ``(k_h, k_w)`` weights.
    initial
        The random weights gradient descent started from.
    losses
        Mean squared error before each step, and after the last one (``steps + 1`` values).
    """

    kernel: torch.Tensor
    initial: torch.Tensor
    losses: list[float]


def _images(x: object, name: str) -> torch.Tensor:
    t = as_tensor(x, name, dtype="floating", numbers=True)
    if t.ndim == 2:
        t = t[None, None]
    elif t.ndim == 3:
        t = t[:, None]
    elif t.ndim != 4 or t.shape[1] != 1:
        raise ValueError(f"{name} must have shape (H, W), (N, H, W) or (N, 1, H, W), got {describe(t)}")
    return t.to(torch.float32)


def learn_kernel(inputs: object, targets: object, kernel_size: int, *, steps: int = 200,
                 lr: float = 0.1, optimizer: str = "adam", init_scale: float = 0.1,
                 seed: int = 0) -> LearnedKernel:
    """Fit a ``kernel_size x kernel_size`` kernel so that correlating ``inputs`` gives ``targets``.

    Minimises ``mean((conv2d(inputs, w) - targets) ** 2)`` over ``w`` (no padding, stride
    1, no bias) by full-batch gradient descent, starting from normal random weights with
    standard deviation ``init_scale`` drawn from a generator seeded with ``seed``.

    Parameters
    ----------
    inputs
        Images ``(H, W)``, ``(N, H, W)`` or ``(N, 1, H, W)``.
    targets
        The filtered images, ``(H - k + 1, W - k + 1)`` per image ("valid" correlation).
    kernel_size
        Side ``k`` of the square kernel.
    steps
        Gradient steps.
    lr
        Learning rate.
    optimizer
        ``"sgd"`` (plain gradient descent) or ``"adam"``.
    init_scale
        Standard deviation of the random starting weights.
    seed
        Seed of the starting weights.

    Returns
    -------
    LearnedKernel
        The learned and the initial kernel, and the loss curve.

    Raises
    ------
    TypeError
        A size or count that is not an int, or a learning rate that is not a number.
    ValueError
        Shapes that do not match a valid correlation with a ``k x k`` kernel, non-positive
        ``steps``, ``lr`` or ``kernel_size`` (or one larger than the inputs), an ``lr`` beyond
        what a float32 holds, or an unknown optimizer.
    """
    for value, name in ((kernel_size, "kernel_size"), (steps, "steps"), (seed, "seed")):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if kernel_size < 1 or steps < 1:
        raise ValueError(f"kernel_size and steps must be positive, got {kernel_size} and {steps}")
    for value, name in ((lr, "lr"), (init_scale, "init_scale")):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a number, got {type(value).__name__} ({value!r})")
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value}")
    lr = check_float(lr, "lr", maximum=FLOAT32_MAX)  # the optimizer stores it as a float32
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    x = _images(inputs, "inputs")
    y = _images(targets, "targets").to(x.device)
    if kernel_size > min(x.shape[-2:]):
        raise ValueError(f"kernel_size {kernel_size} is larger than the inputs, {x.shape[-2]}x{x.shape[-1]} "
                         f"per image (shape {tuple(x.shape)})")
    expected = (x.shape[0], 1, x.shape[-2] - kernel_size + 1, x.shape[-1] - kernel_size + 1)
    if tuple(y.shape) != expected:
        raise ValueError(f"targets must have shape {expected[-2:]} per image (a valid correlation of "
                         f"inputs {tuple(x.shape[-2:])} with a kernel_size={kernel_size} kernel), "
                         f"got {tuple(y.shape)}")
    generator = torch.Generator().manual_seed(seed)
    initial = torch.randn(kernel_size, kernel_size, generator=generator) * init_scale
    w = initial.clone().to(x.device).requires_grad_(True)
    opt = torch.optim.SGD([w], lr=lr) if optimizer == "sgd" else torch.optim.Adam([w], lr=lr)
    losses = []
    for _ in range(steps):
        loss = F.mse_loss(F.conv2d(x, w[None, None]), y)
        losses.append(float(loss.detach()))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        losses.append(float(F.mse_loss(F.conv2d(x, w[None, None]), y)))
    return LearnedKernel(kernel=w.detach().cpu(), initial=initial, losses=losses)
