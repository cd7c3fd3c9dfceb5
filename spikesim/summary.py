"""A Recording described in a few lines of text (``spikesim info``, the end of ``spikesim run``).

``describe`` gives: the run (name, status, simulated time, dt, seed), one line per population
(neurons, spikes, mean rate, mean CV of the inter-spike intervals), the traces and weights the
recording holds, and the versions that produced it.
"""

from __future__ import annotations

import math
import os

import numpy as np

from .recording import Recording
from .stats import population_stats


def _ms(value: float) -> str:
    return "?" if not math.isfinite(value) else f"{value:g} ms"


def describe(recording: Recording, path: str | os.PathLike | None = None) -> str:
    """A few lines (no trailing newline) saying what ``recording`` holds; ``path``, when given,
    starts the first line."""
    info = recording.info
    head = f"{path}: " if path is not None else ""
    lines = [f"{head}{info.name}, status {recording.status}, {_run_extent(recording)}"]
    stats = population_stats(recording)
    width = max([len("population")] + [len(pop) for pop in stats])
    lines.append(f"  {'population':<{width}} {'neurons':>8} {'spikes':>10} {'rate (Hz)':>10} {'CV ISI':>7}")
    for pop, s in stats.items():
        cv = "-" if math.isnan(s["mean_cv_isi"]) else f"{s['mean_cv_isi']:.2f}"
        lines.append(f"  {pop:<{width}} {s['neurons']:>8} {s['spikes']:>10} {s['mean_rate_hz']:>10.2f} {cv:>7}")
    if recording.traces:
        lines.append("  traces: " + _traces_line(recording))
    if recording.rates:
        bins = sorted({r.bin_ms for r in recording.rates.values()})
        lines.append("  rates: bins of " + ", ".join(f"{b:g}" for b in bins) + " ms")
    for name, w in recording.weights.items():
        lines.append(f"  weights {name}: {_weights_line(w)}")
    if info.versions:
        lines.append("  versions: " + ", ".join(f"{k} {v}" for k, v in info.versions.items()))
    return "\n".join(lines)


def _run_extent(recording: Recording) -> str:
    info = recording.info
    if not math.isfinite(info.dt_ms):  # a SONATA file of another tool: no run metadata
        return "no spikesim metadata (a plain SONATA spike file)"
    done = recording.simulated_ms
    extent = (f"{_ms(done)} simulated" if recording.status == "complete" and math.isclose(done, info.duration_ms)
              else f"{_ms(done)} of {_ms(info.duration_ms)} simulated")
    return f"{extent}, dt {_ms(info.dt_ms)}, seed {info.seed}"


def _traces_line(recording: Recording, most: int = 6) -> str:
    """``v: RS, IB and 3 more (5 neurons), 1200 samples``: per variable, the populations (in
    declaration order) that recorded it, how many neurons in all, and the samples per neuron."""
    parts = []
    variables = sorted({var for by_var in recording.traces.values() for var in by_var})
    for var in variables:
        pops = [(pop, recording.traces[pop][var]) for pop in recording.populations
                if var in recording.traces.get(pop, {})]
        named = ", ".join(pop for pop, _ in pops[:most]) + (f" and {len(pops) - most} more" if len(pops) > most else "")
        neurons = sum(tr.values.shape[1] for _, tr in pops)
        samples = "/".join(str(n) for n in sorted({len(tr.times_ms) for _, tr in pops}))
        parts.append(f"{var}: {named} ({neurons} neuron{'s' * (neurons != 1)}), {samples} samples")
    return "; ".join(parts)


def _weights_line(w) -> str:
    n = w.values.shape[1]  # Weights or WeightSnapshot alike
    if not len(w.times_ms):
        return f"{n} synapses, no snapshot"
    first, last = w.values[0], w.values[-1]
    text = f"{n} synapses, {len(w.times_ms)} snapshots ({_ms(w.times_ms[0])} .. {_ms(w.times_ms[-1])})"
    if n:
        text += f", mean {np.mean(first):.3g} -> {np.mean(last):.3g}"
    return text
