"""Checkers for lesson 8, convolutional networks.

The exercises use one small stack, :func:`exercise_stack`::

    Conv2d(1, 16, kernel_size=5) -> ReLU -> MaxPool2d(2) -> Conv2d(16, 32, kernel_size=3, padding=1) -> ReLU -> MaxPool2d(2)

Every checker computes its reference from that stack (by running it, or by PyTorch's own
parameter count) rather than storing the answer.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cnncourse._checks import check_int
from cnncourse.exercises.feedback import Feedback, checker, correct, read_number, wrong
from cnncourse.geometry import min_input_size
from cnncourse.models.mlp import mlp_parameter_count

__all__ = ["exercise_stack", "check_output_shape", "check_conv_parameters", "check_smallest_input",
           "check_head_parameters", "check_batchnorm_parameters", "check_finetuned_parameters"]


def exercise_stack() -> nn.Sequential:
    """The conv/pool stack the lesson-8 exercises ask about (a fresh, untrained copy)."""
    return nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    )


def _reference_shape() -> tuple[int, int, int]:
    with torch.no_grad():
        return tuple(exercise_stack()(torch.zeros(1, 1, 28, 28)).shape[1:])  # type: ignore[return-value]


@checker("output shape")
def check_output_shape(shape: Sequence[int] | None) -> Feedback:
    """Check the output shape ``(channels, height, width)`` of :func:`exercise_stack` for one
    28x28 grey image (input shape ``(1, 28, 28)``)."""
    name = "output shape"
    if isinstance(shape, torch.Tensor):
        shape = shape.detach().reshape(-1).tolist() if shape.ndim <= 1 and shape.numel() <= 8 else shape
    if (isinstance(shape, (str, bytes)) or not isinstance(shape, (Sequence, torch.Size))
            or len(shape) > 8):  # a shape has a few entries: no need to read a million
        return wrong(name, "give the shape as three ints: (channels, height, width)")
    got = tuple(read_number(s, name, integer=True, what="the shape as three ints (channels, height, width)")
                for s in shape)
    if len(got) == 4:
        return wrong(name, "leave out the batch dimension: give (channels, height, width)")
    if len(got) != 3:
        return wrong(name, f"give three numbers (channels, height, width), got {len(got)}")
    expected = _reference_shape()
    c, h, w = got
    if got == expected:
        return correct(name, "28 -> 24 (5x5, no padding) -> 12 (pool) -> 12 (3x3, padding 1) -> 6 (pool), "
                             "with 32 channels from the 32 filters of the last convolution.")
    if c != expected[0]:
        return wrong(name, "the number of channels coming out is the number of filters of the last convolution.")
    if h != w:
        return wrong(name, "every layer treats height and width alike, and the input is square.")
    if h == 12:
        return wrong(name, "the size is right after the second convolution, but a pooling layer follows it.")
    if h == 5:
        return wrong(name, "the second convolution has padding=1: with a 3x3 kernel it keeps the size.")
    if h == 7:
        return wrong(name, "the first convolution has no padding: a 5x5 kernel fits 28 - 5 + 1 positions.")
    return wrong(name, "follow the side through each layer with out = floor((n + 2p - k) / s) + 1; "
                       "a 2x2 max-pool halves it (rounding down).")


def _conv_parameter_mistakes() -> dict[int, str]:
    """Wrong counts for the second convolution of :func:`exercise_stack`, with their hints."""
    conv = exercise_stack()[3]
    k, c_in, c_out = conv.kernel_size[0], conv.in_channels, conv.out_channels
    table = {}
    for count, hint in (
            ((k + 2) ** 2 * c_in * c_out + c_out, "padding adds zeros around the input, not weights to the kernel."),
            ((k + 2) ** 2 * c_in * c_out, "padding adds zeros around the input, not weights to the kernel."),
            (k * k * c_in + 1, "that is one filter; how many filters does the layer have?"),
            (k * k * c_in, "that is one filter; how many filters does the layer have?"),
            (k * k * c_out + c_out, f"a filter spans all {c_in} input channels, not just one."),
            (k * k * c_out, f"a filter spans all {c_in} input channels, not just one."),
            (k * k * c_in * c_out, "close: every filter also has a bias.")):
        table[count] = hint
    return table


@checker("conv parameters", mistakes=_conv_parameter_mistakes)
def check_conv_parameters(count: int | None) -> Feedback:
    """Check the number of learnable parameters of the second convolution of
    :func:`exercise_stack`, ``Conv2d(16, 32, kernel_size=3, padding=1)``."""
    name = "conv parameters"
    count = read_number(count, name, integer=True, what="the count as a whole number")
    conv = exercise_stack()[3]
    expected = sum(p.numel() for p in conv.parameters())
    k, c_in, c_out = conv.kernel_size[0], conv.in_channels, conv.out_channels
    if count == expected:
        return correct(name, f"each of the {c_out} filters has {k}x{k}x{c_in} weights and 1 bias: "
                             f"({k * k * c_in} + 1) x {c_out}; padding does not add parameters.")
    hint = _conv_parameter_mistakes().get(count)
    if hint:
        return wrong(name, hint)
    if count > 100_000:
        return wrong(name, "the same filters slide over every position: the image size does not enter the count.")
    return wrong(name, "count the weights of one filter (kernel height x width x input channels), add its "
                       "bias, and multiply by the number of filters.")


def _smallest_input_mistakes() -> dict[int, str]:
    """Wrong sides for :func:`check_smallest_input` that have a specific hint."""
    expected = max(min_input_size(exercise_stack()))  # a square stack: height = width
    return {expected + 1: "that works, but so does one pixel less: pooling rounds down."}


@checker("smallest input", mistakes=_smallest_input_mistakes)
def check_smallest_input(side: int | None) -> Feedback:
    """Check the smallest square input side (in pixels) that :func:`exercise_stack` accepts,
    i.e. that still leaves an output of at least 1x1."""
    name = "smallest input"
    side = read_number(side, name, integer=True, what="the side as a whole number of pixels")
    expected = max(min_input_size(exercise_stack()))  # a square stack: height = width
    if side == expected:
        return correct(name, f"{expected} -> {expected - 4} -> {(expected - 4) // 2} -> {(expected - 4) // 2} "
                             f"-> {(expected - 4) // 4}: one pixel is left at the end, and one pixel less would "
                             "leave nothing.")
    if side < expected:
        return wrong(name, f"try it: with {side}x{side} some layer's window no longer fits "
                           "(an output side of 0 or less). Work backwards from a 1x1 output.")
    if side in _smallest_input_mistakes():
        return wrong(name, _smallest_input_mistakes()[side])
    return wrong(name, f"{side} works, but it is not the smallest: work backwards from a 1x1 output "
                       "(a 2x2 pool needs 2 pixels, a 5x5 convolution without padding needs 4 more).")


@checker("GAP head parameters")
def check_head_parameters(count: int | None) -> Feedback:
    """Check the number of learnable parameters of the head of :func:`exercise_stack` with
    global average pooling: ``AdaptiveAvgPool2d(1) -> Flatten -> Linear(32, 10)``.

    The reference is PyTorch's count for that head, built from the stack's last convolution.
    """
    name = "GAP head parameters"
    count = read_number(count, name, integer=True, what="a parameter count (a whole number)")
    stack = exercise_stack()
    channels = stack[3].out_channels
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 10))
    expected = sum(p.numel() for p in head.parameters())
    side = _reference_shape()[-1]
    if count == expected:
        return correct(name, f"one mean per channel: {channels} inputs x 10 outputs + 10 biases; "
                             "the pooling itself learns nothing.")
    if count == channels * 10:
        return wrong(name, "close: the linear layer also has one bias per output.")
    if count in (channels * side * side * 10 + 10, channels * side * side * 10):
        return wrong(name, "that is the flatten head: after global average pooling each channel is "
                           "one number, whatever the size of its map.")
    return wrong(name, "global average pooling turns each feature map into one number; count the "
                       "weights and biases of the linear layer that reads those numbers.")


@checker("BatchNorm parameters")
def check_batchnorm_parameters(count: int | None, channels: int = 32) -> Feedback:
    """Check how many numbers ``nn.BatchNorm2d(channels)`` learns by gradient descent.

    The reference is PyTorch's own count, ``sum(p.numel() for p in layer.parameters())``: one
    scale and one shift per channel. The running mean and variance are buffers, not parameters.

    Raises
    ------
    TypeError, ValueError
        For a ``channels`` that is not a positive integer (never for the learner's answer).
    """
    name = "BatchNorm parameters"
    channels = check_int(channels, "channels", minimum=1)
    count = read_number(count, name, integer=True, what="the count as a whole number")
    layer = nn.BatchNorm2d(channels)
    expected = sum(p.numel() for p in layer.parameters())
    buffers = sum(b.numel() for b in layer.buffers() if b.ndim == 1)
    if count == expected:
        return correct(name, "one scale and one shift per channel; the running statistics are kept, not learned.")
    if count == expected + buffers:
        return wrong(name, "the running mean and variance are averages the layer keeps, not numbers that "
                           "gradient descent learns.")
    if count == channels:
        return wrong(name, "after standardizing, each channel gets two learned numbers, not one.")
    if count > expected + buffers:
        return wrong(name, "the statistics are shared over the batch and every position: count per channel.")
    return wrong(name, "what does the layer do to each channel after standardizing it, and with how many "
                       "learned numbers?")


@checker("fine-tuned parameters")
def check_finetuned_parameters(count: int | None, sizes: Sequence[int] = (800, 256, 5)) -> Feedback:
    """Check how many parameters fine-tuning trains when only a new head of fully connected layers
    ``sizes[0] -> sizes[1] -> ... -> sizes[-1]`` is trained on frozen features.

    The reference is :func:`cnncourse.models.mlp.mlp_parameter_count` (weights and biases of every
    layer); frozen layers count for nothing.

    Raises
    ------
    TypeError, ValueError
        For ``sizes`` that are not at least two positive integers (never for the learner's answer).
    """
    name = "fine-tuned parameters"
    count = read_number(count, name, integer=True, what="the count as a whole number")
    expected = mlp_parameter_count(sizes)
    weights_only = sum(a * b for a, b in zip(sizes, sizes[1:]))
    if count == expected:
        return correct(name, "only the new head's weights and biases train; the frozen convolutions cost "
                             "memory and time but learn nothing.")
    if count == weights_only:
        return wrong(name, "every unit of a fully connected layer also has a bias.")
    if count == mlp_parameter_count(sizes[-2:]):
        return wrong(name, "the head here has more than its last layer: count every layer that was replaced.")
    if count > expected:
        return wrong(name, "the convolutions are frozen: their weights do not train.")
    return wrong(name, "a fully connected layer from a inputs to b outputs has a x b weights and b biases; "
                       "add up the layers of the new head.")
