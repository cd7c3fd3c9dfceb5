"""The HDF5 output (SONATA layout, atomic completion, crash safety, reading back) and the plots."""

from __future__ import annotations

import pickle
import signal
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest

from spikesim.errors import OutputError
from spikesim.io.hdf5 import SpikeFileWriter, read, read_array, write_recording
from spikesim.recording import Chunk, Rate, Recording, RunInfo, SpikeTrains, Trace

DT_MS = 0.5
STEPS_PER_CHUNK = 10
N_CHUNKS = 4
RATE_BIN_MS = 2.5  # 5 steps: every chunk completes two bins
TRACE_IDS = np.array([0, 5], dtype=np.uint64)


def make_info() -> RunInfo:
    return RunInfo(
        name="two_pops",
        network_yaml="populations:\n  exc: {size: 8}\n  inh: {size: 3}\n",
        seed=1234,
        dt_ms=DT_MS,
        duration_ms=N_CHUNKS * STEPS_PER_CHUNK * DT_MS,
        populations={"exc": 8, "inh": 3},
        versions={"spikesim": "0.0.test", "numpy": np.__version__},
    )


def make_chunks() -> list[Chunk]:
    """Four chunks of ten steps with known random spikes (inh silent in chunk 2), v traces of
    exc neurons 0 and 5 at every step, and rates in 2.5 ms bins."""
    rng = np.random.default_rng(7)
    chunks = []
    for k in range(N_CHUNKS):
        first, stop = k * STEPS_PER_CHUNK, (k + 1) * STEPS_PER_CHUNK
        spikes = {}
        for pop, size in make_info().populations.items():
            fired = rng.random((stop - first, size)) < (0.0 if (pop == "inh" and k == 2) else 0.15)
            steps, ids = np.nonzero(fired)  # row-major: by step, then by id
            spikes[pop] = SpikeTrains((first + steps + 1) * DT_MS, ids.astype(np.uint64))
        sample_ms = (np.arange(first, stop) + 1) * DT_MS
        v = -65.0 + rng.normal(size=(stop - first, len(TRACE_IDS)))
        bins_ms = np.arange(first * DT_MS, stop * DT_MS, RATE_BIN_MS)
        rates = {pop: Rate(RATE_BIN_MS, bins_ms, rng.uniform(0, 50, len(bins_ms))) for pop in spikes}
        chunks.append(Chunk(first, stop, spikes, {"exc": {"v": Trace(sample_ms, TRACE_IDS, v)}}, rates))
    return chunks


def in_memory(chunks: list[Chunk], status: str, last_step: int) -> Recording:
    recording = Recording(make_info())
    for chunk in chunks:
        recording.write(chunk)
    recording.close(status, last_step)
    return recording


def new_writer(path: Path) -> SpikeFileWriter:
    return SpikeFileWriter(path, make_info(), {"exc": {"v": TRACE_IDS}}, RATE_BIN_MS)


def assert_same(got: Recording, want: Recording) -> None:
    assert got.info == want.info
    assert (got.status, got.last_complete_step) == (want.status, want.last_complete_step)
    assert got.spikes.keys() == want.spikes.keys()
    for pop, trains in want.spikes.items():
        np.testing.assert_array_equal(got.spikes[pop].times_ms, trains.times_ms)
        np.testing.assert_array_equal(got.spikes[pop].node_ids, trains.node_ids)
        assert got.spikes[pop].node_ids.dtype == np.uint64
    assert got.traces.keys() == want.traces.keys()
    for pop, by_var in want.traces.items():
        assert got.traces[pop].keys() == by_var.keys()
        for var, tr in by_var.items():
            np.testing.assert_array_equal(got.traces[pop][var].times_ms, tr.times_ms)
            np.testing.assert_array_equal(got.traces[pop][var].node_ids, tr.node_ids)
            np.testing.assert_array_equal(got.traces[pop][var].values, tr.values)
    assert got.rates.keys() == want.rates.keys()
    for pop, r in want.rates.items():
        assert got.rates[pop].bin_ms == r.bin_ms
        np.testing.assert_array_equal(got.rates[pop].times_ms, r.times_ms)
        np.testing.assert_array_equal(got.rates[pop].rate_hz, r.rate_hz)


# ---- streaming and completion


def test_final_name_appears_only_on_complete(tmp_path):
    path = tmp_path / "out" / "run.h5"  # the parent is created
    chunks = make_chunks()
    writer = new_writer(path)
    assert writer.path == path and writer.partial_path == tmp_path / "out" / "run.h5.partial"
    for chunk in chunks[:2]:
        writer.write(chunk)
    writer.flush(19)
    assert writer.partial_path.exists() and not path.exists()
    for chunk in chunks[2:]:
        writer.write(chunk)
    assert not path.exists()
    writer.close("complete", 39)
    assert path.exists() and not writer.partial_path.exists()
    assert_same(read(path), in_memory(chunks, "complete", 39))


def test_sonata_layout_on_disk(tmp_path):
    path = tmp_path / "run.h5"
    chunks = make_chunks()
    writer = new_writer(path)
    for chunk in chunks:
        writer.write(chunk)
        writer.flush(chunk.stop_step - 1)
    writer.close("complete", 39)

    with h5py.File(path, "r") as f:
        assert f.attrs["magic"] == 0x0A7A and f.attrs["magic"].dtype == np.uint32
        np.testing.assert_array_equal(f.attrs["version"], [0, 1])
        assert f.attrs["version"].dtype == np.uint32
        assert set(f["spikes"]) == {"exc", "inh"}
        for pop in ("exc", "inh"):
            group = f["spikes"][pop]
            sorting = group.attrs.get_id("sorting")
            assert h5py.check_enum_dtype(sorting.dtype) == {"none": 0, "by_id": 1, "by_time": 2}
            assert group.attrs["sorting"] == 2
            ts, ids = group["timestamps"], group["node_ids"]
            assert ts.dtype == np.float64 and ids.dtype == np.uint64
            assert ts.attrs["units"] == "ms"
            assert ts.chunks is not None and ts.maxshape == (None,) and ids.maxshape == (None,)
            want = np.concatenate([c.spikes[pop].times_ms for c in chunks])
            np.testing.assert_array_equal(ts[()], want)
            assert np.all(np.diff(ts[()]) >= 0)  # what sorting=by_time promises
        trace = f["traces/exc/v"]
        assert trace["data"].shape == (40, 2) and trace["data"].maxshape[0] is None
        assert trace["node_ids"].dtype == np.uint64 and trace["timestamps"].attrs["units"] == "ms"
        assert f["rates/inh"].attrs["bin_ms"] == RATE_BIN_MS
        assert f["rates/inh/rate_hz"].shape == (8,)
        meta = f["spikesim"].attrs
        assert meta["status"] == "complete" and meta["last_complete_step"] == 39
        assert meta["last_complete_step"].dtype == np.int64
        assert meta["populations"] == '{"exc": 8, "inh": 3}'
        assert meta["network_yaml"] == make_info().network_yaml
        assert (meta["seed"], meta["dt_ms"], meta["duration_ms"]) == (1234, 0.5, 20.0)
        # Superblock version 2: readable by HDF5 1.8 on, and no "open for write" mark that
        # would lock readers out of a crashed run's file.
        assert f.id.get_create_plist().get_version()[0] == 2


def test_running_status_and_empty_populations_at_creation(tmp_path):
    writer = new_writer(tmp_path / "run.h5")
    with h5py.File(writer.partial_path, "r", locking=False) as f:  # same process: HDF5 shares the open file
        assert f["spikesim"].attrs["status"] == "running"
        assert f["spikesim"].attrs["last_complete_step"] == -1
        assert f["spikes/inh/timestamps"].shape == (0,)
    writer.close("failed", -1)
    got = read(writer.partial_path)
    assert got.status == "failed" and len(got.spikes["inh"]) == 0 and got.spikes.keys() == {"exc", "inh"}


def test_interrupted_close_leaves_readable_partial(tmp_path):
    path = tmp_path / "run.h5"
    chunks = make_chunks()
    writer = new_writer(path)
    for chunk in chunks[:2]:
        writer.write(chunk)
    writer.close("interrupted", 19)
    writer.close("interrupted", 19)  # a second close (e.g. in a finally) does nothing
    assert not path.exists() and writer.partial_path.exists()
    assert_same(read(writer.partial_path), in_memory(chunks[:2], "interrupted", 19))


def test_stale_partial_is_replaced(tmp_path):
    path = tmp_path / "run.h5"
    Path(str(path) + ".partial").write_text("left over by a killed run")
    writer = new_writer(path)
    writer.write(make_chunks()[0])
    writer.close("complete", 9)
    assert read(path).spikes["exc"].times_ms.max() <= 5.0


def test_writer_copies_chunks_whose_buffers_are_reused(tmp_path):
    chunk = make_chunks()[0]
    want = in_memory([make_chunks()[0]], "complete", 9)
    writer = new_writer(tmp_path / "run.h5")
    writer.write(chunk)
    chunk.spikes["exc"].times_ms[:] = -1.0  # a simulation refilling its buffers in place
    chunk.traces["exc"]["v"].values[:] = 0.0
    writer.close("complete", 9)
    assert_same(read(tmp_path / "run.h5"), want)


def test_appends_across_flushes_grow_every_dataset_in_order(tmp_path):
    """Chunks flushed one by one land one after the other (the writer keeps each dataset's
    length itself), a trace of no neurons included: its rows have no columns."""
    chunks = make_chunks()
    empty = np.zeros(0, dtype=np.uint64)
    for chunk in chunks:
        times = chunk.traces["exc"]["v"].times_ms
        chunk.traces["inh"] = {"u": Trace(times, empty, np.zeros((len(times), 0)))}
    writer = SpikeFileWriter(tmp_path / "run.h5", make_info(), {"exc": {"v": TRACE_IDS}, "inh": {"u": empty}}, RATE_BIN_MS)
    for k, chunk in enumerate(chunks):
        writer.write(chunk)
        writer.flush(chunk.stop_step - 1)
        with h5py.File(writer.partial_path, "r", locking=False) as f:
            assert f["traces/exc/v/data"].shape == ((k + 1) * STEPS_PER_CHUNK, len(TRACE_IDS))
            assert f["traces/inh/u/data"].shape == ((k + 1) * STEPS_PER_CHUNK, 0)
    writer.close("complete", N_CHUNKS * STEPS_PER_CHUNK - 1)
    got = read(tmp_path / "run.h5")
    want = [c.spikes["exc"].times_ms for c in chunks]
    np.testing.assert_array_equal(got.spikes["exc"].times_ms, np.concatenate(want))
    np.testing.assert_array_equal(got.traces["exc"]["v"].values, np.concatenate([c.traces["exc"]["v"].values for c in chunks]))
    assert got.traces["inh"]["u"].values.shape == (N_CHUNKS * STEPS_PER_CHUNK, 0)
    np.testing.assert_array_equal(got.traces["inh"]["u"].times_ms, np.concatenate([c.traces["exc"]["v"].times_ms for c in chunks]))


CRASHING_WRITER = textwrap.dedent(
    """
    import os, pickle, signal, sys
    import numpy as np
    from spikesim.io.hdf5 import SpikeFileWriter
    info, chunks, path = pickle.load(open(sys.argv[1], "rb"))
    writer = SpikeFileWriter(path, info, {"exc": {"v": np.array([0, 5], np.uint64)}}, 2.5)
    writer.write(chunks[0])
    writer.write(chunks[1])
    writer.flush(19)
    writer.write(chunks[2])
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_kill_after_flush_keeps_the_flushed_data(tmp_path):
    chunks = make_chunks()
    path = tmp_path / "run.h5"
    args = tmp_path / "args.pkl"
    args.write_bytes(pickle.dumps((make_info(), chunks, str(path))))
    done = subprocess.run([sys.executable, "-c", CRASHING_WRITER, str(args)], capture_output=True, timeout=60)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    assert not path.exists()

    got = read(Path(str(path) + ".partial"))
    assert got.status == "running" and got.last_complete_step == 19
    assert_same(got, in_memory(chunks[:2], "running", 19))


def test_writer_killed_inside_a_flush_leaves_the_earlier_flushes_readable(tmp_path):
    """A writer killed inside a flush can leave on disk the HDF5 metadata of that flush, pointing
    at a chunk allocated after the previous flush, with the file's recorded end still the previous
    flush's: reading that chunk fails ("addr overflow"). Made here exactly: the bytes of a file
    after its second flush, with the superblock (and so the end of file) of its first."""
    import dataclasses

    from spikesim.recording import SynapseLayout, WeightSnapshot

    n = 8192  # one snapshot per HDF5 chunk: each snapshot after the first flush is a new chunk
    pre = np.arange(n)
    layout = {"c": SynapseLayout(n, lambda: [(pre, pre[::-1].copy(), np.ones(n))])}
    writer = SpikeFileWriter(tmp_path / "run.h5", make_info(), {"exc": {"v": TRACE_IDS}}, RATE_BIN_MS, layout)
    chunks = [
        dataclasses.replace(c, weights={"c": WeightSnapshot(np.array([c.stop_step * DT_MS]), np.full((1, n), float(k)))})
        for k, c in enumerate(make_chunks())
    ]
    writer.write(chunks[0])
    writer.write(chunks[1])
    writer.flush(19)
    first = writer.partial_path.read_bytes()
    writer.write(chunks[2])
    writer.flush(29)
    second = bytearray(writer.partial_path.read_bytes())
    writer.close("interrupted", 29)  # (the file is made again below)
    assert first[8] == 2  # superblock version 2: 48 bytes, its end-of-file address among them
    second[:48] = first[:48]
    crashed = tmp_path / "crashed.h5.partial"
    crashed.write_bytes(second)
    with h5py.File(crashed, "r", locking=False) as f:
        with pytest.raises(OSError, match="addr overflow"):
            f["weights/c/values"][()]

    got = read(crashed)
    # everything of the first flush; the second, cut short, is not trusted (it marked step 29,
    # and its spikes and traces went into chunks that existed before: they are readable)
    assert_same(got, in_memory(make_chunks()[:2], "running", 19))
    np.testing.assert_array_equal(got.weights["c"].times_ms, [5.0, 10.0])
    np.testing.assert_array_equal(got.weights["c"].values, np.repeat([[0.0], [1.0]], n, axis=1))
    # a file that claims to be complete is not salvaged: the same damage is an error
    with h5py.File(crashed, "r+", locking=False) as f:
        f["spikesim"].attrs["status"] = "complete"
    with pytest.raises(OutputError, match="addr overflow"):
        read(crashed)


def test_unclosed_file_reads_up_to_its_last_complete_step(tmp_path, monkeypatch):
    import spikesim.io.hdf5 as hdf5

    monkeypatch.setattr(hdf5, "SPILL_BYTES", 0)  # every write goes to disk at once
    chunks = make_chunks()
    writer = new_writer(tmp_path / "run.h5")
    for chunk in chunks[:2]:
        writer.write(chunk)
    writer.flush(19)
    writer.write(chunks[2])  # on disk, but its steps are not marked complete
    with h5py.File(writer.partial_path, "r", locking=False) as f:
        assert len(f["spikes/exc/timestamps"]) == sum(len(c.spikes["exc"]) for c in chunks[:3])
    assert_same(read(writer.partial_path), in_memory(chunks[:2], "running", 19))
    writer.close("interrupted", 29)
    assert_same(read(writer.partial_path), in_memory(chunks[:3], "interrupted", 29))


def test_spikes_waiting_for_a_flush_stay_under_the_spill_bound(tmp_path):
    """Between flushes at most SPILL_BYTES of data waits in memory (a few MB, however long the
    flush interval): beyond it the spikes go to the file, which stays readable up to its last
    flush."""
    import spikesim.io.hdf5 as hdf5

    assert hdf5.SPILL_BYTES <= 16 * 2**20
    spikes_per_chunk = 1 << 16  # 1 MiB of timestamps and node ids
    chunks = [
        Chunk(10 * k, 10 * (k + 1), {"exc": SpikeTrains(np.full(spikes_per_chunk, (10 * k + 1) * DT_MS), np.zeros(spikes_per_chunk, np.uint64))}, {}, {})
        for k in range(hdf5.SPILL_BYTES // (16 * spikes_per_chunk) + 2)
    ]
    writer = new_writer(tmp_path / "run.h5")
    writer.write(chunks[0])
    writer.flush(9)
    for chunk in chunks[1:]:
        writer.write(chunk)
    with h5py.File(writer.partial_path, "r", locking=False) as f:
        on_disk = len(f["spikes/exc/timestamps"])
    waiting = len(chunks) * spikes_per_chunk - on_disk
    assert on_disk > spikes_per_chunk and 16 * waiting <= hdf5.SPILL_BYTES
    got = read(writer.partial_path)  # the run is still going: cut at the last flush
    assert got.last_complete_step == 9 and len(got.spikes["exc"]) == spikes_per_chunk
    writer.close("complete", 10 * len(chunks) - 1)
    assert len(read(tmp_path / "run.h5").spikes["exc"]) == len(chunks) * spikes_per_chunk


# ---- reading


def test_write_recording_round_trip(tmp_path):
    want = in_memory(make_chunks(), "complete", 39)
    written = write_recording(want, tmp_path / "copy.h5")
    assert written == tmp_path / "copy.h5"
    assert_same(read(written), want)
    unfinished = in_memory(make_chunks()[:1], "interrupted", 9)
    assert write_recording(unfinished, tmp_path / "cut.h5") == tmp_path / "cut.h5.partial"
    assert not (tmp_path / "cut.h5").exists()


def test_read_plain_sonata_file(tmp_path):
    path = tmp_path / "other_tool.h5"
    with h5py.File(path, "w") as f:
        group = f.create_group("spikes/V1")
        group.attrs.create("sorting", 1, dtype=h5py.enum_dtype({"none": 0, "by_id": 1, "by_time": 2}, "u1"))
        group["timestamps"] = np.array([3.0, 9.0, 1.0, 4.0])  # sorted by id
        group["timestamps"].attrs["units"] = "ms"
        group["node_ids"] = np.array([0, 0, 6, 6], dtype=np.uint64)
    got = read(path)
    assert got.populations == {"V1": 7} and got.status == "complete"
    assert np.isnan(got.info.dt_ms)
    np.testing.assert_array_equal(got.spikes["V1"].times_ms, [1.0, 3.0, 4.0, 9.0])
    np.testing.assert_array_equal(got.spikes["V1"].node_ids, [6, 0, 6, 0])


def test_read_errors_are_one_line_output_errors(tmp_path):
    not_hdf5 = tmp_path / "notes.h5"
    not_hdf5.write_text("hello")
    no_spikes = tmp_path / "empty.h5"
    with h5py.File(no_spikes, "w") as f:
        f["x"] = np.arange(3)
    for path, words in [(tmp_path / "missing.h5", "no such file"), (not_hdf5, "not an HDF5"), (no_spikes, "/spikes")]:
        with pytest.raises(OutputError, match=words) as caught:
            read(path)
        assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_read_array(tmp_path):
    path = tmp_path / "weights.h5"
    with h5py.File(path, "w") as f:
        f["conn/w"] = np.arange(6.0).reshape(2, 3)
        f["delays"] = np.ones(4)
    np.testing.assert_array_equal(read_array(path, "conn/w"), np.arange(6.0).reshape(2, 3))
    with pytest.raises(OutputError, match=r"no dataset 'w'; datasets present: conn/w, delays"):
        read_array(path, "w")
    with pytest.raises(OutputError, match="no dataset 'conn'"):  # a group is not an array
        read_array(path, "conn")
    with pytest.raises(OutputError, match="no such file"):
        read_array(tmp_path / "nope.h5", "w")


def test_unwritable_path_is_an_output_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutputError, match=str(blocker)):
        new_writer(blocker / "run.h5")


def test_bad_chunks_are_refused_whole(tmp_path):
    writer = new_writer(tmp_path / "run.h5")
    good = make_chunks()[0]
    bad = Chunk(0, 10, dict(good.spikes, ghost=SpikeTrains.empty()), {}, {})
    with pytest.raises(ValueError, match="ghost"):
        writer.write(bad)
    writer.close("interrupted", -1)
    assert len(read(writer.partial_path).spikes["exc"]) == 0  # nothing of the bad chunk


# ---- plots


def test_raster_png_and_points(tmp_path):
    from matplotlib.figure import Figure

    from spikesim import plot

    recording = in_memory(make_chunks(), "complete", 39)
    out = plot.save_raster_png(recording, tmp_path / "raster.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 1000

    ax = plot.raster(recording, ax=Figure().subplots())
    offsets = [c.get_offsets() for c in ax.collections]
    assert [len(o) for o in offsets] == [len(recording.spikes["exc"]), len(recording.spikes["inh"])]
    # inh neurons sit above the 8 exc rows, at their global ids
    np.testing.assert_array_equal(np.asarray(offsets[1])[:, 1], recording.spikes["inh"].node_ids + 8)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["exc", "inh"]

    rate_ax = plot.rate(Recording(recording.info, recording.spikes, status="complete"), ax=Figure().subplots())
    counted = rate_ax.lines[0].get_ydata() * 8 * 0.005  # Hz * neurons * 5 ms bin = spikes
    assert np.isclose(counted.sum(), len(recording.spikes["exc"]))

    traces_png = plot.save_traces_png(recording, tmp_path / "v.svg")
    assert traces_png.read_text().lstrip().startswith("<?xml")


def test_raster_of_many_spikes_shades_pixels_by_their_counts(tmp_path):
    """Where dots would cover every pixel, the raster counts the spikes of each pixel: a burst
    shows darker than a quiet stretch, where dots would show both as solid."""
    from matplotlib.figure import Figure

    from spikesim import plot

    rng = np.random.default_rng(3)
    sizes = {"a": 20000, "b": 5000}
    info = RunInfo("dense", "", 1, 1.0, 1000.0, sizes)
    spikes = {}
    for pop, size in sizes.items():
        # 5 spikes per neuron in the burst (first 100 ms), 2 in the 900 ms after it
        burst = (rng.uniform(0, 100, 5 * size), np.repeat(np.arange(size), 5))
        quiet = (rng.uniform(100, 1000, 2 * size), np.repeat(np.arange(size), 2))
        times, ids = np.concatenate([burst[0], quiet[0]]), np.concatenate([burst[1], quiet[1]])
        order = np.argsort(times)
        spikes[pop] = SpikeTrains(times[order], ids[order].astype(np.uint64))
    recording = Recording(info, spikes, status="complete")
    ax = plot.raster(recording, ax=Figure(figsize=(6, 3), dpi=100).subplots())
    assert len(ax.collections) == 0 and len(ax.images) == 2  # 175 000 spikes on about 80 000 pixels
    width_px, height_px = plot._size_in_pixels(ax)
    for image, (pop, size) in zip(ax.images, sizes.items()):
        counts = image.get_array()
        assert counts.sum() == len(spikes[pop])
        assert counts.shape == (round(height_px * size / 25000), width_px)
        burst_columns = width_px // 10  # the first 100 of 1000 ms
        per_ms_burst = counts[:, : burst_columns - 1].sum() / ((burst_columns - 1) * 1000 / width_px)
        per_ms_quiet = counts[:, burst_columns + 1 :].sum() / ((width_px - burst_columns - 1) * 1000 / width_px)
        assert per_ms_burst / per_ms_quiet == pytest.approx((5 / 100) / (2 / 900), rel=0.05)
        assert image.get_extent() == [0.0, 1000.0, (0 if pop == "a" else 20000) - 0.5, (20000 if pop == "a" else 25000) - 0.5]
    assert ax.get_legend().get_title().get_text() == "spikes per pixel"
    dots = plot.raster(recording, ax=Figure(figsize=(6, 3), dpi=100).subplots(), density=False)
    assert [len(c.get_offsets()) for c in dots.collections] == [len(spikes["a"]), len(spikes["b"])]
    assert plot.save_raster_png(recording, tmp_path / "dense.png").stat().st_size > 1000

    # a few spikes, shaded on request: each lands in its neuron's row and its time's column (and
    # a population of no neurons draws a clear row, without a warning)
    few = Recording(RunInfo("few", "", 1, 1.0, 100.0, {"none": 0, "x": 10}),
                    {"x": SpikeTrains(np.array([0.0, 37.0, 99.99, 100.0]), np.array([3, 3, 9, 0], np.uint64))},
                    status="complete")  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plot.raster(few, ax=Figure(figsize=(2, 2), dpi=100).subplots(), density=True)
    assert ax.images[0].get_array().sum() == 0
    counts = ax.images[1].get_array()
    width_px = plot._size_in_pixels(ax)[0]
    assert counts.shape == (10, width_px)  # one row per neuron: fewer neurons than pixels
    expected = np.zeros_like(counts)
    for t, neuron in ((0.0, 3), (37.0, 3), (99.99, 9), (100.0, 0)):
        expected[neuron, min(int(t * width_px / 100.0), width_px - 1)] += 1
    np.testing.assert_array_equal(counts, expected)


def test_weight_snapshots_are_written_when_they_arrive(tmp_path):
    """The writer takes a synapse layout block by block, keeps only its size, and writes each
    snapshot at once: a snapshot may be a view of weights that keep changing."""
    from spikesim.recording import SynapseLayout, WeightSnapshot

    pre, post, delay_ms = np.arange(5), np.array([4, 3, 2, 1, 0]), np.full(5, 1.5)
    blocks = lambda: [(pre[:2], post[:2], delay_ms[:2]), (pre[2:], post[2:], delay_ms[2:])]  # noqa: E731
    info = make_info()
    writer = SpikeFileWriter(tmp_path / "w.h5", info, {}, None, {"c": SynapseLayout(5, blocks)})
    live = np.arange(5.0)
    writer.write(Chunk(0, 0, {}, {}, {}, {"c": WeightSnapshot(np.zeros(1), live[None, :])}))
    live += 10.0  # the simulation goes on before any flush
    writer.write(Chunk(0, 10, {}, {}, {}, {"c": WeightSnapshot(np.array([5.0]), live[None, :])}))
    writer.close("complete", 9)
    got = read(tmp_path / "w.h5").weights["c"]
    np.testing.assert_array_equal(got.pre, pre)
    np.testing.assert_array_equal(got.post, post)
    np.testing.assert_array_equal(got.delay_ms, delay_ms)
    np.testing.assert_array_equal(got.times_ms, [0.0, 5.0])
    np.testing.assert_array_equal(got.values, [np.arange(5.0), np.arange(5.0) + 10])
    with pytest.raises(ValueError, match="gave 2 synapses, expected 5"):
        SpikeFileWriter(tmp_path / "short.h5", info, {}, None, {"c": SynapseLayout(5, lambda: blocks()[:1])})


def test_read_can_leave_out_the_synapses_or_all_weights(tmp_path):
    """weights="values" reads the snapshots without their synapses (what plots and summaries
    show), cut like the rest at the last complete step; "none" reads no weights."""
    import dataclasses

    from spikesim.recording import SynapseLayout, WeightSnapshot
    from spikesim.summary import describe

    n = 5
    layout = {"c": SynapseLayout(n, lambda: [(np.arange(n), np.arange(n)[::-1].copy(), np.ones(n))])}
    writer = SpikeFileWriter(tmp_path / "w.h5", make_info(), {"exc": {"v": TRACE_IDS}}, RATE_BIN_MS, layout)
    chunks = make_chunks()
    for k, chunk in enumerate(chunks[:3]):
        snapshot = WeightSnapshot(np.array([chunk.stop_step * DT_MS]), np.full((1, n), float(k)))
        writer.write(dataclasses.replace(chunk, weights={"c": snapshot}))
        if k == 1:
            writer.flush(19)  # the third snapshot reaches the file (at once), its steps are not complete
    whole = read(writer.partial_path)
    values = read(writer.partial_path, weights="values")
    assert isinstance(values.weights["c"], WeightSnapshot)
    np.testing.assert_array_equal(values.weights["c"].times_ms, [5.0, 10.0])
    np.testing.assert_array_equal(values.weights["c"].values, whole.weights["c"].values)
    np.testing.assert_array_equal(values.weights["c"].values, [[0.0] * n, [1.0] * n])
    assert_same(values, in_memory(chunks[:2], "running", 19))
    assert "weights c: 5 synapses, 2 snapshots (5 ms .. 10 ms), mean 0 -> 1" in describe(values, "w.h5")
    nothing = read(writer.partial_path, weights="none")
    assert nothing.weights == {}
    assert_same(nothing, in_memory(chunks[:2], "running", 19))
    with pytest.raises(ValueError, match="weights='layout': use one of all, values, none"):
        read(writer.partial_path, weights="layout")
    writer.close("complete", 29)
