"""A data-only encoding for values coming back from student code.

The grader must never unpickle what a student's process sends (unpickling runs code), so
results travel as JSON: numbers, strings, lists, tuples, dicts, numeric numpy arrays, and
objects flattened to their public data attributes (decoded as ``SimpleNamespace``).

The student's process can send any bytes, so :func:`decode` trusts nothing: a message nested
deeper than :func:`encode` ever nests is refused before ``json.loads`` (which recurses) sees
it, and every failure is a :class:`WireError`.
"""

import base64
import json
import re
import types

import numpy as np

MAX_BYTES = 64 * 2**20  # a result larger than this is refused, not decoded
_MAX_DEPTH = 20  # containers within containers in a value
# JSON arrays and objects within each other: each level of a value takes at most 3 ({"d": [[k, v]]}).
_MAX_JSON_DEPTH = 3 * (_MAX_DEPTH + 2)
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKETS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 and -1 as int8
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[{]}"))


class WireError(ValueError):
    """A value that cannot be encoded, or a message that is not valid wire data."""


def encode(value):
    """Serialize ``value`` to bytes (JSON)."""
    data = json.dumps(_enc(value, 0), allow_nan=True).encode()
    if len(data) > MAX_BYTES:
        raise WireError(f"the result is too large ({len(data) / 2**20:.0f} MB)")
    return data


def decode(data):
    """Rebuild a value from :func:`encode`'s bytes; only data types are ever created."""
    if len(data) > MAX_BYTES:
        raise WireError("message too large")
    try:
        return _dec(_loads(data), 0)
    except WireError:
        raise
    except Exception as err:  # noqa: BLE001 - anything malformed data makes the decoder raise
        raise WireError(f"invalid wire data: {type(err).__name__}: {err}"[:500]) from None


def _loads(data):
    """``json.loads``, after checking that ``data`` nests no deeper than wire data can."""
    data = data.encode() if isinstance(data, str) else bytes(data)
    steps = np.frombuffer(_JSON_STRING.sub(b"", data).translate(_BRACKETS, _NOT_BRACKETS), dtype=np.int8)
    level, chunk = 0, 2**20
    for start in range(0, len(steps), chunk):
        levels = level + np.cumsum(steps[start:start + chunk], dtype=np.int64)
        if levels.max() > _MAX_JSON_DEPTH:
            raise WireError("nested too deeply")
        level = int(levels[-1])
    return json.loads(data)


def _enc(x, depth):
    if depth > _MAX_DEPTH:
        raise WireError("the result is nested too deeply")
    if x is None or isinstance(x, bool | str):
        return x
    if isinstance(x, int | float) and not isinstance(x, np.generic):
        return {"f": float(x)} if isinstance(x, float) else {"i": str(x)}
    if isinstance(x, np.ndarray | np.generic):
        arr = np.asarray(x)
        if arr.dtype.kind not in "biuf":
            raise WireError(f"arrays of dtype {arr.dtype} cannot be returned")
        body = base64.b64encode(np.ascontiguousarray(arr).tobytes()).decode()
        return {"a": [arr.dtype.str, list(arr.shape), body, isinstance(x, np.generic)]}
    if isinstance(x, list):
        return [_enc(v, depth + 1) for v in x]
    if isinstance(x, tuple):
        return {"t": [_enc(v, depth + 1) for v in x]}
    if isinstance(x, dict):
        return {"d": [[_enc(k, depth + 1), _enc(v, depth + 1)] for k, v in x.items()]}
    if isinstance(x, np.random.Generator):
        return {"g": json.dumps(x.bit_generator.state, default=int)}
    if callable(x):
        return {"c": getattr(x, "__name__", "function")}
    fields = {k: v for k, v in getattr(x, "__dict__", {}).items() if not k.startswith("_") and not callable(v)}
    return {"o": {k: _enc(v, depth + 1) for k, v in fields.items()}}


def _dec(x, depth):
    if depth > _MAX_DEPTH:
        raise WireError("nested too deeply")
    if x is None or isinstance(x, bool | str):
        return x
    if isinstance(x, list):
        return [_dec(v, depth + 1) for v in x]
    (tag, body), = x.items()
    if tag == "f":
        return float(body)
    if tag == "i":
        return int(body)
    if tag == "a":
        dtype, shape, data, scalar = body
        dtype = np.dtype(dtype)
        if dtype.kind not in "biuf":
            raise WireError(f"dtype {dtype} not allowed")
        arr = np.frombuffer(base64.b64decode(data), dtype=dtype).reshape(shape).copy()
        return arr[()] if scalar else arr
    if tag == "t":
        return tuple(_dec(v, depth + 1) for v in body)
    if tag == "d":
        return {_hashable(_dec(k, depth + 1)): _dec(v, depth + 1) for k, v in body}
    if tag == "g":
        gen = np.random.Generator(np.random.PCG64())
        gen.bit_generator.state = _loads(body)
        return gen
    if tag == "c":
        return types.SimpleNamespace(__name__=str(body))
    if tag == "o":
        return types.SimpleNamespace(**{str(k): _dec(v, depth + 1) for k, v in body.items()})
    raise WireError(f"unknown tag {tag!r}")


def _hashable(key):
    if isinstance(key, list | dict | np.ndarray):
        raise WireError("dict keys must be numbers or strings")
    return key
