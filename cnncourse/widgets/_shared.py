"""What the explorers share: the images and kernels they offer, and argument checks."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from cnncourse._checks import check_choice, check_int
from cnncourse.filters import KERNELS, as_tensor

__all__ = ["PHOTO_NAMES", "IMAGE_NAMES", "CUSTOM", "mnist_digits", "load_image", "named_kernels", "esm",
           "image_state", "image_choices", "state_image"]

PHOTO_NAMES: tuple[str, ...] = ("camera", "coins", "moon", "checkerboard")
"""Greyscale photographs of ``skimage.data`` offered by the explorers."""

IMAGE_NAMES: tuple[str, ...] = ("digit",) + PHOTO_NAMES
"""Image names the explorers accept: an MNIST digit or one of ``PHOTO_NAMES``."""

CUSTOM = "custom"
"""Name shown by the kernel explorer when the nine weights match no named kernel."""

_OWN_IMAGE = "your image"



# --------------------------------------------------------------------------- shared helpers
@lru_cache(maxsize=4)
def mnist_digits(split: str = "test") -> torch.Tensor:
    from cnncourse.data import load_mnist

    return load_mnist(split)[0]


@lru_cache(maxsize=32)
def _photo(name: str, size: int) -> torch.Tensor:
    from skimage import data as skdata
    from skimage.transform import resize

    img = np.asarray(getattr(skdata, name)(), dtype=np.float64)
    if img.max() <= 1.0:  # boolean or [0, 1] images on the 0-255 scale of the others
        img = img * 255.0
    h, w = img.shape
    side = min(h, w)  # centre square, then an anti-aliased resize
    top, left = (h - side) // 2, (w - side) // 2
    small = resize(img[top:top + side, left:left + side], (size, size), anti_aliasing=True,
                   preserve_range=True)
    return torch.from_numpy(small.astype(np.float32))


def load_image(name: str, digit_index: int = 0, size: int = 48) -> torch.Tensor:
    """A greyscale image for the explorers, as a float tensor with values 0-255.

    Parameters
    ----------
    name
        ``"digit"`` (an MNIST test digit, 28x28) or a photograph of ``PHOTO_NAMES``
        (``skimage.data``), whose centre square is resized to ``size x size`` with
        anti-aliasing so that an update stays fast.
    digit_index
        Which test digit (0-9999).
    size
        Side of a downsampled photograph, 8 to 128.

    Raises
    ------
    TypeError
        For a name that is not a string, or an index or size that is not an int.
    ValueError
        For an unknown name or an index or size out of range.
    """
    check_choice(name, "name", IMAGE_NAMES)
    if name == "digit":
        index = check_int(digit_index, "digit_index", minimum=0, maximum=9999)
        return mnist_digits("test")[index].float()
    return _photo(name, check_int(size, "size", minimum=8, maximum=128)).clone()


def _as_image(image: object, name: str = "image") -> torch.Tensor:
    """A user's own 2-D array as a float tensor, with a clear error otherwise."""
    try:
        t = as_tensor(image, name)
    except TypeError as exc:
        raise TypeError(f"{name} must be one of {IMAGE_NAMES} or a 2-D array, got {image!r:.60}") from exc
    if t.ndim != 2 or min(t.shape) < 3:
        raise ValueError(f"{name} must be a 2-D array of at least 3x3 pixels, got shape {tuple(t.shape)}")
    return t.float()


def named_kernels() -> dict[str, np.ndarray]:
    """Every kernel of :data:`cnncourse.filters.KERNELS` in its 3x3 version.

    Kernels whose default size is larger (the Gaussian blur is 5x5) are built with
    ``size=3``.
    """
    out: dict[str, np.ndarray] = {}
    for name, build in KERNELS.items():
        k = build()
        if tuple(k.shape) != (3, 3):
            k = build(size=3)
        out[name] = k.numpy().astype(np.float64)
    return out


_HERE = Path(__file__).resolve().parent


def esm(name: str) -> str:
    """The ES module of one explorer: the shared helpers (``_common.js``) then ``name``."""
    return (_HERE / "_common.js").read_text(encoding="utf-8") + "\n" + (_HERE / name).read_text(encoding="utf-8")


def image_state(image: torch.Tensor) -> dict:
    """A 2-D image as the widget state carries it: ``{"rows", "cols", "data"}`` (row-major)."""
    return {"rows": int(image.shape[0]), "cols": int(image.shape[1]),
            "data": image.detach().cpu().double().reshape(-1).tolist()}


def image_choices(image: str | np.ndarray | torch.Tensor, digit_index: int,
                  photo_size: int) -> tuple[dict[str, dict], str, torch.Tensor | None]:
    """The images an explorer offers (a digit, the photographs and the reader's own image).

    Photographs are rounded to 2 decimals: the state is what the browser computes with, and
    the Python side computes its reference values from the same numbers.

    Returns the state of every image, the name shown first, and the reader's own image as
    passed (``None`` when ``image`` is a name).
    """
    digit_index = check_int(digit_index, "digit_index", minimum=0, maximum=9999)
    photo_size = check_int(photo_size, "photo_size", minimum=8, maximum=128)
    own = None
    if isinstance(image, str):
        check_choice(image, "image", IMAGE_NAMES)
        first = image
    else:
        own, first = _as_image(image), _OWN_IMAGE
    states = {} if own is None else {_OWN_IMAGE: image_state(own)}
    for name in IMAGE_NAMES:
        img = load_image(name, digit_index, photo_size)
        states[name] = image_state(img if name == "digit" else torch.round(img.double(), decimals=2))
    return states, first, own


def state_image(states: dict[str, dict], name: str, own: torch.Tensor | None) -> torch.Tensor:
    """The image ``name`` of the state, as a tensor (the reader's own one as it was passed)."""
    if name == _OWN_IMAGE and own is not None:
        return own
    s = states[name]
    return torch.tensor(s["data"], dtype=torch.float64).reshape(s["rows"], s["cols"])
