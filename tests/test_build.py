"""Connectivity rules, delays, the synapse layout and the random streams."""

import numpy as np
import pytest

from spikesim import build, spec_from_yaml

BASE = """
run: {{duration_ms: 10, dt_ms: {dt}, seed: {seed}}}
populations:
  a: {{size: {na}, params: {{preset: RS}}}}
  b: {{size: {nb}, params: {{preset: FS}}}}
connections:
  - {{name: c, pre: {pre}, post: {post}, rule: {rule}, weight: {{expr: "i"}}, delay_ms: {delay}{extra}}}
"""


def table(rule, extra="", na=30, nb=20, pre="a", post="[a, b]", seed=1, dt=1.0, delay=1):
    net = build(spec_from_yaml(BASE.format(rule=rule, extra=extra, na=na, nb=nb, pre=pre, post=post, seed=seed, dt=dt, delay=delay)))
    syn = net.synapses
    return net, syn.sources(), syn.post.astype(np.int64), syn.weight, syn.delays()


def test_all_to_all_with_and_without_self():
    _, pre, post, _, _ = table("all_to_all", ", allow_self: true")
    assert len(pre) == 30 * 50
    assert set(zip(pre, post)) == {(i, j) for i in range(30) for j in range(50)}
    _, pre, post, _, _ = table("all_to_all", ", allow_self: false")
    assert len(pre) == 30 * 50 - 30 and not np.any(pre == post)


def test_one_to_one():
    _, pre, post, _, _ = table("one_to_one", pre="b", post="b", nb=20)
    np.testing.assert_array_equal(pre, np.arange(30, 50))
    np.testing.assert_array_equal(post, np.arange(30, 50))


def test_fixed_probability_statistics():
    _, pre, post, _, _ = table("fixed_probability", ", p: 0.1, allow_self: false", na=400, nb=200)
    n_pairs = 400 * 600 - 400
    assert abs(len(pre) - 0.1 * n_pairs) < 4 * np.sqrt(n_pairs * 0.1 * 0.9)
    assert not np.any(pre == post)
    assert len(set(zip(pre, post))) == len(pre)  # a pair at most once
    # every post neuron equally likely: chi-square-like check on in-degrees
    indeg = np.bincount(post, minlength=600)[:400]
    assert abs(indeg.mean() - 0.1 * 399) < 1.0


@pytest.mark.parametrize("multapses", [False, True])
def test_fixed_outdegree(multapses):
    _, pre, post, _, _ = table("fixed_outdegree", f", outdegree: 12, allow_self: false, allow_multapses: {str(multapses).lower()}")
    np.testing.assert_array_equal(np.bincount(pre, minlength=30), [12] * 30)
    assert not np.any(pre == post)
    if not multapses:
        assert len(set(zip(pre, post))) == len(pre)


def test_fixed_outdegree_dense_choice_without_self():
    _, pre, post, _, _ = table("fixed_outdegree", ", outdegree: 49, allow_self: false")
    assert len(set(zip(pre, post))) == 30 * 49 and not np.any(pre == post)


def test_fixed_indegree():
    _, pre, post, _, _ = table("fixed_indegree", ", indegree: 7, allow_self: false")
    np.testing.assert_array_equal(np.bincount(post, minlength=50), [7] * 50)
    assert not np.any(pre == post)
    assert len(set(zip(pre, post))) == len(pre)


def test_from_file(tmp_path):
    np.savez(tmp_path / "c.npz", pre=[0, 1, 2, 2], post=[5, 4, 3, 3], weight=[1.0, 2.0, 3.0, 4.0], delay_ms=[1, 2, 3, 4])
    y = f"""
run: {{duration_ms: 10}}
populations: {{a: {{size: 6, params: {{preset: RS}}}}}}
connections: [{{pre: a, post: a, rule: from_file, file: {tmp_path / 'c.npz'}}}]
"""
    syn = build(spec_from_yaml(y)).synapses
    got = sorted(zip(syn.sources(), syn.post, syn.weight, syn.delays()))
    assert got == [(0, 5, 1.0, 1), (1, 4, 2.0, 2), (2, 3, 3.0, 3), (2, 3, 4.0, 4)]


def test_csv_from_file(tmp_path):
    (tmp_path / "c.csv").write_text("pre,post,weight\n0,1,0.5\n1,0,-0.5\n")
    y = f"""
run: {{duration_ms: 10}}
populations: {{a: {{size: 2, params: {{preset: RS}}}}}}
connections: [{{pre: a, post: a, rule: from_file, file: {tmp_path / 'c.csv'}, delay_ms: 2}}]
"""
    syn = build(spec_from_yaml(y)).synapses
    assert sorted(zip(syn.sources(), syn.post, syn.weight, syn.delays())) == [(0, 1, 0.5, 2), (1, 0, -0.5, 2)]


def test_layout_sorted_by_source_and_delay_and_weights_follow():
    net, pre, post, w, d = table("all_to_all", "", dt=0.5, delay='{expr: "0.5*(1 + floor(r*6))"}')
    key = pre * net.synapses.max_delay_steps + d
    assert np.all(np.diff(key) >= 0)
    # weight expr "i" is the generation index: all_to_all generates pre-major, post ascending
    np.testing.assert_array_equal(np.sort(w), np.arange(30 * 50))
    gen_pre, gen_post = np.divmod(w.astype(np.int64), 50)
    np.testing.assert_array_equal(gen_pre, pre)
    np.testing.assert_array_equal(gen_post, post)
    assert set(np.unique(d)) == set(range(1, 7))
    assert net.synapses.post.dtype == np.int32 and net.synapses.weight_store.dtype == np.float64
    per_synapse = (net.synapses.post.nbytes + net.synapses.weight_store.nbytes) / net.synapses.n_synapses
    assert per_synapse == 12


CONSTANT_WEIGHTS = """
run: {duration_ms: 300, seed: 8, delay_rounding: nearest}
populations:
  a: {size: 60, params: {preset: RS}}
  b: {size: 40, params: {preset: FS}}
connections:
  - {name: ab, pre: a, post: b, rule: fixed_outdegree, outdegree: 10, weight: 6, delay_ms: 2}
  - {name: aa, pre: a, post: a, rule: fixed_outdegree, outdegree: 5, weight: 6, delay_ms: {uniform: {low: 1, high: 4}}}
  - {name: ba, pre: b, post: a, rule: fixed_outdegree, outdegree: 10, weight: -5, delay_ms: 1,
     synapse: {type: voltage_jump}}
  - {name: bb, pre: b, post: b, rule: fixed_outdegree, outdegree: 3, weight: -2, delay_ms: 1,
     synapse: {type: voltage_jump}}
  - {name: bc, pre: b, post: a, rule: fixed_outdegree, outdegree: 2, weight: -3, delay_ms: 1,
     synapse: {type: voltage_jump}}
  - {name: jitter, pre: a, post: b, rule: fixed_outdegree, outdegree: 4, weight: {uniform: {low: 1, high: 2}},
     delay_ms: 1, synapse: {type: exp_current, tau_ms: 5}}
inputs:
  - {type: random_pulses, target: [a, b], k: 2, amplitude: 25}
record:
  weights: [{connection: ab}, {connection: ba}, {connection: jitter}]
"""


def test_static_groups_with_one_constant_weight_store_it_once(tmp_path):
    """A static connection with a constant weight gets a group of its own, with connections of
    the same channel and weight, where that saves memory (8 bytes per synapse against 4 per
    neuron and delay step of pointers): its synapses then cost 4 bytes (the target). Smaller
    ones, and drawn weights, keep a weight per synapse. Spikes and recorded weights do not
    change."""
    from spikesim import run
    from spikesim.engine.reference import simulate_reference
    from spikesim.io.hdf5 import read

    net = build(spec_from_yaml(CONSTANT_WEIGHTS))
    syn = net.synapses
    by_name = {c.label: syn.connection_slots[i][0] for i, c in enumerate(net.spec.connections)}
    pointers = 4 * (100 * syn.max_delay_steps + 1)
    assert 8 * 40 * 10 > pointers > 8 * 40 * 3  # ba is worth a group, bb and bc are not
    assert by_name["ab"] == by_name["aa"] and syn.group_weight[by_name["ab"]] == 6.0  # one group, one weight
    assert syn.group_weight[by_name["ba"]] == -5.0
    assert by_name["bb"] == by_name["bc"] != by_name["ba"] and np.isnan(syn.group_weight[by_name["bb"]])
    assert np.isnan(syn.group_weight[by_name["jitter"]])  # drawn: stored
    stored = [g for g in range(len(syn.group_weight)) if np.isnan(syn.group_weight[g])]
    assert len(syn.weight_store) == sum(hi - lo for lo, hi in (syn.span(g) for g in stored))
    assert len(syn.weight_store) == 40 * 3 + 40 * 2 + 60 * 4
    assert syn.n_synapses == 60 * 15 + 40 * 15 + 60 * 4
    # the full weights, in table order, are what each connection asked for
    w, src = syn.weight, syn.sources()
    groups = syn.synapse_groups()
    assert np.all(np.diff(groups) >= 0)
    assert np.bincount(groups, minlength=syn.n_groups).tolist() == [hi - lo for lo, hi in syn.spans()]
    # each group's longest delay (delivery reads no pointers beyond it): 4 steps for aa's group,
    # 1 for the others
    delays = syn.delays()
    assert [syn.group_max_delay[g] for g in range(len(syn.group_weight))] == [
        delays[groups == g].max() for g in range(len(syn.group_weight))
    ]
    assert syn.group_max_delay[by_name["aa"]] == 4 == syn.max_delay_steps and syn.group_max_delay[by_name["ba"]] == 1
    # a group keeps pointers for its own sources and delays only: ba's are b's 40 neurons
    # (60-99) at one delay, not all 100 neurons at 4
    for g in range(syn.n_groups):
        lo, hi = syn.span(g)
        first, n_sources = syn.group_pointers[g, 1:]
        assert first == src[lo:hi].min() and first + n_sources - 1 == src[lo:hi].max()
        assert len(syn.pointers(g)) == n_sources * syn.group_max_delay[g] + 1
    assert list(syn.group_pointers[by_name["ba"], 1:]) == [60, 40] and len(syn.pointers(by_name["ba"])) == 41
    assert len(syn.row_ptr) == sum(len(syn.pointers(g)) for g in range(syn.n_groups)) < syn.n_groups * 100 * 4
    assert np.all(w[groups == by_name["ab"]] == 6.0)
    assert np.all(w[groups == by_name["ba"]] == -5.0)
    assert set(w[groups == by_name["bb"]]) == {-2.0, -3.0}
    jitter = w[groups == by_name["jitter"]]
    assert np.all((jitter >= 1) & (jitter < 2)) and len(set(jitter)) == len(jitter)
    assert np.all(src[groups == by_name["ba"]] >= 60)
    # kernels (constant weights read once per group) against the twin (a weight per synapse)
    rec, ref = run(net, tmp_path / "w.h5"), simulate_reference(net)
    t, i = rec.all_spikes()
    rt = (ref.spike_steps + 1) * net.dt_ms
    order = np.lexsort((ref.spike_ids, rt))
    assert len(t) > 200
    np.testing.assert_array_equal(t, rt[order])
    np.testing.assert_array_equal(i, ref.spike_ids[order])
    in_file = read(tmp_path / "w.h5").weights
    for plan in net.weight_plans:
        values = rec.weights[plan.connection].values
        np.testing.assert_array_equal(values, np.broadcast_to(w[plan.positions], values.shape))
        np.testing.assert_array_equal(in_file[plan.connection].values, values)


@pytest.mark.parametrize("block", [1, 7, 1 << 20])
def test_mean_run_length_counts_synapses_per_spike_delay_and_group(block, monkeypatch):
    """The synapses over the distinct (group, source, delay) triples, counted from sources(),
    delays() and the groups' spans; whatever the block the pointers are scanned in. Delivery
    prefetches only where runs are short: all-to-all's runs are whole rows."""
    from spikesim.engine import step

    syn = build(spec_from_yaml(CONSTANT_WEIGHTS)).synapses
    groups = syn.synapse_groups()
    triples = set(zip(groups.tolist(), syn.sources().tolist(), syn.delays().tolist()))
    assert syn.mean_run_length(block) == syn.n_synapses / len(triples) < 10
    dense = build(spec_from_yaml(BASE.format(rule="all_to_all", extra="", na=30, nb=120, pre="a", post="[a, b]",
                                             seed=1, dt=1.0, delay=1))).synapses  # fmt: skip
    assert dense.mean_run_length(block) == 150.0  # one run of 150 targets per source
    monkeypatch.setattr(step, "PREFETCH_ABOVE_BYTES", -1)  # as if both had outgrown the caches
    assert step.prefetch_pays(syn) and not step.prefetch_pays(dense)
    monkeypatch.setattr(step, "PREFETCH_ABOVE_BYTES", syn.post.nbytes)
    assert not step.prefetch_pays(syn)


def test_delays_round_only_when_asked():
    from spikesim import SpecError

    with pytest.raises(SpecError, match="not a whole number of steps"):
        table("all_to_all", dt=0.5, delay=1.3)
    y = BASE.format(rule="all_to_all", extra="", na=2, nb=2, pre="a", post="b", seed=1, dt=0.5, delay=1.3)
    y = y.replace("seed: 1}", "seed: 1, delay_rounding: nearest}")
    assert set(build(spec_from_yaml(y)).synapses.delays()) == {3}


def test_seed_determinism_and_independent_streams():
    _, pre1, post1, _, _ = table("fixed_probability", ", p: 0.2", seed=5)
    _, pre2, post2, _, _ = table("fixed_probability", ", p: 0.2", seed=5)
    _, pre3, _, _, _ = table("fixed_probability", ", p: 0.2", seed=6)
    np.testing.assert_array_equal(pre1, pre2)
    np.testing.assert_array_equal(post1, post2)
    assert len(pre1) != len(pre3) or not np.array_equal(pre1, pre3)
    # adding an input or a population parameter distribution leaves the connectivity alone
    y = BASE.format(rule="fixed_probability", extra=", p: 0.2", na=30, nb=20, pre="a", post="[a, b]", seed=5, dt=1.0, delay=1)
    y2 = y.replace("b: {size: 20, params: {preset: FS}}", "b: {size: 20, params: {preset: FS, d: {uniform: {low: 1, high: 3}}}}")
    y2 += "inputs: [{type: poisson, target: a, rate_hz: 5, weight: 1}]\n"
    syn = build(spec_from_yaml(y2)).synapses
    np.testing.assert_array_equal(syn.sources(), pre1)
    np.testing.assert_array_equal(syn.post, post1)


def test_2003_parameters_share_one_r_per_neuron(models_dir):
    from spikesim import load

    net = build(load(models_dir / "izhikevich2003.yaml"))
    p = net.neurons.params
    exc = net.neurons.slice("exc")
    r2_from_c = (p["c"][exc] + 65) / 15
    r2_from_d = (8 - p["d"][exc]) / 6
    np.testing.assert_allclose(r2_from_c, r2_from_d, atol=1e-12)
    inh = net.neurons.slice("inh")
    np.testing.assert_allclose((p["a"][inh] - 0.02) / 0.08, (0.25 - p["b"][inh]) / 0.05, atol=1e-9)
    np.testing.assert_array_equal(net.neurons.u0, p["b"] * -65.0)
    assert net.synapses.n_synapses == 1000 * 1000
    assert set(net.synapses.delays()) == {1}


def test_layout_kernels_match_their_plain_twins():
    from spikesim.build.synapses import (
        _as_run,
        count_keys,
        incoming_plain,
        incoming_source_delay,
        index_incoming,
        layout_plain,
        run_start,
        scatter,
    )

    rng = np.random.default_rng(0)
    # sources 10 .. 59 of a network of 70 neurons: pointers for those 50 only
    first, n, d, s, n_neurons = 10, 50, 7, 4000, 70
    pre = rng.integers(first, first + n, s).astype(np.int32)
    post = rng.integers(0, n_neurons, s).astype(np.int32)
    weight = rng.random(s)
    delay = rng.integers(1, d + 1, s).astype(np.int32)
    counts = np.zeros(n * d, np.int64)
    count_keys(pre, 1, delay, d, first, counts)
    row_ptr = np.concatenate([[0], np.cumsum(counts)])
    fill = row_ptr[:-1].copy()
    post_out, weight_out, position = np.empty(s, np.int32), np.empty(s), np.empty(s, np.int64)
    assert run_start(pre, 1, delay, d, first, fill) == -1
    scatter(pre, 1, post, weight, delay, d, first, fill, post_out, weight_out, 0, position)
    plain = layout_plain(pre, post, weight, delay, n, d, first_source=first)
    for got, want in zip((row_ptr, post_out, weight_out, position), plain):
        np.testing.assert_array_equal(got, want)
    # a group that starts at table position 7 after a constant-weight group: its weights are
    # stored from 0 (weight_offset 7), its targets from 7, no positions kept
    fill = row_ptr[:-1] + 7
    post_7, weight_7 = np.empty(s + 7, np.int32), np.empty(s)
    scatter(pre, 1, post, weight, delay, d, first, fill, post_7, weight_7, 7, np.zeros(0, np.int64))
    np.testing.assert_array_equal(post_7[7:], plain[1])
    np.testing.assert_array_equal(weight_7, plain[2])
    # rows of one source kept once (per_pre synapses each), with narrow delays; sources in order
    # and delays rising within a row land in one run, which run_start tells before placing
    rows, per = np.arange(first, first + n, dtype=np.int32), s // n
    starts = []
    for row_delay in (np.sort(delay[:s].reshape(n, per), axis=1), delay[:s].reshape(n, per)):
        row_delay = row_delay.reshape(-1).astype(np.uint8)
        counts = np.zeros(n * d, np.int32)
        count_keys(rows, per, row_delay, d, first, counts)
        row_ptr_rows = np.concatenate([[0], np.cumsum(counts)]) + 3
        fill = row_ptr_rows[:-1].copy()
        start = run_start(rows, per, row_delay, d, first, fill)
        position = np.empty(s, np.int64)
        post_rows, weight_rows = np.empty(s + 3, np.int32), np.empty(s + 3)
        scatter(rows, per, post, weight, row_delay, d, first, fill, post_rows, weight_rows, 0, position)
        plain = layout_plain(rows, post, weight, row_delay, n, d, offset=3, per_pre=per, first_source=first)
        for got, want in zip((row_ptr_rows, post_rows[3:], weight_rows[3:], position), plain):
            np.testing.assert_array_equal(got, want)
        run = _as_run(plain[3])
        assert start == (run.start if isinstance(run, slice) else -1)
        starts.append(start)
    assert starts == [3, -1]
    assert run_start(rows[:0], 1, row_delay[:0], d, first, row_ptr_rows[:-1]) == -1
    # the index of incoming synapses
    fill = np.concatenate([[0], np.cumsum(np.bincount(post_out, minlength=n_neurons))])[:-1].copy()
    in_syn, in_key = np.empty(s, np.int64), np.empty(s, np.int32)
    index_incoming(row_ptr, post_out, d, first, n_neurons, fill, in_syn, in_key)
    for got, want in zip((in_syn, in_key), incoming_plain(row_ptr, post_out, d, first, n_neurons)):
        np.testing.assert_array_equal(got, want)
    # and the layout means what it says: the synapse at in_syn[e] has the source and delay of
    # its key, which gives the slot-major trace history index of step `cur - delay`
    seg = np.searchsorted(row_ptr, in_syn, side="right") - 1
    in_src, in_delay = incoming_source_delay(in_key, n_neurons)
    np.testing.assert_array_equal(first + seg // d, in_src)
    np.testing.assert_array_equal(seg % d + 1, in_delay)
    L, cur = d + 1, 2
    k = cur * n_neurons - in_key.astype(np.int64)
    k[k < 0] += L * n_neurons
    np.testing.assert_array_equal(k, ((cur - in_delay) % L) * n_neurons + in_src)


def test_redraw_kernel_matches_its_plain_twin():
    from spikesim.build.connectivity import mark_redraws, redraws_plain

    rng = np.random.default_rng(1)
    cols = rng.integers(0, 12, size=(300, 9))
    own = rng.integers(-1, 12, size=300)
    for multapses in (False, True):
        for own_cols in (None, own):
            seen = np.full(12, -1, np.int64)
            want = redraws_plain(cols, own_cols, multapses)
            # twice with the same seen: the stamp keeps the first call's marks apart
            for stamp in (0, 300):
                bad = np.zeros(cols.shape, bool)
                own_arg = np.zeros(0, np.int64) if own_cols is None else own_cols
                count = mark_redraws(cols, own_arg, multapses, seen, stamp, bad)
                np.testing.assert_array_equal(bad, want)
                assert count == want.sum()


def test_poisson_input_has_poisson_counts_per_neuron():
    y = """
run: {duration_ms: 20000, dt_ms: 0.5, seed: 3}
populations: {a: {size: 200, params: {preset: RS}}}
inputs: [{type: poisson, target: a, rate_hz: 25, n_sources: 2, weight: 1.5, start_ms: 10000}]
"""
    net = build(spec_from_yaml(y))
    net.inputs.reset()
    chunk = net.inputs.draw(0, 40000)
    steps = np.repeat(np.arange(40000), np.diff(chunk.ev_ptr))
    assert steps.min() >= 20000  # nothing before start_ms
    assert np.all(chunk.ev_weight == 1.5)
    counts = np.bincount(chunk.ev_neuron, minlength=200)
    expected = 2 * 25 * 10.0  # two sources of 25 Hz for 10 s
    assert abs(counts.mean() - expected) < 4 * np.sqrt(expected / 200)
    # counts of independent Poisson trains: variance across neurons equals the mean
    assert 0.7 < counts.var() / counts.mean() < 1.3
    # and per step: the fraction of (neuron, step) pairs with no event is exp(-lambda)
    per_pair = np.bincount(steps * 200 + chunk.ev_neuron, minlength=40000 * 200)[20000 * 200 :]
    lam = 2 * 25 * 0.5 / 1000
    assert abs((per_pair == 0).mean() - np.exp(-lam)) < 1e-3


def test_noise_kernel_matches_its_plain_twin_and_leaves_the_stream_where_numpy_would():
    from spikesim.build.inputs import _add_rows, add_noise, add_noise_plain
    from spikesim.build.seeds import stream

    # a block of neurons, a scattered choice with a neuron listed twice (two draws, both added),
    # and a chunk that starts at row 3 of a dense array that already holds a current
    for columns in (np.arange(5, 45), np.array([7, 2, 30, 2, 11])):
        start = np.random.default_rng(0).random((20, 50))
        got, want = start.copy(), start.copy()
        rng_got, rng_want = stream(4, "input", "noise"), stream(4, "input", "noise")
        add_noise(rng_got, got, 3, 15, columns, 2.5, -0.5)
        add_noise_plain(rng_want, want, 3, 15, columns, 2.5, -0.5)
        np.testing.assert_array_equal(got, want)
        assert not np.array_equal(got[3:], start[3:]) and np.array_equal(got[:3], start[:3])
        assert rng_got.bit_generator.state == rng_want.bit_generator.state
    # a replayed current adds its columns the same way: a neuron listed twice gets both
    dense = np.zeros((4, 3))
    _add_rows(dense, np.arange(1, 3), np.array([2, 0, 2]), np.array([[1.0, 2.0, 4.0], [8.0, 16.0, 32.0]]))
    np.testing.assert_array_equal(dense, [[0, 0, 0], [2, 0, 5], [16, 0, 40], [0, 0, 0]])
    # and a draw is what NumPy's normal generator gives: mean + sd * z
    dense = np.zeros((4, 3))
    add_noise(stream(9, "input", "x"), dense, 0, 4, np.arange(3), 2.0, 1.0)
    z = stream(9, "input", "x").standard_normal((4, 3))
    np.testing.assert_array_equal(dense, z * 2.0 + 1.0)


def test_freed_arrays_go_back_to_the_system_where_malloc_allows():
    import platform
    import sys

    from spikesim.build.memory import return_freed_arrays_to_the_system

    if not (sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"):
        pytest.skip("mallopt is glibc's")
    assert return_freed_arrays_to_the_system() is True


def test_a_run_reuses_freed_arrays_instead_of_faulting_in_fresh_pages():
    """After the build, ``reuse_freed_arrays_during_the_run`` puts malloc back to serving
    chunk-sized arrays from its heap: allocating and freeing one 1 MiB array again and again then
    costs next to no page faults, where the build's setting maps fresh pages every time. In a
    process of its own: the settings are process-wide."""
    import platform
    import subprocess
    import sys

    if not (sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"):
        pytest.skip("mallopt is glibc's")
    script = """
import resource, numpy as np
from spikesim.build.memory import return_freed_arrays_to_the_system, reuse_freed_arrays_during_the_run
def faults():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(50):
        np.ones(1 << 17)  # 1 MiB, freed at once
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
assert return_freed_arrays_to_the_system()
build = faults()
assert reuse_freed_arrays_during_the_run()
faults()  # the heap grows once
print(build, faults())
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    build, run = map(int, out.split())
    assert build >= 50 * 200 and run < 50, (build, run)


def test_expressions_leave_no_reference_cycles_holding_their_arrays():
    """The values of a large connection are evaluated block by block; a block's arrays must be
    freed as soon as it is used, not when the cyclic garbage collector happens to run."""
    import gc
    import weakref

    from spikesim.build.expressions import evaluate

    gc.disable()
    try:
        r = np.random.default_rng(0).random(1000)
        alive = weakref.ref(r)
        out = evaluate("1 + floor((i % 100) / 5) + r * where(i > 3, 2, -1)", {"i": np.arange(1000.0), "r": r}, "x")
        assert out.shape == (1000,) and out[0] == 1 - r[0]
        del r
        assert alive() is None
    finally:
        gc.enable()
