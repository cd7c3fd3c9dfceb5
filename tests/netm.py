"""An independent, obvious implementation of Izhikevich's net.m loop (REFERENCE.md section 2),
used to check spikesim's exactness. Arrays in, spikes out; nothing from spikesim is used."""

import numpy as np


def netm_inputs(seed: int, steps: int, ne: int = 800, ni: int = 200):
    """Parameters, weights and thalamic currents drawn as net.m draws them."""
    rng = np.random.default_rng(seed)
    re, ri = rng.random(ne), rng.random(ni)
    a = np.concatenate([0.02 * np.ones(ne), 0.02 + 0.08 * ri])
    b = np.concatenate([0.2 * np.ones(ne), 0.25 - 0.05 * ri])
    c = np.concatenate([-65 + 15 * re**2, -65 * np.ones(ni)])
    d = np.concatenate([8 - 6 * re**2, 2 * np.ones(ni)])
    S = np.concatenate([0.5 * rng.random((ne + ni, ne)), -rng.random((ne + ni, ni))], axis=1)
    noise = np.concatenate([5 * rng.standard_normal((steps, ne)), 2 * rng.standard_normal((steps, ni))], axis=1)
    return a, b, c, d, S, noise


def netm_loop(a, b, c, d, S, noise, sequential_sum: bool = True):
    """net.m: for t: I = noise; fired = v >= 30; reset; I += sum(S(:, fired), 2); two half-steps
    of v; u step. Returns (t, i) of every spike in net.m's 0-based step numbering.

    S[post, pre]. ``sequential_sum`` adds the columns of fired neurons one by one in index order;
    otherwise NumPy's (pairwise) ``sum`` is used."""
    steps = noise.shape[0]
    v = -65.0 * np.ones(len(a))
    u = b * v
    times, ids = [], []
    for t in range(steps):
        I = noise[t].copy()
        fired = np.nonzero(v >= 30)[0]
        times += [t] * len(fired)
        ids += list(fired)
        v[fired] = c[fired]
        u[fired] = u[fired] + d[fired]
        if sequential_sum:
            total = np.zeros(len(a))
            for j in fired:
                total += S[:, j]
        else:
            total = S[:, fired].sum(axis=1)
        I = I + total
        v = v + 0.5 * (0.04 * v**2 + 5 * v + 140 - u + I)
        v = v + 0.5 * (0.04 * v**2 + 5 * v + 140 - u + I)
        u = u + a * (b * v - u)
    return np.array(times), np.array(ids)
