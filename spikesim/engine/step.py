"""The step loop: the one place that states what happens in a time step (DESIGN.md section 1).

Time is discrete; step n integrates [n dt, (n + 1) dt]. Within step n, in this order:

1. **Input.** I of every neuron is the sum, in this order, of: the external events of step n
   (Poisson, random pulses, spike times) and the synaptic ``current_pulse`` arrivals scheduled
   for step n (most recent spikes first, the highest source first within a step: spnet.cpp's
   order), the dense current of step n (Gaussian noise, file replay), the persistent current
   (DC, step currents), and each exponential current after it has decayed by exp(-dt/tau) and
   received its arrivals of step n. ``voltage_jump`` arrivals are added to v now, before
   integration. Plastic synapses are depressed as their spike arrives (see 4).
2. **Integrate** every neuron with its population's scheme (``izhikevich``: two dt/2 half-steps
   of v with the same u and I, then u over dt with the new v; ``euler``: forward Euler on both).
3. **Threshold and reset**: v >= vpeak fires; the spike is stamped (n + 1) dt (end of the step,
   as NEST and Izhikevich's code; Brian2 stamps n dt); v <- c, u <- u + d.
4. **Plasticity**: for rules with a periodic update (spnet), an interval that ends with this step
   is applied first; then traces decay by one step; then every neuron that fired updates its
   traces and its incoming plastic synapses are potentiated by the presynaptic trace of their
   source as it stood ``delay`` steps earlier (timing at the synapse). The pre side
   (depression) happens at delivery, in stage 1, with the postsynaptic trace as it stands then.
5. **Schedule**: a spike of step n over a synapse of delay D steps (D >= 1) is delivered at step
   n + D. The kernel keeps the ids of the spikes of the last max-delay steps and, at step m,
   delivers the synapses of delay D of the spikes of step m - D (``kernels.deliver``).
6. **Record** spikes and the sampled state variables (values after reset, stamped (n + 1) dt).

Izhikevich's net.m checks the threshold at the start of its next step and adds the weights of its
spikes to the I of that step: the same computation, with its spike times one step later in its
own numbering (REFERENCE.md section 2).

``simulate`` runs the kernels chunk by chunk, hands each chunk's data to the sinks (the in-memory
``Recording``, the HDF5 writer) and flushes them regularly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

import numpy as np

from ..build.memory import check_threads
from ..build.network import Network, exp_decay
from ..errors import Interrupted, NumericalError
from ..native import Kernel
from ..recording import Chunk, Rate, Sink, SpikeTrains, Trace, WeightSnapshot
from .constants import NEURON_BLOCK, NOT_FINITE

if TYPE_CHECKING:
    from ..build.synapses import SynapseTable
    from .checkpoint import Checkpoint

# Dense input buffers are kept under this many float64 values per chunk (64 MiB).
DENSE_BUDGET = 8 * 1024 * 1024
DEFAULT_CHUNK_STEPS = 1000
MAX_CHUNK_STEPS = 10_000
CHUNK_NEURON_STEPS = 10_000_000  # a chunk of a small network: tens of ms of work
# Input events per chunk are kept under about this many (28 bytes each).
EVENT_BUDGET = 2 * 1024 * 1024
# Delivery prefetches ahead (kernels.prefetch_ahead) where the targets alone take more than this,
# i.e. where the synapses have left the caches. Measured: spnet 1000 (0.4 MB of targets) 5 %
# slower with it, spnet 10 000 (4 MB) 8 % faster, 100 000 5 % faster, static 1M x 100 30 % faster.
PREFETCH_ABOVE_BYTES = 2 << 20
# ... and where a spike reaches few synapses at one delay (the table's mean_run_length below
# this): long runs are streamed by the processor's own prefetcher, and asking ahead only costs.
# spnet and static 1M x 100 have 5-6 synapses per run; the 2003 network's all-to-all has 1000,
# and its loop was 5 % slower with prefetching (4 MB of targets).
PREFETCH_BELOW_RUN = 64
# the kernels of ``kernels``, native where their modules are compiled (``spikesim.native``)
RUN_STEPS = Kernel("spikesim.engine.kernels", "run_steps")
SPLIT_SPIKES = Kernel("spikesim.engine.kernels", "split_spikes")


def prefetch_pays(syn: SynapseTable) -> bool:
    """Whether delivery should prefetch ahead: a large table of short runs."""
    return syn.post.nbytes > PREFETCH_ABOVE_BYTES and syn.mean_run_length() < PREFETCH_BELOW_RUN


@dataclass
class State:
    """Everything that changes during a run; a run continued from a copy gives the same result."""

    step: int
    v: np.ndarray
    u: np.ndarray
    I: np.ndarray
    exp_state: np.ndarray  # (n_exp, N)
    hist_ids: np.ndarray  # int32 (max_delay + 1, N): ids of the spikes of recent steps
    hist_count: np.ndarray  # int64 (max_delay + 1,)
    weight: np.ndarray  # the network's stored weights (SynapseTable.weight_store); a copy when plasticity changes them
    deriv: np.ndarray  # spnet's weight derivative sd of the synapses of SynapseTable.derivative_range
    pre_trace: np.ndarray  # (plastic groups, max_delay + 1, N): presynaptic traces of recent steps
    post_trace: np.ndarray  # (plastic groups, N)

    @classmethod
    def initial(cls, network: Network, share_weights: bool = False) -> "State":
        """The state before step 0. Plastic weights are copied, so that the network can be run
        again from its initial weights, unless ``share_weights`` (the network is then spent:
        its weights are the final ones after the run)."""
        n = network.neurons.n
        syn = network.synapses
        slots = syn.max_delay_steps + 1
        deriv_start, deriv_stop = syn.derivative_range
        return cls(
            step=0,
            v=network.neurons.v0.copy(),
            u=network.neurons.u0.copy(),
            I=np.zeros(n),
            exp_state=np.zeros((len(network.exp_tau_ms), n)),
            hist_ids=np.zeros((slots, n), np.int32),
            hist_count=np.zeros(slots, np.int64),
            # static weights are shared with the network: they never change
            weight=syn.weight_store.copy() if syn.plastic and not share_weights else syn.weight_store,
            deriv=np.zeros(deriv_stop - deriv_start),
            pre_trace=np.zeros((syn.n_traces, slots, n)),
            post_trace=np.zeros((syn.n_traces, n)),
        )


class RateBinner:
    """Turns per-step spike counts into population rates in whole bins, across chunks."""

    def __init__(self, sizes: dict[str, int], bin_steps: int, dt_ms: float):
        self.sizes = sizes
        self.bin_steps = bin_steps
        self.dt_ms = dt_ms
        self.pending = {p: np.zeros(0, np.int64) for p in sizes}
        self.next_bin = 0

    def add(self, per_step: dict[str, np.ndarray]) -> dict[str, Rate]:
        out = {}
        for pop, counts in per_step.items():
            counts = np.concatenate([self.pending[pop], counts])
            whole = len(counts) // self.bin_steps
            self.pending[pop] = counts[whole * self.bin_steps :]
            sums = counts[: whole * self.bin_steps].reshape(whole, self.bin_steps).sum(axis=1)
            bin_ms = self.bin_steps * self.dt_ms
            times = (self.next_bin + np.arange(whole)) * bin_ms
            out[pop] = Rate(bin_ms, times, sums / (self.sizes[pop] * bin_ms / 1000.0))
        self.next_bin += whole
        return out

    def get_state(self) -> dict:
        return {"next_bin": self.next_bin, "pending": {p: c.tolist() for p, c in self.pending.items()}}

    def set_state(self, state: dict) -> None:
        self.next_bin = int(state["next_bin"])
        self.pending = {p: np.asarray(c, np.int64) for p, c in state["pending"].items()}


def flush_steps_for(network: Network) -> int:
    """Steps between flushes: ``run.flush_every_ms``, at least one step."""
    return max(1, int(round(network.spec.run.flush_every_ms / network.dt_ms)))


def chunk_steps_for(network: Network) -> int:
    """Steps per chunk: DEFAULT_CHUNK_STEPS; more for small networks (up to about
    CHUNK_NEURON_STEPS neuron-steps, MAX_CHUNK_STEPS and the flush interval), which spend less
    time handing data over; fewer when the dense inputs or the input events of a chunk would
    need too much memory."""
    longer = min(CHUNK_NEURON_STEPS // max(1, network.neurons.n), MAX_CHUNK_STEPS, flush_steps_for(network))
    steps = max(DEFAULT_CHUNK_STEPS, longer)
    if network.inputs.has_dense:
        steps = min(steps, DEFAULT_CHUNK_STEPS)
        steps = min(steps, DENSE_BUDGET // max(1, network.neurons.n))
    events = network.inputs.expected_events_per_step()
    if events > 0:
        steps = min(steps, int(EVENT_BUDGET // events))
    return max(1, steps)


def kernel_for_threads(threads: int):
    """The step kernel for ``run.threads``: ``kernels.run_steps`` for one thread (``RUN_STEPS``:
    native where compiled), else ``kernels.run_steps_threaded`` with Numba using that many
    threads (the same results; always the JIT's)."""
    if threads == 1:
        return RUN_STEPS
    import numba

    from . import kernels

    check_threads(threads)  # checked at the build too; a network may be run where it was not built
    numba.set_num_threads(threads)
    return kernels.run_steps_threaded


def simulate(
    network: Network,
    sinks: Iterable[Sink] = (),
    *,
    resume: Checkpoint | None = None,
    chunk_steps: int | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], int] | None = None,
    checkpoint_every_steps: int | None = None,
    checkpoint_path: str | Path | None = None,
    checkpoint_output: str | None = None,
    share_weights: bool = False,
) -> State:
    """Run ``network`` to the end of its duration, streaming data into ``sinks``; returns the
    final state.

    Starts from step 0, or from ``resume`` (a checkpoint of this network). Sinks are flushed
    every ``run.flush_every_ms`` and closed with status ``complete``, ``interrupted`` or
    ``failed`` (any error, re-raised). ``on_chunk(done_steps, total_steps)`` is called after each
    chunk (progress display). ``should_stop()`` is asked after each chunk: a non-zero answer (a
    signal number) ends the run cleanly after flushing, raising ``Interrupted``. With
    ``checkpoint_every_steps``, the sinks are flushed and a checkpoint is written to
    ``checkpoint_path`` at every multiple of that many steps. ``share_weights`` lets plastic
    weights change in the network's own array (saves a copy; see ``State.initial``).
    """
    sinks = list(sinks)
    spec = network.spec
    dt = network.dt_ms
    total = network.n_steps
    chunk_steps = chunk_steps or chunk_steps_for(network)
    flush_steps = flush_steps_for(network)
    nrn = network.neurons
    p = nrn.params
    syn = network.synapses
    decay = exp_decay(network.exp_tau_ms, dt)
    arrivals = np.zeros((network.n_channels, nrn.n))
    names = nrn.names
    bin_ms = spec.record.rate_bin_ms
    binner = RateBinner(network.population_sizes(), int(round(bin_ms / dt)), dt) if bin_ms else None
    if resume is None:
        state = State.initial(network, share_weights)
        network.inputs.reset()
    else:
        state = resume.state
        network.inputs.set_state(resume.input_states)
        if binner is not None:
            binner.set_state(resume.binner_state)
    # chunks end where the bias changes, where weights are copied out and at checkpoints
    breakpoints = set(network.inputs.breakpoints())
    for every in [plan.interval_steps for plan in network.weight_plans] + [checkpoint_every_steps or 0]:
        if every:
            breakpoints.update(range(every, total, every))
    breakpoints = sorted(b for b in breakpoints if 0 < b < total)
    has_bias = bool(network.inputs.breakpoints())  # DC or step currents exist
    has_jumps = network.has_voltage_jumps
    group_range = syn.spans()
    far = prefetch_pays(syn)
    run_steps = kernel_for_threads(spec.run.threads)
    deriv_start = np.uint64(syn.derivative_range[0])
    spike_capacity = max(chunk_steps, 1) * min(nrn.n, 64) + nrn.n
    spike_step = np.empty(spike_capacity, np.int64)
    spike_id = np.empty(spike_capacity, np.int64)
    status = np.zeros(2, np.int64)
    spiked = np.zeros((nrn.n + 7) // 8 * 8, np.bool_)  # the kernel's scratch: 8-byte words
    bad_blocks = np.zeros(nrn.n // NEURON_BLOCK + 1, np.int64)  # scratch: one flag per block of neurons
    n = state.step
    last_flush = n

    def finish(state_name: str) -> None:
        for sink in sinks:
            sink.close(state_name, n - 1)

    try:
        if network.weight_plans and n == 0:  # the weights before the first step, beside the later snapshots
            initial = {
                plan.connection: WeightSnapshot(np.zeros(1), syn.select_weights(state.weight, plan.group, plan.selection)[None, :])
                for plan in network.weight_plans
            }
            for sink in sinks:
                sink.write(Chunk(0, 0, {}, {}, {}, initial))
        while n < total:
            stop = min(total, n + chunk_steps)
            later = [b for b in breakpoints if b > n]
            if later:
                stop = min(stop, later[0])
            inputs = network.inputs.draw(n, stop - n)
            trace_out = np.empty((stop - n, len(network.trace_neuron)))
            first = n
            while n < stop:
                # A chunk may end early when the spike buffer fills; the rest is run at once.
                j0 = n - first
                done, count = run_steps(
                    n, stop - n, dt,
                    nrn.pop_start, nrn.pop_stop, nrn.pop_form, nrn.pop_scheme,
                    p["a"], p["b"], p["c"], p["d"], p["vpeak"], p["C"], p["k"], p["vr"], p["vt"],
                    state.v, state.u, state.I,
                    (syn.row_ptr, syn.post, state.weight, syn.group_channel, syn.group_weight, syn.group_weight_offset,
                     syn.group_max_delay, syn.group_pointers, far),
                    (syn.group_rule, syn.group_params, syn.group_trace, state.post_trace, state.deriv, deriv_start),
                    (syn.in_ptr, syn.in_syn, syn.in_key, group_range),
                    syn.group_update_steps, state.pre_trace, syn.max_delay_steps,
                    decay, state.exp_state, arrivals, state.hist_ids, state.hist_count,
                    inputs.ev_ptr[j0:] - inputs.ev_ptr[j0], inputs.ev_neuron[inputs.ev_ptr[j0]:],
                    inputs.ev_weight[inputs.ev_ptr[j0]:], inputs.ev_channel[inputs.ev_ptr[j0]:],
                    inputs.dense[j0:], inputs.bias, has_bias, has_jumps,
                    network.trace_neuron, network.trace_variable, trace_out[j0:],
                    spike_step, spike_id, status, spiked, bad_blocks,
                )  # fmt: skip
                _emit(
                    network, sinks, binner, n, n + done, spike_step[:count], spike_id[:count],
                    trace_out[j0 : j0 + done], names, state.weight, total,
                )  # fmt: skip
                n += done
                state.step = n
                if status[0] == NOT_FINITE:
                    neuron = int(status[1])
                    pop = next(q for q in names if nrn.slice(q).start <= neuron < nrn.slice(q).stop)
                    raise NumericalError(
                        f"v or u of neuron {neuron - nrn.slice(pop).start} of population {pop!r} is not finite "
                        f"in the step ending at t = {(n + 1) * dt:g} ms (v = {state.v[neuron]}, u = {state.u[neuron]}); "
                        "data up to the previous step is kept; try a smaller dt_ms or the izhikevich scheme"
                    )
            at_checkpoint = bool(checkpoint_every_steps) and n % checkpoint_every_steps == 0 and n < total
            if n - last_flush >= flush_steps or n == total or at_checkpoint:
                for sink in sinks:
                    sink.flush(n - 1)
                last_flush = n
            if at_checkpoint:
                # after the flush: a checkpoint never refers to data the file does not hold yet
                from .checkpoint import save_checkpoint

                save_checkpoint(checkpoint_path, network, state, binner, checkpoint_output)
            if on_chunk is not None:
                on_chunk(n, total)
            signum = should_stop() if should_stop is not None and n < total else 0
            if signum:
                for sink in sinks:
                    sink.flush(n - 1)
                finish("interrupted")
                raise Interrupted(signum, n * dt)
    except Interrupted:
        raise
    except KeyboardInterrupt:
        finish("interrupted")
        raise
    except BaseException:
        finish("failed")
        raise
    finish("complete")
    return state


def weight_snapshots(network: Network, weight: np.ndarray, stop: int, total: int) -> dict[str, WeightSnapshot]:
    """The weights due to be copied out after step ``stop - 1``: at each interval and at the end."""
    out = {}
    for plan in network.weight_plans:
        due = stop == total or (plan.interval_steps and stop % plan.interval_steps == 0)
        if due:
            values = network.synapses.select_weights(weight, plan.group, plan.selection)
            out[plan.connection] = WeightSnapshot(np.array([stop * network.dt_ms]), values[None, :])
    return out


def split_by_population(network: Network, steps: np.ndarray, ids: np.ndarray):
    """(population, local ids, steps) of the spikes of each population: all of them (the plain
    twin of ``kernels.split_spikes``)."""
    for pop in network.neurons.names:
        sl = network.neurons.slice(pop)
        mask = (ids >= sl.start) & (ids < sl.stop)
        yield pop, ids[mask] - sl.start, steps[mask]


def recorded_trains(network: Network, pop: str, local: np.ndarray, times_ms: np.ndarray) -> SpikeTrains | None:
    """The spikes of ``pop`` that record.spikes keeps (None: the population is not recorded)."""
    if pop not in network.spike_filter:
        return None
    chosen = network.spike_filter[pop]
    if chosen is not None:
        keep = np.isin(local, chosen)
        local, times_ms = local[keep], times_ms[keep]
    return SpikeTrains(times_ms, local.astype(np.uint64, copy=False))


def _emit(network, sinks, binner, first, stop, steps, ids, trace_rows, names, weight, total) -> None:
    """Split one kernel call's output by population and hand it to every sink."""
    if stop <= first:
        return
    dt = network.dt_ms
    spikes, per_step = {}, {}
    n_pops = len(names)
    offsets = np.zeros(n_pops + 1, np.int64)
    local = np.empty(len(ids), np.uint64)
    times_ms = np.empty(len(ids))
    counts = np.zeros((n_pops, stop - first if binner is not None else 0), np.int64)
    SPLIT_SPIKES(steps, ids, network.neurons.pop_stop, first, dt, offsets, local, times_ms, counts)
    for p, pop in enumerate(names):
        if binner is not None:
            per_step[pop] = counts[p]
        part = slice(offsets[p], offsets[p + 1])
        trains = recorded_trains(network, pop, local[part], times_ms[part])
        if trains is not None:
            spikes[pop] = trains
    traces: dict[str, dict[str, Trace]] = {}
    for plan in network.trace_plans:
        rows = np.nonzero((np.arange(first, stop) + 1) % plan.interval_steps == 0)[0]
        traces.setdefault(plan.population, {})[plan.variable] = Trace(
            (first + rows + 1) * dt, plan.node_ids, trace_rows[rows][:, plan.columns]
        )
    rates = binner.add(per_step) if binner is not None else {}
    chunk = Chunk(first, stop, spikes, traces, rates, weight_snapshots(network, weight, stop, total))
    for sink in sinks:
        sink.write(chunk)
