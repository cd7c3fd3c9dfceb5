"""``build``: a validated ``NetworkSpec`` -> the arrays a simulation needs (``Network``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..errors import BuildError, SpecError
from ..recording import SynapseLayout, Weights
from ..spec.model import ExpCurrent, NetworkSpec, PlainSynapse, SpikeTimesInput
from .connectivity import Synapses, connect
from .inputs import InputDriver
from .memory import check_memory, check_threads
from .neurons import Neurons, build_neurons
from .plasticity import rule_key, rule_row
from .seeds import stream
from .synapses import CHANNEL_CURRENT, CHANNEL_VOLTAGE, FIRST_EXP_CHANNEL, SynapseTable, build_table, selection_size

VARIABLE_CODES = {"v": 0, "u": 1, "I": 2}


@dataclass
class TracePlan:
    """Which (population, variable, neurons) columns the kernels sample, and how often."""

    population: str
    variable: str
    node_ids: np.ndarray  # population-local
    interval_steps: int
    columns: np.ndarray  # column indices in the kernel's trace buffer


@dataclass
class WeightPlan:
    """Which connection's weights are copied out, every ``interval_steps`` (0: at the start and
    the end only)."""

    connection: str
    index: int  # of the connection in the description
    group: int  # the synapse group that holds it
    # positions of its synapses in the synapse table, generation order: an index array, or a
    # slice when they are one run (then the weights are read as a view, without a copy)
    selection: np.ndarray | slice
    interval_steps: int

    @property
    def n_synapses(self) -> int:
        return selection_size(self.selection)

    @property
    def positions(self) -> np.ndarray:
        """The positions as an index array."""
        sel = self.selection
        return np.arange(sel.start, sel.stop) if isinstance(sel, slice) else sel

    def layout_blocks(self, network: "Network", block: int = 1 << 20) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The synapses of the connection as (pre, post, delay_ms) blocks of up to ``block``
        synapses, in generation order; pre and post index the connection's populations."""
        conn = network.spec.connections[self.index]
        table = network.synapses
        group = self.group
        nrn = network.neurons
        pre_ids, post_ids = nrn.global_ids(conn.pre), nrn.global_ids(conn.post)
        local_pre = np.full(nrn.n, -1, np.int32)
        local_pre[pre_ids] = np.arange(len(pre_ids))
        local_post = np.full(nrn.n, -1, np.int32)
        local_post[post_ids] = np.arange(len(post_ids))
        sel = self.selection
        pointers = table.pointers(group)
        for start in range(0, self.n_synapses, block):
            stop = min(self.n_synapses, start + block)
            where = np.arange(sel.start + start, sel.start + stop) if isinstance(sel, slice) else sel[start:stop]
            source, delay = table.segment_source_delay(group, np.searchsorted(pointers, where, side="right") - 1)
            yield local_pre[source], local_post[table.post[where]], delay * network.dt_ms

    def synapse_layout(self, network: "Network") -> SynapseLayout:
        """The layout for a file writer: produced block by block while it is written."""
        return SynapseLayout(self.n_synapses, lambda: self.layout_blocks(network))

    def layout(self, network: "Network") -> Weights:
        """The synapses (pre, post, delay) of the connection, with no snapshots yet (16 bytes
        per synapse)."""
        n = self.n_synapses
        pre, post, delay_ms = np.empty(n, np.int32), np.empty(n, np.int32), np.empty(n)
        start = 0
        for block_pre, block_post, block_delay in self.layout_blocks(network):
            stop = start + len(block_pre)
            pre[start:stop], post[start:stop], delay_ms[start:stop] = block_pre, block_post, block_delay
            start = stop
        return Weights(pre, post, delay_ms, np.zeros(0), np.zeros((0, n)))


@dataclass
class Network:
    """Everything a simulation needs, as arrays; built once, simulated any number of times."""

    spec: NetworkSpec
    neurons: Neurons
    synapses: SynapseTable
    exp_tau_ms: np.ndarray  # time constant of exponential channel k (channel FIRST_EXP_CHANNEL + k)
    inputs: InputDriver
    trace_plans: list[TracePlan]
    trace_neuron: np.ndarray  # int64 (R,) global neuron of each trace column
    trace_variable: np.ndarray  # int64 (R,) VARIABLE_CODES
    spike_filter: dict[str, np.ndarray | None]  # population -> recorded local ids (None = all)
    weight_plans: list[WeightPlan]

    @property
    def dt_ms(self) -> float:
        return self.spec.run.dt_ms

    @property
    def n_steps(self) -> int:
        return int(round(self.spec.run.duration_ms / self.spec.run.dt_ms))

    @property
    def n_channels(self) -> int:
        return FIRST_EXP_CHANNEL + len(self.exp_tau_ms)

    def population_sizes(self) -> dict[str, int]:
        return {p: self.neurons.size(p) for p in self.neurons.names}

    @property
    def has_voltage_jumps(self) -> bool:
        """Whether any synapse or input adds voltage jumps."""
        channels = [int(c) for c in self.synapses.group_channel] + [src.channel for src in self.inputs.sources]
        return CHANNEL_VOLTAGE in channels


def _channel(synapse, taus: list[float]) -> int:
    if isinstance(synapse, ExpCurrent):
        return FIRST_EXP_CHANNEL + taus.index(synapse.tau_ms)
    assert isinstance(synapse, PlainSynapse)
    return CHANNEL_CURRENT if synapse.type == "current_pulse" else CHANNEL_VOLTAGE


def build(spec: NetworkSpec, *, memory_check: bool = True) -> Network:
    """Generate connectivity, parameters and input sources from ``spec`` (deterministic in the
    seed). First, unless ``memory_check`` is False, refuse a network that cannot fit in memory."""
    check_threads(spec.run.threads)
    if memory_check:
        check_memory(spec)
    try:
        return _build(spec)
    except MemoryError as err:
        raise BuildError(f"out of memory while building the network ({' '.join(str(err).split())})") from None


def _build(spec: NetworkSpec) -> Network:
    neurons = build_neurons(spec)
    synapse_kinds = [c.synapse for c in spec.connections] + [getattr(i, "synapse", None) for i in spec.inputs]
    taus = sorted({s.tau_ms for s in synapse_kinds if isinstance(s, ExpCurrent)})

    per_connection: list[Synapses] = []
    for i, conn in enumerate(spec.connections):
        rng = stream(spec.run.seed, "connection", conn.label)
        synapses = connect(
            conn, i, neurons.global_ids(conn.pre), neurons.global_ids(conn.post), rng,
            spec.run.dt_ms, spec.run.delay_rounding,
        )  # fmt: skip
        rule = conn.plasticity
        if rule is not None and len(synapses.weight):
            low, high = float(synapses.weight.min()), float(synapses.weight.max())
            if low < rule.w_min or high > rule.w_max:
                raise SpecError(
                    f"connections.{i}.weight",
                    f"initial weights from {low:g} to {high:g} lie outside [w_min, w_max] = "
                    f"[{rule.w_min:g}, {rule.w_max:g}] of its plasticity rule",
                )
        per_connection.append(synapses)
    keys = [rule_key(c.plasticity) for c in spec.connections]
    rules = {"": rule_row(None, spec.run.dt_ms)}
    rules.update({rule_key(c.plasticity): rule_row(c.plasticity, spec.run.dt_ms) for c in spec.connections})
    recorded = {w.connection for w in spec.record.weights}
    keep = [(c.plasticity is not None and spec.record.plastic_weights) or c.label in recorded for c in spec.connections]
    table = build_table(
        neurons.n, per_connection, [_channel(c.synapse, taus) for c in spec.connections], keys, rules, keep
    )
    del per_connection

    targets = []
    for inp in spec.inputs:
        ids = neurons.global_ids(inp.target)
        # spike_times lists a neuron per spike; for every other input `neurons` selects targets
        chosen = inp.neurons is not None and not isinstance(inp, SpikeTimesInput)
        targets.append(ids[np.asarray(inp.neurons, dtype=np.int64)] if chosen else ids)
    input_channels = [
        _channel(inp.synapse, taus) if hasattr(inp, "synapse") else CHANNEL_CURRENT for inp in spec.inputs
    ]
    driver = InputDriver(spec, targets, input_channels, neurons.n)

    plans, trace_neuron, trace_variable = [], [], []
    column = 0
    for st in spec.record.state:
        size = neurons.size(st.population)
        local = np.arange(size) if st.neurons is None else np.asarray(st.neurons, dtype=np.int64)
        interval = 1 if st.interval_ms is None else int(round(st.interval_ms / spec.run.dt_ms))
        for var in st.variables:
            cols = np.arange(column, column + len(local))
            column += len(local)
            plans.append(TracePlan(st.population, var, local, interval, cols))
            trace_neuron.append(local + neurons.slice(st.population).start)
            trace_variable.append(np.full(len(local), VARIABLE_CODES[var]))

    spikes = spec.record.spikes
    if spikes == "all":
        spike_filter = {p: None for p in neurons.names}
    elif spikes == "none":
        spike_filter = {}
    elif isinstance(spikes, list):
        spike_filter = {p: None for p in spikes}
    else:
        spike_filter = {p: np.asarray(ids, dtype=np.int64) for p, ids in spikes.items()}

    return Network(
        weight_plans=_weight_plans(spec, table),
        spec=spec,
        neurons=neurons,
        synapses=table,
        exp_tau_ms=np.asarray(taus, dtype=np.float64),
        inputs=driver,
        trace_plans=plans,
        trace_neuron=np.concatenate(trace_neuron) if trace_neuron else np.zeros(0, np.int64),
        trace_variable=np.concatenate(trace_variable) if trace_variable else np.zeros(0, np.int64),
        spike_filter=spike_filter,
    )


def _weight_plans(spec: NetworkSpec, table: SynapseTable) -> list[WeightPlan]:
    """Connections listed in record.weights, and every plastic connection (first and last weights)."""
    intervals = {w.connection: w.interval_ms for w in spec.record.weights}
    for conn in spec.connections:
        if conn.plasticity is not None and spec.record.plastic_weights:
            intervals.setdefault(conn.label, None)
    plans = []
    for i, conn in enumerate(spec.connections):
        if conn.label in intervals:
            interval = intervals[conn.label]
            steps = 0 if interval is None else int(round(interval / spec.run.dt_ms))
            group, selection = table.connection_slots[i]
            plans.append(WeightPlan(conn.label, i, group, selection, steps))
    return plans


def exp_decay(tau_ms: np.ndarray, dt_ms: float) -> np.ndarray:
    """Per-step decay factor exp(-dt / tau) of each exponential channel."""
    return np.array([math.exp(-dt_ms / t) for t in tau_ms], dtype=np.float64)
