"""Estimate, before building, the memory a network needs; refuse one that cannot fit (and
more threads than the machine runs).

The estimate counts the arrays a run keeps (synapses, per-(source, delay) pointers, neuron
state, spike and trace history, plasticity indices) and the peak while the table is filled
(about 12 bytes per synapse: the generated targets (4 bytes), delays (1 to 4) and weights (8, none
for a constant) of every connection, and sources (4) for rules that do not draw whole rows of one
source, beside the table). Measured peaks are lower: 10 bytes per synapse in all for 100M static
synapses with constant weights, 20 for 10M plastic ones.
Values whose range is only known after drawing (expressions, files) count as a delay of one
step.
"""

from __future__ import annotations

import ctypes

import psutil

from ..errors import BuildError, SpecError
from ..spec.model import NetworkSpec, Uniform, Values

BUILD_BYTES_PER_SYNAPSE = 12
RUN_BYTES_PER_STATIC_SYNAPSE = 12
EXTRA_BYTES_PER_PLASTIC_SYNAPSE = 24  # incoming index (8), a copy of the weight, spnet's derivative
NEURON_BYTES = 8 * 24

# glibc's mallopt parameters
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3


def _max_delay_steps(spec: NetworkSpec) -> int:
    dt = spec.run.dt_ms
    longest = dt
    for conn in spec.connections:
        value = conn.delay_ms
        if isinstance(value, (int, float)):
            longest = max(longest, value)
        elif isinstance(value, Uniform):
            longest = max(longest, value.uniform.high)
        elif isinstance(value, Values) and value.values:
            longest = max(longest, max(value.values))
    return max(1, int(round(longest / dt)))


def synapse_count(spec: NetworkSpec, index: int) -> int:
    """The expected number of synapses of connection ``index`` (files: not counted)."""
    conn = spec.connections[index]
    n_pre = sum(spec.populations[p].size for p in conn.pre)
    n_post = sum(spec.populations[p].size for p in conn.post)
    return int(
        {
            "all_to_all": n_pre * n_post,
            "one_to_one": n_pre,
            "fixed_probability": (conn.p or 0) * n_pre * n_post,
            "fixed_indegree": (conn.indegree or 0) * n_post,
            "fixed_outdegree": (conn.outdegree or 0) * n_pre,
        }.get(conn.rule, 0)
    )


def estimate_bytes(spec: NetworkSpec) -> dict[str, int]:
    """Bytes needed, by item; ``peak`` is the largest total at any moment."""
    n = sum(p.size for p in spec.populations.values())
    d = _max_delay_steps(spec)
    counts = [synapse_count(spec, i) for i in range(len(spec.connections))]
    synapses = sum(counts)
    plastic = sum(c for c, conn in zip(counts, spec.connections) if conn.plasticity is not None)
    n_plastic_groups = len({conn.plasticity.model_dump_json() for conn in spec.connections if conn.plasticity})
    groups = max(1, len({(str(c.synapse), str(c.plasticity)) for c in spec.connections}))
    items = {
        "synapses": synapses * RUN_BYTES_PER_STATIC_SYNAPSE + plastic * EXTRA_BYTES_PER_PLASTIC_SYNAPSE,
        "pointers": groups * n * d * 4,  # int32, at most: a group keeps its own sources and delays
        "neurons": n * NEURON_BYTES,
        "history": (d + 1) * n * (4 + 8 * n_plastic_groups),
        "inputs": 64 * 2**20 if any(i.type in ("noise", "current_file") for i in spec.inputs) else 0,
        "building": synapses * BUILD_BYTES_PER_SYNAPSE,
    }
    items["peak"] = sum(items.values())
    items["synapse_count"] = synapses
    return items


def check_memory(spec: NetworkSpec) -> None:
    """Raise a one-line ``BuildError`` when the network will not fit in the available memory."""
    need = estimate_bytes(spec)
    available = psutil.virtual_memory().available
    if need["peak"] > available:
        gib = 2.0**30
        raise BuildError(
            f"network needs about {need['peak'] / gib:.1f} GiB ({need['synapse_count']:.3g} synapses, "
            f"{sum(p.size for p in spec.populations.values())} neurons) but {available / gib:.1f} GiB is available; "
            "make it smaller, or go ahead anyway with --ignore-memory-check (build(spec, memory_check=False))"
        )


def check_threads(threads: int) -> None:
    """Refuse more threads (``run.threads``) than Numba runs on this machine."""
    if threads == 1:
        return
    import numba

    available = numba.config.NUMBA_NUM_THREADS
    if threads > available:
        raise SpecError(
            "run.threads", f"{threads} threads asked for, but this machine runs at most {available} (its cores, or NUMBA_NUM_THREADS); use 1 to {available}"
        )


def _mallopt(param: int, value: int) -> bool:
    """glibc's mallopt(param, value); False where the C library has none or refuses."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(param, int(value)))


def return_freed_arrays_to_the_system(threshold_bytes: int = 1 << 17) -> bool:
    """Have the C library's malloc (glibc) serve every block of ``threshold_bytes`` or more with
    mmap, so that freed arrays, such as the temporaries of a build, go back to the operating
    system. By default glibc raises this threshold after large blocks are freed (up to 32 MiB),
    and the freed temporaries of a big build then stay resident: about 60 MB for 10 million
    synapses. Process-wide, so only the owner of the process should call it (``spikesim run``
    does). Returns whether it took effect (False where malloc has no ``mallopt``)."""
    return _mallopt(M_MMAP_THRESHOLD, threshold_bytes)


def reuse_freed_arrays_during_the_run(mmap_bytes: int = 4 << 20, trim_bytes: int = 16 << 20) -> bool:
    """After the build (see ``return_freed_arrays_to_the_system``): serve blocks under
    ``mmap_bytes`` from malloc's heap again, and keep up to ``trim_bytes`` of freed heap, so that
    the arrays each chunk of a run allocates and frees (its spikes, their times, file buffers)
    reuse memory instead of mapping and faulting in fresh pages every time: spnet's 60 s spend
    about 13 ms less outside the kernels. Process-wide, as that function; returns whether it took
    effect."""
    return _mallopt(M_MMAP_THRESHOLD, mmap_bytes) and _mallopt(M_TRIM_THRESHOLD, trim_bytes)
