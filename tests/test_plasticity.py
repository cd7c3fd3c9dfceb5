"""Plasticity: kernels pinned to the plain twin, and each rule against hand-computed pair sums."""

import numpy as np
import pytest

from spikesim import build, run, spec_from_yaml
from spikesim.engine.reference import simulate_reference

PLASTIC = """
run: {{duration_ms: 600, dt_ms: {dt}, seed: {seed}}}
populations:
  exc: {{size: 80, params: {{preset: RS}}}}
  inh: {{size: 20, params: {{preset: FS}}}}
connections:
  - {{name: ee, pre: exc, post: [exc, inh], rule: fixed_outdegree, outdegree: 15, allow_self: false,
     weight: {{uniform: {{low: 2, high: 6}}}}, delay_ms: {{expr: "{dt}*floor(1 + r*10)"}},
     plasticity: {rule}}}
  - {{name: ie, pre: inh, post: exc, rule: fixed_outdegree, outdegree: 15, weight: -4, delay_ms: {dt}}}
  - {{name: ee2, pre: exc, post: exc, rule: fixed_probability, p: 0.05, weight: 1.5, delay_ms: 2,
     synapse: {{type: exp_current, tau_ms: 3}},
     plasticity: {{rule: stdp_nearest, A_plus: 0.3, A_minus: 0.35, w_max: 3}}}}
inputs:
  - {{type: random_pulses, target: [exc, inh], k: 3, amplitude: 40}}
  - {{type: poisson, target: exc, rate_hz: 100, weight: 12}}
"""

RULES = {
    "additive": "{rule: stdp_additive, A_plus: 0.05, A_minus: 0.06, tau_plus_ms: 15, tau_minus_ms: 25, w_max: 8}",
    "multiplicative": "{rule: stdp_multiplicative, A_plus: 0.02, A_minus: 0.03, w_min: 0.5, w_max: 8}",
    "nearest": "{rule: stdp_nearest, A_plus: 0.1, A_minus: 0.12, w_max: 7}",
    "spnet": "{rule: spnet, update_interval_ms: 100, w_max: 8}",
}


@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize("dt", [1.0, 0.5])
@pytest.mark.parametrize("prefetch", [False, True])
def test_plastic_kernels_match_twin_spike_and_weight(rule, dt, prefetch, monkeypatch):
    """With ``prefetch``, delivery asks for the memory of the spikes 8 and 16 places ahead, as it
    does in networks too large for the caches (forced here, with input that makes steps of more
    than 16 spikes): the same results as the twin."""
    from spikesim.engine import step

    monkeypatch.setattr(step, "PREFETCH_ABOVE_BYTES", -1 if prefetch else 2 << 20)
    text = PLASTIC.format(rule=RULES[rule], dt=dt, seed=3)
    if prefetch:
        text = text.replace("k: 3, amplitude: 40", "k: 40, amplitude: 40")
    network = build(spec_from_yaml(text))
    assert network.synapses.plastic
    rec = run(network)
    ref = simulate_reference(network)
    t, i = rec.all_spikes()
    rt = (ref.spike_steps + 1) * dt
    order = np.lexsort((ref.spike_ids, rt))
    assert len(t) > 300
    if prefetch:
        assert np.unique(t, return_counts=True)[1].max() > 16
    np.testing.assert_array_equal(t, rt[order])
    np.testing.assert_array_equal(i, ref.spike_ids[order])
    for plan in network.weight_plans:
        final = rec.weights[plan.connection].values[-1]
        np.testing.assert_array_equal(final, ref.weight[plan.positions])
    # the rule did something, and kept the bounds
    ee = rec.weights["ee"].values[-1]
    initial = network.synapses.weight[network.weight_plans[0].positions]
    assert np.mean(np.abs(ee - initial)) > 1e-3
    lo = {"multiplicative": 0.5}.get(rule, 0.0)
    assert ee.min() >= lo and ee.max() <= 8


# ----------------------------------------------------------------- hand-placed spikes
PAIRS = """
run: {{duration_ms: {T}, dt_ms: {dt}}}
populations:
  pre: {{size: {n_pre}, params: {{preset: RS}}}}
  post: {{size: 1, params: {{preset: RS}}}}
connections:
  - name: syn
    pre: pre
    post: post
    rule: all_to_all
    weight: {w0}
    delay_ms: {{values: {delays}}}
    plasticity: {rule}
inputs:
  # 100 mV jumps: a neuron fires in the very step its kick arrives (stamped kick time + dt)
  - {{type: spike_times, target: pre, neurons: {pre_ids}, times_ms: {pre_kicks}, weight: 100, synapse: voltage_jump}}
  - {{type: spike_times, target: post, neurons: {post_ids}, times_ms: {post_kicks}, weight: 100, synapse: voltage_jump}}
"""


def run_pairs(rule, delays, pre_spikes, post_spikes, dt=1.0, w0=1.0, T=200):
    """pre_spikes: list of (pre neuron, spike time in ms); post_spikes: spike times in ms.
    Spike times are stamps: the kick is one step earlier. Returns (final weights, recording)."""
    y = PAIRS.format(
        T=T, dt=dt, n_pre=len(delays), w0=w0, delays=list(delays), rule=rule,
        pre_ids=[p for p, _ in pre_spikes], pre_kicks=[t - dt for _, t in pre_spikes],
        post_ids=[0] * len(post_spikes), post_kicks=[t - dt for t in post_spikes],
    )  # fmt: skip
    rec = run(spec_from_yaml(y))
    # the placed spikes happened exactly where placed (and no others)
    got = sorted(zip(rec.spikes["pre"].node_ids.tolist(), rec.spikes["pre"].times_ms.tolist()))
    assert got == sorted(pre_spikes)
    assert rec.spikes["post"].times_ms.tolist() == sorted(post_spikes)
    return rec.weights["syn"].values[-1], rec


def pair_sum(pre_times, post_times, delay, dt, A_plus, A_minus, tau_plus, tau_minus):
    """All-to-all pair rule at the synapse, written as pair sums: an arrival (pre spike stamp +
    delay) no later than a post spike potentiates by A+ exp(-(t_post - t_arr)/tau+); a post spike
    before an arrival depresses by A- exp(-(t_arr - dt - t_post)/tau-) (the trace as it stands
    at the start of the arrival step)."""
    dw = 0.0
    for tp in pre_times:
        arrival = tp + delay
        for tq in post_times:
            if tq >= arrival:
                dw += A_plus * np.exp(-(tq - arrival) / tau_plus)
            else:
                dw -= A_minus * np.exp(-(arrival - dt - tq) / tau_minus)
    return dw


ADD = "{rule: stdp_additive, A_plus: 0.1, A_minus: 0.12, tau_plus_ms: 20, tau_minus_ms: 10, w_min: -10, w_max: 10}"


@pytest.mark.parametrize("lag", [-30, -7, -1, 0, 1, 4, 25])
@pytest.mark.parametrize("delay", [1.0, 5.0])
def test_additive_single_pair_at_lags(lag, delay):
    """lag = t_post - t_arrival; negative: post before the presynaptic spike arrives."""
    t_pre = 50.0
    t_post = t_pre + delay + lag
    w, _ = run_pairs(ADD, [delay], [(0, t_pre)], [t_post])
    expected = pair_sum([t_pre], [t_post], delay, 1.0, 0.1, 0.12, 20, 10)
    if lag >= 0:
        assert expected > 0
    else:
        assert expected < 0
    assert w[0] == pytest.approx(1.0 + expected, abs=1e-12)


def test_simultaneous_arrival_and_post_spike_potentiates_fully():
    w, _ = run_pairs(ADD, [3.0], [(0, 40.0)], [43.0])
    assert w[0] == pytest.approx(1.1, abs=1e-12)


def test_additive_many_spikes_on_different_delays_sum_all_pairs():
    delays = [1.0, 4.0, 9.0]
    pre = [(0, 20.0), (0, 35.0), (1, 22.0), (1, 30.0), (2, 15.0), (2, 41.0), (0, 60.0), (1, 60.0), (2, 60.0)]
    post = [27.0, 40.0, 61.0, 75.0]
    w, _ = run_pairs(ADD, delays, pre, post)
    for j, d in enumerate(delays):
        times = [t for p, t in pre if p == j]
        assert w[j] == pytest.approx(1.0 + pair_sum(times, post, d, 1.0, 0.1, 0.12, 20, 10), abs=1e-12)


def test_several_arrivals_in_one_step_at_one_post_neuron():
    # three presynaptic neurons whose spikes arrive in the same step, just before a post spike
    delays = [5.0, 3.0, 1.0]
    pre = [(0, 20.0), (1, 22.0), (2, 24.0)]  # all arrive at 25 ms
    w, _ = run_pairs(ADD, delays, pre, [25.0, 31.0], dt=1.0)
    for j, d in enumerate(delays):
        times = [t for p, t in pre if p == j]
        assert w[j] == pytest.approx(1.0 + pair_sum(times, [25.0, 31.0], d, 1.0, 0.1, 0.12, 20, 10), abs=1e-12)
    assert w[0] == w[1] == w[2]


def test_small_dt_pairs():
    w, _ = run_pairs(ADD, [2.5], [(0, 10.25)], [12.75, 14.0], dt=0.25, T=40)
    assert w[0] == pytest.approx(1.0 + pair_sum([10.25], [12.75, 14.0], 2.5, 0.25, 0.1, 0.12, 20, 10), abs=1e-12)


def test_nearest_uses_only_the_latest_spike():
    rule = "{rule: stdp_nearest, A_plus: 0.1, A_minus: 0.12, tau_plus_ms: 20, tau_minus_ms: 10, w_min: -10, w_max: 10}"
    # two arrivals (11 and 16 ms) before one post spike at 30: only the latest counts
    w, _ = run_pairs(rule, [1.0], [(0, 10.0), (0, 15.0)], [30.0])
    assert w[0] == pytest.approx(1.0 + 0.1 * np.exp(-(30 - 16) / 20), abs=1e-12)
    # two post spikes (20, 24 ms) before an arrival at 31 ms: only the latest depresses
    w, _ = run_pairs(rule, [1.0], [(0, 30.0)], [20.0, 24.0])
    assert w[0] == pytest.approx(1.0 - 0.12 * np.exp(-(31 - 1 - 24) / 10), abs=1e-12)


def test_multiplicative_scales_with_distance_to_bounds():
    rule = "{rule: stdp_multiplicative, A_plus: 0.1, A_minus: 0.12, tau_plus_ms: 20, tau_minus_ms: 10, w_min: 0, w_max: 5}"
    w, _ = run_pairs(rule, [2.0], [(0, 10.0)], [15.0], w0=4.0)
    assert w[0] == pytest.approx(4.0 + 0.1 * np.exp(-3 / 20) * (5 - 4.0), abs=1e-12)
    w, _ = run_pairs(rule, [2.0], [(0, 20.0)], [15.0], w0=4.0)
    assert w[0] == pytest.approx(4.0 - 0.12 * np.exp(-(22 - 1 - 15) / 10) * (4.0 - 0), abs=1e-12)


def test_weights_clip_at_bounds():
    rule = "{rule: stdp_additive, A_plus: 1.0, A_minus: 1.0, w_min: 0, w_max: 1.5}"
    many_pre = [(0, float(t)) for t in range(10, 100, 10)]
    w, rec = run_pairs(rule, [1.0], many_pre, [t + 1 for _, t in many_pre])
    assert w[0] == 1.5
    w, _ = run_pairs(rule, [1.0], [(0, float(t)) for t in range(12, 100, 10)], [float(t) for t in range(10, 100, 10)])
    assert w[0] == 0.0


def test_spnet_rule_accumulates_into_derivative_and_applies_each_interval():
    rule = "{rule: spnet, update_interval_ms: 50, w_max: 10}"
    # one pairing, pre arrival (21 ms) one step before the post spike (22 ms)
    w, rec = run_pairs(rule, [1.0], [(0, 20.0)], [22.0], w0=6.0, T=150)
    snaps = rec.weights["syn"]
    assert snaps.times_ms.tolist() == [0.0, 150.0]  # before the first step, and at the end
    assert snaps.values[0, 0] == 6.0
    sd = 0.1 * 0.95  # P set to 0.1 at 20 ms, one step of decay by the 22 ms post spike
    w1 = 6.0 + (0.01 + sd)
    sd *= 0.9
    w2 = w1 + (0.01 + sd)
    sd *= 0.9
    w3 = w2 + (0.01 + sd)
    assert w[0] == pytest.approx(w3, abs=1e-12)


def test_spnet_group_after_a_static_group_keeps_its_derivative_at_an_offset():
    """spnet's derivative covers only the spnet groups' synapses: with a static group laid out
    first, the kernels index it at an offset; spikes and weights still match the twin (which
    keeps a derivative for every synapse)."""
    from spikesim.build.plasticity import STATIC
    from spikesim.engine.step import State

    lines = PLASTIC.format(rule=RULES["spnet"], dt=1.0, seed=5).splitlines(keepends=True)
    ie = next(k for k, line in enumerate(lines) if "name: ie" in line)
    first = next(k for k, line in enumerate(lines) if "name: ee," in line)
    lines.insert(first, lines.pop(ie))  # ie (static, current) first: its group comes first
    network = build(spec_from_yaml("".join(lines)))
    start, stop = network.synapses.derivative_range
    syn = network.synapses
    assert syn.group_rule[0] == STATIC and start == syn.row_ptr[0, -1] > 0
    assert len(State.initial(network).deriv) == stop - start < syn.n_synapses
    rec, ref = run(network), simulate_reference(network)
    t, i = rec.all_spikes()
    rt = (ref.spike_steps + 1) * 1.0
    order = np.lexsort((ref.spike_ids, rt))
    assert len(t) > 300
    np.testing.assert_array_equal(t, rt[order])
    np.testing.assert_array_equal(i, ref.spike_ids[order])
    for plan in network.weight_plans:
        np.testing.assert_array_equal(rec.weights[plan.connection].values[-1], ref.weight[plan.positions])
    ee = network.weight_plans[0]
    assert not np.array_equal(rec.weights[ee.connection].values[-1], network.synapses.weight[ee.positions])


def test_weight_layout_blocks_make_the_layout():
    network = build(spec_from_yaml(PLASTIC.format(rule=RULES["spnet"], dt=1.0, seed=2)))
    for plan in network.weight_plans:
        whole = plan.layout(network)
        blocks = list(plan.layout_blocks(network, block=7))
        assert len(blocks) == -(-plan.n_synapses // 7)
        for k, key in enumerate(("pre", "post", "delay_ms")):
            np.testing.assert_array_equal(np.concatenate([b[k] for b in blocks]), getattr(whole, key))
        assert plan.n_synapses == len(plan.positions) == len(whole.pre)


def test_weight_snapshots_reach_the_file(tmp_path):
    from spikesim.io.hdf5 import read

    y = PLASTIC.format(rule=RULES["spnet"], dt=1.0, seed=2).replace(
        "inputs:", "record:\n  weights: [{connection: ee, interval_ms: 200}, {connection: ie}]\ninputs:"
    )
    network = build(spec_from_yaml(y))
    rec = run(network, tmp_path / "w.h5")
    back = read(tmp_path / "w.h5")
    assert set(back.weights) == {"ee", "ee2", "ie"}
    ee = back.weights["ee"]
    assert ee.times_ms.tolist() == [0.0, 200.0, 400.0, 600.0]
    np.testing.assert_array_equal(ee.values, rec.weights["ee"].values)
    # pre/post index the connection's populations as a from_file connection would read them
    plan = network.weight_plans[0]
    np.testing.assert_array_equal(ee.pre, plan.layout(network).pre)
    assert ee.pre.max() < 80 and ee.post.max() < 100
    np.testing.assert_array_equal(ee.values[0], network.synapses.weight[plan.positions])
    # ee2 (one delay, its own group) is one run of the table: its snapshots are views of the
    # live weights, which the file must take as they are at the time of the snapshot
    ee2_plan = next(p for p in network.weight_plans if p.connection == "ee2")
    assert isinstance(ee2_plan.selection, slice)
    ee2 = back.weights["ee2"]
    np.testing.assert_array_equal(ee2.values, rec.weights["ee2"].values)
    np.testing.assert_array_equal(ee2.values[0], network.synapses.weight[ee2_plan.selection])
    assert not np.array_equal(ee2.values[0], ee2.values[-1])
    # the static connection is recorded at the start and end only, unchanged
    ie = back.weights["ie"]
    assert ie.times_ms.tolist() == [0.0, 600.0]
    np.testing.assert_array_equal(ie.values[0], ie.values[1])


def test_initial_weights_outside_the_rule_bounds_are_refused():
    from spikesim import SpecError

    rule = "{rule: stdp_additive, A_plus: 0.1, A_minus: 0.1, w_min: 0, w_max: 5}"
    with pytest.raises(SpecError, match=r"connections\.0\.weight: initial weights from 8 to 8 lie outside \[w_min, w_max\] = \[0, 5\]"):
        run_pairs(rule, [1.0], [(0, 20.0)], [40.0], w0=8.0)
