"""Sweeps: the sweep file is validated whole before any job runs, job seeds derive from one root
seed by job key, jobs run on Dask (a local cluster, or a scheduler started apart), one directory
per job, completed jobs are skipped on rerun, and a table and a plot summarise the grid."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

import spikesim
from spikesim.errors import OutputError, SpecError
from spikesim.io.hdf5 import read
from spikesim.sweep import job_seed, load_sweep, read_table, run_sweep
from spikesim.sweep.commands import sweep as sweep_command
from spikesim.sweep.run import run_job
from spikesim.sweep.spec import set_path

NETWORK = """\
name: small
run: {duration_ms: 200, dt_ms: 1, seed: 5, output: ignored.h5}
populations:
  exc: {size: 40, params: {preset: RS}}
  inh: {size: 10, params: {preset: FS}}
connections:
  - {name: ee, pre: exc, post: [exc, inh], rule: fixed_probability, p: 0.1, weight: {uniform: {low: 0, high: 4}}}
  - {name: ie, pre: inh, post: [exc, inh], rule: fixed_probability, p: 0.3, weight: -4}
inputs:
  - {type: noise, target: [exc, inh], sd: 5}
record: {spikes: all}
"""


def write_sweep(folder: Path, **changes) -> Path:
    (folder / "models").mkdir(exist_ok=True)
    (folder / "models" / "small.yaml").write_text(NETWORK)
    data = {"network": "models/small.yaml", "output": "out", "seeds": 2, "root_seed": 1,
            "grid": {"inputs.0.sd": [3, 8]}, "statistic": "mean_rate_hz.exc", "n_workers": 2}
    data.update(changes)
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# ---- the sweep file and its jobs (no Dask)


def test_jobs_of_a_grid(tmp_path):
    sweep = load_sweep(write_sweep(tmp_path, grid={"inputs.0.sd": [3, 8], "connections.1.weight": [-4, -8]}))
    assert sweep.network_path == tmp_path / "models" / "small.yaml" and sweep.output_dir == tmp_path / "out"
    assert len(sweep.jobs) == 8  # 2 x 2 grid points x 2 seeds
    job = sweep.jobs[0]
    assert job.params == {"inputs.0.sd": 3, "connections.1.weight": -4} and job.repetition == 0
    assert job.key == "connections.1.weight=-4,inputs.0.sd=3,rep=0"  # sorted by path: order-free
    assert job.name == "connections.1.weight=-4__inputs.0.sd=3__rep=0"
    # the description is the network with the grid values and the job's seed, output dropped
    assert job.spec.inputs[0].sd == 3 and job.spec.connections[1].weight == -4
    assert job.spec.run.seed == job.seed == job_seed(1, job.key) and job.spec.run.output is None
    assert yaml.safe_load(job.description_yaml)["run"]["seed"] == job.seed
    assert len({j.seed for j in sweep.jobs}) == 8 and all(0 <= j.seed < 2**63 for j in sweep.jobs)


def test_job_seeds_are_stable_per_key(tmp_path):
    seeds = {j.key: j.seed for j in load_sweep(write_sweep(tmp_path, grid={"inputs.0.sd": [3, 8],
                                                                          "run.duration_ms": [200]})).jobs}
    # more values, more repetitions, a reordered grid: the jobs that were there keep their seeds
    grown = load_sweep(write_sweep(tmp_path, seeds=3, grid={"run.duration_ms": [100, 200], "inputs.0.sd": [8, 5, 3]}))
    grown_seeds = {j.key: j.seed for j in grown.jobs}
    assert len(grown_seeds) == 18 and all(grown_seeds[key] == seed for key, seed in seeds.items())
    other_root = {j.key: j.seed for j in load_sweep(write_sweep(tmp_path, root_seed=2)).jobs}
    assert not set(other_root.values()) & set(seeds.values())
    # what SeedSequence.spawn gives a child keyed by the job
    key = "inputs.0.sd=3,rep=0"
    ss = np.random.SeedSequence(1, spawn_key=tuple(
        int.from_bytes(__import__("hashlib").sha256(key.encode()).digest()[i : i + 4], "little") for i in range(0, 16, 4)))
    low, high = ss.generate_state(2, np.uint32)
    assert job_seed(1, key) == int(low) | (int(high) & 0x7FFFFFFF) << 32
    given = load_sweep(write_sweep(tmp_path, seeds=[7, 9])).jobs
    assert [j.seed for j in given] == [7, 9, 7, 9] and given[1].name == "inputs.0.sd=3__seed=9"


@pytest.mark.parametrize("changes, message", [
    ({"grid": {"inputs.3.sd": [1]}}, "grid.inputs.3.sd: inputs has 1 entry (0), no 3"),
    ({"grid": {"populations.pyr.size": [1]}}, "grid.populations.pyr.size: populations has no key 'pyr'; keys: exc, inh"),
    ({"grid": {"inputs.x.sd": [1]}}, "grid.inputs.x.sd: inputs is a list; 'x' is not an index"),
    ({"grid": {"run.seed": [1, 2]}}, "grid.run.seed: seeds are set with `seeds` and `root_seed`"),
    ({"grid": {"inputs.0.sd": [3, -1]}}, "grid.inputs.0.sd: -1: Input should be greater than or equal to 0"),
    ({"grid": {"inputs.0.sdd": [3]}}, "grid.inputs.0.sdd: unknown key 'sdd'"),
    ({"grid": {"run.dt_ms": [0.3]}}, "grid: at run.dt_ms=0.3: run.duration_ms: 200.0 ms is not a whole number"),
    ({"grid": {"inputs.0.sd": []}}, "grid: inputs.0.sd: give at least one value"),
    ({"statistic": "mean_rate_hz.pyr"}, "statistic: unknown statistic 'mean_rate_hz.pyr'; allowed: spikes.exc"),
    ({"seeds": [1, 1]}, "seeds: seeds repeat: [1, 1]"),
    ({"seeds": 0}, "seeds"),
    ({"sedes": 2}, "sedes: unknown key 'sedes'"),
    ({"network": "models/none.yaml"}, "network: models/none.yaml: cannot read"),
])  # fmt: skip
def test_bad_sweep_fails_before_any_job_with_its_path(tmp_path, changes, message):
    path = write_sweep(tmp_path, **changes)
    with pytest.raises(SpecError) as caught:
        run_sweep(path)
    assert str(caught.value).startswith(message) or message in str(caught.value), str(caught.value)
    assert not (tmp_path / "out").exists()  # nothing ran, nothing written


def test_set_path_into_mappings_and_lists():
    data = {"inputs": [{"sd": 1}, {"sd": 2}], "run": {"dt_ms": 1}}
    set_path(data, "inputs.1.sd", 9)
    set_path(data, "run.seed", 4)
    set_path(data, "inputs.0", {"type": "dc"})
    assert data == {"inputs": [{"type": "dc"}, {"sd": 9}], "run": {"dt_ms": 1, "seed": 4}}


def test_run_job_reports_spikesim_errors(tmp_path):
    bad = NETWORK.replace("inputs:\n", "inputs:\n  - {type: current_file, target: exc, file: /nonexistent.npy}\n")
    result = run_job(bad, str(tmp_path))
    assert "error" in result and "nonexistent.npy" in result["error"]
    assert not (tmp_path / "spikes.h5").exists()


# ---- on Dask


def row_by_job(rows):
    return {row["job"]: row for row in rows}


def test_local_cluster_sweep_skip_and_rerun(tmp_path):
    pytest.importorskip("distributed")
    path = write_sweep(tmp_path)
    seen = []
    result = run_sweep(path, on_job=lambda done, total, row: seen.append((done, total, row["status"])))
    assert [s[:2] for s in seen] == [(1, 4), (2, 4), (3, 4), (4, 4)] and {s[2] for s in seen} == {"ran"}
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "inputs.0.sd=3__rep=0", "inputs.0.sd=3__rep=1", "inputs.0.sd=8__rep=0", "inputs.0.sd=8__rep=1",
        "mean_rate_hz.exc.png", "summary.csv",
    ]  # fmt: skip
    assert result.plot_path.read_bytes()[:4] == b"\x89PNG"

    # each job: its resolved description, a complete spike file of that description, its statistics
    rows = row_by_job(read_table(result.table_path))
    for job in result.sweep.jobs:
        directory = out / job.name
        spec = spikesim.load(directory / "network.yaml")
        assert spec.run.seed == job.seed and spec.inputs[0].sd == job.params["inputs.0.sd"]
        recording = read(directory / "spikes.h5")
        assert recording.status == "complete" and recording.info.seed == job.seed
        row = rows[job.name]
        assert row["status"] == "ran" and int(row["seed"]) == job.seed and float(row["inputs.0.sd"]) == job.params["inputs.0.sd"]
        assert float(row["mean_rate_hz.exc"]) == pytest.approx(recording.mean_rate_hz("exc"))
        assert int(row["spikes"]) == len(recording.spikes["exc"]) + len(recording.spikes["inh"])
        assert float(row["wall_s"]) > 0
        assert json.loads((directory / "stats.json").read_text())["spikes.inh"] == len(recording.spikes["inh"])
    # a job is the run of its description: the same spikes here
    job = result.sweep.jobs[3]
    again = spikesim.run(spikesim.load(out / job.name / "network.yaml"))
    np.testing.assert_array_equal(again.spikes["exc"].times_ms, read(out / job.name / "spikes.h5").spikes["exc"].times_ms)
    # stronger noise, more spikes: the statistic follows the grid
    rate = {sd: np.mean([float(r["mean_rate_hz.exc"]) for r in rows.values() if float(r["inputs.0.sd"]) == sd])
            for sd in (3, 8)}
    assert rate[8] > rate[3] + 1

    # rerun: every job is complete and skipped, nothing is simulated again
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("*/spikes.h5")}
    again = run_sweep(path)
    assert again.count("skipped") == 4 and {p: p.stat().st_mtime_ns for p in out.glob("*/spikes.h5")} == stamps
    assert row_by_job(read_table(again.table_path))[job.name]["mean_rate_hz.exc"] == rows[job.name]["mean_rate_hz.exc"]
    # a job without its final file (a crash leaves spikes.h5.partial) runs again, alone
    lost = out / result.sweep.jobs[1].name / "spikes.h5"
    lost.rename(lost.with_name("spikes.h5.partial"))
    third = run_sweep(path)
    assert [r["status"] for r in third.rows] == ["skipped", "ran", "skipped", "skipped"]
    assert lost.exists() and not lost.with_name("spikes.h5.partial").exists()
    # a new root seed would mix two sweeps in one directory: refused
    with pytest.raises(OutputError, match=r"another description \(run.seed: "):
        run_sweep(write_sweep(tmp_path, root_seed=2))


def test_sweep_command(tmp_path):
    pytest.importorskip("distributed")
    path = write_sweep(tmp_path, grid={"inputs.0.sd": [6]}, seeds=[4, 5], n_workers=1)
    runner = CliRunner()
    dry = runner.invoke(sweep_command, [str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "to run" in dry.output and "seed 4" in dry.output and "2 jobs" in dry.output
    assert not (tmp_path / "out").exists()
    done = runner.invoke(sweep_command, [str(path), "-o", str(tmp_path / "elsewhere")])
    assert done.exit_code == 0, done.output
    assert "ran" in done.output and f"table: {tmp_path / 'elsewhere' / 'summary.csv'}" in done.output
    assert "2 jobs: 2 ran" in done.output
    bad = runner.invoke(sweep_command, [str(write_sweep(tmp_path, grid={"inputs.9.sd": [1]}))])
    assert isinstance(bad.exception, SpecError) and "grid.inputs.9.sd" in str(bad.exception)


def _free_scheduler(tmp_path: Path):
    """Start `dask scheduler` and one `dask worker` on 127.0.0.1 (a port the OS picks); return
    the address and the processes."""
    dask = shutil.which("dask", path=os.path.dirname(sys.executable)) or shutil.which("dask")
    if dask is None:
        pytest.skip("no dask command")
    scheduler_file = tmp_path / "scheduler.json"
    log = (tmp_path / "dask.log").open("w")
    scheduler = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                  "--scheduler-file", str(scheduler_file)], stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while not scheduler_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    if not scheduler_file.exists():
        scheduler.kill()
        pytest.fail("the dask scheduler did not start in 30 s")
    address = json.loads(scheduler_file.read_text())["address"]
    worker = subprocess.Popen([dask, "worker", address, "--host", "127.0.0.1", "--nworkers", "1", "--nthreads", "1",
                               "--no-dashboard"], stdout=log, stderr=log)
    return address, [scheduler, worker]


def test_sweep_on_a_separately_started_scheduler(tmp_path):
    distributed = pytest.importorskip("distributed")
    address, processes = _free_scheduler(tmp_path)
    try:
        assert address.startswith("tcp://127.0.0.1:")
        with distributed.Client(address, timeout="30s") as client:
            client.wait_for_workers(1, timeout=30)
        path = write_sweep(tmp_path, grid={"inputs.0.sd": [4, 7]}, seeds=1, n_workers=None)
        result = run_sweep(path, scheduler=address)
        assert [r["status"] for r in result.rows] == ["ran", "ran"]
        for job in result.sweep.jobs:
            assert read(tmp_path / "out" / job.name / "spikes.h5").info.seed == job.seed
        with distributed.Client(address, timeout="30s") as client:
            # the work ran on the worker we started, not in this process
            assert len(client.scheduler_info()["workers"]) == 1
            client.shutdown()
        for process in processes:
            process.wait(timeout=30)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
