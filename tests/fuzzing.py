"""The engine of the API-wide fuzz test (``tests/test_fuzz_api.py``, issue 37).

What it does, in order:

1. **Enumerate.** Every public callable of ``cnncourse``: the names in ``__all__`` of every
   module whose dotted name has no part starting with ``_``, each object once (under the
   module that defines it when that module lists it).
2. **Derive a valid call.** Each required parameter takes, in turn, the sample values that
   :data:`SAMPLES` lists for its name (an ``image`` is a small float tensor, a ``kernel`` a
   3x3 one, a ``model`` a tiny CNN, ...); the first combination whose call returns a
   well-formed result is the callable's *baseline*. Parameters with a default keep it. A
   callable whose baseline cannot be derived needs an entry in the registry of the test.
3. **Mutate one argument at a time.** Hypothesis picks a parameter (required or defaulted) and
   an *edge value* for its kind (:func:`edge_values`): empty, 0, 1, negative; tiny and huge
   floats, NaN, inf; wrong dtype (uint8, float64, bool, complex), wrong rank; non-contiguous,
   channels_last and meta tensors; NumPy arrays and scalars where tensors are expected, 0-d
   tensors where ints are expected; strings and None; constant or reversed data; probabilities
   where logits are expected.
4. **Judge** (:func:`judge`). The call must either return a well-formed result or raise
   ``ValueError``/``TypeError`` (or ``FileNotFoundError``, for a path that names no file)
   from cnncourse's own code whose message names the argument and the value. A callable whose
   documented result may be ``None`` says so in the registry (``none_result``). Concretely:

   * *from cnncourse's own code*: the innermost frame of the traceback (the line that
     executed ``raise``) is a file under ``cnncourse/``. A ``ValueError`` raised by torch or
     NumPy and passed through is a failure; so is any other exception type (``IndexError``,
     ``ZeroDivisionError``, ``RuntimeError``, ...), except the package's own named errors
     (subclasses of ``ValueError`` that cnncourse defines, and ``Rejected``, with which the
     exercise helpers end a check with a hint: :func:`_own_error_types`).
   * *names the argument*: the parameter's name (or an alias the registry gives) occurs in the
     message. *names the value*: one rendering of it occurs in the message (its repr, its type
     name, its shape or dtype, the number, ``nan``/``inf``, ``empty``).
   * *well-formed*: the result has the baseline's structure (a tensor where the baseline gave
     a tensor, a float where it gave a float, tuples of the same length, an object of the
     baseline's declared class: a widget's per-instance subclass counts as that class), no complex or meta
     tensor where the baseline had none, and every number is finite, unless the mutated value
     itself held non-finite or huge (> 1e30) numbers, which arithmetic may carry through.
   * no warning from torch, NumPy or any file outside cnncourse, and no ``RuntimeWarning`` at
     all (a divide-by-zero inside NumPy means a check is missing); a call that runs longer
     than :data:`TIME_LIMIT` seconds fails (an unchecked size that makes the work explode).
   * edges marked *must raise* (probabilities where logits are expected, constant data for a
     fit) must raise: accepting them silently is the failure.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import inspect
import itertools
import math
import os
import pkgutil
import re
import shutil
import signal
import sys
import tempfile
import traceback
import uuid
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

import cnncourse

PACKAGE = Path(cnncourse.__file__).resolve().parent
TIME_LIMIT = 20.0


# --------------------------------------------------------------------------- enumeration
def public_modules() -> list[str]:
    names = ["cnncourse"] + sorted(
        m.name for m in pkgutil.walk_packages(cnncourse.__path__, "cnncourse."))
    return [n for n in names if not any(p.startswith("_") for p in n.split("."))]


def public_callables() -> dict[str, object]:
    """``{"module.name": callable}`` for every public callable, each object once."""
    found: dict[int, tuple[str, object]] = {}
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.ismodule(obj) or not callable(obj) or isinstance(obj, (type(None), dict)):
                continue
            home = getattr(obj, "__module__", "")
            if home in public_modules() and name in getattr(importlib.import_module(home),
                                                            "__all__", ()):
                qualified = f"{home}.{name}"
            else:
                qualified = f"{module_name}.{name}"
            if id(obj) not in found or qualified.startswith(getattr(obj, "__module__", "~")):
                found[id(obj)] = (qualified, obj)
    return dict(sorted(found.values()))


# --------------------------------------------------------------------------- sample values
def _tiny_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(72, 3))


def _flat_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 3))


def _stack() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 1, 3), nn.ReLU(), nn.Conv2d(1, 1, 3, stride=2))


def _image() -> torch.Tensor:
    return torch.linspace(0, 1, 64).reshape(8, 8) ** 2


def _batch4() -> torch.Tensor:
    return torch.linspace(0, 1, 256).reshape(4, 1, 8, 8).sin()


def _targets() -> torch.Tensor:
    return torch.tensor([0, 1, 2, 1])


def _logits() -> torch.Tensor:
    return torch.tensor([[2.0, -1.0, 0.5], [0.1, 1.5, -0.3], [-1.0, 0.2, 2.2], [0.3, 0.1, -0.7]])


SOBEL = [[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]]

#: Valid sample values by parameter name, tried in order (each a factory: fresh every call).
SAMPLES: dict[str, list[Callable[[], object]]] = {
    "image": [_image, lambda: _image()[None, None], lambda: torch.rand(3, 8, 8,
                                                                     generator=_g())],
    "images": [_batch4, lambda: _batch4()[:, 0],
               lambda: (torch.arange(256).reshape(4, 8, 8) % 256).to(torch.uint8),
               lambda: {"a": _image(), "b": _image().T}],
    "x": [_image, _batch4, lambda: torch.linspace(-3, 3, 13), lambda: torch.rand(4, 2, 8, 8,
                                                                                generator=_g())],
    "inputs": [_batch4, lambda: _batch4()[:, 0]],
    "kernel": [lambda: torch.tensor(SOBEL), lambda: torch.tensor(SOBEL)[None, None]],
    "first": [lambda: torch.tensor(SOBEL)], "second": [lambda: torch.ones(3, 3) / 9],
    "patch": [lambda: _image()[:3, :3]], "output": [lambda: _image()[:6, :6]],
    "gx": [_image], "gy": [lambda: _image().T], "direction": [_image], "magnitude": [_image],
    "grad_output": [lambda: torch.ones(1, 1, 6, 6)],
    "filters": [lambda: torch.rand(2, 3, 3, generator=_g())],
    "templates": [lambda: torch.rand(2, 3, 3, generator=_g())],
    "weight": [lambda: torch.rand(2, 1, 3, 3, generator=_g())],
    "before": [lambda: torch.rand(2, 1, 3, 3, generator=_g())],
    "after": [lambda: torch.rand(2, 1, 3, 3, generator=_g())],
    "rgb": [lambda: torch.rand(8, 8, 3, generator=_g())],
    "values": [lambda: np.arange(9.0).reshape(3, 3)],
    "weights": [lambda: np.outer(np.hanning(9), np.hanning(9))],
    "mask": [lambda: np.pad(np.ones((3, 3), bool), 2)],
    "matrix": [lambda: torch.tensor([[5, 1, 0], [2, 6, 1], [0, 3, 4]])],
    "outputs": [_logits], "logits": [_logits], "targets": [_targets], "labels": [_targets],
    "per_class": [lambda: torch.tensor([0.9, 0.8, 0.95])],
    "model": [_tiny_cnn, _flat_model],
    "layers": [_stack], "layer": [lambda: nn.Conv2d(1, 1, 3)],
    "batches": [lambda: [(_batch4(), _targets())]],
    "train": [lambda: [(_batch4(), _targets())]],
    "train_batches": [lambda: [(_batch4(), _targets())]],
    "kernel_size": [lambda: 3], "size": [lambda: 3, lambda: 8], "n": [lambda: 10, lambda: 8],
    "k": [lambda: 3], "stride": [lambda: 1], "padding": [lambda: 1, lambda: 0],
    "dilation": [lambda: 1], "depth": [lambda: 2], "epochs": [lambda: 1], "steps": [lambda: 1],
    "channels": [lambda: 2], "in_channels": [lambda: 1], "out_channels": [lambda: 2],
    "max_shift": [lambda: 1], "dy": [lambda: 1], "dx": [lambda: 1], "margin": [lambda: 1],
    "fan_in": [lambda: 4], "count": [lambda: 1], "side": [lambda: 1],
    "input_size": [lambda: 8, lambda: (8, 8)], "input_shape": [lambda: (1, 8, 8)],
    "sizes": [lambda: (64, 5, 3)], "shifts": [lambda: [(0, 0), (1, 0), (0, -1)]],
    "scheme": [lambda: "he"], "name": [lambda: "relu", lambda: "sobel x", lambda: "ex"],
    "fn": [lambda: "relu", lambda: torch.tanh], "exercise": [lambda: "exercise"],
    "answer": [lambda: 1], "device": [lambda: "cpu"], "dtype": [lambda: torch.float32],
    "maps": [lambda: {"a": _image(), "b": _image().T}],
    "kernels": [lambda: {"sobel": torch.tensor(SOBEL), "box": torch.ones(3, 3) / 9}],
    "arrays": [lambda: {"a": np.linspace(0, 1, 20)}],
    "table": [lambda: {"image": {"sobel": 1.0, "box": 0.5}}],
    "curves": [lambda: {"a": [1.0, 0.5, 0.25]}],
    "series": [lambda: {"a": [1.0, 2.0, 3.0]}], "depths": [lambda: [1, 2, 3]],
    "windows": [lambda: [2, 4]], "fractions": [lambda: {"max": [0.5, 0.25]}],
    "results": [lambda: {"a": {"x": [0.9, 0.8]}}],
    "x_values": [lambda: [1.0, 2.0, 4.0]], "y": [lambda: [1.0, 2.0, 4.0]],
    "low": [lambda: 0.0], "high": [lambda: 1.0], "depth_ratio": [lambda: 4.0],
    "images_per_second": [lambda: 100.0], "payload": [lambda: b"data"],
    "running_mean": [lambda: torch.zeros(2)], "running_var": [lambda: torch.ones(2)],
    "training": [lambda: True],
}


def _g() -> torch.Generator:
    return torch.Generator().manual_seed(0)


# --------------------------------------------------------------------------- edge values
@dataclass(frozen=True)
class Edge:
    """One edge value for one argument: ``label`` shows in a failure, ``must_raise`` marks
    values that only an error may answer, ``carries`` those whose non-finite or huge numbers
    the result may carry."""

    label: str
    value: object = field(compare=False)
    must_raise: bool = False
    carries: bool = False
    names: tuple = ()  # other words that name the argument (the key of a mapping's entry)

    def __repr__(self) -> str:
        return f"<{self.label}>"


WRONG_TYPES = [Edge("None", None), Edge("a string", "nonsense"), Edge("bytes", b"\x00"),
               Edge("an object", object())]


def _int_edges() -> list[Edge]:
    return [Edge(f"int {v}", v) for v in (0, 1, -1, 2, -7, 1000)] + [
        Edge("True", True), Edge("float 2.0", 2.0), Edge("float 2.5", 2.5),
        Edge("np.int64(2)", np.int64(2)), Edge("0-d tensor 2", torch.tensor(2)),
        Edge("0-d float tensor 2.0", torch.tensor(2.0)), Edge("string '3'", "3"),
        Edge("1-element tensor", torch.tensor([2]))]


def _float_edges() -> list[Edge]:
    values = (0.0, 1.0, -1.0, 0.5, 1e-300, 5e-324, 1e300, 1.7e308, -1e300, math.nan,
              math.inf, -math.inf)
    return [Edge(f"float {v!r}", v) for v in values] + [
        Edge("int 0", 0), Edge("int -3", -3), Edge("True", True),
        Edge("np.float32(0.5)", np.float32(0.5)), Edge("0-d tensor 0.5", torch.tensor(0.5)),
        Edge("complex", 1 + 1j), Edge("string '0.5'", "0.5"),
        Edge("2-element tensor", torch.tensor([0.5, 0.5]))]


def _str_edges() -> list[Edge]:
    return [Edge("empty string", ""), Edge("unknown string", "nonsense"),
            Edge("upper-case string", "RELU"), Edge("int 3", 3), Edge("None", None)]


def _tensor_edges(t: torch.Tensor, name: str) -> list[Edge]:
    out: list[Edge] = []
    shape = tuple(t.shape)
    if t.ndim:
        out.append(Edge("empty (first dim 0)", t.new_empty((0,) + shape[1:])))
        out.append(Edge("empty (last dim 0)", t.new_empty(shape[:-1] + (0,))))
        out.append(Edge("rank - 1", t[0].clone()))
        out.append(Edge("0-d", t.flatten()[0].clone()))
    out.append(Edge("rank + 1", t.unsqueeze(0).clone()))
    out.append(Edge("a single element", t.flatten()[:1].reshape((1,) * max(t.ndim, 1))))
    for dtype in (torch.uint8, torch.float64, torch.bool, torch.complex64, torch.int64,
                  torch.float16, torch.bfloat16):
        if dtype != t.dtype:
            v = t.abs() * 255 if dtype == torch.uint8 and t.is_floating_point() else t
            out.append(Edge(f"dtype {dtype}", v.to(dtype)))
    if t.ndim >= 1 and t.numel():
        wide = t.new_zeros(shape[:-1] + (2 * shape[-1],))
        wide[..., ::2] = t
        out.append(Edge("non-contiguous", wide[..., ::2]))
    if t.ndim == 4:
        out.append(Edge("channels_last", t.contiguous(memory_format=torch.channels_last)))
    out.append(Edge("meta tensor", t.to("meta")))
    if t.is_floating_point() and t.numel():
        out.append(Edge("requires grad", t.clone().requires_grad_()))
        for label, fill in (("NaN inside", math.nan), ("inf inside", math.inf)):
            bad = t.contiguous().clone()
            bad.view(-1)[0] = fill
            out.append(Edge(label, bad, carries=True))
        out.append(Edge("huge values", t * 1e35 + 1e35, carries=True))
        out.append(Edge("tiny values", t * 1e-40))
        out.append(Edge("constant", torch.full_like(t, 0.5)))
        out.append(Edge("zeros", torch.zeros_like(t)))
        out.append(Edge("negative", -t.abs() - 1))
        out.append(Edge("reversed", t.flip(-1)))
    if t.ndim == 2 and name in ("logits", "outputs") and t.is_floating_point():
        out.append(Edge("probabilities where logits are expected", t.softmax(-1),
                        must_raise=name == "logits"))
    if t.numel() and t.dtype != torch.bfloat16:
        out.append(Edge("NumPy array", t.detach().numpy().copy()))
        out.append(Edge("nested list", t.tolist()))
        out.append(Edge("NumPy scalar", np.float64(0.5)))
    return out + [Edge("None", None), Edge("a string", "image"), Edge("int 3", 3)]


def _array_edges(a: np.ndarray, name: str) -> list[Edge]:
    out = [Edge(e.label, e.value.detach().numpy() if isinstance(e.value, torch.Tensor)
                and e.value.device.type == "cpu" and e.value.dtype not in (torch.bfloat16,)
                else e.value, e.must_raise, e.carries)
           for e in _tensor_edges(torch.from_numpy(np.asarray(a)), name)]
    return out + [Edge("tensor", torch.from_numpy(np.asarray(a).copy()))]


def _sequence_edges(s, name: str) -> list[Edge]:
    out = [Edge("empty", type(s)()), Edge("one element", type(s)(list(s)[:1])),
           Edge("reversed", type(s)(list(s)[::-1])), Edge("strings", type(s)(["a"] * len(s))),
           Edge("Nones", type(s)([None] * len(s)))]
    flat = list(s)
    if flat and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in flat):
        out += [Edge("NaN inside", type(s)([math.nan] + flat[1:]), carries=True),
                Edge("negative", type(s)([-abs(v) - 1 for v in flat])),
                Edge("zeros", type(s)([0] * len(flat))),
                Edge("constant", type(s)([flat[0]] * len(flat)), must_raise=name in FIT_DATA),
                Edge("NumPy array", np.asarray(flat)), Edge("tensor", torch.tensor(flat)),
                Edge("floats", type(s)([v + 0.5 for v in flat]))]
    return out + [Edge("None", None), Edge("a string", "12"), Edge("int 3", 3)]


FIT_DATA = {"x", "y"}


def _mapping_edges(m: Mapping) -> list[Edge]:
    out = [Edge("empty", {}), Edge("None", None), Edge("a string", "nonsense"),
           Edge("a list", list(m.values()))]
    if m:
        key = next(iter(m))
        for e in edge_values(m[key], key, "")[:12]:
            out.append(Edge(f"value of {key!r}: {e.label}", {**m, key: e.value},
                            carries=e.carries, names=(repr(key), str(key)) + e.names))
    return out


def _model_edges(model: nn.Module) -> list[Edge]:
    return [Edge("None", None), Edge("a string", "model"), Edge("a function", torch.relu),
            Edge("nn.Identity", nn.Identity()), Edge("float64 model", _copy(model).double()),
            Edge("meta model", _copy(model).to("meta")), Edge("class, not instance", nn.Linear)]


def _copy(model: nn.Module) -> nn.Module:
    import copy

    return copy.deepcopy(model)


def _callable_edges() -> list[Edge]:
    def raises(*_a, **_k):
        raise ZeroDivisionError("learner's bug")

    return [Edge("None", None), Edge("int 3", 3), Edge("unknown name", "nonsense"),
            Edge("a function that raises", raises),
            Edge("a function returning None", lambda *a, **k: None)]


PATH_NAMES = {"path", "root", "source", "out", "prefix", "submissions", "lessons_dir"}


_SCRATCH: list[str] = []


def scratch_path(suffix: str = "") -> str:
    """A fresh path that does not exist yet, in this process's scratch folder, which is
    removed at exit: whatever the fuzzed calls and the registry's sample files write there
    leaves nothing behind on the machine."""
    if not _SCRATCH:
        _SCRATCH.append(tempfile.mkdtemp(prefix="cnncourse-fuzz-"))
        atexit.register(shutil.rmtree, _SCRATCH[0], True)
    return os.path.join(_SCRATCH[0], uuid.uuid4().hex + suffix)


def _missing_path() -> str:
    """A path in a folder that does not exist, fresh at every call (the tests may run as
    root, who could create ``/nonexistent``; a call that writes there, and no later edge
    finds the file)."""
    return os.path.join(scratch_path(), "file")


def _path_edges() -> list[Edge]:
    return [Edge("empty path", ""), Edge("missing file", _missing_path()),
            Edge("a folder", "/"), Edge("None", None), Edge("float 3.5", 3.5),
            Edge("an object", object())]


TOLERANCE_NAMES = {"atol", "rtol", "tol", "tolerance", "eps"}


def edge_values(value: object, name: str, annotation: str) -> list[Edge]:
    """The edge values for one argument whose valid value is ``value``."""
    ann = annotation or ""
    if name in PATH_NAMES or "PathLike" in ann:
        return _path_edges()
    if name in TOLERANCE_NAMES:
        return _float_edges() + [Edge("negative tolerance", -1e-3, must_raise=True)]
    if isinstance(value, (bool, np.bool_)) or (value is None and ann.strip() == "bool"):
        return [Edge("None", None), Edge("string 'False'", "False"), Edge("int 2", 2),
                Edge("np.bool_", np.bool_(True)), Edge("0-d bool tensor", torch.tensor(True))]
    if isinstance(value, torch.Tensor):
        return _tensor_edges(value, name)
    if isinstance(value, np.ndarray):
        return _array_edges(value, name)
    if isinstance(value, nn.Module):
        return _model_edges(value)
    if isinstance(value, int):
        return _int_edges()
    if isinstance(value, float):
        return _float_edges()
    if isinstance(value, str):
        return _str_edges()
    if isinstance(value, Mapping):
        return _mapping_edges(value)
    if isinstance(value, (list, tuple)):
        return _sequence_edges(value, name)
    if callable(value) and not isinstance(value, type):
        return _callable_edges()
    if value is None:  # an optional argument left at None: its annotation says what it takes
        if re.search(r"\bint\b", ann) and "tuple" not in ann:
            return _int_edges()
        if re.search(r"\bfloat\b", ann):
            return _float_edges()
        if "Tensor" in ann or "ndarray" in ann or "ArrayLike" in ann:
            return _tensor_edges(_image(), name)
        return [Edge("a string", "nonsense"), Edge("int -1", -1), Edge("an object", object())]
    return list(WRONG_TYPES)


# --------------------------------------------------------------------------- the judge
class Timeout(BaseException):
    """The call ran past :data:`TIME_LIMIT` (a BaseException: ``except Exception`` in the
    code under test must not swallow it)."""


@contextlib.contextmanager
def time_limit(seconds: float):
    def _alarm(_signum, _frame):
        raise Timeout(f"the call ran for more than {seconds:g} s")

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


class Failure(AssertionError):
    pass


def _in_package(filename: str) -> bool:
    try:
        return Path(filename).resolve().is_relative_to(PACKAGE)
    except OSError:
        return False


def _own_error_types() -> tuple[type, ...]:
    """The package's own named errors. ``Rejected`` is the documented answer of the exercise
    helpers that read a learner's answer (``read_number``, ``read_array``, ``read_tensor``,
    ``call_learner``): it carries the Feedback a checker returns (the ``checker`` decorator
    catches it), a hint for the learner rather than an argument check. That no checker lets
    it escape is ``test_checkers_answer_every_learner_value``'s property."""
    import cnncourse.data
    import cnncourse.exercises.feedback
    import cnncourse.receptive_field
    import cnncourse.training

    return (cnncourse.data.MNISTDataError, cnncourse.receptive_field.ReceptiveFieldError,
            cnncourse.training.NonFiniteLossError, cnncourse.exercises.feedback.Rejected)


def value_renderings(value: object) -> list[str]:
    """Ways a message may show ``value``."""
    out = [type(value).__name__]
    if isinstance(value, (torch.Tensor, np.ndarray, np.generic)):
        shape = tuple(np.shape(value)) if not isinstance(value, torch.Tensor) else tuple(
            value.shape)
        out += [str(shape), str(value.dtype).replace("torch.", ""), "empty", "meta", "nan",
                "NaN", "inf", "finite", "contiguous", "channels_last", "grad", "dtype",
                "dimension", "shape", "probabilit", "x".join(map(str, shape[-2:]))]
        if 0 in shape:
            out += ["0x", " 0 ", " 0)", "nothing", "no "]
        if len(shape) == 0 and not (isinstance(value, torch.Tensor)
                                    and value.device.type == "meta"):
            out += [str(value.item()), f"{value.item():g}"]
    elif isinstance(value, float):
        out += [repr(value), f"{value:g}", str(value), "nan", "inf", "finite"]
    elif isinstance(value, int):
        out += [str(value)]
    elif isinstance(value, (nn.Module, type)):
        out += [getattr(value, "__name__", ""), "float64", "double", "meta", "Module"]
    elif isinstance(value, (list, tuple, dict, str, bytes)):
        out += [repr(value)[:20], "empty", str(len(value)), "nan", "values", "no "]
        out += [repr(v)[:20] for v in (value.values() if isinstance(value, dict) else value)
                if not isinstance(value, (str, bytes))][:3]
        if isinstance(value, dict):  # a mapping with one bad entry: the entry's renderings,
            # also of a container inside it (a mapping of mappings of lists, as plots take)
            out += [r for v in list(value.values())[:3] if isinstance(v, (torch.Tensor,
                    np.ndarray, float, dict, list, tuple)) for r in value_renderings(v)[1:]]
    elif value is None:
        out += ["None", "empty", "no "]
    else:
        out += [repr(value)[:30], str(value)[:30]]
    return [r for r in out if r]


def _declared_type(value: object) -> type:
    """The class of ``value`` as its module declares it. traitlets' ``add_traits``, which
    anywidget calls for every widget (the explorers), gives each instance a subclass of its
    own, of the same module and name and with that class as its only base: two
    ``PoolingExplorer`` objects never share ``type()``, yet both are a ``PoolingExplorer``.
    Only such same-named, single-base subclasses are stepped over; any other class stays."""
    cls = type(value)
    while (len(cls.__bases__) == 1 and cls.__bases__[0].__name__ == cls.__name__
           and cls.__bases__[0].__module__ == cls.__module__
           and getattr(sys.modules.get(cls.__module__), cls.__qualname__, None) is not cls):
        cls = cls.__bases__[0]
    return cls


def _well_formed(result: object, baseline: object, edge: Edge, path: str = "result") -> None:
    if isinstance(baseline, torch.Tensor):
        if not isinstance(result, torch.Tensor):
            raise Failure(f"{path} is {type(result).__name__}, the valid call gave a tensor")
        meta_in = isinstance(edge.value, (torch.Tensor, nn.Module)) and (
            edge.value.device.type == "meta" if isinstance(edge.value, torch.Tensor)
            else any(p.is_meta for p in edge.value.parameters()))
        if result.device.type == "meta" and baseline.device.type != "meta" and not meta_in:
            raise Failure(f"{path} is a meta tensor: it holds no numbers")
        if result.device.type == "meta":
            return  # shapes only, following a meta input (as torch does)
        if result.is_complex() and not baseline.is_complex():
            raise Failure(f"{path} is complex ({result.dtype})")
        if (result.is_floating_point() and result.numel() and not edge.carries
                and not bool(torch.isfinite(result.detach().float()).all())):
            raise Failure(f"{path} holds NaN or infinite values")
        return
    if isinstance(baseline, np.ndarray):
        if not isinstance(result, np.ndarray):
            raise Failure(f"{path} is {type(result).__name__}, the valid call gave an array")
        if (np.issubdtype(result.dtype, np.floating) and not edge.carries and result.size
                and not np.isfinite(result).all()):
            raise Failure(f"{path} holds NaN or infinite values")
        return
    if isinstance(baseline, float) and not isinstance(baseline, bool):
        if not isinstance(result, (float, int)) or isinstance(result, bool):
            raise Failure(f"{path} is {type(result).__name__}, the valid call gave a float")
        if not math.isfinite(result) and not edge.carries:
            raise Failure(f"{path} is {result}")
        return
    if isinstance(baseline, tuple) and not hasattr(baseline, "_fields"):
        if not isinstance(result, tuple) or len(result) != len(baseline):
            raise Failure(f"{path} is not a tuple of {len(baseline)}")
        for i, (r, b) in enumerate(zip(result, baseline)):
            _well_formed(r, b, edge, f"{path}[{i}]")
        return
    if isinstance(baseline, dict):
        if not isinstance(result, dict):
            raise Failure(f"{path} is {type(result).__name__}, the valid call gave a dict")
        for k in set(result) & set(baseline):
            _well_formed(result[k], baseline[k], edge, f"{path}[{k!r}]")
        return
    if baseline is not None and _declared_type(result) is not _declared_type(baseline) and not (
            isinstance(result, type(baseline)) or isinstance(baseline, (list, int))):
        raise Failure(f"{path} is {type(result).__name__}, the valid call gave "
                      f"{type(baseline).__name__}")


def _tail(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)[-6:])


def call_judged(fn: Callable, args: list, kwargs: dict, *, name: str, edge: Edge,
                baseline: object, aliases: tuple[str, ...] = (),
                limit: float = TIME_LIMIT, none_allowed: bool = False) -> object:
    """Call ``fn`` and apply the property; raise :class:`Failure` with the evidence.
    ``none_allowed``: ``None`` is a documented result of ``fn`` (the registry says why)."""
    import matplotlib.pyplot as plt

    where = f"argument {name!r} = {edge.label}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with time_limit(limit):
                result = fn(*args, **kwargs)
        except Timeout as exc:
            raise Failure(f"{where}: {exc}") from None
        except (ValueError, TypeError, FileNotFoundError) as exc:
            # FileNotFoundError: Python's own answer to a path that names no file, held to the
            # same rule (raised by cnncourse, naming the argument and showing the path)
            frames = traceback.extract_tb(exc.__traceback__)
            if not frames or not _in_package(frames[-1].filename):
                raise Failure(f"{where}: {type(exc).__name__} raised outside cnncourse "
                              f"({frames[-1].filename if frames else '?'}):\n{_tail(exc)}") from None
            message = str(exc)
            names = (name,) + tuple(aliases) + edge.names
            if not any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9])", message)
                       for n in names):
                raise Failure(f"{where}: the message does not name {name!r}: {message!r}") from None
            if not any(r.lower() in message.lower() for r in value_renderings(edge.value)):
                raise Failure(f"{where}: the message does not show the value: {message!r}") from None
            return exc
        except _own_error_types() as exc:
            return exc
        except Exception as exc:  # noqa: BLE001 - any other error is the finding
            raise Failure(f"{where}: {type(exc).__name__}: {exc}\n{_tail(exc)}") from None
        finally:
            plt.close("all")
    bad = [w for w in caught if issubclass(w.category, RuntimeWarning)
           or not _in_package(w.filename)]
    if bad:
        w = bad[0]
        raise Failure(f"{where}: {w.category.__name__} from {w.filename}:{w.lineno}: {w.message}")
    if edge.must_raise:
        raise Failure(f"{where}: accepted silently; this value must be refused")
    if result is None and none_allowed:
        return result
    try:
        _well_formed(result, baseline, edge)
    except Failure as exc:
        raise Failure(f"{where}: {exc}") from None
    return result


# --------------------------------------------------------------------------- derivation
@dataclass
class Plan:
    """How to call one callable: its baseline arguments and which parameters to mutate."""

    fn: Callable
    args: dict[str, Callable[[], object]]  # parameter name -> factory of its valid value
    mutable: list[str]
    annotations: dict[str, str]
    baseline: object = None


def _params(fn) -> list[inspect.Parameter]:
    return [p for p in inspect.signature(fn).parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def call_with(fn, factories: dict[str, Callable[[], object]], override: dict | None = None):
    values = {n: f() for n, f in factories.items()}
    values.update(override or {})
    args, kwargs = [], {}
    for p in _params(fn):
        if p.name not in values:
            continue
        if p.kind == p.POSITIONAL_ONLY:
            args.append(values[p.name])
        else:
            kwargs[p.name] = values[p.name]
    return args, kwargs


def derive(fn, given: dict[str, Callable[[], object]] | None = None,
           max_tries: int = 64) -> Plan | None:
    """A plan with a baseline that returns a well-formed result, or ``None``."""
    given = dict(given or {})
    params = _params(fn)
    required = [p for p in params if p.default is p.empty and p.name not in given]
    if any(p.name not in SAMPLES for p in required):
        return None
    annotations = {p.name: str(p.annotation) if p.annotation is not p.empty else ""
                   for p in params}
    choices = [SAMPLES[p.name] for p in required]
    for combo in itertools.islice(itertools.product(*choices), max_tries):
        factories = dict(given)
        factories.update({p.name: f for p, f in zip(required, combo)})
        try:
            args, kwargs = call_with(fn, factories)
            baseline = call_judged(fn, args, kwargs, name="(none)",
                                   edge=Edge("the valid call", None), baseline=None)
        except Failure:
            continue
        if isinstance(baseline, BaseException):
            continue
        mutable = [p.name for p in params if p.name in factories or _mutable_default(p)]
        return Plan(fn, factories, mutable, annotations, baseline)
    return None


def _mutable_default(p: inspect.Parameter) -> bool:
    d = p.default
    return d is not p.empty and (d is None or isinstance(d, (int, float, str, tuple, bool)))
