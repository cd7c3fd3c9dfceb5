"""Pictures of a Recording: spike raster, population rate, state traces, ISI and CV histograms,
weights, a one-page overview (``save_summary``), and one statistic across a sweep.

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
# Above this many spikes per pixel of the raster on average, dots cover every pixel (tens of
# thousands of neurons): the raster then shades each pixel by its spike count instead.
DENSITY_ABOVE_SPIKES_PER_PIXEL = 0.25


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


def _population_colour(recording: Recording, pop: str):
    """The colour of ``pop`` in every panel: tab10 by declaration order, tab20 for 11-20
    populations (no two alike), a continuous map beyond."""
    import matplotlib

    order = list(recording.populations)
    index, n = order.index(pop), len(order)
    if n <= 10:
        return _colour(index)
    if n <= 20:
        return matplotlib.colormaps["tab20"](index)
    return matplotlib.colormaps["turbo"](index / (n - 1))


def _span_ms(recording: Recording) -> float:
    from .stats import span_ms

    return span_ms(recording)


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
    density: bool | None = None,
):
    """Spike raster: one dot per spike, time (ms) on x, neuron row on y, one colour per population.

    ``populations`` chooses which populations to draw; they are stacked without gaps, in
    declaration order whatever the order given. ``markersize`` is the dot diameter in points (default: by spike count).
    Returns the Axes; its i-th collection holds the spikes of the i-th population drawn.

    ``density``: shade each pixel by the number of spikes in it (the population's colour, from
    clear to full at its busiest pixels) instead of drawing dots; then the Axes' i-th image holds
    the i-th population's counts (``get_array()``: rows of neurons by columns of time). By
    default, where dots would cover every pixel: over DENSITY_ABOVE_SPIKES_PER_PIXEL spikes per
    pixel on average (tens of thousands of neurons), where dots would show a busy burst as
    blank as a quiet stretch.
    """
    from matplotlib.lines import Line2D

    ax = _new_axes(ax)
    chosen = _chosen_populations(recording, populations)
    t0 = 0.0 if t_start_ms is None else float(t_start_ms)
    t1 = _span_ms(recording) if t_stop_ms is None else float(t_stop_ms)
    t1 = t1 if t1 > t0 else t0 + 1.0
    windows = {pop: _window(recording.spikes.get(pop, SpikeTrains.empty()), t0, t1) for pop in chosen}
    n_spikes = sum(len(times) for times, _ in windows.values())
    width_px, height_px = _size_in_pixels(ax)
    if density is None:
        density = n_spikes > DENSITY_ABOVE_SPIKES_PER_PIXEL * width_px * height_px
    size = _default_markersize(n_spikes) if markersize is None else float(markersize)
    drawn_neurons = max(1, sum(recording.populations[pop] for pop in chosen))

    offset, handles = 0, []
    for index, pop in enumerate(chosen):
        times, ids = windows[pop]
        colour = _population_colour(recording, pop)  # a population keeps its colour in every panel
        n = recording.populations[pop]
        if density:
            _density_image(ax, times, ids, n, offset, (t0, t1), (width_px, max(1, round(height_px * n / drawn_neurons))), colour, pop)
        else:
            # scatter's s is an area in points^2; linewidths=0 keeps tiny dots from growing an edge;
            # no clipping, as spikes of the last step sit on the right edge (all lie in the window).
            ax.scatter(
                times, ids.astype(np.int64) + offset, s=size**2, color=colour, marker="o", linewidths=0,
                clip_on=False, rasterized=n_spikes > RASTERIZE_ABOVE, label=pop,
            )
        # The legend shows readable markers, whatever the size of the dots.
        handles.append(Line2D([], [], color=colour, marker="s" if density else "o", linestyle="", markersize=5, label=pop))
        if index > 0:
            ax.axhline(offset - 0.5, color="0.6", linewidth=0.6)
        offset += n

    ax.set_xlim(t0, t1)
    ax.set_ylim(-0.5, max(offset, 1) - 0.5)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron")
    # Outside the axes, on the right: a legend inside would hide spikes.
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small",
              title="spikes per pixel" if density else None, title_fontsize="small")
    return ax


def _size_in_pixels(ax) -> tuple[int, int]:
    """The Axes' width and height in pixels of its figure (before any layout adjusts them)."""
    fig = ax.get_figure()
    box = ax.get_position()
    width_in, height_in = fig.get_size_inches()
    return max(1, round(box.width * width_in * fig.dpi)), max(1, round(box.height * height_in * fig.dpi))


def _density_image(ax, times, ids, n_neurons: int, offset: int, span_ms: tuple[float, float],
                   shape_px: tuple[int, int], colour, label: str):
    """One population's spikes as an image of counts: a cell per pixel (at most one per neuron),
    from clear (none) to the population's colour (its busiest cells: the 99th percentile of the
    cells that hold spikes)."""
    from matplotlib.colors import LinearSegmentedColormap, to_rgb

    (t0, t1), (columns, rows) = span_ms, shape_px
    rows = max(1, min(rows, n_neurons))
    column = np.minimum(((times - t0) * (columns / (t1 - t0))).astype(np.int64), columns - 1)
    row = ids.astype(np.int64) * rows // max(n_neurons, 1)
    counts = np.bincount(row * columns + column, minlength=rows * columns).reshape(rows, columns)
    busy = counts[counts > 0]
    top = float(np.percentile(busy, 99)) if len(busy) else 1.0
    rgb = to_rgb(colour)
    shades = LinearSegmentedColormap.from_list(f"spikes of {label}", [(*rgb, 0.0), (*rgb, 1.0)])
    return ax.imshow(
        counts, cmap=shades, vmin=0, vmax=max(top, 1.0), origin="lower", aspect="auto", interpolation="nearest",
        # (a population of no neurons gets a clear row of its own, not a singular extent)
        extent=(t0, t1, offset - 0.5, offset + max(n_neurons, 1) - 0.5), label=label,
    )


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
    for pop, (centres_ms, rate_hz) in series.items():
        ax.plot(centres_ms, rate_hz, color=_population_colour(recording, pop), linewidth=1.0, label=pop)
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


# A weight histogram gets a log count axis when one snapshot's tallest bar is this many times the other's.
LOG_WEIGHTS_RATIO = 5.0


def weights_histogram(recording: Recording, connection: str | None = None, ax=None, bins: int = 50):
    """Histogram of the weights of ``connection`` (default: the first recorded) at the first and
    at the last snapshot (log count axis when their tallest bars differ by over LOG_WEIGHTS_RATIO)."""
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
        tallest = []
        for k, row in enumerate(picks):
            counts, _, _ = ax.hist(w.values[row], bins=edges, histtype="step" if k else "stepfilled",
                                   alpha=1.0 if k else 0.35, color=_colour(k), label=f"t = {w.times_ms[row]:g} ms",
                                   linewidth=1.5)
            tallest.append(max(float(np.max(counts)), 1.0))
        if max(tallest) > LOG_WEIGHTS_RATIO * min(tallest):
            # e.g. weights that all start at one value: on a linear axis that one bar flattens
            # the spread of the last snapshot into the floor.
            ax.set_yscale("log")
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


# ---- spike statistics: inter-spike intervals and their coefficient of variation

# Histograms of more populations than this get no legend (the raster's legend names the colours).
LEGEND_MAX_POPULATIONS = 6


def isi_histogram(
    recording: Recording,
    ax=None,
    populations: list[str] | None = None,
    bins: int = 50,
    t_start_ms: float | None = None,
    t_stop_ms: float | None = None,
    legend: bool | None = None,
):
    """Histogram of the inter-spike intervals (ms, log axis) of each population, one outline per
    population in its raster colour, as the fraction of that population's intervals (so a
    small population reads on the same scale as a large one).

    Only spikes in [t_start_ms, t_stop_ms] count (default: the whole run). ``legend``: None
    draws one for up to LEGEND_MAX_POPULATIONS populations. Returns the Axes; its i-th patch is
    the histogram of the i-th population that has intervals.
    """
    from .stats import isi_ms

    ax = _new_axes(ax)
    chosen = _chosen_populations(recording, populations)
    intervals = {pop: isi_ms(recording.spikes.get(pop, SpikeTrains.empty()), t_start_ms, t_stop_ms) for pop in chosen}
    intervals = {pop: isi for pop, isi in intervals.items() if len(isi)}
    ax.set_xlabel("inter-spike interval (ms)")
    ax.set_ylabel("fraction of intervals")
    if not intervals:
        _no_data(ax, "no inter-spike intervals\n(no neuron fired twice)")
        return ax
    values = np.concatenate(list(intervals.values()))
    low, high = float(values[values > 0].min(initial=np.inf)), float(values.max())
    if not np.isfinite(low) or high <= low * 1.000001:  # all intervals alike: a few linear bins around them
        edges = np.linspace(max(high * 0.9, 0.0), high * 1.1 + 1e-9, 6)
    else:
        # Intervals span decades (bursts of a few ms, pauses of seconds): log bins, log axis.
        edges = np.geomspace(low, high, bins + 1)
        edges[-1] = np.nextafter(high, np.inf)
        ax.set_xscale("log")
    for pop, isi in intervals.items():
        ax.hist(isi, bins=edges, weights=np.full(len(isi), 1.0 / len(isi)), histtype="step", linewidth=1.5,
                color=_population_colour(recording, pop), label=f"{pop} ({len(isi)})")
    ax.set_ylim(bottom=0)
    if legend or (legend is None and len(chosen) <= LEGEND_MAX_POPULATIONS):
        ax.legend(frameon=False, fontsize="x-small", loc="best", title="population (intervals)",
                  title_fontsize="x-small")
    return ax


def cv_histogram(
    recording: Recording,
    ax=None,
    populations: list[str] | None = None,
    bins: int = 30,
    t_start_ms: float | None = None,
    t_stop_ms: float | None = None,
    legend: bool | None = None,
):
    """Histogram over neurons of the CV of their inter-spike intervals (std / mean), one outline
    per population in its raster colour, with CV = 1 (a Poisson process) marked.

    Neurons with fewer than three spikes in [t_start_ms, t_stop_ms] have no CV and are left
    out; the legend (as in ``isi_histogram``) gives how many neurons of each population are
    counted. Returns the Axes; its i-th patch is the histogram of the i-th population that has a CV.
    """
    from .stats import cv_isi

    ax = _new_axes(ax)
    chosen = _chosen_populations(recording, populations)
    cvs = {pop: cv_isi(recording.spikes.get(pop, SpikeTrains.empty()), t_start_ms, t_stop_ms)[1] for pop in chosen}
    cvs = {pop: cv for pop, cv in cvs.items() if len(cv)}
    ax.set_xlabel("CV of inter-spike intervals")
    ax.set_ylabel("neurons")
    if not cvs:
        _no_data(ax, "no CV\n(no neuron fired three times)")
        return ax
    top = max(1.5, float(max(cv.max() for cv in cvs.values())) * 1.02)
    edges = np.linspace(0.0, top, bins + 1)
    for pop, cv in cvs.items():
        ax.hist(cv, bins=edges, histtype="step", linewidth=1.5, color=_population_colour(recording, pop),
                label=f"{pop} ({len(cv)} of {recording.populations[pop]})")
    ax.axvline(1.0, color="0.4", linestyle="--", linewidth=0.8, label="CV 1 (Poisson)")
    ax.set_xlim(0, top)
    if legend or (legend is None and len(chosen) <= LEGEND_MAX_POPULATIONS):
        ax.legend(frameon=False, fontsize="x-small", loc="best", title="population (neurons with a CV)",
                  title_fontsize="x-small")
    else:
        ax.annotate("Poisson", (1.0, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -3),
                    textcoords="offset points", va="top", fontsize="x-small", color="0.4")
    return ax


def _no_data(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="0.4")
    ax.set_xticks([])  # ticks of an empty panel would suggest a scale with nothing on it
    ax.set_yticks([])


# ---- the one-page overview

# Panels of the overview beyond these are left out (and named under the figure), to keep one page.
SUMMARY_MAX_WEIGHTS = 4
SUMMARY_MAX_TRACE_PANELS = 4
SUMMARY_MAX_TRACE_NEURONS = 5


def save_summary(
    recording: Recording,
    path: str | os.PathLike,
    t_start_ms: float | None = None,
    t_stop_ms: float | None = None,
    title: str | None = None,
) -> Path:
    """Save ``summary_figure`` (a one-page overview of a run); the extension of ``path`` picks
    PNG, SVG or PDF."""
    return _save(summary_figure(recording, t_start_ms, t_stop_ms, title), path)


def summary_figure(
    recording: Recording,
    t_start_ms: float | None = None,
    t_stop_ms: float | None = None,
    title: str | None = None,
):
    """A one-page overview of a run, as a ``matplotlib.figure.Figure`` (no pyplot).

    From the top: the spike raster of [t_start_ms, t_stop_ms] (runs longer than LONG_RUN_MS
    default to their last RASTER_WINDOW_MS), the population rate of the whole run with the
    raster's window shaded, the ISI and CV histograms (whole run), the first and last weight
    snapshots of each recorded connection (up to SUMMARY_MAX_WEIGHTS), and the recorded state
    traces (up to SUMMARY_MAX_TRACE_PANELS panels of SUMMARY_MAX_TRACE_NEURONS neurons) over the
    raster's window. Lines under the title give status, time, seed and rates; panels left out
    are named under the figure.
    """
    from matplotlib.figure import Figure

    span = _span_ms(recording)
    if t_start_ms is None and t_stop_ms is None and span > LONG_RUN_MS:
        t_start_ms, t_stop_ms = span - RASTER_WINDOW_MS, span
    windowed = t_start_ms is not None or t_stop_ms is not None
    lo = 0.0 if t_start_ms is None else float(t_start_ms)
    hi = span if t_stop_ms is None else float(t_stop_ms)
    if hi <= lo:
        hi = lo + 1.0

    weights = list(recording.weights)[:SUMMARY_MAX_WEIGHTS]
    trace_keys = [(pop, var) for pop in recording.populations for var in sorted(recording.traces.get(pop, {}))]
    shown_traces = trace_keys[:SUMMARY_MAX_TRACE_PANELS]
    small = ["isi", "cv"] + [f"w:{name}" for name in weights]
    small_rows = [small[i : i + 3] for i in range(0, len(small), 3)]
    heights = [3.0, 1.1] + [2.2] * len(small_rows) + [1.05] * len(shown_traces)

    fig = Figure(figsize=(11, 0.95 * sum(heights) + 1.0), layout="constrained")
    grid = fig.add_gridspec(len(heights), 1, height_ratios=heights)
    top = fig.add_subplot(grid[0])
    raster(recording, ax=top, t_start_ms=t_start_ms, t_stop_ms=t_stop_ms)
    rate_ax = fig.add_subplot(grid[1], sharex=None if windowed else top)
    rate(recording, ax=rate_ax)
    rate_ax.set_xlim(0, span if span > 0 else 1.0)
    if windowed:
        rate_ax.axvspan(lo, hi, color="0.88", zorder=0)
        top.set_title(f"spikes of {lo:g} - {hi:g} ms (shaded in the rate below)", loc="left", fontsize="medium")
    else:
        top.set_title("spikes", loc="left", fontsize="medium")
        top.set_xlabel("")  # the rate panel below shares the time axis and labels it
    rate_ax.set_title("population rate (whole run)" if windowed else "population rate", loc="left",
                      fontsize="medium")

    for row, names in enumerate(small_rows, start=2):
        # Two or three panels share a row; a row of two uses halves, not two thirds.
        cells = grid[row].subgridspec(1, max(len(names), 2) if row == 2 else 3, wspace=0.08)
        for column, name in enumerate(names):
            ax = fig.add_subplot(cells[0, column])
            # No legends: the colours are the raster's, and a legend would hide bars.
            if name == "isi":
                isi_histogram(recording, ax=ax, legend=False)
                ax.set_title("inter-spike intervals (ISIs)", loc="left", fontsize="medium")
            elif name == "cv":
                cv_histogram(recording, ax=ax, legend=False)
                ax.set_title("irregularity: CV of each neuron's ISIs", loc="left", fontsize="medium")
                ax.set_xlabel(f"CV ({_neurons_with_cv(recording)} neurons have 3+ spikes)")
            else:
                connection = name[2:]
                weights_histogram(recording, connection, ax=ax)
                ax.set_title(f"weights of {connection}", loc="left", fontsize="medium")
                ax.set_xlabel("weight")

    first_trace_row = 2 + len(small_rows)
    trace_axes = []
    for k, (pop, var) in enumerate(shown_traces):
        ax = fig.add_subplot(grid[first_trace_row + k], sharex=trace_axes[0] if trace_axes else None)
        recorded = recording.traces[pop][var].node_ids
        picked = recorded[:SUMMARY_MAX_TRACE_NEURONS]
        traces(recording, pop, var, ax=ax, node_ids=picked)
        shown = f" ({len(picked)} of {len(recorded)} recorded neurons)" if len(picked) < len(recorded) else ""
        if len(picked) == 1:  # one line: in its population's colour, named in the title
            ax.lines[0].set_color(_population_colour(recording, pop))
            ax.get_legend().remove()
            shown = f", neuron {int(picked[0])}"
        ax.set_title(f"{var} of {pop}{shown}", loc="left", fontsize="medium")
        trace_axes.append(ax)
    for ax in trace_axes[:-1]:
        ax.set_xlabel("")
        ax.tick_params(labelbottom=False)
    if trace_axes:
        trace_axes[0].set_xlim(lo, hi)

    left_out = []
    if len(recording.weights) > len(weights):
        left_out.append(f"weights of {', '.join(list(recording.weights)[len(weights):])}")
    if len(trace_keys) > len(shown_traces):
        left_out.append("traces " + ", ".join(f"{var} of {pop}" for pop, var in trace_keys[len(shown_traces):]))
    if left_out:
        fig.supxlabel(_wrap("not shown here: " + "; ".join(left_out)), fontsize="small", color="0.3")
    fig.suptitle(_summary_title(recording, title), fontsize="medium")
    return fig


def _neurons_with_cv(recording: Recording) -> str:
    from .stats import cv_isi

    counted = sum(len(cv_isi(trains)[1]) for trains in recording.spikes.values())
    return f"{counted} of {sum(recording.populations.values())}"


def _summary_title(recording: Recording, title: str | None) -> str:
    from .stats import population_stats

    info = recording.info
    facts = [f"status {recording.status}"]
    if np.isfinite(info.dt_ms):
        facts += [f"{recording.simulated_ms:g} ms simulated (dt {info.dt_ms:g} ms)", f"seed {info.seed}"]
    stats = population_stats(recording)
    if len(stats) <= LEGEND_MAX_POPULATIONS:
        rates = "mean rates: " + ", ".join(f"{pop} {s['mean_rate_hz']:.3g} Hz" for pop, s in stats.items())
    else:
        neurons = sum(s["neurons"] for s in stats.values())
        hz = sum(s["mean_rate_hz"] * s["neurons"] for s in stats.values()) / max(neurons, 1)
        rates = f"{len(stats)} populations, {neurons} neurons, mean rate {hz:.3g} Hz"
    return f"{title or info.name}\n{', '.join(facts)}; {rates}"


def _wrap(text: str, width: int = 150) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


# ---- sweeps: one statistic across a grid of parameter values


def sweep_statistic(rows: list[dict], statistic: str, parameters: list[str], ax=None):
    """One statistic of a sweep against its parameters: ``rows`` are the jobs (mappings with the
    ``statistic`` and every name of ``parameters`` as keys, e.g. the rows of a sweep's
    summary table).

    The x axis is the first parameter taking more than one value; each combination of the
    other varying parameters is one line (mean over the repetitions, error bars one standard
    deviation; lines are shifted a little sideways so their bars stay apart); every job is a
    dot. Non-numeric values are placed in order of appearance. Returns the Axes; its i-th
    container is the error bar of the i-th combination (``.lines[0]`` holds the means).
    """
    ax = _new_axes(ax)
    distinct = {p: list(dict.fromkeys(_hashable(row[p]) for row in rows)) for p in parameters}
    varying = [p for p in parameters if len(distinct[p]) > 1]
    ax.set_ylabel(_statistic_label(statistic))
    if not rows:
        _no_data(ax, "no jobs")
        return ax
    if not varying:
        x_name, others = None, []
    else:
        x_name, others = varying[0], varying[1:]
    numeric = x_name is not None and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                         for v in distinct[x_name])

    def x_of(row) -> float:
        if x_name is None:
            return 0.0
        value = _hashable(row[x_name])
        return float(value) if numeric else float(distinct[x_name].index(value))

    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(_hashable(row[p]) for p in others), []).append(row)
    all_x = [x_of(row) for row in rows]
    spread = (max(all_x) - min(all_x)) or 1.0
    for index, (combo, members) in enumerate(groups.items()):
        colour = _colour(index)
        # Lines side by side at each x, a little apart, so error bars do not hide each other.
        dodge = (index - (len(groups) - 1) / 2) * 0.012 * spread if len(groups) > 1 else 0.0
        xs = np.array([x_of(row) + dodge for row in members])
        ys = np.array([float(row[statistic]) for row in members])
        ax.plot(xs, ys, linestyle="", marker="o", markersize=3.5, color=colour, alpha=0.45)
        positions = sorted(set(xs.tolist()))
        finite = [ys[(xs == x) & np.isfinite(ys)] for x in positions]  # NaN: a job without the statistic
        means = np.array([values.mean() if len(values) else np.nan for values in finite])
        sds = np.array([values.std() if len(values) else np.nan for values in finite])
        label = ", ".join(f"{p} = {v}" for p, v in zip(others, combo)) or None
        ax.errorbar(positions, means, yerr=sds, color=colour, marker="s", markersize=4, linewidth=1.5, capsize=3,
                    label=label)
    if x_name is None:
        ax.set_xticks([0.0], ["all jobs"])
    else:
        ax.set_xlabel(x_name)
        if not numeric:
            ax.set_xticks(range(len(distinct[x_name])), [str(v) for v in distinct[x_name]])
        elif len(distinct[x_name]) <= 12:
            ax.set_xticks(sorted(float(v) for v in distinct[x_name]))
    ax.set_ylabel(_statistic_label(statistic))
    if statistic.split(".")[0] in ("mean_rate_hz", "spikes", "mean_cv_isi", "wall_s"):
        ax.set_ylim(bottom=0)  # all are >= 0; a zero baseline keeps differences honest
    if others:
        ax.legend(frameon=False, fontsize="small")
    return ax


def _statistic_label(statistic: str) -> str:
    """``mean_rate_hz.exc`` -> ``mean rate of exc (Hz)``; other names are kept."""
    name, _, pop = statistic.partition(".")
    words = {"mean_rate_hz": ("mean rate", " (Hz)"), "spikes": ("spikes", ""), "mean_cv_isi": ("mean CV of ISIs", ""),
             "wall_s": ("wall time", " (s)")}
    if name not in words:
        return statistic
    text, unit = words[name]
    return f"{text} of {pop}{unit}" if pop else f"{text}{' (all neurons)' if name != 'wall_s' else ''}{unit}"


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


def save_sweep_plot(rows: list[dict], statistic: str, parameters: list[str], path: str | os.PathLike,
                    title: str | None = None) -> Path:
    """Save ``sweep_statistic`` as a picture; the extension of ``path`` picks the format."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5), layout="constrained")
    sweep_statistic(rows, statistic, parameters, ax=fig.subplots())
    n_jobs = len(rows)
    fig.suptitle(f"{title + ': ' if title else ''}{statistic} over {n_jobs} jobs (dots: jobs; squares: mean ± sd)",
                 fontsize="medium")
    return _save(fig, path)


def _save(fig, path: str | os.PathLike) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=DPI)
    except (OSError, ValueError) as error:  # ValueError: an extension matplotlib cannot write
        raise OutputError(f"cannot save {path}: {' '.join(str(error).split())}") from error
    return path


def overlay_raster(
    a: Recording,
    b: Recording,
    path: str | Path,
    *,
    labels: tuple[str, str] = ("spikesim", "brian2"),
    start_ms: float | None = None,
    stop_ms: float | None = None,
    first_disagreement_ms: float | None = None,
    title: str | None = None,
) -> Path:
    """Draw the rasters of two recordings of one network (spikesim and Brian2) in one image at
    ``path`` (png, svg or pdf by extension); returns the path. Spikes of ``a`` are small dots,
    spikes of ``b`` open circles around them: a spike both fired in the same step shows as a dot
    in a circle, a lone dot or circle is a disagreement.

    ``start_ms``/``stop_ms`` restrict the time axis; ``first_disagreement_ms`` (e.g. from
    ``spikesim.compare.compare``) draws a vertical line there.
    """
    from matplotlib.figure import Figure

    ta, ia = a.all_spikes()
    tb, ib = b.all_spikes()
    lo = 0.0 if start_ms is None else start_ms
    hi = max(a.simulated_ms, b.simulated_ms) if stop_ms is None else stop_ms
    keep_a = (ta >= lo) & (ta <= hi)
    keep_b = (tb >= lo) & (tb <= hi)
    fig = Figure(figsize=(10, 6), layout="constrained")
    ax = fig.add_subplot()
    many = keep_a.sum() + keep_b.sum() > 20000
    ax.scatter(tb[keep_b], ib[keep_b], s=14 if not many else 4, facecolors="none", edgecolors="tab:orange",
               linewidths=0.7, label=labels[1], rasterized=many)
    ax.scatter(ta[keep_a], ia[keep_a], s=3 if not many else 1, color="black", linewidths=0, label=labels[0],
               rasterized=many)
    offset = 0
    for pop, size in a.populations.items():
        if offset:
            ax.axhline(offset - 0.5, color="0.7", linewidth=0.6)
        ax.text(1.005, (offset + size / 2) / max(1, sum(a.populations.values())), pop, transform=ax.transAxes,
                va="center", fontsize=8)
        offset += size
    if first_disagreement_ms is not None:
        ax.axvline(first_disagreement_ms, color="tab:red", linewidth=1.0,
                   label=f"first disagreement {first_disagreement_ms:g} ms")
    ax.set_xlim(lo, hi)
    ax.set_ylim(-0.5, max(offset, 1) - 0.5)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron")
    ax.set_title(title or f"{a.info.name}: {labels[0]} (dots) and {labels[1]} (circles)")
    ax.legend(loc="upper right", fontsize=8, markerscale=2)
    return _save(fig, path)
