"""Plain-data encoding between the sandbox and the judge: JSON only, never pickle.

What crosses the sandbox boundary is parsed by ``json`` into dicts, lists, strings, numbers, booleans
and None, and nothing else: no object the student built can reach the judge, so no ``__eq__``,
``__torch_function__`` or ``__reduce__`` of theirs ever runs there. Tensors travel as
``{"dtype": "float32", "shape": [2, 3], "data": [...]}`` (flat, row-major).
"""
from __future__ import annotations

import json
import math
from typing import Any

# dtypes that may cross the boundary, by the name used on the wire
DTYPES = ("float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool")
MAX_ELEMENTS = 4_000_000  # per tensor; a bigger one is refused on both sides
MAX_DEPTH = 32


class CodecError(ValueError):
    """Data that is not plain (or too big / too deep) to cross the sandbox boundary."""


def encode_tensor(t: Any) -> dict:
    """A tensor (or numpy array) as plain data: ``{"dtype", "shape", "data"}``.

    Works on the tensor's raw storage through ``torch.Tensor`` methods called unbound, so a
    subclass's ``__torch_function__`` or overridden ``tolist`` is not what decides the numbers."""
    import torch

    if not isinstance(t, torch.Tensor):
        try:
            import numpy as np
        except ImportError:  # pragma: no cover - numpy is a dependency
            np = None
        if np is not None and isinstance(t, np.ndarray):
            t = torch.from_numpy(np.ascontiguousarray(t))
        else:
            raise CodecError(f"expected a tensor, got {type(t).__name__}")
    with torch._C.DisableTorchFunction():
        plain = torch.Tensor.as_subclass(t, torch.Tensor)
        plain = torch.Tensor.detach(plain)
        plain = torch.Tensor.cpu(plain)
        if torch.Tensor.is_complex(plain):
            raise CodecError("complex tensors are not supported")
        n = torch.Tensor.numel(plain)
        if n > MAX_ELEMENTS:
            raise CodecError(f"tensor of {n} elements is bigger than the {MAX_ELEMENTS} allowed")
        dtype = str(plain.dtype).removeprefix("torch.")
        if dtype not in DTYPES:
            raise CodecError(f"tensor dtype {dtype} is not supported")
        shape = [int(s) for s in plain.shape]
        flat = torch.Tensor.reshape(torch.Tensor.contiguous(plain), (-1,))
        if dtype in ("float16", "bfloat16"):
            flat = torch.Tensor.to(flat, torch.float32)
        data = torch.Tensor.tolist(flat)
    return {"dtype": dtype, "shape": shape, "data": data}


def decode_tensor(d: Any, as_numpy: bool = False):
    """The tensor that ``encode_tensor`` encoded; checks the dict's shape and types first."""
    import torch

    if not isinstance(d, dict) or set(d) != {"dtype", "shape", "data"}:
        raise CodecError(f"not an encoded tensor: {_brief(d)}")
    dtype, shape, data = d["dtype"], d["shape"], d["data"]
    if dtype not in DTYPES:
        raise CodecError(f"unknown dtype {dtype!r}")
    if not isinstance(shape, list) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape):
        raise CodecError(f"bad shape {_brief(shape)}")
    n = math.prod(shape)
    if n > MAX_ELEMENTS:
        raise CodecError(f"tensor of {n} elements is bigger than the {MAX_ELEMENTS} allowed")
    if not isinstance(data, list) or len(data) != n:
        raise CodecError(f"shape {shape} needs {n} values, got {len(data) if isinstance(data, list) else _brief(data)}")
    if not all(isinstance(v, (int, float)) for v in data):
        raise CodecError("tensor data must be numbers")
    wire = torch.float32 if dtype in ("float16", "bfloat16") else getattr(torch, dtype)
    t = torch.tensor(data, dtype=wire).reshape(shape).to(getattr(torch, dtype))
    return t.numpy() if as_numpy else t


def answer_tensor(got: Any, text: str, shape: tuple, dtype: Any = None) -> tuple[Any, str]:
    """A student's encoded output decoded (judge side) as a tensor of ``shape`` (and ``dtype``, if
    given), or ``(None, message)`` saying what ``text`` returned instead."""
    try:
        t = decode_tensor(got)
    except Exception:  # noqa: BLE001 - anything that is not an encoded tensor
        return None, f"{text} returned {str(got)[:80]!r}, expected a tensor of shape {tuple(shape)}"
    if tuple(t.shape) != tuple(shape):
        return None, f"{text} returned shape {tuple(t.shape)}, expected {tuple(shape)}"
    if dtype is not None and t.dtype != dtype:
        return None, f"{text} returned dtype {t.dtype}, expected {dtype}"
    return t, ""

def check_plain(value: Any, depth: int = 0) -> None:
    """Raise ``CodecError`` unless ``value`` is built from exact JSON types only (no subclasses)."""
    if depth > MAX_DEPTH:
        raise CodecError("data nested too deeply")
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return
    if kind is float:
        return
    if kind is list or kind is tuple:
        for v in value:
            check_plain(v, depth + 1)
        return
    if kind is dict:
        for k, v in value.items():
            if type(k) is not str:
                raise CodecError(f"dict keys must be strings, got {type(k).__name__}")
            check_plain(v, depth + 1)
        return
    raise CodecError(f"{kind.__name__} is not plain data (numbers, strings, lists, dicts; tensors via encode_tensor)")


def dumps(value: Any) -> str:
    """One JSON line. Refuses anything that is not plain data (``check_plain``)."""
    check_plain(value)
    return json.dumps(value, separators=(",", ":"), allow_nan=True)


def loads(line: str | bytes) -> Any:
    """Parse one JSON line from the sandbox: plain Python data, nothing executable."""
    return json.loads(line)


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def to_plain(value: Any, depth: int = 0) -> Any:
    """``value`` rebuilt from exact JSON types: tensors and arrays encoded, numpy scalars and
    subclasses of int/float/str/list/dict converted to the plain type (so whatever a student's
    subclass does in ``__eq__`` is left behind). Raises ``CodecError`` for anything else."""
    if depth > MAX_DEPTH:
        raise CodecError("data nested too deeply")
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, int):
        return int.__index__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, str):
        return str.__str__(value)
    import torch

    if isinstance(value, torch.Tensor):
        return encode_tensor(value)
    try:
        import numpy as np
    except ImportError:  # pragma: no cover
        np = None
    if np is not None and isinstance(value, np.ndarray):
        return encode_tensor(value)
    if np is not None and isinstance(value, np.generic):
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, np.floating):
            return float(value)
    if isinstance(value, list):
        return [to_plain(v, depth + 1) for v in list.__iter__(value)]
    if isinstance(value, tuple):
        return [to_plain(v, depth + 1) for v in tuple.__iter__(value)]
    if isinstance(value, dict):
        out = {}
        for k, v in dict.items(value):
            if not isinstance(k, str):
                raise CodecError(f"dict keys must be strings, got {type(k).__name__}")
            out[str.__str__(k)] = to_plain(v, depth + 1)
        return out
    raise CodecError(f"{type(value).__name__} is not plain data (numbers, strings, lists, dicts, tensors)")
