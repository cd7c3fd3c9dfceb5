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
- ``ev_step ev_neuron ev_weight ev_channel``: (E,) the external events of the whole run (Poisson,
  random pulses, spike times), in spikesim's order (step, then input, then draw order);
- ``dense``: float64 (n_steps, N), the per-step currents (Gaussian noise, file replay), present
  only when some input is dense;
- ``bias_segment``: float64 (n_steps,) index of the constant segment of the DC and step currents
  each step lies in, and ``bias``: float64 (segments, N) their values; present only when some
  input is a DC or step current;
- ``record_neurons``: int64 global ids whose state is sampled every step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..build.network import Network, exp_decay
from ..build.neurons import FORM_2003, SCHEME_IZHIKEVICH
from ..build.synapses import CHANNEL_CURRENT, CHANNEL_VOLTAGE, FIRST_EXP_CHANNEL
from ..errors import BuildError
from ..spec.model import DCInput, StepCurrentInput

PARAM_NAMES = ("a", "b", "c", "d", "vpeak", "C", "k", "vr", "vt")
RECORDABLE = ("v", "u", "I")


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
    """Refuse what the bridge cannot express yet (plasticity), naming the connection."""
    for i, conn in enumerate(network.spec.connections):
        if getattr(conn, "plasticity", None) is not None:
            raise BuildError(
                f"connections.{i} ({conn.label}): the Brian2 bridge does not support plasticity yet"
            )


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

    group_of = np.zeros(syn.n_synapses, np.int64)
    for g in range(syn.row_ptr.shape[0]):
        group_of[syn.row_ptr[g, 0] : syn.row_ptr[g, -1]] = g
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
    return arrays


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


def neuron_equations(n_exp: int, exp_tau_ms: list[float]) -> str:
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
    width = max(len(r[0]) for r in rows) + 2
    return "\n".join(f"{eq:<{width}}# {why}" if why else eq for eq, why in rows)


_HEADER = '''#!/usr/bin/env python3
"""{name}: a spikesim network written out as a standalone Brian2 script.

Written by `spikesim export brian2` (spikesim {version}). Needs only numpy and brian2, and the
arrays (neuron parameters, synapses, the input drawn by spikesim) in {npz_name} beside this file.

    python {script_name} [--target numpy|cython] [-o SPIKES.npz]

runs the network for {duration_ms:g} ms, prints the spike count of every population and saves
the spikes (step of firing, global neuron id, time stamped at the end of the step in ms).

How spikesim's time step maps onto Brian2's schedule (groups, thresholds, synapses, resets):
spikesim step n integrates [n dt, (n+1) dt] after summing its input; Brian2 time step n is the
same interval.
- groups: every population's run_regularly code (STEP_CODE) takes the input of step n (the
  arrivals the synapses accumulated in in_pulse/in_jump/in_exp* during step n-1, the dense and
  DC currents of step n), zeroes the accumulators, and integrates with spikesim's scheme and
  order of floating-point operations. All variables are dimensionless floats (mV, ms, the
  model's current unit), so no unit arithmetic or integrator of Brian2 changes the numbers.
- thresholds: v >= vpeak fires. Brian2 stamps the spike n dt; spikesim stamps (n+1) dt.
- synapses: a spike of step n over a synapse of D steps must enter the input of step n+D, so
  the pathway delay is (D-1) dt: it is delivered in the synapses slot of step n+D-1 and the
  groups slot of step n+D consumes it. D = 1 is a zero pathway delay.
  One Synapses object per (synapse group, delay), run group by group and delay 1 first,
  reproduces spikesim's order of summation (group by group, delay by delay, spike by spike in
  neuron order, synapses in table order).
  External events of step m are spikes of a SpikeGeneratorGroup at step m-1 (zero delay),
  summed after the synapses, as spikesim does; those of step 0 are the initial accumulators.
- resets: v <- c, u <- u + d.
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

NEURON_EQUATIONS = """
{equations}
"""

THRESHOLD = "v >= vpeak"
RESET = """
v = c
u = u + d
"""

# Per (model, scheme): spikesim's input stage and integration, run every step by each population
# of that kind. One floating-point operation per statement, so that sympy (which Brian2 applies
# to every statement) cannot reorder a sum.
STEP_CODE = {{
{step_code}
}}
'''

_BODY = r'''

def abstract_code(text):
    """The code without its comment lines (Brian2's abstract code has no comments)."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def namespace(data):
    """The constants and input tables the abstract code refers to."""
    ns = {"dt_ms": DT_MS, "half_dt": 0.5 * DT_MS}
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


def build(data, target="numpy"):
    """The Brian2 network of these arrays, ready for net.run(N_STEPS * DT_MS * ms).

    Returns (network, monitors) with monitors["spikes"] (SpikeMonitor of all neurons) and,
    when state is recorded, monitors["state"] (StateMonitor, every step, when="end").
    """
    b2.prefs.codegen.target = target
    if target == "cython":
        # Brian2 compiles with -ffast-math by default, which lets the compiler reassociate sums
        # and fuse multiply-adds; exact agreement with spikesim needs plain IEEE arithmetic.
        b2.prefs.codegen.cpp.extra_compile_args_gcc = ["-w", "-O3", "-ffp-contract=off", "-std=c++11"]
    b2.prefs.core.default_float_dtype = np.float64
    b2.defaultclock.dt = DT_MS * b2.ms
    ns = namespace(data)

    neurons = b2.NeuronGroup(N, NEURON_EQUATIONS, threshold=THRESHOLD, reset=RESET, namespace=ns, name="neurons")
    for p in ("a", "b", "c", "d", "vpeak", "C", "k", "vr", "vt"):
        setattr(neurons, p, np.asarray(data[p]))
    neurons.v = np.asarray(data["v0"])
    neurons.u = np.asarray(data["u0"])
    neurons.gid = np.arange(N)
    objects = [neurons]
    for pop, (start, stop, model, scheme) in POPULATIONS.items():
        code = abstract_code(STEP_CODE[model, scheme])
        objects.append(neurons[start:stop].run_regularly(code, when="groups", name=f"step_{pop}"))

    # Recurrent synapses, one Synapses object per (synapse group, delay): spikesim sums the
    # arrivals of a step group by group (a group: the synapses of one channel), delay by delay
    # (1 first), spike by spike in neuron order, each spike's synapses in table order. All
    # pathways run in the synapses slot; their `order` reproduces that sum.
    source, target_, weight = (np.asarray(data[k]) for k in ("syn_source", "syn_target", "syn_weight"))
    delay, channel, group = (np.asarray(data[k]) for k in ("syn_delay_steps", "syn_channel", "syn_group"))
    order = 0
    for g in np.unique(group):
        var = CHANNEL_VARIABLE[int(channel[group == g][0])]
        for d in np.unique(delay[group == g]):
            mask = (group == g) & (delay == d)
            syn = b2.Synapses(
                neurons, neurons, "w : 1 (constant)", on_pre=f"{var}_post += w",
                delay=(int(d) - 1) * DT_MS * b2.ms, name=f"syn{order:03d}_group{int(g)}_delay{int(d)}",
            )
            syn.connect(i=source[mask], j=target_[mask])
            syn.w = weight[mask]
            syn.pre.order = order
            objects.append(syn)
            order += 1

    # External events (Poisson, random pulses, spike times), added after the synapses' arrivals.
    ev_step, ev_neuron = np.asarray(data["ev_step"]), np.asarray(data["ev_neuron"])
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
                              name=f"syn{order:03d}_events_{var}")
            syn.connect(i=np.nonzero(mask)[0], j=ev_neuron[later][mask])
            syn.w = ev_weight[later][mask]
            syn.pre.order = order
            objects.append(syn)
            order += 1

    monitors = {"spikes": b2.SpikeMonitor(neurons, name="spikes")}
    if RECORD_VARIABLES:
        monitors["state"] = b2.StateMonitor(
            neurons, RECORD_VARIABLES, record=np.asarray(data["record_neurons"]), when="end", name="state"
        )
    return b2.Network(objects + list(monitors.values())), monitors


def table_weights(net, data):
    """The weights of the recurrent synapses as Brian2 holds them, in the order of the table."""
    group, delay = np.asarray(data["syn_group"]), np.asarray(data["syn_delay_steps"])
    out = np.zeros(len(group))
    order = 0
    for g in np.unique(group):
        for d in np.unique(delay[group == g]):
            out[(group == g) & (delay == d)] = net[f"syn{order:03d}_group{int(g)}_delay{int(d)}"].w[:]
            order += 1
    return out


def simulate(data, target="numpy"):
    """Build and run for the whole duration; returns (network, monitors)."""
    net, monitors = build(data, target)
    net.run(N_STEPS * DT_MS * b2.ms)
    steps = int(round(float(net.t / b2.ms) / DT_MS))
    if steps != N_STEPS:
        raise RuntimeError(f"Brian2 ran {steps} steps instead of {N_STEPS}")
    return net, monitors


def spike_steps(monitor):
    """(step of firing, global id) of every spike; Brian2 stamps the start of the step."""
    return np.rint(np.asarray(monitor.t_) / (DT_MS * 1e-3)).astype(np.int64), np.asarray(monitor.i[:], np.int64)


def main():
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=f"Run {NAME} in Brian2.")
    parser.add_argument("--target", choices=["numpy", "cython"], default="numpy")
    parser.add_argument("--data", default=str(here / NPZ_NAME), help="the arrays (default: %(default)s)")
    parser.add_argument("-o", "--output", help="spikes .npz (default: beside this script, *_spikes.npz)")
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
    np.savez(output, **saved)
    print(f"{NAME}: {N_STEPS * DT_MS:g} ms in Brian2 ({args.target})")
    for pop, (start, stop, _model, _scheme) in POPULATIONS.items():
        count = int(((gid >= start) & (gid < stop)).sum())
        rate = count / ((stop - start) * N_STEPS * DT_MS / 1000.0)
        print(f"  {pop:<12} {stop - start:>8} neurons {count:>10} spikes {rate:8.2f} Hz")
    print(f"  spikes: {output}")


if __name__ == "__main__":
    main()
'''


def script_source(network: Network, npz_name: str = "network_brian2.npz", *, has_dense: bool, has_bias: bool) -> str:
    """The text of the script (see the module docstring)."""
    from .. import __version__

    nrn = network.neurons
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
        equations=neuron_equations(n_exp, [float(t) for t in network.exp_tau_ms]),
        step_code="\n".join(blocks),
    )
    return header + f"\nNPZ_NAME = {npz_name!r}\n" + _BODY


def brian2_script(network: Network, npz_name: str = "network_brian2.npz") -> Brian2Script:
    """The standalone script of ``network`` and the arrays to save as ``npz_name`` beside it."""
    check_supported(network)
    if not math.isfinite(network.dt_ms) or network.dt_ms <= 0:
        raise BuildError(f"dt_ms = {network.dt_ms} cannot be exported")
    arrays = network_arrays(network)
    source = script_source(network, npz_name, has_dense="dense" in arrays, has_bias="bias" in arrays)
    return Brian2Script(source, arrays)
