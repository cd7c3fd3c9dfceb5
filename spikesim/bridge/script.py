"""A built spikesim ``Network`` written out as a standalone Brian2 script plus the arrays it loads.

This module only writes text and arrays; it does not import brian2. The script it writes is the
single definition of the Brian2 network: ``spikesim.bridge.brian2`` executes the very same text
to build and run the network in-process, so what ``spikesim export brian2`` writes is exactly
what ``spikesim validate`` checked.

The script defines ``build(data, target)`` -> (``brian2.Network``, monitors) and
``simulate(data, target)``, where ``data`` maps the names below to arrays:

- ``a b c d vpeak C k vr vt v0 u0``: float64 (N,) per-neuron parameters and initial state;
- ``syn_source syn_target syn_weight syn_delay_steps syn_channel syn_group``: (S,) the synapse
  table in spikesim's kernel order (group, source, delay, generation order);
- ``pathway_group pathway_delay``: int64, one entry per Brian2 ``Synapses`` object of the
  recurrent synapses, in the order their arrivals are summed (``pathway_order``);
- ``ev_step ev_neuron ev_weight ev_channel``: (E,) the external events of the whole run (Poisson,
  random pulses, spike times), in spikesim's order (step, then input, then draw order);
- ``dense``: float64 (n_steps, N), the per-step currents (Gaussian noise, file replay), present
  only when some input is dense;
- ``bias_segment``: float64 (n_steps,) index of the constant segment of the DC and step currents
  each step lies in, and ``bias``: float64 (segments, N) their values; present only when some
  input is a DC or step current;
- ``record_neurons``: int64 global ids whose state is sampled every step;
- ``weight_steps``: int64, the steps n + 1 after whose step n the weights at
  ``weight_positions`` (int64, positions in the synapse table) are copied, as spikesim copies
  them (the union of the recorded connections' intervals and the end of the run).

Plasticity (the four rules of ``spikesim.build.plasticity``) is written as Brian2 abstract code
with spikesim's arithmetic, statement by statement; see the script's own docstring
(``_HEADER``) for how its stages map onto Brian2's schedule.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from ..build import plasticity as pl
from ..build.network import Network, exp_decay
from ..build.neurons import FORM_2003, SCHEME_IZHIKEVICH
from ..build.synapses import CHANNEL_CURRENT, CHANNEL_VOLTAGE, FIRST_EXP_CHANNEL
from ..errors import BuildError
from ..spec.model import DCInput, StepCurrentInput

PARAM_NAMES = ("a", "b", "c", "d", "vpeak", "C", "k", "vr", "vt")
RECORDABLE = ("v", "u", "I")
RULE_NAMES = {code: name for name, code in pl.RULE_CODES.items()}


@dataclass
class Brian2Script:
    """The text of a standalone Brian2 script and the arrays it reads from its .npz file."""

    source: str
    arrays: dict[str, np.ndarray]


def channel_variable(channel: int) -> str:
    """The neuron variable that accumulates the arrivals of an input channel for the next step."""
    if channel == CHANNEL_CURRENT:
        return "in_pulse"
    if channel == CHANNEL_VOLTAGE:
        return "in_jump"
    return f"in_exp{channel - FIRST_EXP_CHANNEL}"


def check_supported(network: Network) -> None:
    """Refuse what the bridge cannot express, naming the connection: a plasticity rule it does not
    know (every rule of ``spikesim.build.plasticity`` is supported)."""
    syn = network.synapses
    for g, rule in enumerate(syn.group_rule):
        if int(rule) != pl.STATIC and int(rule) not in RULE_NAMES:
            i = syn.group_connections[g][0]
            conn = network.spec.connections[i]
            raise BuildError(f"connections.{i} ({conn.label}): the Brian2 bridge does not know plasticity rule {int(rule)}")


def pathway_order(network: Network) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(group, delay) of every recurrent ``Synapses`` object in the order they must deliver, and
    the cases where no order reproduces spikesim's sums exactly (empty when it is reproduced).

    spikesim sums the arrivals of a step (``kernels.deliver``) delay by delay (1 first), spike by
    spike with the highest neuron id first, then group by group, each spike's synapses in table
    order. Brian2 sums one ``Synapses`` object (one group, one delay) after the other, each
    spike by spike in the order of its source group's indices (which the script reverses: Brian2
    index N - 1 - id) and each spike's synapses in table order. Objects are therefore ordered
    delay by delay; within a delay, only groups of the same channel that reach the same target
    constrain each other: group a must come before group b when a source of a is higher than a
    source of b (or the same neuron, and a < b). These constraints are sorted topologically. A
    cycle (e.g. two groups on one channel whose sources interleave at a common target) has no
    exact order: the objects are then taken in group order, and sums of such targets may differ
    from spikesim's in the last bit.
    """
    syn = network.synapses
    n = network.neurons.n
    group_of = network.synapses.synapse_groups()
    delays, sources, post = syn.delays(), syn.sources(), syn.post.astype(np.int64)
    out_group: list[int] = []
    out_delay: list[int] = []
    problems: list[str] = []
    for d in np.unique(delays):
        at_d = delays == d
        groups = [int(g) for g in np.unique(group_of[at_d])]
        after: dict[int, set[int]] = {g: set() for g in groups}  # g -> groups that must follow g
        by_channel: dict[int, list[int]] = defaultdict(list)
        for g in groups:
            by_channel[int(syn.group_channel[g])].append(g)
        for members in by_channel.values():
            if len(members) < 2:
                continue
            lo, hi = {}, {}
            for g in members:
                m = at_d & (group_of == g)
                lo[g] = np.full(n, np.iinfo(np.int64).max)
                hi[g] = np.full(n, -1, np.int64)
                np.minimum.at(lo[g], post[m], sources[m])
                np.maximum.at(hi[g], post[m], sources[m])
            for a, b in combinations(members, 2):  # a < b
                both = (hi[a] >= 0) & (hi[b] >= 0)
                if not both.any():
                    continue
                ha, la, hb, lb = hi[a][both], lo[a][both], hi[b][both], lo[b][both]
                # a shared source (ha == lb or hb == la) is one spike: group order, a first
                if np.any(ha > lb) or np.any(ha == lb) or np.any(hb == la):
                    after[a].add(b)
                if np.any(hb > la):
                    after[b].add(a)
        # Kahn's algorithm, lowest group first among the free ones
        pending = {g: sum(g in after[h] for h in groups) for g in groups}
        ordered: list[int] = []
        free = sorted(g for g in groups if pending[g] == 0)
        while free:
            g = free.pop(0)
            ordered.append(g)
            for h in sorted(after[g]):
                pending[h] -= 1
                if pending[h] == 0:
                    free.append(h)
                    free.sort()
        if len(ordered) < len(groups):
            stuck = [g for g in groups if g not in ordered]
            labels = ", ".join(
                network.spec.connections[i].label for g in stuck for i in syn.group_connections[g]
            )
            problems.append(
                f"delay {int(d)} steps: the arrivals of connections {labels} interleave at common targets; "
                "Brian2 sums them in another order than spikesim (results may differ in the last bit)"
            )
            ordered += stuck
        out_group += ordered
        out_delay += [int(d)] * len(ordered)
    return np.array(out_group, np.int64), np.array(out_delay, np.int64), problems


def network_arrays(network: Network) -> dict[str, np.ndarray]:
    """Everything the script needs as arrays, drawn from ``network`` exactly as spikesim uses it.

    The inputs are drawn once for the whole run from the start of their streams
    (``network.inputs.reset()``), as ``spikesim.engine.simulate`` does at the start of a run.
    """
    nrn, syn = network.neurons, network.synapses
    n, total = nrn.n, network.n_steps
    arrays: dict[str, np.ndarray] = {p: np.ascontiguousarray(nrn.params[p], np.float64) for p in PARAM_NAMES}
    arrays["v0"] = nrn.v0.astype(np.float64)
    arrays["u0"] = nrn.u0.astype(np.float64)

    group_of = network.synapses.synapse_groups()
    arrays["syn_source"] = syn.sources().astype(np.int64)
    arrays["syn_target"] = syn.post.astype(np.int64)
    arrays["syn_weight"] = syn.weight.astype(np.float64)
    arrays["syn_delay_steps"] = syn.delays().astype(np.int64)
    arrays["syn_channel"] = syn.group_channel[group_of].astype(np.int64)
    arrays["syn_group"] = group_of

    network.inputs.reset()
    drawn = network.inputs.draw(0, total)
    network.inputs.reset()
    arrays["ev_step"] = np.repeat(np.arange(total, dtype=np.int64), np.diff(drawn.ev_ptr))
    arrays["ev_neuron"] = drawn.ev_neuron.astype(np.int64)
    arrays["ev_weight"] = drawn.ev_weight.astype(np.float64)
    arrays["ev_channel"] = drawn.ev_channel.astype(np.int64)
    if network.inputs.has_dense:
        arrays["dense"] = np.ascontiguousarray(drawn.dense, np.float64)
    if _has_bias(network):
        # spikesim evaluates the bias at the first step of every chunk and cuts chunks at the
        # breakpoints: the bias of a step is the bias at the last breakpoint at or before it.
        starts = [0] + [b for b in network.inputs.breakpoints() if 0 < b < total]
        arrays["bias"] = np.array([network.inputs.bias(s) for s in starts], dtype=np.float64).reshape(len(starts), n)
        segment = np.zeros(total, np.float64)
        for k, s in enumerate(starts):
            segment[s:] = k
        arrays["bias_segment"] = segment
    arrays["record_neurons"] = np.unique(network.trace_neuron).astype(np.int64)
    arrays["weight_steps"] = np.array(sorted(weight_snapshot_steps(network)), np.int64)
    positions = [plan.positions for plan in network.weight_plans]
    arrays["weight_positions"] = np.unique(np.concatenate(positions)).astype(np.int64) if positions else np.zeros(0, np.int64)
    return arrays


def weight_snapshot_steps(network: Network) -> set[int]:
    """The steps n + 1 after whose step n spikesim copies weights out (0, the initial copy, aside)."""
    total = network.n_steps
    steps: set[int] = set()
    for plan in network.weight_plans:
        if plan.interval_steps:
            steps.update(range(plan.interval_steps, total, plan.interval_steps))
        steps.add(total)
    return steps


def _has_bias(network: Network) -> bool:
    return any(isinstance(s.spec, (DCInput, StepCurrentInput)) for s in network.inputs.sources)


# ------------------------------------------------------------------------------- script text
def step_code(form: int, scheme: int, has_dense: bool, has_bias: bool, n_exp: int) -> str:
    """The abstract code one population runs in Brian2's ``groups`` slot every step.

    It is spikesim's stage 1 (input) and stage 2 (integration) with spikesim's order of
    floating-point operations. Sums are written one addition per statement: Brian2 passes
    each statement through sympy, which reorders the terms of longer sums (and floating-point
    addition is not associative); sums and products of two terms come out exactly.
    """
    lines = [
        "# 1. input of this step: what the synapses accumulated in the previous step, then the",
        "#    external currents, in spikesim's order (pulses + events, dense, DC, exponential)",
        "v = v + in_jump",
        "I = in_pulse",
    ]
    if has_dense:
        lines.append("I = I + dense_current(t, gid)")
    if has_bias:
        lines.append("I = I + bias_current(bias_segment(t) * dt, gid)")
    for x in range(n_exp):
        lines += [f"Iexp{x} = Iexp{x} * exp_decay{x} + in_exp{x}", f"I = I + Iexp{x}"]
    lines += ["in_pulse = 0", "in_jump = 0"] + [f"in_exp{x} = 0" for x in range(n_exp)]
    if form == FORM_2003:
        rhs_v = [  # dvdt = 0.04 v^2 + 5 v + 140 - u + I, left to right (net.m's order)
            "f = v * v",
            "f = 0.04 * f",
            "f = f + 5.0 * v",
            "f = f + 140.0",
            "f = f - u",
            "dvdt = f + I",
        ]
        rhs_u = ["g = b * v", "g = g - u", "dudt = a * g"]  # a (b v - u)
    else:
        rhs_v = [  # dvdt = (k (v - vr)(v - vt) - u + I) / C
            "f = v - vr",
            "f = k * f",
            "f = f * (v - vt)",
            "f = f - u",
            "f = f + I",
            # into a new name: `f = f / C` would become `f *= 1.0 / C`, which rounds twice
            "dvdt = f / C",
        ]
        rhs_u = ["g = v - vr", "g = b * g", "g = g - u", "dudt = a * g"]  # a (b (v - vr) - u)
    if scheme == SCHEME_IZHIKEVICH:
        lines += ["# 2. integrate (izhikevich scheme): two dt/2 half steps of v with the same u and I,",
                  "#    then u over dt with the new v"]
        lines += rhs_v + ["v = v + half_dt * dvdt"] + rhs_v + ["v = v + half_dt * dvdt"]
        lines += rhs_u + ["u = u + dt_ms * dudt"]
    else:
        lines += ["# 2. integrate (forward Euler): v and u from the old values"]
        lines += rhs_v + rhs_u + ["v = v + dt_ms * dvdt", "u = u + dt_ms * dudt"]
    return "\n".join(lines)


@dataclass
class PlasticGroup:
    """What the script needs to know about one plastic synapse group."""

    group: int
    rule: str  # stdp_additive, stdp_multiplicative, stdp_nearest, spnet
    max_delay: int  # steps: the presynaptic trace keeps this many past steps
    params: np.ndarray  # spikesim's parameter row (build.plasticity)
    update_steps: int  # spnet: steps between weight updates

    @property
    def summed(self) -> bool:
        return self.rule in ("stdp_additive", "stdp_multiplicative")

    def constants(self) -> dict[str, float]:
        g, p = self.group, self.params
        out = {
            f"A_plus_g{g}": float(p[pl.A_PLUS]),
            f"A_minus_g{g}": float(p[pl.A_MINUS]),
            f"decay_x_g{g}": float(p[pl.DECAY_PLUS]),
            f"decay_y_g{g}": float(p[pl.DECAY_MINUS]),
            f"w_min_g{g}": float(p[pl.W_MIN]),
            f"w_max_g{g}": float(p[pl.W_MAX]),
        }
        if self.rule == "spnet":
            out[f"drift_g{g}"] = float(p[pl.DRIFT])
            out[f"derivative_decay_g{g}"] = float(p[pl.DERIVATIVE_DECAY])
        return out


def plastic_groups(network: Network) -> list[PlasticGroup]:
    syn = network.synapses
    group_of = network.synapses.synapse_groups()
    delays = syn.delays()
    out = []
    for g, rule in enumerate(syn.group_rule):
        if int(rule) == pl.STATIC:
            continue
        in_group = group_of == g
        max_delay = int(delays[in_group].max()) if in_group.any() else 1
        out.append(PlasticGroup(g, RULE_NAMES[int(rule)], max_delay, syn.group_params[g].copy(), int(syn.group_update_steps[g])))
    return out


def trace_code(groups: list[PlasticGroup]) -> str:
    """Stage 4, first half: every plastic group's traces of every neuron decay by one step; the
    presynaptic trace keeps its past values, x<g>_k = x<g>_0 as it stood k steps ago."""
    lines = []
    for pg in groups:
        g, top = pg.group, pg.max_delay
        lines.append(f"# group {g} ({pg.rule}): shift the history of x{g}, then decay x{g}_0 and y{g} by one step")
        lines += [f"x{g}_{k} = x{g}_{k - 1}" for k in range(top, 0, -1)]
        # from x{g}_1, not `x{g}_0 = x{g}_0 * ...`: the numpy target makes that an in-place
        # `*=` on the array that x{g}_1 now shares
        lines += [f"x{g}_0 = x{g}_1 * decay_x_g{g}", f"y{g} = y{g} * decay_y_g{g}"]
    return "\n".join(lines)


def spike_trace_code(groups: list[PlasticGroup]) -> str:
    """Stage 4, second half, for the neurons that fired: add (all-to-all rules) or set
    (nearest-neighbour rules, spnet) their traces."""
    lines = []
    for pg in groups:
        g = pg.group
        if pg.summed:
            lines += [f"# group {g} ({pg.rule}): traces summed over spikes",
                      f"x{g}_0 = x{g}_0 + A_plus_g{g}", f"y{g} = y{g} + A_minus_g{g}"]
        else:
            lines += [f"# group {g} ({pg.rule}): traces set at each spike",
                      f"x{g}_0 = A_plus_g{g}", f"y{g} = A_minus_g{g}"]
    return "\n".join(lines)


def on_pre_code(group: int, channel: int, plastic: PlasticGroup | None) -> str:
    """Stage 1 of the step after the synapses slot (stage 5's delivery): the weight enters the
    accumulator of its channel, then a plastic synapse is depressed by the postsynaptic trace as
    it stands (the current carries the weight from before the depression, as in spikesim)."""
    var = channel_variable(channel)
    lines = [f"{var}_post += w"]
    if plastic is None:
        return "\n".join(lines)
    g = group
    lo, hi = f"w_min_g{g}", f"w_max_g{g}"
    if plastic.rule == "spnet":
        lines += ["# depression into the derivative", f"sd = sd - y{g}_post"]
    elif plastic.rule == "stdp_multiplicative":
        lines += ["# depression scaled by the distance to w_min", f"dw = w - {lo}", f"dw = y{g}_post * dw",
                  f"w = clip(w - dw, {lo}, {hi})"]
    else:
        lines += ["# depression", f"w = clip(w - y{g}_post, {lo}, {hi})"]
    return "\n".join(lines)


def on_post_code(group: int, plastic: PlasticGroup) -> str:
    """Stage 4 for the synapses onto a neuron that fired: potentiation by the presynaptic trace of
    the source as it stood ``delay`` steps ago (``{delay}`` is filled in per Synapses object)."""
    g = group
    x = f"x{g}_{{delay}}_pre"
    lo, hi = f"w_min_g{g}", f"w_max_g{g}"
    if plastic.rule == "spnet":
        return f"sd = sd + {x}"
    if plastic.rule == "stdp_multiplicative":
        return "\n".join([f"dw = {hi} - w", f"dw = {x} * dw", f"w = clip(w + dw, {lo}, {hi})"])
    return f"w = clip(w + {x}, {lo}, {hi})"


def neuron_equations(n_exp: int, exp_tau_ms: list[float], groups: list[PlasticGroup] = ()) -> str:
    rows = [
        ("v : 1", "membrane potential (mV)"),
        ("u : 1", "recovery variable (current unit of the model)"),
        ("I : 1", "input current of the step (dimensionless for 2003, pA for 2007)"),
        ("in_pulse : 1", "current-pulse arrivals for the next step (spikesim channel 0)"),
        ("in_jump : 1", "voltage-jump arrivals for the next step, mV (channel 1)"),
    ]
    for x in range(n_exp):
        rows.append((f"in_exp{x} : 1", f"arrivals for the exponential current {x} (channel {FIRST_EXP_CHANNEL + x})"))
        rows.append((f"Iexp{x} : 1", f"exponential current {x}, tau = {exp_tau_ms[x]:g} ms"))
    for p in PARAM_NAMES:
        rows.append((f"{p} : 1 (constant)", ""))
    rows.append(("gid : integer (constant)", "global neuron id (column of the input tables)"))
    for pg in groups:
        g = pg.group
        rows.append((f"x{g}_0 : 1", f"presynaptic trace of plastic group {g} ({pg.rule})"))
        rows += [(f"x{g}_{k} : 1", f"x{g}_0 as it stood {k} step{'s' if k > 1 else ''} ago") for k in range(1, pg.max_delay + 1)]
        rows.append((f"y{g} : 1", f"postsynaptic trace of plastic group {g}"))
    width = max(len(r[0]) for r in rows) + 2
    return "\n".join(f"{eq:<{width}}# {why}" if why else eq for eq, why in rows)


def _text_dict(items: dict, indent: str = "    ") -> str:
    """A dict of code strings as Python source, one triple-quoted string per entry."""
    if not items:
        return "{}"
    body = "".join(f'{indent}{key!r}: """\n{text}\n""",\n' for key, text in items.items())
    return "{\n" + body + "}"


_HEADER = '''#!/usr/bin/env python3
"""{name}: a spikesim network written out as a standalone Brian2 script.

Written by `spikesim export brian2` (spikesim {version}). Needs only numpy and brian2, and the
arrays (neuron parameters, synapses, the input drawn by spikesim) in {npz_name} beside this file.

    python {script_name} [--target numpy|cython] [-o SPIKES.npz]

runs the network for {duration_ms:g} ms, prints the spike count of every population and saves
the spikes (step of firing, global neuron id, time stamped at the end of the step in ms), the
sampled state and the weights (snapshots and final).

How spikesim's time step maps onto Brian2's schedule; spikesim step n integrates
[n dt, (n+1) dt] after summing its input, and Brian2 time step n is the same interval.
Brian2 neuron index k is spikesim's global neuron N-1-k: Brian2 delivers the spikes of a step
in increasing index order, spikesim (as Izhikevich's spnet.cpp) the highest neuron first.
- groups: every population's run_regularly code (STEP_CODE) takes the input of step n (the
  arrivals the synapses accumulated in in_pulse/in_jump/in_exp* during step n-1, the dense and
  DC currents of step n), zeroes the accumulators, and integrates with spikesim's scheme and
  order of floating-point operations. All variables are dimensionless floats (mV, ms, the
  model's current unit), so no unit arithmetic or integrator of Brian2 changes the numbers.
- thresholds: v >= vpeak fires. Brian2 stamps the spike n dt; spikesim stamps (n+1) dt.
- after_thresholds (spikesim's stage 3 and the first part of stage 4): spnet's weight update
  when an update interval ends with step n (order 0), the traces of the plastic groups decay
  by one step (TRACE_CODE, order 1), then the reset of the neurons that fired, v <- c,
  u <- u + d, with the update of their traces (RESET, order 2).
- synapses: first the potentiation of the plastic synapses onto the neurons that fired
  (ON_POST, the rest of stage 4), by the presynaptic trace as it stood `delay` steps ago
  (x<g>_<delay>: the traces keep their past values); then the weight snapshots; then the
  deliveries (ON_PRE, stage 5): a spike of step n over a synapse of D steps must enter the
  input of step n+D, so the pathway delay is (D-1) dt: it is delivered in the synapses slot of
  step n+D-1 and the groups slot of step n+D consumes it (D = 1 is a zero pathway delay). A
  plastic synapse is depressed as it delivers, by the postsynaptic trace as it stands then,
  after its weight went into the accumulator. External events of step m (spikes of a
  SpikeGeneratorGroup at step m-1, zero delay) are delivered first, then the recurrent
  synapses, one Synapses object per (synapse group, delay) in the order of
  data["pathway_group"], data["pathway_delay"]: spikesim's order of summation (delay by delay,
  spike by spike from the highest neuron, group by group, synapses in table order).
"""

import argparse
from pathlib import Path

import numpy as np
import brian2 as b2

NAME = {name!r}
DT_MS = {dt_ms!r}
N_STEPS = {n_steps!r}
N = {n!r}
# name: (first global id, stop, model, integration scheme)
POPULATIONS = {populations}
# exponential currents: time constant (ms) and the per-step decay exp(-dt/tau) spikesim uses
EXP_TAU_MS = {exp_tau!r}
EXP_DECAY = {exp_decay!r}
# input channel -> the neuron variable its arrivals accumulate in until the next step
CHANNEL_VARIABLE = {channels!r}
# state variables sampled every step (at the end of the step, after reset)
RECORD_VARIABLES = {record_vars!r}
# plastic synapse groups: rule, longest delay (steps), steps between spnet's weight updates
PLASTIC_GROUPS = {plastic_groups}
# the parameters of the plasticity code: traces' amplitudes and per-step decays, weight bounds
PLASTICITY_CONSTANTS = {plastic_constants}

NEURON_EQUATIONS = """
{equations}
"""

THRESHOLD = "v >= vpeak"
RESET = """
v = c
u = u + d
{spike_traces}
"""
# every step, before the reset: the traces of the plastic groups decay by one step
TRACE_CODE = """
{trace_code}
"""

# Per (model, scheme): spikesim's input stage and integration, run every step by each population
# of that kind. One floating-point operation per statement, so that sympy (which Brian2 applies
# to every statement) cannot reorder a sum.
STEP_CODE = {{
{step_code}
}}

# Per synapse group: its variables, the code run when a spike arrives (delivery and depression)
# and, for plastic groups, when the postsynaptic neuron fires (potentiation; {{delay}} is the
# delay in steps of the Synapses object).
SYNAPSE_MODEL = {synapse_model}
ON_PRE = {on_pre}
ON_POST = {on_post}
'''

_BODY = r'''

def abstract_code(text):
    """The code without its comment lines (Brian2's abstract code has no comments)."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def namespace(data):
    """The constants and input tables the abstract code refers to."""
    ns = {"dt_ms": DT_MS, "half_dt": 0.5 * DT_MS}
    ns.update(PLASTICITY_CONSTANTS)
    for x, decay in enumerate(EXP_DECAY):
        ns[f"exp_decay{x}"] = decay
    if "dense" in data:
        ns["dense_current"] = b2.TimedArray(np.asarray(data["dense"]), dt=DT_MS * b2.ms)
    if "bias" in data:
        # DC and step currents: constant between breakpoints; bias_segment(t) is the index of
        # the segment of step t, bias_current(k * dt, i) the current of neuron i in segment k.
        ns["bias_current"] = b2.TimedArray(np.asarray(data["bias"]), dt=DT_MS * b2.ms)
        ns["bias_segment"] = b2.TimedArray(np.asarray(data["bias_segment"]), dt=DT_MS * b2.ms)
    return ns


def brian_index(gid):
    """Brian2 index of global neuron ids (reversed order, see the module docstring)."""
    return N - 1 - np.asarray(gid, dtype=np.int64)


def step_of(t):
    return int(round(float(t / b2.ms) / DT_MS))


class SpnetUpdate:
    """spnet's periodic weight update (spikesim's stage 4 opens with it when an update interval
    ends with step n): w <- clip(w + (drift + sd)), sd <- sd * derivative_decay. A network
    operation, not abstract code: it runs once per interval, not once per step."""

    def __init__(self, group, synapses):
        info = PLASTIC_GROUPS[group]
        self.every = info["update_steps"]
        c = PLASTICITY_CONSTANTS
        self.drift, self.keep = c[f"drift_g{group}"], c[f"derivative_decay_g{group}"]
        self.lo, self.hi = c[f"w_min_g{group}"], c[f"w_max_g{group}"]
        self.synapses = synapses

    def run(self, t):
        if (step_of(t) + 1) % self.every:
            return
        for syn in self.synapses:
            w = syn.variables["w"].get_value()
            sd = syn.variables["sd"].get_value()
            w[:] = np.clip(w + (self.drift + sd), self.lo, self.hi)
            sd *= self.keep


class WeightRecorder:
    """Copies of the weights where spikesim takes them: after the plasticity of step n and
    before the deliveries (and depression) of step n + 1, for the steps n + 1 listed in
    data["weight_steps"] (positions data["weight_positions"] of the table), and the whole table
    at the end of the run (``final``). Run as a network operation in the synapses slot."""

    def __init__(self, parts, n_synapses, steps, positions):
        self.parts = parts  # (Synapses object, positions of its synapses in the table)
        self.n_synapses = n_synapses
        self.wanted = {int(s) for s in steps}
        self.positions = np.asarray(positions, dtype=np.int64)
        self.steps, self.values = [], []
        self.final = None

    def table(self):
        out = np.empty(self.n_synapses)
        for syn, where in self.parts:
            out[where] = syn.variables["w"].get_value()
        return out

    def take(self, t):
        stop = step_of(t) + 1
        if stop not in self.wanted and stop != N_STEPS:
            return
        full = self.table()
        if stop in self.wanted:
            self.steps.append(stop)
            self.values.append(full[self.positions])
        if stop == N_STEPS:
            self.final = full


def build(data, target="numpy"):
    """The Brian2 network of these arrays, ready for net.run(N_STEPS * DT_MS * ms).

    Returns (network, monitors) with monitors["spikes"] (SpikeMonitor of all neurons; Brian2
    index k is global neuron N-1-k, see spike_steps), monitors["weights"] (a WeightRecorder)
    and, when state is recorded, monitors["state"] (StateMonitor, every step, when="end",
    columns in the order of data["record_neurons"]).
    """
    b2.prefs.codegen.target = target
    if target == "cython":
        # Brian2 compiles with -ffast-math by default, which lets the compiler reassociate sums
        # and fuse multiply-adds; exact agreement with spikesim needs plain IEEE arithmetic.
        b2.prefs.codegen.cpp.extra_compile_args_gcc = ["-w", "-O3", "-ffp-contract=off", "-std=c++11"]
    b2.prefs.core.default_float_dtype = np.float64
    b2.defaultclock.dt = DT_MS * b2.ms
    ns = namespace(data)

    neurons = b2.NeuronGroup(N, NEURON_EQUATIONS, threshold=THRESHOLD, reset=abstract_code(RESET),
                             namespace=ns, name="neurons")
    # the reset (with the traces of the neurons that fired) right after the threshold, before
    # the synapses, which read the traces (spikesim's stages 3 and 4)
    neurons.resetter["spike"].when = "after_thresholds"
    neurons.resetter["spike"].order = 2
    for p in ("a", "b", "c", "d", "vpeak", "C", "k", "vr", "vt"):
        setattr(neurons, p, np.asarray(data[p])[::-1])
    neurons.v = np.asarray(data["v0"])[::-1]
    neurons.u = np.asarray(data["u0"])[::-1]
    neurons.gid = np.arange(N)[::-1]
    objects = [neurons]
    for pop, (start, stop, model, scheme) in POPULATIONS.items():
        code = abstract_code(STEP_CODE[model, scheme])
        objects.append(neurons[N - stop:N - start].run_regularly(code, when="groups", name=f"step_{pop}"))
    if abstract_code(TRACE_CODE).strip():
        neurons.run_regularly(abstract_code(TRACE_CODE), when="after_thresholds", order=1, name="traces")

    # External events (Poisson, random pulses, spike times): spikesim adds them first.
    order = 0
    ev_step, ev_neuron = np.asarray(data["ev_step"]), brian_index(data["ev_neuron"])
    ev_weight, ev_channel = np.asarray(data["ev_weight"]), np.asarray(data["ev_channel"])
    first = ev_step == 0
    for ch, var in CHANNEL_VARIABLE.items():  # step 0: nothing precedes it, start the sums here
        start_sum = np.zeros(N)
        pick = first & (ev_channel == ch)
        np.add.at(start_sum, ev_neuron[pick], ev_weight[pick])
        setattr(neurons, var, start_sum)
    later = ~first
    if later.any():
        n_ev = int(later.sum())
        generator = b2.SpikeGeneratorGroup(
            n_ev, np.arange(n_ev), (ev_step[later] - 1) * DT_MS * b2.ms, name="events"
        )
        objects.append(generator)
        for ch in np.unique(ev_channel[later]):
            mask = ev_channel[later] == ch
            var = CHANNEL_VARIABLE[int(ch)]
            syn = b2.Synapses(generator, neurons, "w : 1 (constant)", on_pre=f"{var}_post += w",
                              name=f"events_{var}")
            syn.connect(i=np.nonzero(mask)[0], j=ev_neuron[later][mask])
            syn.w = ev_weight[later][mask]
            syn.pre.order = order
            objects.append(syn)
            order += 1

    # Recurrent synapses, one Synapses object per (synapse group, delay), delivering in the
    # order of data["pathway_group"], data["pathway_delay"] (spikesim's order of summation).
    source, target_, weight = (np.asarray(data[k]) for k in ("syn_source", "syn_target", "syn_weight"))
    delay, group = np.asarray(data["syn_delay_steps"]), np.asarray(data["syn_group"])
    parts = []
    by_group = {}
    for rank, (g, d) in enumerate(zip(np.asarray(data["pathway_group"]), np.asarray(data["pathway_delay"]))):
        g, d = int(g), int(d)
        where = np.nonzero((group == g) & (delay == d))[0]
        on_post = abstract_code(ON_POST[g]).format(delay=d) if g in ON_POST else None
        syn = b2.Synapses(
            neurons, neurons, SYNAPSE_MODEL[g], on_pre=abstract_code(ON_PRE[g]), on_post=on_post,
            delay=(d - 1) * DT_MS * b2.ms, namespace=ns, name=f"syn{rank:03d}_group{g}_delay{d}",
        )
        syn.connect(i=brian_index(source[where]), j=brian_index(target_[where]))
        syn.w = weight[where]
        syn.pre.order = order
        order += 1
        if on_post is not None:
            syn.post.order = -2  # potentiation (stage 4 of step n) before any delivery
        objects.append(syn)
        parts.append((syn, where))
        by_group.setdefault(g, []).append(syn)

    for g, info in PLASTIC_GROUPS.items():
        if info["rule"] == "spnet":
            objects.append(b2.NetworkOperation(SpnetUpdate(g, by_group.get(g, [])).run, when="after_thresholds",
                                               order=0, name=f"spnet_update_group{g}"))
    recorder = WeightRecorder(parts, len(weight), data["weight_steps"], data["weight_positions"])
    objects.append(b2.NetworkOperation(recorder.take, when="synapses", order=-1, name="weight_snapshots"))

    monitors = {"spikes": b2.SpikeMonitor(neurons, name="spikes"), "weights": recorder}
    if RECORD_VARIABLES:
        monitors["state"] = b2.StateMonitor(
            neurons, RECORD_VARIABLES, record=brian_index(data["record_neurons"]), when="end", name="state"
        )
    return b2.Network(objects + [monitors["spikes"]] + ([monitors["state"]] if "state" in monitors else [])), monitors


def simulate(data, target="numpy"):
    """Build and run for the whole duration; returns (network, monitors)."""
    net, monitors = build(data, target)
    net.run(N_STEPS * DT_MS * b2.ms)
    steps = int(round(float(net.t / b2.ms) / DT_MS))
    if steps != N_STEPS:
        raise RuntimeError(f"Brian2 ran {steps} steps instead of {N_STEPS}")
    return net, monitors


def spike_steps(monitor):
    """(step of firing, global id) of every spike, by step then id; Brian2 stamps the start of
    the step."""
    steps = np.rint(np.asarray(monitor.t_) / (DT_MS * 1e-3)).astype(np.int64)
    gid = brian_index(monitor.i[:])
    order = np.lexsort((gid, steps))
    return steps[order], gid[order]


def main():
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=f"Run {NAME} in Brian2.")
    parser.add_argument("--target", choices=["numpy", "cython"], default="numpy")
    parser.add_argument("--data", default=str(here / NPZ_NAME), help="the arrays (default: %(default)s)")
    parser.add_argument("-o", "--output", help="results .npz (default: beside this script, *_spikes.npz)")
    args = parser.parse_args()
    with np.load(args.data) as f:
        data = {key: f[key] for key in f.files}
    _, monitors = simulate(data, args.target)
    step, gid = spike_steps(monitors["spikes"])
    output = args.output or str(Path(__file__).with_name(Path(__file__).stem + "_spikes.npz"))
    saved = {"step": step, "neuron": gid, "time_ms": (step + 1) * DT_MS}
    if "state" in monitors:
        for var in RECORD_VARIABLES:
            saved[var] = np.asarray(getattr(monitors["state"], var)).T  # (steps, recorded neurons)
        saved["record_neurons"] = np.asarray(data["record_neurons"])
    weights = monitors["weights"]
    saved["final_weight"] = weights.final  # every synapse, in the order of the table (syn_*)
    saved["weight_times_ms"] = np.asarray(weights.steps, dtype=np.float64) * DT_MS
    saved["weight_positions"] = weights.positions
    saved["weights"] = np.asarray(weights.values).reshape(len(weights.steps), len(weights.positions))
    np.savez(output, **saved)
    print(f"{NAME}: {N_STEPS * DT_MS:g} ms in Brian2 ({args.target})")
    for pop, (start, stop, _model, _scheme) in POPULATIONS.items():
        count = int(((gid >= start) & (gid < stop)).sum())
        rate = count / ((stop - start) * N_STEPS * DT_MS / 1000.0)
        print(f"  {pop:<12} {stop - start:>8} neurons {count:>10} spikes {rate:8.2f} Hz")
    plastic = np.isin(np.asarray(data["syn_group"]), list(PLASTIC_GROUPS))
    if plastic.any():
        before, after = np.asarray(data["syn_weight"])[plastic], weights.final[plastic]
        print(f"  plastic synapses: {int(plastic.sum())}, mean weight {before.mean():.6g} -> {after.mean():.6g}")
    print(f"  results: {output}")


if __name__ == "__main__":
    main()
'''


def script_source(network: Network, npz_name: str = "network_brian2.npz", *, has_dense: bool, has_bias: bool) -> str:
    """The text of the script (see the module docstring)."""
    from .. import __version__

    nrn, syn = network.neurons, network.synapses
    n_exp = len(network.exp_tau_ms)
    models = {0: "izhikevich2003", 1: "izhikevich2007"}
    schemes = {0: "izhikevich", 1: "euler"}
    pops = "{\n" + "".join(
        f"    {name!r}: ({int(nrn.pop_start[q])}, {int(nrn.pop_stop[q])}, "
        f"{models[int(nrn.pop_form[q])]!r}, {schemes[int(nrn.pop_scheme[q])]!r}),\n"
        for q, name in enumerate(nrn.names)
    ) + "}"
    blocks = []
    for form, scheme in sorted({(int(f), int(s)) for f, s in zip(nrn.pop_form, nrn.pop_scheme)}):
        code = step_code(form, scheme, has_dense, has_bias, n_exp)
        blocks.append(f'    ({models[form]!r}, {schemes[scheme]!r}): """\n{code}\n""",')
    record_vars = sorted({RECORDABLE[int(c)] for c in network.trace_variable}, key=RECORDABLE.index)
    groups = plastic_groups(network)
    plastic = {pg.group: pg for pg in groups}
    constants: dict[str, float] = {}
    for pg in groups:
        constants.update(pg.constants())
    group_info = "{\n" + "".join(
        f"    {pg.group}: {{'rule': {pg.rule!r}, 'max_delay': {pg.max_delay}, 'update_steps': {pg.update_steps}}},\n"
        for pg in groups
    ) + "}" if groups else "{}"
    const_text = "{\n" + "".join(f"    {k!r}: {v!r},\n" for k, v in constants.items()) + "}" if constants else "{}"
    n_groups = syn.n_groups
    models_of = {}
    for g in range(n_groups):
        if g not in plastic:
            models_of[g] = "w : 1 (constant)"
        elif plastic[g].rule == "spnet":
            models_of[g] = "w : 1\nsd : 1  # spnet's weight derivative"
        else:
            models_of[g] = "w : 1"
    on_pre = {g: on_pre_code(g, int(syn.group_channel[g]), plastic.get(g)) for g in range(n_groups)}
    on_post = {g: on_post_code(g, plastic[g]) for g in plastic}
    header = _HEADER.format(
        name=network.spec.name,
        version=__version__,
        npz_name=npz_name,
        script_name=npz_name.removesuffix(".npz") + ".py",
        duration_ms=network.n_steps * network.dt_ms,
        dt_ms=float(network.dt_ms),
        n_steps=int(network.n_steps),
        n=int(nrn.n),
        populations=pops,
        exp_tau=[float(t) for t in network.exp_tau_ms],
        exp_decay=[float(x) for x in exp_decay(network.exp_tau_ms, network.dt_ms)],
        channels={ch: channel_variable(ch) for ch in range(network.n_channels)},
        record_vars=record_vars,
        plastic_groups=group_info,
        plastic_constants=const_text,
        equations=neuron_equations(n_exp, [float(t) for t in network.exp_tau_ms], groups),
        spike_traces=spike_trace_code(groups),
        trace_code=trace_code(groups),
        step_code="\n".join(blocks),
        synapse_model=_text_dict(models_of),
        on_pre=_text_dict(on_pre),
        on_post=_text_dict(on_post),
    )
    return header + f"\nNPZ_NAME = {npz_name!r}\n" + _BODY


def brian2_script(network: Network, npz_name: str = "network_brian2.npz") -> Brian2Script:
    """The standalone script of ``network`` and the arrays to save as ``npz_name`` beside it.

    Warns (``UserWarning``) when Brian2 cannot sum some arrivals in spikesim's order
    (``pathway_order``): the results may then differ in the last bit."""
    check_supported(network)
    if not math.isfinite(network.dt_ms) or network.dt_ms <= 0:
        raise BuildError(f"dt_ms = {network.dt_ms} cannot be exported")
    arrays = network_arrays(network)
    arrays["pathway_group"], arrays["pathway_delay"], problems = pathway_order(network)
    for problem in problems:
        warnings.warn(f"Brian2 bridge: {problem}", stacklevel=2)
    source = script_source(network, npz_name, has_dense="dense" in arrays, has_bias="bias" in arrays)
    return Brian2Script(source, arrays)
