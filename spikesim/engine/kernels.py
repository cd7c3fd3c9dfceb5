"""Numba kernels of the step loop. The order of work inside a step is stated in
``spikesim.engine.step``; ``spikesim.engine.reference`` is the plain twin these are tested against.

Kernels work in place on arrays and allocate nothing inside the time loop. ``run_steps`` is
compiled without Numba's runtime (``NO_RUNTIME``), so it cannot allocate, and Numba then counts no
references to the arrays it passes around: with the runtime, that counting took about 7 % of
spnet's loop. The per-step helpers it calls are inlined into it for the same reason, and its
loops are vectorised 512 bits wide where the CPU has AVX-512 (``prefer_512_bit_vectors``).
``run_steps_threaded`` is the same kernel with its ``prange`` loops on threads (``run.threads``):
the same results for any number of threads.
"""

from __future__ import annotations

from types import FunctionType

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from ..build.plasticity import (
    A_MINUS,
    A_PLUS,
    DECAY_MINUS,
    DECAY_PLUS,
    DERIVATIVE_DECAY,
    DRIFT,
    MULTIPLICATIVE,
    NEAREST,
    SPNET,
    STATIC,
    W_MAX,
    W_MIN,
)
from ..build.synapses import CHANNEL_VOLTAGE
from .constants import NEURON_BLOCK, NOT_FINITE, OK, SPIKE_BUFFER_FULL


def _no_runtime() -> dict:
    """Numba options that compile a kernel without Numba's runtime (no allocation, no reference
    counting); none where this Numba version lacks the option (the kernel is then compiled as
    usual, only slower)."""
    from numba.core.options import DefaultOptions

    return {"_nrt": False} if hasattr(DefaultOptions, "_nrt") else {}


NO_RUNTIME = _no_runtime()


@intrinsic
def prefer_512_bit_vectors(typingctx):
    """Called in a kernel: LLVM vectorises that kernel's loops 512 bits wide where the CPU has
    AVX-512 (its default there is 256 bits; elsewhere this changes nothing). The neuron update
    is bound by arithmetic: spnet 1000's neuron loop alone goes from 0.087 to 0.064 s per 60 s
    simulated. Results do not change: the vectorised loops compute element by element, and
    nothing is reassociated. llvmlite's attribute set takes keywords only, so the LLVM string
    attribute is added past its check."""

    def codegen(context, builder, signature, args):
        set.add(builder.function.attributes, '"prefer-vector-width"="512"')
        return context.get_dummy_value()

    return types.none(), codegen


# how many spikes ahead delivery asks for pointers, and for the synapses they point to
PREFETCH_POINTERS, PREFETCH_SYNAPSES = 16, 8


@njit(cache=True, inline="always")
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


@intrinsic
def prefetch(typingctx, arr, idx):
    """prefetch(arr, i): ask the CPU to bring the cache line of arr[i] in (LLVM's prefetch: a
    read, kept in all cache levels). Nothing is read or checked: a hint with no effect on
    results, and none on an index out of range."""
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):
        arrty = signature.args[0]
        ary = context.make_array(arrty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, arrty, ary, [args[1]], wraparound=False)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]), "llvm.prefetch.p0")
        read, all_levels, data = ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)
        builder.call(fn, [builder.bitcast(ptr, i8p), read, all_levels, data])
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True)
def clip(w, lo, hi):
    return lo if w < lo else (hi if w > hi else w)


@njit(cache=True, inline="always")
def deliver(n, syn, plast, max_delay, hist_ids, hist_count, arrivals):
    """Stage 1a (and the pre side of stage 5): add the weight of every synapse whose spike
    arrives at step n to its channel; then depress it if it is plastic, by the postsynaptic trace
    as it stands before this step's integration. The current carries the weight from before the
    depression (as spnet.cpp, and Brian2's usual `on_pre` order). In a network too large for
    the caches (``far``, the last item of ``syn``), the pointers and synapses of the spikes a few
    places ahead are prefetched (``prefetch_ahead``): the same work in the same order, fewer
    waits for memory."""
    far = syn[8]
    L = hist_count.shape[0]
    # Order of the sums, as spnet.cpp: the most recent spikes first (increasing delay), within a
    # step the highest neuron id first; a spike's synapses in table order.
    for dd in range(1, max_delay + 1):
        if n - dd < 0:
            break
        slot = (n - dd) % L
        if far:
            for q in range(hist_count[slot] - 1, -1, -1):
                prefetch_ahead(q, hist_ids[slot], dd, syn, plast)
                deliver_segment(hist_ids[slot, q], dd, syn, plast, arrivals)
        else:  # a loop of its own, without the prefetching's branches: small networks are in the caches
            for q in range(hist_count[slot] - 1, -1, -1):
                deliver_segment(hist_ids[slot, q], dd, syn, plast, arrivals)


@njit(cache=True, inline="always")
def prefetch_ahead(q, ids, dd, syn, plast):
    """Ask for the cache lines that spikes q - 16 (their pointers) and q - 8 (their targets,
    weights and spnet derivatives) will need at delay dd: spikes are delivered from the highest
    q down, and a spike's synapses are only found through its pointers, so without this each
    spike waits for two loads from memory in a row. No effect on results."""
    row_ptr, post, weight, group_channel, group_weight, group_weight_offset, group_max_delay, group_pointers, far = syn
    group_rule, group_params, group_trace, post_trace, deriv, deriv_start = plast
    if q >= PREFETCH_POINTERS:
        source = ids[q - PREFETCH_POINTERS]
        for g in range(group_pointers.shape[0]):
            p = pointer_of(g, source, dd, group_max_delay, group_pointers)
            if p >= 0:
                prefetch(row_ptr, np.uint64(p))
    if q >= PREFETCH_SYNAPSES:
        source = ids[q - PREFETCH_SYNAPSES]
        for g in range(group_pointers.shape[0]):
            p = pointer_of(g, source, dd, group_max_delay, group_pointers)
            if p >= 0:
                s = np.uint64(row_ptr[p])
                prefetch(post, s)
                if np.isnan(group_weight[g]):
                    prefetch(weight, s - np.uint64(group_weight_offset[g]))
                    if group_rule[g] == SPNET:
                        prefetch(deriv, s - deriv_start)


@njit(cache=True, inline="always")
def pointer_of(g, source, dd, group_max_delay, group_pointers):
    """Where in row_ptr the synapses of ``source`` at delay dd begin in group g (they end at the
    next pointer); -1 where the group has none of that source or none that long, whose pointers
    are not stored."""
    d = group_max_delay[g]
    j = source - group_pointers[g, 1]
    if dd > d or j < 0 or j >= group_pointers[g, 2]:
        return -1
    return group_pointers[g, 0] + j * d + dd - 1


@njit(cache=True, inline="always")
def deliver_segment(source, dd, syn, plast, arrivals):
    """The synapses of one spike of ``source`` at delay dd (its segment of every group), in table
    order."""
    row_ptr, post, weight, group_channel, group_weight, group_weight_offset, group_max_delay, group_pointers, far = syn
    group_rule, group_params, group_trace, post_trace, deriv, deriv_start = plast
    for g in range(group_pointers.shape[0]):
        p = pointer_of(g, source, dd, group_max_delay, group_pointers)
        if p < 0:  # no synapses of this source, or none this long
            continue
        # unsigned indices: no wraparound checks in the innermost loops
        first, last = np.uint64(row_ptr[p]), np.uint64(row_ptr[p + 1])
        if first == last:  # most (spike, delay) pairs of a group have no synapses
            continue
        ch = group_channel[g]
        rule = group_rule[g]
        tr = group_trace[g]
        constant = group_weight[g]
        if not np.isnan(constant):  # a static group with one weight
            for s in range(first, last):
                arrivals[ch, np.uint64(post[s])] += constant
            continue
        off = np.uint64(group_weight_offset[g])  # weight of synapse s at s - off
        if rule == SPNET:  # the flagship rule: a loop without branches
            for s in range(first, last):
                target = np.uint64(post[s])
                arrivals[ch, target] += weight[s - off]
                deriv[s - deriv_start] -= post_trace[tr, target]
            continue
        for s in range(first, last):
            target = np.uint64(post[s])
            arrivals[ch, target] += weight[s - off]
            if rule == STATIC:
                continue
            y = post_trace[tr, target]
            if rule == MULTIPLICATIVE:
                w = weight[s - off]
                weight[s - off] = clip(w - y * (w - group_params[g, W_MIN]), group_params[g, W_MIN], group_params[g, W_MAX])
            else:
                weight[s - off] = clip(weight[s - off] - y, group_params[g, W_MIN], group_params[g, W_MAX])


@njit(cache=True, inline="always")
def scaled(x, factor, out):
    """out = x * factor, element by element: a loop of its own over two one-dimensional arrays,
    which LLVM vectorises."""
    for i in range(np.uint64(x.shape[0])):
        out[i] = x[i] * factor


@njit(cache=True, inline="always")
def scale(x, factor):
    """x *= factor, element by element, in place: one array, a faster loop than ``scaled`` with
    out = x."""
    for i in range(np.uint64(x.shape[0])):
        x[i] *= factor


@njit(cache=True, inline="always")
def plasticity_step(n, weight, group_weight_offset, incoming, plast, update_steps, hist_ids, count, pre_trace):
    """Stage 4 of step n for every plastic group: (spnet) apply the derivative when an update
    interval ends with this step; decay the traces by one step; set (nearest, spnet) or increase
    (additive, multiplicative) the traces of the neurons that fired; potentiate every plastic
    synapse onto them by the presynaptic trace of its source as it stood ``delay`` steps ago,
    i.e. counting arrivals at the synapse."""
    in_ptr, in_syn, in_key, group_range = incoming
    group_rule, group_params, group_trace, post_trace, deriv, deriv_start = plast
    L = pre_trace.shape[1]
    cur = n % L
    prev = (n - 1 + L) % L
    n_neurons = post_trace.shape[1]
    for g in range(group_rule.shape[0]):
        rule = group_rule[g]
        if rule == STATIC:
            continue
        tr = group_trace[g]
        off = np.uint64(group_weight_offset[g])  # weight of synapse s at s - off
        lo, hi = group_params[g, W_MIN], group_params[g, W_MAX]
        if rule == SPNET and (n + 1) % update_steps[g] == 0:
            drift = group_params[g, DRIFT]
            keep = group_params[g, DERIVATIVE_DECAY]
            # the group's synapses are contiguous: one pass in memory order
            for s in prange(np.uint64(group_range[g, 0]), np.uint64(group_range[g, 1])):
                # spnet.cpp: s += 0.01 + sd; sd *= 0.9; then clip
                weight[s - off] = clip(weight[s - off] + (drift + deriv[s - deriv_start]), lo, hi)
                deriv[s - deriv_start] *= keep
        scaled(pre_trace[tr, prev], group_params[g, DECAY_PLUS], pre_trace[tr, cur])
        scale(post_trace[tr], group_params[g, DECAY_MINUS])
        history = pre_trace[tr].reshape(-1)  # slot-major: slot * N + neuron
        a_plus = group_params[g, A_PLUS]
        a_minus = group_params[g, A_MINUS]
        summed = rule != NEAREST and rule != SPNET
        # each fired neuron updates its own traces and its own incoming synapses: in
        # ``run_steps_threaded`` the neurons are shared out between threads, with the same result
        for q in prange(count):
            i = hist_ids[cur, q]
            if summed:
                pre_trace[tr, cur, i] += a_plus
                post_trace[tr, i] += a_minus
            else:
                pre_trace[tr, cur, i] = a_plus
                post_trace[tr, i] = a_minus
            for e in range(np.uint64(in_ptr[g, i]), np.uint64(in_ptr[g, i + 1])):
                s = np.uint64(in_syn[e])
                # the trace of the source in the slot of step n - delay (build.synapses.incoming_key)
                k = cur * n_neurons - in_key[e]
                if k < 0:
                    k += L * n_neurons
                x = history[np.uint64(k)]
                if rule == SPNET:
                    deriv[s - deriv_start] += x
                elif rule == MULTIPLICATIVE:
                    weight[s - off] = clip(weight[s - off] + x * (hi - weight[s - off]), lo, hi)
                else:
                    weight[s - off] = clip(weight[s - off] + x, lo, hi)


@njit(cache=True, inline="always")
def sum_input(j, arrivals, has_bias, dense, bias, exp_state, exp_decay):
    """Stage 1 for all neurons: add to the current arrivals (and events) of ``arrivals[0]``, in
    the contract's order, the dense current of step j, the persistent current and the decayed
    exponential currents. Each part is its own loop, run only where it exists, so the neuron
    loop that follows is free of branches."""
    n = arrivals.shape[1]
    if dense.shape[0] > 0:
        for i in range(n):
            arrivals[0, i] += dense[j, i]
    if has_bias:
        for i in range(n):
            arrivals[0, i] += bias[i]
    for x in range(exp_state.shape[0]):
        decay = exp_decay[x]
        for i in range(n):
            e = exp_state[x, i] * decay + arrivals[2 + x, i]
            arrivals[2 + x, i] = 0.0
            exp_state[x, i] = e
    for x in range(exp_state.shape[0]):  # after all channels decayed: add them in channel order
        for i in range(n):
            arrivals[0, i] += exp_state[x, i]


@njit(cache=True, inline="always")
def add_voltage_jumps(v, arrivals):
    """Stage 1 for voltage jumps: v += the jumps arriving at this step (then zeroed). A pass of
    its own, run only in networks that have voltage jumps, so the neuron loop does not read an
    empty channel."""
    for i in range(np.uint64(v.shape[0])):
        v[i] += arrivals[CHANNEL_VOLTAGE, i]
        arrivals[CHANNEL_VOLTAGE, i] = 0.0


@njit(cache=True, inline="always")
def update_population(lo, hi, form, scheme, dt, a, b, c, d, vpeak, C, k, vr, vt, v, u, I, arrivals, spiked):
    """Stages 2-3 for neurons lo..hi-1 of one population: I is the summed input (then zeroed);
    the step is integrated (voltage jumps are in v already: ``add_voltage_jumps``), and a
    neuron reaching vpeak is reset and marked in ``spiked``. The loop has no exits, calls or
    scattered writes (the spikes are collected afterwards from ``spiked``): that keeps it
    several times faster. A state that stops being finite is not reset, so it can be found and
    reported.
    Returns whether any state is not finite."""
    bad = False
    # Unsigned bounds: Numba then knows no index is negative and drops the wraparound check on
    # every access, which also lets LLVM vectorise the loop (about 2x).
    for i in range(np.uint64(lo), np.uint64(hi)):
        current = arrivals[0, i]
        arrivals[0, i] = 0.0
        I[i] = current
        vi, ui = integrate_neuron(form, scheme, dt, v[i], u[i], current, a[i], b[i], k[i], C[i], vr[i], vt[i])
        # threshold and reset, branch-free (`&`, not the short-circuit `and`)
        finite = (abs(vi) < np.inf) & (abs(ui) < np.inf)
        fire = (vi >= vpeak[i]) & finite
        spiked[i] = fire
        v[i] = c[i] if fire else vi
        u[i] = ui + d[i] if fire else ui
        bad |= not finite
    return bad


@njit(cache=True, inline="always")
def update_neurons(lo, hi, form, scheme, dt, a, b, c, d, vpeak, C, k, vr, vt, v, u, I, arrivals, spiked, bad_blocks):
    """``update_population`` over blocks of NEURON_BLOCK neurons, each writing to ``bad_blocks``
    whether it has a state that is not finite: in ``run_steps_threaded`` the blocks are shared out
    between threads, with no sum that two threads add to. Returns how many blocks have one."""
    n_blocks = (hi - lo + NEURON_BLOCK - 1) // NEURON_BLOCK
    for blk in prange(n_blocks):
        first = lo + blk * NEURON_BLOCK
        bad_blocks[blk] = update_population(first, min(hi, first + NEURON_BLOCK), form, scheme, dt, a, b, c, d, vpeak, C, k, vr, vt, v, u, I, arrivals, spiked)
    bad = 0
    for blk in range(n_blocks):
        bad += bad_blocks[blk]
    return bad


@njit(cache=True, **NO_RUNTIME)
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
    syn,
    plast,
    incoming,
    update_steps,
    pre_trace,
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
    has_bias,
    has_jumps,
    trace_neuron,
    trace_variable,
    trace_out,
    spike_step,
    spike_id,
    status,
    spiked,
    bad_blocks,
):
    """Advance steps first_step .. first_step + n_steps - 1. Returns (steps done, spikes written).

    Stops early with status[0] = SPIKE_BUFFER_FULL when the spike buffer may not hold another
    step, or NOT_FINITE (status[1] = neuron) when v or u stops being finite.
    """
    n_neurons = v.shape[0]
    L = hist_count.shape[0]
    n_spikes = 0
    status[0] = OK
    # ``spiked``: the caller's scratch, zeros padded to whole 8-byte words, read as ``flags``
    flags = spiked.view(np.uint64)
    prefer_512_bit_vectors()
    for j in range(n_steps):
        if n_spikes + n_neurons > spike_step.shape[0]:
            status[0] = SPIKE_BUFFER_FULL
            return j, n_spikes
        n = first_step + j
        # 1. input: external events first, then synaptic arrivals (spnet.cpp sets the thalamic
        # input first); both accumulate in `arrivals`, which the neuron loop reads and zeroes
        for e in range(ev_ptr[j], ev_ptr[j + 1]):
            arrivals[ev_channel[e], ev_neuron[e]] += ev_weight[e]
        deliver(n, syn, plast, max_delay, hist_ids, hist_count, arrivals)
        sum_input(j, arrivals, has_bias, dense, bias, exp_state, exp_decay)
        if has_jumps:
            add_voltage_jumps(v, arrivals)
        # 2-3. integrate, threshold and reset; spikes go to the history slot of step n
        slot = n % L
        bad = 0
        for p in range(pop_start.shape[0]):
            lo, hi = pop_start[p], pop_stop[p]
            # constant form and scheme at each call: the inlined loop is compiled once per
            # (form, scheme) without branches, which lets LLVM vectorise it
            if pop_form[p] == 0 and pop_scheme[p] == 0:
                bad += update_neurons(lo, hi, 0, 0, dt, a, b, c, d, vpeak, C, k, vr, vt, v, u, I, arrivals, spiked, bad_blocks)
            elif pop_form[p] == 0:
                bad += update_neurons(lo, hi, 0, 1, dt, a, b, c, d, vpeak, C, k, vr, vt, v, u, I, arrivals, spiked, bad_blocks)
            elif pop_scheme[p] == 0:
                bad += update_neurons(lo, hi, 1, 0, dt, a, b, c, d, vpeak, C, k, vr, vt, v, u, I, arrivals, spiked, bad_blocks)
            else:
                bad += update_neurons(lo, hi, 1, 1, dt, a, b, c, d, vpeak, C, k, vr, vt, v, u, I, arrivals, spiked, bad_blocks)
        if bad > 0:
            for i in range(n_neurons):
                if not (abs(v[i]) < np.inf and abs(u[i]) < np.inf):
                    status[0] = NOT_FINITE
                    status[1] = i
                    return j, n_spikes
        # collect the spikes, eight flags at a time: most words are zero
        count = 0
        for w in range(flags.shape[0]):
            if flags[w] != 0:
                for i in range(8 * w, 8 * w + 8):
                    if spiked[i]:
                        hist_ids[slot, count] = i
                        count += 1
                        spike_step[n_spikes] = n
                        spike_id[n_spikes] = i
                        n_spikes += 1
        hist_count[slot] = count
        # 4. plasticity (post side; the pre side happens at delivery)
        if pre_trace.shape[0] > 0:
            plasticity_step(n, syn[2], syn[5], incoming, plast, update_steps, hist_ids, count, pre_trace)
        # 5. scheduling is implicit: the history slot is read by deliver() for the next max_delay steps
        # 6. record
        for r in range(trace_neuron.shape[0]):
            i = trace_neuron[r]
            code = trace_variable[r]
            trace_out[j, r] = v[i] if code == 0 else (u[i] if code == 1 else I[i])
    return n_steps, n_spikes


@njit(cache=True, inline="always")
def population_of(i, pop_stop):
    """The population of neuron i (pop_stop: the populations' ends): a comparison with each
    boundary, without branches, for a few populations; a binary search for many."""
    if pop_stop.shape[0] <= 16:
        p = 0
        for k in range(pop_stop.shape[0] - 1):
            p += i >= pop_stop[k]
        return p
    return np.searchsorted(pop_stop, i, side="right")


@njit(cache=True, **NO_RUNTIME)
def split_spikes(steps, ids, pop_stop, first, dt, offsets, local, times_ms, counts):
    """Stage 6, after a kernel call: its spikes (step, global id) by population, in one pass,
    into the caller's arrays (zeros in ``offsets`` and ``counts``; ``local`` and ``times_ms`` as
    long as ``ids``).

    The spikes of population p go to ``offsets[p]:offsets[p + 1]`` of ``local`` (population-local
    ids) and ``times_ms`` ((step + 1) dt), in the order they were fired; ``counts[p, j]`` is the
    number of spikes of p in step first + j (none where ``counts`` has no columns). The plain
    twin is ``step.split_by_population`` with ``np.bincount``."""
    n_pops = pop_stop.shape[0]
    per_step = counts.shape[1] > 0
    for q in range(ids.shape[0]):
        offsets[population_of(ids[q], pop_stop) + 1] += 1
    for p in range(n_pops):
        offsets[p + 1] += offsets[p]
    # offsets[p] serves as population p's next free place, and ends at population p + 1's start
    for q in range(ids.shape[0]):
        p = population_of(ids[q], pop_stop)
        e = offsets[p]
        offsets[p] = e + 1
        local[e] = ids[q] - (pop_stop[p - 1] if p > 0 else 0)
        times_ms[e] = (steps[q] + 1) * dt
        if per_step:
            counts[p, steps[q] - first] += 1
    for p in range(n_pops, 0, -1):
        offsets[p] = offsets[p - 1]
    offsets[0] = 0


def _threaded(kernel):
    """``kernel`` compiled again with Numba's parallel loops: its ``prange`` loops (the neuron
    update, and each fired neuron's potentiation and the derivative's application in plasticity)
    are shared out between threads; everything else, spike delivery with its sums in the
    contract's order included, stays in one thread. No two threads write the same element and no
    sum changes order, so the results are those of ``kernel``, for any number of threads. It is
    compiled from a copy of the Python function under a name of its own, because Numba's cache
    tells compilations apart by the function's name, not by their options."""
    source = kernel.py_func
    copy = FunctionType(source.__code__, source.__globals__, source.__name__ + "_threaded", source.__defaults__, source.__closure__)
    copy.__qualname__ = source.__qualname__ + "_threaded"
    copy.__module__ = source.__module__
    copy.__doc__ = source.__doc__
    return njit(cache=True, parallel=True, **NO_RUNTIME)(copy)


run_steps_threaded = _threaded(run_steps)
