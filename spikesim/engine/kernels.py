"""Numba kernels of the step loop. The order of work inside a step is stated in
``spikesim.engine.step``; ``spikesim.engine.reference`` is the plain twin these are tested against.

Kernels work in place on arrays and allocate nothing inside the time loop.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# status codes returned in status[0]
OK, SPIKE_BUFFER_FULL, NOT_FINITE = 0, 1, 2


@njit(cache=True)
def integrate_neuron(form, scheme, dt, v, u, I, a, b, k, C, vr, vt):
    """One step of one neuron; returns (v, u).

    ``izhikevich`` scheme (net.m, spnet.cpp): v takes two Euler half-steps of dt/2 with the same
    u and I, then u one step of dt with the new v. ``euler``: both from the old values.
    The 2003 right-hand side is written 0.04 * (v * v) + 5 v + 140 - u + I, left to right, as in
    net.m, so that results are bit-identical to it at dt = 1 ms.
    """
    if form == 0:
        if scheme == 0:
            h = 0.5 * dt
            v = v + h * (0.04 * (v * v) + 5.0 * v + 140.0 - u + I)
            v = v + h * (0.04 * (v * v) + 5.0 * v + 140.0 - u + I)
            u = u + dt * (a * (b * v - u))
        else:
            v_new = v + dt * (0.04 * (v * v) + 5.0 * v + 140.0 - u + I)
            u = u + dt * (a * (b * v - u))
            v = v_new
    else:
        if scheme == 0:
            h = 0.5 * dt
            v = v + h * ((k * (v - vr) * (v - vt) - u + I) / C)
            v = v + h * ((k * (v - vr) * (v - vt) - u + I) / C)
            u = u + dt * (a * (b * (v - vr) - u))
        else:
            v_new = v + dt * ((k * (v - vr) * (v - vt) - u + I) / C)
            u = u + dt * (a * (b * (v - vr) - u))
            v = v_new
    return v, u


@njit(cache=True)
def deliver(n, row_ptr, post, weight, group_channel, max_delay, hist_ids, hist_count, arrivals):
    """Stage 1a: add the weights of every synapse whose spike arrives at step n to its channel."""
    L = hist_count.shape[0]
    for g in range(row_ptr.shape[0]):
        ch = group_channel[g]
        for dd in range(1, max_delay + 1):
            if n - dd < 0:
                break
            slot = (n - dd) % L
            for q in range(hist_count[slot]):
                seg = hist_ids[slot, q] * max_delay + dd - 1
                for s in range(row_ptr[g, seg], row_ptr[g, seg + 1]):
                    arrivals[ch, post[s]] += weight[s]


@njit(cache=True)
def run_steps(
    first_step,
    n_steps,
    dt,
    pop_start,
    pop_stop,
    pop_form,
    pop_scheme,
    a,
    b,
    c,
    d,
    vpeak,
    C,
    k,
    vr,
    vt,
    v,
    u,
    I,
    row_ptr,
    post,
    weight,
    group_channel,
    max_delay,
    exp_decay,
    exp_state,
    arrivals,
    hist_ids,
    hist_count,
    ev_ptr,
    ev_neuron,
    ev_weight,
    ev_channel,
    dense,
    bias,
    trace_neuron,
    trace_variable,
    trace_out,
    spike_step,
    spike_id,
    status,
):
    """Advance steps first_step .. first_step + n_steps - 1. Returns (steps done, spikes written).

    Stops early with status[0] = SPIKE_BUFFER_FULL when the spike buffer may not hold another
    step, or NOT_FINITE (status[1] = neuron) when v or u stops being finite.
    """
    n_neurons = v.shape[0]
    n_exp = exp_state.shape[0]
    L = hist_count.shape[0]
    has_dense = dense.shape[0] > 0
    n_spikes = 0
    status[0] = OK
    for j in range(n_steps):
        if n_spikes + n_neurons > spike_step.shape[0]:
            status[0] = SPIKE_BUFFER_FULL
            return j, n_spikes
        n = first_step + j
        # 1. input: synaptic arrivals, external events, dense and persistent currents
        arrivals[:, :] = 0.0
        deliver(n, row_ptr, post, weight, group_channel, max_delay, hist_ids, hist_count, arrivals)
        for e in range(ev_ptr[j], ev_ptr[j + 1]):
            arrivals[ev_channel[e], ev_neuron[e]] += ev_weight[e]
        for i in range(n_neurons):
            v[i] += arrivals[1, i]
            current = arrivals[0, i]
            if has_dense:
                current += dense[j, i]
            current += bias[i]
            for x in range(n_exp):
                exp_state[x, i] = exp_state[x, i] * exp_decay[x] + arrivals[2 + x, i]
                current += exp_state[x, i]
            I[i] = current
        # 2-3. integrate, threshold and reset; spikes go to the history slot of step n
        slot = n % L
        count = 0
        for p in range(pop_start.shape[0]):
            form = pop_form[p]
            scheme = pop_scheme[p]
            for i in range(pop_start[p], pop_stop[p]):
                vi, ui = integrate_neuron(form, scheme, dt, v[i], u[i], I[i], a[i], b[i], k[i], C[i], vr[i], vt[i])
                if not (abs(vi) < np.inf and abs(ui) < np.inf):
                    status[0] = NOT_FINITE
                    status[1] = i
                    return j, n_spikes - count
                if vi >= vpeak[i]:
                    vi = c[i]
                    ui += d[i]
                    hist_ids[slot, count] = i
                    count += 1
                    spike_step[n_spikes] = n
                    spike_id[n_spikes] = i
                    n_spikes += 1
                v[i] = vi
                u[i] = ui
        hist_count[slot] = count
        # 5. scheduling is implicit: the history slot is read by deliver() for the next max_delay steps
        # 6. record
        for r in range(trace_neuron.shape[0]):
            i = trace_neuron[r]
            code = trace_variable[r]
            trace_out[j, r] = v[i] if code == 0 else (u[i] if code == 1 else I[i])
    return n_steps, n_spikes
