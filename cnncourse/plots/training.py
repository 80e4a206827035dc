"""Figures about training: learning curves."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure


def plot_history(history, title: str | None = None) -> Figure:
    """Loss and accuracy per epoch, training and validation, side by side.

    Parameters
    ----------
    history
        A :class:`cnncourse.training.History`.
    title
        Optional title above both panels.
    """
    if len(history) == 0:
        raise ValueError("history has no epochs to plot: train for at least one epoch")
    epochs = history.column("epoch")
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained")
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
    ax_loss.legend()
    if title:
        fig.suptitle(title)
    plt.close(fig)
    return fig
