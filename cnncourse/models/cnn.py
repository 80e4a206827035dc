"""Convolutional networks for MNIST."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cnncourse.models.mlp import _check_dropout, _check_sizes

__all__ = ["MnistCNN"]


class MnistCNN(nn.Module):
    """A small convolutional network for 28x28 digits.

    ``conv k1 -> max-pool 2 -> ReLU -> conv k2 -> max-pool 2 -> ReLU -> flatten -> Linear ->
    ReLU -> dropout -> Linear``. With the defaults (24 filters 5x5, 32 filters 3x3, 256 hidden
    units) it is the architecture of the fastest published MNIST recipes, with 800 flattened
    features for a 28x28 input.

    Parameters
    ----------
    channels
        Filters of the two convolutions.
    kernel_sizes
        Kernel sizes of the two convolutions (no padding).
    hidden
        Width of the hidden fully connected layer.
    dropout
        Dropout probability before the last layer.
    image_size
        Side of the square input images.
    n_classes
        Number of outputs (logits).
    """

    def __init__(self, channels: Sequence[int] = (24, 32), kernel_sizes: Sequence[int] = (5, 3),
                 hidden: int = 256, dropout: float = 0.0, image_size: int = 28, n_classes: int = 10) -> None:
        super().__init__()
        c1, c2 = _check_sizes(channels, "channels")
        k1, k2 = _check_sizes(kernel_sizes, "kernel_sizes")
        _check_sizes((hidden, n_classes), "hidden and n_classes")
        side = ((image_size - k1 + 1) // 2 - k2 + 1) // 2
        if side < 1:
            raise ValueError(f"image_size {image_size} is too small for kernels {k1}, {k2} and two 2x2 pools")
        self.image_size = image_size
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, k1), nn.MaxPool2d(2), nn.ReLU(),
            nn.Conv2d(c1, c2, k2), nn.MaxPool2d(2), nn.ReLU(),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(c2 * side * side, hidden), nn.ReLU(),
            nn.Dropout(_check_dropout(dropout)), nn.Linear(hidden, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 1 or x.shape[-2:] != (self.image_size, self.image_size):
            raise ValueError(
                f"MnistCNN expects images of shape (N, 1, {self.image_size}, {self.image_size}), "
                f"got {tuple(x.shape)}"
            )
        return self.classifier(self.features(x))
