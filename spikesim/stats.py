"""Numbers of a Recording: spike counts, rates, inter-spike intervals and their CV.

Plain NumPy, shared by the summary text (``spikesim.summary``), the plots (``spikesim.plot``)
and the sweep tables (``spikesim.sweep``), so all three report the same numbers.

Times are in ms, rates in Hz. An inter-spike interval (ISI) is the time between two consecutive
spikes of one neuron; the coefficient of variation (CV) of a neuron is the standard deviation of
its ISIs over their mean (population standard deviation, ddof = 0): 0 for a clock, about 1 for
a Poisson process. A CV needs at least ``MIN_SPIKES_FOR_CV`` spikes (two intervals).
"""

from __future__ import annotations

import numpy as np

from .recording import Recording, SpikeTrains

MIN_SPIKES_FOR_CV = 3


def span_ms(recording: Recording) -> float:
    """The simulated time the recording covers, in ms: the run's duration when complete, the
    time up to its last complete step otherwise, and for files of other tools (dt and duration
    unknown) the last spike time."""
    info = recording.info
    if recording.status == "complete" and np.isfinite(info.duration_ms):
        return float(info.duration_ms)
    if np.isfinite(info.dt_ms) and recording.last_complete_step >= 0:
        return float(recording.simulated_ms)
    last = [trains.times_ms.max() for trains in recording.spikes.values() if len(trains)]
    return float(max(last)) if last else 0.0


def _by_neuron(trains: SpikeTrains, t_start_ms: float | None, t_stop_ms: float | None):
    """Times and ids of the spikes in [t_start_ms, t_stop_ms], sorted by neuron, then time."""
    times = np.asarray(trains.times_ms, dtype=np.float64)
    ids = np.asarray(trains.node_ids, dtype=np.int64)
    keep = np.ones(len(times), dtype=bool)
    if t_start_ms is not None:
        keep &= times >= t_start_ms
    if t_stop_ms is not None:
        keep &= times <= t_stop_ms
    times, ids = times[keep], ids[keep]
    order = np.lexsort((times, ids))
    return times[order], ids[order]


def isi_ms(trains: SpikeTrains, t_start_ms: float | None = None, t_stop_ms: float | None = None) -> np.ndarray:
    """Every inter-spike interval (ms) of every neuron of one population, neuron by neuron.

    Only spikes in [t_start_ms, t_stop_ms] count, so an interval straddling an edge is left out.
    """
    times, ids = _by_neuron(trains, t_start_ms, t_stop_ms)
    same = ids[1:] == ids[:-1]
    return np.diff(times)[same]


def cv_isi(trains: SpikeTrains, t_start_ms: float | None = None, t_stop_ms: float | None = None,
           min_spikes: int = MIN_SPIKES_FOR_CV) -> tuple[np.ndarray, np.ndarray]:
    """(node_ids, CV) of every neuron with at least ``min_spikes`` spikes in the window, by id."""
    if min_spikes < 3:
        raise ValueError(f"a CV needs at least two intervals (min_spikes >= 3), not {min_spikes}")
    times, ids = _by_neuron(trains, t_start_ms, t_stop_ms)
    if len(times) < 2:
        return np.zeros(0, np.int64), np.zeros(0)
    same = ids[1:] == ids[:-1]
    intervals = np.diff(times)[same]
    owner = ids[1:][same]
    neurons, index, counts = np.unique(owner, return_inverse=True, return_counts=True)
    total = np.bincount(index, weights=intervals)
    squares = np.bincount(index, weights=intervals**2)
    mean = total / counts
    var = np.maximum(squares / counts - mean**2, 0.0)  # rounding may dip below 0 for a clock
    enough = (counts >= min_spikes - 1) & (mean > 0)
    return neurons[enough], np.sqrt(var[enough]) / mean[enough]


def population_stats(recording: Recording) -> dict[str, dict[str, float]]:
    """Per population, in declaration order: ``neurons``, ``spikes``, ``mean_rate_hz`` (spikes per
    neuron per second of the time ``span_ms`` gives: the simulated time of a spikesim run, up to
    the last spike of a plain SONATA file) and ``mean_cv_isi`` (mean CV over the neurons that have
    one; NaN when none has)."""
    out = {}
    seconds = span_ms(recording) / 1000.0
    for pop, size in recording.populations.items():
        trains = recording.spikes.get(pop, SpikeTrains.empty())
        _, cvs = cv_isi(trains)
        recorded = recording.info.recorded(pop)
        out[pop] = {
            "neurons": int(size),
            "spikes": len(trains),
            "mean_rate_hz": len(trains) / (recorded * seconds) if recorded and seconds > 0 else 0.0,
            "mean_cv_isi": float(cvs.mean()) if len(cvs) else float("nan"),
        }
    return out
