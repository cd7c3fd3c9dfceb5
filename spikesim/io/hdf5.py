"""Results on disk: the SONATA spike report layout plus spikesim's own groups, in one HDF5 file.

This is the only module of spikesim that imports h5py.

File layout (times in ms, node ids population-local)::

    /                         attrs magic = uint32 0x0A7A, version = uint32 [0, 1]   (SONATA)
    /spikes/<pop>             attr sorting = enum{none:0, by_id:1, by_time:2} = by_time
    /spikes/<pop>/timestamps  float64 (N,), attr units = "ms"
    /spikes/<pop>/node_ids    uint64 (N,)
    /traces/<pop>/<var>/data        float64 (T, R)
    /traces/<pop>/<var>/node_ids    uint64 (R,)
    /traces/<pop>/<var>/timestamps  float64 (T,), attr units = "ms"
    /rates/<pop>              attr bin_ms
    /rates/<pop>/rate_hz      float64 (B,), Hz
    /rates/<pop>/timestamps   float64 (B,), bin starts in ms, attr units = "ms"
    /weights/<connection>/pre, post   uint64 (S,) indices into the connection's pre/post populations
    /weights/<connection>/delay_ms    float64 (S,)
    /weights/<connection>/timestamps  float64 (T,), attr units = "ms"
    /weights/<connection>/values      float64 (T, S)
    /spikesim                 attrs name, network_yaml, seed, dt_ms, duration_ms,
                              populations (JSON), versions (JSON), status, last_complete_step,
                              previous_complete_step (the flush before the last one's)

Every population gets a ``/spikes`` group, even without spikes, and (when rates are recorded)
a ``/rates`` group, so readers find the same layout for every run of a network.

Crash safety. HDF5 without SWMR gives no guarantee for a file whose process dies while it holds
unflushed changes. So ``SpikeFileWriter`` keeps the chunks it receives in memory and touches
the file only in ``flush`` and ``close`` (and when more than ``SPILL_BYTES`` are waiting, to
bound memory): a process killed between two flushes leaves the file exactly as the last flush
left it. A process killed inside a flush can leave part of that flush's metadata on disk,
pointing at chunks beyond the end of file the previous flush recorded; ``read`` then reads, of a
file whose run never closed, the rows up to the first chunk it cannot read and cuts the recording
at the step the previous flush marked, so nothing of the earlier flushes is lost. The file lives
under ``<path>.partial`` until ``close("complete", ...)`` renames it.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import h5py
import numpy as np

from ..errors import OutputError
from ..recording import Chunk, Rate, Recording, RunInfo, SpikeTrains, SynapseLayout, Trace, Weights, WeightSnapshot

SONATA_MAGIC = 0x0A7A
SONATA_VERSION = (0, 1)
SORTING_ENUM = h5py.enum_dtype({"none": 0, "by_id": 1, "by_time": 2}, basetype="u1")
STATUSES = ("running", "complete", "interrupted", "failed")
# What ``read`` takes of the recorded weights: everything, the snapshots only, or nothing.
WEIGHT_PARTS = ("all", "values", "none")

# File-format bounds. The upper bound keeps out features newer than HDF5 1.10, which the builds
# inside libsonata and bmtk may not read ("latest" would allow them). The lower bound is 1.8 on
# purpose: from a 1.10 lower bound on, HDF5 writes superblock version 3, which marks the file
# "open for write" until it is closed, and a file so marked refuses to open (until `h5clear`)
# after its writer was killed; version 2 superblocks carry no such mark, so a crashed run's
# .partial file opens and holds what was flushed.
LIBVER = ("v108", "v110")

# Bytes of received data kept in memory before it is written without waiting for a flush (the
# file is flushed after it, so it stays consistent on disk). Large networks with long flush
# intervals produce about 11 MB of spikes per simulated second (spnet 100k); at 64 MiB their
# waiting spikes and the copy that joins them added 65 MB to the run's peak (spnet 100k, flushes
# every 10 s), at 8 MiB a few MB, and writing the same spikes took no longer.
SPILL_BYTES = 8 * 2**20

# Elements per HDF5 chunk of the growing datasets: 64 KiB of float64, a quarter of the chunk
# cache below, and few chunks for long runs.
_CHUNK_ELEMENTS = 8192
_WIDE_CHUNK = 1 << 17
# Chunk cache of each open dataset (HDF5's default: 1 MiB). The writer keeps its growing datasets
# open, and an append only ever revisits the last, partly filled chunk.
_CHUNK_CACHE_BYTES = 4 * 8 * _CHUNK_ELEMENTS


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


class SpikeFileWriter:
    """A ``Sink`` that streams a run into a SONATA spike file with spikesim's additions.

    ``trace_layout`` maps population -> variable -> the population-local node ids whose samples
    will arrive (known before the run, so every dataset is created up front). ``rate_bin_ms``
    is the population-rate bin in ms, or None when rates are not recorded; when given, every
    population gets a ``/rates`` group.

    The data goes to ``partial_path`` (``<path>.partial``) and only ``close("complete", ...)``
    moves it to ``path``; any other status leaves a closed, readable ``.partial`` file.
    Chunks wait in memory until the next ``flush`` (see the module docstring: crash safety).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        info: RunInfo,
        trace_layout: dict[str, dict[str, np.ndarray]],
        rate_bin_ms: float | None,
        weight_layout: dict[str, Weights | SynapseLayout] | None = None,
    ):
        """``weight_layout`` maps connection -> the synapses whose snapshots will arrive: a
        ``Weights`` (pre, post, delay_ms; its times and values are not used) or a
        ``SynapseLayout``. They are written when the file is created; the writer keeps only
        their number."""
        self.path = Path(path)
        weight_layout = dict(weight_layout or {})
        self._weight_sizes = {name: _layout_size(layout) for name, layout in weight_layout.items()}
        self.partial_path = self.path.with_name(self.path.name + ".partial")
        self.info = info
        self.rate_bin_ms = None if rate_bin_ms is None else float(rate_bin_ms)
        self._trace_ids = {
            pop: {var: np.asarray(ids, dtype=np.uint64) for var, ids in by_var.items()}
            for pop, by_var in trace_layout.items()
        }
        self._check_layout()
        self._pending: dict[str, list[np.ndarray]] = {}
        self._appenders: dict[str, _Appender] = {}
        self._pending_bytes = 0
        self._file: h5py.File | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.partial_path.unlink(missing_ok=True)
            # unlocked, as readers open it: `spikesim info` may look at a running file
            self._file = h5py.File(self.partial_path, "w", libver=LIBVER, locking=False, rdcc_nbytes=_CHUNK_CACHE_BYTES)
            self._create_layout(weight_layout)
            self._file.flush()
        except (OSError, RuntimeError) as error:
            self._abandon()
            raise OutputError(f"cannot create {self.partial_path}: {_one_line(error)}") from error
        except BaseException:
            self._abandon()
            raise

    # ---- the Sink protocol
    def write(self, chunk: Chunk) -> None:
        """Take the data of one chunk; it reaches the file at the next flush or close."""
        self._require_open()
        # Check the whole chunk before queueing any of it, so a bad chunk leaves nothing behind.
        items: list[tuple[str, np.ndarray]] = []
        for pop, trains in chunk.spikes.items():
            items += self._spike_items(pop, trains)
        for pop, by_var in chunk.traces.items():
            for var, trace in by_var.items():
                items += self._trace_items(pop, var, trace)
        for pop, rate in chunk.rates.items():
            items += self._rate_items(pop, rate)
        weights: list[tuple[str, np.ndarray]] = []
        for name, snap in chunk.weights.items():
            weights += self._weight_items(name, snap)
        for name, values in items:
            if len(values):
                self._pending.setdefault(name, []).append(values)
                self._pending_bytes += values.nbytes
        if weights:
            # snapshots may be views of the live weights (and are large): written now, not queued
            self._guarded(lambda: self._append_all(weights))
        if self._pending_bytes > SPILL_BYTES:
            # Bound memory: write without moving last_complete_step; ``read`` cuts what lies
            # beyond that step out of a file whose run never closed. Flushing leaves the file
            # consistent on disk again.
            self._guarded(self._spill)

    def flush(self, last_complete_step: int) -> None:
        """Write everything received and mark steps up to ``last_complete_step`` as complete."""
        self._require_open()

        def work() -> None:
            self._write_pending()
            meta = self._meta.attrs
            meta["previous_complete_step"] = meta["last_complete_step"]
            meta["last_complete_step"] = np.int64(last_complete_step)
            self._file.flush()

        self._guarded(work)

    def close(self, status: str, last_complete_step: int) -> None:
        """Write the rest, record ``status`` and close; rename to ``path`` only if complete.

        Closing twice does nothing the second time, so callers may close in a ``finally``.
        """
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        if self._file is None:
            return

        def work() -> None:
            self._write_pending()
            self._meta.attrs["status"] = status
            self._meta.attrs["last_complete_step"] = np.int64(last_complete_step)

        try:
            self._guarded(work)
        finally:
            self._abandon()
        if status == "complete":
            try:
                # Atomic on one file system: readers see either no file or a complete one.
                os.replace(self.partial_path, self.path)
            except OSError as error:
                raise OutputError(f"cannot rename {self.partial_path} to {self.path}: {_one_line(error)}") from error

    # ---- layout
    def _check_layout(self) -> None:
        for pop, by_var in self._trace_ids.items():
            self._check_population(pop)
            for var, ids in by_var.items():
                if ids.ndim != 1:
                    raise ValueError(f"trace layout {pop}/{var}: node ids must be one-dimensional")

    def _create_layout(self, weight_layout: dict[str, Weights | SynapseLayout]) -> None:
        f = self._file
        f.attrs["magic"] = np.uint32(SONATA_MAGIC)
        f.attrs["version"] = np.array(SONATA_VERSION, dtype=np.uint32)
        for pop in self.info.populations:
            group = f.create_group(f"spikes/{pop}")
            group.attrs.create("sorting", 2, dtype=SORTING_ENUM)  # one writer, step order
            _growing(group, "timestamps", np.float64).attrs["units"] = "ms"
            _growing(group, "node_ids", np.uint64)
        for pop, by_var in self._trace_ids.items():
            for var, ids in by_var.items():
                group = f.create_group(f"traces/{pop}/{var}")
                _growing(group, "data", np.float64, width=len(ids))
                group.create_dataset("node_ids", data=ids, dtype=np.uint64)
                _growing(group, "timestamps", np.float64).attrs["units"] = "ms"
        if self.rate_bin_ms is not None:
            for pop in self.info.populations:
                group = f.create_group(f"rates/{pop}")
                group.attrs["bin_ms"] = self.rate_bin_ms
                _growing(group, "rate_hz", np.float64)
                _growing(group, "timestamps", np.float64).attrs["units"] = "ms"
        for name, layout in weight_layout.items():
            group = f.create_group(f"weights/{name}")
            _write_synapses(group, self._weight_sizes[name], _layout_blocks(layout))
            _growing(group, "timestamps", np.float64).attrs["units"] = "ms"
            _growing(group, "values", np.float64, width=self._weight_sizes[name])
        self._meta = f.create_group("spikesim")
        _write_info(self._meta, self.info)
        self._meta.attrs["status"] = "running"
        self._meta.attrs["last_complete_step"] = np.int64(-1)
        # the step the flush before the last one marked: what a reader falls back on when the
        # last flush was cut short (see ``_Salvage``)
        self._meta.attrs["previous_complete_step"] = np.int64(-1)

    # ---- the datasets a chunk appends to, checked. np.array copies: the simulation may reuse
    # its buffers for the next chunk before these reach the file.
    def _spike_items(self, pop: str, trains: SpikeTrains) -> list[tuple[str, np.ndarray]]:
        self._check_population(pop)
        times = np.array(trains.times_ms, dtype=np.float64)
        ids = np.array(trains.node_ids, dtype=np.uint64)
        if times.ndim != 1 or times.shape != ids.shape:
            raise ValueError(f"spikes of {pop!r}: times_ms {times.shape} and node_ids {ids.shape} differ")
        return [(f"spikes/{pop}/timestamps", times), (f"spikes/{pop}/node_ids", ids)]

    def _trace_items(self, pop: str, var: str, trace: Trace) -> list[tuple[str, np.ndarray]]:
        ids = self._trace_ids.get(pop, {}).get(var)
        if ids is None:
            raise ValueError(f"trace {pop}/{var} is not in the trace layout given to the writer")
        if not np.array_equal(np.asarray(trace.node_ids, dtype=np.uint64), ids):
            raise ValueError(f"trace {pop}/{var}: node ids differ from the trace layout")
        times = np.array(trace.times_ms, dtype=np.float64)
        values = np.array(trace.values, dtype=np.float64)
        if times.ndim != 1 or values.shape != (len(times), len(ids)):
            raise ValueError(f"trace {pop}/{var}: values {values.shape}, expected ({len(times)}, {len(ids)})")
        return [(f"traces/{pop}/{var}/timestamps", times), (f"traces/{pop}/{var}/data", values)]

    def _rate_items(self, pop: str, rate: Rate) -> list[tuple[str, np.ndarray]]:
        self._check_population(pop)
        if self.rate_bin_ms is None or not math.isclose(rate.bin_ms, self.rate_bin_ms, rel_tol=1e-9):
            raise ValueError(f"rate of {pop!r} with bin {rate.bin_ms} ms; the writer was given {self.rate_bin_ms}")
        times = np.array(rate.times_ms, dtype=np.float64)
        rate_hz = np.array(rate.rate_hz, dtype=np.float64)
        if times.ndim != 1 or times.shape != rate_hz.shape:
            raise ValueError(f"rate of {pop!r}: times_ms {times.shape} and rate_hz {rate_hz.shape} differ")
        return [(f"rates/{pop}/timestamps", times), (f"rates/{pop}/rate_hz", rate_hz)]

    def _weight_items(self, name: str, snap: Weights) -> list[tuple[str, np.ndarray]]:
        size = self._weight_sizes.get(name)
        if size is None:
            raise ValueError(f"weights of {name!r} are not in the weight layout given to the writer")
        times = np.array(snap.times_ms, dtype=np.float64)
        values = np.asarray(snap.values, dtype=np.float64)  # no copy: they can be large
        if times.ndim != 1 or values.shape != (len(times), size):
            raise ValueError(f"weights of {name!r}: values {values.shape}, expected ({len(times)}, {size})")
        return [(f"weights/{name}/timestamps", times), (f"weights/{name}/values", values)]

    def _spill(self) -> None:
        self._write_pending()
        self._file.flush()

    def _appender(self, name: str) -> "_Appender":
        appender = self._appenders.get(name)
        if appender is None:
            appender = self._appenders[name] = _Appender(self._file[name])
        return appender

    def _append_all(self, items: list[tuple[str, np.ndarray]]) -> None:
        for name, values in items:
            self._appender(name).append(values)

    def _write_pending(self) -> None:
        for name, parts in self._pending.items():
            self._appender(name).append(np.concatenate(parts, axis=0))
        self._pending.clear()
        self._pending_bytes = 0

    # ---- helpers
    def _check_population(self, pop: str) -> None:
        if pop not in self.info.populations:
            raise ValueError(f"population {pop!r} is not in the run's populations {list(self.info.populations)}")

    def _require_open(self) -> None:
        if self._file is None:
            raise ValueError(f"the writer of {self.path} is closed")

    def _guarded(self, work) -> None:
        """Run ``work`` and turn the HDF5 and OS errors it raises into one-line OutputErrors."""
        try:
            work()
        except (OSError, RuntimeError) as error:
            raise OutputError(f"cannot write {self.partial_path}: {_one_line(error)}") from error

    def _abandon(self) -> None:
        """Close the HDF5 file if it is open, never raising (the first error is the useful one)."""
        f, self._file = self._file, None
        if f is not None:
            try:
                f.close()
            except Exception:  # noqa: BLE001 - closing after a failure must not hide it
                pass


def _growing(group: h5py.Group, name: str, dtype, width: int | None = None) -> h5py.Dataset:
    """An empty chunked dataset that grows along its first axis (``width`` columns if given)."""
    if width is None:
        return group.create_dataset(name, shape=(0,), maxshape=(None,), chunks=(_CHUNK_ELEMENTS,), dtype=dtype)
    rows = max(1, _CHUNK_ELEMENTS // max(width, 1))
    # Wide rows (the weights of millions of synapses) are cut into chunks of _WIDE_CHUNK columns,
    # so HDF5 never holds a chunk of hundreds of MB in memory while writing.
    columns = max(1, min(width, _WIDE_CHUNK))
    # HDF5 forbids a chunk wider than a fixed dimension, so a trace of no neurons is left
    # unlimited in its second dimension too.
    max_width = width if width > 0 else None
    return group.create_dataset(
        name, shape=(0, width), maxshape=(None, max_width), chunks=(rows, columns), dtype=dtype
    )


def _layout_size(layout: Weights | SynapseLayout) -> int:
    return layout.n_synapses if isinstance(layout, SynapseLayout) else len(layout.pre)


def _layout_blocks(layout: Weights | SynapseLayout):
    if isinstance(layout, SynapseLayout):
        yield from layout.blocks()
        return
    for start in range(0, len(layout.pre), _WIDE_CHUNK * 8):
        block = slice(start, start + _WIDE_CHUNK * 8)
        yield layout.pre[block], layout.post[block], layout.delay_ms[block]


def _write_synapses(group: h5py.Group, n: int, blocks) -> None:
    """pre, post and delay_ms of ``n`` synapses, written block by block: millions of synapses
    never need a full-size converted copy in memory."""
    chunks = (max(1, min(n, _WIDE_CHUNK)),)
    keys = (("pre", np.uint64), ("post", np.uint64), ("delay_ms", np.float64))
    datasets = [group.create_dataset(key, shape=(n,), dtype=dtype, chunks=chunks) for key, dtype in keys]
    start = 0
    for block in blocks:
        stop = start + len(block[0])
        for dataset, (_, dtype), values in zip(datasets, keys, block):
            dataset[start:stop] = np.asarray(values).astype(dtype)
        start = stop
    if start != n:
        raise ValueError(f"the weight layout gave {start} synapses, expected {n}")


class _Appender:
    """Appends rows to one growing dataset through HDF5's low-level calls, keeping its length
    and dtype: a third of the cost of h5py's lookups, resizing and indexing per append, which
    add up over the many small appends of a long run."""

    __slots__ = ("dataset", "dtype", "length", "row_shape")

    def __init__(self, dataset: h5py.Dataset):
        self.dataset = dataset
        self.dtype = dataset.dtype
        self.length = dataset.shape[0]
        self.row_shape = dataset.shape[1:]

    def append(self, values: np.ndarray) -> None:
        values = np.ascontiguousarray(values, dtype=self.dtype)
        if len(values) == 0:
            return
        start = self.length
        self.dataset.id.set_extent((start + len(values),) + self.row_shape)
        self.length = start + len(values)
        if values.size == 0:  # rows of no columns: a trace of no neurons
            return
        space = self.dataset.id.get_space()
        space.select_hyperslab((start,) + (0,) * (values.ndim - 1), values.shape)
        self.dataset.id.write(h5py.h5s.create_simple(values.shape), space, values)


def _write_info(group: h5py.Group, info: RunInfo) -> None:
    group.attrs["name"] = info.name
    group.attrs["network_yaml"] = info.network_yaml
    group.attrs["seed"] = np.int64(info.seed)
    group.attrs["dt_ms"] = np.float64(info.dt_ms)
    group.attrs["duration_ms"] = np.float64(info.duration_ms)
    # JSON keeps the declaration order of the populations, which global neuron ids depend on.
    group.attrs["populations"] = json.dumps({pop: int(size) for pop, size in info.populations.items()})
    group.attrs["versions"] = json.dumps(dict(info.versions))
    group.attrs["recorded_neurons"] = json.dumps(dict(info.recorded_neurons))


# ---------------------------------------------------------------------------------------------
# Reading


def read(path: str | os.PathLike, *, weights: str = "all") -> Recording:
    """Read a spikesim file (final or ``.partial``) or a SONATA spike file of another tool.

    A spikesim file gives back the Recording its run held, with the status and last complete
    step stored in it. A file whose run never closed (status ``running``: the process died) is
    cut at its last flushed step, since data after it may be incomplete; if the process died
    inside a flush (part of its data cannot be read), at the step the flush before it marked.

    ``weights`` chooses what is read of the recorded weights: ``"all"``, each connection's
    ``Weights`` (its synapses' pre, post and delay_ms with the snapshots); ``"values"``, only the
    snapshots, as ``WeightSnapshot`` (times and values: what plots and summaries show, without
    the 24 bytes per synapse of pre, post and delay_ms); ``"none"``, no weights.

    A plain SONATA file (no ``/spikesim`` group) gives one population per ``/spikes`` group,
    of size max node id + 1, spikes sorted by time then id, ``dt_ms`` and ``duration_ms`` NaN,
    seed -1 and status ``complete``.
    """
    if weights not in WEIGHT_PARTS:
        raise ValueError(f"weights={weights!r}: use one of {', '.join(WEIGHT_PARTS)}")
    with _open_for_reading(path) as f:
        if "spikes" not in f:
            raise OutputError(f"{path}: not a spike file (no /spikes group)")
        try:
            if "spikesim" in f:
                recording = _read_spikesim(f, weights)
            else:
                recording = _read_sonata(f, Path(path))
        except (OSError, RuntimeError, KeyError, ValueError) as error:
            raise OutputError(f"cannot read {path}: {_one_line(error)}") from error
    if recording.status == "running":
        recording.cut_after(recording.last_complete_step)
    return recording


def read_array(path: str | os.PathLike, key: str) -> np.ndarray:
    """The whole dataset ``key`` (e.g. ``"weights"`` or ``"conn/w"``) of the HDF5 file ``path``."""
    with _open_for_reading(path) as f:
        item = f.get(key)
        if not isinstance(item, h5py.Dataset):
            names = _dataset_names(f)
            shown = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
            raise OutputError(f"{path}: no dataset {key!r}; datasets present: {shown or 'none'}")
        try:
            return item[()]
        except (OSError, RuntimeError) as error:
            raise OutputError(f"cannot read {key!r} from {path}: {_one_line(error)}") from error


def read_datasets(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every dataset of the HDF5 file ``path`` by its path inside the file (a table of columns)."""
    with _open_for_reading(path) as f:
        try:
            return {name: f[name][()] for name in _dataset_names(f)}
        except (OSError, RuntimeError) as error:
            raise OutputError(f"cannot read {path}: {_one_line(error)}") from error


def write_recording(recording: Recording, path: str | os.PathLike) -> Path:
    """Write an in-memory Recording (e.g. the result of another simulator) to ``path``.

    The recording goes through ``SpikeFileWriter`` as one chunk, so the file has the layout of
    a streamed run. As there, only status ``complete`` gives a file under ``path``; any other
    status leaves ``<path>.partial``. Returns the path of the file written.
    """
    bins = {rate.bin_ms for rate in recording.rates.values()}
    if len(bins) > 1:
        raise ValueError(f"the rates of one file share one bin width; got {sorted(bins)} ms")
    layout = {pop: {var: tr.node_ids for var, tr in by_var.items()} for pop, by_var in recording.traces.items()}
    writer = SpikeFileWriter(path, recording.info, layout, bins.pop() if bins else None, recording.weights)
    try:
        writer.write(recording.as_chunk())
    except BaseException:
        writer.close("failed", -1)
        raise
    writer.close(recording.status, recording.last_complete_step)
    return writer.path if recording.status == "complete" else writer.partial_path


def _open_for_reading(path: str | os.PathLike) -> h5py.File:
    path = Path(path)
    if not path.is_file():
        raise OutputError(f"{path}: no such file")
    try:
        if not h5py.is_hdf5(path):
            raise OutputError(f"{path}: not an HDF5 file")
        # no lock: a run may be writing the file; what it flushed is readable meanwhile
        return h5py.File(path, "r", locking=False)
    except OSError as error:
        raise OutputError(f"cannot open {path}: {_one_line(error)}") from error


def _dataset_names(f: h5py.File) -> list[str]:
    names: list[str] = []
    f.visititems(lambda name, item: names.append(name) if isinstance(item, h5py.Dataset) else None)
    return names


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _read_spikesim(f: h5py.File, weight_parts: str = "all") -> Recording:
    meta = f["spikesim"].attrs
    info = RunInfo(
        name=_text(meta["name"]),
        network_yaml=_text(meta["network_yaml"]),
        seed=int(meta["seed"]),
        dt_ms=float(meta["dt_ms"]),
        duration_ms=float(meta["duration_ms"]),
        populations={pop: int(size) for pop, size in json.loads(_text(meta["populations"])).items()},
        versions=json.loads(_text(meta["versions"])),
        recorded_neurons=json.loads(_text(meta.get("recorded_neurons", "{}"))),
    )
    status = _text(meta["status"])
    last_complete_step = int(meta["last_complete_step"])
    # a run that never closed: its writer may have died inside a flush
    salvage = _Salvage(status == "running")
    spikes = {pop: _read_spikes(f["spikes"][pop], salvage) for pop in info.populations if pop in f["spikes"]}
    traces = {
        pop: {var: _read_trace(group, salvage) for var, group in by_var.items()}
        for pop, by_var in f.get("traces", {}).items()
    }
    rates = {pop: _read_rate(group, salvage) for pop, group in f.get("rates", {}).items()}
    weight_groups = {} if weight_parts == "none" else f.get("weights", {})
    weights = {name: _read_weights(group, salvage, weight_parts == "all") for name, group in weight_groups.items()}
    if salvage.cut_short and "previous_complete_step" in meta:
        # the last flush did not finish: only the one before it is known to be whole
        last_complete_step = int(meta["previous_complete_step"])
    return Recording(
        info,
        spikes,
        traces,
        rates,
        weights,
        status=status,
        last_complete_step=last_complete_step,
    )


class _Salvage:
    """Reads the datasets that grow row by row together (times and values).

    A writer killed inside a flush can leave HDF5 metadata on disk that points at a chunk the
    file's recorded end does not cover (reading it fails: "addr overflow"); the rows before that
    chunk were flushed earlier and are sound. So in a ``crashed`` file each dataset is read chunk
    by chunk up to the first chunk that cannot be read, all of a group's datasets are cut to the
    rows every one of them holds, and ``cut_short`` records that the last flush was incomplete (the
    reader then trusts the step the flush before it marked). In a file that was closed the same
    damage is an error."""

    def __init__(self, crashed: bool = False):
        self.crashed = crashed
        self.cut_short = False

    def rows(self, group: h5py.Group, names: tuple[str, ...]) -> list[np.ndarray]:
        if not self.crashed:
            return [group[name][()] for name in names]
        out = [self._readable_rows(group[name]) for name in names]
        rows = min(len(x) for x in out)
        return [x[:rows] for x in out]

    def _readable_rows(self, dataset: h5py.Dataset) -> np.ndarray:
        try:
            return dataset[()]
        except OSError:
            self.cut_short = True
        step = dataset.chunks[0] if dataset.chunks else max(1, dataset.shape[0])
        parts = [dataset[0:0]]
        for start in range(0, dataset.shape[0], step):
            try:
                parts.append(dataset[start : start + step])
            except OSError:
                break
        return np.concatenate(parts)


def _read_weights(group: h5py.Group, salvage: _Salvage | None = None, synapses: bool = True) -> Weights | WeightSnapshot:
    times_ms, values = (salvage or _Salvage()).rows(group, ("timestamps", "values"))
    if not synapses:
        return WeightSnapshot(times_ms, values)
    return Weights(
        pre=group["pre"][()].astype(np.int64),
        post=group["post"][()].astype(np.int64),
        delay_ms=group["delay_ms"][()],
        times_ms=times_ms,
        values=values,
    )


def _read_spikes(group: h5py.Group, salvage: _Salvage | None = None) -> SpikeTrains:
    ids_name = "node_ids" if "node_ids" in group else "gids"  # "gids": the pre-SONATA bmtk name
    times, ids = (salvage or _Salvage()).rows(group, ("timestamps", ids_name))
    times = np.asarray(times, dtype=np.float64)
    # SONATA allows seconds; spikesim works in ms.
    if _text(group["timestamps"].attrs.get("units", "ms")).strip() == "s":
        times = times * 1000.0
    return SpikeTrains(times, np.asarray(ids, dtype=np.uint64))


def _read_trace(group: h5py.Group, salvage: _Salvage | None = None) -> Trace:
    times, data = (salvage or _Salvage()).rows(group, ("timestamps", "data"))
    return Trace(times, group["node_ids"][()], data)


def _read_rate(group: h5py.Group, salvage: _Salvage | None = None) -> Rate:
    times, rate_hz = (salvage or _Salvage()).rows(group, ("timestamps", "rate_hz"))
    return Rate(float(group.attrs["bin_ms"]), times, rate_hz)


def _read_sonata(f: h5py.File, path: Path) -> Recording:
    spikes_group = f["spikes"]
    if "timestamps" in spikes_group:
        # Single-population files of older tools keep the datasets directly under /spikes.
        groups = {"default": spikes_group}
    else:
        groups = {pop: g for pop, g in spikes_group.items() if isinstance(g, h5py.Group)}
    spikes, sizes = {}, {}
    for pop, group in groups.items():
        trains = _read_spikes(group)
        order = np.lexsort((trains.node_ids, trains.times_ms))  # our convention: time, then id
        spikes[pop] = SpikeTrains(trains.times_ms[order], trains.node_ids[order])
        sizes[pop] = int(trains.node_ids.max()) + 1 if len(trains) else 0
    info = RunInfo(path.name, "", -1, float("nan"), float("nan"), sizes)
    return Recording(info, spikes, status="complete")
