"""Translating images by whole pixels, and how a classifier's accuracy holds up under it.

:func:`shift_images` moves images up, down, left or right without wrap-around: what leaves
the frame is lost and the uncovered strip is filled with the background value (0 for raw
MNIST bytes). :func:`direction_shifts` lists the shifts of a "0 to n pixels in each
direction" experiment and :func:`accuracy_under_shifts` measures a model on shifted copies
of a test set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import nn

from cnncourse._checks import (
    as_tensor,
    check_choice,
    check_float,
    check_int,
    check_model,
    check_model_input,
    check_sequence,
    describe,
    run_model,
)
from cnncourse.runtime import autocast_context, evaluating, model_device, to_device

__all__ = ["DIRECTIONS", "shift_images", "direction_shifts", "accuracy_under_shifts", "random_shifts",
           "ShiftAugmented"]

DIRECTIONS: dict[str, tuple[int, int]] = {"right": (0, 1), "left": (0, -1), "down": (1, 0), "up": (-1, 0)}
"""Unit steps ``(dy, dx)`` of the four directions; ``dy > 0`` is down, ``dx > 0`` is right."""


def _check_offset(value: object, name: str) -> int:
    return check_int(value, name)


def _image_tensor(images: object, name: str, ndims: str, accepted: Iterable[int]) -> torch.Tensor:
    """``images`` itself: a real tensor whose number of dimensions is among ``accepted``."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {describe(images)}")
    as_tensor(images, name)  # real values (a complex image has no pixels to shift)
    if images.ndim not in accepted:
        raise ValueError(f"{name} must have shape {ndims}, got {describe(images)}")
    return images


def shift_images(images: torch.Tensor, dy: int, dx: int, fill: float = 0) -> torch.Tensor:
    """Move images ``dy`` pixels down and ``dx`` pixels right (negative values: up, left).

    Nothing wraps around (unlike ``torch.roll``): pixels pushed over the border are dropped
    and the strip that opens on the other side takes the value ``fill``.

    Parameters
    ----------
    images
        A tensor whose last two dimensions are height and width, e.g. ``(N, 28, 28)`` or
        ``(N, 1, 28, 28)``; any dtype.
    dy, dx
        Whole-pixel offsets. A shift as large as the image leaves only ``fill``.
    fill
        The background value, e.g. 0 for raw MNIST bytes, or ``-mean/std`` for
        standardized images.

    Returns
    -------
    torch.Tensor
        A new tensor with the shape, dtype and device of ``images``.

    Raises
    ------
    TypeError
        For ``images`` that are not a real-valued tensor, or offsets that are not ints.
    ValueError
        For ``images`` with fewer than 2 dimensions.

    Examples
    --------
    >>> shift_images(torch.tensor([[1, 2], [3, 4]]), 0, 1)
    tensor([[0, 1],
            [0, 3]])
    """
    return shifted(images, dy, dx, fill)


def shifted(images: torch.Tensor, dy: int, dx: int, fill: float = 0, name: str = "images") -> torch.Tensor:
    """:func:`shift_images`, whose messages call ``images`` by the caller's ``name``."""
    images = _image_tensor(images, name, "(..., H, W), at least 2 dimensions", range(2, 64))
    dy, dx = _check_offset(dy, "dy"), _check_offset(dx, "dx")
    fill = check_float(fill, "fill", finite=False)
    height, width = images.shape[-2:]
    out = torch.full_like(images, fill)
    if abs(dy) >= height or abs(dx) >= width:
        return out
    src_rows = slice(max(0, -dy), height - max(0, dy))
    dst_rows = slice(max(0, dy), height - max(0, -dy))
    src_cols = slice(max(0, -dx), width - max(0, dx))
    dst_cols = slice(max(0, dx), width - max(0, -dx))
    out[..., dst_rows, dst_cols] = images[..., src_rows, src_cols]
    return out


def direction_shifts(max_shift: int = 4, directions: Iterable[str] = tuple(DIRECTIONS)
                     ) -> dict[str, list[tuple[int, int]]]:
    """The offsets ``(dy, dx)`` of 0, 1, ..., ``max_shift`` pixels in each direction.

    Parameters
    ----------
    max_shift
        Largest shift in pixels.
    directions
        Names among ``"right"``, ``"left"``, ``"down"`` and ``"up"``.

    Returns
    -------
    dict
        Direction -> list of ``max_shift + 1`` offsets, starting with ``(0, 0)``.

    Raises
    ------
    TypeError, ValueError
        For a negative or non-int ``max_shift``, or ``directions`` that is not a sequence of
        direction names (the message names the entry, e.g. ``directions[1]``).
    """
    max_shift = check_int(max_shift, "max_shift", minimum=0)
    names = check_sequence(directions, "directions", minimum=0,
                           item=lambda value, where: check_choice(value, where, tuple(DIRECTIONS)))
    result = {}
    for name in names:
        uy, ux = DIRECTIONS[name]
        result[name] = [(uy * d, ux * d) for d in range(max_shift + 1)]
    return result


def accuracy_under_shifts(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                          shifts: Iterable[tuple[int, int]], transform: Callable | None = None,
                          fill: float = 0, batch_size: int = 250, *,
                          autocast_dtype: torch.dtype | None = None,
                          channels_last: bool = False) -> dict[tuple[int, int], float]:
    """Accuracy of ``model`` on copies of a test set shifted by each offset.

    Every image is shifted first (in its raw form, with the background ``fill``), then
    ``transform`` (e.g. :func:`cnncourse.data.standardize`) prepares it for the model, which
    runs in eval mode without gradients.

    Parameters
    ----------
    model
        A classifier returning ``(N, classes)`` logits.
    images, labels
        The test images (e.g. raw ``uint8`` of shape ``(N, 28, 28)``) and their labels.
    shifts
        Offsets ``(dy, dx)``; each is measured once even if listed twice.
    transform
        Applied to every shifted batch before the model; ``None`` for none.
    fill
        Background value of the raw images.
    batch_size
        Images per forward pass (see :func:`cnncourse.data.mnist_loaders` for why 250).
    autocast_dtype, channels_last
        The precision and memory format of the forward passes, as in
        :func:`cnncourse.training.evaluate` (``TrainingConfig.options()`` gives both).

    Returns
    -------
    dict
        ``(dy, dx)`` -> accuracy in [0, 1].

    Raises
    ------
    TypeError
        For a model that is not an ``nn.Module``, images or labels that are not tensors,
        shifts that are not a sequence of ``(dy, dx)`` pairs of ints, or a transform that is
        not callable.
    ValueError
        For images with fewer than 3 dimensions, labels that are not a vector, different or
        zero lengths, or a model whose output is not ``(batch, classes)`` logits.
    """
    check_model(model, numbers=True)
    images = _image_tensor(images, "images", "(N, H, W) or (N, C, H, W), a batch", range(3, 64))
    as_tensor(images, "images", numbers=True)
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"labels must be a torch.Tensor, got {describe(labels)}")
    as_tensor(labels, "labels", numbers=True)
    if labels.ndim != 1:
        raise ValueError(f"labels must be a vector of classes (N,), got {describe(labels)}")
    if transform is not None and not callable(transform):
        raise TypeError(f"transform must be a function of a batch or None, got "
                        f"{describe(transform)}")
    if len(images) != len(labels) or len(images) == 0:
        raise ValueError(f"images and labels must have the same non-zero length, got {len(images)} "
                         f"({describe(images)}) and {len(labels)} ({describe(labels)})")
    offsets = check_sequence(shifts, "shifts", item=_offset_pair, minimum=0)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    device = model_device(model)
    results: dict[tuple[int, int], float] = {}
    with evaluating(model), torch.no_grad(), autocast_context(device, autocast_dtype):
        for offset in offsets:
            if offset in results:
                continue
            correct = 0
            for start in range(0, len(images), batch_size):
                x = shift_images(images[start:start + batch_size], *offset, fill=fill)
                if transform is not None:
                    x = transform(x)
                if start == 0:
                    check_model_input(x, model, "as images (after transform)")
                logits = run_model(model, to_device(x, device, channels_last), "images")
                if start == 0 and (logits.ndim != 2 or len(logits) != len(x)):
                    raise ValueError(f"model ({type(model).__name__}) must return logits of "
                                     f"shape (batch, classes), got {tuple(logits.shape)} for "
                                     f"a batch of shape {tuple(x.shape)}")
                correct += int((logits.argmax(1).cpu() == labels[start:start + batch_size].cpu()).sum())
            results[offset] = correct / len(images)
    return results


def random_shifts(images: torch.Tensor, max_shift: int, fill: float = 0,
                  generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Shift every image by its own random whole-pixel offset: data augmentation by shifts.

    Each image ``n`` is moved by ``(dy[n], dx[n])``, both drawn uniformly from
    ``-max_shift, ..., max_shift``, exactly as :func:`shift_images` would move it (no
    wrap-around, the uncovered strip takes ``fill``).

    Parameters
    ----------
    images
        ``(N, H, W)`` or ``(N, C, H, W)``, any dtype and device.
    max_shift
        Largest shift in pixels along each axis, non-negative.
    fill
        Background value (``-mean / std`` for standardized MNIST).
    generator
        CPU generator for the offsets; ``None`` uses the global one.

    Returns
    -------
    (shifted, offsets)
        The shifted images (shape, dtype and device of ``images``) and the ``(N, 2)`` long
        tensor of offsets ``(dy, dx)`` used.

    Raises
    ------
    TypeError
        ``images`` not a real-valued tensor, ``max_shift`` not an int or ``fill`` not a number.
    ValueError
        ``images`` of the wrong rank, or a negative ``max_shift``.
    """
    images = _image_tensor(images, "images", "(N, H, W) or (N, C, H, W)", (3, 4))
    m = _check_offset(max_shift, "max_shift")
    if m < 0:
        raise ValueError(f"max_shift must be non-negative, got {m}")
    if isinstance(fill, bool) or not isinstance(fill, (int, float)):
        raise TypeError(f"fill must be a number, got {type(fill).__name__} ({fill!r})")
    n, (height, width) = len(images), images.shape[-2:]
    offsets = torch.randint(-m, m + 1, (n, 2), generator=generator)
    x = images if images.ndim == 4 else images[:, None]
    padded = torch.nn.functional.pad(x, (m, m, m, m), value=fill) if m else x
    # output pixel (y, x) of image i shows input pixel (y - dy, x - dx): padded[y - dy + m, x - dx + m]
    off = offsets.to(images.device)
    rows = (m - off[:, :1]) + torch.arange(height, device=images.device)   # (N, H)
    cols = (m - off[:, 1:]) + torch.arange(width, device=images.device)    # (N, W)
    batch = torch.arange(n, device=images.device)[:, None, None]
    out = padded[batch, :, rows[:, :, None], cols[:, None, :]]             # (N, H, W, C)
    out = out.permute(0, 3, 1, 2).contiguous()
    return (out if images.ndim == 4 else out[:, 0]), offsets


class ShiftAugmented:
    """Training batches whose images are shifted at random anew in every epoch.

    Wraps any iterable of ``(inputs, targets)`` batches (for example
    :class:`cnncourse.data.TensorBatches`) and yields ``(random_shifts(inputs), targets)``;
    ``len()`` is that of the wrapped batches, so a one-cycle schedule can be sized on it.

    Parameters
    ----------
    batches
        The training batches; their inputs are ``(N, C, H, W)`` or ``(N, H, W)``.
    max_shift
        Largest shift in pixels along each axis.
    fill
        Background value of the inputs (``-mean / std`` for standardized MNIST).
    seed
        Seed of the generator that draws the offsets (an int that ``torch.Generator``
        takes, from ``-2**63`` to ``2**64 - 1``).

    Raises
    ------
    TypeError, ValueError
        For a ``max_shift`` or ``seed`` that is not an int in range, or a ``fill`` that is
        not a number.
    """

    def __init__(self, batches, max_shift: int, fill: float = 0, seed: int = 0) -> None:
        m = _check_offset(max_shift, "max_shift")
        if m < 0:
            raise ValueError(f"max_shift must be non-negative, got {m}")
        if isinstance(fill, bool) or not isinstance(fill, (int, float)):
            raise TypeError(f"fill must be a number, got {type(fill).__name__} ({fill!r})")
        self.batches, self.max_shift, self.fill = batches, m, float(fill)
        seed = check_int(seed, "seed", minimum=-(2**63), maximum=2**64 - 1)
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        for inputs, targets in self.batches:
            yield random_shifts(inputs, self.max_shift, self.fill, self.generator)[0], targets


def _offset_pair(offset: Sequence[int], name: str = "shift") -> tuple[int, int]:
    """One shift ``(dy, dx)`` of whole pixels; ``name`` says which, e.g. ``shifts[2]``."""
    if (isinstance(offset, (str, bytes)) or not isinstance(offset, (Sequence, torch.Tensor, np.ndarray))
            or (isinstance(offset, (torch.Tensor, np.ndarray)) and offset.ndim != 1)):
        raise TypeError(f"{name} must be a pair (dy, dx) of ints, got {describe(offset)}")
    if len(offset) != 2:
        raise ValueError(f"{name} must be a pair (dy, dx) of ints, got {len(offset)} values: {describe(offset)}")
    return _check_offset(offset[0], f"{name}[0] (dy)"), _check_offset(offset[1], f"{name}[1] (dx)")
