"""Compare two recordings of the same network (spikesim and Brian2, two spikesim versions, ...).

``compare(a, b)`` returns a ``Comparison``:

- ``first_disagreement_ms``: the time stamp of the first step whose spikes (neuron ids) differ
  between the two recordings, or None when the spike trains are identical. Spikes are compared
  on the step grid: times are converted to steps with the recordings' dt.
- per population (``populations[name]``): spike counts and mean rates (Hz) on both sides, the
  Pearson correlation of the per-neuron spike counts (``count_correlation``; 1 when the counts are
  identical, NaN when they differ and one side has no variance, e.g. a single neuron), and the
  spike-train distance ``unmatched_fraction``.
- the spike-train distance is the **fraction of unmatched spikes**: spikes of one neuron on the
  two sides are paired one to one when their times differ by at most ``window_ms`` (the pairing
  that matches the most spikes, found greedily in time order), and
  ``unmatched_fraction = (unmatched in a + unmatched in b) / (spikes in a + spikes in b)``:
  0 for identical trains, 1 when no spike has a partner.

``Comparison.agree(...)`` (``.ok`` with the tolerances given to ``compare``) decides:

- every population's rates agree within ``rate_rtol`` (relative, of the larger of the two) plus
  ``rate_atol_hz``: ``|rate_a - rate_b| <= rate_atol_hz + rate_rtol * max(rate_a, rate_b)``;
- every population's count correlation is at least ``min_count_correlation`` (populations where
  it is NaN are skipped: the rate check covers them);
- every population's unmatched fraction is at most ``max_unmatched_fraction``;
- with ``exact=True``, the spike trains must be identical.

Weights (``weights[connection]``, a ``WeightComparison``), for every connection whose weights
both recordings hold with the same synapses: the snapshot times both hold (up to ``stop_ms``),
whether every common snapshot is identical, and at the last common snapshot (the final weights
of a whole run) the largest absolute difference, the fraction of synapses with equal weights, the
mean weight of both sides and the Kolmogorov-Smirnov distance of the two weight distributions
(the largest difference of their empirical distribution functions: 0 for the same multiset of
weights, 1 for disjoint ranges). They agree when

- the largest difference is at most ``weight_atol`` (default: infinite, not checked: a chaotic
  plastic network that diverged has different weights synapse by synapse);
- the Kolmogorov-Smirnov distance is at most ``max_weight_ks`` (default 0.1);
- with ``exact=True``, every common snapshot is identical.

Defaults: 5 % + 0.5 Hz, correlation >= 0.5, unmatched fraction not checked (1.0), not exact.
They suit networks that stop agreeing spike for spike (chaotic divergence after a rounding
difference). Measured on the 2003 network (models/izhikevich2003.yaml) with Brian2 weights
changed by a relative 1e-9: identical until 404 ms; over the 600 ms after, rates within 1 %, but
spike counts of the excitatory neurons correlate only at 0.77 (0.84 over 1600 ms), and about
half of the spikes have no partner within 1 ms: after divergence, only statistics agree.
spikesim and its Brian2 bridge agree exactly, which ``exact=True`` checks.

The overlaid raster is drawn by ``spikesim.plot.overlay_raster`` (this module imports no
matplotlib).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .recording import Recording, SpikeTrains


@dataclass(frozen=True)
class Tolerances:
    """When two recordings agree (see the module docstring)."""

    rate_rtol: float = 0.05
    rate_atol_hz: float = 0.5
    min_count_correlation: float = 0.5
    max_unmatched_fraction: float = 1.0
    exact: bool = False
    weight_atol: float = math.inf
    max_weight_ks: float = 0.1


@dataclass
class PopulationComparison:
    """One population, both sides."""

    size: int
    spikes_a: int
    spikes_b: int
    rate_a_hz: float
    rate_b_hz: float
    count_correlation: float
    unmatched_fraction: float


@dataclass
class WeightComparison:
    """One connection's weights, both sides (see the module docstring)."""

    synapses: int
    times_ms: np.ndarray  # snapshot times both recordings hold
    snapshots_identical: bool  # every common snapshot
    time_ms: float  # the last common snapshot, compared below
    max_abs_difference: float
    fraction_equal: float
    mean_a: float
    mean_b: float
    ks_distance: float


@dataclass
class Comparison:
    """The result of ``compare``; ``ok`` applies its ``tolerances``."""

    labels: tuple[str, str]
    start_ms: float
    stop_ms: float
    dt_ms: float
    window_ms: float
    first_disagreement_ms: float | None
    populations: dict[str, PopulationComparison]
    count_correlation: float  # over all neurons
    unmatched_fraction: float  # over all spikes
    tolerances: Tolerances = field(default_factory=Tolerances)
    weights: dict[str, WeightComparison] = field(default_factory=dict)

    @property
    def identical(self) -> bool:
        return self.first_disagreement_ms is None

    @property
    def rates_a(self) -> dict[str, float]:
        return {p: c.rate_a_hz for p, c in self.populations.items()}

    @property
    def rates_b(self) -> dict[str, float]:
        return {p: c.rate_b_hz for p, c in self.populations.items()}

    def failures(self, tolerances: Tolerances | None = None) -> list[str]:
        """Every tolerance that is exceeded, as one line each (empty when they agree)."""
        tol = tolerances or self.tolerances
        out = []
        if tol.exact and not self.identical:
            out.append(f"spike trains differ from t = {self.first_disagreement_ms:g} ms on (exact agreement required)")
        for pop, c in self.populations.items():
            allowed = tol.rate_atol_hz + tol.rate_rtol * max(c.rate_a_hz, c.rate_b_hz)
            if abs(c.rate_a_hz - c.rate_b_hz) > allowed:
                out.append(
                    f"{pop}: rates {c.rate_a_hz:.4g} Hz and {c.rate_b_hz:.4g} Hz differ by more than "
                    f"{tol.rate_atol_hz:g} Hz + {100 * tol.rate_rtol:g} %"
                )
            if not math.isnan(c.count_correlation) and c.count_correlation < tol.min_count_correlation:
                out.append(
                    f"{pop}: spike-count correlation {c.count_correlation:.3f} < {tol.min_count_correlation:g}"
                )
            if c.unmatched_fraction > tol.max_unmatched_fraction:
                out.append(
                    f"{pop}: {100 * c.unmatched_fraction:.2f} % of spikes unmatched within {self.window_ms:g} ms "
                    f"> {100 * tol.max_unmatched_fraction:g} %"
                )
        for name, w in self.weights.items():
            if tol.exact and not w.snapshots_identical:
                out.append(f"weights of {name} differ (exact agreement required)")
            if w.max_abs_difference > tol.weight_atol:
                out.append(
                    f"weights of {name} at {w.time_ms:g} ms differ by up to {w.max_abs_difference:.4g} > {tol.weight_atol:g}"
                )
            if w.ks_distance > tol.max_weight_ks:
                out.append(
                    f"weights of {name} at {w.time_ms:g} ms: distributions differ "
                    f"(Kolmogorov-Smirnov distance {w.ks_distance:.4f} > {tol.max_weight_ks:g})"
                )
        return out

    def agree(self, tolerances: Tolerances | None = None, **overrides) -> bool:
        """Whether the recordings agree within ``tolerances`` (default: those given to
        ``compare``), with single fields overridden by keyword, e.g. ``agree(rate_rtol=0.02)``."""
        tol = replace(tolerances or self.tolerances, **overrides)
        return not self.failures(tol)

    @property
    def ok(self) -> bool:
        return self.agree()

    def summary(self) -> str:
        """A table for people (what ``spikesim validate`` prints)."""
        a, b = self.labels
        lines = []
        span = f"{self.start_ms:g}-{self.stop_ms:g} ms"
        if self.identical:
            n = sum(c.spikes_a for c in self.populations.values())
            lines.append(f"identical spike trains over {span} ({n} spikes): full agreement")
        else:
            lines.append(f"first disagreement at t = {self.first_disagreement_ms:g} ms (compared {span})")
        lines.append(
            f"  {'population':<12} {'neurons':>8} {'spikes ' + a:>16} {'spikes ' + b:>16} "
            f"{'Hz ' + a:>12} {'Hz ' + b:>12} {'count r':>8} {'unmatched':>10}"
        )
        for pop, c in self.populations.items():
            lines.append(
                f"  {pop:<12} {c.size:>8} {c.spikes_a:>16} {c.spikes_b:>16} {c.rate_a_hz:>12.3f} "
                f"{c.rate_b_hz:>12.3f} {_fmt_r(c.count_correlation):>8} {100 * c.unmatched_fraction:>9.2f}%"
            )
        lines.append(
            f"  all neurons: count correlation {_fmt_r(self.count_correlation)}, "
            f"{100 * self.unmatched_fraction:.2f} % of spikes unmatched within {self.window_ms:g} ms"
        )
        for name, w in self.weights.items():
            same = "identical at every snapshot" if w.snapshots_identical else "differ"
            lines.append(
                f"  weights {name} ({w.synapses} synapses, {len(w.times_ms)} snapshots: {same}); at {w.time_ms:g} ms: "
                f"max |difference| {w.max_abs_difference:.4g}, {100 * w.fraction_equal:.2f} % equal, "
                f"mean {w.mean_a:.6g} and {w.mean_b:.6g}, KS distance {w.ks_distance:.4f}"
            )
        tol = self.tolerances
        rule = (
            f"rates within {tol.rate_atol_hz:g} Hz + {100 * tol.rate_rtol:g} %, "
            f"count correlation >= {tol.min_count_correlation:g}"
        )
        if tol.max_unmatched_fraction < 1.0:
            rule += f", unmatched <= {100 * tol.max_unmatched_fraction:g} %"
        if self.weights:
            rule += f", weight KS distance <= {tol.max_weight_ks:g}"
            if math.isfinite(tol.weight_atol):
                rule += f", weights within {tol.weight_atol:g}"
        if tol.exact:
            rule += ", identical spike trains" + (" and weights" if self.weights else "")
        failures = self.failures()
        lines.append(f"agreement ({rule}): " + ("ok" if not failures else "FAILED"))
        lines += [f"  - {f}" for f in failures]
        return "\n".join(lines)


def _fmt_r(r: float) -> str:
    return "n/a" if math.isnan(r) else f"{r:.4f}"


def compare(
    a: Recording,
    b: Recording,
    *,
    window_ms: float | None = None,
    start_ms: float = 0.0,
    stop_ms: float | None = None,
    labels: tuple[str, str] = ("a", "b"),
    tolerances: Tolerances | None = None,
    **tolerance_fields,
) -> Comparison:
    """Compare the spikes and weights of ``a`` and ``b`` (recordings of networks with the same
    populations).

    Only spikes stamped in (start_ms, stop_ms] count (a spike stamped t belongs to the step
    ending at t); ``stop_ms`` defaults to the shorter of the two simulated times. Weights: the
    snapshots both hold up to ``stop_ms`` (see the module docstring). ``window_ms``
    (default: one step) is the coincidence window of the unmatched-spike distance. Tolerances
    are a ``Tolerances`` or its fields by keyword (``rate_rtol=0.02``).
    """
    if a.populations != b.populations:
        raise ValueError(f"the recordings have different populations: {a.populations} and {b.populations}")
    tol = replace(tolerances or Tolerances(), **tolerance_fields)
    dt = _common_dt(a, b)
    if stop_ms is None:
        stop_ms = min(a.simulated_ms, b.simulated_ms)
    if not stop_ms > start_ms:
        raise ValueError(f"nothing to compare: start_ms = {start_ms:g}, stop_ms = {stop_ms:g}")
    window = dt if window_ms is None else float(window_ms)
    seconds = (stop_ms - start_ms) / 1000.0

    def steps(times: np.ndarray) -> np.ndarray:
        return np.rint(times / dt).astype(np.int64)

    lo, hi = steps(np.array([start_ms, stop_ms]))
    pops: dict[str, PopulationComparison] = {}
    all_a, all_b, counts_a, counts_b = [], [], [], []
    n_unmatched, n_total = 0, 0
    offset = 0
    for pop, size in a.populations.items():
        sa, ia = _window(a.spikes.get(pop, SpikeTrains.empty()), steps, lo, hi)
        sb, ib = _window(b.spikes.get(pop, SpikeTrains.empty()), steps, lo, hi)
        ca = np.bincount(ia, minlength=size)
        cb = np.bincount(ib, minlength=size)
        unmatched = _unmatched(sa, ia, sb, ib, window / dt)
        pops[pop] = PopulationComparison(
            size=size,
            spikes_a=len(sa),
            spikes_b=len(sb),
            rate_a_hz=len(sa) / (size * seconds),
            rate_b_hz=len(sb) / (size * seconds),
            count_correlation=_correlation(ca, cb),
            unmatched_fraction=unmatched / (len(sa) + len(sb)) if len(sa) + len(sb) else 0.0,
        )
        n_unmatched += unmatched
        n_total += len(sa) + len(sb)
        all_a.append((sa, ia + offset))
        all_b.append((sb, ib + offset))
        counts_a.append(ca)
        counts_b.append(cb)
        offset += size
    first = _first_disagreement(all_a, all_b)
    return Comparison(
        labels=labels,
        start_ms=float(start_ms),
        stop_ms=float(stop_ms),
        dt_ms=dt,
        window_ms=window,
        first_disagreement_ms=None if first is None else float((first + 1) * dt),
        populations=pops,
        count_correlation=_correlation(np.concatenate(counts_a), np.concatenate(counts_b)),
        unmatched_fraction=n_unmatched / n_total if n_total else 0.0,
        tolerances=tol,
        weights=_compare_weights(a, b, stop_ms),
    )


def _compare_weights(a: Recording, b: Recording, stop_ms: float) -> dict[str, WeightComparison]:
    out = {}
    for name in a.weights.keys() & b.weights.keys():
        wa, wb = a.weights[name], b.weights[name]
        if not (np.array_equal(wa.pre, wb.pre) and np.array_equal(wa.post, wb.post)):
            raise ValueError(f"the recordings hold the weights of different synapses for connection {name!r}")
        ta, tb = np.asarray(wa.times_ms), np.asarray(wb.times_ms)
        common = np.intersect1d(ta[ta <= stop_ms + 1e-9], tb[tb <= stop_ms + 1e-9])
        if not len(common):
            continue
        ra = [int(np.nonzero(ta == t)[0][0]) for t in common]
        rb = [int(np.nonzero(tb == t)[0][0]) for t in common]
        identical = all(np.array_equal(wa.values[i], wb.values[j]) for i, j in zip(ra, rb))
        x, y = np.asarray(wa.values[ra[-1]], np.float64), np.asarray(wb.values[rb[-1]], np.float64)
        n = len(x)
        out[name] = WeightComparison(
            synapses=n,
            times_ms=common,
            snapshots_identical=identical,
            time_ms=float(common[-1]),
            max_abs_difference=float(np.abs(x - y).max()) if n else 0.0,
            fraction_equal=float(np.mean(x == y)) if n else 1.0,
            mean_a=float(x.mean()) if n else math.nan,
            mean_b=float(y.mean()) if n else math.nan,
            ks_distance=_ks_distance(x, y),
        )
    return dict(sorted(out.items()))


def _ks_distance(x: np.ndarray, y: np.ndarray) -> float:
    """Largest difference of the empirical distribution functions of x and y."""
    if not len(x) or not len(y):
        return 0.0 if len(x) == len(y) else 1.0
    xs, ys = np.sort(x), np.sort(y)
    grid = np.concatenate([xs, ys])
    fx = np.searchsorted(xs, grid, side="right") / len(xs)
    fy = np.searchsorted(ys, grid, side="right") / len(ys)
    return float(np.abs(fx - fy).max())


def _common_dt(a: Recording, b: Recording) -> float:
    da, db = a.info.dt_ms, b.info.dt_ms
    if not (math.isfinite(da) and math.isfinite(db)):
        raise ValueError("both recordings need a finite dt_ms to be compared on the step grid")
    if not math.isclose(da, db, rel_tol=1e-12):
        raise ValueError(f"the recordings have different steps: dt_ms = {da:g} and {db:g}")
    return float(da)


def _window(trains: SpikeTrains, steps, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """(step of firing, local id) of the spikes stamped in (lo dt, hi dt]; step n is stamped (n+1) dt."""
    fired = steps(trains.times_ms) - 1
    keep = (fired >= lo) & (fired < hi)
    return fired[keep], trains.node_ids[keep].astype(np.int64)


def _first_disagreement(side_a, side_b) -> int | None:
    """First step whose set of spiking neurons differs, or None."""
    sa = np.concatenate([s for s, _ in side_a]) if side_a else np.zeros(0, np.int64)
    ia = np.concatenate([i for _, i in side_a]) if side_a else np.zeros(0, np.int64)
    sb = np.concatenate([s for s, _ in side_b]) if side_b else np.zeros(0, np.int64)
    ib = np.concatenate([i for _, i in side_b]) if side_b else np.zeros(0, np.int64)
    oa, ob = np.lexsort((ia, sa)), np.lexsort((ib, sb))
    sa, ia, sb, ib = sa[oa], ia[oa], sb[ob], ib[ob]
    m = min(len(sa), len(sb))
    differ = np.nonzero((sa[:m] != sb[:m]) | (ia[:m] != ib[:m]))[0]
    if len(differ):
        k = differ[0]
        # the lexicographically first difference: the earlier of the two steps is the first step
        # whose spike sets differ
        return int(min(sa[k], sb[k]))
    if len(sa) != len(sb):
        return int(sa[m]) if len(sa) > m else int(sb[m])
    return None


def _correlation(x: np.ndarray, y: np.ndarray) -> float:
    if np.array_equal(x, y):
        return 1.0
    if len(x) < 2 or x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x.astype(np.float64), y.astype(np.float64))[0, 1])


def _unmatched(sa, ia, sb, ib, window_steps: float) -> int:
    """Spikes left without a partner of the same neuron within the window, on both sides."""
    oa, ob = np.lexsort((sa, ia)), np.lexsort((sb, ib))
    sa, ia, sb, ib = sa[oa], ia[oa], sb[ob], ib[ob]
    if np.array_equal(sa, sb) and np.array_equal(ia, ib):
        return 0
    w = window_steps + 1e-9
    neurons = np.union1d(ia, ib)
    ba = np.searchsorted(ia, neurons, "left"), np.searchsorted(ia, neurons, "right")
    bb = np.searchsorted(ib, neurons, "left"), np.searchsorted(ib, neurons, "right")
    matched = 0
    for k in range(len(neurons)):
        ta = sa[ba[0][k] : ba[1][k]]
        tb = sb[bb[0][k] : bb[1][k]]
        if len(ta) == len(tb) and np.array_equal(ta, tb):
            matched += len(ta)
            continue
        i = j = 0
        # greedy in time order: pairing the earliest spikes that fit matches the most on a line
        while i < len(ta) and j < len(tb):
            if abs(ta[i] - tb[j]) <= w:
                matched += 1
                i += 1
                j += 1
            elif ta[i] < tb[j]:
                i += 1
            else:
                j += 1
    return len(sa) + len(sb) - 2 * matched


def overlay_raster(a: Recording, b: Recording, path: str | Path, **kwargs) -> Path:
    """Both rasters overlaid in one image; see ``spikesim.plot.overlay_raster``."""
    from .plot import overlay_raster as draw

    return draw(a, b, path, **kwargs)


__all__ = ["Comparison", "PopulationComparison", "Tolerances", "WeightComparison", "compare", "overlay_raster"]
