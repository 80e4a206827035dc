"""Where the computation runs and how to make it repeatable.

Every lesson starts with :func:`seed_everything` and :func:`pick_device`; both live here so
that a learner's run on a laptop, the book build and the tests behave the same way.
"""

from __future__ import annotations

import os
import platform
import random

import numpy as np
import torch

DEVICE_ENV = "CNNCOURSE_DEVICE"
"""Environment variable that overrides the automatic device choice (``cpu``, ``cuda``, ``mps``)."""

_KNOWN_DEVICES = ("cpu", "cuda", "mps")


def _device_available(kind: str) -> bool:
    if kind == "cpu":
        return True
    if kind == "cuda":
        return torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def pick_device(name: str | None = None) -> torch.device:
    """Choose the device lessons compute on.

    Parameters
    ----------
    name
        ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``"mps"`` to force a device. When ``None``
        the environment variable ``CNNCOURSE_DEVICE`` is used if set, otherwise the first
        available of CUDA, Apple MPS and the CPU.

    Returns
    -------
    torch.device
        The chosen device.

    Raises
    ------
    ValueError
        If the requested device is unknown or not available on this machine.
    """
    source = "argument name"
    if name is None and os.environ.get(DEVICE_ENV):
        name, source = os.environ[DEVICE_ENV], f"environment variable {DEVICE_ENV}"
    if name is None:
        for kind in ("cuda", "mps"):
            if _device_available(kind):
                return torch.device(kind)
        return torch.device("cpu")
    if not isinstance(name, str):
        raise TypeError(f"{source} must be a string such as 'cpu' or 'cuda', got {type(name).__name__}")
    kind = name.strip().lower().split(":")[0]
    if kind not in _KNOWN_DEVICES:
        raise ValueError(
            f"{source} is {name!r}: expected one of 'cpu', 'cuda', 'cuda:N' or 'mps'"
        )
    if not _device_available(kind):
        raise ValueError(
            f"{source} asks for {name!r}, but no {kind.upper()} device is available here; "
            f"use 'cpu' or unset {DEVICE_ENV}"
        )
    return torch.device(name.strip().lower())


def seed_everything(seed: int = 0, deterministic: bool = True) -> int:
    """Seed Python, NumPy and PyTorch, and ask PyTorch for deterministic kernels.

    On the CPU this makes a run reproducible bit for bit on the same machine. On CUDA it
    also sets ``CUBLAS_WORKSPACE_CONFIG`` (effective only before CUDA initialises, which is
    why lessons call this first) and turns the cuDNN autotuner off.

    Parameters
    ----------
    seed
        A non-negative integer.
    deterministic
        Whether to request deterministic algorithms (``torch.use_deterministic_algorithms``).

    Returns
    -------
    int
        The seed, so that a lesson can print it.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__} ({seed!r})")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    seed = int(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds the CPU and every CUDA device
    return seed


def device_summary(device: torch.device | str | None = None) -> str:
    """Describe a device in one line, e.g. ``"cpu (2 threads, torch 2.14.1)"``.

    Lessons print this so every executed page says where it ran.
    """
    device = pick_device() if device is None else torch.device(device)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        what = torch.cuda.get_device_name(index)
    elif device.type == "mps":
        what = f"Apple GPU, {platform.machine()}"
    else:
        what = f"{torch.get_num_threads()} threads"
    return f"{device.type} ({what}, torch {torch.__version__})"
