"""An independent, obvious implementation of Izhikevich's spnet loop (REFERENCE.md section 3),
in float64, used to check spikesim's exactness. Nothing from spikesim is used."""

import numpy as np

NE, NI, M, D = 800, 200, 100, 20


def spnet_connectivity(seed: int):
    """spnet.cpp's network: post[i, m], delay_ms[i, m], s[i, m]. Excitatory neurons: M distinct
    targets among all neurons but themselves, M/D synapses at each delay 1..D ms; inhibitory:
    M distinct excitatory targets, delay 1 ms. Weights +6 and -5."""
    rng = np.random.default_rng(seed)
    n = NE + NI
    post = np.zeros((n, M), np.int64)
    for i in range(n):
        pool = np.arange(n) if i < NE else np.arange(NE)
        pool = pool[pool != i]
        post[i] = rng.choice(pool, M, replace=False)
    delay_ms = np.ones((n, M), np.int64)
    delay_ms[:NE] = np.arange(M) // (M // D) + 1
    s = np.where(np.arange(n)[:, None] < NE, 6.0, -5.0) * np.ones((n, M))
    return post, delay_ms, s


def spnet_loop(post, delay_ms, s0, thalamic, steps):
    """spnet.cpp's loop, step by step as REFERENCE.md states it. ``thalamic[t]`` is the neuron
    that gets I = 20 in step t. Returns spikes (t, i) with t the step in which spnet detects the
    spike, and the final weights and derivatives."""
    n = NE + NI
    a = np.where(np.arange(n) < NE, 0.02, 0.1)
    d = np.where(np.arange(n) < NE, 8.0, 2.0)
    s, sd = s0.copy(), np.zeros_like(s0)
    v = -65.0 * np.ones(n)
    u = 0.2 * v
    LTP = np.zeros((n, steps + D + 1))  # LTP[i, t + D]: presynaptic trace at step t
    LTD = np.zeros(n)
    by_delay = [[np.nonzero(delay_ms[j] == k)[0] for k in range(D + 1)] for j in range(n)]
    incoming_j, incoming_m = [[] for _ in range(n)], [[] for _ in range(n)]
    for j in range(NE):  # excitatory synapses are the plastic ones
        for m in range(M):
            incoming_j[post[j, m]].append(j)
            incoming_m[post[j, m]].append(m)
    incoming_j = [np.array(x, np.int64) for x in incoming_j]
    incoming_m = [np.array(x, np.int64) for x in incoming_m]
    firings: list[tuple[int, int]] = []
    times, ids = [], []
    for t in range(steps):
        I = np.zeros(n)
        I[thalamic[t]] = 20.0
        fired = np.nonzero(v >= 30)[0]
        v[fired] = -65.0
        u[fired] += d[fired]
        LTP[fired, t + D] = 0.1
        LTD[fired] = 0.12
        for i in fired:
            j, m = incoming_j[i], incoming_m[i]
            sd[j, m] += LTP[j, t + D - delay_ms[j, m]]
            firings.append((t, i))
            times.append(t)
            ids.append(i)
        # deliveries: a spike of step tj with delay k arrives in step tj + k - 1; the most
        # recent firings first, as spnet.cpp walks its firing list backwards
        rows, cols = [], []
        for tj, j in reversed(firings):
            if t - tj >= D:
                break
            m = by_delay[j][t - tj + 1]
            rows.append(np.full(len(m), j))
            cols.append(m)
        if rows:
            rows, cols = np.concatenate(rows), np.concatenate(cols)
            np.add.at(I, post[rows, cols], s[rows, cols])  # in order, one by one
            exc = rows < NE
            sd[rows[exc], cols[exc]] -= LTD[post[rows[exc], cols[exc]]]
        v = v + 0.5 * (0.04 * v**2 + 5 * v + 140 - u + I)
        v = v + 0.5 * (0.04 * v**2 + 5 * v + 140 - u + I)
        u = u + a * (0.2 * v - u)
        LTP[:, t + D + 1] = 0.95 * LTP[:, t + D]
        LTD *= 0.95
        if (t + 1) % 1000 == 0:  # once per second, excitatory synapses only
            s[:NE] += 0.01 + sd[:NE]
            sd[:NE] *= 0.9
            np.clip(s[:NE], 0.0, 10.0, out=s[:NE])
        firings = [f for f in firings if t - f[0] < D]
    return np.array(times), np.array(ids), s, sd
