"""Reliability: interruptions lose nothing, checkpoints resume bit for bit, runs reproduce, and
networks that cannot fit are refused before anything is allocated."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import spikesim
from spikesim import api
from spikesim.errors import BuildError, Interrupted
from spikesim.io.hdf5 import read

NET = """
name: reliable
run: {{duration_ms: {T}, dt_ms: 0.5, seed: 11, flush_every_ms: 50}}
populations:
  exc: {{size: 120, params: {{preset: RS, d: {{uniform: {{low: 6, high: 8}}}}}}}}
  inh: {{size: 30, params: {{preset: FS}}}}
connections:
  - {{name: ee, pre: exc, post: [exc, inh], rule: fixed_outdegree, outdegree: 20,
     weight: {{uniform: {{low: 1, high: 5}}}}, delay_ms: {{expr: "0.5*floor(1 + r*16)"}},
     plasticity: {{rule: spnet, update_interval_ms: 100}}}}
  - {{name: ie, pre: inh, post: exc, rule: fixed_probability, p: 0.3, weight: -3, delay_ms: 1,
     synapse: {{type: exp_current, tau_ms: 4}}}}
inputs:
  - {{type: random_pulses, target: [exc, inh], k: 3, amplitude: 40}}
  - {{type: poisson, target: exc, rate_hz: 100, weight: 12}}
  - {{type: noise, target: inh, sd: 2}}
record:
  state: [{{population: exc, variables: [v, u], neurons: [0, 7], interval_ms: 2}}]
  rate_bin_ms: 5
  weights: [{{connection: ee, interval_ms: 100}}]
"""


def spec(T=1000):
    return spikesim.spec_from_yaml(NET.format(T=T))


def same_data(a, b):
    for pop in a.populations:
        np.testing.assert_array_equal(a.spikes[pop].times_ms, b.spikes[pop].times_ms)
        np.testing.assert_array_equal(a.spikes[pop].node_ids, b.spikes[pop].node_ids)
        np.testing.assert_array_equal(a.rates[pop].rate_hz, b.rates[pop].rate_hz)
    for var in ("v", "u"):
        np.testing.assert_array_equal(a.traces["exc"][var].values, b.traces["exc"][var].values)
        np.testing.assert_array_equal(a.traces["exc"][var].times_ms, b.traces["exc"][var].times_ms)
    for name in a.weights:
        np.testing.assert_array_equal(a.weights[name].times_ms, b.weights[name].times_ms)
        np.testing.assert_array_equal(a.weights[name].values, b.weights[name].values)


def test_same_description_and_seed_give_identical_files(tmp_path):
    api.run_to_file(spec(), tmp_path / "a.h5")
    api.run_to_file(spec(), tmp_path / "b.h5")
    a, b = read(tmp_path / "a.h5"), read(tmp_path / "b.h5")
    same_data(a, b)
    assert a.info.seed == 11 and a.info.versions["spikesim"] == spikesim.__version__
    assert {"numpy", "numba"} <= set(a.info.versions)
    assert sum(len(t) for t in a.spikes.values()) > 1000


def test_recording_more_does_not_change_the_spikes():
    base = spikesim.run(spec())
    more = spikesim.run(spikesim.spec_from_yaml(NET.format(T=1000).replace("variables: [v, u]", "variables: [v, u, I]")))
    for pop in base.populations:
        np.testing.assert_array_equal(base.spikes[pop].times_ms, more.spikes[pop].times_ms)


@pytest.mark.parametrize("stop_after_chunks", [1, 3])
def test_interrupted_run_resumes_bit_for_bit(tmp_path, stop_after_chunks):
    api.run_to_file(spec(), tmp_path / "whole.h5")
    calls = []

    def stop():
        calls.append(1)
        return signal.SIGTERM if len(calls) == stop_after_chunks else 0

    out = tmp_path / "cut.h5"
    with pytest.raises(Interrupted) as info:
        api.run_to_file(spec(), out, should_stop=stop, checkpoint_every_ms=50)
    assert info.value.exit_status == 143
    partial = read(str(out) + ".partial")
    assert partial.status == "interrupted" and not out.exists()
    assert (tmp_path / "cut.h5.ckpt").exists()
    events = []
    summary = api.resume(tmp_path / "cut.h5.ckpt", on_built=lambda: events.append("built"),
                         on_chunk=lambda done, total: events.append("chunk"))
    assert events[0] == "built" and events.count("built") == 1 and "chunk" in events
    assert summary.status == "complete" and out.exists() and not (tmp_path / "cut.h5.ckpt").exists()
    same_data(read(tmp_path / "whole.h5"), read(out))


def test_resume_with_other_threads_gives_the_same_data(tmp_path):
    """`spikesim resume --threads N` overrides run.threads: threads never change the data."""
    import numba
    from click.testing import CliRunner

    from spikesim.cli import main

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs a machine that runs 2 threads")
    api.run_to_file(spec(), tmp_path / "whole.h5")
    calls = []
    out = tmp_path / "cut.h5"
    with pytest.raises(Interrupted):
        api.run_to_file(spec(), out, should_stop=lambda: calls.append(1) or (signal.SIGTERM if len(calls) == 2 else 0),
                        checkpoint_every_ms=50)  # fmt: skip
    ckpt = str(tmp_path / "cut.h5.ckpt")
    bad = CliRunner().invoke(main, ["resume", ckpt, "--threads", "0", "--no-plot", "-q"])
    assert bad.exit_code == 1 and "run.threads" in bad.output and bad.output.strip().count("\n") == 0
    done = CliRunner().invoke(main, ["resume", ckpt, "--threads", "2", "--no-plot", "-q"])
    assert done.exit_code == 0, done.output
    resumed = read(out)
    assert "threads: 2" in resumed.info.network_yaml
    same_data(read(tmp_path / "whole.h5"), resumed)


def last_step(path):
    """The last complete step of a file being written (-1 while it cannot be read)."""
    try:
        return read(path).last_complete_step
    except spikesim.OutputError:
        return -1


def test_sigterm_and_sigint_flush_mark_and_exit(tmp_path, models_dir):
    for sig, status in ((signal.SIGTERM, 143), (signal.SIGINT, 130)):
        out = tmp_path / f"run{sig}.h5"
        proc = subprocess.Popen(
            [sys.executable, "-m", "spikesim.cli", "run", str(models_dir / "polychronization.yaml"),
             "--duration-ms", "3600000", "-o", str(out), "--no-plot", "-q"],
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        partial = tmp_path / f"run{sig}.h5.partial"
        deadline = time.time() + 60
        while time.time() < deadline and last_step(partial) < 5000:
            time.sleep(0.5)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == status, err
        assert err.count("\n") == 1 and f"signal {int(sig)}" in err
        rec = read(partial)
        assert rec.status == "interrupted" and not out.exists()
        last_ms = rec.simulated_ms
        assert last_ms > 5000
        times, _ = rec.all_spikes()
        assert times.max() <= last_ms and times.max() > last_ms - 50  # nothing lost at the end


def test_sigkill_leaves_the_data_up_to_the_last_flush(tmp_path):
    (tmp_path / "net.yaml").write_text(NET.format(T=600_000))
    out = tmp_path / "k.h5"
    proc = subprocess.Popen(
        [sys.executable, "-m", "spikesim.cli", "run", "net.yaml", "-o", str(out), "--no-plot", "-q",
         "--checkpoint-every-ms", "2000"],
        cwd=tmp_path,
    )  # fmt: skip
    ckpt = tmp_path / "k.h5.ckpt"
    deadline = time.time() + 60
    while time.time() < deadline and not ckpt.exists():
        time.sleep(0.2)
    time.sleep(1.0)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    rec = read(tmp_path / "k.h5.partial")
    assert rec.status == "running" and rec.last_complete_step > 0
    times, _ = rec.all_spikes()
    assert times.max() <= rec.simulated_ms and times.max() > rec.simulated_ms - 50
    from spikesim.engine.checkpoint import load_checkpoint

    # the checkpoint was written after a flush: the file holds everything up to it
    assert (load_checkpoint(ckpt).step - 1) <= rec.last_complete_step


def test_resume_cut_short_equals_uninterrupted(tmp_path):
    """A real process killed after a checkpoint, resumed in another process, to the end."""
    (tmp_path / "net.yaml").write_text(NET.format(T=8000))
    subprocess.run([sys.executable, "-m", "spikesim.cli", "run", "net.yaml", "-o", "whole.h5", "--no-plot", "-q"],
                   cwd=tmp_path, check=True)  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-c",
         "import os, signal, spikesim; from spikesim import api\n"
         "calls = []\n"
         "def stop():\n"
         "    calls.append(1)\n"
         "    if len(calls) == 40: os.kill(os.getpid(), signal.SIGKILL)\n"
         "    return 0\n"
         "api.run_to_file(spikesim.load('net.yaml'), 'cut.h5', should_stop=stop, checkpoint_every_ms=1000)\n"],
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.wait(timeout=120) == -signal.SIGKILL
    assert not (tmp_path / "cut.h5").exists()
    done = subprocess.run([sys.executable, "-m", "spikesim.cli", "resume", "cut.h5.ckpt", "--no-plot"],
                          cwd=tmp_path, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    same_data(read(tmp_path / "whole.h5"), read(tmp_path / "cut.h5"))
    # the summary says where the run went on from, and counts the rebuild as the build
    found = re.search(r"reliable: ([0-9.]+) to 8000 ms simulated in [0-9.]+ s \(build ([0-9.]+) s", done.stdout)
    assert found, done.stdout
    checkpoint_ms, build_s = float(found.group(1)), float(found.group(2))
    assert checkpoint_ms > 0 and checkpoint_ms % 1000 == 0 and build_s > 0


def test_memory_guard_refuses_before_building(tmp_path):
    huge = NET.format(T=10).replace("size: 120,", "size: 3000000,").replace(
        "rule: fixed_outdegree, outdegree: 20", "rule: fixed_outdegree, outdegree: 5000"
    )
    with pytest.raises(BuildError, match=r"needs about [0-9.]+ GiB .* available"):
        spikesim.build(spikesim.spec_from_yaml(huge))
    (tmp_path / "huge.yaml").write_text(huge)
    done = subprocess.run([sys.executable, "-m", "spikesim.cli", "run", "huge.yaml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "--ignore-memory-check" in done.stderr
    assert not list(tmp_path.glob("*.h5*"))


def test_memory_estimate_is_close_for_a_real_network():
    from spikesim.build.memory import estimate_bytes

    s = spec()
    net = spikesim.build(s)
    est = estimate_bytes(s)
    assert est["synapse_count"] == pytest.approx(net.synapses.n_synapses, rel=0.1)
    kept = net.synapses.post.nbytes + net.synapses.weight_store.nbytes + net.synapses.row_ptr.nbytes
    assert kept <= est["peak"]


def test_run_time_counts_compilation_apart():
    """A kernel compiled during a run (the first run of an installation) is reported as
    compile_s, part of wall_s but not of loop_s; a kernel loaded or already compiled is not,
    and a failed run still has its times."""
    from numba import njit

    summary = api.RunSummary(Path("x.h5"), {})
    with api._timed(summary):
        assert njit(lambda x: x + 1)(1) == 2  # a kernel never seen before: compiled here
        time.sleep(0.05)
    assert 0 < summary.compile_s < summary.wall_s and summary.loop_s >= 0.05
    with api._timed(summary):
        time.sleep(0.02)
    assert summary.compile_s == 0 and summary.loop_s == summary.wall_s >= 0.02
    with pytest.raises(ZeroDivisionError), api._timed(summary):
        njit(lambda x: x * 2)(1)
        1 / 0
    assert 0 < summary.compile_s <= summary.wall_s
