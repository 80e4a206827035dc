"""Answers as plain data: the only form in which a value crosses from a submission's kernel.

The grader (:mod:`cnncourse.teaching.grade`) never unpickles anything a submission made. A value
read out of the kernel is encoded here as JSON: numbers, strings, ``None``/``...``, lists,
tuples, sets and dicts of them, and NumPy arrays and tensors as ``.npy`` bytes (read back with
``allow_pickle=False``, so an object array cannot smuggle code). A function becomes a handle
that the grader calls back through the kernel; any other object becomes a stand-in that only
knows its type's name, so a checker's hint can still say "got a Linear".

This file is self-contained (standard library and NumPy; torch only if already imported):
the grader sends its source into each kernel, so both sides use the same code.
"""

from __future__ import annotations

import base64
import io
import json
import sys

import numpy as np

__all__ = ["MAX_BYTES", "Opaque", "decode", "dumps", "encode", "loads", "opaque"]

MAX_DEPTH = 8
MAX_ITEMS = 10_000
MAX_BYTES = 64 * 2**20
"""Largest encoded value the grader reads back (64 MiB)."""


def _npy(array) -> str:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _from_npy(text: str) -> np.ndarray:
    return np.load(io.BytesIO(base64.b64decode(text.encode("ascii"), validate=True)), allow_pickle=False)


def encode(value, functions=None, depth: int = 0):
    """``value`` as JSON-able data; a callable is stored in ``functions`` under a new key."""
    if depth > MAX_DEPTH:
        return {"t": "opaque", "type": "deeply nested value"}
    if value is None:
        return {"t": "none"}
    if value is Ellipsis:
        return {"t": "ellipsis"}
    if isinstance(value, bool):
        return {"t": "bool", "v": bool(value)}
    if isinstance(value, int) and type(value).__module__ == "builtins":
        return {"t": "int", "v": str(int(value))}
    if isinstance(value, float) and type(value).__module__ == "builtins":
        return {"t": "float", "v": repr(float(value))}
    if isinstance(value, str) and type(value).__module__ == "builtins":
        return {"t": "str", "v": str(value)[:100_000]}
    if isinstance(value, (np.ndarray, np.generic)) and not isinstance(value, np.object_):
        array = np.asarray(value)
        if array.dtype.kind in "biufc":
            return {"t": "ndarray" if isinstance(value, np.ndarray) else "npscalar", "v": _npy(array)}
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        tensor = value.detach().cpu()
        if tensor.dtype in (torch.bfloat16, torch.float16):
            tensor = tensor.float()
        try:
            return {"t": "tensor", "v": _npy(tensor.resolve_conj().resolve_neg().numpy())}
        except (TypeError, RuntimeError):
            return {"t": "opaque", "type": "Tensor"}
    kind = {list: "list", tuple: "tuple", set: "set", frozenset: "set", dict: "dict"}.get(type(value))
    if kind is not None:
        if len(value) > MAX_ITEMS:
            return {"t": "opaque", "type": f"{type(value).__name__} of {len(value)} items"}
        if kind == "dict":
            return {"t": "dict", "v": [[encode(k, functions, depth + 1), encode(v, functions, depth + 1)]
                                       for k, v in value.items()]}
        return {"t": kind, "v": [encode(v, functions, depth + 1) for v in value]}
    if callable(value) and functions is not None:
        key = f"f{len(functions)}"
        functions[key] = value
        return {"t": "function", "key": key, "name": str(getattr(value, "__name__", "function"))[:80]}
    return {"t": "opaque", "type": type(value).__name__[:80]}


def dumps(value, functions=None) -> str:
    """``encode(value)`` as a JSON string."""
    return json.dumps(encode(value, functions))


class Opaque:
    """Stands for a value that is not data (a model, a generator): only its type's name is kept."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<a {self.type_name}>"


def opaque(type_name: str) -> Opaque:
    """A stand-in whose type is named like the learner's (a checker's hint says "got Linear")."""
    name = "".join(c for c in type_name if c.isalnum() or c == "_")[:80] or "object"
    if name[0].isdigit():
        name = "_" + name
    return type(name, (Opaque,), {})(type_name[:80])


def decode(data, function=None):
    """The value ``encode`` described: plain data, arrays read without pickle.

    ``function(key, name)`` makes the stand-in for a callable (default: an :class:`Opaque`).
    Raises ``ValueError`` on anything malformed.
    """
    if not isinstance(data, dict) or not isinstance(data.get("t"), str):
        raise ValueError("malformed answer data")
    kind, value = data["t"], data.get("v")
    if kind == "none":
        return None
    if kind == "ellipsis":
        return Ellipsis
    if kind == "bool":
        return bool(value)
    if kind == "int":
        if not isinstance(value, str) or len(value) > 4000:
            raise ValueError("malformed int")
        return int(value)
    if kind == "float":
        if not isinstance(value, str) or len(value) > 40:
            raise ValueError("malformed float")
        return float(value)
    if kind == "str":
        return str(value)
    if kind in ("ndarray", "npscalar", "tensor"):
        array = _from_npy(value)
        if kind == "npscalar":
            return array[()]
        if kind == "tensor":
            import torch
            return torch.from_numpy(array.copy())
        return array
    if kind in ("list", "tuple", "set"):
        items = [decode(v, function) for v in value]
        if kind == "set":
            try:
                return set(items)
            except TypeError:
                raise ValueError("unhashable set item") from None
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        try:
            return {decode(k, function): decode(v, function) for k, v in value}
        except TypeError:
            raise ValueError("unhashable dict key") from None
    if kind == "function":
        if function is None:
            return Opaque("function")
        return function(str(data["key"]), str(data.get("name", "function")))
    if kind == "opaque":
        return opaque(str(data.get("type", "object")))
    raise ValueError(f"unknown answer data {kind!r}")


def loads(text: str, function=None):
    """``decode(json.loads(text))``; text longer than ``MAX_BYTES`` is refused."""
    if len(text) > MAX_BYTES:
        raise ValueError(f"answer data larger than {MAX_BYTES} bytes")
    return decode(json.loads(text), function)
