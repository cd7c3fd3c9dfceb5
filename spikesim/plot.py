"""Pictures of a Recording: spike raster, population rate, state traces.

This is the only module of spikesim that imports matplotlib. The drawing functions take an
optional Axes and return the Axes they drew on; the ``save_*`` functions build a standalone
``matplotlib.figure.Figure`` (no pyplot, so no global figure state and nothing left open) and
write it to a file whose extension picks the format (png, svg, pdf).

Times are in ms, rates in Hz, v in mV. Neurons are stacked in declaration order, first
population at the bottom, so a neuron's row is the sum of the sizes of the populations drawn
before it plus its population-local id (the global id of ``Recording.all_spikes``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from .errors import OutputError
from .recording import Recording, SpikeTrains

DPI = 120
DEFAULT_RATE_BIN_MS = 5.0
# At most this many rate bins across a run: finer bins of long runs are unreadable noise.
MAX_RATE_BINS = 2000
# Above this many spikes, vector outputs embed the raster points as an image (small files).
RASTERIZE_ABOVE = 20000
# Runs longer than this get a raster of their last RASTER_WINDOW_MS over the rate of the whole run.
LONG_RUN_MS = 10000.0
RASTER_WINDOW_MS = 1000.0


def _pyplot():
    """pyplot, with the Agg backend when nothing was chosen and there is no display."""
    import matplotlib

    headless = sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if headless and "matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _new_axes(ax):
    return _pyplot().subplots()[1] if ax is None else ax


def _colour(index: int):
    import matplotlib

    return matplotlib.colormaps["tab10"](index % 10)


def _span_ms(recording: Recording) -> float:
    """The simulated time the recording covers, in ms (for files of other tools, whose dt and
    duration are unknown, the last spike time)."""
    info = recording.info
    if recording.status == "complete" and np.isfinite(info.duration_ms):
        return float(info.duration_ms)
    if np.isfinite(info.dt_ms) and recording.last_complete_step >= 0:
        return float(recording.simulated_ms)
    last = [trains.times_ms.max() for trains in recording.spikes.values() if len(trains)]
    return float(max(last)) if last else 0.0


def _default_markersize(n_spikes: int) -> float:
    """Marker diameter in points: large for a few spikes, down to half a point for millions."""
    return float(np.clip(240.0 / np.sqrt(max(n_spikes, 1)), 0.5, 4.0))


def raster(
    recording: Recording,
    ax=None,
    t_start_ms: float | None = None,
    t_stop_ms: float | None = None,
    populations: list[str] | None = None,
    markersize: float | None = None,
):
    """Spike raster: one dot per spike, time (ms) on x, neuron row on y, one colour per population.

    ``populations`` chooses which populations to draw; they are stacked without gaps, in
    declaration order whatever the order given. ``markersize`` is the dot diameter in points (default: by spike count).
    Returns the Axes; its i-th collection holds the spikes of the i-th population drawn.
    """
    from matplotlib.lines import Line2D

    ax = _new_axes(ax)
    chosen = _chosen_populations(recording, populations)
    t0 = 0.0 if t_start_ms is None else float(t_start_ms)
    t1 = _span_ms(recording) if t_stop_ms is None else float(t_stop_ms)
    windows = {pop: _window(recording.spikes.get(pop, SpikeTrains.empty()), t0, t1) for pop in chosen}
    n_spikes = sum(len(times) for times, _ in windows.values())
    size = _default_markersize(n_spikes) if markersize is None else float(markersize)

    offset, handles = 0, []
    for index, pop in enumerate(chosen):
        times, ids = windows[pop]
        colour = _colour(index)
        # scatter's s is an area in points^2; linewidths=0 keeps tiny dots from growing an edge;
        # no clipping, as spikes of the last step sit on the right edge (all lie in the window).
        ax.scatter(
            times, ids.astype(np.int64) + offset, s=size**2, color=colour, marker="o", linewidths=0,
            clip_on=False, rasterized=n_spikes > RASTERIZE_ABOVE, label=pop,
        )
        # The legend shows readable markers, whatever the size of the dots.
        handles.append(Line2D([], [], color=colour, marker="o", linestyle="", markersize=5, label=pop))
        if index > 0:
            ax.axhline(offset - 0.5, color="0.6", linewidth=0.6)
        offset += recording.populations[pop]

    ax.set_xlim(t0, t1 if t1 > t0 else t0 + 1.0)
    ax.set_ylim(-0.5, max(offset, 1) - 0.5)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron")
    # Outside the axes, on the right: a legend inside would hide spikes.
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small")
    return ax


def _chosen_populations(recording: Recording, populations: list[str] | None) -> list[str]:
    if populations is None:
        return list(recording.populations)
    unknown = [pop for pop in populations if pop not in recording.populations]
    if unknown:
        raise ValueError(f"unknown populations {unknown}; the recording has {list(recording.populations)}")
    return [pop for pop in recording.populations if pop in populations]


def _window(trains: SpikeTrains, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
    keep = (trains.times_ms >= t0) & (trains.times_ms <= t1)
    return trains.times_ms[keep], trains.node_ids[keep]


def rate(recording: Recording, ax=None, bin_ms: float | None = None):
    """Population rate (Hz) against time (ms), one line per population, at bin centres.

    Uses the recorded rates when there are any; otherwise counts the spikes in bins of
    ``bin_ms`` (default 5 ms, wider for long runs so there are at most 2000 bins).
    """
    ax = _new_axes(ax)
    if recording.rates:
        series = {pop: (r.times_ms + r.bin_ms / 2, r.rate_hz) for pop, r in recording.rates.items()}
    else:
        series = _rates_from_spikes(recording, bin_ms)
    order = list(recording.populations)
    for pop, (centres_ms, rate_hz) in series.items():
        ax.plot(centres_ms, rate_hz, color=_colour(order.index(pop)), linewidth=1.0, label=pop)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("rate (Hz)")
    ax.set_ylim(bottom=0)
    return ax


def _rates_from_spikes(recording: Recording, bin_ms: float | None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    span = _span_ms(recording)
    if bin_ms is None:
        bin_ms = max(DEFAULT_RATE_BIN_MS, span / MAX_RATE_BINS)
    n_bins = max(1, int(np.ceil(span / bin_ms - 1e-9)))
    edges = np.minimum(np.arange(n_bins + 1) * bin_ms, max(span, bin_ms))
    widths_s = np.diff(edges) / 1000.0
    dt = recording.info.dt_ms
    series = {}
    for pop, size in recording.populations.items():
        times = recording.spikes.get(pop, SpikeTrains.empty()).times_ms
        # A spike is stamped at the end of its step; counting it at the middle of the step puts
        # it in the bin holding that step, free of the rounding of (n + 1) * dt.
        mid = times - dt / 2 if np.isfinite(dt) else times
        index = np.clip(np.floor(mid / bin_ms).astype(np.int64), 0, n_bins - 1)
        counts = np.bincount(index, minlength=n_bins)
        series[pop] = ((edges[:-1] + edges[1:]) / 2, counts / (max(size, 1) * widths_s))
    return series


def traces(recording: Recording, population: str, variable: str = "v", ax=None, node_ids=None):
    """The recorded ``variable`` of ``population`` over time (ms), one labelled line per neuron.

    ``node_ids`` picks some of the recorded neurons (population-local ids); default all.
    """
    ax = _new_axes(ax)
    trace = recording.traces.get(population, {}).get(variable)
    if trace is None:
        recorded = [f"{pop}/{var}" for pop, by_var in recording.traces.items() for var in by_var]
        raise ValueError(f"no trace {population}/{variable}; recorded traces: {recorded or 'none'}")
    columns = _trace_columns(trace.node_ids, node_ids, f"{population}/{variable}")
    for column in columns:
        ax.plot(trace.times_ms, trace.values[:, column], linewidth=0.8, label=f"{population} {int(trace.node_ids[column])}")
    ax.set_xlabel("time (ms)")
    # Only v has a fixed unit; u and I are in the current unit of the neuron model.
    ax.set_ylabel("v (mV)" if variable == "v" else variable)
    if 0 < len(columns) <= 10:  # past ten, a legend only hides the lines
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small")
    return ax


def _trace_columns(recorded: np.ndarray, wanted, what: str) -> list[int]:
    recorded = np.asarray(recorded, dtype=np.int64)
    if wanted is None:
        return list(range(len(recorded)))
    column_of = {int(node): column for column, node in enumerate(recorded)}
    missing = [int(node) for node in np.atleast_1d(wanted) if int(node) not in column_of]
    if missing:
        raise ValueError(f"neurons {missing} of {what} were not recorded; recorded: {recorded.tolist()}")
    return [column_of[int(node)] for node in np.atleast_1d(wanted)]


def save_raster_png(
    recording: Recording,
    path: str | os.PathLike,
    title: str | None = None,
    t_start_ms: float | None = None,
    t_stop_ms: float | None = None,
) -> Path:
    """Save a raster (top, 3/4 of the height) over the population rate (bottom), titled
    ``title`` or the run's name; the extension of ``path`` picks the format.

    The raster shows [t_start_ms, t_stop_ms] when given; runs longer than LONG_RUN_MS show their
    last RASTER_WINDOW_MS (a raster of minutes is a solid block). The rate panel always covers
    the whole run, with the raster's window shaded."""
    from matplotlib.figure import Figure

    span = _span_ms(recording)
    if t_start_ms is None and t_stop_ms is None and span > LONG_RUN_MS:
        t_start_ms, t_stop_ms = span - RASTER_WINDOW_MS, span
    windowed = t_start_ms is not None or t_stop_ms is not None
    fig = Figure(figsize=(10, 6), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=not windowed, gridspec_kw={"height_ratios": [3, 1]})
    raster(recording, ax=top, t_start_ms=t_start_ms, t_stop_ms=t_stop_ms)
    rate(recording, ax=bottom)
    if windowed:
        lo = 0.0 if t_start_ms is None else t_start_ms
        hi = span if t_stop_ms is None else t_stop_ms
        bottom.axvspan(lo, hi, color="0.85", zorder=0)
        top.set_title(f"raster of {lo:g} - {hi:g} ms; rate of the whole run below (window shaded)",
                      loc="left", fontsize="medium")
    else:
        top.set_xlabel("")  # the shared axis is labelled once, at the bottom
    fig.suptitle(title or recording.info.name)
    return _save(fig, path)


def weights_histogram(recording: Recording, connection: str | None = None, ax=None, bins: int = 50):
    """Histogram of the weights of ``connection`` (default: the first recorded) at the first and
    at the last snapshot."""
    if not recording.weights:
        raise ValueError("the recording has no weights")
    name = connection or next(iter(recording.weights))
    if name not in recording.weights:
        raise ValueError(f"no weights of {name!r}; recorded: {', '.join(recording.weights)}")
    w = recording.weights[name]
    ax = _new_axes(ax)
    if len(w.times_ms):
        edges = np.linspace(w.values.min(), w.values.max() if w.values.max() > w.values.min() else w.values.min() + 1,
                            bins + 1)
        picks = [0, len(w.times_ms) - 1] if len(w.times_ms) > 1 else [0]
        for k, row in enumerate(picks):
            ax.hist(w.values[row], bins=edges, histtype="step" if k else "stepfilled", alpha=1.0 if k else 0.35,
                    color=_colour(k), label=f"t = {w.times_ms[row]:g} ms", linewidth=1.5)
        ax.legend(frameon=False)
    ax.set_xlabel(f"weight of {name}")
    ax.set_ylabel("synapses")
    return ax


def save_weights_png(recording: Recording, path: str | os.PathLike, connection: str | None = None) -> Path:
    """Save the weight histogram of one connection (first and last snapshot)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4), layout="constrained")
    weights_histogram(recording, connection, ax=fig.subplots())
    fig.suptitle(recording.info.name)
    return _save(fig, path)


def save_traces_png(recording: Recording, path: str | os.PathLike, population: str | None = None,
                    variable: str = "v") -> Path:
    """Save one panel of ``variable`` traces per population that recorded it (or only
    ``population``), stacked with a shared time axis."""
    from matplotlib.figure import Figure

    pops = [population] if population is not None else [
        pop for pop, by_var in recording.traces.items() if variable in by_var
    ]
    if not pops:
        raise ValueError(f"no population recorded {variable!r}")
    fig = Figure(figsize=(10, 1.0 + 2.2 * len(pops)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(pops), 1, sharex=True, squeeze=False)[:, 0])
    for ax, pop in zip(axes, pops):
        traces(recording, pop, variable, ax=ax)
        ax.set_title(pop, loc="left", fontsize="medium")
    for ax in axes[:-1]:
        ax.set_xlabel("")
    fig.suptitle(recording.info.name)
    return _save(fig, path)


def _save(fig, path: str | os.PathLike) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=DPI)
    except (OSError, ValueError) as error:  # ValueError: an extension matplotlib cannot write
        raise OutputError(f"cannot save {path}: {' '.join(str(error).split())}") from error
    return path
