"""Starting weights: PyTorch's default, Xavier and He initialisation, and how they carry the
spread of the activations through depth.

A layer with ``fan_in`` inputs adds up ``fan_in`` products. If its weights have standard
deviation ``std`` and its inputs second moment ``m``, its outputs have variance about
``fan_in * std**2 * m``: the weights' scale decides whether the signal grows, holds or shrinks
from layer to layer. Three rules for ``std``:

- ``"default"``: what ``nn.Linear`` and ``nn.Conv2d`` draw when they are built
  (``kaiming_uniform_`` with ``a=sqrt(5)``): uniform on ``[-1/sqrt(fan_in), 1/sqrt(fan_in)]``,
  so ``std = 1 / sqrt(3 fan_in)``;
- ``"xavier"``: Glorot and Bengio (2010), ``std = sqrt(2 / (fan_in + fan_out))``, which keeps the
  variance of a linear (or tanh-like) layer's outputs and of its gradients;
- ``"he"``: He et al. (2015), ``std = sqrt(2 / fan_in)``, which makes up for the half of its
  inputs a ReLU sets to zero.

:func:`initialize` applies a rule to every ``nn.Linear`` and ``nn.Conv2d`` of a model (checked
against ``torch.nn.init`` in the tests), :func:`init_std` gives the rule's standard deviation,
and :func:`activation_spread` measures the standard deviation of the output of every activation
layer, in order.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from cnncourse._checks import (
    as_tensor,
    check_choice,
    check_int,
    check_model,
    check_model_input,
    run_model,
)

__all__ = ["SCHEMES", "init_std", "initialize", "activation_spread"]

SCHEMES = ("default", "xavier", "he")
"""The initialisation rules :func:`initialize` knows."""

_ACTIVATIONS = (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.LeakyReLU)


def init_std(scheme: str, fan_in: int, fan_out: int | None = None) -> float:
    """The standard deviation of the weights a rule draws for a layer.

    Parameters
    ----------
    scheme
        ``"default"``, ``"xavier"`` or ``"he"`` (see the module docstring).
    fan_in
        Inputs of one output unit: ``in_features``, or ``in_channels * k * k`` for a
        convolution (positive).
    fan_out
        Outputs fed by one input unit (positive); needed for ``"xavier"`` only.

    Raises
    ------
    TypeError, ValueError
        For an unknown ``scheme``, a ``fan_in`` or ``fan_out`` that is not a positive integer,
        or ``"xavier"`` without ``fan_out``.
    """
    scheme = check_choice(scheme, "scheme", SCHEMES)
    fan_in = check_int(fan_in, "fan_in", minimum=1)
    if scheme == "default":
        return 1.0 / math.sqrt(3 * fan_in)
    if scheme == "he":
        return math.sqrt(2.0 / fan_in)
    if fan_out is None:
        raise ValueError("fan_out is needed for scheme 'xavier' (it averages fan_in and fan_out), got None")
    fan_out = check_int(fan_out, "fan_out", minimum=1)
    return math.sqrt(2.0 / (fan_in + fan_out))


def _layers(model: nn.Module) -> list[nn.Module]:
    check_model(model)
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not layers:
        raise ValueError(f"model has no nn.Linear or nn.Conv2d layer to initialise: {type(model).__name__}")
    return layers


def initialize(model: nn.Module, scheme: str, *, seed: int | None = None) -> nn.Module:
    """Draw new weights for every ``nn.Linear`` and ``nn.Conv2d`` of ``model`` with one rule.

    ``"default"`` calls each layer's own ``reset_parameters`` (what PyTorch draws when the layer
    is built, bias included). ``"xavier"`` is ``nn.init.xavier_normal_`` and ``"he"`` is
    ``nn.init.kaiming_normal_(mode="fan_in", nonlinearity="relu")``; both set the biases to 0.

    Parameters
    ----------
    model
        The network; changed in place.
    scheme
        ``"default"``, ``"xavier"`` or ``"he"``.
    seed
        Seed of the draw, for a reproducible start; ``None`` uses the global generator.

    Returns
    -------
    torch.nn.Module
        ``model`` itself.

    Raises
    ------
    TypeError, ValueError
        For a ``model`` that is not a module or has no layer to initialise, or an unknown
        ``scheme``.
    """
    layers = _layers(model)
    scheme = check_choice(scheme, "scheme", SCHEMES)
    if seed is not None:
        torch.manual_seed(check_int(seed, "seed", minimum=0))
    with torch.no_grad():
        for layer in layers:
            if scheme == "default":
                layer.reset_parameters()
                continue
            if scheme == "xavier":
                nn.init.xavier_normal_(layer.weight)
            else:
                nn.init.kaiming_normal_(layer.weight, mode="fan_in", nonlinearity="relu")
            if layer.bias is not None:
                layer.bias.zero_()
    return model


def activation_spread(model: nn.Module, x: torch.Tensor) -> list[float]:
    """The standard deviation of the output of each activation layer of ``model``, in order.

    The model runs once on ``x`` without gradients; every ``nn.ReLU``, ``nn.Tanh``,
    ``nn.Sigmoid``, ``nn.GELU`` and ``nn.LeakyReLU`` module reports the standard deviation of
    its output over the whole batch.

    Parameters
    ----------
    model
        A network with activation modules (not functional calls).
    x
        A batch the model accepts, e.g. ``(N, 784)`` flattened digits.

    Returns
    -------
    list of float
        One value per activation module call, in the order of the forward pass.

    Raises
    ------
    TypeError, ValueError
        For a ``model`` that is not a module or has no activation module, or an ``x`` that is not
        a floating-point tensor.
    """
    check_model(model, numbers=True)
    x = as_tensor(x, "x", numbers=True)
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, got dtype {x.dtype}")
    check_model_input(x, model, "as x")
    acts = [m for m in model.modules() if isinstance(m, _ACTIVATIONS)]
    if not acts:
        raise ValueError(f"model has no activation module (nn.ReLU, nn.Tanh, ...) to measure: "
                         f"{type(model).__name__}")
    spreads: list[float] = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: spreads.append(float(out.std()))) for m in acts]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            run_model(model, x, "x")
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    return spreads
