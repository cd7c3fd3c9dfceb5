"""Turn a ``Value`` of the description into a float64 array of a given length."""

from __future__ import annotations

from typing import Any, Mapping

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
        result = np.broadcast_to(np.asarray(evaluate(value.expr, scope, path), dtype=np.float64), (n,)).copy()
        if not np.all(np.isfinite(result)):
            raise SpecError(path, f"expression {value.expr!r} gives non-finite values")
        return result
    raise SpecError(path, f"unsupported value {value!r}")


def _checked(array: np.ndarray, n: int, path: str) -> np.ndarray:
    if array.shape != (n,):
        raise SpecError(path, f"has {array.size} values, needs {n}")
    return array
