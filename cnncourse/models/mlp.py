"""Multi-layer perceptrons: fully connected networks on flattened images."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["MLP", "mlp_parameter_count", "count_parameters"]


def _check_sizes(sizes: Sequence[int], name: str = "sizes") -> tuple[int, ...]:
    sizes = tuple(sizes)
    if len(sizes) < 2:
        raise ValueError(f"{name} needs at least an input and an output size, got {sizes}")
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, int) or s <= 0:
            raise ValueError(f"{name} must be positive ints, got {sizes}")
    return sizes


def _check_dropout(p: float) -> float:
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout must be a probability in [0, 1), got {p}")
    return float(p)


class MLP(nn.Module):
    """A multi-layer perceptron: flatten, then Linear -> activation -> dropout per hidden layer.

    Parameters
    ----------
    sizes
        Layer widths from input to output, e.g. ``(784, 400, 400, 10)``.
    dropout
        Dropout probability after every hidden activation (0 disables it).
    activation
        A class such as ``nn.ReLU``; one instance is created per hidden layer.

    Notes
    -----
    The network returns logits (no softmax): ``nn.CrossEntropyLoss`` applies log-softmax itself.
    """

    def __init__(self, sizes: Sequence[int] = (784, 400, 400, 10), dropout: float = 0.5,
                 activation: type[nn.Module] = nn.ReLU) -> None:
        super().__init__()
        self.sizes = _check_sizes(sizes)
        p = _check_dropout(dropout)
        layers: list[nn.Module] = [nn.Flatten()]
        for i, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            layers.append(nn.Linear(n_in, n_out))
            if i < len(self.sizes) - 2:
                layers.append(activation())
                if p > 0:
                    layers.append(nn.Dropout(p))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n_features = x[0].numel() if x.ndim > 1 else x.numel()
        if x.ndim < 2 or n_features != self.sizes[0]:
            raise ValueError(
                f"MLP expects a batch of inputs with {self.sizes[0]} values each (e.g. shape "
                f"(N, 1, 28, 28) or (N, {self.sizes[0]})), got shape {tuple(x.shape)}"
            )
        return self.net(x)


def mlp_parameter_count(sizes: Sequence[int]) -> int:
    """Parameters of a fully connected stack by formula: sum of ``n_in * n_out + n_out``."""
    sizes = _check_sizes(sizes)
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of parameters of a model (by default only those that require gradients)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
