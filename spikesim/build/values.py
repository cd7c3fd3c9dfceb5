"""Turn a ``Value`` of the description into an array of a given length.

``realize`` makes a float64 array (neuron parameters). ``realize_blocks`` serves the millions of
values of a connection: constants become a read-only broadcast view (no memory), random values
are drawn block by block (the same numbers as one big draw) and converted per block, so that no
full-size float64 temporary is ever made.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from ..errors import BuildError, SpecError
from ..io.arrays import read_array
from ..spec.model import Expr, FromFile, Normal, Uniform, Values
from .expressions import evaluate


def realize(
    value: Any,
    n: int,
    rng: np.random.Generator,
    path: str,
    names: Mapping[str, Any] | None = None,
) -> np.ndarray:
    """``n`` values of ``value``. ``names`` are the variables an expression may use; ``r`` is
    drawn from ``rng`` (one U(0,1) per element) for an expression when ``names`` has none."""
    if isinstance(value, (int, float)):
        return np.full(n, float(value))
    if isinstance(value, Uniform):
        return rng.uniform(value.uniform.low, value.uniform.high, n)
    if isinstance(value, Normal):
        return rng.normal(value.normal.mean, value.normal.sd, n)
    if isinstance(value, Values):
        return _checked(np.asarray(value.values, dtype=np.float64), n, path)
    if isinstance(value, FromFile):
        try:
            array = read_array(value.file, value.key)
        except BuildError as err:
            raise SpecError(path, str(err)) from None
        return _checked(np.asarray(array, dtype=np.float64).reshape(-1), n, path)
    if isinstance(value, Expr):
        scope = {"i": np.arange(n, dtype=np.float64), "N": float(n)}
        scope.update(names or {})
        if "r" not in scope:
            scope["r"] = rng.random(n)
        return _evaluated(value, scope, n, path)
    raise SpecError(path, f"unsupported value {value!r}")


BLOCK = 1 << 20  # 8 MB of float64: the temporaries of an expression or a conversion stay small


def realize_blocks(
    value: Any,
    n: int,
    rng: np.random.Generator,
    path: str,
    convert: Callable[[np.ndarray], np.ndarray] | None = None,
    dtype=np.float64,
) -> np.ndarray:
    """``n`` values of ``value`` as ``dtype``, each block passed through ``convert`` (float64 ms
    -> whatever the caller stores); a constant gives a broadcast view. ``dtype`` may be a tuple of
    integer types, narrowest first: the values are kept in the first that holds them all."""
    convert = convert or (lambda block: block)
    dtypes = dtype if isinstance(dtype, tuple) else (dtype,)
    if isinstance(value, (int, float)):
        return np.broadcast_to(narrowest(convert(np.array([float(value)])), dtypes), (n,))
    if isinstance(value, (Values, FromFile)):
        return narrowest(convert(realize(value, n, rng, path)), dtypes)
    out = np.empty(n, dtypes[0])
    for start in range(0, n, BLOCK):
        size = min(BLOCK, n - start)
        if isinstance(value, Uniform):
            block = rng.uniform(value.uniform.low, value.uniform.high, size)
        elif isinstance(value, Normal):
            block = rng.normal(value.normal.mean, value.normal.sd, size)
        elif isinstance(value, Expr):
            scope = {"i": np.arange(start, start + size, dtype=np.float64), "N": float(n), "r": rng.random(size)}
            block = _evaluated(value, scope, size, path)
        else:
            raise SpecError(path, f"unsupported value {value!r}")
        block = convert(block)
        wide = _narrowest_dtype(block, dtypes)
        if wide.itemsize > out.dtype.itemsize:  # a value that does not fit: widen what is done
            out = out.astype(wide)
        out[start : start + size] = block
    return out


def narrowest(values: np.ndarray, dtypes: tuple) -> np.ndarray:
    """``values`` as the first of ``dtypes`` that holds them all (the last one otherwise: no check)."""
    return values.astype(_narrowest_dtype(values, dtypes), copy=False)


def _narrowest_dtype(values: np.ndarray, dtypes: tuple) -> np.dtype:
    for dtype in dtypes[:-1]:
        if np.issubdtype(dtype, np.integer) and len(values):
            info = np.iinfo(dtype)
            if values.min() < info.min or values.max() > info.max:
                continue
        return np.dtype(dtype)
    return np.dtype(dtypes[-1])


def _evaluated(value: Expr, scope: Mapping[str, Any], n: int, path: str) -> np.ndarray:
    result = np.broadcast_to(np.asarray(evaluate(value.expr, scope, path), dtype=np.float64), (n,)).copy()
    if not np.all(np.isfinite(result)):
        raise SpecError(path, f"expression {value.expr!r} gives non-finite values")
    return result


def _checked(array: np.ndarray, n: int, path: str) -> np.ndarray:
    if array.shape != (n,):
        raise SpecError(path, f"has {array.size} values, needs {n}")
    return array
