"""Plasticity: kernels pinned to the plain twin, and each rule against hand-computed pair sums."""

from dataclasses import dataclass

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

    monkeypatch.setattr(step, "prefetch_pays", lambda syn: prefetch)
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
NEAREST = ADD.replace("stdp_additive", "stdp_nearest")
MULTIPLICATIVE = ADD.replace("stdp_additive", "stdp_multiplicative").replace("w_min: -10, w_max: 10", "w_min: 0, w_max: 5")
CLIPPED = "{rule: stdp_additive, A_plus: 1.0, A_minus: 1.0, w_min: 0, w_max: 1.5}"
SPNET_50 = "{rule: spnet, update_interval_ms: 50, w_max: 10}"


@dataclass(frozen=True)
class PairCase:
    """Spikes placed by hand around one postsynaptic neuron, and the final weight of each
    synapse, computed by hand. test_brian2_plasticity runs the cases marked ``brian2`` in both
    simulators."""

    name: str
    rule: str
    delays: list
    pre: list  # (presynaptic neuron, spike time in ms)
    post: list  # postsynaptic spike times in ms
    expected: list  # final weight of each synapse
    dt: float = 1.0
    w0: float = 1.0
    T: int = 200
    brian2: bool = True

    def run(self, simulate):
        """``simulate`` is run_pairs or its Brian2 counterpart; returns the final weights."""
        return simulate(self.rule, self.delays, self.pre, self.post, dt=self.dt, w0=self.w0, T=self.T)


def additive(delays, pre, post, dt=1.0):
    """Each synapse's weight after the all-to-all pair sums of ADD (w0 = 1)."""
    return [1.0 + pair_sum([t for p, t in pre if p == j], post, d, dt, 0.1, 0.12, 20, 10) for j, d in enumerate(delays)]


def _lag_case(lag, delay):
    """lag = t_post - t_arrival; negative: post before the presynaptic spike arrives."""
    pre, post = [(0, 50.0)], [50.0 + delay + lag]
    return PairCase(f"additive lag {lag} delay {delay}", ADD, [delay], pre, post, additive([delay], pre, post),
                    brian2=delay == 5.0 and lag in (-7, -1, 0, 4))  # fmt: skip


def _spnet_by_hand():
    # one pairing, pre arrival (21 ms) one step before the post spike (22 ms); the derivative is
    # applied at 50, 100 and 150 ms and decays by 0.9 after each
    sd = 0.1 * 0.95  # P set to 0.1 at 20 ms, one step of decay by the 22 ms post spike
    w = 6.0
    for _ in range(3):
        w += 0.01 + sd
        sd *= 0.9
    return w


MANY_PRE = [(0, 20.0), (0, 35.0), (1, 22.0), (1, 30.0), (2, 15.0), (2, 41.0), (0, 60.0), (1, 60.0), (2, 60.0)]
SAME_STEP_PRE = [(0, 20.0), (1, 22.0), (2, 24.0)]  # delays 5, 3, 1: all arrive at 25 ms
EVERY_10 = [(0, float(t)) for t in range(10, 100, 10)]
PAIR_CASES = [_lag_case(lag, delay) for delay in (1.0, 5.0) for lag in (-30, -7, -1, 0, 1, 4, 25)] + [
    PairCase("simultaneous arrival and post spike potentiate fully", ADD, [3.0], [(0, 40.0)], [43.0], [1.1]),
    PairCase("many spikes on different delays sum all pairs", ADD, [1.0, 4.0, 9.0], MANY_PRE, [27.0, 40.0, 61.0, 75.0],
             additive([1.0, 4.0, 9.0], MANY_PRE, [27.0, 40.0, 61.0, 75.0])),
    PairCase("several arrivals in one step at one neuron", ADD, [5.0, 3.0, 1.0], SAME_STEP_PRE, [25.0, 31.0],
             additive([5.0, 3.0, 1.0], SAME_STEP_PRE, [25.0, 31.0])),
    PairCase("dt 0.25", ADD, [2.5], [(0, 10.25)], [12.75, 14.0], additive([2.5], [(0, 10.25)], [12.75, 14.0], dt=0.25),
             dt=0.25, T=40),
    # nearest: two arrivals (11, 16 ms) before one post spike at 30, two post spikes (20, 24 ms)
    # before an arrival at 31 ms: only the latest counts
    PairCase("nearest potentiates from the latest arrival", NEAREST, [1.0], [(0, 10.0), (0, 15.0)], [30.0],
             [1.0 + 0.1 * np.exp(-(30 - 16) / 20)]),
    PairCase("nearest depresses from the latest post spike", NEAREST, [1.0], [(0, 30.0)], [20.0, 24.0],
             [1.0 - 0.12 * np.exp(-(31 - 1 - 24) / 10)]),
    PairCase("multiplicative potentiation scales with w_max - w", MULTIPLICATIVE, [2.0], [(0, 10.0)], [15.0],
             [4.0 + 0.1 * np.exp(-3 / 20) * (5 - 4.0)], w0=4.0),
    PairCase("multiplicative depression scales with w - w_min", MULTIPLICATIVE, [2.0], [(0, 20.0)], [15.0],
             [4.0 - 0.12 * np.exp(-(22 - 1 - 15) / 10) * (4.0 - 0)], w0=4.0),
    PairCase("weights clip at w_max", CLIPPED, [1.0], EVERY_10, [t + 1 for _, t in EVERY_10], [1.5]),
    PairCase("weights clip at w_min", CLIPPED, [1.0], [(0, t + 2) for _, t in EVERY_10], [t for _, t in EVERY_10], [0.0]),
    PairCase("spnet accumulates a derivative and applies it each interval", SPNET_50, [1.0], [(0, 20.0)], [22.0],
             [_spnet_by_hand()], w0=6.0, T=150),
]  # fmt: skip


def test_the_hand_computed_lags_potentiate_after_the_arrival_and_depress_before():
    lags = [case for case in PAIR_CASES if case.name.startswith("additive lag")]
    assert len(lags) == 14
    for case in lags:
        lag = case.post[0] - case.pre[0][1] - case.delays[0]
        assert (case.expected[0] > 1.0) == (lag >= 0), case.name


@pytest.mark.parametrize("case", PAIR_CASES, ids=lambda case: case.name)
def test_hand_placed_spikes_give_the_hand_computed_weights(case):
    w, _ = case.run(run_pairs)
    np.testing.assert_allclose(w, case.expected, rtol=0, atol=1e-12)


def test_arrivals_in_one_step_change_their_weights_alike():
    case = next(c for c in PAIR_CASES if c.name.startswith("several arrivals"))
    w, _ = case.run(run_pairs)
    assert w[0] == w[1] == w[2] != 1.0


def test_spnet_snapshots_the_weights_before_the_first_step_and_at_the_end():
    case = next(c for c in PAIR_CASES if c.rule == SPNET_50)
    _, rec = case.run(run_pairs)
    snaps = rec.weights["syn"]
    assert snaps.times_ms.tolist() == [0.0, 150.0]
    assert snaps.values[0, 0] == 6.0


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
    assert syn.group_rule[0] == STATIC and start == syn.span(0)[1] > 0
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
