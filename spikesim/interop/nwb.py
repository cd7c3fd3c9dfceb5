"""A Recording as an NWB file (Neurodata Without Borders), through pynwb.

``write_nwb`` stores the spikes in the ``Units`` table, one unit (row) per neuron, with the
columns ``population`` and ``node_id`` (population-local id) beside ``spike_times`` (in seconds,
as NWB wants). Recorded state traces go to ``acquisition`` as ``TimeSeries`` named
``<population>_<variable>`` (one column per recorded neuron; their ids are in the description).
The resolved network description is the file's ``source_script``; the seed, dt and run status
are in ``notes``.

Needs the optional dependency pynwb (``pip install "spikesim[nwb]"``); imported when called.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ..errors import OutputError, SpikesimError
from ..recording import Recording, SpikeTrains
from ._units import trace_unit


def _pynwb():
    try:
        import pynwb
    except ImportError as error:
        raise SpikesimError(f"NWB export needs pynwb: pip install \"spikesim[nwb]\" ({error})") from error
    return pynwb


def write_nwb(
    recording: Recording,
    path: str | os.PathLike,
    *,
    session_start_time: datetime | None = None,
    identifier: str | None = None,
    session_description: str | None = None,
) -> Path:
    """Write ``recording`` to the NWB file ``path`` (replaced if it exists) and return the path.

    ``session_start_time`` (timezone-aware; default now, UTC) and ``identifier`` (default a
    fresh UUID) are required by NWB; give them to make the file reproducible."""
    pynwb = _pynwb()
    from pynwb.base import TimeSeries

    info = recording.info
    start = session_start_time or datetime.now(UTC)
    if start.tzinfo is None:
        raise ValueError("session_start_time must be timezone-aware (NWB requires it)")
    version = info.versions.get("spikesim", "unknown")
    nwbfile = pynwb.NWBFile(
        session_description=session_description or f"spikesim simulation of the network {info.name!r}",
        identifier=identifier or str(uuid.uuid4()),
        session_start_time=start,
        source_script=info.network_yaml or "(no network description stored)",
        source_script_file_name=f"{info.name}.yaml",
        notes=(f"spikesim run: seed {info.seed}, dt {info.dt_ms:g} ms, duration {info.duration_ms:g} ms, "
               f"status {recording.status}, {recording.simulated_ms:g} ms simulated; spike times are the ends "
               f"of the steps that fired; versions {info.versions}"),
        was_generated_by=[["spikesim", version]],
    )
    nwbfile.add_unit_column(name="population", description="spikesim population of the neuron")
    nwbfile.add_unit_column(name="node_id", description="population-local id of the neuron (0 .. size - 1)")
    for pop, size in recording.populations.items():
        spikes = recording.spikes.get(pop, SpikeTrains.empty())
        ids = spikes.node_ids.astype(np.int64)
        order = np.argsort(ids, kind="stable")  # keeps each neuron's spikes in time order
        seconds, ids = spikes.times_ms[order] / 1000.0, ids[order]
        bounds = np.searchsorted(ids, np.arange(size + 1))
        for node in range(size):
            nwbfile.add_unit(spike_times=seconds[bounds[node] : bounds[node + 1]], population=pop, node_id=node)
    for pop, by_var in recording.traces.items():
        for var, trace in by_var.items():
            unit = trace_unit(recording, pop, var)
            nwbfile.add_acquisition(TimeSeries(
                name=f"{pop}_{var}", data=np.asarray(trace.values), unit=unit if unit != "dimensionless" else "n/a",
                timestamps=np.asarray(trace.times_ms) / 1000.0,
                description=f"{var} of {pop} neurons {np.asarray(trace.node_ids).tolist()} (columns), "
                            f"sampled at the end of steps",
            ))  # fmt: skip
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with pynwb.NWBHDF5IO(str(path), "w") as io:
            io.write(nwbfile)
    except (OSError, RuntimeError) as error:
        raise OutputError(f"cannot write {path}: {' '.join(str(error).split())}") from error
    return path
