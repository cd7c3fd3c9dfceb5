"""Exactness: given net.m's parameters, weights and thalamic currents as files, spikesim gives
the spikes of an obvious implementation of net.m's loop (tests/netm.py), spike for spike."""

import numpy as np
import pytest
from netm import netm_inputs, netm_loop

import spikesim

STEPS = 1000

YAML = """
name: netm-replay
run: {{duration_ms: {steps}, dt_ms: 1}}
populations:
  exc:
    size: 800
    params: {{a: {{file: params.npz, key: a_exc}}, b: {{file: params.npz, key: b_exc}},
              c: {{file: params.npz, key: c_exc}}, d: {{file: params.npz, key: d_exc}}}}
    initial: {{v: -65}}
  inh:
    size: 200
    params: {{a: {{file: params.npz, key: a_inh}}, b: {{file: params.npz, key: b_inh}},
              c: {{file: params.npz, key: c_inh}}, d: {{file: params.npz, key: d_inh}}}}
    initial: {{v: -65}}
connections:
  - {{pre: [exc, inh], post: [exc, inh], rule: from_file, file: weights.npz}}
inputs:
  - {{type: current_file, target: [exc, inh], file: thalamus.npy}}
"""


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("sequential_sum", [True, False])
def test_2003_network_reproduces_netm_loop(tmp_path, seed, sequential_sum):
    a, b, c, d, S, noise = netm_inputs(seed, STEPS)
    ne = 800
    np.savez(
        tmp_path / "params.npz",
        a_exc=a[:ne], b_exc=b[:ne], c_exc=c[:ne], d_exc=d[:ne],
        a_inh=a[ne:], b_inh=b[ne:], c_inh=c[ne:], d_inh=d[ne:],
    )  # fmt: skip
    post, pre = np.nonzero(np.ones_like(S))
    np.savez(tmp_path / "weights.npz", pre=pre, post=post, weight=S[post, pre])
    np.save(tmp_path / "thalamus.npy", noise)
    (tmp_path / "net.yaml").write_text(YAML.format(steps=STEPS))

    recording = spikesim.run(tmp_path / "net.yaml")
    times, ids = recording.all_spikes()
    ref_t, ref_i = netm_loop(a, b, c, d, S, noise, sequential_sum=sequential_sum)
    # net.m detects in step t the spike that spikesim stamps at the end of step t - 1, i.e. at
    # t ms; spikesim's last step has no net.m counterpart within STEPS.
    keep = times < STEPS
    assert len(ref_t) > 5000
    np.testing.assert_array_equal(times[keep], ref_t.astype(float))
    np.testing.assert_array_equal(ids[keep], ref_i)
