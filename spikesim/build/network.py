"""``build``: a validated ``NetworkSpec`` -> the arrays a simulation needs (``Network``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..spec.model import ExpCurrent, NetworkSpec, PlainSynapse
from .connectivity import Synapses, connect
from .inputs import InputDriver
from .neurons import Neurons, build_neurons
from .seeds import stream
from .synapses import CHANNEL_CURRENT, CHANNEL_VOLTAGE, FIRST_EXP_CHANNEL, SynapseTable, build_table

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


def _channel(synapse, taus: list[float]) -> int:
    if isinstance(synapse, ExpCurrent):
        return FIRST_EXP_CHANNEL + taus.index(synapse.tau_ms)
    assert isinstance(synapse, PlainSynapse)
    return CHANNEL_CURRENT if synapse.type == "current_pulse" else CHANNEL_VOLTAGE


def build(spec: NetworkSpec) -> Network:
    """Generate connectivity, parameters and input sources from ``spec`` (deterministic in the seed)."""
    neurons = build_neurons(spec)
    synapse_kinds = [c.synapse for c in spec.connections] + [getattr(i, "synapse", None) for i in spec.inputs]
    taus = sorted({s.tau_ms for s in synapse_kinds if isinstance(s, ExpCurrent)})

    per_connection: list[Synapses] = []
    for i, conn in enumerate(spec.connections):
        rng = stream(spec.run.seed, "connection", conn.label)
        per_connection.append(
            connect(
                conn,
                i,
                neurons.global_ids(conn.pre),
                neurons.global_ids(conn.post),
                rng,
                spec.run.dt_ms,
                spec.run.delay_rounding,
            )
        )
    table = build_table(neurons.n, per_connection, [_channel(c.synapse, taus) for c in spec.connections])

    targets = []
    for inp in spec.inputs:
        ids = neurons.global_ids(inp.target)
        targets.append(ids if inp.neurons is None else ids[np.asarray(inp.neurons, dtype=np.int64)])
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


def exp_decay(tau_ms: np.ndarray, dt_ms: float) -> np.ndarray:
    """Per-step decay factor exp(-dt / tau) of each exponential channel."""
    return np.array([math.exp(-dt_ms / t) for t in tau_ms], dtype=np.float64)
