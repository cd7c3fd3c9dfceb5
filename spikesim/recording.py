"""What a run produced: spikes, state traces and population rates, in memory.

The simulation hands its results over chunk by chunk as ``Chunk`` objects to sinks: a
``Recording`` (kept in memory and returned to Python users) and the HDF5 writer in
``spikesim.io.hdf5``. Both see exactly the same data, so a file read back equals the
``Recording`` of the run that wrote it.

Times are in ms. A spike fired in step n is stamped (n + 1) * dt_ms (end of the step, the step
contract); a state sample stamped t holds the values at the end of the step that ends at t.
Node ids are population-local (0 .. size - 1).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable, Iterable, Protocol

import numpy as np


@dataclass
class SpikeTrains:
    """The spikes of one population, in the order they were fired (by time, then by id)."""

    times_ms: np.ndarray  # float64
    node_ids: np.ndarray  # uint64, population-local

    @classmethod
    def empty(cls) -> "SpikeTrains":
        return cls(np.zeros(0, np.float64), np.zeros(0, np.uint64))

    def __len__(self) -> int:
        return len(self.times_ms)


@dataclass
class Trace:
    """Samples of one state variable (v in mV, u, or I) of chosen neurons of one population."""

    times_ms: np.ndarray  # (T,)
    node_ids: np.ndarray  # (R,) population-local
    values: np.ndarray  # (T, R)


@dataclass
class Rate:
    """Population rate in Hz in consecutive bins of ``bin_ms``, starting at ``times_ms``."""

    bin_ms: float
    times_ms: np.ndarray
    rate_hz: np.ndarray


@dataclass
class Weights:
    """Snapshots of the weights of one connection, synapses in generation order.

    ``pre`` and ``post`` index the concatenation of the connection's pre (post) populations, as
    a ``from_file`` connection reads them, so recorded weights can be fed back in.
    """

    pre: np.ndarray  # int64 (S,)
    post: np.ndarray  # int64 (S,)
    delay_ms: np.ndarray  # float64 (S,)
    times_ms: np.ndarray  # (T,) time of each snapshot: the end of the step it follows
    values: np.ndarray  # (T, S)


@dataclass
class SynapseLayout:
    """The synapses whose weights a file will receive, without holding them: ``blocks()``
    yields (pre, post, delay_ms) blocks in order, ``n_synapses`` in all (a writer takes this or
    a ``Weights``)."""

    n_synapses: int
    blocks: Callable[[], Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]]]


@dataclass
class WeightSnapshot:
    """Weights of one connection at some times (synapses as in its ``Weights`` layout)."""

    times_ms: np.ndarray  # (T,)
    values: np.ndarray  # (T, S)


@dataclass
class RunInfo:
    """Metadata stored with every result."""

    name: str
    network_yaml: str
    seed: int
    dt_ms: float
    duration_ms: float
    populations: dict[str, int]  # name -> size, in declaration order
    versions: dict[str, str] = field(default_factory=dict)
    # neurons whose spikes are recorded, where not the whole population (record.spikes)
    recorded_neurons: dict[str, int] = field(default_factory=dict)

    def recorded(self, population: str) -> int:
        """How many neurons of ``population`` have their spikes recorded."""
        return self.recorded_neurons.get(population, self.populations[population])


@dataclass
class Chunk:
    """The data of steps [first_step, stop_step) handed from the simulation to its sinks."""

    first_step: int
    stop_step: int
    spikes: dict[str, SpikeTrains]
    traces: dict[str, dict[str, Trace]]  # node_ids set; only the samples of this chunk
    rates: dict[str, Rate]  # only the bins completed in this chunk
    # snapshots taken in the chunk; their values may be views of the live weights, valid only
    # during ``write``: a sink copies what it keeps
    weights: dict[str, WeightSnapshot] = field(default_factory=dict)


class Sink(Protocol):
    """Receives a run's data while it runs (the Recording in memory, the HDF5 writer)."""

    def write(self, chunk: Chunk) -> None: ...

    def flush(self, last_complete_step: int) -> None: ...

    def close(self, status: str, last_complete_step: int) -> None: ...


@dataclass
class Recording:
    """Everything one run recorded, for Python users; also what ``read`` returns for a file.

    ``weights`` must hold the layout (pre, post, delays, no snapshots yet) of every connection
    whose snapshots will arrive in chunks. A recording read with ``read(path, weights="values")``
    holds ``WeightSnapshot``s instead: the snapshots without their synapses.

    ``status`` is ``running``, ``complete``, ``interrupted`` or ``failed``; ``last_complete_step``
    is the last step whose data is all here (-1 before the first step).
    """

    info: RunInfo
    spikes: dict[str, SpikeTrains] = field(default_factory=dict)
    traces: dict[str, dict[str, Trace]] = field(default_factory=dict)
    rates: dict[str, Rate] = field(default_factory=dict)
    weights: dict[str, Weights | WeightSnapshot] = field(default_factory=dict)
    status: str = "running"
    last_complete_step: int = -1

    # ---- sink protocol: chunks are appended in step order
    def write(self, chunk: Chunk) -> None:
        for pop, trains in chunk.spikes.items():
            old = self.spikes.get(pop)
            self.spikes[pop] = trains if old is None else SpikeTrains(
                np.concatenate([old.times_ms, trains.times_ms]), np.concatenate([old.node_ids, trains.node_ids])
            )
        for pop, by_var in chunk.traces.items():
            mine = self.traces.setdefault(pop, {})
            for var, tr in by_var.items():
                old = mine.get(var)
                mine[var] = tr if old is None else Trace(
                    np.concatenate([old.times_ms, tr.times_ms]), old.node_ids, np.concatenate([old.values, tr.values])
                )
        for pop, rate in chunk.rates.items():
            old = self.rates.get(pop)
            self.rates[pop] = rate if old is None else Rate(
                rate.bin_ms, np.concatenate([old.times_ms, rate.times_ms]), np.concatenate([old.rate_hz, rate.rate_hz])
            )

        for name, snap in chunk.weights.items():
            # the layout (pre, post, delays) was given when the Recording was made
            old = self.weights[name]
            self.weights[name] = Weights(
                old.pre, old.post, old.delay_ms,
                np.concatenate([old.times_ms, snap.times_ms]), np.concatenate([old.values, snap.values]),
            )  # fmt: skip

    def flush(self, last_complete_step: int) -> None:
        self.last_complete_step = last_complete_step

    def close(self, status: str, last_complete_step: int) -> None:
        self.status = status
        self.last_complete_step = last_complete_step

    def cut_after(self, last_step: int) -> None:
        """Drop the data stamped after the end of step ``last_step`` (t = (last_step + 1) dt),
        so that spikes, traces, rates and weights end at the same step."""
        dt = self.info.dt_ms
        if not np.isfinite(dt):
            return
        self.last_complete_step = last_step
        # Half a step of slack absorbs the rounding of (n + 1) * dt.
        end_ms = (last_step + 1) * dt + 0.5 * dt
        for pop, trains in self.spikes.items():
            keep = trains.times_ms <= end_ms
            self.spikes[pop] = SpikeTrains(trains.times_ms[keep], trains.node_ids[keep])
        for by_var in self.traces.values():
            for var, tr in by_var.items():
                keep = tr.times_ms <= end_ms
                by_var[var] = Trace(tr.times_ms[keep], tr.node_ids, tr.values[keep])
        for pop, rate in self.rates.items():
            keep = rate.times_ms + rate.bin_ms <= end_ms
            self.rates[pop] = Rate(rate.bin_ms, rate.times_ms[keep], rate.rate_hz[keep])
        for name, w in self.weights.items():
            keep = w.times_ms <= end_ms
            self.weights[name] = dataclasses.replace(w, times_ms=w.times_ms[keep], values=w.values[keep])

    def as_chunk(self) -> Chunk:
        """Everything recorded, as one chunk (to hand a recording to another sink)."""
        weights = {name: WeightSnapshot(w.times_ms, w.values) for name, w in self.weights.items()}
        return Chunk(0, self.last_complete_step + 1, self.spikes, self.traces, self.rates, weights)

    # ---- conveniences
    @property
    def populations(self) -> dict[str, int]:
        return self.info.populations

    @property
    def simulated_ms(self) -> float:
        """Simulated time whose data is complete."""
        return (self.last_complete_step + 1) * self.info.dt_ms

    def spike_counts(self, population: str) -> np.ndarray:
        """Spikes per neuron of ``population`` (length = population size)."""
        trains = self.spikes.get(population, SpikeTrains.empty())
        return np.bincount(trains.node_ids.astype(np.int64), minlength=self.populations[population])

    def mean_rate_hz(self, population: str) -> float:
        """Mean firing rate of the recorded neurons of ``population`` over the simulated time, in Hz."""
        seconds = self.simulated_ms / 1000.0
        if seconds <= 0:
            return 0.0
        neurons = self.info.recorded(population)
        return len(self.spikes.get(population, SpikeTrains.empty())) / (neurons * seconds) if neurons else 0.0

    def all_spikes(self) -> tuple[np.ndarray, np.ndarray]:
        """(times_ms, global ids) of every recorded spike, populations concatenated in declaration
        order, sorted by time then id."""
        offset = 0
        times, ids = [], []
        for pop, size in self.populations.items():
            trains = self.spikes.get(pop, SpikeTrains.empty())
            times.append(trains.times_ms)
            ids.append(trains.node_ids.astype(np.int64) + offset)
            offset += size
        t = np.concatenate(times) if times else np.zeros(0)
        i = np.concatenate(ids) if ids else np.zeros(0, np.int64)
        order = np.lexsort((i, t))
        return t[order], i[order]
