"""Run a spikesim network in Brian2 and get the same ``Recording`` back (cross-validation).

This is the only module of spikesim that imports brian2.

The Brian2 network is built from the same built ``spikesim.build.Network``: the same synapse
table (sources, targets, weights, delays in steps, channels), the same per-neuron parameters and
initial state, and the same input, drawn once by spikesim and replayed as arrays. Its definition
is the standalone script of ``spikesim.bridge.script``, executed here in-process, so
``spikesim export brian2`` writes exactly the network that is validated here.

How spikesim's step (``spikesim.engine.step``) maps onto Brian2's schedule
(start, groups, thresholds, after_thresholds, synapses, end); spikesim step n and Brian2 time
step n are the same interval [n dt, (n + 1) dt]:

0. Neuron order: Brian2 index k of the ``NeuronGroup`` ``neurons`` is spikesim's global neuron
   N - 1 - k. Brian2 delivers the spikes of a step in increasing index order; spikesim (as
   spnet.cpp) sums them from the highest neuron down. Reversing the indices makes the two sums
   the same floating-point operations.
1. Input (spikesim stage 1) and 2. integration run in the ``groups`` slot as one
   ``run_regularly`` block per population. Synaptic arrivals are not added to v or I directly:
   each synapse adds its weight to an accumulator of its channel on the target neuron
   (``in_pulse`` for current pulses, ``in_jump`` for voltage jumps, ``in_exp<k>`` for the k-th
   exponential current). The block of step n consumes them: ``v += in_jump``; ``I = in_pulse``
   then ``+ dense(n)`` (noise, file replay: a ``TimedArray``), ``+ bias`` (DC and step currents:
   a ``TimedArray`` of constant segments), ``+ Iexp<k>`` after ``Iexp<k> = Iexp<k> * exp(-dt/tau)
   + in_exp<k>``; then it zeroes the accumulators and integrates with the population's scheme.
   Every variable is dimensionless (mV, ms, the model's current unit) and every sum is written
   one addition per statement, because Brian2 runs each statement through sympy, which reorders
   longer sums; floating-point addition is not associative. Brian2's own integrators are not
   used: they would compute other numbers (and ``euler`` in Brian2 is not the izhikevich scheme).
3. Threshold (``v >= vpeak``) in the ``thresholds`` slot; Brian2 stamps the spike at the *start*
   of the step, n dt, spikesim at its end: this module adds dt to every Brian2 spike time.
   Reset (``v = c; u = u + d``) runs right after, in the ``after_thresholds`` slot (order 2).
4. Plasticity, per plastic synapse group g: every neuron has a presynaptic trace ``x<g>_0``
   with its past values ``x<g>_k`` (x as it stood k steps ago, k up to the group's longest
   delay: a shift register, updated in place of spikesim's ring of past steps) and a
   postsynaptic trace ``y<g>``. In ``after_thresholds``: spnet's weight update when an update
   interval ends with step n (a ``NetworkOperation``, order 0: w = clip(w + (drift + sd)),
   sd *= derivative_decay), the shift and one step of decay of every trace (``run_regularly``,
   order 1), then, in the reset, the traces of the neurons that fired (+= A for the all-to-all
   rules, = A for nearest and spnet). Then, first in the ``synapses`` slot, the ``on_post``
   pathway of each plastic ``Synapses`` object potentiates the synapses onto the neurons that
   fired by ``x<g>_<delay>`` of their source (timing at the synapse), clipped (stdp rules) or
   into the derivative ``sd`` (spnet).
5. Schedule: spikesim delivers a spike of step n over a delay of D steps (D >= 1) into the input
   of step n + D, before that step's integration. In Brian2 the synapses slot of step n comes
   after that step's integration, so the pathway delay is **(D - 1) dt**: the spike is delivered
   in the synapses slot of step n + D - 1 into the accumulator, which the groups slot of step
   n + D consumes. D = 1 (the 2003 network's "no delay") is a zero pathway delay. A plastic
   synapse is depressed in the same ``on_pre`` code, after its weight went into the accumulator,
   by the postsynaptic trace as it stands after step n + D - 1: spikesim's depression at the
   arrival, with the trace as it stands before the integration of step n + D.
   Order of the sums: spikesim adds the external events of a step first (Poisson, random
   pulses, spike times: spikes of a ``SpikeGeneratorGroup`` at step m - 1 with zero delay for
   the events of step m; those of step 0 are the initial values of the accumulators), then the
   arrivals delay by delay (1 first), spike by spike from the highest neuron, group by group (a
   group: the synapses of one channel and plasticity rule), each spike's synapses in table
   order. One ``Synapses`` object per (group, delay), their ``on_pre`` pathways ordered as
   ``script.pathway_order`` finds (events first), reproduces that sum exactly: Brian2's queue
   yields a pathway's synapses spike by spike in index order (highest neuron first, thanks to
   the reversal), then in synapse index order, and the numpy target adds them with
   ``np.add.at``, sequentially. Where two groups of one channel interleave their sources at a
   common target no order of objects is exact; ``build_brian2`` then warns.
6. Record: spikes with a ``SpikeMonitor``; state with a ``StateMonitor`` every step with
   ``when="end"`` (after reset, spikesim's sample of step n stamped (n + 1) dt), subsampled to
   spikesim's ``interval_ms`` (the samples whose step n has (n + 1) % interval == 0); weight
   snapshots by a ``NetworkOperation`` in the synapses slot after the potentiation and before
   the deliveries (where spikesim's snapshot after step n stands: its depressions belong to
   step n + 1), at spikesim's snapshot times; the last one is also the final state of the
   weights (the deliveries of Brian2's last step belong to a step spikesim never runs).

With the cython target, code is compiled without ``-ffast-math`` and with ``-ffp-contract=off``
(Brian2's defaults allow reassociation and fused multiply-adds). Brian2's preferences are
process-global: building sets ``codegen.target``, those compiler flags and ``defaultclock.dt``
for the rest of the process.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..build.network import Network
from ..engine.step import recorded_trains, split_by_population
from ..recording import Rate, Recording, RunInfo, SpikeTrains, Trace, Weights
from .script import RECORDABLE, brian2_script

TARGETS = ("numpy", "cython")


def _script_module(source: str) -> types.ModuleType:
    """Execute the script text as a module (its ``main`` is not run)."""
    module = types.ModuleType("spikesim_brian2_network")
    module.__file__ = "<spikesim brian2 script>"
    code = compile(source, "<spikesim brian2 script>", "exec")
    exec(code, module.__dict__)  # noqa: S102 - our own generated text, see spikesim.bridge.script
    return module


def _check_target(target: str) -> None:
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, got {target!r}")


def build_brian2(network: Network, target: str = "numpy") -> tuple[Any, dict[str, Any]]:
    """The Brian2 twin of ``network``: (``brian2.Network``, monitors).

    Run it with ``net.run(network.n_steps * network.dt_ms * brian2.ms)``. ``monitors["spikes"]`` is
    a ``SpikeMonitor`` of all neurons (one ``NeuronGroup`` named ``neurons``, one subgroup per
    population) whose index k is global neuron N - 1 - k; ``monitors["state"]`` a
    ``StateMonitor`` when state is recorded; ``monitors["weights"]`` the weight snapshots.
    Brian2 spike times are the start of the step: convert with ``recording_from_spike_monitor``
    (``reversed_ids=True``).
    """
    _check_target(target)
    script = brian2_script(network)
    return _script_module(script.source).build(script.arrays, target)


def run_brian2(network: Network, target: str = "numpy") -> Recording:
    """Run ``network`` in Brian2 for its whole duration; a ``Recording`` in spikesim's conventions
    (spikes stamped at the end of the step, population-local ids, spikesim's spike filter,
    traces sampled like spikesim's, rates in spikesim's bins, weight snapshots of the recorded
    and plastic connections at spikesim's times, taken where spikesim takes them)."""
    _check_target(target)
    script = brian2_script(network)
    module = _script_module(script.source)
    _, monitors = module.simulate(script.arrays, target)
    steps, gids = module.spike_steps(monitors["spikes"])
    recording = Recording(_run_info(network))
    _fill_spikes(recording, network, steps, gids)
    if "state" in monitors:
        _fill_traces(recording, network, monitors["state"], script.arrays["record_neurons"])
    if network.weight_plans:
        _fill_weights(recording, network, monitors["weights"])
    recording.status = "complete"
    recording.last_complete_step = network.n_steps - 1
    return recording


def _run_info(network: Network) -> RunInfo:
    import brian2

    from ..api import run_info

    info = run_info(network)
    info.versions = dict(info.versions, brian2=brian2.__version__)
    return info


def _fill_spikes(recording: Recording, network: Network, steps: np.ndarray, gids: np.ndarray) -> None:
    nrn = network.neurons
    dt = network.dt_ms
    order = np.lexsort((gids, steps))  # spikesim's order: by step, then by id
    steps, gids = steps[order], gids[order]
    bin_ms = network.spec.record.rate_bin_ms
    for pop, local, pop_steps in split_by_population(network, steps, gids):
        if bin_ms:
            recording.rates[pop] = _rate(pop_steps, nrn.size(pop), network.n_steps, int(round(bin_ms / dt)), dt)
        trains = recorded_trains(network, pop, local, (pop_steps + 1) * dt)
        if trains is not None:
            recording.spikes[pop] = trains


def _rate(steps: np.ndarray, size: int, n_steps: int, bin_steps: int, dt: float) -> Rate:
    """Population rate in whole bins, as spikesim's binner computes it."""
    whole = n_steps // bin_steps
    counts = np.bincount(steps, minlength=n_steps)[: whole * bin_steps]
    sums = counts.reshape(whole, bin_steps).sum(axis=1)
    bin_ms = bin_steps * dt
    return Rate(bin_ms, np.arange(whole) * bin_ms, sums / (size * bin_ms / 1000.0))


def _fill_traces(recording: Recording, network: Network, state: Any, record_neurons: np.ndarray) -> None:
    dt = network.dt_ms
    row_of = {int(g): r for r, g in enumerate(record_neurons)}
    n_steps = network.n_steps
    for plan in network.trace_plans:
        values = np.asarray(getattr(state, plan.variable)).T  # (steps, recorded neurons), step n at row n
        if plan.variable not in RECORDABLE or values.shape[0] != n_steps:
            raise RuntimeError(f"Brian2 recorded {values.shape[0]} samples of {plan.variable}, expected {n_steps}")
        start = network.neurons.slice(plan.population).start
        columns = [row_of[int(start + i)] for i in plan.node_ids]
        rows = np.nonzero((np.arange(n_steps) + 1) % plan.interval_steps == 0)[0]
        recording.traces.setdefault(plan.population, {})[plan.variable] = Trace(
            (rows + 1) * dt, np.asarray(plan.node_ids), values[rows][:, columns]
        )


def _fill_weights(recording: Recording, network: Network, recorder: Any) -> None:
    """Weight snapshots as spikesim takes them: before the first step (the built weights), at
    every interval and at the end (copied during the Brian2 run by the script's
    ``WeightRecorder``, where spikesim copies them)."""
    total, dt = network.n_steps, network.dt_ms
    taken = {int(s): row for s, row in zip(recorder.steps, recorder.values)}
    positions = recorder.positions
    for plan in network.weight_plans:
        stops = []
        if plan.interval_steps:
            stops += list(range(plan.interval_steps, total, plan.interval_steps))
        stops.append(total)
        columns = np.searchsorted(positions, plan.positions)
        values = [network.synapses.weight[plan.positions]] + [taken[s][columns] for s in stops]
        layout = plan.layout(network)
        recording.weights[plan.connection] = Weights(
            layout.pre, layout.post, layout.delay_ms, np.array([0] + stops, dtype=np.float64) * dt, np.array(values)
        )


def recording_from_spike_monitor(
    monitor: Any,
    populations: Mapping[str, int],
    dt_ms: float | None = None,
    *,
    duration_ms: float | None = None,
    stamp: str = "end",
    name: str = "brian2",
    network_yaml: str = "",
    seed: int = -1,
    reversed_ids: bool = False,
) -> Recording:
    """A ``Recording`` of the spikes of a Brian2 ``SpikeMonitor`` (e.g. to write them with
    ``spikesim.io.hdf5.write_recording``).

    ``populations``: name -> size, in order; they split the monitor's source indices into
    consecutive ranges, and ids become population-local. ``dt_ms``: the step (default: the
    monitor's clock). ``stamp="end"`` adds dt to Brian2's times, which mark the start of the step
    (spikesim's and NEST's convention: the end); ``"start"`` keeps them. ``duration_ms``: the
    simulated time (default: the monitor's clock time). Spikes are ordered by time, then id.
    ``reversed_ids=True``: the monitor's index k is neuron total - 1 - k, as in the networks of
    ``build_brian2``.
    """
    if stamp not in ("end", "start"):
        raise ValueError(f"stamp must be 'end' or 'start', got {stamp!r}")
    import brian2

    dt_ms = float(monitor.clock.dt / brian2.ms) if dt_ms is None else float(dt_ms)
    steps = np.rint(np.asarray(monitor.t_, dtype=np.float64) * 1000.0 / dt_ms).astype(np.int64)
    ids = np.asarray(monitor.i[:], dtype=np.int64)
    if duration_ms is None:
        duration_ms = float(monitor.clock.t / brian2.ms)
    total = sum(int(s) for s in populations.values())
    if len(ids) and ids.max() >= total:
        raise ValueError(f"the monitor has neuron ids up to {int(ids.max())} but populations hold {total} neurons")
    if reversed_ids:
        ids = total - 1 - ids
    order = np.lexsort((ids, steps))
    steps, ids = steps[order], ids[order]
    shift = 1 if stamp == "end" else 0
    info = RunInfo(
        name=name,
        network_yaml=network_yaml,
        seed=seed,
        dt_ms=dt_ms,
        duration_ms=float(duration_ms),
        populations={p: int(s) for p, s in populations.items()},
        versions={"brian2": brian2.__version__},
    )
    recording = Recording(info, status="complete", last_complete_step=int(round(duration_ms / dt_ms)) - 1)
    start = 0
    for pop, size in info.populations.items():
        mask = (ids >= start) & (ids < start + size)
        recording.spikes[pop] = SpikeTrains((steps[mask] + shift) * dt_ms, (ids[mask] - start).astype(np.uint64))
        start += size
    return recording
