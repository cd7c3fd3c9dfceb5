"""The network description: validated, frozen Python objects that mirror the YAML file.

This layer knows no arrays. Every value that may vary per neuron or per synapse is a ``Value``:
a number, or a mapping with exactly one of the keys ``uniform``, ``normal``, ``expr``,
``values`` or ``file``. Units are in the names (``dt_ms``, ``delay_ms``, ``rate_hz``).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from .presets import PARAM_NAMES, PRESETS


def _no_bool(value: Any) -> Any:
    # YAML reads `off`, `no`, `yes` as booleans; a boolean is never a valid number here.
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got the boolean {value!r} (YAML reads yes/no/on/off as booleans)")
    return value


Number = Annotated[float, BeforeValidator(_no_bool)]
Count = Annotated[int, BeforeValidator(_no_bool)]


class Strict(BaseModel):
    """Base of every spec object: unknown keys are errors, objects are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# ---------------------------------------------------------------- values and distributions
class UniformParams(Strict):
    low: Number
    high: Number

    @model_validator(mode="after")
    def _ordered(self) -> "UniformParams":
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be >= low ({self.low})")
        return self


class Uniform(Strict):
    """Uniform on [low, high): ``{uniform: {low: 0, high: 0.5}}``."""

    uniform: UniformParams


class NormalParams(Strict):
    mean: Number
    sd: Annotated[Number, Field(ge=0)]


class Normal(Strict):
    """Gaussian: ``{normal: {mean: 0, sd: 1}}``."""

    normal: NormalParams


class Expr(Strict):
    """An arithmetic expression evaluated per element, e.g. ``{expr: "-65 + 15*r**2"}``.

    Names: ``r`` (one U(0,1) number per element; for neuron parameters one per neuron, shared by
    all parameters of that neuron), ``i`` (element index), ``N`` (element count); for initial
    values also the neuron's parameters and, for ``u``, the initial ``v``.
    """

    expr: str


class Values(Strict):
    """Explicit per-element values: ``{values: [1, 2, 3]}``."""

    values: list[Number]


class FromFile(Strict):
    """Per-element values from a .npy, .npz (``key``), .h5 (``key``) or .csv (``key`` = column) file."""

    file: str
    key: str | None = None


def _value_kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, str)) and not isinstance(value, dict):
        return "number"
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        if key in ("uniform", "normal", "expr", "values"):
            return key
    if isinstance(value, dict) and "file" in value:
        return "file"
    if isinstance(value, BaseModel):
        return {Uniform: "uniform", Normal: "normal", Expr: "expr", Values: "values", FromFile: "file"}.get(
            type(value)
        )
    return None


Value = Annotated[
    Union[
        Annotated[Number, Tag("number")],
        Annotated[Uniform, Tag("uniform")],
        Annotated[Normal, Tag("normal")],
        Annotated[Expr, Tag("expr")],
        Annotated[Values, Tag("values")],
        Annotated[FromFile, Tag("file")],
    ],
    Discriminator(
        _value_kind,
        custom_error_type="value_kind",
        custom_error_message="expected a number or a mapping with one key of uniform, normal, expr, values, file",
    ),
]


def value_minimum(value: Any) -> float | None:
    """The smallest value a ``Value`` can take, where it is known without arrays."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, Uniform):
        return value.uniform.low
    if isinstance(value, Values):
        return min(value.values) if value.values else None
    return None


# ---------------------------------------------------------------- populations
class NeuronParams(Strict):
    """Izhikevich parameters: a preset name and/or per-parameter values (numbers override the preset)."""

    preset: str | None = None
    a: Value | None = None
    b: Value | None = None
    c: Value | None = None
    d: Value | None = None
    vpeak: Value | None = None
    C: Value | None = None
    k: Value | None = None
    vr: Value | None = None
    vt: Value | None = None


class InitialState(Strict):
    """Initial membrane potential v (mV) and recovery variable u; defaults: v = -65 (2003) or vr
    (2007), u on its nullcline (b v for 2003, b (v - vr) for 2007)."""

    v: Value | None = None
    u: Value | None = None


class Population(Strict):
    """A population of Izhikevich neurons.

    ``model``: ``izhikevich2003`` (v' = 0.04 v^2 + 5 v + 140 - u + I, dimensionless I) or
    ``izhikevich2007`` (C v' = k (v - vr)(v - vt) - u + I, I in pA).
    ``scheme``: ``izhikevich`` (two dt/2 half-steps of v, then u with the new v) or ``euler``.
    """

    size: Annotated[Count, Field(ge=1)]
    model: Literal["izhikevich2003", "izhikevich2007"] = "izhikevich2003"
    scheme: Literal["izhikevich", "euler"] = "izhikevich"
    params: NeuronParams = NeuronParams()
    initial: InitialState = InitialState()

    @model_validator(mode="after")
    def _params_fit_model(self) -> "Population":
        allowed = PARAM_NAMES[self.model]
        presets = PRESETS[self.model]
        if self.params.preset is not None and self.params.preset not in presets:
            raise ValueError(
                f"params.preset: unknown preset {self.params.preset!r} for model {self.model}; "
                f"allowed: {', '.join(presets)}"
            )
        given = {k for k, v in self.params if v is not None and k != "preset"}
        extra = given - set(allowed)
        if extra:
            raise ValueError(
                f"params: {', '.join(sorted(extra))} not a parameter of {self.model}; allowed: {', '.join(allowed)}"
            )
        if self.params.preset is None:
            needed = set(allowed) - given - {"vpeak"} if self.model == "izhikevich2003" else set(allowed) - given
            if needed:
                raise ValueError(
                    f"params: missing {', '.join(sorted(needed))} (give them or a preset: {', '.join(presets)})"
                )
        return self


# ---------------------------------------------------------------- connections
class ExpCurrent(Strict):
    """A current that jumps by w at arrival and decays with time constant tau_ms."""

    type: Literal["exp_current"]
    tau_ms: Annotated[Number, Field(gt=0)]


SynapseKind = Literal["current_pulse", "voltage_jump"]


class PlainSynapse(Strict):
    type: SynapseKind


def _synapse(value: Any) -> Any:
    # Allow the short form `synapse: current_pulse`.
    return {"type": value} if isinstance(value, str) else value


Synapse = Annotated[
    Union[PlainSynapse, ExpCurrent], Field(discriminator="type"), BeforeValidator(_synapse)
]

class StdpRule(Strict):
    """Pair-based STDP with exponential traces, timing at the synapse (axonal delays).

    Each neuron keeps a presynaptic trace x (jumps by ``A_plus`` at its spikes, decays with
    ``tau_plus_ms``) and a postsynaptic trace y (``A_minus``, ``tau_minus_ms``). When the post
    neuron fires, every plastic synapse onto it is potentiated by x of its source as it stood
    ``delay`` earlier (so that x counts arrivals at the synapse); when a presynaptic spike
    arrives, the synapse is depressed by y of its target as it stands then. Weights are clipped
    to [w_min, w_max] after every change.

    ``stdp_additive``: traces summed over all spikes (all-to-all pairing), dw = +x / -y.
    ``stdp_multiplicative``: traces summed, dw = +x (w_max - w) / -y (w - w_min).
    ``stdp_nearest``: traces reset to A at each spike (nearest-neighbour pairing), dw = +x / -y.
    """

    rule: Literal["stdp_additive", "stdp_multiplicative", "stdp_nearest"]
    A_plus: Annotated[Number, Field(ge=0)]
    A_minus: Annotated[Number, Field(ge=0)]
    tau_plus_ms: Annotated[Number, Field(gt=0)] = 20.0
    tau_minus_ms: Annotated[Number, Field(gt=0)] = 20.0
    w_min: Number = 0.0
    w_max: Number

    @model_validator(mode="after")
    def _bounds(self) -> "StdpRule":
        if self.w_max < self.w_min:
            raise ValueError(f"w_max ({self.w_max}) must be >= w_min ({self.w_min})")
        return self


class SpnetRule(Strict):
    """Izhikevich's 2006 rule (spnet.cpp): nearest-spike traces set to A_plus (pre) and A_minus
    (post) at each spike and multiplied by ``trace_decay_per_ms`` every ms; potentiation and
    depression go into a derivative sd; every ``update_interval_ms``: w += drift + sd,
    sd *= derivative_decay, w clipped to [w_min, w_max]. Defaults are spnet's numbers."""

    rule: Literal["spnet"]
    A_plus: Annotated[Number, Field(ge=0)] = 0.1
    A_minus: Annotated[Number, Field(ge=0)] = 0.12
    trace_decay_per_ms: Annotated[Number, Field(gt=0, le=1)] = 0.95
    update_interval_ms: Annotated[Number, Field(gt=0)] = 1000.0
    drift: Number = 0.01
    derivative_decay: Annotated[Number, Field(ge=0, le=1)] = 0.9
    w_min: Number = 0.0
    w_max: Number = 10.0

    @model_validator(mode="after")
    def _bounds(self) -> "SpnetRule":
        if self.w_max < self.w_min:
            raise ValueError(f"w_max ({self.w_max}) must be >= w_min ({self.w_min})")
        return self


Plasticity = Annotated[Union[StdpRule, SpnetRule], Field(discriminator="rule")]

ConnectionRule = Literal[
    "all_to_all", "one_to_one", "fixed_probability", "fixed_indegree", "fixed_outdegree", "from_file"
]
_RULE_KEYS = {
    "all_to_all": set(),
    "one_to_one": set(),
    "fixed_probability": {"p"},
    "fixed_indegree": {"indegree"},
    "fixed_outdegree": {"outdegree"},
    "from_file": {"file"},
}

Names = Annotated[list[str], Field(min_length=1), BeforeValidator(lambda v: [v] if isinstance(v, str) else v)]


class Connection(Strict):
    """Synapses from the neurons of ``pre`` to those of ``post`` (each a population name or a list
    of names, indexed as their concatenation).

    ``weight`` is in the current unit of the post population (``current_pulse``,
    ``exp_current``) or in mV (``voltage_jump``). ``delay_ms`` is axonal and must be at least one
    step (the contract's "next integration").
    """

    name: str | None = None
    pre: Names
    post: Names
    rule: ConnectionRule
    p: Annotated[Number, Field(ge=0, le=1)] | None = None
    indegree: Annotated[Count, Field(ge=0)] | None = None
    outdegree: Annotated[Count, Field(ge=0)] | None = None
    file: str | None = None
    allow_self: bool = True
    allow_multapses: bool = False
    weight: Value | None = None
    delay_ms: Value | None = None
    synapse: Synapse = PlainSynapse(type="current_pulse")
    plasticity: Plasticity | None = None

    @model_validator(mode="after")
    def _rule_params(self) -> "Connection":
        needed = _RULE_KEYS[self.rule]
        for key in ("p", "indegree", "outdegree", "file"):
            value = getattr(self, key)
            if key in needed and value is None:
                raise ValueError(f"rule {self.rule} needs `{key}`")
            if key not in needed and value is not None:
                raise ValueError(f"`{key}` does not apply to rule {self.rule}")
        if self.rule != "from_file":
            if self.weight is None:
                raise ValueError("`weight` is required")
        return self

    @property
    def label(self) -> str:
        return self.name or f"{'+'.join(self.pre)}->{'+'.join(self.post)}"


# ---------------------------------------------------------------- inputs
class InputBase(Strict):
    name: str | None = None
    target: Names
    neurons: list[Annotated[Count, Field(ge=0)]] | None = Field(
        default=None, description="indices into the concatenated targets; default all"
    )
    start_ms: Annotated[Number, Field(ge=0)] = 0.0
    stop_ms: Number | None = None


class PoissonInput(InputBase):
    """Independent Poisson trains: each target neuron receives ``n_sources`` trains of ``rate_hz``,
    each arrival adding ``weight`` through ``synapse`` in the step it arrives."""

    type: Literal["poisson"]
    rate_hz: Annotated[Number, Field(ge=0)]
    weight: Number
    n_sources: Annotated[Count, Field(ge=1)] = 1
    synapse: Synapse = PlainSynapse(type="current_pulse")


class NoiseInput(InputBase):
    """A Gaussian current drawn afresh every step (``mean + sd * N(0,1)``, constant over the step,
    as in net.m: not scaled with dt)."""

    type: Literal["noise"]
    mean: Number = 0.0
    sd: Annotated[Number, Field(ge=0)]


class DCInput(InputBase):
    """A constant current between start_ms and stop_ms."""

    type: Literal["dc"]
    amplitude: Number


class StepCurrentInput(InputBase):
    """A piecewise-constant current: ``amplitudes[i]`` from ``times_ms[i]`` to the next time."""

    type: Literal["step_current"]
    times_ms: list[Annotated[Number, Field(ge=0)]]
    amplitudes: list[Number]

    @model_validator(mode="after")
    def _same_length(self) -> "StepCurrentInput":
        if len(self.times_ms) != len(self.amplitudes):
            raise ValueError(
                f"times_ms has {len(self.times_ms)} entries but amplitudes has {len(self.amplitudes)}"
            )
        if any(b < a for a, b in zip(self.times_ms, self.times_ms[1:])):
            raise ValueError("times_ms must be non-decreasing")
        return self


class RandomPulsesInput(InputBase):
    """Every step, ``k`` distinct target neurons drawn uniformly get ``amplitude`` added to I for
    that step (spnet's thalamic input: k = 1, amplitude = 20, target all neurons)."""

    type: Literal["random_pulses"]
    k: Annotated[Count, Field(ge=1)]
    amplitude: Number


class SpikeTimesInput(InputBase):
    """Explicit arrivals: ``weight`` enters the input of step ``times_ms[i] / dt`` of target neuron
    ``neurons[i]`` (parallel lists)."""

    type: Literal["spike_times"]
    times_ms: list[Annotated[Number, Field(ge=0)]]
    weight: Number
    synapse: Synapse = PlainSynapse(type="current_pulse")

    @model_validator(mode="after")
    def _parallel(self) -> "SpikeTimesInput":
        if self.neurons is None or len(self.neurons) != len(self.times_ms):
            raise ValueError("spike_times needs `neurons` and `times_ms` of the same length")
        return self


class CurrentFileInput(InputBase):
    """A current replayed from a file: array of shape (steps, targeted neurons), one row per
    step from start_ms on (e.g. the exact thalamic input of a reference run)."""

    type: Literal["current_file"]
    file: str
    key: str | None = None


Input = Annotated[
    Union[
        PoissonInput, NoiseInput, DCInput, StepCurrentInput, RandomPulsesInput, SpikeTimesInput, CurrentFileInput
    ],
    Field(discriminator="type"),
]


# ---------------------------------------------------------------- recording and run
class StateRecord(Strict):
    """Record state variables of chosen neurons every ``interval_ms``; a sample stamped t holds
    the values at the end of the step ending at t (after reset), as Brian2's StateMonitor."""

    population: str
    variables: list[Literal["v", "u", "I"]] = ["v"]
    neurons: list[Annotated[Count, Field(ge=0)]] | None = None
    interval_ms: Annotated[Number, Field(gt=0)] | None = None


class WeightRecord(Strict):
    """Snapshots of the weights of one connection every ``interval_ms`` (and at the end)."""

    connection: str
    interval_ms: Annotated[Number, Field(gt=0)] | None = None


class Record(Strict):
    """What to record: ``spikes`` (``all``, ``none``, a list of populations or a mapping
    population -> neuron ids), ``state`` variables, population rates in bins of ``rate_bin_ms``,
    and ``weights`` of connections (plastic connections' first and last weights are kept too,
    unless ``plastic_weights`` is false)."""

    spikes: Literal["all", "none"] | list[str] | dict[str, list[Annotated[Count, Field(ge=0)]]] = "all"
    state: list[StateRecord] = []
    rate_bin_ms: Annotated[Number, Field(gt=0)] | None = None
    weights: list[WeightRecord] = []
    plastic_weights: bool = Field(
        default=True, description="keep the first and last weights of every plastic connection"
    )


class Run(Strict):
    duration_ms: Annotated[Number, Field(gt=0)]
    dt_ms: Annotated[Number, Field(gt=0)] = 1.0
    seed: Annotated[Count, Field(ge=0)] = 0
    output: str | None = None
    flush_every_ms: Annotated[Number, Field(gt=0)] = 1000.0
    threads: Annotated[Count, Field(ge=1)] = Field(
        default=1, description="threads for the neuron update and the potentiation (results do not depend on it)"
    )
    delay_rounding: Literal["error", "nearest"] = Field(
        default="error", description="a delay that is not a whole number of steps: error, or round to nearest"
    )


# ---------------------------------------------------------------- the network
class NetworkSpec(Strict):
    """A whole simulation: populations, connections, inputs, recording and run settings."""

    name: str = "network"
    description: str | None = None
    populations: dict[str, Population]
    connections: list[Connection] = []
    inputs: list[Input] = []
    record: Record = Record()
    run: Run

    @field_validator("populations")
    @classmethod
    def _some_population(cls, value: dict[str, Population]) -> dict[str, Population]:
        if not value:
            raise ValueError("at least one population is needed")
        return value

    @model_validator(mode="after")
    def _cross_references(self) -> "NetworkSpec":
        from ..errors import SpecError

        pops = self.populations
        allowed = ", ".join(pops)

        def check(path: str, names: list[str]) -> None:
            for name in names:
                if name not in pops:
                    raise SpecError(path, f"unknown population {name!r}; allowed: {allowed}")

        dt = self.run.dt_ms
        seen: set[str] = set()
        for i, conn in enumerate(self.connections):
            check(f"connections.{i}.pre", conn.pre)
            check(f"connections.{i}.post", conn.post)
            if conn.label in seen:
                raise SpecError(f"connections.{i}.name", f"duplicate connection name {conn.label!r}; give it a `name`")
            seen.add(conn.label)
            if conn.rule == "one_to_one":
                n_pre = sum(pops[p].size for p in conn.pre)
                n_post = sum(pops[p].size for p in conn.post)
                if n_pre != n_post:
                    raise SpecError(
                        f"connections.{i}", f"one_to_one needs equal sizes, got {n_pre} pre and {n_post} post"
                    )
            rule = conn.plasticity
            if isinstance(rule, SpnetRule) and not _whole_steps(rule.update_interval_ms, dt):
                raise SpecError(
                    f"connections.{i}.plasticity.update_interval_ms",
                    f"{rule.update_interval_ms} ms is not a whole number of steps of dt_ms = {dt}",
                )
            low = value_minimum(conn.delay_ms)
            if low is not None and low < dt * (1 - 1e-9):
                raise SpecError(
                    f"connections.{i}.delay_ms",
                    f"{low} ms is below one step (dt_ms = {dt}); delays must be >= dt_ms",
                )
        names: set[str] = set()
        for i, inp in enumerate(self.inputs):
            check(f"inputs.{i}.target", inp.target)
            label = inp.name or f"input{i}"
            if label in names:
                raise SpecError(f"inputs.{i}.name", f"duplicate input name {label!r}")
            names.add(label)
            size = sum(pops[p].size for p in inp.target)
            if inp.neurons is not None and inp.neurons and max(inp.neurons) >= size:
                raise SpecError(
                    f"inputs.{i}.neurons", f"neuron {max(inp.neurons)} out of range; targets have {size} neurons"
                )
            if isinstance(inp, PoissonInput):
                per_step = inp.rate_hz * inp.n_sources * dt / 1000.0
                if per_step > MAX_POISSON_PER_STEP:
                    raise SpecError(
                        f"inputs.{i}.rate_hz",
                        f"{inp.rate_hz} Hz x {inp.n_sources} sources is {per_step:g} events per neuron and step; "
                        f"at most {MAX_POISSON_PER_STEP} (use a current input for such drive)",
                    )
            if isinstance(inp, RandomPulsesInput):
                n = len(inp.neurons) if inp.neurons is not None else size
                if inp.k > n:
                    raise SpecError(f"inputs.{i}.k", f"{inp.k} pulses per step but only {n} target neurons")
        rec = self.record
        if isinstance(rec.spikes, list):
            check("record.spikes", rec.spikes)
        elif isinstance(rec.spikes, dict):
            check("record.spikes", list(rec.spikes))
            for pop, ids in rec.spikes.items():
                if ids and max(ids) >= pops[pop].size:
                    raise SpecError(f"record.spikes.{pop}", f"neuron {max(ids)} out of range 0..{pops[pop].size - 1}")
        for i, st in enumerate(rec.state):
            check(f"record.state.{i}.population", [st.population])
            size = pops[st.population].size
            if st.neurons and max(st.neurons) >= size:
                raise SpecError(f"record.state.{i}.neurons", f"neuron {max(st.neurons)} out of range 0..{size - 1}")
        labels = [c.label for c in self.connections]
        for i, wr in enumerate(rec.weights):
            if wr.connection not in labels:
                raise SpecError(
                    f"record.weights.{i}.connection",
                    f"unknown connection {wr.connection!r}; allowed: {', '.join(labels) or 'none'}",
                )
        for path, step_ms in (
            [("run.duration_ms", self.run.duration_ms), ("record.rate_bin_ms", rec.rate_bin_ms)]
            + [(f"record.state.{i}.interval_ms", st.interval_ms) for i, st in enumerate(rec.state)]
            + [(f"record.weights.{i}.interval_ms", w.interval_ms) for i, w in enumerate(rec.weights)]
        ):
            if step_ms is not None and not _whole_steps(step_ms, dt):
                raise SpecError(path, f"{step_ms} ms is not a whole number of steps of dt_ms = {dt}")
        return self

    def input_label(self, index: int) -> str:
        return self.inputs[index].name or f"input{index}"


# More Poisson events than this per neuron and step are a mistake or a current in disguise.
MAX_POISSON_PER_STEP = 1000


def _whole_steps(ms: float, dt_ms: float) -> bool:
    steps = ms / dt_ms
    return steps >= 1 - 1e-9 and math.isclose(steps, round(steps), rel_tol=0, abs_tol=1e-9)
