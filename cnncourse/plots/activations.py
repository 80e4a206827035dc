"""Figures about activation functions: the curves and their slopes."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from cnncourse._checks import check_choice, check_float, check_int, check_sequence, check_text
from cnncourse.activations import ACTIVATIONS, activation, evaluate_with_derivative
from cnncourse.plots._layout import MAX_WIDTH, legend_below

__all__ = ["show_activations"]

Z_LIMIT = 1e6
"""The largest ``|z|`` drawn: beyond it the curves are flat and matplotlib's ticks fail."""


def _activation_name(value: object, name: str) -> str:
    """A name of :data:`cnncourse.activations.ACTIVATIONS`, read as ``activation`` reads it
    (case and surrounding spaces ignored); the message names ``name``, the caller's argument."""
    check_choice(check_text(value, name).strip().lower(), name, tuple(ACTIVATIONS))
    return value


def show_activations(names: Sequence[str] = ("sigmoid", "tanh", "relu"), low: float = -5.0,
                     high: float = 5.0, points: int = 1001) -> Figure:
    """Each activation (left) and its derivative by autograd (right) on ``[low, high]``.

    Parameters
    ----------
    names
        Activation names known to :func:`cnncourse.activations.activation`.
    low, high
        The interval of inputs ``z``, within ``[-Z_LIMIT, Z_LIMIT]``.
    points
        Number of sample points.

    Raises
    ------
    TypeError
        For ``names`` that is not a sequence of strings, or a ``low``, ``high`` or ``points``
        that is not a number.
    ValueError
        For an unknown or missing name, ``low >= high``, a bound outside ``[-Z_LIMIT, Z_LIMIT]``
        or fewer than 2 points.
    """
    if isinstance(names, str):
        names = (names,)
    names = check_sequence(names, "names", item=_activation_name)
    low = check_float(low, "low", minimum=-Z_LIMIT, maximum=Z_LIMIT)
    high = check_float(high, "high", minimum=-Z_LIMIT, maximum=Z_LIMIT)
    if not low < high:
        raise ValueError(f"low must be smaller than high, got low={low}, high={high}")
    points = check_int(points, "points", minimum=2)
    z = torch.linspace(low, high, points, dtype=torch.float64)
    fig, (ax_f, ax_d) = plt.subplots(1, 2, figsize=(MAX_WIDTH, 3.2), layout="constrained")
    for name in names:
        values, slopes = evaluate_with_derivative(activation(name), z)
        ax_f.plot(z, values, label=name)
        ax_d.plot(z, slopes, label=f"{name}'")
    for ax, title in ((ax_f, "activation f(z)"), (ax_d, "derivative f'(z), by autograd")):
        ax.axhline(0, color="black", lw=0.6)
        ax.axvline(0, color="black", lw=0.6)
        ax.set_xlabel("z (weighted sum + bias)")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    legend_below(fig, ax_f)  # one colour per activation in both panels
    plt.close(fig)
    return fig
