"""Connection rules: which (pre, post) pairs exist, with their weights and delays.

Indices are into the concatenation of the connection's ``pre`` (or ``post``) populations; "self"
means the same global neuron on both sides. Every rule draws from the connection's own stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import BuildError, SpecError
from ..io.arrays import read_table
from ..native import kernel
from ..spec.model import Connection
from .values import narrowest, realize_blocks


@dataclass
class Synapses:
    """The synapses of one connection, in generation order (global neuron ids). Synapse s comes
    from ``pre[s // per_pre]``: the rules that draw whole rows of one source (fixed_outdegree,
    all_to_all) keep the source once per row, not once per synapse."""

    pre: np.ndarray  # int32, len(post) // per_pre
    post: np.ndarray  # int32
    weight: np.ndarray  # float64; a read-only broadcast view for a constant
    # >= 1, in the narrowest of uint8, uint16 and int32 that holds them; a broadcast view for a constant
    delay_steps: np.ndarray
    per_pre: int = 1

    def __len__(self) -> int:
        return len(self.post)


DELAY_DTYPES = (np.uint8, np.uint16, np.int32)


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
    pre_ids, post_ids = pre_ids.astype(np.int32), post_ids.astype(np.int32)
    file_columns: dict[str, np.ndarray] = {}
    per_pre = 1
    # global ids: local indices drawn here are mapped in place, rows of one source are kept once
    if conn.rule == "from_file":
        pre, post, file_columns = _from_file(conn, path, n_pre, n_post)
        pre, post = pre_ids[pre], post_ids[post]
    elif conn.rule == "all_to_all":
        pre, per_pre = pre_ids, n_post
        post = np.tile(post_ids, n_pre)
    elif conn.rule == "one_to_one":
        pre, post = pre_ids, post_ids
    elif conn.rule == "fixed_probability":
        pre, post = _bernoulli_pairs(n_pre, n_post, conn.p, rng)
        _to_global(pre_ids, pre)
        _to_global(post_ids, post)
    elif conn.rule == "fixed_outdegree":
        candidates = _excluded_self(pre_ids, post_ids, conn.allow_self)
        _check_degree(conn.outdegree, n_post, candidates, conn, f"{path}.outdegree")
        post = _sample_rows(n_pre, n_post, conn.outdegree, conn.allow_multapses, candidates, rng)
        _to_global(post_ids, post)
        pre, per_pre = pre_ids, conn.outdegree
    elif conn.rule == "fixed_indegree":
        candidates = _excluded_self(post_ids, pre_ids, conn.allow_self)
        _check_degree(conn.indegree, n_pre, candidates, conn, f"{path}.indegree")
        pre = _sample_rows(n_post, n_pre, conn.indegree, conn.allow_multapses, candidates, rng)
        _to_global(pre_ids, pre)
        post = np.repeat(post_ids, conn.indegree)
    else:  # pragma: no cover - the spec layer allows no other rule
        raise SpecError(f"{path}.rule", f"unknown rule {conn.rule}")
    if len(post) == 0:
        pre, per_pre = pre[:0], 1
    if not conn.allow_self and conn.rule in ("all_to_all", "one_to_one", "fixed_probability", "from_file"):
        every_pre = pre if per_pre == 1 else np.repeat(pre, per_pre)
        keep = every_pre != post
        if not keep.all():
            pre, post, per_pre = every_pre[keep], post[keep], 1
            file_columns = {key: column[keep] for key, column in file_columns.items()}
        del every_pre, keep
    n = len(post)
    if conn.weight is None:
        weight = file_columns["weight"] if "weight" in file_columns else _missing(f"{path}.weight", "weight")
    else:
        weight = realize_blocks(conn.weight, n, rng, f"{path}.weight")
    to_steps = lambda ms: delays_to_steps(ms, dt_ms, delay_rounding, f"{path}.delay_ms")  # noqa: E731
    if conn.delay_ms is None and "delay_ms" in file_columns:
        delay_steps = narrowest(to_steps(file_columns["delay_ms"]), DELAY_DTYPES)
    else:
        delay_steps = realize_blocks(dt_ms if conn.delay_ms is None else conn.delay_ms, n, rng,
                                     f"{path}.delay_ms", convert=to_steps, dtype=DELAY_DTYPES)  # fmt: skip
    return Synapses(pre, post, weight, delay_steps, per_pre)


def _to_global(ids: np.ndarray, local: np.ndarray, block: int = 1 << 20) -> None:
    """``local[:] = ids[local]`` block by block: no second array the size of ``local``."""
    for start in range(0, len(local), block):
        part = local[start : start + block]
        part[:] = ids[part]


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
    if len(nearest) and nearest.max() >= 2**31:
        raise SpecError(path, f"{delay_ms.max()} ms is too long a delay")
    return nearest.astype(np.int32)


def _missing(path: str, column: str):
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
        return np.zeros(0, np.int32), np.zeros(0, np.int32)
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
    return (flat // n_post).astype(np.int32), (flat % n_post).astype(np.int32)


def _excluded_self(row_ids: np.ndarray, col_ids: np.ndarray, allow_self: bool) -> np.ndarray | None:
    """For each row, the column index that is the same neuron (-1 if none); None if allowed."""
    if allow_self:
        return None
    position = np.full(max(int(row_ids.max()), int(col_ids.max())) + 1, -1, np.int64)
    position[col_ids] = np.arange(len(col_ids))
    return position[row_ids]


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
    never the row's own neuron when ``self_col`` is given), flattened row by row (int32).
    Rows are drawn in blocks so that the temporaries stay small."""
    out = np.empty(rows * k, np.int32)
    if k == 0 or rows == 0:
        return out
    dense = not multapses and k > n // 2
    block = max(1, (1 << 16 if dense else 1 << 22) // max(k if not dense else n, 1))
    for start in range(0, rows, block):
        stop = min(rows, start + block)
        own = None if self_col is None else self_col[start:stop]
        if dense:
            cols = _dense_choice(stop - start, n, k, own, rng)
        else:
            cols = _sparse_choice(stop - start, n, k, multapses, own, rng)
        out[start * k : stop * k] = cols.reshape(-1)
    return out


def _dense_choice(rows, n, k, own, rng) -> np.ndarray:
    """k of n without replacement: the first k of a random permutation of each row."""
    keys = rng.random((rows, n))
    if own is not None:
        has = own >= 0
        keys[np.nonzero(has)[0], own[has]] = 2.0  # sorts last: never chosen
    return np.argsort(keys, axis=1, kind="stable")[:, :k]


def _sparse_choice(rows, n, k, multapses, own, rng) -> np.ndarray:
    """k of n by drawing with replacement and redrawing duplicates (and self) until none are left."""
    cols = rng.integers(0, n, size=(rows, k), dtype=np.int64)
    own = np.zeros(0, np.int64) if own is None else own
    # a kernel marks the redraws: the sorts of ``redraws_plain`` cost three more arrays the size of
    # ``cols``, the largest temporaries of a build
    seen = np.full(n if not multapses else 0, -1, np.int64)
    stamp = 0
    while True:
        bad = np.zeros(cols.shape, bool)
        n_bad = mark_redraws(cols, own, multapses, seen, stamp, bad)
        stamp += rows
        if n_bad == 0:
            return cols
        cols[bad] = rng.integers(0, n, size=n_bad)


@kernel
def mark_redraws(cols, own, multapses, seen, stamp, bad):
    """Set ``bad`` where a draw must be redrawn: the row's own column (``own[r]``, when ``own`` is
    not empty) and, unless ``multapses``, every repeat of a column drawn earlier in the row.
    ``seen[c] == stamp + r`` records that row r drew column c (``stamp`` must grow by the number
    of rows from call to call, so that ``seen`` needs no reset). Returns how many are set."""
    count = 0
    check_own = own.shape[0] > 0
    for r in range(cols.shape[0]):
        mark = stamp + r
        for j in range(cols.shape[1]):
            c = cols[r, j]
            redraw = check_own and c == own[r]
            if not multapses:
                if seen[c] == mark:
                    redraw = True
                seen[c] = mark
            if redraw:
                bad[r, j] = True
                count += 1
    return count


def redraws_plain(cols, own, multapses) -> np.ndarray:
    """The plain twin of mark_redraws (``own`` None or one column per row): a stable sort per row."""
    bad = np.zeros(cols.shape, bool)
    if own is not None:
        bad |= cols == own[:, None]
    if not multapses:
        order = np.argsort(cols, axis=1, kind="stable")
        sorted_cols = np.take_along_axis(cols, order, axis=1)
        dup_sorted = np.zeros(cols.shape, bool)
        dup_sorted[:, 1:] = sorted_cols[:, 1:] == sorted_cols[:, :-1]
        dup = np.zeros(cols.shape, bool)
        np.put_along_axis(dup, order, dup_sorted, axis=1)
        bad |= dup
    return bad
