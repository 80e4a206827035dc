"""Argument checks shared by every module: one rule, one message shape.

``TypeError`` for a wrong type, ``ValueError`` for a wrong value; the message names the
argument, the value received and what is expected. Integers go through
:func:`operator.index`, so NumPy integers and integral 0-d tensors pass and ``bool`` does not.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["check_int", "check_float", "check_choice", "check_pair", "as_tensor", "to_numpy"]


def check_int(value: object, name: str, *, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """``value`` as a Python ``int``, checked against ``minimum`` and ``maximum`` (inclusive).

    Raises
    ------
    TypeError
        For a ``bool`` or anything :func:`operator.index` refuses (floats, strings, ...).
    ValueError
        For an integer outside ``[minimum, maximum]``.
    """
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got the bool {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {value!r} "
                        f"({type(value).__name__})") from None
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {number}")
    return int(number)


def check_float(value: object, name: str, *, minimum: float | None = None,
                maximum: float | None = None, finite: bool = True) -> float:
    """``value`` as a Python ``float`` (finite unless ``finite=False``), within the bounds."""
    if isinstance(value, (bool, np.bool_)) or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})") from None
    if finite and not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {number}")
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {number}")
    return number


def check_choice(value: object, name: str, options: Sequence) -> object:
    """``value`` if it is one of ``options``, else ``ValueError`` listing them."""
    if value not in tuple(options):
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}")
    return value


def check_pair(value: object, name: str, *, minimum: int | None = None) -> tuple[int, int]:
    """An integer or a 2-sequence of integers as ``(first, second)``."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray, torch.Tensor)) \
            or (isinstance(value, (np.ndarray, torch.Tensor)) and value.ndim == 0):
        number = check_int(value, name, minimum=minimum)
        return (number, number)
    if len(value) != 2:
        raise ValueError(f"{name} must be an integer or a pair of integers, got {value!r}")
    return (check_int(value[0], name, minimum=minimum), check_int(value[1], name, minimum=minimum))


def as_tensor(x: object, name: str, *, dtype: torch.dtype | None = None,
              ndim: int | None = None) -> torch.Tensor:
    """``x`` (tensor, array or nested sequence) as a tensor, detached, of ``dtype`` and ``ndim``."""
    if isinstance(x, torch.Tensor):
        t = x.detach()
    else:
        try:
            t = torch.as_tensor(np.asarray(x))
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"{name} must be a tensor or an array, got {type(x).__name__}") from None
    if dtype is not None:
        t = t.to(dtype)
    if ndim is not None and t.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {tuple(t.shape)}")
    return t


def to_numpy(x: object) -> np.ndarray:
    """A tensor (detached, moved to the CPU) or anything array-like as a NumPy array."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)
