"""The ERF explorer: the effective receptive field against the theoretical one."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from functools import lru_cache

import anywidget
import matplotlib.pyplot as plt
import numpy as np
import torch
import traitlets
from matplotlib.figure import Figure
from torch import nn

from cnncourse._checks import check_choice, check_int
from cnncourse.geometry import kernel_span
from cnncourse.plots._layout import MAX_WIDTH
from cnncourse.receptive_field import (
    conv_stack,
    effective_receptive_field,
    fit_gaussian,
    flatten_layers,
    gradient_support,
    receptive_field,
    support_extent,
    usage_map,
)
from cnncourse.widgets._shared import esm, mnist_digits
from cnncourse.widgets._static import erf_panels

__all__ = ["ERF_KERNEL_SIZES", "ERF_DILATIONS", "ERF_MAX_DEPTH", "ERF_MAX_SIDE", "input_side",
           "uniform_stack", "ErfExplorer"]

ERF_KERNEL_SIZES: tuple[int, ...] = (3, 5, 7)
"""Kernel sizes the ERF explorer offers."""
ERF_DILATIONS: tuple[int, ...] = (1, 2, 3)
"""Dilations the ERF explorer offers."""
ERF_MAX_DEPTH = 8
"""Deepest stack the ERF explorer offers."""
ERF_MAX_SIDE = 49
"""Largest input side (a larger field is clipped to it)."""


def input_side(field: int, max_side: int = ERF_MAX_SIDE) -> int:
    """The odd input side the explorer measures a field of ``field`` pixels on:
    ``field + 8`` (at least 21, at most ``max_side``), made odd so the central unit is centred.

    Raises
    ------
    TypeError, ValueError
        For a ``field`` or ``max_side`` that is not a positive int.
    """
    field = check_int(field, "field", minimum=1)
    max_side = check_int(max_side, "max_side", minimum=1)
    side = min(max(field + 8, 21), max_side)
    return side if side % 2 else side + 1


def _prefix(layers: list[tuple[str, nn.Module]], depth: int) -> nn.Sequential:
    """The layers up to (not including) the ``depth + 1``-th convolution."""
    out, seen = [], 0
    for _, layer in layers:
        if isinstance(layer, nn.Conv2d):
            if seen == depth:
                break
            seen += 1
        out.append(layer)
    return nn.Sequential(*out)


def _conv_part(model: nn.Module, name: str) -> list[tuple[str, nn.Module]]:
    if not isinstance(model, nn.Module):
        raise TypeError(f"{name} must be an nn.Module (a CNN, or its convolutional part), "
                         f"got {type(model).__name__}")
    part = model.features if isinstance(getattr(model, "features", None), nn.Module) else model
    # a private CPU copy: measuring must not move or change the lesson's model
    part = copy.deepcopy(part).to(device="cpu", dtype=torch.float32, memory_format=torch.contiguous_format)
    part.eval()
    flat = flatten_layers(part)
    if not any(isinstance(m, nn.Conv2d) for _, m in flat):
        raise ValueError(f"{name} has no Conv2d layer: pass a CNN with a .features stack, or the stack")
    try:
        whole = receptive_field(part).whole
    except ValueError as exc:
        raise ValueError(f"{name} (or its .features) must be a stack of convolutions, poolings and "
                         f"pointwise layers: {exc}") from None
    if whole:  # Flatten, Linear or global pooling: every output sees the whole input
        raise ValueError(f"{name} (or its .features) ends in a layer that sees the whole input "
                         "(Flatten, Linear, global pooling): pass its convolutional part")
    return flat


@lru_cache(maxsize=4)
def _digit_batch(n: int) -> torch.Tensor:
    from cnncourse.data import standardize

    return standardize(mnist_digits("test")[:n])


def uniform_stack(depth: int, kernel_size: int, dilation: int) -> nn.Sequential:
    """The stack whose field the explorer draws: ``depth`` size-preserving one-channel
    convolutions (:func:`~cnncourse.receptive_field.conv_stack`, no activation)."""
    return conv_stack(depth, channels=1, kernel_size=kernel_size, dilation=dilation, activation=None)


class ErfExplorer(anywidget.AnyWidget):
    """Effective receptive field (ERF) inside the theoretical one, for stacks you choose (lesson 9).

    ``weights="uniform"``: ``depth`` k x k convolutions with dilation d and equal weights.
    Their ERF (the gradient of the central output unit, normalised to sum 1) counts the paths
    from each input pixel to the unit, :func:`~cnncourse.receptive_field.usage_map`; the
    browser computes it (``erf.js``), with the theoretical field and the Gaussian radius, so
    the explorer reacts on a static page. ``weights="trained"`` (with ``trained_model``): the
    ERF of the model's first ``depth`` convolutions on MNIST test digits, and of
    ``untrained_model`` (its weights before training) when given, computed here with
    :func:`~cnncourse.receptive_field.effective_receptive_field` and carried in the state.

    State (traitlets): ``depth``, ``kernel_size``, ``dilation``, ``weights``, and ``trained``
    (one entry per depth of the trained model: ``erf``, ``before``, ``side``, ``field``).

    Results (read-only attributes, computed with :mod:`cnncourse.receptive_field`): ``erf``
    (the map shown, sum 1), ``erf_before`` (trained mode, else ``None``), ``support``
    (boolean theoretical field of the central unit, clipped to the input), ``field`` (its
    size in pixels), ``radius`` (Gaussian-fit radius of ``erf``), ``side`` (input side) and
    ``stack`` (the layers measured).

    Parameters
    ----------
    depth
        Number of convolutions, 1 to ``ERF_MAX_DEPTH`` (at most the model's in trained mode).
    kernel_size
        One of ``ERF_KERNEL_SIZES``.
    dilation
        One of ``ERF_DILATIONS``.
    weights
        ``"uniform"`` or ``"trained"`` (needs ``trained_model``).
    trained_model
        A trained CNN (its ``.features`` are used when it has them) or a stack of
        convolutions, poolings and pointwise layers taking 1-channel 28x28 images. A CPU copy
        is measured, so the model itself is left where and as it is.
    untrained_model
        The same architecture before training, drawn next to it.
    n_digits
        Test digits averaged over in trained mode.
    seed
        Seed of the random weights and inputs of :meth:`static_figure`.

    Raises
    ------
    TypeError
        For a depth, kernel size, dilation, ``n_digits`` or seed that is not an int, or a
        model that is not an ``nn.Module``.
    ValueError
        For a value outside the offered ones, ``weights="trained"`` without a model, or a
        model that is not a convolutional stack.
    """

    _esm = esm("erf.js")
    depth = traitlets.Int().tag(sync=True)
    kernel_size = traitlets.Int().tag(sync=True)
    dilation = traitlets.Int().tag(sync=True)
    weights = traitlets.Unicode().tag(sync=True)
    trained = traitlets.List().tag(sync=True)
    max_depth = traitlets.Int(ERF_MAX_DEPTH).tag(sync=True)
    max_side = traitlets.Int(ERF_MAX_SIDE).tag(sync=True)
    kernel_sizes = traitlets.List(list(ERF_KERNEL_SIZES)).tag(sync=True)
    dilations = traitlets.List(list(ERF_DILATIONS)).tag(sync=True)

    def __init__(self, depth: int = 3, kernel_size: int = 3, dilation: int = 1, weights: str = "uniform",
                 trained_model: nn.Module | None = None, untrained_model: nn.Module | None = None,
                 n_digits: int = 64, seed: int = 0) -> None:
        depth = check_int(depth, "depth", minimum=1, maximum=ERF_MAX_DEPTH)
        kernel_size = check_choice(check_int(kernel_size, "kernel_size"), "kernel_size", ERF_KERNEL_SIZES)
        dilation = check_choice(check_int(dilation, "dilation"), "dilation", ERF_DILATIONS)
        check_choice(weights, "weights", ("uniform", "trained"))
        self.n_digits = check_int(n_digits, "n_digits", minimum=1, maximum=10000)
        self.seed = check_int(seed, "seed")
        trained = None if trained_model is None else _conv_part(trained_model, "trained_model")
        untrained = None if untrained_model is None else _conv_part(untrained_model, "untrained_model")
        if untrained is not None and trained is None:
            raise ValueError("untrained_model is given without trained_model: pass both, or neither")
        if weights == "trained" and trained is None:
            raise ValueError("weights='trained' needs trained_model=<a trained CNN>; got trained_model=None")
        self._trained_layers = trained
        maps = [] if trained is None else self._trained_maps(trained, untrained)
        if weights == "trained":
            check_int(depth, "depth", minimum=1, maximum=len(maps))
        super().__init__(depth=depth, kernel_size=kernel_size, dilation=dilation, weights=weights,
                         trained=maps)

    def _trained_maps(self, trained, untrained) -> list[dict]:
        digits = _digit_batch(self.n_digits)
        n = sum(isinstance(m, nn.Conv2d) for _, m in trained)
        maps = []
        for depth in range(1, n + 1):
            stack = _prefix(trained, depth)
            erf = effective_receptive_field(stack, inputs=digits)
            before = None if untrained is None else effective_receptive_field(_prefix(untrained, depth),
                                                                               inputs=digits)
            maps.append({"side": int(digits.shape[-1]), "field": int(receptive_field(stack, digits.shape[-1]).size[0]),
                         "erf": erf.ravel().tolist(), "before": None if before is None else before.ravel().tolist()})
        return maps

    # ---- reference values, from the current state
    @property
    def _is_trained(self) -> bool:
        return self.weights == "trained" and bool(self.trained)

    @property
    def _depth(self) -> int:
        return min(self.depth, len(self.trained) if self._is_trained else ERF_MAX_DEPTH)

    @property
    def stack(self) -> nn.Sequential:
        """The layers measured: the uniform stack, or the trained model's first convolutions."""
        if self._is_trained:
            return _prefix(self._trained_layers, self._depth)
        return uniform_stack(self._depth, self.kernel_size, self.dilation)

    @property
    def side(self) -> int:
        """Side of the input the field is measured on."""
        if self._is_trained:
            return int(self.trained[self._depth - 1]["side"])
        return input_side(1 + self._depth * self.dilation * (self.kernel_size - 1))

    @property
    def field(self) -> int:
        """Theoretical receptive field of the stack, in pixels (may exceed :attr:`side`)."""
        return int(receptive_field(self.stack, self.side).size[0])

    @property
    def support(self) -> np.ndarray:
        """Boolean map of the input pixels that can influence the central unit."""
        return gradient_support(self.stack, self.side)

    @property
    def erf(self) -> np.ndarray:
        """The ERF shown, ``(side, side)``, summing to 1."""
        if self._is_trained:
            return np.asarray(self.trained[self._depth - 1]["erf"]).reshape(self.side, self.side)
        usage = usage_map(self.stack, self.side)
        return usage / usage.sum()

    @property
    def erf_before(self) -> np.ndarray | None:
        """The untrained model's ERF in trained mode (when given), else ``None``."""
        if not self._is_trained or self.trained[self._depth - 1]["before"] is None:
            return None
        return np.asarray(self.trained[self._depth - 1]["before"]).reshape(self.side, self.side)

    @property
    def radius(self) -> float:
        """Radius of the Gaussian fitted to :attr:`erf` by moments, in pixels."""
        return float(fit_gaussian(self.erf).radius)

    # ---- the static page
    def _random_map(self, depth: int, k: int, d: int) -> tuple[np.ndarray, nn.Sequential, int]:
        side = input_side(1 + depth * (kernel_span(k, d) - 1))  # the stack's theoretical field
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            stack = conv_stack(depth, channels=8, kernel_size=k, dilation=d)
        return effective_receptive_field(stack, side, n_inputs=8, seed=self.seed), stack, side

    def static_figure(self, depths: Sequence[int] = (1, 3, 6), kernel_size: int = 3,
                      dilations: Sequence[int] = (1, 2)) -> Figure:
        """ERFs of random stacks (ReLU, 8 channels): one row per dilation, one column per depth.

        Every panel is titled with the theoretical field and the ERF radius and shows the
        theoretical field as a dashed box. With ``trained_model``, a last row compares the
        untrained and trained maps of the whole model.

        Parameters
        ----------
        depths
            Depths of the columns.
        kernel_size
            Kernel size of every stack.
        dilations
            Dilations of the rows.
        """
        check_choice(check_int(kernel_size, "kernel_size"), "kernel_size", ERF_KERNEL_SIZES)
        for d in depths:
            check_int(d, "depths", minimum=1, maximum=ERF_MAX_DEPTH)
        for d in dilations:
            check_choice(check_int(d, "dilations"), "dilations", ERF_DILATIONS)
        rows = len(dilations) + bool(self.trained)
        cols = max(len(depths), 3)
        fig, axes = plt.subplots(rows, cols, figsize=(MAX_WIDTH, 2.2 * rows), squeeze=False,
                                 layout="constrained")
        for ax_row, dil in zip(axes, dilations):
            for ax, depth in zip(ax_row, depths):
                erf, stack, side = self._random_map(depth, kernel_size, dil)
                rf = receptive_field(stack, side)
                box = rf.bounds(tuple((n - 1) // 2 for n in rf.out_shape))
                support_box = support_extent(gradient_support(stack, side))
                title = f"depth {depth}, dilation {dil}\nfield {rf.size[0]}, radius {fit_gaussian(erf).radius:.1f}"
                erf_panels([ax], {title: erf}, box, support_box, profile=False)
            for ax in ax_row[len(depths):]:
                ax.axis("off")
        if self.trained:
            t = self.trained[-1]
            stack, side = _prefix(self._trained_layers, len(self.trained)), t["side"]
            rf = receptive_field(stack, side)
            box = rf.bounds(tuple((n - 1) // 2 for n in rf.out_shape))
            erf = np.asarray(t["erf"]).reshape(side, side)
            maps = {}
            if t["before"] is not None:
                before = np.asarray(t["before"]).reshape(side, side)
                maps[f"before training:\nradius {fit_gaussian(before).radius:.1f}"] = before
            maps[f"trained:\nradius {fit_gaussian(erf).radius:.1f} px"] = erf
            ax_row = axes[-1]
            erf_panels(list(ax_row[:len(maps) + 1]), maps, box, support_extent(gradient_support(stack, side)))
            for ax in ax_row[len(maps) + 1:]:
                ax.axis("off")
        plt.close(fig)  # returned, not left open: the notebook shows it once
        return fig
