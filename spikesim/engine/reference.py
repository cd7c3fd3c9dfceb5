"""The plain twin of the kernels: the step contract written as obviously as possible.

Slow (a Python loop over synapses and steps) and independent of the kernels' layout: it keeps a
list of synapses, a dictionary of pending arrivals per future step and the whole history of the
presynaptic traces. Tests pin the kernels to
it spike for spike. It follows the same order of work as ``spikesim.engine.step`` states.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from ..build import plasticity as pl
from ..build.network import Network, exp_decay
from ..build.synapses import FIRST_EXP_CHANNEL


@dataclass
class ReferenceResult:
    spike_steps: np.ndarray  # step in which each spike was fired
    spike_ids: np.ndarray  # global neuron id
    v: np.ndarray  # final state
    u: np.ndarray
    trace: np.ndarray  # (steps, R) sampled like the kernels' trace buffer
    weight: np.ndarray  # final weights, in the synapse table's order


def rhs_2003(v, u, I):
    """0.04 v^2 + 5 v + 140 - u + I, in net.m's order of operations."""
    return 0.04 * (v * v) + 5.0 * v + 140.0 - u + I


def rhs_2007(v, u, I, k, C, vr, vt):
    """(k (v - vr)(v - vt) - u + I) / C."""
    return (k * (v - vr) * (v - vt) - u + I) / C


def step_neurons(form, scheme, dt, v, u, I, a, b, k, C, vr, vt):
    """Integrate arrays of neurons of one population over one step; returns new (v, u)."""
    if form == 0:
        f = lambda v_: rhs_2003(v_, u, I)  # noqa: E731
        g = lambda v_: a * (b * v_ - u)  # noqa: E731
    else:
        f = lambda v_: rhs_2007(v_, u, I, k, C, vr, vt)  # noqa: E731
        g = lambda v_: a * (b * (v_ - vr) - u)  # noqa: E731
    if scheme == 0:
        h = 0.5 * dt
        v1 = v + h * f(v)
        v2 = v1 + h * f(v1)
        return v2, u + dt * g(v2)
    return v + dt * f(v), u + dt * g(v)


def simulate_reference(network: Network) -> ReferenceResult:
    nrn = network.neurons
    syn = network.synapses
    p = nrn.params
    dt = network.dt_ms
    total = network.n_steps
    n = nrn.n
    network.inputs.reset()
    inputs = network.inputs.draw(0, total)
    breakpoints = network.inputs.breakpoints()

    # every synapse as plain numbers; outgoing lists per source
    sources, delays = syn.sources(), syn.delays()
    group_of = syn.synapse_groups()
    channel_of = syn.group_channel[group_of]
    outgoing = defaultdict(list)
    incoming = defaultdict(list)  # (group, post) -> plastic synapses onto post
    for s in range(syn.n_synapses):
        outgoing[int(sources[s])].append(s)
        if syn.group_rule[group_of[s]] != pl.STATIC:
            incoming[int(group_of[s]), int(syn.post[s])].append(s)
    weight = syn.weight.astype(np.float64).copy()
    deriv = np.zeros(syn.n_synapses)
    plastic_groups = [g for g in range(len(syn.group_rule)) if syn.group_rule[g] != pl.STATIC]
    members_of = {g: np.nonzero(group_of == g)[0] for g in plastic_groups}
    # presynaptic traces per plastic group and step (a full history: obvious, not small)
    pre_history = {g: {-1: np.zeros(n)} for g in plastic_groups}
    post_trace = {g: np.zeros(n) for g in plastic_groups}

    v, u = nrn.v0.copy(), nrn.u0.copy()
    n_exp = len(network.exp_tau_ms)
    exp_state = np.zeros((n_exp, n))
    decay = exp_decay(network.exp_tau_ms, dt)
    pending: dict[int, list[int]] = defaultdict(list)  # step -> synapses arriving
    bias = network.inputs.bias(0)
    spike_steps, spike_ids = [], []
    trace = np.zeros((total, len(network.trace_neuron)))
    for step in range(total):
        if step in breakpoints:
            bias = network.inputs.bias(step)
        # 1. input; plastic synapses are depressed as their spike arrives
        arrivals = np.zeros((network.n_channels, n))
        # External events first, then synaptic arrivals in the kernels' order (the most recent
        # spikes first, the highest source first, then group and table order), so that sums of
        # arbitrary weights agree to the last bit.
        for e in range(inputs.ev_ptr[step], inputs.ev_ptr[step + 1]):
            arrivals[inputs.ev_channel[e], inputs.ev_neuron[e]] += inputs.ev_weight[e]
        for s in sorted(pending.pop(step, []), key=lambda s: (delays[s], -sources[s], group_of[s], s)):
            target = syn.post[s]
            arrivals[channel_of[s], target] += weight[s]
            g = group_of[s]
            rule, par = syn.group_rule[g], syn.group_params[g]
            if rule == pl.STATIC:
                continue
            y = post_trace[g][target]
            if rule == pl.SPNET:
                deriv[s] -= y
            elif rule == pl.MULTIPLICATIVE:
                weight[s] = min(max(weight[s] - y * (weight[s] - par[pl.W_MIN]), par[pl.W_MIN]), par[pl.W_MAX])
            else:
                weight[s] = min(max(weight[s] - y, par[pl.W_MIN]), par[pl.W_MAX])
        v = v + arrivals[1]
        I = arrivals[0].copy()
        if inputs.dense.shape[0]:
            I = I + inputs.dense[step]
        I = I + bias
        for x in range(n_exp):
            exp_state[x] = exp_state[x] * decay[x] + arrivals[FIRST_EXP_CHANNEL + x]
            I = I + exp_state[x]
        # 2. integrate
        for q in range(len(nrn.names)):
            sl = slice(int(nrn.pop_start[q]), int(nrn.pop_stop[q]))
            v[sl], u[sl] = step_neurons(
                nrn.pop_form[q], nrn.pop_scheme[q], dt, v[sl], u[sl], I[sl],
                p["a"][sl], p["b"][sl], p["k"][sl], p["C"][sl], p["vr"][sl], p["vt"][sl],
            )  # fmt: skip
        # 3. threshold and reset
        fired = np.nonzero(v >= p["vpeak"])[0]
        v[fired] = p["c"][fired]
        u[fired] = u[fired] + p["d"][fired]
        # 4. plasticity
        for g in plastic_groups:
            rule, par = syn.group_rule[g], syn.group_params[g]
            if rule == pl.SPNET and (step + 1) % syn.group_update_steps[g] == 0:
                for s in members_of[g]:
                    weight[s] = min(max(weight[s] + (par[pl.DRIFT] + deriv[s]), par[pl.W_MIN]), par[pl.W_MAX])
                    deriv[s] *= par[pl.DERIVATIVE_DECAY]
            x = pre_history[g][step - 1] * par[pl.DECAY_PLUS]
            post_trace[g] = post_trace[g] * par[pl.DECAY_MINUS]
            for i in fired:
                if rule in (pl.NEAREST, pl.SPNET):
                    x[i] = par[pl.A_PLUS]
                    post_trace[g][i] = par[pl.A_MINUS]
                else:
                    x[i] += par[pl.A_PLUS]
                    post_trace[g][i] += par[pl.A_MINUS]
            pre_history[g][step] = x
            for i in fired:
                for s in incoming[g, int(i)]:
                    past = step - delays[s]
                    x_at_synapse = pre_history[g][past][sources[s]] if past >= 0 else 0.0
                    if rule == pl.SPNET:
                        deriv[s] += x_at_synapse
                    elif rule == pl.MULTIPLICATIVE:
                        weight[s] = min(
                            max(weight[s] + x_at_synapse * (par[pl.W_MAX] - weight[s]), par[pl.W_MIN]), par[pl.W_MAX]
                        )
                    else:
                        weight[s] = min(max(weight[s] + x_at_synapse, par[pl.W_MIN]), par[pl.W_MAX])
        # 5. schedule
        for i in fired:
            spike_steps.append(step)
            spike_ids.append(int(i))
            for s in outgoing[int(i)]:
                pending[step + int(delays[s])].append(s)
        # 6. record
        values = {0: v, 1: u, 2: I}
        for r, (i, code) in enumerate(zip(network.trace_neuron, network.trace_variable)):
            trace[step, r] = values[int(code)][i]
    return ReferenceResult(np.array(spike_steps, np.int64), np.array(spike_ids, np.int64), v, u, trace, weight)
