"""Figures about receptive fields: heatmaps by depth, growth on log-log axes, comparisons.

The maps come from :mod:`cnncourse.receptive_field`; these functions only draw them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cnncourse._checks import check_bool, check_float, check_int, check_mapping, check_sequence
from cnncourse.plots._layout import MAX_WIDTH, finish, legend_below, panel_grid, plot_array

__all__ = [
    "show_usage_map",
    "show_erf_by_depth",
    "show_field_growth",
    "show_erf_comparison",
    "show_dilation_comparison",
]


def _check_maps(maps: Mapping[str, np.ndarray], name: str = "maps") -> dict[str, np.ndarray]:
    check_mapping(maps, name)
    out = {}
    for key, value in maps.items():
        arr = plot_array(value, f"{name}[{key!r}]").astype(float)
        if arr.ndim != 2 or arr.size == 0:
            raise ValueError(f"{name}[{key!r}] must be a non-empty 2-D array, got shape {arr.shape}")
        out[str(key)] = arr
    return out


def _check_bounds(value: object, name: str) -> tuple:
    """A field box ``((r0, r1), (c0, c1))``: two pairs of finite numbers."""
    pair = partial(check_sequence, length=2, item=check_float)
    return tuple(tuple(p) for p in check_sequence(value, name, length=2, item=pair))


def _check_bounds_by_label(value: object, name: str) -> dict | None:
    """``None``, or a mapping label -> field box (or ``None`` for a panel without one)."""
    if value is None:
        return None
    check_mapping(value, name, nonempty=False)
    return {k: None if b is None else _check_bounds(b, f"{name}[{k!r}]") for k, b in value.items()}


def _outline(ax, bounds, color="white", label=None) -> None:
    """Draw the box ((r0, r1), (c0, c1)) (inclusive pixel indices) on an image axis."""
    (r0, r1), (c0, c1) = bounds
    ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0 + 1, r1 - r0 + 1, fill=False,
                           edgecolor=color, lw=1.2, ls="--", label=label))


def _heatmap_row(maps: dict[str, np.ndarray], outlines: Mapping | None, cmap: str, title: str | None,
                 annotate: bool = False, per_panel: float = 2.6) -> Figure:
    n = len(maps)
    per_panel = min(per_panel, MAX_WIDTH / 2)  # two heatmaps with colour bars per row at most
    fig, axes = panel_grid(n, per_panel, per_panel + 0.3)
    for ax, (key, m) in zip(axes, maps.items()):
        im = ax.imshow(m, cmap=cmap, interpolation="nearest")
        ax.set_title(key, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        if outlines and key in outlines and outlines[key] is not None:
            _outline(ax, outlines[key])
        if annotate and max(m.shape) <= 10:  # larger maps: too many numbers to read
            top = m.max() if m.max() > 0 else 1
            for (r, c), v in np.ndenumerate(m):
                ax.text(c, r, f"{v:g}", ha="center", va="center", fontsize=10,
                        color="black" if v > 0.6 * top else "white")
        fig.colorbar(im, ax=ax, shrink=0.8)
    if title:
        fig.suptitle(title)
    plt.close(fig)
    return fig


def show_usage_map(maps: Mapping[str, np.ndarray], title: str | None = None,
                   annotate: bool = True) -> Figure:
    """Heatmaps of pixel-usage counts (:func:`cnncourse.receptive_field.usage_map`), side by side.

    Parameters
    ----------
    maps
        Title -> 2-D count map.
    title
        Optional figure title.
    annotate
        Write each count in its pixel (for maps of at most 10x10 pixels, legible on a phone).
    """
    return _heatmap_row(_check_maps(maps), None, "magma", title, annotate=annotate)


def show_erf_by_depth(maps: Mapping[int, np.ndarray], field_bounds: Mapping[int, tuple] | None = None,
                      title: str | None = None) -> Figure:
    """Effective receptive fields of networks of increasing depth, one heatmap each.

    Parameters
    ----------
    maps
        Depth -> ERF map (all of the same input size).
    field_bounds
        Depth -> ``((r0, r1), (c0, c1))`` of the theoretical field, drawn as a dashed box.
    title
        Optional figure title.
    """
    field_bounds = _check_bounds_by_label(field_bounds, "field_bounds")
    labelled = {f"depth {d}": m for d, m in _check_maps(maps).items()}
    outlines = None
    if field_bounds is not None:
        outlines = {f"depth {d}": b for d, b in field_bounds.items()}
    return _heatmap_row(labelled, outlines, "viridis", title)


def show_field_growth(depths: Sequence[float], series: Mapping[str, Sequence[float]],
                      slopes: Mapping[str, float] | None = None, ylabel: str = "radius (pixels)",
                      title: str | None = None) -> Figure:
    """Field radius against depth on log-log axes, with fitted power laws.

    Parameters
    ----------
    depths
        Network depths (x axis).
    series
        Label -> radius at each depth (y axis).
    slopes
        Label -> ``(exponent, prefactor)`` pairs from
        :func:`cnncourse.receptive_field.fit_power_law`; each is drawn as a dashed line and its
        exponent written in the legend.
    ylabel, title
        Axis label and optional title.
    """
    positive = partial(check_float, minimum=0, exclusive_minimum=True)  # log-log axes
    x = np.array(check_sequence(depths, "depths", item=positive, minimum=2))
    check_mapping(series, "series", nonempty=False)
    series = {label: check_sequence(ys, f"series[{label!r}]", item=positive, length=len(x))
              for label, ys in series.items()}
    if slopes is not None:
        check_mapping(slopes, "slopes", nonempty=False)
        slopes = {label: check_sequence(fit, f"slopes[{label!r}]", item=check_float, length=2)
                  for label, fit in slopes.items()}
    fig, ax = plt.subplots(figsize=(5.2, 3.8), layout="constrained")
    markers = iter("osD^v<>")
    for label, ys in series.items():
        y = np.array(ys)
        line = ax.loglog(x, y, next(markers, "o"), label=label)[0]
        if slopes and label in slopes:
            b, a = slopes[label]
            xs = np.geomspace(x.min(), x.max(), 50)
            line.set_label(f"{label}: slope {b:.2f}")
            ax.loglog(xs, a * xs ** b, "--", color=line.get_color(), lw=1)
    ax.set_xlabel("depth (number of 3x3 convolutions)")
    ax.set_ylabel(ylabel)
    ax.set_xticks(x, [f"{v:g}" for v in x])
    ax.minorticks_off()
    ax.grid(alpha=0.3, which="both")
    legend_below(fig, ax, ncols=1)
    if title:
        ax.set_title(title)
    plt.close(fig)
    return fig


def show_erf_comparison(maps: Mapping[str, np.ndarray], field_bounds: tuple | None = None,
                        title: str | None = None, profile: bool = True) -> Figure:
    """Two or more effective receptive fields side by side (e.g. untrained vs trained).

    Parameters
    ----------
    maps
        Title -> ERF map (same shape).
    field_bounds
        ``((r0, r1), (c0, c1))`` of the theoretical field, drawn as a dashed box on every map.
    title
        Optional figure title.
    profile
        Add a panel with the central row of every map, each scaled to a peak of 1.
    """
    checked = _check_maps(maps)
    profile = check_bool(profile, "profile")
    if field_bounds is not None:
        field_bounds = _check_bounds(field_bounds, "field_bounds")
    n = len(checked) + int(profile)
    fig, axes = panel_grid(n, MAX_WIDTH / 2, 2.9)
    for ax, (key, m) in zip(axes, checked.items()):
        im = ax.imshow(m, cmap="viridis", interpolation="nearest")
        ax.set_title(key, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        if field_bounds is not None:
            _outline(ax, field_bounds)
        fig.colorbar(im, ax=ax, shrink=0.8)
    if profile:
        ax = axes[-1]
        for key, m in checked.items():
            r = int(np.argmax(m.sum(axis=1)))
            row = m[r]
            ax.plot(np.arange(row.size), row / row.max() if row.max() > 0 else row, "o-", ms=3, label=key)
        if field_bounds is not None:
            for c in field_bounds[1]:
                ax.axvline(c, color="grey", ls="--", lw=1)
        ax.set_xlabel("input column")
        ax.set_ylabel("gradient, central row\n(peak = 1)")
        ax.grid(alpha=0.3)
        legend_below(fig, ax, ncols=1)
    return finish(fig, title)


def show_dilation_comparison(maps: Mapping[str, np.ndarray], parameters: Mapping[str, int] | None = None,
                             field_bounds: Mapping[str, tuple] | None = None,
                             title: str | None = None) -> Figure:
    """Fields of plain and dilated stacks side by side, with their parameter counts in the titles.

    Parameters
    ----------
    maps
        Label -> map (usage counts or ERF) of each stack, same shape.
    parameters
        Label -> number of parameters, appended to the panel title.
    field_bounds
        Label -> theoretical field box, drawn dashed.
    title
        Optional figure title.
    """
    checked = _check_maps(maps)
    field_bounds = _check_bounds_by_label(field_bounds, "field_bounds")
    if parameters is not None:
        check_mapping(parameters, "parameters", nonempty=False)
        parameters = {k: check_int(v, f"parameters[{k!r}]", minimum=0) for k, v in parameters.items()}
    if parameters:
        checked = {(f"{k}\n{parameters[k]:,} parameters" if k in parameters else k): v for k, v in checked.items()}
        if field_bounds:
            field_bounds = {(f"{k}\n{parameters[k]:,} parameters" if k in parameters else k): v
                            for k, v in field_bounds.items()}
    return _heatmap_row(checked, field_bounds, "magma", title, per_panel=3.0)
