"""Soak: the polychronization network for one simulated hour keeps constant memory and leaves a
valid file (slow: about two minutes; run with `python -m pytest -m slow tests/test_soak.py`)."""

import subprocess
import sys
import time

import numpy as np
import psutil
import pytest

from spikesim.io.hdf5 import read

HOUR_MS = 3_600_000


@pytest.mark.slow
def test_one_simulated_hour_in_constant_memory(tmp_path, models_dir):
    out = tmp_path / "hour.h5"
    code = (
        "import spikesim; from spikesim import api\n"
        f"spec = spikesim.load({str(models_dir / 'polychronization.yaml')!r})\n"
        f"spec = spec.model_copy(update={{'run': spec.run.model_copy(update={{'duration_ms': {HOUR_MS}}})}})\n"
        f"s = api.run_to_file(spec, {str(out)!r})\n"
        "print(s.spike_counts['exc'], s.spike_counts['inh'])\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    child = psutil.Process(proc.pid)
    samples = []  # (seconds since start, RSS in MB)
    started = time.time()
    while proc.poll() is None:
        try:
            samples.append((time.time() - started, child.memory_info().rss / 2**20))
        except psutil.NoSuchProcess:
            break
        time.sleep(1.0)
    stdout, _ = proc.communicate()
    assert proc.returncode == 0
    wall = samples[-1][0]
    # after the first fifth (imports, build, compiled kernels loaded) memory stays flat
    steady = [mb for t, mb in samples if t > 0.2 * wall]
    assert len(steady) > 10
    assert max(steady) - min(steady) < 64, f"RSS from {min(steady):.0f} to {max(steady):.0f} MB"
    rec = read(out)
    assert rec.status == "complete" and rec.simulated_ms == HOUR_MS
    counts = [int(x) for x in stdout.split()]
    assert [len(rec.spikes["exc"]), len(rec.spikes["inh"])] == counts
    times, _ = rec.all_spikes()
    assert times.max() <= HOUR_MS and np.all(np.diff(rec.spikes["exc"].times_ms) >= 0)
    assert rec.weights["exc"].times_ms[-1] == HOUR_MS
