"""Spike statistics (ISI, CV), the text summary of a recording and the plots built on them:
ISI and CV histograms, the one-page overview, one statistic across a sweep."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from spikesim import plot
from spikesim.recording import Rate, Recording, RunInfo, SpikeTrains, Trace, Weights
from spikesim.stats import cv_isi, isi_ms, population_stats
from spikesim.summary import describe

# exc neuron 0: a clock (ISIs 10, 10: CV 0); neuron 1: ISIs 10 and 30 (CV = 10 / 20 = 0.5);
# neuron 2: one spike (no ISI); neuron 3 never fires. inh neuron 0: ISIs 2, 4, 8.
EXC = [(10.0, 0), (5.0, 1), (20.0, 0), (15.0, 1), (30.0, 0), (45.0, 1), (50.0, 2)]
INH = [(1.0, 0), (3.0, 0), (7.0, 0), (15.0, 0)]


def trains(spikes) -> SpikeTrains:
    spikes = sorted(spikes)  # by time, then id: as a run hands them over
    return SpikeTrains(np.array([t for t, _ in spikes]), np.array([i for _, i in spikes], dtype=np.uint64))


def recording(status="complete", last_step=99, with_extras=True) -> Recording:
    info = RunInfo("toy", "populations: {}\n", 42, 0.5, 50.0, {"exc": 4, "inh": 2},
                   {"spikesim": "0.test", "numpy": np.__version__})
    rec = Recording(info, {"exc": trains(EXC), "inh": trains(INH)}, status=status, last_complete_step=last_step)
    if with_extras:
        t = np.arange(1, 101) * 0.5
        rec.traces = {"exc": {"v": Trace(t, np.array([0, 3], np.uint64), np.column_stack([np.sin(t), np.cos(t)]))}}
        rec.rates = {pop: Rate(5.0, np.arange(0, 50, 5.0), np.ones(10)) for pop in ("exc", "inh")}
        rec.weights = {"ee": Weights(np.array([0, 1, 2]), np.array([1, 2, 0]), np.ones(3),
                                     np.array([0.0, 50.0]), np.array([[1.0, 1.0, 1.0], [0.0, 0.5, 2.0]]))}
    return rec


# ---- statistics


def test_isi_and_cv_per_neuron():
    np.testing.assert_array_equal(np.sort(isi_ms(trains(EXC))), [10, 10, 10, 30])
    np.testing.assert_array_equal(isi_ms(trains(INH)), [2, 4, 8])
    ids, cv = cv_isi(trains(EXC))
    np.testing.assert_array_equal(ids, [0, 1])
    np.testing.assert_allclose(cv, [0.0, 0.5], atol=1e-12)
    # a window keeps only the spikes inside it: in [0, 30] ms neuron 1 keeps 5 and 15 ms, too
    # few for a CV; neuron 0 keeps all three
    np.testing.assert_array_equal(np.sort(isi_ms(trains(EXC), 0, 30)), [10, 10, 10])
    assert cv_isi(trains(EXC), 0, 30)[0].tolist() == [0]
    np.testing.assert_allclose(cv_isi(trains(INH))[1], [np.std([2, 4, 8]) / np.mean([2, 4, 8])])
    assert len(cv_isi(SpikeTrains.empty())[1]) == 0


def test_population_stats():
    stats = population_stats(recording())
    assert list(stats) == ["exc", "inh"]
    assert stats["exc"]["spikes"] == 7 and stats["exc"]["neurons"] == 4
    assert stats["exc"]["mean_rate_hz"] == pytest.approx(7 / (4 * 0.05))  # 100 steps of 0.5 ms
    assert stats["exc"]["mean_cv_isi"] == pytest.approx(0.25)


# ---- text


def test_describe_says_what_the_recording_holds():
    text = describe(recording(), "out.h5")
    lines = text.splitlines()
    assert lines[0] == "out.h5: toy, status complete, 50 ms simulated, dt 0.5 ms, seed 42"
    exc = next(line for line in lines if line.split()[0] == "exc").split()
    assert exc == ["exc", "4", "7", "35.00", "0.25"]
    assert "traces: v: exc (2 neurons), 100 samples" in text
    assert "rates: bins of 5 ms" in text
    assert "weights ee: 3 synapses, 2 snapshots (0 ms .. 50 ms), mean 1 -> 0.833" in text
    assert "versions: spikesim 0.test" in text
    assert len(lines) <= 8

    partial = describe(recording(status="interrupted", last_step=49, with_extras=False))
    assert "status interrupted, 25 ms of 50 ms simulated" in partial
    assert "traces" not in partial and "weights" not in partial
    # a SONATA file of another tool: no dt, no duration; rates over the time up to the last spike
    plain = Recording(RunInfo("other.h5", "", -1, float("nan"), float("nan"), {"v1": 2}),
                      {"v1": trains([(100.0, 0), (200.0, 1), (250.0, 0)])}, status="complete")
    text = describe(plain)
    assert "no spikesim metadata" in text
    assert next(line for line in text.splitlines() if line.split()[0] == "v1").split()[:4] == ["v1", "2", "3", "6.00"]
    no_cv = Recording(recording().info, {"exc": trains([(1.0, 0)])}, status="complete", last_complete_step=99)
    assert next(line for line in describe(no_cv).splitlines() if line.split()[0] == "exc").split()[-1] == "-"


# ---- histograms


def test_isi_histogram_fractions_per_population():
    ax = plot.isi_histogram(recording(), ax=Figure().subplots())
    assert len(ax.patches) == 2 and ax.get_xscale() == "log"
    for patch, n in zip(ax.patches, (4, 3)):
        # a step outline: its y values are the bar heights, each 1/n per interval
        heights = patch.get_xy()[1:-1:2, 1]
        assert heights.sum() == pytest.approx(1.0)
        assert set(np.round(heights * n, 9)) <= set(range(n + 1))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["exc (4)", "inh (3)"]
    only = plot.isi_histogram(recording(), ax=Figure().subplots(), populations=["inh"])
    assert len(only.patches) == 1 and plot._population_colour(recording(), "inh") == only.patches[0].get_edgecolor()
    with pytest.raises(ValueError, match="unknown populations"):
        plot.isi_histogram(recording(), populations=["nope"])
    silent = Recording(recording().info, {}, status="complete", last_complete_step=99)
    assert "no inter-spike intervals" in plot.isi_histogram(silent, ax=Figure().subplots()).texts[0].get_text()


def test_cv_histogram_counts_neurons_and_marks_poisson():
    ax = plot.cv_histogram(recording(), ax=Figure().subplots())
    counts = [patch.get_xy()[1:-1:2, 1].sum() for patch in ax.patches]
    assert counts == [2, 1]  # exc neurons 0 and 1; inh neuron 0
    assert any(np.allclose(line.get_xdata(), 1.0) for line in ax.lines)
    assert "exc (2 of 4)" in [t.get_text() for t in ax.get_legend().get_texts()]


# ---- the overview


def titles(fig) -> list[str]:
    return [ax.get_title(loc="left") for ax in fig.axes]


def test_summary_figure_panels():
    fig = plot.summary_figure(recording())
    got = titles(fig)
    assert got[:4] == ["spikes", "population rate", "inter-spike intervals (ISIs)",
                       "irregularity: CV of each neuron's ISIs"]
    assert "weights of ee" in got and "v of exc" in got
    raster_ax = fig.axes[0]
    assert sum(len(c.get_offsets()) for c in raster_ax.collections) == 11  # every spike
    assert raster_ax.get_xlim() == (0.0, 50.0)
    assert "seed 42" in fig._suptitle.get_text() and "exc 35 Hz" in fig._suptitle.get_text()

    bare = plot.summary_figure(recording(with_extras=False))
    assert len(bare.axes) == 4 and not any(t.startswith(("weights", "v of")) for t in titles(bare))


def test_summary_figure_window_and_left_out_panels(monkeypatch):
    fig = plot.summary_figure(recording(), t_start_ms=10, t_stop_ms=20)
    raster_ax, rate_ax = fig.axes[:2]
    assert raster_ax.get_xlim() == (10.0, 20.0) and rate_ax.get_xlim() == (0.0, 50.0)
    assert sum(len(c.get_offsets()) for c in raster_ax.collections) == 4  # spikes in [10, 20] ms
    assert fig.axes[-1].get_xlim() == (10.0, 20.0)  # traces follow the window
    assert "10 - 20 ms" in raster_ax.get_title(loc="left")

    monkeypatch.setattr(plot, "SUMMARY_MAX_TRACE_PANELS", 0)
    fig = plot.summary_figure(recording())
    assert "v of exc" not in titles(fig)
    assert "not shown here: traces v of exc" in fig._supxlabel.get_text()


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_save_summary_formats(tmp_path, suffix, magic):
    path = plot.save_summary(recording(), tmp_path / f"summary{suffix}")
    assert path.read_bytes()[: len(magic)] == magic and path.stat().st_size > 5000


def test_weights_histogram_log_axis_when_one_snapshot_towers():
    rec = recording()
    many = np.full((2, 1000), 6.0)
    many[1] = np.linspace(0, 10, 1000)  # spread flat: its bars are 50x lower than the start's one bar
    rec.weights = {"ee": Weights(np.zeros(1000, int), np.zeros(1000, int), np.ones(1000), np.array([0.0, 50.0]), many)}
    assert plot.weights_histogram(rec, ax=Figure().subplots()).get_yscale() == "log"
    assert plot.weights_histogram(recording(), ax=Figure().subplots()).get_yscale() == "linear"


# ---- sweeps


def test_sweep_statistic_lines_per_combination():
    rows = [
        {"sd": 3, "w": -2, "rate": 1.0}, {"sd": 3, "w": -2, "rate": 3.0}, {"sd": 5, "w": -2, "rate": 5.0},
        {"sd": 3, "w": -6, "rate": 0.5}, {"sd": 5, "w": -6, "rate": 2.0},
    ]  # fmt: skip
    ax = plot.sweep_statistic(rows, "rate", ["sd", "w"], ax=Figure().subplots())
    assert [c.get_label() for c in ax.containers] == ["w = -2", "w = -6"]
    means = ax.containers[0].lines[0].get_ydata()
    np.testing.assert_allclose(means, [2.0, 5.0])  # mean over the repetitions
    assert ax.get_xlabel() == "sd"
    assert plot._statistic_label("mean_rate_hz.exc") == "mean rate of exc (Hz)"
    single = plot.sweep_statistic([{"p": "a", "s": 1.0}, {"p": "b", "s": 2.0}], "s", ["p"], ax=Figure().subplots())
    assert [t.get_text() for t in single.get_xticklabels()] == ["a", "b"]
