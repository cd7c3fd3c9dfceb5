"""The Numba kernels against their plain twin, and the step contract on hand-computed cases."""

import numpy as np
import pytest

from spikesim import build, run, spec_from_yaml
from spikesim.engine.reference import simulate_reference

MIXED = """
run: {{duration_ms: 400, dt_ms: {dt}, seed: {seed}}}
populations:
  exc: {{size: 60, scheme: {scheme}, params: {{preset: RS, d: {{expr: "8 - 6*r**2"}}}}}}
  inh: {{size: 15, scheme: euler, params: {{preset: FS}}}}
  dim: {{size: 8, model: izhikevich2007, scheme: {scheme}, params: {{preset: IB}}}}
connections:
  # dyadic weights: sums are exact in any order, so the twin may add arrivals in its own order
  - {{name: ee, pre: exc, post: [exc, inh], rule: fixed_probability, p: 0.15,
     weight: {{expr: "0.25*floor(r*40)"}}, delay_ms: {{expr: "{dt}*floor(1 + r*12)"}}}}
  - {{name: ie, pre: inh, post: exc, rule: fixed_indegree, indegree: 4, weight: -1.5,
     synapse: voltage_jump, delay_ms: {dt}}}
  - {{name: ed, pre: exc, post: dim, rule: fixed_outdegree, outdegree: 3, weight: 64,
     synapse: {{type: exp_current, tau_ms: 5}}, delay_ms: {{expr: "{dt}*floor(1 + r*5)"}}}}
  - {{name: de, pre: dim, post: inh, rule: all_to_all, weight: 8,
     synapse: {{type: exp_current, tau_ms: 2}}, delay_ms: 3}}
inputs:
  - {{type: poisson, target: [exc, inh], rate_hz: 300, weight: 16}}
  - {{type: noise, target: exc, sd: 2, start_ms: 100}}
  - {{type: dc, target: dim, amplitude: 400, start_ms: 50, stop_ms: 300}}
  - {{type: step_current, target: inh, times_ms: [0, 200], amplitudes: [0, 3]}}
  - {{type: random_pulses, target: exc, k: 3, amplitude: 12}}
  - {{type: spike_times, target: dim, neurons: [0, 1, 1], times_ms: [10, 20, 21], weight: 500,
     synapse: {{type: exp_current, tau_ms: 5}}}}
record:
  state: [{{population: exc, variables: [v, u, I], neurons: [0, 5, 9]}}]
"""


def kernel_spikes(recording):
    t, i = recording.all_spikes()
    return t, i


def reference_spikes(network, result):
    t = (result.spike_steps + 1) * network.dt_ms
    order = np.lexsort((result.spike_ids, t))
    return t[order], result.spike_ids[order]


@pytest.mark.parametrize("scheme", ["izhikevich", "euler"])
@pytest.mark.parametrize("dt", [1.0, 0.5])
@pytest.mark.parametrize("seed", [1, 2])
def test_kernels_match_reference_spike_for_spike(scheme, dt, seed, monkeypatch):
    from spikesim.engine import step

    # seed 2: delivery prefetching ahead, as in networks too large for the caches; same results
    monkeypatch.setattr(step, "prefetch_pays", lambda syn: seed == 2)
    network = build(spec_from_yaml(MIXED.format(scheme=scheme, dt=dt, seed=seed)))
    recording = run(network)
    ref = simulate_reference(network)
    t, i = kernel_spikes(recording)
    rt, ri = reference_spikes(network, ref)
    assert len(t) > 200, "the test network must be active to test anything"
    for pop in ("exc", "inh", "dim"):
        assert len(recording.spikes[pop]) > 0, pop
    np.testing.assert_array_equal(t, rt)
    np.testing.assert_array_equal(i, ri)
    # state traces sampled by the kernel equal the twin's, bit for bit
    v = recording.traces["exc"]["v"].values
    np.testing.assert_array_equal(v, ref.trace[:, 0:3])
    np.testing.assert_array_equal(recording.traces["exc"]["I"].values, ref.trace[:, 6:9])


@pytest.mark.parametrize("jumps", ["input", "none"])
def test_voltage_jumps_from_inputs_alone_and_networks_without_any(jumps):
    """The kernels add voltage jumps in a pass of their own, run only where a synapse or an
    input adds them: an input alone is enough, and a network with none skips it (same spikes as
    the twin either way)."""
    text = MIXED.format(scheme="izhikevich", dt=1.0, seed=3).replace("synapse: voltage_jump, ", "")
    if jumps == "input":
        text = text.replace("rate_hz: 300, weight: 16}", "rate_hz: 300, weight: 4, synapse: voltage_jump}")
    network = build(spec_from_yaml(text))
    assert network.has_voltage_jumps == (jumps == "input")
    recording = run(network)
    t, i = kernel_spikes(recording)
    rt, ri = reference_spikes(network, simulate_reference(network))
    assert len(t) > 200
    np.testing.assert_array_equal(t, rt)
    np.testing.assert_array_equal(i, ri)


def test_chunk_size_does_not_change_results():
    from spikesim.engine import simulate
    from spikesim.recording import Recording
    from spikesim.api import run_info

    network = build(spec_from_yaml(MIXED.format(scheme="izhikevich", dt=0.5, seed=4)))
    results = []
    for chunk in (1000, 10000, 37, 1):
        rec = Recording(run_info(network))
        simulate(network, [rec], chunk_steps=chunk)
        results.append(rec.all_spikes())
    for t, i in results[1:]:
        np.testing.assert_array_equal(t, results[0][0])
        np.testing.assert_array_equal(i, results[0][1])


@pytest.mark.parametrize("n_pops", [1, 3, 20])
@pytest.mark.parametrize("per_step", [True, False])
def test_spikes_split_by_population_as_the_plain_twin(n_pops, per_step):
    """kernels.split_spikes (one pass; per population: local ids, times, counts per step) gives
    what the plain twin gives: step.split_by_population, (step + 1) dt and np.bincount; with a
    few populations (one comparison per boundary) and many (a binary search)."""
    from types import SimpleNamespace

    from spikesim.engine.kernels import split_spikes
    from spikesim.engine.step import split_by_population

    rng = np.random.default_rng(n_pops)
    sizes = rng.integers(1, 9, n_pops)
    stops = np.cumsum(sizes)
    names = [f"p{k}" for k in range(n_pops)]
    starts = stops - sizes
    neurons = SimpleNamespace(names=names, slice=lambda p: slice(int(starts[names.index(p)]), int(stops[names.index(p)])))
    first, n_steps, dt = 40, 25, 0.25
    fired = rng.random((n_steps, stops[-1])) < 0.3  # in the kernel's order: by step, then by id
    steps, ids = np.nonzero(fired)
    steps = steps + first
    offsets = np.zeros(n_pops + 1, np.int64)
    local = np.empty(len(ids), np.uint64)
    times_ms = np.empty(len(ids))
    counts = np.zeros((n_pops, n_steps if per_step else 0), np.int64)
    split_spikes(steps, ids, stops, first, dt, offsets, local, times_ms, counts)
    assert offsets[-1] == len(ids) > 0
    twin = list(split_by_population(SimpleNamespace(neurons=neurons), steps, ids))
    for p, (pop, twin_local, twin_steps) in enumerate(twin):
        part = slice(offsets[p], offsets[p + 1])
        assert pop == names[p] and local.dtype == np.uint64
        np.testing.assert_array_equal(local[part], twin_local)
        np.testing.assert_array_equal(times_ms[part], (twin_steps + 1) * dt)
        if per_step:
            np.testing.assert_array_equal(counts[p], np.bincount(twin_steps - first, minlength=n_steps))
    assert counts.shape == ((n_pops, n_steps) if per_step else (n_pops, 0))


def test_a_kernel_asking_for_512_bit_vectors_carries_the_attribute_and_computes_the_same():
    """prefer_512_bit_vectors puts LLVM's string attribute on the calling function (llvmlite's
    attribute set refuses it by name), and the loop gives what NumPy gives, bit for bit."""
    from numba import njit

    from spikesim.engine.kernels import prefer_512_bit_vectors

    @njit
    def update(v, u, I):
        prefer_512_bit_vectors()
        for i in range(np.uint64(v.shape[0])):
            v[i] = v[i] + 0.5 * (0.04 * (v[i] * v[i]) + 5.0 * v[i] + 140.0 - u[i] + I[i])

    rng = np.random.default_rng(3)
    v, u, I = rng.uniform(-80, 30, 1001), rng.uniform(-20, 5, 1001), rng.normal(0, 5, 1001)
    expected = v + 0.5 * (0.04 * (v * v) + 5.0 * v + 140.0 - u + I)
    update(v, u, I)
    np.testing.assert_array_equal(v, expected)
    (ir,) = update.inspect_llvm().values()
    assert '"prefer-vector-width"="512"' in ir


def test_chunks_are_longer_for_small_networks_up_to_the_flush_interval():
    from spikesim.engine.step import DEFAULT_CHUNK_STEPS, MAX_CHUNK_STEPS, chunk_steps_for

    def chunk(size, flush_ms, inputs="[{type: random_pulses, target: p, k: 1, amplitude: 20}]"):
        y = f"""
run: {{duration_ms: 100, dt_ms: 1, flush_every_ms: {flush_ms}}}
populations: {{p: {{size: {size}, params: {{preset: RS}}}}}}
inputs: {inputs}
"""
        return chunk_steps_for(build(spec_from_yaml(y)))

    assert chunk(1000, 10000) == MAX_CHUNK_STEPS == 10 * DEFAULT_CHUNK_STEPS  # 10M neuron-steps
    assert chunk(1000, 3000) == 3000  # never past a flush
    assert chunk(5000, 10000) == 2000
    assert chunk(100_000, 10000) == DEFAULT_CHUNK_STEPS  # big networks: the default
    assert chunk(1000, 500) == DEFAULT_CHUNK_STEPS
    # dense inputs (a buffer of chunk x N values) keep the default
    assert chunk(1000, 10000, "[{type: noise, target: p, sd: 5}]") == DEFAULT_CHUNK_STEPS


ONE = """
run: {{duration_ms: {T}, dt_ms: {dt}}}
populations:
  n: {{size: 1, scheme: {scheme}, params: {{a: 0.02, b: 0.2, c: -65, d: 8}}, initial: {{v: -70, u: -14}}}}
inputs:
  - {{type: dc, target: n, amplitude: 10}}
record:
  spikes: all
  state: [{{population: n, variables: [v, u]}}]
"""


def test_one_step_by_hand_izhikevich_scheme():
    rec = run(spec_from_yaml(ONE.format(T=1, dt=1.0, scheme="izhikevich")))
    v, u, I = -70.0, -14.0, 10.0
    v1 = v + 0.5 * (0.04 * 4900 - 350 + 140 - u + I)  # 196 - 350 + 140 + 14 + 10 = 10 -> v1 = -65
    assert v1 == -65.0
    v2 = v1 + 0.5 * (0.04 * 4225 - 325 + 140 - u + I)  # 169 - 325 + 140 + 14 + 10 = 8 -> -61
    assert v2 == -61.0
    u1 = u + 0.02 * (0.2 * v2 - u)  # -14 + 0.02 * (-12.2 + 14)
    assert rec.traces["n"]["v"].values[0, 0] == pytest.approx(-61.0, abs=1e-12)
    assert rec.traces["n"]["u"].values[0, 0] == pytest.approx(u1, abs=1e-12)
    assert rec.traces["n"]["v"].times_ms[0] == 1.0


def test_one_step_by_hand_euler_scheme():
    rec = run(spec_from_yaml(ONE.format(T=0.5, dt=0.5, scheme="euler")))
    # v' = 196 - 350 + 140 + 14 + 10 = 10; u' = 0.02 (0.2 * -70 + 14) = 0
    assert rec.traces["n"]["v"].values[0, 0] == pytest.approx(-70.0 + 0.5 * 10, abs=1e-12)
    assert rec.traces["n"]["u"].values[0, 0] == pytest.approx(-14.0, abs=1e-12)


DELAY = """
run: {{duration_ms: 30, dt_ms: {dt}}}
populations:
  src: {{size: 1, params: {{preset: RS}}}}
  dst: {{size: 1, params: {{preset: RS}}}}
connections:
  - {{pre: src, post: dst, rule: all_to_all, weight: 200, synapse: voltage_jump, delay_ms: {delay}}}
inputs:
  - {{type: spike_times, target: src, neurons: [0], times_ms: [5], weight: 200, synapse: voltage_jump}}
"""


@pytest.mark.parametrize("dt,delay", [(1.0, 1.0), (1.0, 7.0), (0.5, 0.5), (0.25, 3.0)])
def test_axonal_delay_arrives_exactly_delay_steps_later(dt, delay):
    """A jump of 200 mV makes the neuron fire in the very step it arrives: the source fires in
    step 5/dt (stamped 5 + dt); the target fires in the step of arrival, delay later."""
    rec = run(spec_from_yaml(DELAY.format(dt=dt, delay=delay)))
    assert rec.spikes["src"].times_ms.tolist() == [5.0 + dt]
    assert rec.spikes["dst"].times_ms.tolist() == [5.0 + dt + delay]


def test_exp_current_decays_by_hand():
    y = """
run: {duration_ms: 4, dt_ms: 1}
populations:
  n: {size: 1, params: {preset: RS}}
inputs:
  - {type: spike_times, target: n, neurons: [0], times_ms: [1], weight: 2, synapse: {type: exp_current, tau_ms: 2}}
record:
  state: [{population: n, variables: [I]}]
"""
    rec = run(spec_from_yaml(y))
    e = np.exp(-0.5)
    np.testing.assert_allclose(rec.traces["n"]["I"].values[:, 0], [0, 2, 2 * e, 2 * e * e], rtol=1e-15)


THREADED = """
run: {duration_ms: 300, seed: 5, threads: 2}
populations:
  exc: {size: 9000, params: {preset: RS, d: {expr: "8 - 6*r**2"}}}
  inh: {size: 2250, params: {preset: FS}}
connections:
  - {name: ee, pre: exc, post: [exc, inh], rule: fixed_outdegree, outdegree: 20, weight: 4,
     delay_ms: {expr: "floor(1 + r*10)"}, plasticity: {rule: spnet, update_interval_ms: 100}}
  - {name: ei, pre: exc, post: inh, rule: fixed_indegree, indegree: 10, weight: {uniform: {low: 1, high: 5}},
     delay_ms: 2, plasticity: {rule: stdp_additive, A_plus: 0.05, A_minus: 0.06, w_max: 8}}
  - {name: ie, pre: inh, post: exc, rule: fixed_outdegree, outdegree: 20, weight: -3, delay_ms: 1,
     plasticity: {rule: stdp_multiplicative, A_plus: 0.02, A_minus: 0.03, w_min: -6, w_max: 0}}
inputs:
  - {type: random_pulses, target: [exc, inh], k: 20, amplitude: 20}
  - {type: noise, target: inh, sd: 2}
"""


def test_threads_do_not_change_results():
    """run.threads shares the neuron update (blocks of NEURON_BLOCK neurons: populations of
    several blocks here) and each fired neuron's potentiation between threads: the spikes, and the
    state, weights, derivatives and traces at the end, are those of one thread, bit for bit."""
    import numba

    from spikesim.engine import kernels, simulate
    from spikesim.engine.step import RUN_STEPS, kernel_for_threads

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one core: no second thread")
    assert 9000 > 2 * kernels.NEURON_BLOCK
    assert kernel_for_threads(2) is kernels.run_steps_threaded and kernel_for_threads(1) is RUN_STEPS and RUN_STEPS.jit is kernels.run_steps
    results = []
    for threads in (1, 2):
        network = build(spec_from_yaml(THREADED.replace("threads: 2", f"threads: {threads}")))
        recording = run(network)
        state = simulate(network, [])  # the same run again, for its final state
        results.append((recording.all_spikes(), state, network.synapses.weight_store.copy()))
    (t1, i1), s1, w0 = results[0]
    (t2, i2), s2, _ = results[1]
    assert len(t1) > 5000
    np.testing.assert_array_equal(t1, t2)
    np.testing.assert_array_equal(i1, i2)
    for name in ("v", "u", "I", "weight", "deriv", "pre_trace", "post_trace"):
        np.testing.assert_array_equal(getattr(s1, name), getattr(s2, name), err_msg=name)
    assert not np.array_equal(s1.weight, w0), "the rules must change the weights to test anything"


def test_more_threads_than_the_machine_runs_is_an_error(monkeypatch):
    import numba

    from spikesim import SpecError

    monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", 1)
    with pytest.raises(SpecError, match=r"^run\.threads: 2 threads asked for, but this machine runs at most 1"):
        build(spec_from_yaml(THREADED))


def test_nonfinite_state_is_reported_and_run_marked_failed(tmp_path):
    from spikesim import NumericalError
    from spikesim.io.hdf5 import read

    y = """
run: {duration_ms: 50, dt_ms: 1, flush_every_ms: 1}
populations:
  n: {size: 2, scheme: euler, params: {preset: RS, vpeak: 1.0e300}}
inputs:
  - {type: dc, target: n, amplitude: 50}
"""
    out = tmp_path / "x.h5"
    with pytest.raises(NumericalError, match="population 'n'"):
        run(spec_from_yaml(y), out)
    assert not out.exists()
    partial = read(str(out) + ".partial")
    assert partial.status == "failed"
