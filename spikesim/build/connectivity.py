"""Connection rules: which (pre, post) pairs exist, with their weights and delays.

Indices are into the concatenation of the connection's ``pre`` (or ``post``) populations; "self"
means the same global neuron on both sides. Every rule draws from the connection's own stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import BuildError, SpecError
from ..io.arrays import read_table
from ..spec.model import Connection
from .values import realize


@dataclass
class Synapses:
    """The synapses of one connection, in generation order (global neuron ids)."""

    pre: np.ndarray  # int64
    post: np.ndarray  # int64
    weight: np.ndarray  # float64
    delay_steps: np.ndarray  # int64, >= 1


def connect(
    conn: Connection,
    index: int,
    pre_ids: np.ndarray,
    post_ids: np.ndarray,
    rng: np.random.Generator,
    dt_ms: float,
    delay_rounding: str,
) -> Synapses:
    """Generate the synapses of ``conn`` (the ``index``-th connection, for error paths)."""
    path = f"connections.{index}"
    n_pre, n_post = len(pre_ids), len(post_ids)
    file_columns: dict[str, np.ndarray] = {}
    if conn.rule == "from_file":
        pre, post, file_columns = _from_file(conn, path, n_pre, n_post)
    elif conn.rule == "all_to_all":
        pre = np.repeat(np.arange(n_pre), n_post)
        post = np.tile(np.arange(n_post), n_pre)
    elif conn.rule == "one_to_one":
        pre = post = np.arange(n_pre)
    elif conn.rule == "fixed_probability":
        pre, post = _bernoulli_pairs(n_pre, n_post, conn.p, rng)
    elif conn.rule == "fixed_outdegree":
        candidates = _excluded_self(pre_ids, post_ids, conn.allow_self)
        _check_degree(conn.outdegree, n_post, candidates, conn, f"{path}.outdegree")
        post = _sample_rows(n_pre, n_post, conn.outdegree, conn.allow_multapses, candidates, rng)
        pre = np.repeat(np.arange(n_pre), conn.outdegree)
    elif conn.rule == "fixed_indegree":
        candidates = _excluded_self(post_ids, pre_ids, conn.allow_self)
        _check_degree(conn.indegree, n_pre, candidates, conn, f"{path}.indegree")
        pre = _sample_rows(n_post, n_pre, conn.indegree, conn.allow_multapses, candidates, rng)
        post = np.repeat(np.arange(n_post), conn.indegree)
    else:  # pragma: no cover - the spec layer allows no other rule
        raise SpecError(f"{path}.rule", f"unknown rule {conn.rule}")
    pre_global, post_global = pre_ids[pre], post_ids[post]
    if not conn.allow_self and conn.rule in ("all_to_all", "one_to_one", "fixed_probability", "from_file"):
        keep = pre_global != post_global
        pre_global, post_global = pre_global[keep], post_global[keep]
    n = len(pre_global)
    weight = _value_or_column(conn.weight, file_columns, "weight", n, rng, f"{path}.weight")
    if conn.delay_ms is None and "delay_ms" not in file_columns:
        delay_ms = np.full(n, dt_ms)
    else:
        delay_ms = _value_or_column(conn.delay_ms, file_columns, "delay_ms", n, rng, f"{path}.delay_ms")
    delay_steps = delays_to_steps(delay_ms, dt_ms, delay_rounding, f"{path}.delay_ms")
    return Synapses(pre_global.astype(np.int64), post_global.astype(np.int64), weight, delay_steps)


def delays_to_steps(delay_ms: np.ndarray, dt_ms: float, rounding: str, path: str) -> np.ndarray:
    """Delays in ms -> whole steps (the contract: >= 1 step; off-grid is an error unless rounding)."""
    steps = delay_ms / dt_ms
    nearest = np.rint(steps)
    off = np.abs(steps - nearest) > 1e-9 * np.maximum(1.0, np.abs(steps))
    if rounding == "error" and np.any(off):
        bad = delay_ms[np.argmax(off)]
        raise SpecError(
            path,
            f"{bad} ms is not a whole number of steps of dt_ms = {dt_ms}; "
            "use a multiple of dt_ms or set run.delay_rounding: nearest",
        )
    if len(nearest) and nearest.min() < 1:
        bad = delay_ms[np.argmin(nearest)]
        raise SpecError(path, f"{bad} ms is below one step (dt_ms = {dt_ms}); delays must be >= dt_ms")
    return nearest.astype(np.int64)


def _value_or_column(value, columns, column, n, rng, path) -> np.ndarray:
    if value is not None:
        return realize(value, n, rng, path)
    if column in columns:
        return columns[column]
    raise SpecError(path, f"required: give `{path.rsplit('.', 1)[1]}` or a `{column}` column in the file")


def _from_file(conn: Connection, path: str, n_pre: int, n_post: int):
    try:
        table = read_table(conn.file)
    except BuildError as err:
        raise SpecError(f"{path}.file", str(err)) from None
    for key in ("pre", "post"):
        if key not in table:
            raise SpecError(f"{path}.file", f"{conn.file} has no `{key}` array; present: {', '.join(table)}")
    pre = np.asarray(table["pre"]).reshape(-1)
    post = np.asarray(table["post"]).reshape(-1)
    if pre.shape != post.shape:
        raise SpecError(f"{path}.file", f"pre has {pre.size} entries but post has {post.size}")
    for key, ids, n in (("pre", pre, n_pre), ("post", post, n_post)):
        if ids.size and (not np.issubdtype(ids.dtype, np.integer) or ids.min() < 0 or ids.max() >= n):
            raise SpecError(f"{path}.file", f"`{key}` ids must be integers in 0..{n - 1}")
    columns = {}
    for key in ("weight", "delay_ms"):
        if key in table:
            col = np.asarray(table[key], dtype=np.float64).reshape(-1)
            if col.shape != pre.shape:
                raise SpecError(f"{path}.file", f"`{key}` has {col.size} entries, needs {pre.size}")
            columns[key] = col
    return pre.astype(np.int64), post.astype(np.int64), columns


def _bernoulli_pairs(n_pre: int, n_post: int, p: float, rng: np.random.Generator):
    """Each of the n_pre * n_post pairs independently with probability p, drawn as geometric
    gaps over the flattened pair index so that sparse networks cost O(synapses), not O(pairs)."""
    total = n_pre * n_post
    if p <= 0 or total == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if p >= 1:
        flat = np.arange(total, dtype=np.int64)
    else:
        pieces, position = [], -1
        while True:
            expected = int((total - position) * p * 1.05) + 64
            gaps = rng.geometric(p, size=expected)
            flat = position + np.cumsum(gaps)
            pieces.append(flat[flat < total])
            if flat[-1] >= total:
                break
            position = int(flat[-1])
        flat = np.concatenate(pieces)
    return flat // n_post, flat % n_post


def _excluded_self(row_ids: np.ndarray, col_ids: np.ndarray, allow_self: bool) -> np.ndarray | None:
    """For each row, the column index that is the same neuron (-1 if none); None if allowed."""
    if allow_self:
        return None
    position = {int(g): j for j, g in enumerate(col_ids)}
    return np.array([position.get(int(g), -1) for g in row_ids], dtype=np.int64)


def _check_degree(k: int, n: int, self_col: np.ndarray | None, conn: Connection, path: str) -> None:
    available = n - (1 if self_col is not None and np.any(self_col >= 0) else 0)
    if not conn.allow_multapses and k > available:
        raise SpecError(path, f"{k} distinct partners requested but only {available} are available")
    if k > 0 and available <= 0:
        raise SpecError(path, f"{k} partners requested but none are available")


def _sample_rows(
    rows: int, n: int, k: int, multapses: bool, self_col: np.ndarray | None, rng: np.random.Generator
) -> np.ndarray:
    """For each of ``rows`` rows, ``k`` column indices in 0..n-1 (distinct unless ``multapses``,
    never the row's own neuron when ``self_col`` is given), flattened row by row."""
    if k == 0 or rows == 0:
        return np.zeros(0, np.int64)
    if not multapses and k > n // 2:
        # Dense choice: a random permutation of each row, keeping the first k allowed entries.
        out = np.empty((rows, k), np.int64)
        for start in range(0, rows, 1024):
            stop = min(rows, start + 1024)
            keys = rng.random((stop - start, n))
            if self_col is not None:
                has = self_col[start:stop] >= 0
                keys[np.nonzero(has)[0], self_col[start:stop][has]] = 2.0  # sorts last
            out[start:stop] = np.argsort(keys, axis=1, kind="stable")[:, :k]
        return out.reshape(-1)
    cols = rng.integers(0, n, size=(rows, k))
    own = self_col[:, None] if self_col is not None else None
    while True:
        bad = np.zeros(cols.shape, bool)
        if own is not None:
            bad |= cols == own
        if not multapses:
            order = np.argsort(cols, axis=1, kind="stable")
            sorted_cols = np.take_along_axis(cols, order, axis=1)
            dup_sorted = np.zeros(cols.shape, bool)
            dup_sorted[:, 1:] = sorted_cols[:, 1:] == sorted_cols[:, :-1]
            dup = np.zeros(cols.shape, bool)
            np.put_along_axis(dup, order, dup_sorted, axis=1)
            bad |= dup
        if not bad.any():
            return cols.reshape(-1)
        cols[bad] = rng.integers(0, n, size=int(bad.sum()))
