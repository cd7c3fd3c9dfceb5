"""External inputs, drawn chunk by chunk from one stream per input.

Every input yields, for a chunk of steps, either *events* (neuron, weight, channel) for given
steps (Poisson trains, random pulses, explicit spike times), *dense* per-step currents (Gaussian
noise, currents replayed from a file) or a *bias* (DC and step currents, constant between
breakpoints). Draws are made row by row in step order, so the numbers a step gets do not depend
on how the run is cut into chunks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import BuildError, SpecError
from ..io.arrays import read_array
from ..native import kernel
from ..spec.model import (
    CurrentFileInput,
    DCInput,
    NetworkSpec,
    NoiseInput,
    PoissonInput,
    RandomPulsesInput,
    SpikeTimesInput,
    StepCurrentInput,
)
from .seeds import stream

NEVER = np.iinfo(np.int64).max


def ms_to_step(ms: float, dt_ms: float, path: str) -> int:
    """A time in ms as a whole step index; off-grid times are an error, never rounded silently."""
    steps = ms / dt_ms
    nearest = round(steps)
    if abs(steps - nearest) > 1e-9 * max(1.0, abs(steps)):
        raise SpecError(path, f"{ms} ms is not a whole number of steps of dt_ms = {dt_ms}")
    return int(nearest)


@dataclass
class ChunkInput:
    """Inputs of steps [first, first + n): events of step first + j are ``ev_ptr[j]..ev_ptr[j+1]``."""

    ev_ptr: np.ndarray  # int64 (n + 1,)
    ev_neuron: np.ndarray  # int32
    ev_weight: np.ndarray  # float64
    ev_channel: np.ndarray  # int64
    dense: np.ndarray  # float64 (n, N), or (0, N) when no input is dense
    bias: np.ndarray  # float64 (N,), constant over the chunk


class _Source:
    """One input: its targets, active steps and random stream."""

    def __init__(self, spec: NetworkSpec, index: int, targets: np.ndarray, channel: int):
        inp = spec.inputs[index]
        self.spec = inp
        self.path = f"inputs.{index}"
        self.targets = targets
        # A contiguous block of neurons: dense inputs are added to a slice, not scattered.
        contiguous = len(targets) > 0 and np.array_equal(targets, np.arange(targets[0], targets[0] + len(targets)))
        self.columns = slice(int(targets[0]), int(targets[0]) + len(targets)) if contiguous else targets
        self.channel = channel
        self._seed, self._label = spec.run.seed, spec.input_label(index)
        self.reset()
        dt = spec.run.dt_ms
        self.start = ms_to_step(inp.start_ms, dt, f"{self.path}.start_ms")
        self.stop = NEVER if inp.stop_ms is None else ms_to_step(inp.stop_ms, dt, f"{self.path}.stop_ms")
        if self.stop < self.start:
            raise SpecError(f"{self.path}.stop_ms", f"{inp.stop_ms} ms is before start_ms = {inp.start_ms} ms")
        self.table: np.ndarray | None = None
        if isinstance(inp, CurrentFileInput):
            try:
                table = np.asarray(read_array(inp.file, inp.key), dtype=np.float64)
            except BuildError as err:
                raise SpecError(f"{self.path}.file", str(err)) from None
            if table.ndim == 1 and len(targets) == 1:
                table = table[:, None]
            if table.ndim != 2 or table.shape[1] != len(targets):
                raise SpecError(
                    f"{self.path}.file",
                    f"array of shape {table.shape}; needs (steps, {len(targets)}) for the targeted neurons",
                )
            self.table = table
            self.stop = min(self.stop, self.start + table.shape[0])
        if isinstance(inp, SpikeTimesInput):
            steps = np.array([ms_to_step(t, dt, f"{self.path}.times_ms") for t in inp.times_ms], dtype=np.int64)
            order = np.argsort(steps, kind="stable")
            self.event_steps = steps[order]
            self.event_neurons = targets[np.asarray(inp.neurons, dtype=np.int64)[order]]

    def reset(self) -> None:
        """Start the random streams again from their beginning (a new run of the same network).
        ``rng`` draws how many events each step has, ``rng_where`` which neurons get them."""
        self.rng = stream(self._seed, "input", self._label)
        self.rng_where = stream(self._seed, "input targets", self._label)

    def active_rows(self, first: int, n: int) -> np.ndarray:
        """Offsets j in 0..n-1 of the chunk's steps at which this input is on."""
        lo = max(first, self.start)
        hi = min(first + n, self.stop)
        return np.arange(lo - first, max(lo, hi) - first, dtype=np.int64)


@kernel
def add_noise(rng, dense, first_row, n_rows, columns, sd, mean):
    """dense[first_row + j, columns[c]] += mean + sd * z for j < n_rows and every c, with z drawn
    from the generator ``rng`` row by row, column by column. The numbers, and the generator's
    state after them, are those of ``add_noise_plain`` (NumPy's standard_normal), drawn without
    NumPy's per-number overhead: about 3x faster, which is most of the 2003 network's input."""
    for j in range(first_row, first_row + n_rows):
        row = dense[j]
        for c in range(columns.shape[0]):
            row[columns[c]] += rng.standard_normal() * sd + mean


def add_noise_plain(rng, dense, first_row, n_rows, columns, sd, mean):
    """The plain twin of add_noise."""
    noise = rng.standard_normal((n_rows, len(columns)))
    noise *= sd
    noise += mean  # mean + sd * z, as one expression would compute it
    np.add.at(dense, (np.arange(first_row, first_row + n_rows)[:, None], np.asarray(columns)[None, :]), noise)


def _add_rows(dense: np.ndarray, rows: np.ndarray, columns, values: np.ndarray) -> None:
    """dense[rows, columns] += values, where rows are consecutive steps; a slice of columns
    (contiguous targets) avoids a scattered write. A neuron listed twice gets both columns, as
    it gets both draws of a noise input (``add_noise``)."""
    if isinstance(columns, slice):
        dense[rows[0] : rows[-1] + 1, columns] += values
    else:
        np.add.at(dense, (rows[:, None], columns[None, :]), values)


class InputDriver:
    """Draws the inputs of a run, chunk by chunk, in step order."""

    def __init__(self, spec: NetworkSpec, global_targets: list[np.ndarray], channels: list[int], n_neurons: int):
        self.n_neurons = n_neurons
        self.sources = [_Source(spec, i, global_targets[i], channels[i]) for i in range(len(spec.inputs))]
        self.has_dense = any(isinstance(s.spec, (NoiseInput, CurrentFileInput)) for s in self.sources)
        self.dt_ms = spec.run.dt_ms

    def reset(self) -> None:
        """Rewind every random stream: each run of a network sees the same inputs."""
        for s in self.sources:
            s.reset()

    def get_state(self) -> list[list[dict]]:
        """Positions of the random streams (for checkpoints)."""
        return [[s.rng.bit_generator.state, s.rng_where.bit_generator.state] for s in self.sources]

    def set_state(self, states: list[list[dict]]) -> None:
        if len(states) != len(self.sources):
            raise ValueError(f"{len(states)} input stream states for {len(self.sources)} inputs")
        for source, (state, where) in zip(self.sources, states):
            source.rng.bit_generator.state = state
            source.rng_where.bit_generator.state = where

    def expected_events_per_step(self) -> float:
        """Mean number of input events per step (Poisson trains and random pulses)."""
        total = 0.0
        for s in self.sources:
            if isinstance(s.spec, PoissonInput):
                total += s.spec.n_sources * s.spec.rate_hz * self.dt_ms / 1000.0 * len(s.targets)
            elif isinstance(s.spec, RandomPulsesInput):
                total += s.spec.k
        return total

    def breakpoints(self) -> list[int]:
        """Steps at which the bias (DC and step currents) changes; chunks are cut there."""
        points: set[int] = set()
        for s in self.sources:
            if isinstance(s.spec, DCInput):
                points.update([s.start, s.stop])
            elif isinstance(s.spec, StepCurrentInput):
                points.update(ms_to_step(t, self.dt_ms, f"{s.path}.times_ms") for t in s.spec.times_ms)
                points.update([s.start, s.stop])
        points.discard(NEVER)
        return sorted(points)

    def bias(self, step: int) -> np.ndarray:
        """The persistent current of every neuron during ``step``."""
        out = np.zeros(self.n_neurons)
        for s in self.sources:
            if not (s.start <= step < s.stop):
                continue
            if isinstance(s.spec, DCInput):
                out[s.targets] += s.spec.amplitude
            elif isinstance(s.spec, StepCurrentInput):
                times = [ms_to_step(t, self.dt_ms, f"{s.path}.times_ms") for t in s.spec.times_ms]
                k = int(np.searchsorted(times, step, side="right")) - 1
                if k >= 0:
                    out[s.targets] += s.spec.amplitudes[k]
        return out

    def draw(self, first: int, n: int) -> ChunkInput:
        """The inputs of steps [first, first + n)."""
        dense = np.zeros((n if self.has_dense else 0, self.n_neurons))
        ev_rows, ev_neuron, ev_weight, ev_channel = [], [], [], []

        def add_events(rows, neurons, weights, channel):
            ev_rows.append(rows)
            ev_neuron.append(neurons)
            ev_weight.append(weights)
            ev_channel.append(np.full(len(rows), channel, np.int64))

        for s in self.sources:
            rows = s.active_rows(first, n)
            inp = s.spec
            if isinstance(inp, NoiseInput) and len(rows):
                add_noise(s.rng, dense, int(rows[0]), len(rows), s.targets, float(inp.sd), float(inp.mean))
            elif isinstance(inp, CurrentFileInput) and len(rows):
                _add_rows(dense, rows, s.columns, s.table[first + rows[0] - s.start : first + rows[-1] + 1 - s.start])
            elif isinstance(inp, PoissonInput) and len(rows):
                # Independent Poisson counts per neuron and step, drawn as their sum (Poisson,
                # one number per step) spread uniformly over the neurons: the same distribution,
                # at a cost proportional to the events, not to neurons x steps.
                lam = inp.n_sources * inp.rate_hz * self.dt_ms / 1000.0
                per_step = s.rng.poisson(lam * len(s.targets), size=len(rows))
                where = s.rng_where.integers(0, len(s.targets), size=int(per_step.sum()))
                add_events(np.repeat(rows, per_step), s.targets[where], np.full(len(where), inp.weight), s.channel)
            elif isinstance(inp, RandomPulsesInput) and len(rows):
                if inp.k == 1:
                    picks = s.rng.integers(0, len(s.targets), size=(len(rows), 1))
                else:
                    picks = np.array([s.rng.choice(len(s.targets), inp.k, replace=False) for _ in rows])
                add_events(
                    np.repeat(rows, inp.k), s.targets[picks.reshape(-1)], np.full(picks.size, inp.amplitude), s.channel
                )
            elif isinstance(inp, SpikeTimesInput):
                lo, hi = np.searchsorted(s.event_steps, [max(first, s.start), min(first + n, s.stop)])
                add_events(s.event_steps[lo:hi] - first, s.event_neurons[lo:hi], np.full(hi - lo, inp.weight), s.channel)
        if ev_rows:
            rows = np.concatenate(ev_rows)
            order = np.argsort(rows, kind="stable")  # by step, then input order
            rows = rows[order]
            neuron = np.concatenate(ev_neuron)[order].astype(np.int32)
            weight = np.concatenate(ev_weight)[order].astype(np.float64)
            channel = np.concatenate(ev_channel)[order]
        else:
            rows = np.zeros(0, np.int64)
            neuron, weight, channel = np.zeros(0, np.int32), np.zeros(0), np.zeros(0, np.int64)
        ev_ptr = np.zeros(n + 1, np.int64)
        np.cumsum(np.bincount(rows, minlength=n), out=ev_ptr[1:])
        return ChunkInput(ev_ptr, neuron, weight, channel, dense, self.bias(first))
