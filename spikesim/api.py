"""The public entry points: load a description, build it, run it; in memory or to a file."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np


from . import __version__, native
from .build import Network, build
from .engine import simulate
from .errors import OutputError
from .recording import Chunk, Recording, RunInfo
from .spec import NetworkSpec, load, spec_from_yaml, spec_to_yaml, with_run

if TYPE_CHECKING:
    from .engine.checkpoint import Checkpoint


def versions() -> dict[str, str]:
    """The versions a run's file records (Numba's without importing it: a native run has none)."""
    from importlib.metadata import version

    return {"spikesim": __version__, "numpy": np.__version__, "numba": version("numba")}


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
        recorded_neurons=_recorded_neurons(network),
    )


def _recorded_neurons(network: Network) -> dict[str, int]:
    """Populations whose spikes are recorded for some neurons only (or none)."""
    out = {}
    for pop in network.neurons.names:
        if pop not in network.spike_filter:
            out[pop] = 0
        elif network.spike_filter[pop] is not None:
            out[pop] = len(np.unique(network.spike_filter[pop]))
    return out


def _as_network(network: NetworkSpec | Network | str | Path) -> Network:
    if isinstance(network, (str, Path)):
        network = load(network)
    if isinstance(network, NetworkSpec):
        network = build(network)
    return network


def _file_writer(network: Network, output: str | Path):
    from .io.hdf5 import SpikeFileWriter

    layout = {}
    for plan in network.trace_plans:
        layout.setdefault(plan.population, {})[plan.variable] = plan.node_ids
    weights = {plan.connection: plan.synapse_layout(network) for plan in network.weight_plans}
    return SpikeFileWriter(output, run_info(network), layout, network.spec.record.rate_bin_ms, weights)


def run(
    network: NetworkSpec | Network | str | Path,
    output: str | Path | None = None,
    *,
    on_chunk: Callable[[int, int], None] | None = None,
) -> Recording:
    """Simulate a network (a YAML path, a ``NetworkSpec`` or a built ``Network``) and return
    everything it recorded, in memory.

    With ``output`` the data is also streamed to that HDF5 file (SONATA spike layout); the file
    appears under its name only once the run is complete. For runs too long to keep in memory,
    use ``run_to_file``.
    """
    network = _as_network(network)
    recording = Recording(run_info(network), weights={p.connection: p.layout(network) for p in network.weight_plans})
    sinks: list = [recording]
    if output is not None:
        sinks.append(_file_writer(network, output))
    simulate(network, sinks, on_chunk=on_chunk)
    return recording


@dataclass
class RunSummary:
    """What a run to a file did, without its data: spike counts, time, where the data is."""

    output: Path
    populations: dict[str, int]
    spike_counts: dict[str, int] = field(default_factory=dict)
    simulated_ms: float = 0.0  # the run's data ends here (a resumed run's includes the part before its checkpoint)
    resumed_from_ms: float = 0.0  # where a resumed run's own simulation started (its checkpoint)
    wall_s: float = 0.0  # the whole run, compile_s included
    status: str = "running"
    recorded_neurons: dict[str, int] = field(default_factory=dict)  # where not all are recorded
    # of wall_s, the seconds Numba spent compiling kernels for argument types it met for the
    # first time: once per installation and kind of network, later runs load them from the cache
    compile_s: float = 0.0

    @property
    def loop_s(self) -> float:
        """The run's own time: wall_s without compile_s."""
        return self.wall_s - self.compile_s

    def mean_rate_hz(self, population: str) -> float:
        seconds = self.simulated_ms / 1000.0
        neurons = self.recorded_neurons.get(population, self.populations[population])
        return self.spike_counts.get(population, 0) / (neurons * seconds) if seconds and neurons else 0.0


class _Counter:
    """A sink that only counts spikes: constant memory however long the run."""

    def __init__(self, summary: RunSummary, dt_ms: float):
        self.summary = summary
        self.dt_ms = dt_ms

    def write(self, chunk: Chunk) -> None:
        for pop, trains in chunk.spikes.items():
            self.summary.spike_counts[pop] = self.summary.spike_counts.get(pop, 0) + len(trains)

    def flush(self, last_complete_step: int) -> None:
        self.summary.simulated_ms = (last_complete_step + 1) * self.dt_ms

    def close(self, status: str, last_complete_step: int) -> None:
        self.flush(last_complete_step)
        self.summary.status = status


class _CompileTimer:
    """What ``compile_timer`` gives: the JIT's compiling seconds when it was entered and left."""

    def __enter__(self):
        self.start, self.end = native.jit_seconds(), None
        return self

    def __exit__(self, *exc):
        self.end = native.jit_seconds()


def compile_seconds(timer: _CompileTimer) -> float:
    """The seconds a ``compile_timer`` has measured (so far, inside it)."""
    return (native.jit_seconds() if timer.end is None else timer.end) - timer.start


def compile_timer() -> _CompileTimer:
    """A context that measures the seconds Numba's JIT spends compiling inside it (cache misses
    only: loading a cached or native kernel is not compiling); read them with ``compile_seconds``."""
    return _CompileTimer()


@contextmanager
def _timed(summary: RunSummary):
    """Time the run into ``summary``: wall_s, and compile_s, the part of it Numba spent
    compiling, even when the run fails or is interrupted."""
    started = time.perf_counter()
    try:
        with compile_timer() as compiling:
            yield
    finally:
        summary.wall_s = time.perf_counter() - started
        summary.compile_s = compile_seconds(compiling)


def run_to_file(
    network: NetworkSpec | Network | str | Path,
    output: str | Path,
    *,
    on_chunk: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], int] | None = None,
    checkpoint_every_ms: float | None = None,
    checkpoint_path: str | Path | None = None,
    consume_network: bool = False,
) -> RunSummary:
    """Simulate a network into the HDF5 file ``output``, keeping nothing but counts in memory.

    A network built here (from a path or a ``NetworkSpec``) learns in place, without a copy of
    its weights; so does a ``Network`` handed in with ``consume_network`` (it then holds the
    final weights and should not be run again).

    ``checkpoint_every_ms`` writes a checkpoint (default ``<output>.ckpt``) at that interval, from
    which ``resume`` continues the run bit for bit. ``should_stop`` is polled after every chunk
    (see ``engine.simulate``).
    """
    consume_network = consume_network or not isinstance(network, Network)
    network = _as_network(network)
    output = Path(output)
    every = _checkpoint_steps(network, checkpoint_every_ms)
    ckpt = Path(checkpoint_path) if checkpoint_path else output.with_name(output.name + ".ckpt")
    summary = RunSummary(output, network.population_sizes(), recorded_neurons=_recorded_neurons(network))
    with _timed(summary):
        simulate(
            network,
            [_file_writer(network, output), _Counter(summary, network.dt_ms)],
            on_chunk=on_chunk,
            should_stop=should_stop,
            checkpoint_every_steps=every,
            checkpoint_path=ckpt,
            checkpoint_output=str(output.resolve()),
            share_weights=consume_network,
        )
    if every:
        ckpt.unlink(missing_ok=True)  # the run completed: nothing to resume
    return summary


def resume_output(checkpoint: str | Path, ck: Checkpoint, output: str | Path | None = None) -> Path:
    """The file a resumed run completes: ``output``, else the run's own output, else the
    checkpoint's path without its suffix."""
    return Path(output or ck.output or Path(checkpoint).with_suffix(""))


def resume(
    checkpoint: str | Path,
    output: str | Path | None = None,
    *,
    on_chunk: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], int] | None = None,
    checkpoint_every_ms: float | None = None,
    loaded: Checkpoint | None = None,
    on_built: Callable[[], None] | None = None,
    threads: int | None = None,
) -> RunSummary:
    """Continue a run from its checkpoint to the end, giving the same data, bit for bit, as a run
    that was never stopped. The data recorded before the checkpoint is taken from the run's
    ``<output>.partial`` file; the complete file appears under ``output``. ``loaded`` is the
    checkpoint already read from ``checkpoint`` (it is then not read again); ``on_built`` is called
    once the network is rebuilt, before the first step. ``threads`` overrides ``run.threads``
    (the data is the same with any number)."""
    from .engine.checkpoint import load_checkpoint
    from .io.hdf5 import read

    checkpoint = Path(checkpoint)
    ck = loaded if loaded is not None else load_checkpoint(checkpoint)
    output = resume_output(checkpoint, ck, output)
    network = build(with_run(spec_from_yaml(ck.network_yaml), threads=threads))
    if len(ck.state.weight) != len(network.synapses.weight_store) or len(ck.state.v) != network.neurons.n:
        raise OutputError(f"{checkpoint}: the checkpoint does not fit the network it names")
    network.synapses.weight_store = ck.state.weight  # the weights as they stood: no second copy
    partial = output.with_name(output.name + ".partial")
    if not partial.exists():
        raise OutputError(f"cannot resume: {partial}, the data before the checkpoint, is missing")
    before = read(partial, weights="values")  # the writer gets the synapses from the network
    if before.last_complete_step < ck.step - 1:
        raise OutputError(f"cannot resume: {partial} ends before the checkpoint (step {ck.step})")
    before.cut_after(ck.step - 1)
    every = _checkpoint_steps(network, checkpoint_every_ms)
    if on_built is not None:
        on_built()
    summary = RunSummary(output, network.population_sizes(), recorded_neurons=_recorded_neurons(network),
                         resumed_from_ms=ck.step * network.dt_ms)  # fmt: skip
    counter = _Counter(summary, network.dt_ms)
    writer = _file_writer(network, output)  # starts a new .partial: `before` is in memory
    with _timed(summary):
        for sink in (writer, counter):
            sink.write(before.as_chunk())
        simulate(
            network,
            [writer, counter],
            resume=ck,
            on_chunk=on_chunk,
            should_stop=should_stop,
            checkpoint_every_steps=every,
            checkpoint_path=checkpoint,
            checkpoint_output=str(output.resolve()),
        )
    checkpoint.unlink(missing_ok=True)
    return summary


def _checkpoint_steps(network: Network, every_ms: float | None) -> int | None:
    if not every_ms:
        return None
    from .build.inputs import ms_to_step

    steps = ms_to_step(every_ms, network.dt_ms, "checkpoint_every_ms")
    if steps < 1:
        from .errors import SpecError

        raise SpecError("checkpoint_every_ms", f"{every_ms} ms is less than one step of {network.dt_ms} ms")
    return steps
