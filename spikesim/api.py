"""The public entry points: load a description, build it, run it, get a ``Recording``."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from . import __version__
from .build import Network, build
from .engine import simulate
from .recording import Recording, RunInfo, Weights
from .spec import NetworkSpec, load, spec_to_yaml


def versions() -> dict[str, str]:
    import numba
    import numpy

    return {"spikesim": __version__, "numpy": numpy.__version__, "numba": numba.__version__}


def run_info(network: Network) -> RunInfo:
    spec = network.spec
    return RunInfo(
        name=spec.name,
        network_yaml=spec_to_yaml(spec),
        seed=spec.run.seed,
        dt_ms=spec.run.dt_ms,
        duration_ms=spec.run.duration_ms,
        populations=network.population_sizes(),
        versions=versions(),
    )


def run(
    network: NetworkSpec | Network | str | Path,
    output: str | Path | None = None,
    *,
    on_chunk: Callable[[int, int], None] | None = None,
) -> Recording:
    """Simulate a network (a YAML path, a ``NetworkSpec`` or a built ``Network``).

    With ``output`` the data is also streamed to that HDF5 file (SONATA spike layout); the file
    appears under its name only once the run is complete.
    """
    if isinstance(network, (str, Path)):
        network = load(network)
    if isinstance(network, NetworkSpec):
        network = build(network)
    info = run_info(network)
    recording = Recording(info)
    sinks: list = [recording]
    if output is not None:
        from .io.hdf5 import SpikeFileWriter

        layout = {}
        for plan in network.trace_plans:
            layout.setdefault(plan.population, {})[plan.variable] = plan.node_ids
        weights = {
            plan.connection: Weights(plan.pre, plan.post, plan.delay_ms, np.zeros(0), np.zeros((0, len(plan.pre))))
            for plan in network.weight_plans
        }
        sinks.append(SpikeFileWriter(output, info, layout, network.spec.record.rate_bin_ms, weights))
    simulate(network, sinks, on_chunk=on_chunk)
    return recording
