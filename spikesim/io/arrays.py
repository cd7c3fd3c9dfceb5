"""Read arrays that a description points to: .npy, .npz (``key``), .csv (``key`` = column name)
and .h5/.hdf5 (``key`` = dataset, read by ``spikesim.io.hdf5``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import BuildError

SUFFIXES = (".npy", ".npz", ".csv", ".h5", ".hdf5")


def read_table(path: str | Path) -> dict[str, np.ndarray]:
    """All named columns of a file: .npz arrays, .csv columns (header row), .h5 top-level datasets."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.exists():
        raise BuildError(f"{path}: file not found")
    if suffix == ".npz":
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    if suffix == ".csv":
        data = np.genfromtxt(path, delimiter=",", names=True, dtype=None, encoding="utf-8")
        return {name: np.asarray(data[name]).reshape(-1) for name in data.dtype.names}
    if suffix in (".h5", ".hdf5"):
        from ..errors import OutputError
        from .hdf5 import read_datasets

        try:
            return read_datasets(path)
        except OutputError as err:
            raise BuildError(str(err)) from None
    raise BuildError(f"{path}: cannot read tables from {suffix or 'a file without suffix'}; allowed: .npz, .csv, .h5")


def read_array(path: str | Path, key: str | None = None) -> np.ndarray:
    """One array from a file; ``key`` names it inside .npz/.csv/.h5 (optional when there is one)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise BuildError(f"{path}: unknown array file type {suffix!r}; allowed: {', '.join(SUFFIXES)}")
    if not path.exists():
        raise BuildError(f"{path}: file not found")
    if suffix == ".npy":
        return np.load(path)
    table = read_table(path)
    if key is None:
        if len(table) != 1:
            raise BuildError(f"{path}: holds {', '.join(table)}; name one with `key`")
        return next(iter(table.values()))
    if key not in table:
        raise BuildError(f"{path}: no array {key!r}; present: {', '.join(table) or 'none'}")
    return table[key]
