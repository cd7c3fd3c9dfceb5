"""Micro-experiments behind the suggestions in benchmarks/README.md ("What to optimise").

    python benchmarks/kernel_experiments.py [N]

Self-contained (Numba and NumPy only; no spikesim code), so that it keeps running whatever the
kernels become. Each line prints ns per neuron (neuron loops) or per synaptic event (scattered
adds); every variant computes the same numbers as its baseline.

1. Neuron loop. Numba wraps a negative index around (``v[i]`` with ``i < 0`` means
   ``v[n + i]``) unless it can prove the index is not negative; with a signed loop variable
   from ``range(lo, hi)`` every array access gets that check, which also stops LLVM from
   vectorising. ``range(n)`` over views, or unsigned (``np.uint64``) bounds, removes it.
2. Scattered adds (delivery: ``arrivals[ch, post[s]] += weight[s]``; plasticity:
   ``deriv[in_syn[e]] += trace[k, in_src[e]]``): the same with indices read from int32 arrays.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from numba import njit


@njit(cache=False)
def loop_signed(lo, hi, dt, a, b, c, d, vpeak, v, u, I, arrivals, spiked):
    bad = False
    h = 0.5 * dt
    for i in range(lo, hi):  # signed: wraparound handling on every access
        current = arrivals[0, i]
        arrivals[0, i] = 0.0
        vi = v[i] + arrivals[1, i]
        arrivals[1, i] = 0.0
        I[i] = current
        ui = u[i]
        vi = vi + h * (0.04 * (vi * vi) + 5.0 * vi + 140.0 - ui + current)
        vi = vi + h * (0.04 * (vi * vi) + 5.0 * vi + 140.0 - ui + current)
        ui = ui + dt * (a[i] * (b[i] * vi - ui))
        finite = abs(vi) < np.inf and abs(ui) < np.inf
        fire = vi >= vpeak[i] and finite
        spiked[i] = fire
        v[i] = c[i] if fire else vi
        u[i] = ui + d[i] if fire else ui
        bad |= not finite
    return bad


@njit(cache=False)
def loop_unsigned(lo, hi, dt, a, b, c, d, vpeak, v, u, I, arrivals, spiked):
    bad = False
    h = 0.5 * dt
    for i in range(np.uint64(lo), np.uint64(hi)):  # the only change
        current = arrivals[0, i]
        arrivals[0, i] = 0.0
        vi = v[i] + arrivals[1, i]
        arrivals[1, i] = 0.0
        I[i] = current
        ui = u[i]
        vi = vi + h * (0.04 * (vi * vi) + 5.0 * vi + 140.0 - ui + current)
        vi = vi + h * (0.04 * (vi * vi) + 5.0 * vi + 140.0 - ui + current)
        ui = ui + dt * (a[i] * (b[i] * vi - ui))
        finite = abs(vi) < np.inf and abs(ui) < np.inf
        fire = vi >= vpeak[i] and finite
        spiked[i] = fire
        v[i] = c[i] if fire else vi
        u[i] = ui + d[i] if fire else ui
        bad |= not finite
    return bad


@njit(cache=False)
def loop_two_pass(lo, hi, dt, a, b, c, d, vpeak, v, u, I, arrivals, spiked):
    """Input and integration in a loop that writes few arrays, then threshold and reset (not
    faster than the one-pass unsigned loop on the machine of README.md: shown for comparison)."""
    bad = False
    h = 0.5 * dt
    for i in range(np.uint64(lo), np.uint64(hi)):
        current = arrivals[0, i]
        I[i] = current
        vi = v[i] + arrivals[1, i]
        ui = u[i]
        vi = vi + h * (0.04 * (vi * vi) + 5.0 * vi + 140.0 - ui + current)
        vi = vi + h * (0.04 * (vi * vi) + 5.0 * vi + 140.0 - ui + current)
        ui = ui + dt * (a[i] * (b[i] * vi - ui))
        bad |= not (abs(vi) < np.inf and abs(ui) < np.inf)
        v[i] = vi
        u[i] = ui
    for i in range(np.uint64(lo), np.uint64(hi)):
        arrivals[0, i] = 0.0
        arrivals[1, i] = 0.0
        fire = v[i] >= vpeak[i]
        spiked[i] = fire
        if fire:
            v[i] = c[i]
            u[i] += d[i]
    return bad


@njit(cache=False)
def scatter_signed(starts, per, post, weight, arrivals):
    for q in range(starts.shape[0]):
        for s in range(starts[q], starts[q] + per):
            arrivals[0, post[s]] += weight[s]


@njit(cache=False)
def scatter_unsigned(starts, per, post, weight, arrivals):
    for q in range(starts.shape[0]):
        lo = np.uint64(starts[q])
        for s in range(lo, lo + np.uint64(per)):
            arrivals[0, np.uint64(post[s])] += weight[s]


@njit(cache=False)
def rmw_signed(index, src, delay, deriv, trace, cur):
    L = trace.shape[0]
    for e in range(index.shape[0]):
        deriv[index[e]] += trace[(cur - delay[e] + L) % L, src[e]]


@njit(cache=False)
def rmw_unsigned(index, src, delay, deriv, trace, cur):
    L = trace.shape[0]
    for e in range(index.shape[0]):
        k = cur - delay[e]
        if k < 0:
            k += L
        deriv[np.uint64(index[e])] += trace[np.uint64(k), np.uint64(src[e])]


@njit(cache=False)
def drive(fn, steps, bounds, dt, a, b, c, d, vpeak, v, u, I, arrivals, spiked):
    """``steps`` steps of a neuron-loop variant; every step, 1 % of the neurons get a pulse. The
    loop bounds come from an array, as spikesim's population bounds do (a literal 0 would let
    the compiler prove the index non-negative)."""
    n = v.shape[0]
    for _ in range(steps):
        for i in range(0, n, 100):
            arrivals[0, i] = 20.0
        fn(bounds[0], bounds[1], dt, a, b, c, d, vpeak, v, u, I, arrivals, spiked)


def best(fn, repeats=3):
    fn()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rng = np.random.default_rng(0)
    steps = max(1, 30_000_000 // n)

    def state():
        return dict(a=np.full(n, 0.02), b=np.full(n, 0.2), c=np.full(n, -65.0), d=np.full(n, 8.0), vpeak=np.full(n, 30.0),
                    v=np.full(n, -65.0), u=np.full(n, -13.0), I=np.zeros(n), arrivals=np.zeros((2, n)), spiked=np.zeros(n, np.bool_))  # fmt: skip

    print(f"N = {n}")
    results = {}
    for name, fn in (("signed range(lo, hi)", loop_signed), ("unsigned bounds", loop_unsigned), ("unsigned, two passes", loop_two_pass)):
        s = state()

        def run(fn=fn, s=s):
            drive(fn, steps, np.array([0, n]), 1.0, s["a"], s["b"], s["c"], s["d"], s["vpeak"], s["v"], s["u"], s["I"], s["arrivals"], s["spiked"])

        results[name] = (best(run) / (steps * n) * 1e9, s["v"].copy())
        print(f"  neuron loop, {name:24s} {results[name][0]:6.2f} ns/neuron-step")
    ref = results["signed range(lo, hi)"][1]
    print("  same v in every variant:", all(np.array_equal(ref, r[1]) for r in results.values()))

    per = 100
    post = rng.integers(0, n, size=n * per, dtype=np.int32)
    weight = rng.random(n * per)
    starts = (rng.integers(0, n, size=200_000) * per).astype(np.int64)
    for name, fn in (("signed", scatter_signed), ("unsigned", scatter_unsigned)):
        arrivals = np.zeros((2, n))
        t = best(lambda fn=fn, arrivals=arrivals: fn(starts, per, post, weight, arrivals))
        print(f"  delivery scatter, {name:9s} {t / (len(starts) * per) * 1e9:6.2f} ns/event")
    m = 20_000_000
    index = rng.integers(0, n * 80, size=m, dtype=np.int32)
    src = rng.integers(0, n, size=m, dtype=np.int32)
    delay = rng.integers(1, 21, size=m).astype(np.int16)
    trace = rng.random((21, n))
    for name, fn in (("signed, %", rmw_signed), ("unsigned", rmw_unsigned)):
        deriv = np.zeros(n * 80)
        t = best(lambda fn=fn, deriv=deriv: fn(index, src, delay, deriv, trace, 7))
        print(f"  potentiation gather + read-modify-write, {name:10s} {t / m * 1e9:6.2f} ns/update")


if __name__ == "__main__":
    main()
