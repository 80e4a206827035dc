"""Multi-layer perceptrons: fully connected networks on flattened images."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cnncourse._checks import check_float, check_int, check_model, check_model_input, describe

__all__ = ["MLP", "mlp_parameter_count", "count_parameters", "SkipMLP"]


def check_sizes(sizes: Sequence[int], name: str = "sizes") -> tuple[int, ...]:
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise TypeError(f"{name} must be a sequence of ints such as (784, 400, 10), got {describe(sizes)}")
    sizes = tuple(sizes)
    if len(sizes) < 2:
        raise ValueError(f"{name} needs at least an input and an output size, got {sizes}")
    sizes = tuple(check_int(s, name) for s in sizes)
    if min(sizes) < 1:
        raise ValueError(f"{name} must be positive ints, got {sizes}")
    return sizes


def check_dropout(p: float) -> float:
    return check_float(p, "dropout (a probability)", minimum=0, maximum=1, exclusive_maximum=True)


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
        self.sizes = check_sizes(sizes)
        p = check_dropout(dropout)
        layers: list[nn.Module] = [nn.Flatten()]
        for i, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            layers.append(nn.Linear(n_in, n_out))
            if i < len(self.sizes) - 2:
                layers.append(activation())
                if p > 0:
                    layers.append(nn.Dropout(p))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_model_input(x, self, f"of shape (N, {self.sizes[0]})")
        n_features = x[0].numel() if x.ndim > 1 else x.numel()
        if x.ndim < 2 or n_features != self.sizes[0]:
            raise ValueError(
                f"MLP expects a batch of inputs with {self.sizes[0]} values each (e.g. shape "
                f"(N, 1, 28, 28) or (N, {self.sizes[0]})), got shape {tuple(x.shape)}"
            )
        return self.net(x)


class SkipMLP(nn.Module):
    """A small non-sequential MLP: the second hidden layer's output is added to its input.

    ``h1 = relu(W1 x + b1)``, ``h2 = relu(W2 h1 + b2) + h1`` (the skip connection), and the
    logits are ``W3 h2 + b3``. The addition needs a custom :meth:`forward`: a plain
    ``nn.Sequential`` can only pass each layer's output to the next layer.

    Parameters
    ----------
    in_features
        Values per input example (784 for a flattened MNIST digit).
    hidden
        Width of both hidden layers (they must match for the addition).
    classes
        Number of output logits.
    dropout
        Dropout probability after each hidden activation (0 disables it).
    """

    def __init__(self, in_features: int = 784, hidden: int = 400, classes: int = 10,
                 dropout: float = 0.0) -> None:
        super().__init__()
        check_sizes((in_features, hidden, classes), "(in_features, hidden, classes)")
        self.sizes = (in_features, hidden, hidden, classes)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(in_features, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, classes)
        self.dropout = nn.Dropout(check_dropout(dropout))

    def _check_input(self, x: torch.Tensor) -> None:
        check_model_input(x, self, f"of shape (N, {self.sizes[0]})")
        n_features = x[0].numel() if x.ndim > 1 else x.numel()
        if x.ndim < 2 or n_features != self.sizes[0]:
            raise ValueError(
                f"SkipMLP expects a batch of inputs with {self.sizes[0]} values each, got shape {tuple(x.shape)}"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        h1 = self.dropout(torch.relu(self.fc1(self.flatten(x))))
        h2 = self.dropout(torch.relu(self.fc2(h1))) + h1  # the skip connection
        return self.out(h2)


def mlp_parameter_count(sizes: Sequence[int]) -> int:
    """Parameters of a fully connected stack by formula: sum of ``n_in * n_out + n_out``."""
    sizes = check_sizes(sizes)
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of parameters of a model (by default only those that require gradients)."""
    check_model(model)
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
