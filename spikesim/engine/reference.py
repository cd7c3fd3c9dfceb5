"""The plain twin of the kernels: the step contract written as obviously as possible.

Slow (a Python loop over synapses and steps) and independent of the kernels' layout: it keeps a
list of synapses and a dictionary of pending arrivals per future step. Tests pin the kernels to
it spike for spike. It follows the same order of work as ``spikesim.engine.step`` states.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from ..build.network import Network, exp_decay
from ..build.synapses import FIRST_EXP_CHANNEL


@dataclass
class ReferenceResult:
    spike_steps: np.ndarray  # step in which each spike was fired
    spike_ids: np.ndarray  # global neuron id
    v: np.ndarray  # final state
    u: np.ndarray
    trace: np.ndarray  # (steps, R) sampled like the kernels' trace buffer


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

    # outgoing synapses per source: (post, weight, delay, channel)
    sources, delays = syn.sources(), syn.delays()
    group_of = np.zeros(syn.n_synapses, np.int64)
    for g in range(syn.row_ptr.shape[0]):
        group_of[syn.row_ptr[g, 0] : syn.row_ptr[g, -1]] = g
    outgoing = defaultdict(list)
    for s in range(syn.n_synapses):
        outgoing[int(sources[s])].append(
            (int(syn.post[s]), float(syn.weight[s]), int(delays[s]), int(syn.group_channel[group_of[s]]))
        )

    v, u = nrn.v0.copy(), nrn.u0.copy()
    n_exp = len(network.exp_tau_ms)
    exp_state = np.zeros((n_exp, n))
    decay = exp_decay(network.exp_tau_ms, dt)
    pending: dict[int, list[tuple[int, int, float]]] = defaultdict(list)  # step -> (channel, post, w)
    bias = network.inputs.bias(0)
    spike_steps, spike_ids = [], []
    trace = np.zeros((total, len(network.trace_neuron)))
    for step in range(total):
        if step in breakpoints:
            bias = network.inputs.bias(step)
        # 1. input
        arrivals = np.zeros((network.n_channels, n))
        for channel, target, w in pending.pop(step, []):
            arrivals[channel, target] += w
        for e in range(inputs.ev_ptr[step], inputs.ev_ptr[step + 1]):
            arrivals[inputs.ev_channel[e], inputs.ev_neuron[e]] += inputs.ev_weight[e]
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
        # 5. schedule
        for i in fired:
            spike_steps.append(step)
            spike_ids.append(int(i))
            for target, w, delay, channel in outgoing[int(i)]:
                pending[step + delay].append((channel, target, w))
        # 6. record
        values = {0: v, 1: u, 2: I}
        for r, (i, code) in enumerate(zip(network.trace_neuron, network.trace_variable)):
            trace[step, r] = values[int(code)][i]
    return ReferenceResult(np.array(spike_steps, np.int64), np.array(spike_ids, np.int64), v, u, trace)
