"""The effective receptive field (Luo et al. 2016): the mean absolute input gradient of one
output unit (:func:`effective_receptive_field`), and the stacks of convolutions that probe it
(:func:`conv_stack`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from cnncourse._checks import check_device, check_int, check_model, check_pair, describe, run_model
from cnncourse.receptive_field._graph import check_size
from cnncourse.runtime import evaluating

__all__ = ["effective_receptive_field", "conv_stack"]


# --------------------------------------------------------------------------- effective field
def _first_conv_channels(model: nn.Module) -> int | None:
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return m.in_channels
    return None


def effective_receptive_field(
    model: nn.Module | Callable[[], nn.Module],
    input_size: int | tuple[int, int] | None = None,
    *,
    inputs: torch.Tensor | None = None,
    n_inputs: int = 32,
    n_inits: int = 1,
    in_channels: int | None = None,
    unit: tuple[int, int] | str = "center",
    seed: int = 0,
    normalize: bool = True,
    device: torch.device | str | None = None,
) -> np.ndarray:
    """Effective receptive field: mean absolute input gradient of one central output unit.

    The output unit is the middle position of the model's output map; its value is summed
    over channels and backpropagated (gradient 1 at that position, 0 elsewhere, as in Luo et
    al. 2016). The absolute gradient is summed over input channels and averaged over a batch
    of inputs, all in one backward pass, and over ``n_inits`` freshly initialised models when
    ``model`` is a factory. The model runs in eval mode (so batch normalization does not mix
    the examples of the batch); its mode is restored afterwards.

    Parameters
    ----------
    model
        A module returning ``(N, C, h, w)`` feature maps, or a zero-argument callable that
        builds a new randomly initialised one (to average over initialisations).
    input_size
        Side or ``(height, width)`` of the random inputs. Not needed with ``inputs``.
    inputs
        Optional ``(N, C, H, W)`` tensor of inputs (e.g. real images) used instead of
        standard normal noise.
    n_inputs
        Number of random inputs per model (ignored with ``inputs``).
    n_inits
        Number of models built from the factory; must be 1 for a module.
    in_channels
        Channels of the random inputs (default: those of the first ``Conv2d``).
    unit
        ``"center"`` or an output position ``(row, col)``.
    seed
        Seed of the random inputs and initialisations; the global random state is left
        untouched.
    normalize
        Divide the map by its sum, so it is a distribution of gradient mass.
    device
        Where to compute (default: the CPU, or where ``inputs`` are).

    Returns
    -------
    numpy.ndarray
        ``float64`` map of shape ``(H, W)``.

    Raises
    ------
    TypeError
        For a ``model`` that is neither a module nor a callable returning one (a factory that
        fails is reported with its error), or arguments of the wrong type.
    ValueError
        For arguments out of range, a meta model, an ``in_channels`` or ``input_size`` the
        model cannot take (the message names them), or a model that does not return maps.
    """
    is_factory = not isinstance(model, nn.Module)
    if is_factory and not callable(model):
        raise TypeError(f"model must be an nn.Module or a callable returning one, got {describe(model)}")
    in_channels = None if in_channels is None else check_int(in_channels, "in_channels", minimum=1)
    n_inits = check_int(n_inits, "n_inits", minimum=1)
    if not is_factory and n_inits != 1:
        raise ValueError(f"n_inits is {n_inits}, but model is a single module: pass a factory to average over initialisations")
    if inputs is None:
        if input_size is None:
            raise ValueError("give input_size (for random inputs) or inputs")
        size = check_size(input_size)
        n_inputs = check_int(n_inputs, "n_inputs", minimum=1)
    else:
        if not isinstance(inputs, torch.Tensor) or inputs.ndim != 4:
            raise ValueError(f"inputs must be a (N, C, H, W) tensor, got {getattr(inputs, 'shape', type(inputs).__name__)}")
    device = check_device(device) if device is not None else (inputs.device if inputs is not None else torch.device("cpu"))
    total = None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for _ in range(n_inits):
            net = _build(model) if is_factory else model
            check_model(net, "model" if not is_factory else "the module model() returned", numbers=True)
            net = net.to(device)
            dtype = next((p.dtype for p in net.parameters() if p.is_floating_point()), torch.float32)
            if inputs is None:
                c = in_channels or _first_conv_channels(net)
                if c is None:
                    raise ValueError(f"in_channels is needed: model ({type(net).__name__}) has no Conv2d to "
                                     "read it from")
                x = torch.randn(n_inputs, c, *size).to(device=device, dtype=dtype)
                what = f"random inputs (in_channels={c}, input_size={size})"
            else:
                x = inputs.to(device=device, dtype=dtype)
                what = "inputs"
            x.requires_grad_(True)
            with evaluating(net):
                y = run_model(net, x, what)
            if y.ndim != 4:
                raise ValueError(f"the model must return (N, C, h, w) feature maps, got shape {tuple(y.shape)}")
            h, w = y.shape[-2:]
            if isinstance(unit, str):
                if unit != "center":
                    raise ValueError(f"unit must be 'center' or a pair (row, col), got {unit!r}")
                i, j = (h - 1) // 2, (w - 1) // 2
            else:
                i, j = check_pair(unit, "unit")
                if not (0 <= i < h and 0 <= j < w):
                    raise ValueError(f"unit {unit!r} is outside the {h}x{w} output map")
            (grad,) = torch.autograd.grad(y[:, :, i, j].sum(), x)
            part = grad.abs().sum(dim=1).mean(dim=0).double().cpu()
            total = part if total is None else total + part
    erf = (total / n_inits).numpy()
    if normalize:
        mass = erf.sum()
        if mass > 0:
            erf = erf / mass
    return erf



def _build(factory: Callable[[], nn.Module]) -> nn.Module:
    """``factory()``, its failure reported as the model argument's."""
    try:
        return factory()
    except Exception as exc:  # a function that needs arguments, a class without defaults, ...
        raise TypeError(f"model must be an nn.Module or a zero-argument callable returning one, but "
                        f"calling {describe(factory)} failed: {type(exc).__name__}: {exc}") from exc


def conv_stack(depth: int, channels: int = 16, kernel_size: int = 3,
               dilation: int | Sequence[int] = 1, in_channels: int = 1,
               activation: Callable[[], nn.Module] | None = nn.ReLU) -> nn.Sequential:
    """``depth`` size-preserving convolutions (each followed by ``activation``): a field probe.

    Every convolution has ``kernel_size`` (odd), stride 1 and the padding
    ``dilation * (kernel_size - 1) // 2`` that keeps the map size, so the output unit in the
    middle of the map sits in the middle of the input.

    Parameters
    ----------
    depth
        Number of convolutions (>= 1).
    channels
        Output channels of every convolution.
    kernel_size
        Odd kernel side.
    dilation
        One dilation for all layers, or one per layer.
    in_channels
        Input channels.
    activation
        Layer class (or factory) put after every convolution; ``None`` for a linear stack.

    Returns
    -------
    nn.Sequential
        Maps ``Tensor[N, in_channels, H, W]`` to ``Tensor[N, channels, H, W]``.

    Raises
    ------
    TypeError
        For a non-integer depth, channel count, kernel size or dilation (NumPy integers are
        accepted).
    ValueError
        For a depth or channel count below 1, an even kernel size, or dilations that are not
        ``depth`` positive integers.
    """
    depth = check_int(depth, "depth", minimum=1)
    channels = check_int(channels, "channels", minimum=1)
    in_channels = check_int(in_channels, "in_channels", minimum=1)
    kernel_size = check_int(kernel_size, "kernel_size", minimum=1)
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be a positive odd int, got {kernel_size!r}")
    if isinstance(dilation, Sequence) and not isinstance(dilation, str):
        if len(dilation) != depth:
            raise ValueError(f"dilation must be a positive int or {depth} positive ints, got {dilation!r}")
        dilations = [check_int(d, "dilation", minimum=1) for d in dilation]
    else:
        dilations = [check_int(dilation, "dilation", minimum=1)] * depth
    layers: list[nn.Module] = []
    c = in_channels
    for d in dilations:
        layers.append(nn.Conv2d(c, channels, kernel_size, padding=d * (kernel_size - 1) // 2, dilation=d))
        if activation is not None:
            layers.append(activation())
        c = channels
    return nn.Sequential(*layers)
