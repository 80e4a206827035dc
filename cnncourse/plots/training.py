"""Figures about training: learning curves, run comparisons, the cross-entropy penalty."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

from cnncourse._checks import check_choice, check_float, check_int, check_mapping, check_sequence, describe
from cnncourse.plots._layout import MAX_WIDTH, PALETTE, finish, legend_below

__all__ = ["show_curves", "show_histories", "show_history", "show_negative_log", "show_seed_spread"]

_LABELS = {"train_loss": "training loss", "val_loss": "validation loss",
           "train_accuracy": "training accuracy", "val_accuracy": "validation accuracy"}


def _check_history(value: object, name: str):
    """``value`` itself when it reads as a :class:`cnncourse.training.History` (plots cannot
    import training, on the same floor): a length and a ``column`` method."""
    if not (hasattr(value, "column") and hasattr(value, "__len__")):
        raise TypeError(f"{name} must be a History (as cnncourse.training.fit returns), got "
                        f"{describe(value)}")
    return value


def show_history(history, title: str | None = None) -> Figure:
    """Loss and accuracy per epoch, training and validation, side by side.

    Parameters
    ----------
    history
        A :class:`cnncourse.training.History`.
    title
        Optional title above both panels.
    """
    if len(_check_history(history, "history")) == 0:
        raise ValueError("history has no epochs to plot: train for at least one epoch")
    epochs = history.column("epoch")
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(MAX_WIDTH, 3.2), layout="constrained")
    for ax, key, label in ((ax_loss, "loss", "loss"), (ax_acc, "accuracy", "accuracy")):
        ax.plot(epochs, history.column(f"train_{key}"), "o-", label="training")
        val = history.column(f"val_{key}")
        if any(v is not None for v in val):
            ax.plot(epochs, val, "s-", label="validation")
        if history.best_epoch is not None:
            ax.axvline(history.best_epoch, color="grey", ls=":", label="best (lowest val. loss)")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    legend_below(fig, ax_loss)
    return finish(fig, title)


def show_histories(histories: Mapping[str, object], metrics: Sequence[str] = ("train_loss", "val_loss"),
                   title: str | None = None, logy: bool = False) -> Figure:
    """Several runs on shared axes: one panel per metric, one colour per run.

    Parameters
    ----------
    histories
        ``{run name: History}``, e.g. ``{"raw 0-255": h1, "standardized": h2}``.
    metrics
        History columns to draw, one panel each (``"train_loss"``, ``"val_loss"``,
        ``"train_accuracy"``, ``"val_accuracy"``).
    title
        Optional title above the panels.
    logy
        Logarithmic loss axis (useful when one run starts far higher than the others).
    """
    check_mapping(histories, "histories", nonempty=False)
    if not histories:
        raise ValueError("histories is empty: pass {name: History} for at least one run")
    if isinstance(metrics, str):
        metrics = (metrics,)
    metrics = check_sequence(metrics, "metrics", item=partial(check_choice, options=tuple(_LABELS)))
    for name, h in histories.items():
        if len(_check_history(h, f"histories[{name!r}]")) == 0:
            raise ValueError(f"history {name!r} has no epochs")
    fig, axes = plt.subplots(1, len(metrics), figsize=(min(MAX_WIDTH, 3.0 * len(metrics)), 3.2),
                             squeeze=False, layout="constrained")
    for ax, metric in zip(axes[0], metrics):
        for name, h in histories.items():
            values = [np.nan if v is None else v for v in h.column(metric)]
            ax.plot(h.column("epoch"), values, "o-", ms=3, label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(_LABELS[metric])
        if logy and metric.endswith("loss"):
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    legend_below(fig, axes[0][0])
    if title:
        fig.suptitle(title)
    plt.close(fig)
    return fig


def show_curves(curves: Mapping[str, Sequence[float]], xlabel: str = "step", ylabel: str = "loss",
                title: str | None = None, logy: bool = False, smooth: int = 1) -> Figure:
    """Any named sequences on one axis, e.g. the loss after every batch for two optimizers.

    Parameters
    ----------
    curves
        ``{name: values}``; the x-axis counts from 1.
    xlabel, ylabel, title
        Axis labels and an optional title.
    logy
        Logarithmic y-axis.
    smooth
        Width of a trailing moving average (1 draws the raw values).
    """
    check_mapping(curves, "curves", nonempty=False)
    if not curves:
        raise ValueError("curves is empty: pass {name: values}")
    smooth = check_int(smooth, "smooth", minimum=1)
    fig, ax = plt.subplots(figsize=(MAX_WIDTH, 3.2), layout="constrained")
    curves = {name: check_sequence(values, f"curves[{name!r}]", item=partial(check_float, finite=False))
              for name, values in curves.items()}  # a diverged run's loss may be inf or NaN
    for name, values in curves.items():
        y = np.asarray(values, dtype=float)
        if smooth > 1:
            cumsum = np.cumsum(np.insert(y, 0, 0.0))
            width = np.minimum(np.arange(1, len(y) + 1), smooth)
            y = (cumsum[1:] - cumsum[np.arange(1, len(y) + 1) - width]) / width
        ax.plot(np.arange(1, len(y) + 1), y, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    legend_below(fig, ax)
    return finish(fig, title, ax)


def show_seed_spread(results: Mapping[str, Mapping[str, Sequence[float]]],
                     ylabel: str = "final validation loss", logy: bool = False,
                     failed_label: str = "diverged") -> Figure:
    """One value per seed, for several settings in several groups: the spread over seeds.

    Each group (for example an optimizer) gets a panel; each setting in it a column with one
    dot per seed and a short bar at the mean. A non-finite value (a run whose loss became NaN
    or infinite) is drawn as a cross at the top of the panel, labelled ``failed_label``.

    Parameters
    ----------
    results
        ``{group: {setting: [value per seed]}}``, e.g.
        ``{"Adam": {"raw 0-255": [0.31, 0.34], "standardized": [0.30, 0.29]}}``.
    ylabel
        Label of the value axis.
    logy
        Logarithmic value axis.
    failed_label
        Text next to the crosses of non-finite values.

    Raises
    ------
    TypeError
        If ``results`` or a group is not a mapping, a setting's values not a sequence, or a
        value not a real number.
    ValueError
        If ``results`` or a group is empty, or a setting has no values.
    """
    check_mapping(results, "results", nonempty=False)
    if not results:
        raise ValueError("results is empty: pass {group: {setting: [value per seed]}}")
    results = {group: {name: check_sequence(values, f"results[{group!r}][{name!r}]",
                                            item=partial(check_float, finite=False))
                       for name, values in check_mapping(settings, f"results[{group!r}]").items()}
               for group, settings in results.items()}  # a diverged run's value is inf or NaN
    finite = [v for settings in results.values() for values in settings.values()
              for v in values if np.isfinite(v)]
    top = max(finite) * (1.6 if logy else 1.15) if finite else 1.0
    fig, axes = plt.subplots(1, len(results), figsize=(min(MAX_WIDTH, 2.7 * len(results)), 3.4),
                             squeeze=False, sharey=True, layout="constrained")
    for ax, (group, settings) in zip(axes[0], results.items()):
        for x, values in enumerate(settings.values()):
            y = np.asarray(values, dtype=float)
            ok = np.isfinite(y)
            jitter = np.linspace(-0.12, 0.12, len(y)) if len(y) > 1 else np.zeros(1)
            ax.plot(x + jitter[ok], y[ok], "o", color=f"C{x}", ms=6, alpha=0.8)
            if ok.any():
                ax.hlines(y[ok].mean(), x - 0.25, x + 0.25, color=f"C{x}", lw=2)
            if (~ok).any():
                ax.plot(x + jitter[~ok], np.full((~ok).sum(), top), "x", color=f"C{x}", ms=8)
                ax.annotate(f"{failed_label} ({(~ok).sum()})", (x, top), textcoords="offset points",
                            xytext=(0, -14), ha="center", fontsize=10)
        ax.set_xticks(range(len(settings)), [str(n) for n in settings], rotation=20, ha="right")
        ax.set_xlim(-0.6, len(settings) - 0.4)
        ax.set_title(str(group))
        ax.grid(alpha=0.3, axis="y")
    axes[0][0].set_ylabel(ylabel)
    if logy:
        axes[0][0].set_yscale("log")
        axis = axes[0][0].yaxis  # ticks at 0.2, 0.3, 0.5, 1, 2, ... written as plain numbers
        axis.set_major_locator(LogLocator(subs=(1, 2, 3, 5)))
        axis.set_major_formatter(FormatStrFormatter("%g"))
        axis.set_minor_formatter(NullFormatter())
    plt.close(fig)
    return fig


def show_negative_log(marked: Sequence[float] = (0.99, 0.9, 0.5, 0.1, 0.01)) -> Figure:
    """The cross-entropy penalty ``-log ŷ`` against the probability ``ŷ`` given to the true class.

    Parameters
    ----------
    marked
        Probabilities to mark with a dot and their penalty.
    """
    marked = check_sequence(marked, "marked", minimum=0, item=partial(
        check_float, minimum=0, exclusive_minimum=True, maximum=1))
    p = np.linspace(0.002, 1.0, 500)
    fig, ax = plt.subplots(figsize=(MAX_WIDTH, 3.2), layout="constrained")
    ax.plot(p, -np.log(p), color="C0")
    for q in marked:
        ax.plot(q, -np.log(q), "o", color=PALETTE["vermillion"])
        ax.annotate(f"ŷ={q:g}: {-np.log(q):.2f}", (q, -np.log(q)), textcoords="offset points",
                    xytext=(6, 4), fontsize=10)
    ax.set_xlabel("probability ŷ the model gives to the true class")
    ax.set_ylabel("loss  -log ŷ")
    ax.grid(alpha=0.3)
    plt.close(fig)
    return fig


def show_throughput(rates: dict[str, float]) -> Figure:
    """Horizontal bars of training throughput (images per second), one per named setting."""
    if not rates:
        raise ValueError("rates must name at least one setting")
    names = list(rates)
    fig, ax = plt.subplots(figsize=(MAX_WIDTH, 0.55 * len(names) + 1.0), layout="constrained")
    bars = ax.barh(names, [rates[n] for n in names], color="C0")
    ax.bar_label(bars, labels=[f"{rates[n]:,.0f}" for n in names], padding=3)
    ax.invert_yaxis()
    ax.set_xlabel("training images per second")
    ax.margins(x=0.15)
    plt.close(fig)
    return fig
