"""Argument checks, written once for the whole package.

One rule everywhere: a value of the wrong *type* raises :class:`TypeError`, a value of the
right type but out of range raises :class:`ValueError`, and the message names the argument,
the value received and what is expected.

The kinds of argument and the check for each are listed in :data:`ARGUMENT_KINDS`; the
README's bad-input table is generated from it (``scripts/argument_kinds.py``), and
``tests/test_fuzz_api.py`` fuzzes every public callable against these rules.

Integers are read through :func:`operator.index` (PEP 357), so Python ints, NumPy integers and
integral 0-d tensors all pass, while ``bool`` (an ``int`` subclass in Python, but never a size
or a count) and floats such as ``3.0`` do not.
"""

from __future__ import annotations

import itertools
import math
import operator
import os
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

__all__ = ["check_int", "check_float", "check_choice", "check_pair", "as_tensor", "to_numpy",
           "check_model", "check_model_input", "describe", "check_path", "check_device",
           "check_mapping", "check_tolerance", "check_probability", "check_logits",
           "check_bool", "check_batches", "run_model", "check_learning_rate", "FLOAT32_MAX",
           "check_sequence", "check_text", "check_nonempty", "ARGUMENT_KINDS"]


def describe(value: object) -> str:
    """A short description of ``value`` for an error message: its type and, if short, its repr."""
    if isinstance(value, torch.Tensor):
        if value.ndim == 0 and value.device.type != "meta":
            return f"a 0-d tensor ({value.item()!r}, dtype {value.dtype})"
        return f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, np.ndarray):
        return f"a NumPy array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} ({text})"


def _is_bool(value: object) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return True
    return isinstance(value, (torch.Tensor, np.ndarray)) and value.dtype in (torch.bool, np.bool_)


def _range_text(minimum, maximum, what: str, exclusive_minimum: bool = False,
                exclusive_maximum: bool = False) -> str:
    if minimum is not None and maximum is not None:
        left, right = "(" if exclusive_minimum else "[", ")" if exclusive_maximum else "]"
        return f"{what} in {left}{minimum}, {maximum}{right}"
    if minimum is not None:
        if minimum == 0 and not exclusive_minimum:
            return f"a non-negative {what}"
        if (minimum == 1 and what == "int" and not exclusive_minimum) or (minimum == 0 and exclusive_minimum):
            return f"a positive {what}"
        return f"{what} {'>' if exclusive_minimum else '>='} {minimum}"
    if maximum is not None:
        return f"{what} {'<' if exclusive_maximum else '<='} {maximum}"
    return f"a {what}" if what in ("float", "number") else f"an {what}"


def check_int(value: object, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as a Python ``int``, checked against ``[minimum, maximum]``.

    Parameters
    ----------
    value
        An ``int``, a NumPy integer, or an integral 0-d tensor or array.
    name
        The argument's name, for the message.
    minimum, maximum
        Inclusive bounds; ``None`` for none.

    Raises
    ------
    TypeError
        For a ``bool``, a float (even ``3.0``), a string or a tensor with more than one element.
    ValueError
        For an int outside the bounds.
    """
    if type(value) is int:  # the common case, without the checks below
        number = value
    else:
        if _is_bool(value) or (isinstance(value, (torch.Tensor, np.ndarray)) and value.ndim != 0):
            raise TypeError(f"{name} must be {_range_text(minimum, maximum, 'int')}, got {describe(value)}")
        try:
            number = int(operator.index(value))
        except TypeError:
            raise TypeError(f"{name} must be {_range_text(minimum, maximum, 'int')}, "
                            f"got {describe(value)}") from None
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ValueError(f"{name} must be {_range_text(minimum, maximum, 'int')}, got {number}")
    return number


def check_float(value: object, name: str, *, minimum: float | None = None, maximum: float | None = None,
                finite: bool = True, exclusive_minimum: bool = False, exclusive_maximum: bool = False) -> float:
    """``value`` as a Python ``float``, checked against its bounds.

    Parameters
    ----------
    value
        An ``int``, a ``float``, a NumPy number, or a real 0-d tensor or array.
    name
        The argument's name, for the message.
    minimum, maximum
        Bounds, inclusive unless ``exclusive_minimum`` / ``exclusive_maximum``; ``None`` for none.
    finite
        Refuse NaN and infinities (NaN is always refused when a bound is given).

    Raises
    ------
    TypeError
        For a ``bool``, a string, a complex number or a tensor with more than one element.
    ValueError
        For NaN or an infinity (when ``finite``) or a number outside the bounds.
    """
    expected = _range_text(minimum, maximum, "number", exclusive_minimum, exclusive_maximum)
    if finite:
        expected = f"{expected} (finite)"
    if _is_bool(value) or (isinstance(value, (torch.Tensor, np.ndarray)) and value.ndim != 0):
        raise TypeError(f"{name} must be {expected}, got {describe(value)}")
    if isinstance(value, (torch.Tensor, np.ndarray)):
        value = value.item()
    if isinstance(value, (complex, np.complexfloating)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{name} must be {expected}, got {describe(value)}")
    number = float(value)
    if math.isnan(number) and (finite or minimum is not None or maximum is not None):
        raise ValueError(f"{name} must be {expected}, got nan")
    if finite and math.isinf(number):
        raise ValueError(f"{name} must be {expected}, got {number}")
    too_small = minimum is not None and (number <= minimum if exclusive_minimum else number < minimum)
    too_large = maximum is not None and (number >= maximum if exclusive_maximum else number > maximum)
    if too_small or too_large:
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return number


def check_choice(value: object, name: str, options: Collection):
    """``value`` itself, when it is one of ``options``.

    Raises
    ------
    TypeError
        When every option is a string and ``value`` is not one.
    ValueError
        When ``value`` is not among ``options``.
    """
    shown = ", ".join(repr(o) for o in options)
    if all(isinstance(o, str) for o in options) and not isinstance(value, str):
        raise TypeError(f"{name} must be one of {shown}, got {describe(value)}")
    try:
        found = value in options
    except (TypeError, RuntimeError, ValueError):  # unhashable, or an array's ambiguous truth
        found = False
    if not found:
        raise ValueError(f"{name} must be one of {shown}, got {value!r}")
    return value


def check_pair(value: object, name: str, *, minimum: int | None = None) -> tuple[int, int]:
    """An int or a sequence of two ints as the pair ``(rows, cols)``, e.g. a kernel size.

    Raises
    ------
    TypeError
        For anything but an int or a sequence of two ints (a string, a float, a bool).
    ValueError
        For a sequence of another length or an int below ``minimum``.
    """
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be an int or a pair of ints, got {describe(value)}")
    if isinstance(value, (Sequence, np.ndarray, torch.Tensor)) and not (
            isinstance(value, (np.ndarray, torch.Tensor)) and value.ndim == 0):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {len(value)} values: {value!r}")
        return (check_int(value[0], name, minimum=minimum), check_int(value[1], name, minimum=minimum))
    v = check_int(value, name, minimum=minimum)
    return v, v


def as_tensor(x: object, name: str, *, dtype: torch.dtype | str | None = None,
              ndim: int | Collection[int] | None = None, numbers: bool = False) -> torch.Tensor:
    """A tensor from a tensor, a NumPy array or a nested list of real numbers.

    Parameters
    ----------
    x
        The value to convert; a tensor is returned as is (same storage, same autograd graph)
        unless ``dtype`` asks for a conversion.
    name
        The argument's name, for the message.
    dtype
        ``None`` keeps the dtype; a ``torch.dtype`` converts to it; ``"floating"`` turns
        integer and boolean values (e.g. ``uint8`` pixels) into ``float32`` and keeps
        floating dtypes.
    ndim
        The number of dimensions required (one int, or a collection of accepted ones).
    numbers
        Refuse a meta tensor (a shape without data), for a caller that reads the numbers.

    Raises
    ------
    TypeError
        For anything that is not array-like, or holds complex, string or object values.
    ValueError
        For a tensor whose number of dimensions is not ``ndim``, or a meta tensor when
        ``numbers``.
    """
    if isinstance(x, torch.Tensor):
        t = x
    elif isinstance(x, (np.ndarray, list, tuple, np.number)) or (
            isinstance(x, (int, float)) and not isinstance(x, bool)):
        try:
            arr = np.asarray(x)
        except ValueError as exc:  # ragged nested lists
            raise TypeError(f"{name} must be a tensor or an array of numbers, got a ragged {type(x).__name__}") from exc
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise TypeError(f"{name} must hold real numbers, got a NumPy array of dtype {arr.dtype}")
        # np.ascontiguousarray would turn a 0-d array (a number) into shape (1,)
        t = torch.from_numpy(arr if arr.flags.c_contiguous else np.ascontiguousarray(arr))
    else:
        raise TypeError(f"{name} must be a torch.Tensor or a NumPy array, got {type(x).__name__}")
    if t.is_complex():
        raise TypeError(f"{name} must be real-valued, got dtype {t.dtype}")
    if numbers:
        _check_not_meta(t, name)
    if dtype == "floating":
        if not t.is_floating_point():
            t = t.to(torch.float32)
    elif dtype is not None:
        t = t.to(dtype)
    if ndim is not None:
        accepted = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if t.ndim not in accepted:
            want = " or ".join(str(n) for n in accepted)
            raise ValueError(f"{name} must have {want} dimensions, got {describe(t)}")
    return t


def _check_not_meta(t: torch.Tensor, name: str) -> None:
    if t.device.type == "meta":
        raise ValueError(f"{name} must hold numbers, got a meta tensor of shape "
                         f"{tuple(t.shape)} (it has a shape but no data)")


def to_numpy(x: object, name: str = "value") -> np.ndarray:
    """A NumPy array from a tensor (detached, moved to the CPU, bfloat16/float16 as float32),
    a NumPy array (returned as is) or anything :func:`numpy.asarray` takes.

    Raises
    ------
    ValueError
        For a meta tensor, which has a shape but no numbers.
    """
    if isinstance(x, torch.Tensor):
        _check_not_meta(x, name)
        t = x.detach()
        if t.dtype in (torch.bfloat16, torch.float16):
            t = t.float()
        return t.cpu().numpy()
    if isinstance(x, np.ndarray):
        return x
    return np.asarray(x)


def check_model(model: object, name: str = "model", *, numbers: bool = False,
                trainable: bool = False) -> torch.nn.Module:
    """``model`` itself if it is a ``torch.nn.Module``; a :class:`TypeError` naming ``name``
    and what was received otherwise.

    With ``numbers`` (a model that is run and whose results are read), a model with
    parameters or buffers on the meta device (shapes without data) is refused with a
    :class:`ValueError`; with ``trainable``, a model without parameters.
    """
    if isinstance(model, type) and issubclass(model, torch.nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got type {model.__name__}, a class: "
                        f"make the model first, e.g. {model.__name__}(...)")
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {describe(model)}")
    if numbers:
        tensors = itertools.chain(model.named_parameters(), model.named_buffers())
        meta = next((n for n, t in tensors if t.device.type == "meta"), None)
        if meta is not None:
            raise ValueError(f"{name} must hold numbers, got a {type(model).__name__} whose "
                             f"{meta!r} is on the meta device (a shape without data): "
                             f"initialize it first, e.g. {name}.to_empty(device='cpu')")
    if trainable and next(model.parameters(), None) is None:
        raise ValueError(f"{name} must have parameters to train, got a {type(model).__name__} "
                         "without any")
    return model


def run_model(model: torch.nn.Module, x: torch.Tensor, name: str):
    """``model(x)``, with what the model's layers refuse in ``x`` (a shape, a size too
    small for a kernel) raised as a :class:`ValueError` that names ``name`` and the shape.

    The caller has checked ``model`` (:func:`check_model`) and ``x``
    (:func:`check_model_input`).
    """
    try:
        return model(x)
    except RuntimeError as exc:
        reason = str(exc).split("\n", 1)[0]
        raise ValueError(f"{type(model).__name__} cannot take {name} of shape "
                         f"{tuple(x.shape)}: {reason}") from exc


def check_model_input(x: object, model: torch.nn.Module, expected: str) -> torch.Tensor:
    """Refuse what ``model`` cannot take, before PyTorch fails deep inside it.

    ``x`` must be a floating-point tensor of the dtype of the model's parameters (raw
    ``uint8`` pixels and ``float64`` arrays are the usual mistakes).

    Raises
    ------
    TypeError
        For a non-tensor or a tensor of another dtype; the message says how to convert.
    """
    who = type(model).__name__
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{who} expects a torch.Tensor {expected}, got {describe(x)}")
    weight = next(model.parameters(), None)
    if not x.is_floating_point():
        raise TypeError(f"{who} expects floating-point images {expected}, got dtype {x.dtype}: scale raw pixels "
                        "first, e.g. cnncourse.data.standardize(images) or images.float() / 255")
    if weight is not None and x.dtype != weight.dtype and not torch.is_autocast_enabled(x.device.type):
        raise TypeError(f"{who} has {weight.dtype} parameters and expects {weight.dtype} input {expected}, "
                        f"got dtype {x.dtype}: convert with x.to({weight.dtype})")
    return x


def check_bool(value: object, name: str) -> bool:
    """A switch: ``True`` or ``False`` (a NumPy bool passes). A string such as ``"False"`` is
    truthy in Python, so it is refused rather than read as ``True``.

    Raises
    ------
    TypeError
        For anything else (a string, ``None``, an int).
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {describe(value)}")


def check_path(value: object, name: str) -> Path:
    """``value`` as a :class:`~pathlib.Path`: a ``str`` or ``os.PathLike`` that is not empty.

    Raises
    ------
    TypeError
        For anything else (``None``, a number, bytes).
    ValueError
        For the empty string, which names no file (``Path("")`` is the current folder).
    """
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {describe(value)}")
    if isinstance(value, str) and not value.strip():
        raise ValueError(f"{name} must name a file or folder, got the empty string {value!r}")
    return Path(value)


def check_device(value: object, name: str = "device") -> torch.device:
    """``value`` as a :class:`torch.device`: a ``torch.device`` or a device string such as
    ``"cpu"``, ``"cuda"`` or ``"cuda:1"``.

    Raises
    ------
    TypeError
        For anything but a string or a ``torch.device`` (an int index is ambiguous here).
    ValueError
        For a string that names no device type.
    """
    if isinstance(value, torch.device):
        return value
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a torch.device or a string such as 'cpu' or 'cuda', "
                        f"got {describe(value)}")
    try:
        return torch.device(value)
    except (RuntimeError, ValueError):
        raise ValueError(f"{name} must name a device such as 'cpu', 'cuda' or 'cuda:0', "
                         f"got {value!r}") from None


def check_mapping(value: object, name: str, *, nonempty: bool = True) -> Mapping:
    """``value`` itself when it is a mapping (a ``dict`` of named entries), non-empty unless
    ``nonempty`` is false.

    Raises
    ------
    TypeError
        For anything that is not a mapping (a list, a string, ``None``).
    ValueError
        For an empty mapping when ``nonempty``.
    """
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict of named entries, got {describe(value)}")
    if nonempty and not value:
        raise ValueError(f"{name} must have at least one entry, got an empty {type(value).__name__}")
    return value


class _Pairs:
    """``batches`` checked as they are drawn: each one an ``(inputs, targets)`` pair. Passes
    over it as often as ``batches`` allows, and has its length when ``batches`` has one."""

    def __init__(self, batches: Iterable, name: str) -> None:
        self.batches, self.name = batches, name

    def __len__(self) -> int:
        return len(self.batches)  # type: ignore[arg-type]

    def __iter__(self):
        for i, batch in enumerate(self.batches):
            if (isinstance(batch, (str, bytes)) or not isinstance(batch, Sequence)
                    or len(batch) != 2):
                raise TypeError(f"{self.name} must give (inputs, targets) pairs, got "
                                f"{describe(batch)} as batch {i}")
            yield batch


def check_batches(value: object, name: str = "batches") -> Iterable:
    """``value`` as batches: an iterable (a DataLoader, a list of tuples) of ``(inputs,
    targets)`` pairs, each pair checked as it is drawn (nothing is drawn here).

    Raises
    ------
    TypeError
        Here, for ``None``, a string, a mapping, a tensor or anything not iterable; while
        iterating, for a batch that is not a pair.
    """
    if isinstance(value, _Pairs):
        return value
    if (value is None or isinstance(value, (str, bytes, Mapping, torch.Tensor, np.ndarray))
            or not isinstance(value, Iterable)):
        raise TypeError(f"{name} must be an iterable of (inputs, targets) pairs, such as a "
                        f"DataLoader or a list of tuples, got {describe(value)}")
    return _Pairs(value, name)


def check_text(value: object, name: str, *, nonempty: bool = True) -> str:
    """A piece of text (a title, a label, a name): a ``str``, not empty unless ``nonempty``
    is false.

    Raises
    ------
    TypeError
        For anything but a ``str`` (``None``, a number, a list of strings).
    ValueError
        For an empty or blank string when ``nonempty``.
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {describe(value)}")
    if nonempty and not value.strip():
        raise ValueError(f"{name} must not be empty, got {value!r}")
    return value


def check_sequence(value: object, name: str, *, item: Callable[[object, str], object] | None = None,
                   length: int | None = None, minimum: int = 1) -> list:
    """``value`` as a list: a list, tuple, range, 1-D tensor or array or other finite
    iterable (a generator is read once), each item passed through ``item(entry, f"{name}[i]")``
    when given, e.g. ``check_text`` for labels or ``partial(check_int, minimum=1)`` for sizes.
    The message of an entry refused by ``item`` names its index and ends with the whole
    sequence received.

    Raises
    ------
    TypeError
        For ``None``, a string (a sequence of characters is never meant), a mapping, a number
        or a 0-d tensor; or from ``item`` for an entry of the wrong type, naming its index.
    ValueError
        For fewer than ``minimum`` items, a length other than ``length``, or from ``item``.
    """
    if (value is None or isinstance(value, (str, bytes, Mapping))
            or (isinstance(value, (torch.Tensor, np.ndarray)) and value.ndim != 1)
            or not isinstance(value, Iterable)):
        expected = f"a sequence of {length} items" if length is not None else "a sequence (a list or tuple)"
        raise TypeError(f"{name} must be {expected}, got {describe(value)}")
    items = list(value)
    if length is not None and len(items) != length:
        raise ValueError(f"{name} must have {length} items, got {len(items)}: {describe(value)}")
    if len(items) < minimum:
        raise ValueError(f"{name} must have at least {minimum} item{'s' * (minimum != 1)}, "
                         f"got {len(items)}: {describe(value)}")
    if item is not None:
        checked = []
        for i, entry in enumerate(items):
            try:
                checked.append(item(entry, f"{name}[{i}]"))
            except (TypeError, ValueError) as exc:
                if type(exc) not in (TypeError, ValueError) or " (in " in str(exc):
                    raise  # another kind of error, or an inner sequence's, already in context
                raise type(exc)(f"{exc} (in {name} = {describe(value)})") from None
        items = checked
    return items


def check_tolerance(value: object, name: str) -> float:
    """A tolerance: a finite number >= 0 (a negative one would make every comparison fail or
    pass by accident)."""
    return check_float(value, name, minimum=0)


FLOAT32_MAX = float(torch.finfo(torch.float32).max)


def check_learning_rate(value: object, name: str = "lr") -> float:
    """A learning rate: a finite number >= 0 that a float32 holds (the optimizers store it
    as one; 1e300 fails inside torch)."""
    return check_float(value, name, minimum=0, maximum=FLOAT32_MAX)


def check_probability(value: object, name: str, *, allow_one: bool = True) -> float:
    """A probability: a finite number in [0, 1] (or [0, 1) when not ``allow_one``)."""
    return check_float(value, name, minimum=0, maximum=1, exclusive_maximum=not allow_one)


def check_logits(x: object, name: str = "logits") -> torch.Tensor:
    """Raw scores ``(N, classes)`` of a classifier, refused when they are already
    probabilities (every row in [0, 1] and summing to 1), which softmax would flatten.

    Raises
    ------
    TypeError, ValueError
        As :func:`as_tensor`; a ``ValueError`` for a tensor that is not 2-D, is empty, holds
        NaN, or whose rows are probabilities, and for a meta tensor (no numbers to check).
    """
    t = as_tensor(x, name, dtype="floating", numbers=True)
    if t.ndim != 2:
        raise ValueError(f"{name} must be a tensor of shape (N, C), got {describe(t)}")
    if t.shape[0] == 0 or t.shape[1] == 0:
        raise ValueError(f"{name} must have at least one row and one class, got shape "
                         f"{tuple(t.shape)}")
    d = t.detach()
    if not bool(torch.isfinite(d).all()):
        raise ValueError(f"{name} must be finite, got NaN or infinite values in shape "
                         f"{tuple(t.shape)}")
    if t.shape[1] > 1 and bool((d >= 0).all() and (d <= 1).all()) and bool(
            torch.allclose(d.double().sum(1), torch.ones(len(d), dtype=torch.float64),
                           atol=1e-4)):
        raise ValueError(f"{name} must be raw scores (logits), got probabilities: every row of "
                         f"the {tuple(t.shape)} tensor is in [0, 1] and sums to 1. Pass the "
                         "model's outputs before softmax")
    return t


# --------------------------------------------------------------------------- non-empty data
# (issue 37) Data that is reduced (a mean, a maximum, an argmax) or slid over (an image
# under a kernel) must hold something: an empty tensor reaches NumPy or torch as a NaN mean, a
# reduction over a zero-size axis or a reshape of zero elements. Refused at the entry instead.
def check_nonempty(t: torch.Tensor, name: str, *, axes: Sequence[int] | None = None) -> torch.Tensor:
    """``t`` itself when each of its ``axes`` (all by default) has at least one element; a
    0-d tensor passes. E.g. ``axes=(-2, -1)`` for an image whose batch may be empty.

    Raises
    ------
    ValueError
        For a tensor with an axis of length 0 among ``axes``, naming ``name`` and the shape.
    """
    lengths = t.shape if axes is None else [t.shape[a] for a in axes]
    if 0 in lengths:
        which = "" if axes is None else f" along axes {tuple(axes)}"
        raise ValueError(f"{name} must not be empty{which}, got {describe(t)}")
    return t


#: The kinds of argument and their rules: one check per kind, used wherever that kind appears.
#: The fit-data check lives in ``receptive_field.fits``, which must stay free of torch (its
#: import contract), and is the only module that fits.
#: ``scripts/argument_kinds.py`` writes the README's bad-input table from these rows, running
#: each example so that the message shown is the one the check gives.
#: (kind, check, rule, example call)
ARGUMENT_KINDS = (
    ("count or size", "check_int", "an int (NumPy ints and integral 0-d tensors pass; bool, "
     "3.0 and strings do not) within its bounds", "check_int(0, 'batch_size', minimum=1)"),
    ("real parameter", "check_float", "a finite real number within its bounds (NaN, inf, "
     "complex and bool refused)", "check_float(float('nan'), 'sigma', minimum=0, "
     "exclusive_minimum=True)"),
    ("tolerance", "check_tolerance", "a finite number >= 0", "check_tolerance(-1e-3, 'atol')"),
    ("learning rate", "check_learning_rate", "a finite number >= 0 that float32 holds",
     "check_learning_rate(1e300, 'lr')"),
    ("probability", "check_probability", "a finite number in [0, 1] (or [0, 1))",
     "check_probability(1.5, 'dropout', allow_one=False)"),
    ("switch", "check_bool", "True or False (a string such as 'False' is refused, not read "
     "as true)", "check_bool('False', 'shuffle')"),
    ("choice", "check_choice", "one of the listed options (a string kind refuses non-strings "
     "with TypeError)", "check_choice('median', 'mode', ('max', 'avg'))"),
    ("kernel size, stride, padding", "check_pair", "an int or a pair of ints",
     "check_pair((1, 2, 3), 'kernel_size')"),
    ("tensor, image, kernel, image batch", "as_tensor", "a tensor, NumPy array or nested list "
     "of real numbers with the documented rank; complex and strings refused (a meta tensor "
     "passes: tensor results follow it, shapes only, as in torch)",
     "as_tensor(torch.zeros(2, 2, dtype=torch.complex64), 'image')"),
    ("logits", "check_logits", "a finite (N, classes) tensor of raw scores; probabilities "
     "refused", "check_logits(torch.tensor([[0.2, 0.8], [0.5, 0.5]]), 'logits')"),
    ("fit data", "receptive_field.fits.check_fit_data", "1-D, finite, at least two different values",
     "receptive_field.fits.check_fit_data([2.0, 2.0, 2.0], 'x')"),
    ("data to reduce or slide over", "check_nonempty", "a tensor with at least one element "
     "along every axis", "check_nonempty(torch.zeros(0, 10), 'outputs')"),
    ("model", "check_model", "an nn.Module instance (not its class)",
     "check_model(torch.nn.Linear, 'model')"),
    ("model input", "check_model_input", "a floating tensor of the model's parameter dtype",
     "check_model_input(torch.zeros(1, 2, dtype=torch.uint8), torch.nn.Linear(2, 2), '(N, 2)')"),
    ("mapping", "check_mapping", "a dict of named entries, not empty",
     "check_mapping([1, 2], 'kernels')"),
    ("batches", "check_batches", "an iterable of (inputs, targets) pairs (a DataLoader, a "
     "list of tuples); each batch checked as it is drawn", "check_batches(None, 'batches')"),
    ("device", "check_device", "a torch.device or a device string",
     "check_device('gpu0', 'device')"),
    ("path", "check_path", "a str or os.PathLike, not empty", "check_path('', 'path')"),
    ("text (title, label, name)", "check_text", "a str, not blank", "check_text(3, 'title')"),
    ("sequence (labels, titles, sizes)", "check_sequence", "a list, tuple or other finite "
     "iterable (not None, a string or a number), of the documented length, each item checked",
     "check_sequence(None, 'titles')"),
)
