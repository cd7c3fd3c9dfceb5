"""Exactness: given spnet's connectivity, delays and thalamic input as files, spikesim gives the
spikes and weights of an obvious implementation of spnet's loop (tests/spnet.py)."""

import numpy as np
import pytest
from spnet import NE, NI, spnet_connectivity, spnet_loop

import spikesim

YAML = """
name: spnet-replay
run: {{duration_ms: {steps}, dt_ms: 1, seed: 1}}
populations:
  exc: {{size: 800, params: {{preset: RS}}}}   # a=0.02, b=0.2, c=-65, d=8
  inh: {{size: 200, params: {{preset: FS}}}}   # a=0.1,  b=0.2, c=-65, d=2
connections:
  - {{name: exc, pre: exc, post: [exc, inh], rule: from_file, file: exc.npz,
     plasticity: {{rule: spnet}}}}
  - {{name: inh, pre: inh, post: exc, rule: from_file, file: inh.npz}}
inputs:
  - {{name: thalamus, type: spike_times, target: [exc, inh], neurons: {neurons},
     times_ms: {times}, weight: 20}}
"""


def write_network(tmp_path, steps, seed):
    post, delay_ms, s = spnet_connectivity(seed)
    thalamic = np.random.default_rng(seed + 100).integers(0, NE + NI, steps)
    for name, rows in (("exc", np.arange(NE)), ("inh", np.arange(NE, NE + NI))):
        pre = np.repeat(rows - rows[0], post.shape[1])
        np.savez(tmp_path / f"{name}.npz", pre=pre, post=post[rows].reshape(-1),
                 weight=s[rows].reshape(-1), delay_ms=delay_ms[rows].reshape(-1).astype(float))  # fmt: skip
    text = YAML.format(steps=steps, neurons=thalamic.tolist(), times=np.arange(steps).tolist())
    (tmp_path / "net.yaml").write_text(text)
    return post, delay_ms, s, thalamic


@pytest.mark.parametrize("seconds", [10])
def test_spnet_reproduced_spike_for_spike_and_weight_for_weight(tmp_path, seconds):
    steps = 1000 * seconds
    post, delay_ms, s0, thalamic = write_network(tmp_path, steps, seed=5)
    rec = spikesim.run(tmp_path / "net.yaml")
    ref_t, ref_i, ref_s, _ = spnet_loop(post, delay_ms, s0, thalamic, steps)

    # spnet detects in step t the spike spikesim stamps at the end of step t - 1: t ms
    times, ids = rec.all_spikes()
    keep = times < steps
    assert len(ref_t) > 3 * seconds * 1000  # > 3 Hz on average: an active network
    # spnet's order within a step is by id, like spikesim's
    np.testing.assert_array_equal(times[keep], ref_t.astype(float))
    np.testing.assert_array_equal(ids[keep], ref_i)

    w = rec.weights["exc"]
    assert w.times_ms[-1] == steps
    got = np.zeros((NE, post.shape[1]))
    got[w.pre, np.arange(len(w.pre)) % post.shape[1]] = w.values[-1]
    np.testing.assert_array_equal(got, ref_s[:NE])
    # learning happened: weights moved away from 6 in both directions
    assert got.min() < 5 and got.max() > 7
