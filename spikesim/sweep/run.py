"""Running a sweep on Dask: one job per grid point and seed, one directory per job.

Layout of the output directory::

    <output>/summary.csv            one row per job: status, grid values, seed, statistics
    <output>/<statistic>.png        the chosen statistic across the grid
    <output>/<job>/network.yaml     the job's resolved description (spikesim run can rerun it)
    <output>/<job>/spikes.h5        its spikes (spikes.h5.partial while it runs)
    <output>/<job>/stats.json       its statistics and wall time

A job is complete when ``spikes.h5`` exists under that final name (the writer renames it only
when the run completes), and a rerun skips it, after checking that its ``network.yaml`` is the
description the job would run now (a changed network or root seed is refused, not mixed in).

Jobs run on a ``dask.distributed`` cluster: a ``LocalCluster`` of worker processes (one
thread each) by default, or an existing scheduler given by its address. The workers write
straight into the output directory, so a cluster of several machines needs it on a shared
file system (and the network's data files at the same paths). Dask is an optional dependency
(``pip install "spikesim[sweep]"``), imported when a sweep runs.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import OutputError, SpikesimError
from ..recording import Recording
from .spec import Job, Sweep, _value_text, load_sweep

SPIKES_FILE = "spikes.h5"
DESCRIPTION_FILE = "network.yaml"
STATS_FILE = "stats.json"
SUMMARY_FILE = "summary.csv"


@dataclass
class SweepResult:
    """What a sweep did: one row per job (the rows of summary.csv), and where it wrote."""

    sweep: Sweep
    rows: list[dict[str, Any]]
    table_path: Path
    plot_path: Path | None
    failed: list[str] = field(default_factory=list)  # names of the jobs that failed

    def count(self, status: str) -> int:
        return sum(row["status"] == status for row in self.rows)


# ---------------------------------------------------------------------------------------------
# One job (runs on a worker)


def job_statistics(recording: Recording) -> dict[str, float]:
    """The statistics of one job: ``spikes.<pop>``, ``mean_rate_hz.<pop>``, ``mean_cv_isi.<pop>``
    per population, and ``spikes`` and ``mean_rate_hz`` over all neurons."""
    from ..stats import population_stats

    stats = population_stats(recording)
    out: dict[str, float] = {}
    for name in ("spikes", "mean_rate_hz", "mean_cv_isi"):
        for pop, s in stats.items():
            out[f"{name}.{pop}"] = s[name]
    neurons = sum(s["neurons"] for s in stats.values())
    out["spikes"] = sum(s["spikes"] for s in stats.values())
    out["mean_rate_hz"] = sum(s["mean_rate_hz"] * s["neurons"] for s in stats.values()) / max(neurons, 1)
    return out


def run_job(description_yaml: str, job_dir: str) -> dict[str, Any]:
    """Run one job from its resolved description; write ``spikes.h5`` and ``stats.json`` into
    ``job_dir``. Returns the statistics with ``wall_s`` (build and simulation), or
    ``{"error": message}`` for a spikesim error (a bad file, NaN in the integration)."""
    from .. import api
    from ..build import build
    from ..spec import spec_from_yaml

    directory = Path(job_dir)
    try:
        started = time.perf_counter()
        recording = api.run(build(spec_from_yaml(description_yaml)), directory / SPIKES_FILE)
        wall_s = time.perf_counter() - started
    except SpikesimError as error:
        return {"error": " ".join(str(error).split()) or type(error).__name__}
    stats = {**job_statistics(recording), "wall_s": wall_s}
    _write_json_atomically(directory / STATS_FILE, stats)
    return stats


def _write_json_atomically(path: Path, data: dict) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(partial, path)


# ---------------------------------------------------------------------------------------------
# The sweep (runs on the client)


def run_sweep(
    sweep: Sweep | str | os.PathLike,
    *,
    scheduler: str | None = None,
    n_workers: int | None = None,
    on_job: Callable[[int, int, dict[str, Any]], None] | None = None,
) -> SweepResult:
    """Run every job of ``sweep`` (a ``Sweep`` or the path of a sweep file) not yet complete.

    ``scheduler`` (an address such as ``tcp://127.0.0.1:8786``) and ``n_workers`` (processes of
    the local cluster) override the sweep file's. ``on_job(done, total, row)`` is called as each
    job finishes or is skipped. Writes summary.csv and the plot of the sweep's statistic; jobs
    that fail are rows with status ``failed`` and their error, and are rerun next time.
    """
    if not isinstance(sweep, Sweep):
        sweep = load_sweep(sweep)
    scheduler = scheduler if scheduler is not None else sweep.spec.scheduler
    n_workers = n_workers if n_workers is not None else sweep.spec.n_workers
    out = sweep.output_dir
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create {out}: {error.strerror}") from error

    todo: list[Job] = []
    rows: dict[str, dict[str, Any]] = {}
    total = len(sweep.jobs)
    for job in sweep.jobs:
        directory = out / job.name
        if (directory / SPIKES_FILE).exists():
            _check_same_description(job, directory)
            rows[job.name] = _row(sweep, job, "skipped", _stored_statistics(directory))
            if on_job:
                on_job(len(rows), total, rows[job.name])
        else:
            todo.append(job)
    for job in todo:  # before any job runs: a disk problem shows at once
        directory = out / job.name
        try:
            directory.mkdir(exist_ok=True)
            (directory / DESCRIPTION_FILE).write_text(job.description_yaml)
        except OSError as error:
            raise OutputError(f"cannot write {directory / DESCRIPTION_FILE}: {error.strerror}") from error

    if todo:
        for job, result in _run_on_dask(todo, out, scheduler, n_workers):
            if "error" in result:
                rows[job.name] = _row(sweep, job, "failed", {}, error=result["error"])
            else:
                rows[job.name] = _row(sweep, job, "ran", result)
            if on_job:
                on_job(len(rows), total, rows[job.name])

    ordered = [rows[job.name] for job in sweep.jobs]
    table_path = write_table(ordered, sweep, out / SUMMARY_FILE)
    plot_path = None
    done = [row for row in ordered if row["status"] != "failed"]
    if done:
        from ..plot import save_sweep_plot

        title = sweep.source.stem if sweep.source is not None else None
        plot_path = save_sweep_plot(done, sweep.statistic, sweep.parameters, out / f"{sweep.statistic}.png", title)
    failed = [row["job"] for row in ordered if row["status"] == "failed"]
    return SweepResult(sweep, ordered, table_path, plot_path, failed)


def _run_on_dask(jobs: list[Job], out: Path, scheduler: str | None, n_workers: int | None):
    """Yield (job, result) as the jobs finish on a Dask cluster."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as error:
        raise SpikesimError(f"sweeps run on Dask: pip install \"spikesim[sweep]\" ({error})") from error

    cluster = None
    try:
        if scheduler:
            try:
                client = Client(scheduler, timeout="20s")
            except (OSError, TimeoutError) as error:
                raise SpikesimError(f"cannot reach the Dask scheduler at {scheduler}: {error}") from error
        else:
            workers = n_workers or max(1, min(len(jobs), os.cpu_count() or 1))
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
            client = Client(cluster)
        try:
            futures = {}
            for job in jobs:
                future = client.submit(run_job, job.description_yaml, str(out / job.name), pure=False,
                                       key=f"spikesim-job-{job.name}-{time.time_ns()}")
                futures[future] = job
            for future in as_completed(futures):
                job = futures[future]
                try:
                    result = future.result()
                except Exception as error:  # noqa: BLE001 - a bug or a lost worker: one job fails, not the sweep
                    result = {"error": f"{type(error).__name__}: {' '.join(str(error).split())}"}
                yield job, result
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()


def _stored_statistics(directory: Path) -> dict[str, Any]:
    """The statistics of a complete job: stats.json, or computed from spikes.h5 when the job
    stopped between the two files (its wall time is then unknown)."""
    try:
        return json.loads((directory / STATS_FILE).read_text())
    except (OSError, ValueError):
        from ..io.hdf5 import read

        return {**job_statistics(read(directory / SPIKES_FILE, weights="none")), "wall_s": math.nan}


def _check_same_description(job: Job, directory: Path) -> None:
    import yaml

    try:
        stored = yaml.safe_load((directory / DESCRIPTION_FILE).read_text())
    except (OSError, yaml.YAMLError):
        stored = None
    wanted = yaml.safe_load(job.description_yaml)
    if stored != wanted:
        where = _first_difference(stored, wanted)
        raise OutputError(
            f"{directory} holds a complete job run from another description ({where}); "
            "use another output directory, or delete that job's directory to rerun it"
        )


def _first_difference(old: Any, new: Any, path: str = "") -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            if old.get(key) != new.get(key):
                return _first_difference(old.get(key), new.get(key), f"{path}.{key}" if path else str(key))
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            if a != b:
                return _first_difference(a, b, f"{path}.{i}" if path else str(i))
    if old is None:
        return f"{DESCRIPTION_FILE} missing or unreadable"
    return f"{path or 'the description'}: {old!r} there, {new!r} now"


# ---------------------------------------------------------------------------------------------
# The table


def _row(sweep: Sweep, job: Job, status: str, stats: dict[str, Any], error: str = "") -> dict[str, Any]:
    row: dict[str, Any] = {"job": job.name, "status": status}
    row.update(job.params)
    row["repetition"] = job.repetition
    row["seed"] = job.seed
    for name in sweep.statistics:
        row[name] = stats.get(name, math.nan)
    row["error"] = error
    return row


def table_columns(sweep: Sweep) -> list[str]:
    return ["job", "status", *sweep.parameters, "repetition", "seed", *sweep.statistics, "error"]


def write_table(rows: list[dict[str, Any]], sweep: Sweep, path: Path) -> Path:
    """Write the rows as CSV: one row per job; non-scalar grid values as JSON; NaN as empty."""

    def cell(value: Any) -> Any:
        if isinstance(value, float) and math.isnan(value):
            return ""
        if isinstance(value, (dict, list)):
            return _value_text(value)
        return value

    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=table_columns(sweep))
            writer.writeheader()
            for row in rows:
                writer.writerow({key: cell(value) for key, value in row.items()})
        os.replace(partial, path)
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror}") from error
    return path


def read_table(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of a summary.csv, as strings."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
