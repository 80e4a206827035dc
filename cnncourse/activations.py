"""Activation functions and their derivatives, the derivatives obtained by autograd.

Lesson 2 compares the three classic activations, sigmoid, tanh and ReLU. Rather than typing
each derivative by hand, :func:`derivative` asks PyTorch's automatic differentiation for it,
so the curves a learner sees are exactly the slopes backpropagation uses.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from cnncourse._checks import as_tensor, describe

__all__ = ["ACTIVATIONS", "activation", "derivative", "evaluate_with_derivative"]

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
}
"""The activations of the course by name: ``"sigmoid"``, ``"tanh"`` and ``"relu"``."""


def activation(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The activation function called ``name`` (``"sigmoid"``, ``"tanh"`` or ``"relu"``).

    Parameters
    ----------
    name
        Case-insensitive name of the function.

    Returns
    -------
    callable
        A function mapping a tensor to a tensor of the same shape, element by element.

    Raises
    ------
    ValueError
        If ``name`` is not one of the known activations.
    """
    return _by_name(name, "name")


def _by_name(name: object, argument: str) -> Callable[[torch.Tensor], torch.Tensor]:
    if not isinstance(name, str):
        raise TypeError(f"{argument} must be a string such as 'relu', got {describe(name)}")
    key = name.strip().lower()
    if key not in ACTIVATIONS:
        raise ValueError(f"{argument} must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[key]


def _resolve(fn: str | Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    if isinstance(fn, str):
        return _by_name(fn, "fn")
    if not callable(fn):
        raise TypeError(f"fn must be an activation name or a callable, got {type(fn).__name__}")
    return fn


def _as_float_tensor(x, name: str = "x") -> torch.Tensor:
    t = as_tensor(x, name, dtype="floating").detach()
    return t.to(torch.float64 if t.dtype == torch.float64 else torch.float32).clone()


def evaluate_with_derivative(fn: str | Callable[[torch.Tensor], torch.Tensor], x
                             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Values ``f(x)`` and slopes ``f'(x)`` of an element-wise function, the slopes by autograd.

    Parameters
    ----------
    fn
        An activation name (see :data:`ACTIVATIONS`) or any element-wise function of a tensor.
    x
        The points, a tensor or anything ``torch.as_tensor`` accepts (any shape).

    Returns
    -------
    (values, slopes)
        Two tensors shaped like ``x``, detached from the graph.

    Notes
    -----
    Because the function acts element by element, the gradient of ``f(x).sum()`` with respect
    to ``x`` is the vector of slopes ``f'(x_i)``. At a kink (ReLU at 0) the slope is the value
    PyTorch's backward pass uses, which is what training sees.
    """
    f = _resolve(fn)
    t = _as_float_tensor(x).requires_grad_(True)
    y = f(t)
    if not isinstance(y, torch.Tensor) or y.shape != t.shape:
        got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"fn must act element by element and keep the shape {tuple(t.shape)}, got {got}")
    if not y.requires_grad:  # the output does not depend on x: slope zero everywhere
        return y.detach(), torch.zeros_like(t.detach())
    (grad,) = torch.autograd.grad(y.sum(), t, allow_unused=True)
    if grad is None:
        grad = torch.zeros_like(t)
    return y.detach(), grad.detach()


def derivative(fn: str | Callable[[torch.Tensor], torch.Tensor], x) -> torch.Tensor:
    """The slope ``f'(x)`` of an element-wise function at every point of ``x``, by autograd.

    Parameters
    ----------
    fn
        An activation name (``"sigmoid"``, ``"tanh"``, ``"relu"``) or an element-wise function.
    x
        The points (tensor or array-like, any shape).

    Returns
    -------
    torch.Tensor
        Slopes shaped like ``x``.

    Examples
    --------
    >>> float(derivative("sigmoid", 0.0))
    0.25
    """
    return evaluate_with_derivative(fn, x)[1]
