"""Machine bounds for the parts of a step, measured with minimal Numba loops (no spikesim code
but its request for 512-bit vectors, so that the vectorised bound uses the same vector width).

    python benchmarks/bounds_child.py JOB_JSON RESULT_PATH      (JOB: {"n": N, ...})

``neuron``   ns per neuron-step of the Izhikevich update with the published half-step scheme,
             threshold, reset and the list of spiking neurons, over N neurons in the layout
             spikesim uses (one float64 array per variable and parameter), in two passes (a
             vectorisable update, then the threshold scan): the floor of the neuron stage.
             ``neuron_one_pass``: the same in one pass with an early exit on a non-finite value
             (not vectorisable), for comparison.
``deliver``  ns per synaptic event of the ideal delivery: for random spiking sources, add the
             weights of their 100 synapses (stored contiguously: int32 target, float64 weight, as
             spikesim's table) into an N-long input array at random targets. The floor of the
             delivery stage for a network of this size (memory latency of the scattered adds).
``rmw``      ns per random read-modify-write ``deriv[s] += trace[src]`` over the arrays of N * 100
             plastic synapses: the floor of a plasticity update that touches one synapse at a
             random place (potentiation through the index of incoming synapses).
"""

from __future__ import annotations

import time

import numpy as np
from common import child_args, log, write_result
from numba import njit

from spikesim.engine.kernels import prefer_512_bit_vectors


@njit(cache=False)
def neuron_steps(steps, v, u, I, a, b, c, d, vpeak, ids):
    """Two passes per step: the update (vectorisable: no early exit, a non-finite flag), then
    threshold, reset and the list of spiking neurons. The same arithmetic as spikesim's."""
    prefer_512_bit_vectors()
    total = 0
    for _ in range(steps):
        bad = False
        for i in range(v.shape[0]):
            vi = v[i]
            ui = u[i]
            vi = vi + 0.5 * (0.04 * (vi * vi) + 5.0 * vi + 140.0 - ui + I[i])
            vi = vi + 0.5 * (0.04 * (vi * vi) + 5.0 * vi + 140.0 - ui + I[i])
            ui = ui + a[i] * (b[i] * vi - ui)
            bad |= not (abs(vi) < np.inf and abs(ui) < np.inf)
            v[i] = vi
            u[i] = ui
        if bad:
            return -1
        count = 0
        for i in range(v.shape[0]):
            if v[i] >= vpeak[i]:
                v[i] = c[i]
                u[i] += d[i]
                ids[count] = i
                count += 1
        total += count
    return total


@njit(cache=False)
def neuron_steps_one_pass(steps, v, u, I, a, b, c, d, vpeak, ids):
    """One pass per step with the spike list and an early exit on a non-finite value inside the
    loop (the structure of spikesim's kernel at the time of writing): not vectorised."""
    total = 0
    for _ in range(steps):
        count = 0
        for i in range(v.shape[0]):
            vi = v[i]
            ui = u[i]
            vi = vi + 0.5 * (0.04 * (vi * vi) + 5.0 * vi + 140.0 - ui + I[i])
            vi = vi + 0.5 * (0.04 * (vi * vi) + 5.0 * vi + 140.0 - ui + I[i])
            ui = ui + a[i] * (b[i] * vi - ui)
            if not (abs(vi) < np.inf and abs(ui) < np.inf):
                return -1
            if vi >= vpeak[i]:
                vi = c[i]
                ui += d[i]
                ids[count] = i
                count += 1
            v[i] = vi
            u[i] = ui
        total += count
    return total


@njit(cache=False)
def deliver(sources, per, post, weight, arrivals):
    for q in range(sources.shape[0]):
        start = sources[q] * per
        for s in range(start, start + per):
            arrivals[post[s]] += weight[s]


@njit(cache=False)
def rmw(index, src, deriv, trace):
    for e in range(index.shape[0]):
        deriv[index[e]] += trace[src[e]]


def best_of(fn, repeats=3):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def delivery_bound(rng, n: int, per: int, n_events: int) -> float:
    post = rng.integers(0, n, size=n * per, dtype=np.int32)
    weight = np.full(n * per, 0.5)
    arrivals = np.zeros(n)
    sources = rng.integers(0, n, size=max(1, n_events // per))
    deliver(sources[:2], per, post, weight, arrivals)
    return best_of(lambda: deliver(sources, per, post, weight, arrivals)) / (len(sources) * per) * 1e9


def main() -> None:
    job, result_path = child_args()
    n = int(job["n"])
    per = int(job.get("synapses_per_neuron", 100))
    rng = np.random.default_rng(0)
    res = {"mode": "bounds", "n": n}

    # neuron update (compiled on a tiny array first); a weak random current makes a few spikes
    def neuron_arrays():
        return [np.full(n, -65.0), np.full(n, -13.0), 4.0 * rng.random(n), np.full(n, 0.02), np.full(n, 0.2),
                np.full(n, -65.0), np.full(n, 8.0), np.full(n, 30.0), np.zeros(n, np.int32)]  # fmt: skip

    steps = max(1, int(job.get("neuron_updates", 2e8)) // n)
    for name, fn in (("neuron_ns_per_neuron_step", neuron_steps), ("neuron_one_pass_ns_per_neuron_step", neuron_steps_one_pass)):
        fn(1, *[x[:4].copy() for x in neuron_arrays()])
        arrays = neuron_arrays()
        res[name] = best_of(lambda: fn(steps, *arrays)) / (steps * n) * 1e9  # noqa: B023

    # delivery: contiguous synapses of random sources, random targets
    n_events = int(job.get("events", 5e7))
    res["deliver_ns_per_event"] = delivery_bound(rng, n, per, n_events)

    # random read-modify-write over the plastic synapses
    deriv = np.zeros(n * per)
    trace = rng.random(21 * n)
    index = rng.integers(0, n * per, size=n_events)
    src = rng.integers(0, 21 * n, size=n_events)
    rmw(index[:2], src[:2], deriv, trace)
    res["rmw_ns_per_event"] = best_of(lambda: rmw(index, src, deriv, trace)) / n_events * 1e9
    log(f"  bounds N={n}: " + ", ".join(f"{k} {v:.2f}" for k, v in res.items() if k.endswith(("event", "step"))))
    write_result(result_path, res)


if __name__ == "__main__":
    main()
