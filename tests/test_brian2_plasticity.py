"""Plasticity through the Brian2 bridge (spikesim.bridge.brian2): every rule, spike for spike and
weight for weight, against spikesim and against the hand-computed cases of test_plasticity.

Measured (numpy target, dt = 1 ms): the plastic test network of test_plasticity agrees exactly,
spikes and every weight snapshot, for 5 s with each rule at dt = 1 and 0.5 ms; the
polychronization model (models/polychronization.yaml) for its whole 60 s (395 427 spikes,
the 80 000 plastic weights identical at every 1 s snapshot; Brian2 took 55 s, spikesim 1.3 s).
Nothing but the order of floating-point operations could make them differ, and that order is
the same. Perturbed on purpose (every Brian2 weight times 1 + 1e-7) the polychronization
network diverges at 310 ms; over 20 s the rates then agree within 2 %, the final weight
distributions closely (means within 0.5 %, Kolmogorov-Smirnov distance 0.014) while single
weights differ by up to w_max (1e-9 did not make it diverge within 20 s).
"""

import copy

import numpy as np
import pytest

brian2 = pytest.importorskip("brian2")

from click.testing import CliRunner
from test_brian2_bridge import assert_same_spikes, run_exported_script
from test_plasticity import PAIR_CASES, PAIRS, PLASTIC, RULES

from spikesim import build, load, run, spec_from_dict, spec_from_yaml
from spikesim.bridge.brian2 import run_brian2
from spikesim.bridge.commands import export, validate
from spikesim.compare import compare


def assert_same_weights(ours, theirs):
    assert ours.weights.keys() == theirs.weights.keys()
    for name, w in ours.weights.items():
        other = theirs.weights[name]
        np.testing.assert_array_equal(other.times_ms, w.times_ms)
        np.testing.assert_array_equal(other.pre, w.pre)
        np.testing.assert_array_equal(other.post, w.post)
        np.testing.assert_array_equal(other.values, w.values)  # bit for bit, every snapshot


def plastic_network(rule, dt=1.0, duration_ms=2000, seed=3, interval_ms=500):
    y = PLASTIC.format(rule=RULES[rule], dt=dt, seed=seed).replace("duration_ms: 600", f"duration_ms: {duration_ms}")
    y = y.replace("inputs:", f"record:\n  weights: [{{connection: ee, interval_ms: {interval_ms}}}]\ninputs:")
    return build(spec_from_yaml(y))


# ------------------------------------------------------------------ every rule, 2 s
@pytest.mark.parametrize("rule", list(RULES))
def test_every_rule_agrees_spike_for_spike_and_weight_for_weight(rule):
    """The network of test_plasticity (a plastic and a static group on one channel, a second
    plastic group of stdp_nearest on an exponential channel, random delays of 1-10 steps,
    Poisson and random-pulse input) for 2 s."""
    network = plastic_network(rule)
    ours, theirs = run(network), run_brian2(network)
    assert len(ours.all_spikes()[0]) > 4000
    assert_same_spikes(ours, theirs)
    assert_same_weights(ours, theirs)
    ee = theirs.weights["ee"]
    assert ee.times_ms.tolist() == [0.0, 500.0, 1000.0, 1500.0, 2000.0]
    # real snapshots: the weights moved from one to the next
    for k in range(1, len(ee.times_ms)):
        assert np.mean(np.abs(ee.values[k] - ee.values[k - 1])) > 1e-3
    result = compare(ours, theirs, exact=True)
    assert result.ok, result.summary()
    assert result.weights["ee"].snapshots_identical and result.weights["ee"].fraction_equal == 1.0
    assert result.weights["ee2"].max_abs_difference == 0.0


def test_half_step_and_spnet_intervals_not_a_multiple_of_snapshots():
    network = plastic_network("spnet", dt=0.5, duration_ms=700, interval_ms=150)
    ours, theirs = run(network), run_brian2(network)
    assert_same_spikes(ours, theirs)
    assert_same_weights(ours, theirs)
    assert theirs.weights["ee"].times_ms.tolist() == [0.0, 150.0, 300.0, 450.0, 600.0, 700.0]


# ------------------------------------------------------------------ hand-placed pairs
def both_pairs(rule, delays, pre_spikes, post_spikes, dt=1.0, w0=1.0, T=200):
    """test_plasticity.run_pairs in both simulators; returns the final weights of Brian2 after
    checking that the spikes and every weight snapshot are spikesim's."""
    y = PAIRS.format(
        T=T, dt=dt, n_pre=len(delays), w0=w0, delays=list(delays), rule=rule,
        pre_ids=[p for p, _ in pre_spikes], pre_kicks=[t - dt for _, t in pre_spikes],
        post_ids=[0] * len(post_spikes), post_kicks=[t - dt for t in post_spikes],
    )  # fmt: skip
    network = build(spec_from_yaml(y))
    ours, theirs = run(network), run_brian2(network)
    assert theirs.spikes["post"].times_ms.tolist() == sorted(post_spikes)
    assert_same_spikes(ours, theirs)
    assert_same_weights(ours, theirs)
    return theirs.weights["syn"].values[-1]


@pytest.mark.parametrize("case", [c for c in PAIR_CASES if c.brian2], ids=lambda case: case.name)
def test_hand_placed_spikes_give_the_hand_computed_weights(case):
    np.testing.assert_allclose(case.run(both_pairs), case.expected, rtol=0, atol=1e-12)


# ------------------------------------------------------------------ polychronization
def _polychronization(models_dir, duration_ms):
    data = load(models_dir / "polychronization.yaml").model_dump(mode="json", exclude_none=True)
    data["run"]["duration_ms"] = duration_ms
    data["record"]["weights"] = [{"connection": "exc", "interval_ms": 1000}]
    return build(spec_from_dict(data))


def test_polychronization_agrees_exactly(models_dir):
    """spnet's network: 80 000 plastic synapses of 20 delays, a static inhibitory group on the same
    channel, one thalamic pulse per ms. 3 s here (two weight updates); measured: 60 s."""
    network = _polychronization(models_dir, 3000)
    ours, theirs = run(network), run_brian2(network)
    assert len(ours.all_spikes()[0]) > 15000
    assert_same_spikes(ours, theirs)
    assert_same_weights(ours, theirs)
    w = theirs.weights["exc"].values
    assert not np.array_equal(w[1], w[0]) and not np.array_equal(w[3], w[2])  # updated every second
    result = compare(ours, theirs, exact=True)
    assert result.ok and result.weights["exc"].fraction_equal == 1.0


def test_polychronization_after_divergence_agrees_in_statistics(models_dir):
    """Every Brian2 weight times 1 + 1e-7: identical until 310 ms (measured), then the spike
    trains differ, and over 2 s only the statistics agree: rates (within 2 %), the weights' mean
    and distribution (Kolmogorov-Smirnov distance 0.008, measured), not single weights."""
    network = _polychronization(models_dir, 2000)
    ours = run(network)
    nudged = copy.deepcopy(network)
    nudged.synapses.weight_store[:] *= 1 + 1e-7
    theirs = run_brian2(nudged)
    first = compare(ours, theirs).first_disagreement_ms
    assert first is not None and 100 <= first <= 1500
    assert compare(ours, theirs, stop_ms=first - network.dt_ms).identical
    after = compare(ours, theirs, start_ms=first - network.dt_ms, window_ms=1.0, rate_rtol=0.05, rate_atol_hz=0.0)
    assert after.ok, after.summary()
    assert after.unmatched_fraction > 0.3  # it really diverged
    w = after.weights["exc"]
    assert not w.snapshots_identical and w.fraction_equal < 0.5 and w.max_abs_difference > 0.5
    assert w.ks_distance < 0.03
    assert w.mean_b == pytest.approx(w.mean_a, rel=0.005)
    assert not after.agree(weight_atol=0.1)


# ------------------------------------------------------------------ export and validate
def test_exported_plastic_script_runs_standalone_and_agrees(tmp_path):
    yaml_path = tmp_path / "plastic.yaml"
    yaml_path.write_text(
        PLASTIC.format(rule=RULES["multiplicative"], dt=0.5, seed=4)
        .replace("duration_ms: 600", "duration_ms: 400")
        .replace("inputs:", "record:\n  weights: [{connection: ee, interval_ms: 100}]\ninputs:")
    )
    script = tmp_path / "plastic_brian2.py"
    result = CliRunner().invoke(export, ["brian2", str(yaml_path), "-o", str(script)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "results.npz"
    done = run_exported_script(script, out, tmp_path)
    assert "plastic synapses" in done.stdout

    network = build(spec_from_yaml(yaml_path.read_text()))
    ours, theirs = run(network), run_brian2(network)
    assert_same_spikes(ours, theirs)
    assert_same_weights(ours, theirs)
    with np.load(out) as saved:
        t, i = theirs.all_spikes()
        np.testing.assert_array_equal(saved["time_ms"], t)
        np.testing.assert_array_equal(saved["neuron"], i)
        final = saved["final_weight"]
        assert saved["weight_times_ms"].tolist() == [100.0, 200.0, 300.0, 400.0]
        times, positions, snapshots = saved["weight_times_ms"], saved["weight_positions"], saved["weights"]
    for plan in network.weight_plans:
        np.testing.assert_array_equal(final[plan.positions], ours.weights[plan.connection].values[-1])
        w = theirs.weights[plan.connection]
        rows = np.searchsorted(times, w.times_ms[1:])
        columns = np.searchsorted(positions, plan.positions)
        np.testing.assert_array_equal(snapshots[rows][:, columns], w.values[1:])
    assert not np.array_equal(final, network.synapses.weight)


def test_validate_reports_weights_and_fails_beyond_tolerance(tmp_path, monkeypatch):
    import spikesim.bridge.brian2 as bridge
    from spikesim.recording import Weights

    yaml_path = tmp_path / "plastic.yaml"
    yaml_path.write_text(PLASTIC.format(rule=RULES["nearest"], dt=1.0, seed=5))
    result = CliRunner().invoke(validate, [str(yaml_path), "--duration-ms", "300", "--exact"])
    assert result.exit_code == 0, result.output
    assert "weights ee (" in result.output and "identical at every snapshot" in result.output
    assert "max |difference| 0, 100.00 % equal" in result.output

    real = bridge.run_brian2

    def off_by_a_little(network, target="numpy"):
        rec = real(network, target)
        w = rec.weights["ee"]
        values = w.values.copy()
        values[-1, ::10] += 0.01
        rec.weights["ee"] = Weights(w.pre, w.post, w.delay_ms, w.times_ms, values)
        return rec

    monkeypatch.setattr(bridge, "run_brian2", off_by_a_little)
    result = CliRunner().invoke(validate, [str(yaml_path), "--duration-ms", "300", "--weight-atol", "0.001"])
    assert result.exit_code == 1, result.output
    assert "weights of ee at 300 ms differ by up to 0.01" in result.output
    assert "FAILED" in result.output
    # within a looser tolerance it passes (spikes identical, distributions nearly so)
    result = CliRunner().invoke(validate, [str(yaml_path), "--duration-ms", "300", "--weight-atol", "0.02"])
    assert result.exit_code == 0, result.output
