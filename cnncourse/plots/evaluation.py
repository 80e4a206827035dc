"""Figures about a trained classifier: per-class accuracy, confusion matrix, worst mistakes."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from cnncourse._checks import check_float, check_int, check_sequence, describe
from cnncourse.plots._layout import (
    MAX_WIDTH,
    PALETTE,
    check_panel_size,
    columns,
    legend_below,
    plot_array,
)

__all__ = ["show_confusion_matrix", "show_per_class_accuracy", "show_mistakes"]


def show_per_class_accuracy(per_class, overall: float | None = None, title: str | None = None) -> Figure:
    """A bar per class with its accuracy, zoomed on the range where the bars differ.

    Parameters
    ----------
    per_class
        Accuracies in ``[0, 1]``, one per class (e.g. from
        :func:`cnncourse.evaluation.per_class_accuracy`).
    overall
        Overall accuracy, drawn as a dashed line.
    title
        Optional title.
    """
    acc = plot_array(per_class, "per_class", finite=False).astype(float)  # NaN: a class without examples
    if acc.ndim != 1 or len(acc) == 0:
        raise ValueError(f"per_class must be a non-empty vector, got shape {acc.shape}")
    if ((acc < 0) | (acc > 1)).any():  # NaN compares False: it passes
        raise ValueError(f"per_class must hold accuracies in [0, 1] (NaN for a class without "
                         f"examples), got values from {np.nanmin(acc):g} to {np.nanmax(acc):g}")
    if overall is not None:
        overall = check_float(overall, "overall", minimum=0, maximum=1)
    fig, ax = plt.subplots(figsize=(MAX_WIDTH, 3.2), layout="constrained")
    classes = np.arange(len(acc))
    ax.bar(classes, 100 * acc, color="C0")
    finite = acc[np.isfinite(acc)]
    low = 100 * (finite.min() if len(finite) else 0.0)
    ax.set_ylim(max(0.0, np.floor(low - 1.0)), 100.6)
    for c, a in zip(classes, acc):
        if np.isfinite(a):
            ax.text(c, 100 * a, f"{100 * a:.1f}", ha="center", va="bottom", fontsize=10)
    if overall is not None:
        ax.axhline(100 * overall, color=PALETTE["vermillion"], ls="--", label=f"overall {100 * overall:.2f}%")
        legend_below(fig, ax)
    ax.set_xticks(classes)
    ax.set_xlabel("true class")
    ax.set_ylabel("accuracy (%)")
    ax.grid(axis="y", alpha=0.3)
    if title:
        ax.set_title(title)
    plt.close(fig)
    return fig


def show_confusion_matrix(matrix, class_names: Sequence[str] | None = None, title: str | None = None,
                          hide_diagonal: bool = False) -> Figure:
    """A confusion matrix as a heat map with every count written in its cell.

    Parameters
    ----------
    matrix
        Square matrix of counts, rows = true class, columns = predicted class.
    class_names
        Labels of the classes (default ``0, 1, ...``).
    title
        Optional title.
    hide_diagonal
        Colour only the mistakes (the diagonal would otherwise drown them); the correct
        counts are still written, in grey.
    """
    m = plot_array(matrix, "matrix")
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] == 0:
        raise ValueError(f"matrix must be square and non-empty, got shape {m.shape}")
    n = m.shape[0]
    names = [str(i) for i in range(n)] if class_names is None else [
        str(c) for c in check_sequence(class_names, "class_names", length=n)]
    shown = m.astype(float).copy()
    if hide_diagonal:
        np.fill_diagonal(shown, np.nan)
    cell = min(0.55, (MAX_WIDTH - 1.4) / n)  # inches per class, so the figure fits the column
    fig, ax = plt.subplots(figsize=(cell * n + 1.4, cell * n + 1.0), layout="constrained")
    image = ax.imshow(shown, cmap="Blues")
    fig.colorbar(image, ax=ax, shrink=0.8, label="examples" if not hide_diagonal else "mistakes")
    top = np.nanmax(shown) if np.isfinite(shown).any() else 1.0
    for t in range(n):
        for p in range(n):
            value = int(m[t, p])
            if hide_diagonal and t == p:
                ax.text(p, t, str(value), ha="center", va="center", fontsize=10, color="grey")
            elif value:
                dark = shown[t, p] > 0.6 * top
                ax.text(p, t, str(value), ha="center", va="center", fontsize=10,
                        color="white" if dark else "black")
    ax.set_xticks(range(n), names)
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if title:
        ax.set_title(title)
    plt.close(fig)
    return fig


def _check_mistake(value: object, name: str):
    """``value`` itself when it reads as a :class:`cnncourse.evaluation.Mistake` (plots cannot
    import evaluation, on the same floor): an int ``index``, and ``target``, ``predicted`` and
    ``confidence``."""
    if not all(hasattr(value, a) for a in ("index", "target", "predicted", "confidence")):
        raise TypeError(f"{name} must be a Mistake (index, target, predicted, confidence), e.g. from "
                        f"cnncourse.evaluation.most_confused_examples, got {describe(value)}")
    check_int(value.index, f"{name}.index")
    return value


def show_mistakes(images, mistakes, ncols: int = 6, size: float = 1.35) -> Figure:
    """Misclassified images, each titled "true -> predicted (confidence)".

    Parameters
    ----------
    images
        All evaluated images, ``(N, H, W)`` or ``(N, 1, H, W)``; indexed by ``mistake.index``.
    mistakes
        :class:`cnncourse.evaluation.Mistake` objects (e.g. from ``most_confused_examples``).
    ncols
        Images per row.
    size
        Inches per image.
    """
    size = check_panel_size(size)
    ncols = check_int(ncols, "ncols", minimum=1)
    x = plot_array(images, "images")
    shape = x.shape
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 3:
        raise ValueError(f"images must have shape (N, H, W) or (N, 1, H, W), got {shape}")
    mistakes = check_sequence(mistakes, "mistakes", item=_check_mistake)
    for i, m in enumerate(mistakes):
        if not 0 <= m.index < len(x):
            raise ValueError(f"mistakes[{i}] has index {m.index}, outside the images of shape {shape}")
    ncols = max(1, min(ncols, len(mistakes), columns(len(mistakes), size)))
    nrows = -(-len(mistakes) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows * 1.25),
                             squeeze=False, layout="constrained")
    for ax in axes.flat:
        ax.axis("off")
    for ax, m in zip(axes.flat, mistakes):
        ax.imshow(x[m.index], cmap="gray")
        ax.set_title(f"{m.target} -> {m.predicted}\n({m.confidence:.0%})", fontsize=10)
    plt.close(fig)
    return fig
