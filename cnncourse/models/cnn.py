"""Convolutional networks for MNIST: blocks, a configurable CNN, a residual block and a summary.

The building block of a classic CNN is ``convolution -> ReLU -> max pooling``
(:func:`conv_block`). :class:`ConvNet` stacks such blocks and ends with fully connected
layers; :class:`ResidualBlock` adds its input back to the output of two convolutions (a
skip connection), and :class:`ResidualCNN` is a small non-sequential CNN built around it.
:func:`summarize` runs a model on a dummy input and lists every layer with its output shape
and parameter count; :func:`~cnncourse.geometry.min_input_size` (re-exported here) gives the
smallest image a stack of convolutions and poolings accepts.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from cnncourse import geometry
from cnncourse._checks import check_int, check_model, check_model_input, describe, run_model
from cnncourse._text import text_table
from cnncourse.geometry import min_input_size
from cnncourse.models.mlp import check_dropout, check_sizes
from cnncourse.runtime import evaluating, model_device

__all__ = [
    "ConvNet",
    "fast_convnet",
    "GapCNN",
    "ResidualBlock",
    "ResidualCNN",
    "conv_block",
    "conv_parameter_count",
    "conv_multiply_adds",
    "min_input_size",
    "feature_maps",
    "LayerRow",
    "ModelSummary",
    "summarize",
]


# --------------------------------------------------------------------------- arithmetic
def conv_parameter_count(in_channels: int, out_channels: int, kernel_size: int, bias: bool = True) -> int:
    """Parameters of a ``Conv2d`` layer by formula: ``(k * k * c_in + 1) * c_out`` with a bias.

    Every one of the ``c_out`` filters has a ``k x k`` weight for each of the ``c_in`` input
    channels, plus one bias; the same filter is reused at every position of the image, so
    the image size does not appear.
    """
    c_in = check_int(in_channels, "in_channels", minimum=1)
    c_out = check_int(out_channels, "out_channels", minimum=1)
    k = check_int(kernel_size, "kernel_size", minimum=1)
    return (k * k * c_in + int(bool(bias))) * c_out


def _output_side(model: nn.Module, size: tuple[int, int]) -> tuple[int, int] | None:
    """``(height, width)`` after every conv/pool window of ``model``; ``None`` if one does not fit."""
    try:
        return geometry.output_shape(model, size)
    except ValueError:
        return None


# --------------------------------------------------------------------------- blocks
def conv_block(in_channels: int, out_channels: int, kernel_size: int = 3, padding: int = 0,
               pool: int = 2, batch_norm: bool = False) -> nn.Sequential:
    """The classic CNN block, convolution, ReLU and max-pooling, computed as ``Conv2d ->
    MaxPool2d -> ReLU`` (``Conv2d -> BatchNorm2d -> MaxPool2d -> ReLU`` with ``batch_norm``).

    The classic order is ReLU, then pooling. Both are monotone (a maximum, and clipping at
    zero), so they commute exactly: ``max_pool(relu(z)) == relu(max_pool(z))`` for every ``z``,
    and the gradient reaches the same inputs. Pooling first lets ReLU and its gradient touch a
    quarter of the values (for ``pool=2``), which trained lesson 8's CNN 1.14 to 1.18x as fast
    on a 2-core Xeon (torch 2.14, float32 and bfloat16, ``benchmarks/RESULTS.md``).

    Parameters
    ----------
    in_channels, out_channels
        Channels of the input and number of filters (output channels).
    kernel_size
        Side of the square filters.
    padding
        Zero padding on every side (``kernel_size // 2`` keeps the size for odd kernels).
    pool
        Side and stride of the max-pooling window; 1 means no pooling.
    batch_norm
        Insert ``BatchNorm2d`` (Ioffe and Szegedy, 2015) right after the convolution, before
        pooling and ReLU; the convolution then has no bias, since the normalization's shift
        replaces it.

    Returns
    -------
    nn.Sequential
        With children named ``conv``, (``bn``,) ``pool`` and ``relu``, in that order.
    """
    in_channels = check_int(in_channels, "in_channels", minimum=1)
    out_channels = check_int(out_channels, "out_channels", minimum=1)
    kernel_size = check_int(kernel_size, "kernel_size", minimum=1)
    padding = check_int(padding, "padding", minimum=0)
    pool = check_int(pool, "pool", minimum=1)
    if not isinstance(batch_norm, bool):
        raise TypeError(f"batch_norm must be a bool, got {type(batch_norm).__name__} ({batch_norm!r})")
    layers: OrderedDict[str, nn.Module] = OrderedDict(
        conv=nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding, bias=not batch_norm))
    if batch_norm:
        layers["bn"] = nn.BatchNorm2d(out_channels)
    layers["pool"] = nn.MaxPool2d(pool) if pool > 1 else nn.Identity()
    layers["relu"] = nn.ReLU()
    return nn.Sequential(layers)


def _per_block(value, n: int, name: str, minimum: int) -> tuple[int, ...]:
    values = tuple(value) if isinstance(value, Sequence) and not isinstance(value, str) else (value,) * n
    if len(values) != n:
        raise ValueError(f"{name} must be one int or one per block ({n}, one per entry of "
                         f"channels), got {value!r}")
    return tuple(check_int(v, name, minimum=minimum) for v in values)


def _input_dtype(model: nn.Module) -> torch.dtype:
    """The dtype of the first floating-point parameter (float32 for a model without one): the
    dtype of inputs made up for the model."""
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)


def _too_small(image_size: int, smallest: int, what: str) -> ValueError:
    return ValueError(f"image_size {image_size} is too small for {what}: the feature map shrinks to "
                      f"nothing. The smallest input size accepted is {smallest}x{smallest}.")


#: The most convolution weights a ConvNet or GapCNN may hold (400 MB in float32; the course's
#: networks hold under a million): a larger request is a typo, refused before torch allocates it.
MAX_CONV_WEIGHTS = 100_000_000


def _block_stack(channels, kernel_sizes, paddings, pool, in_channels: int, batch_norm: bool, example: str):
    """``nn.Sequential(block1, block2, ...)`` of :func:`conv_block`, one per entry of ``channels``,
    with the checked settings ``(features, channels, kernels, paddings, pools)``."""
    if isinstance(channels, (str, bytes)) or not isinstance(channels, Sequence):
        raise TypeError(f"channels must be a sequence of filter counts, e.g. {example}, got "
                        f"{describe(channels)}")
    channels = tuple(channels)
    if not channels:
        raise ValueError(f"channels must name at least one block, e.g. {example}, got "
                         f"{channels!r}")
    channels = tuple(check_int(c, "channels", minimum=1) for c in channels)
    kernels = _per_block(kernel_sizes, len(channels), "kernel_sizes", 1)
    pads = _per_block(paddings, len(channels), "paddings", 0)
    for i, (k, p) in enumerate(zip(kernels, pads), start=1):
        if p > k - 1:  # a window beyond that sees only zeros: the map grows by nothing but border
            raise ValueError(f"paddings must be at most kernel_sizes - 1 in every block (a larger padding "
                             f"adds windows that see only zeros), got padding {p} for the {k}x{k} kernel "
                             f"of block {i}")
    pools = _per_block(pool, len(channels), "pool", 1)
    # counted before anything is allocated: kernel_sizes=1000 asked torch for 8 GB of weights
    weights = sum(c_in * c * k * k for c_in, c, k in zip((in_channels, *channels), channels, kernels))
    if weights > MAX_CONV_WEIGHTS:
        raise ValueError(f"channels {channels} with kernel_sizes {kernels} would need {weights:,} convolution "
                         f"weights ({4 * weights / 2**30:.1f} GiB in float32), more than the "
                         f"{MAX_CONV_WEIGHTS:,} these networks are built for: use fewer or smaller filters")
    blocks: OrderedDict[str, nn.Module] = OrderedDict()
    c_in = in_channels
    for i, (c, k, p, w) in enumerate(zip(channels, kernels, pads, pools), start=1):
        blocks[f"block{i}"] = conv_block(c_in, c, k, p, w, batch_norm=batch_norm)
        c_in = c
    return nn.Sequential(blocks), channels, kernels, pads, pools


class ConvNet(nn.Module):
    """A configurable CNN for MNIST: conv blocks, then fully connected layers.

    ``stem`` (only with ``space_to_depth`` > 1): ``nn.PixelUnshuffle(space_to_depth)``, which
    moves every ``s x s`` block of pixels into ``s * s`` channels (a rearrangement: nothing is
    lost or computed); ``features``: one :func:`conv_block` (conv -> max-pool -> ReLU) per
    entry of ``channels``; ``classifier``: flatten -> Linear -> ReLU -> dropout -> Linear (or a
    single Linear when ``hidden`` is 0). With its defaults (24 filters 5x5, 32 filters 3x3,
    256 hidden units, 800 flattened features for a 28x28 input) it is the network of lessons 8
    and 9 and the architecture of the fastest published MNIST recipes; :func:`fast_convnet`
    is lesson 10's variant.

    Parameters
    ----------
    channels
        Number of filters of each block, e.g. ``(24, 32)`` for two blocks.
    kernel_sizes
        Filter side, one int for all blocks or one per block.
    paddings
        Zero padding, one int for all blocks or one per block; at most the kernel size minus 1.
    pool
        Max-pooling window and stride, one int for all blocks or one per block (1: none).
    hidden
        Width of the hidden fully connected layer; 0 for none.
    dropout
        Dropout probability before the last layer.
    image_size
        Side of the square input images; the network accepts only this size.
    in_channels
        Channels of the input (1 for grey digits).
    n_classes
        Number of outputs (logits).
    batch_norm
        Batch normalization after every convolution (:func:`conv_block`); off by default.
    space_to_depth
        Side ``s`` of the pixel blocks the stem folds into channels (``nn.PixelUnshuffle``):
        the first convolution then sees ``s * s * in_channels`` channels on an image ``s``
        times smaller. 1 (the default) means no stem. ``image_size`` must be a multiple of it.

    Raises
    ------
    ValueError
        If ``image_size`` is too small for the blocks (the message names the smallest size)
        or not a multiple of ``space_to_depth``, or a padding exceeds its kernel size minus 1.
    """

    def __init__(self, channels: Sequence[int] = (24, 32), kernel_sizes: int | Sequence[int] = (5, 3),
                 paddings: int | Sequence[int] = 0, pool: int = 2, hidden: int = 256,
                 dropout: float = 0.0, image_size: int = 28, in_channels: int = 1,
                 n_classes: int = 10, batch_norm: bool = False, space_to_depth: int = 1) -> None:
        super().__init__()
        hidden = check_int(hidden, "hidden", minimum=0)
        image_size = check_int(image_size, "image_size", minimum=1)
        in_channels = check_int(in_channels, "in_channels", minimum=1)
        n_classes = check_int(n_classes, "n_classes", minimum=1)
        s = check_int(space_to_depth, "space_to_depth", minimum=1)
        if image_size % s:
            raise ValueError(f"image_size {image_size} is not a multiple of space_to_depth {s}: "
                             f"the stem folds {s}x{s} blocks of pixels into channels")
        self.image_size, self.in_channels, self.space_to_depth = image_size, in_channels, s
        # no stem module at all when s is 1: the default network keeps its layer names
        self.stem = nn.PixelUnshuffle(s) if s > 1 else None
        self.features, channels, kernels, pads, pools = _block_stack(
            channels, kernel_sizes, paddings, pool, in_channels * s * s, batch_norm=batch_norm,
            example="(24, 32)")
        c_in = channels[-1]
        side = _output_side(self.features, (image_size // s, image_size // s))
        if side is None:
            pooling = (f"{pools[0]}x{pools[0]} pooling (pool={pools[0]})" if len(set(pools)) == 1
                       else f"poolings {pools} (pool)")
            stem = f" after a {s}x{s} space-to-depth stem" if s > 1 else ""
            raise _too_small(image_size, s * max(min_input_size(self.features)), f"{len(channels)} blocks "
                             f"with kernels {kernels}, paddings {pads} and {pooling}{stem}")
        self.flat_features = c_in * side[0] * side[1]
        head: OrderedDict[str, nn.Module] = OrderedDict(flatten=nn.Flatten())
        if hidden:
            head.update(fc1=nn.Linear(self.flat_features, hidden), relu=nn.ReLU(),
                        dropout=nn.Dropout(check_dropout(dropout)), fc2=nn.Linear(hidden, n_classes))
        else:
            head.update(dropout=nn.Dropout(check_dropout(dropout)), fc=nn.Linear(self.flat_features, n_classes))
        self.classifier = nn.Sequential(head)
        self.smallest_input = s * max(min_input_size(self.features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self, self.in_channels, self.image_size, self.smallest_input)
        if self.stem is not None:
            x = self.stem(x)
        return self.classifier(self.features(x))


def fast_convnet(channels: Sequence[int] = (32, 48), hidden: int = 256) -> ConvNet:
    """Lesson 10's network: :class:`ConvNet` reshaped to train fast on a CPU.

    ``ConvNet(channels, kernel_sizes=3, pool=(1, 2), space_to_depth=2, hidden=hidden)``:
    a 2x2 space-to-depth stem (28x28x1 -> 14x14x4), a 3x3 convolution without pooling
    (-> 12x12), a 3x3 convolution with 2x2 max-pooling (-> 5x5), then the head of
    :class:`ConvNet`. The stem and first convolution replace ``ConvNet``'s first block (5x5
    convolution, 2x2 max-pooling): both give a 12x12 map whose every position sees a 6x6
    window of pixels, 2 pixels apart, but the stem computes 144 positions of a 36-weight
    filter where the 5x5 block computed 576 positions of a 25-weight filter and pooling kept
    one in four. 32 and 48 filters (instead of 24 and 32) learn more in one epoch and cost
    some speed: of the candidates of ``benchmarks/stem_search.py``, this one had the highest
    validation accuracy after one epoch (``benchmarks/RESULTS.md``). Space-to-depth stems come
    from networks designed for speed, e.g. Ridnik et al., "TResNet", 2021.

    Parameters
    ----------
    channels
        Filters of the two convolutions.
    hidden
        Width of the hidden fully connected layer.

    Returns
    -------
    ConvNet
        For 28x28 single-channel images, 10 classes.
    """
    if (isinstance(channels, Sequence) and not isinstance(channels, (str, bytes))
            and len(channels) != 2):
        raise ValueError(f"channels must be the filters of the two convolutions, e.g. (32, 32), "
                         f"got {channels!r}")
    return ConvNet(channels=channels, kernel_sizes=3, pool=(1, 2), space_to_depth=2, hidden=hidden)


class GapCNN(nn.Module):
    """A CNN whose head is a global average over positions instead of flattening.

    ``features``: one :func:`conv_block` per entry of ``channels`` (with ``BatchNorm2d``
    when ``batch_norm``); ``classifier``: ``AdaptiveAvgPool2d(1)`` (global average pooling,
    Lin et al. 2014) -> flatten -> one ``Linear(channels[-1], n_classes)``. The head sees
    one number per channel, the mean of its feature map, whatever the map's size or where
    on it a response lies: it has no weights per position, and the network accepts any
    input at least as large as its smallest input.

    Parameters
    ----------
    channels
        Number of filters of each block, e.g. ``(32, 64)``.
    kernel_sizes, paddings, pool
        As :class:`ConvNet`: filter side and zero padding (one int for all blocks or one per
        block), max-pooling window and stride of every block.
    batch_norm
        Batch normalization after every convolution.
    in_channels, n_classes
        As :class:`ConvNet`: channels of the input, number of outputs (logits).

    Raises
    ------
    ValueError
        For a non-positive channel count or kernel size, a padding above its kernel size
        minus 1, or an input smaller than the blocks accept (the message names the smallest
        size).
    """

    def __init__(self, channels: Sequence[int] = (32, 64), kernel_sizes: int | Sequence[int] = 3,
                 paddings: int | Sequence[int] = 1, pool: int = 2, batch_norm: bool = True,
                 in_channels: int = 1, n_classes: int = 10) -> None:
        super().__init__()
        in_channels = check_int(in_channels, "in_channels", minimum=1)
        n_classes = check_int(n_classes, "n_classes", minimum=1)
        self.in_channels = in_channels
        self.features, channels, _, _, _ = _block_stack(
            channels, kernel_sizes, paddings, pool, in_channels, batch_norm=batch_norm, example="(32, 64)")
        c_in = channels[-1]
        self.classifier = nn.Sequential(OrderedDict(gap=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten(),
                                                    fc=nn.Linear(c_in, n_classes)))
        self.smallest_input = max(min_input_size(self.features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_model_input(x, self, f"(N, {self.in_channels}, H, W)")
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"GapCNN expects a batch of images of shape (N, {self.in_channels}, H, W), "
                             f"got {tuple(x.shape)}")
        if min(x.shape[-2:]) < self.smallest_input:
            raise ValueError(f"GapCNN got images of size {tuple(x.shape[-2:])}: the smallest input size "
                             f"accepted is {self.smallest_input}x{self.smallest_input}")
        return self.classifier(self.features(x))


def _check_input(x: torch.Tensor, model: nn.Module, channels: int, size: int, smallest: int) -> None:
    name = type(model).__name__
    expected = f"(N, {channels}, {size}, {size})"
    check_model_input(x, model, expected)
    if x.ndim != 4 or x.shape[1] != channels:
        raise ValueError(f"{name} expects a batch of images of shape {expected}, got {tuple(x.shape)}")
    if tuple(x.shape[-2:]) != (size, size):
        if min(x.shape[-2:]) < smallest:
            raise ValueError(f"{name} got images of size {x.shape[-2]}x{x.shape[-1]}, too small for its "
                             f"convolutions and poolings: the smallest input size accepted is "
                             f"{smallest}x{smallest}, and this model was built for {size}x{size} {expected}")
        raise ValueError(f"{name} was built for {size}x{size} images {expected} (its fully connected layer "
                         f"fixes the size), got {tuple(x.shape)}")


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions whose result is added to the block's input: ``relu(x + F(x))``.

    ``F(x) = conv2(relu(conv1(x)))`` with padding that keeps the height and width, so the
    skip connection can add ``x`` unchanged: the shape going out is the shape coming in.

    Parameters
    ----------
    channels
        Channels of the input and the output.
    kernel_size
        Odd filter side (padding ``kernel_size // 2`` keeps the size).
    """

    def __init__(self, channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        channels = check_int(channels, "channels", minimum=1)
        kernel_size = check_int(kernel_size, "kernel_size", minimum=1)
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd so the output keeps the input size, got {kernel_size}")
        self.channels = channels
        self.conv1 = nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2)
        self.relu2 = nn.ReLU()

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """The learned part ``F(x)``, without the skip connection."""
        return self.conv2(self.relu1(self.conv1(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_model_input(x, self, f"of shape (N, {self.channels}, H, W)")
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"ResidualBlock expects (N, {self.channels}, H, W), got {tuple(x.shape)}")
        return self.relu2(x + self.residual(x))  # the skip connection: add the input back


class ResidualCNN(nn.Module):
    """A small non-sequential CNN: a conv block, a residual block, a conv block, a classifier.

    ``stem`` (conv 5x5 -> ReLU -> pool) -> ``res`` (:class:`ResidualBlock`) -> ``block2``
    (conv 3x3 -> ReLU -> pool) -> flatten -> Linear. The skip connection makes the data flow
    a graph rather than a chain, which is why it needs its own ``forward``.

    Parameters
    ----------
    channels
        Filters of the stem (and residual block) and of the second block.
    hidden
        Width of the hidden fully connected layer; 0 for none.
    image_size, n_classes
        Side of the square grey input images and number of outputs.
    """

    def __init__(self, channels: Sequence[int] = (16, 32), hidden: int = 128, image_size: int = 28,
                 n_classes: int = 10) -> None:
        super().__init__()
        c1, c2 = check_sizes(channels, "channels")
        hidden = check_int(hidden, "hidden", minimum=0)
        image_size = check_int(image_size, "image_size", minimum=1)
        n_classes = check_int(n_classes, "n_classes", minimum=1)
        self.image_size = image_size
        self.stem = conv_block(1, c1, 5)
        self.res = ResidualBlock(c1)
        self.block2 = conv_block(c1, c2, 3)
        side = _output_side(self, (image_size, image_size))
        if side is None:
            raise _too_small(image_size, max(min_input_size(self)), "ResidualCNN")
        flat = c2 * side[0] * side[1]
        self.flatten = nn.Flatten()
        self.head = (nn.Sequential(OrderedDict(fc1=nn.Linear(flat, hidden), relu=nn.ReLU(),
                                               fc2=nn.Linear(hidden, n_classes)))
                     if hidden else nn.Linear(flat, n_classes))
        self.smallest_input = max(min_input_size(self))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self, 1, self.image_size, self.smallest_input)
        return self.head(self.flatten(self.block2(self.res(self.stem(x)))))


# --------------------------------------------------------------------------- looking inside
def feature_maps(model: nn.Module, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
    """The outputs of some named layers of ``model`` for the input ``x``.

    The model runs once in eval mode without gradients; forward hooks catch the outputs.

    Parameters
    ----------
    model
        Any module.
    x
        A batch of inputs for the model.
    layers
        Names as in ``model.named_modules()``, e.g. ``["features.block1.relu"]``.

    Returns
    -------
    dict
        Layer name -> output tensor (detached, on the CPU), in the order of ``layers``.
    """
    check_model(model, numbers=True)
    check_model_input(x, model, "as x")
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence):
        raise TypeError(f"layers must be a list of layer names, got {describe(layers)}")
    modules = dict(model.named_modules())
    missing = [name for name in layers if name not in modules or name == ""]
    if missing:
        known = [n for n in modules if n]
        raise ValueError(f"layers {missing} are not in the model ({type(model).__name__}); its layers are: "
                         f"{', '.join(known) if known else 'none (it has no submodules)'}")
    caught: dict[str, torch.Tensor] = {}
    handles = [modules[name].register_forward_hook(
        lambda _m, _i, out, name=name: caught.__setitem__(name, out.detach().cpu())) for name in layers]
    try:
        with evaluating(model), torch.no_grad():
            run_model(model, x, "x")
    finally:
        for h in handles:
            h.remove()
    return {name: caught[name] for name in layers}


@dataclass(frozen=True)
class LayerRow:
    """One line of a :class:`ModelSummary`."""

    name: str
    kind: str
    output_shape: tuple[int, ...]
    parameters: int


@dataclass(frozen=True)
class ModelSummary:
    """A layer-by-layer list of output shapes and parameter counts (see :func:`summarize`).

    ``print(summary)`` shows it as a text table; ``summary.rows`` holds the data.
    """

    input_shape: tuple[int, ...]
    rows: tuple[LayerRow, ...]

    @property
    def total_parameters(self) -> int:
        """Sum of the parameters of all rows (each parameter is counted once)."""
        return sum(r.parameters for r in self.rows)

    def table(self) -> str:
        """The summary as a fixed-width text table."""
        lines = [("layer", "type", "output shape", "parameters"),
                 ("input", "", _fmt_shape(self.input_shape), "")]
        lines += [(r.name, r.kind, _fmt_shape(r.output_shape), f"{r.parameters:,}") for r in self.rows]
        out = text_table(lines, "<<<>", rule="line")
        out.append("-" * len(out[0]))
        out.append(f"total parameters: {self.total_parameters:,}")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.table()

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython shows the table
        printer.text(self.table())


def _fmt_shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def summarize(model: nn.Module, input_shape: Sequence[int]) -> ModelSummary:
    """Run ``model`` on zeros of ``input_shape`` and list every layer it passes through.

    Each row holds the layer's name (as in ``named_modules``), its type, the shape of its
    output and the number of parameters it owns. Leaf layers get a row; a
    :class:`ResidualBlock` also gets one, after the rows of its inner layers, for the block's
    output ``relu(x + F(x))`` (with 0 parameters: they are on the rows of its convolutions).
    Rows come in the order the layers run; the parameters of the rows add up to the model's.

    Parameters
    ----------
    model
        Any module taking one tensor.
    input_shape
        Shape of one input without the batch, e.g. ``(1, 28, 28)``; a full shape with a
        batch dimension is also accepted when it has four entries.

    Returns
    -------
    ModelSummary
        Its ``rows``, ``total_parameters`` and ``table()``.

    Raises
    ------
    ValueError
        When the input is too small for the model's convolutions and poolings (the message
        names the smallest size) or has a shape the model does not accept.
    """
    check_model(model)
    if isinstance(input_shape, (str, bytes)) or not isinstance(input_shape, Sequence):
        raise TypeError(f"input_shape must be a sequence of ints such as (1, 28, 28), got {describe(input_shape)}")
    try:
        shape = tuple(check_int(s, "input_shape", minimum=1) for s in input_shape)
    except ValueError:
        shape = ()
    if not shape:
        raise ValueError(f"input_shape must be positive ints such as (1, 28, 28), got {input_shape!r}")
    full = shape if len(shape) == 4 else (1, *shape)
    if len(shape) >= 2:
        h, w = min_input_size(model)
        if shape[-2] < h or shape[-1] < w:
            raise ValueError(f"input_shape {shape} is too small for {type(model).__name__}: its convolutions "
                             f"and poolings need at least {h}x{w} pixels")
    rows: list[LayerRow] = []  # in the order the layers run
    handles = []
    for name, module in model.named_modules():
        is_leaf = next(module.children(), None) is None
        if not name or not (is_leaf or isinstance(module, ResidualBlock)):
            continue
        own = sum(p.numel() for p in module.parameters(recurse=False)) if not isinstance(module, ResidualBlock) else 0
        kind = "ResidualBlock: relu(x + F(x))" if isinstance(module, ResidualBlock) else type(module).__name__

        def hook(_m, _i, out, name=name, kind=kind, own=own):
            if isinstance(out, torch.Tensor):
                rows.append(LayerRow(name, kind, tuple(out.shape[1:]), own))

        handles.append(module.register_forward_hook(hook))
    try:
        with evaluating(model), torch.no_grad():
            run_model(model, torch.zeros(full, device=model_device(model),
                                         dtype=_input_dtype(model)), "input_shape")
    finally:
        for h in handles:
            h.remove()
    return ModelSummary(shape, tuple(rows))


def conv_multiply_adds(model: nn.Module, input_shape: Sequence[int]) -> dict[str, int]:
    """Multiply-adds of every ``Conv2d`` of ``model`` for one input of ``input_shape``.

    Every output value of a convolution is one dot product of a filter with the window under
    it, ``kernel_height * kernel_width * in_channels / groups`` multiply-adds; a layer does that
    for each of its ``out_channels * height * width`` output values, i.e.
    ``height * width * weight.numel()``. The bias is not counted. PyTorch's
    ``FlopCounterMode`` counts the same forward work at two operations per multiply-add.

    Parameters
    ----------
    model
        Any module; its convolutions are found by :func:`summarize`, which runs it once.
    input_shape
        One input without the batch dimension, e.g. ``(1, 28, 28)``.

    Returns
    -------
    dict
        Layer name (as in :func:`summarize`) -> multiply-adds per input, in the order the
        layers run.

    Raises
    ------
    TypeError, ValueError
        As :func:`summarize`.
    """
    summary = summarize(model, input_shape)
    layers = dict(model.named_modules())
    found = {}
    for row in summary.rows:
        layer = layers.get(row.name)
        if isinstance(layer, nn.Conv2d):
            height, width = row.output_shape[-2:]
            found[row.name] = height * width * layer.weight.numel()
    return found
