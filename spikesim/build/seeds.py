"""One random stream per purpose, derived from the run seed.

Each stream is keyed by what it is for (``("connection", "exc->inh")``), not by its position, so
adding an input does not change the connectivity, and renaming nothing changes nothing.
"""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, purpose: str, name: str) -> np.random.Generator:
    """The generator for ``purpose`` (population, connection, input) of the object ``name``."""
    key = (zlib.crc32(purpose.encode()), zlib.crc32(name.encode()))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))
