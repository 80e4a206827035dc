"""Figures for convolutional networks (lesson 8): learned filters, feature maps by depth,
shifted digits and accuracy under shifts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from cnncourse._checks import check_float, check_int, check_mapping, check_sequence, check_text
from cnncourse.plots._layout import (
    MAX_WIDTH,
    MIN_FONT,
    check_panel_size,
    columns,
    finish,
    legend_below,
    panel_grid,
    plot_array,
)

__all__ = ["show_filters", "show_filters_before_after", "show_feature_maps", "show_shifted_digits",
           "show_shift_accuracy"]


def _np(x, name: str) -> np.ndarray:
    return plot_array(x, name).astype(float)


def _plain(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def show_filters(weight, ncols: int = 8, size: float = 0.9, title: str | None = None) -> Figure:
    """A grid of learned convolution filters.

    Each filter gets its own symmetric colour scale: red for positive weights, blue for
    negative, white for zero, so its pattern (an edge, a stroke, a blob) is visible whatever
    its magnitude.

    Parameters
    ----------
    weight
        The weight of a ``Conv2d`` layer, shape ``(out_channels, in_channels, k, k)``; for
        several input channels the first one is drawn. A ``(n, k, k)`` array also works.
    ncols
        Filters per row, at most (fewer when the row would be wider than the text column).
    size
        Inches per filter.
    title
        Optional title above the grid.
    """
    size = check_panel_size(size)
    w = _np(weight, "weight")
    if w.ndim == 4:
        w = w[:, 0]
    if w.ndim != 3 or w.size == 0:
        raise ValueError(f"weight must have shape (out, in, k, k) or (n, k, k) and hold numbers, got "
                         f"{np.shape(weight)}")
    ncols = check_int(ncols, "ncols", minimum=1)
    ncols = min(ncols, len(w), columns(len(w), size))
    nrows = -(-len(w) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if title else 0)),
                             squeeze=False, layout="constrained")
    for i, ax in enumerate(axes.flat):
        _plain(ax)
        if i < len(w):
            limit = float(np.abs(w[i]).max()) or 1.0
            ax.imshow(w[i], cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.set_title(str(i), fontsize=MIN_FONT, pad=2)
        else:
            ax.axis("off")
    if title:
        fig.suptitle(title)
    plt.close(fig)
    return fig


def show_filters_before_after(before, after, ncols: int = 8, size: float = 0.8,
                              labels: Sequence[str] = ("before training", "after training"),
                              scores: Sequence[Sequence[float]] | None = None) -> Figure:
    """The same filters at two moments, one block of rows each, filter ``i`` at the same place.

    Parameters
    ----------
    before, after
        Weights of the same ``Conv2d`` layer, ``(out, in, k, k)`` or ``(n, k, k)``; for several
        input channels the first one is drawn.
    ncols
        Filters per row (8 keeps 5x5 filters legible in a 390-px column).
    size
        Inches per filter.
    labels
        The two block titles.
    scores
        Optional two sequences of one number per filter, written under each filter.
    """
    size = check_panel_size(size)
    blocks = [_np(before, "before"), _np(after, "after")]
    blocks = [b[:, 0] if b.ndim == 4 else b for b in blocks]
    if blocks[0].shape != blocks[1].shape or blocks[0].ndim != 3 or blocks[0].size == 0:
        raise ValueError(f"before and after must have the same shape (out, in, k, k) or (n, k, k) and "
                         f"hold numbers, got {np.shape(before)} and {np.shape(after)}")
    ncols = check_int(ncols, "ncols", minimum=1)
    labels = check_sequence(labels, "labels", item=check_text, length=2)
    n = len(blocks[0])
    if scores is not None:
        scores = check_sequence(scores, "scores", length=2, item=lambda row, name: check_sequence(
            row, name, item=check_float, length=n))
    ncols = min(ncols, n)
    rows = -(-n // ncols)
    size = min(size, MAX_WIDTH / ncols)  # the banks within the text column
    fig = plt.figure(figsize=(size * ncols, 2 * (size * 1.25) * rows + 0.8), layout="constrained")
    subfigs = fig.subfigures(2, 1)
    for b, (sub, w, label) in enumerate(zip(subfigs, blocks, labels)):
        axes = sub.subplots(rows, ncols, squeeze=False)
        sub.suptitle(label, fontsize=10)
        for i, ax in enumerate(axes.flat):
            _plain(ax)
            if i >= n:
                ax.axis("off")
                continue
            limit = float(np.abs(w[i]).max()) or 1.0
            ax.imshow(w[i], cmap="RdBu_r", vmin=-limit, vmax=limit)
            if scores is not None:
                ax.set_xlabel(f"{scores[b][i]:.2f}", fontsize=MIN_FONT, labelpad=1)
    plt.close(fig)
    return fig


def show_feature_maps(image, maps: Mapping[str, object], n: int = 8, size: float = 0.65) -> Figure:
    """An input image and the first ``n`` feature maps of several layers, one block per layer.

    Parameters
    ----------
    image
        The input, shape ``(H, W)``, ``(1, H, W)`` or ``(1, 1, H, W)``.
    maps
        Row label -> feature maps of that image, shape ``(C, h, w)`` or ``(1, C, h, w)``,
        e.g. the output of :func:`cnncourse.models.cnn.feature_maps` for one image.
    n
        Maps drawn per layer (the first ``n`` channels).
    size
        Inches per map.
    """
    size = check_panel_size(size)
    check_mapping(maps, "maps", nonempty=False)
    if not maps:
        raise ValueError("maps is empty: pass at least one layer's feature maps")
    n = check_int(n, "n", minimum=1)
    img = np.squeeze(_np(image, "image"))
    if img.ndim != 2:
        raise ValueError(f"image must be one 2-D image, got shape {np.shape(image)}")
    rows = []
    for label, m in maps.items():
        arr = _np(m, f"maps[{label!r}]")
        if arr.ndim == 4:
            if arr.shape[0] != 1:
                raise ValueError(f"maps[{label!r}] holds {arr.shape[0]} images; pass the maps of one image")
            arr = arr[0]
        if arr.ndim != 3 or arr.size == 0:
            raise ValueError(f"maps[{label!r}] must have shape (C, h, w) and hold numbers, got {arr.shape}")
        rows.append((label, arr))
    shown = min(n, max(len(a) for _, a in rows))
    ncols = columns(shown, size)
    lines = [-(-min(shown, len(a)) // ncols) for _, a in rows]
    fig = plt.figure(figsize=(MAX_WIDTH, 1.5 + sum((size + 0.1) * k + 0.35 for k in lines)),
                     layout="constrained")
    parts = fig.subfigures(len(rows) + 1, 1, height_ratios=[1.5] + [(size + 0.1) * k + 0.35 for k in lines])
    ax = parts[0].subplots()
    _plain(ax)
    ax.imshow(img, cmap="gray")
    ax.set_title(f"input {img.shape[0]}x{img.shape[1]}", fontsize=MIN_FONT)
    for part, (label, arr), k in zip(parts[1:], rows, lines):
        count = min(shown, len(arr))
        part.suptitle(f"{label}: {arr.shape[0]} maps of {arr.shape[1]}x{arr.shape[2]}"
                      + (f", the first {count}" if count < arr.shape[0] else ""), fontsize=MIN_FONT)
        axes = part.subplots(k, ncols, squeeze=False)
        for c, ax in enumerate(axes.flat):
            _plain(ax)
            if c < count:
                ax.imshow(arr[c], cmap="magma", vmin=min(0.0, float(arr[c].min())))
            else:
                ax.axis("off")
    plt.close(fig)
    return fig


def show_shifted_digits(images: Sequence | Mapping[str, object], titles: Sequence[str] | None = None,
                        size: float = 1.3) -> Figure:
    """Shifted copies of a digit side by side, with a frame so the borders are visible.

    Parameters
    ----------
    images
        A sequence of 2-D images (or a mapping title -> image).
    titles
        Titles of the images when ``images`` is a sequence.
    size
        Inches per image.
    """
    size = check_panel_size(size)
    if isinstance(images, Mapping):
        check_mapping(images, "images")
        titles, images = [str(t) for t in images], list(images.values())
    elif isinstance(images, (torch.Tensor, np.ndarray)) and images.ndim >= 3:
        if len(images) == 0:
            raise ValueError(f"images must hold at least one image, got shape {tuple(images.shape)}")
        images = list(_np(images, "images"))  # a stack of images, (N, H, W) or (N, 1, H, W)
    else:
        images = check_sequence(images, "images")
    images = [np.squeeze(_np(im, f"images[{i}]")) for i, im in enumerate(images)]
    for i, im in enumerate(images):
        if im.ndim != 2:
            raise ValueError(f"images[{i}] must be a 2-D image, got shape {im.shape}")
    if titles is not None:
        titles = check_sequence(titles, "titles", item=check_text, length=len(images))
    fig, axes = panel_grid(len(images), size, size * 1.2)
    for i, (ax, im) in enumerate(zip(axes, images)):
        ax.imshow(im, cmap="gray")
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[i], fontsize=MIN_FONT)
    plt.close(fig)
    return fig


def show_shift_accuracy(results: Mapping[str, Mapping[str, Sequence[float]]], max_shift: int | None = None,
                        title: str | None = None) -> Figure:
    """Accuracy against shift distance, one colour per model.

    For every model a thick line joins the mean accuracy over the directions, and thin
    dashed lines show each direction, so both the average drop and its spread are visible.

    Parameters
    ----------
    results
        Model name -> direction -> accuracies (in [0, 1]) for shifts of 0, 1, 2, ... pixels.
    max_shift
        Last shift drawn (default: all).
    title
        Optional title.
    """
    check_mapping(results, "results", nonempty=False)
    if not results:
        raise ValueError("results is empty: pass at least one model's accuracies")
    if max_shift is not None:
        max_shift = check_int(max_shift, "max_shift", minimum=0)
    table = {}
    for model, by_direction in results.items():
        check_mapping(by_direction, f"results[{model!r}]")
        curves = [check_sequence(v, f"results[{model!r}][{d!r}]", item=check_float)
                  for d, v in by_direction.items()]
        if len({len(c) for c in curves}) != 1:
            raise ValueError(f"results[{model!r}] must give every direction the same number of "
                             f"shifts, got {[len(c) for c in curves]}")
        table[model] = curves
    fig, ax = plt.subplots(figsize=(MAX_WIDTH, 3.6), layout="constrained")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    markers = "os^Dv<>"
    for i, (model, rows) in enumerate(table.items()):
        curves = np.array(rows, dtype=float) * 100
        if max_shift is not None:
            curves = curves[:, :max_shift + 1]
        d = np.arange(curves.shape[1])
        color = colors[i % len(colors)]
        for curve in curves:
            ax.plot(d, curve, ls="--", lw=0.8, color=color, alpha=0.55)
        ax.plot(d, curves.mean(0), marker=markers[i % len(markers)], lw=2.2, color=color,
                label=f"{model} (mean of {len(curves)} directions)")
    ax.set_xlabel("shift (pixels)")
    ax.set_ylabel("accuracy (%)")
    ax.set_xticks(d)
    ax.grid(alpha=0.3)
    legend_below(fig, ax, ncols=1)
    return finish(fig, title, ax)
