"""One spikesim measurement in a process of its own (started by benchmarks/run.py).

    python benchmarks/spikesim_child.py JOB_JSON RESULT_PATH

Job modes:

``run``      load a YAML (with dotted-path edits), build it, run the kernels once on a one-step
             copy of the network (Numba compilation, or loading the cached kernels), then run the
             whole duration ``repeats`` times with ``spikesim.api.run_to_file`` (spikes to HDF5,
             as ``spikesim run`` does), timing the loop and splitting it into kernel time, input
             drawing, data hand-off (``_emit``: splitting spikes, HDF5 writes) and the rest.
``startup``  ``run_to_file(yaml)`` from a fresh process: seconds from the parent's spawn to the
             first chunk callback (the first chunk's steps are done), then stop.

Numba's cache location is the environment's NUMBA_CACHE_DIR, spikesim's native modules'
SPIKESIM_CACHE_DIR (run.py sets them per session). ``compile_native`` in a job: after its
measurements, compile native modules of the kernels it called through Numba's JIT.
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from common import (
    MODELS,
    Stopwatch,
    apply_edits,
    child_args,
    load_yaml,
    log,
    rss_bytes,
    spnet_size_edits,
    write_result,
)


def load_spec(job: dict):
    from spikesim.spec import spec_from_dict

    path = Path(job["yaml"])
    data = apply_edits(load_yaml(path), job.get("set"), job.get("delete"))
    return spec_from_dict(data, base_dir=path.parent)


def outgoing(network, g: int):
    """Outgoing synapses of group g per neuron, from its pointers (each source's delays in a row;
    a group keeps pointers for its own sources only)."""
    import numpy as np

    syn = network.synapses
    out = np.zeros(network.neurons.n, np.int64)
    d = int(syn.group_max_delay[g])
    if d:
        rp = syn.pointers(g)
        first, n_sources = (int(x) for x in syn.group_pointers[g, 1:])
        out[first : first + n_sources] = rp[d::d] - rp[: n_sources * d : d]
    return out


def outdegree_by_population(network) -> dict[str, float]:
    """Mean number of outgoing synapses of a neuron of each population (all groups)."""
    out = sum(outgoing(network, g) for g in range(network.synapses.n_groups))
    return {p: float(out[network.neurons.slice(p)].mean()) for p in network.neurons.names}


def plastic_groups(network) -> list[int]:
    from spikesim.build.plasticity import STATIC

    syn = network.synapses
    return [g for g in range(syn.n_groups) if syn.group_rule[g] != STATIC]


def plastic_synapse_count(network) -> int:
    spans = network.synapses.spans()[plastic_groups(network)]
    return int((spans[:, 1] - spans[:, 0]).sum())


def plastic_degree(network):
    """Plastic synapses of each neuron, outgoing (its pointers) plus incoming (the incoming
    index's pointers): nothing the size of the table is made, nothing is kept for the loop."""
    import numpy as np

    degree = np.zeros(network.neurons.n)
    for g in plastic_groups(network):
        degree += outgoing(network, g) + np.diff(network.synapses.in_ptr[g])
    return degree


def one_step_copy(network):
    """The same built network with a one-step duration (shares every array)."""
    spec = network.spec
    run = spec.run.model_copy(update={"duration_ms": spec.run.dt_ms})
    return dataclasses.replace(network, spec=spec.model_copy(update={"run": run}))


@contextmanager
def compiling(res: dict, key: str):
    """Seconds Numba spends compiling inside the block into res[key]: kernels this session's
    cache does not hold yet, such as the build's and the inputs' kernels of a network unlike the
    warm-up's. They are kept out of the build's and the kernels' cached times (0 with an older
    spikesim, which has no compile timer)."""
    try:
        from spikesim.api import compile_seconds, compile_timer
    except ImportError:
        res[key] = 0.0
        yield
        return
    with compile_timer() as timer:
        yield
    res[key] = compile_seconds(timer)


def run_job(job: dict, result_path: str) -> None:
    t_start = time.time()
    res: dict = {"mode": "run", "since_spawn_at_start_s": t_start - job.get("t_parent", t_start)}
    t = time.perf_counter()
    import numpy as np

    import spikesim
    import spikesim.io.hdf5  # h5py: imported here, not inside the first loop
    from spikesim.api import run_to_file, versions
    from spikesim.engine import simulate, step

    res["import_s"] = time.perf_counter() - t
    # as `spikesim run` does before it builds (freed build temporaries go back to the system)
    try:
        from spikesim.build.memory import return_freed_arrays_to_the_system
    except ImportError:  # an older spikesim
        pass
    else:
        return_freed_arrays_to_the_system()
    res["versions"] = versions()
    res["spikesim_path"] = str(Path(spikesim.__file__).parent)
    spec = load_spec(job)
    res["rss_after_import"] = rss_bytes()

    # kernels: compiled on the first call, or loaded from Numba's cache; first on a tiny spnet
    # (also opening an HDF5 file), so that the memory measured after it is the process's
    # baseline: interpreter, libraries, compiled kernels
    t = time.perf_counter()
    if not job.get("tmpdir"):  # run by hand: a folder of our own, removed at exit
        job["tmpdir"] = tempfile.mkdtemp(prefix="spikesim-bench-")
        atexit.register(shutil.rmtree, job["tmpdir"], True)
    tmpdir = Path(job["tmpdir"])
    tiny = spikesim.build(load_spec({"yaml": str(MODELS / "polychronization.yaml"), "set": {**spnet_size_edits(500), "run.duration_ms": 1}}))
    run_to_file(tiny, tmpdir / "warmup.h5")
    (tmpdir / "warmup.h5").unlink(missing_ok=True)
    del tiny
    res["kernel_load_s"] = time.perf_counter() - t
    res["rss_baseline"] = rss_bytes()
    log(f"  kernels ready in {res['kernel_load_s']:.2f} s")

    t = time.perf_counter()
    with compiling(res, "build_compile_s"):
        network = spikesim.build(spec)
    res["build_s"] = time.perf_counter() - t - res["build_compile_s"]
    res["rss_after_build"] = rss_bytes()
    try:  # as `spikesim run` does after it builds (chunks reuse freed memory)
        from spikesim.build.memory import reuse_freed_arrays_during_the_run
    except ImportError:  # an older spikesim
        pass
    else:
        reuse_freed_arrays_during_the_run()
    syn = network.synapses
    res["n_neurons"] = int(network.neurons.n)
    res["n_synapses"] = int(syn.n_synapses)
    res["n_plastic_synapses"] = plastic_synapse_count(network)
    res["populations"] = network.population_sizes()
    res["steps"] = int(network.n_steps)
    res["dt_ms"] = float(network.dt_ms)
    res["simulated_s"] = network.n_steps * network.dt_ms / 1000.0
    res["outdegree"] = outdegree_by_population(network)
    # plastic synapses per neuron, in and out: the plasticity work of a spike (depression at each
    # arrival of its spikes, potentiation of its incoming synapses at its own spikes)
    plastic_deg = plastic_degree(network)
    res["plastic_degree"] = {p: float(plastic_deg[network.neurons.slice(p)].mean()) for p in network.neurons.names}
    # bytes of the synapse table's arrays (targets, weights, pointers, plasticity index)
    res["table_bytes"] = int(sum(x.nbytes for x in vars(syn).values() if isinstance(x, np.ndarray)))
    log(f"  built {res['n_neurons']} neurons, {res['n_synapses']} synapses in {res['build_s']:.2f} s")

    # the network's own types (nothing left to compile after its first round)
    t = time.perf_counter()
    with compiling(res, "warmup_compile_s"):
        simulate(one_step_copy(network), [])
    res["kernel_load_s"] += time.perf_counter() - t - res["warmup_compile_s"]
    if res["build_compile_s"] + res["warmup_compile_s"] > 0:
        log(f"  compiled this network's own kernels: {res['build_compile_s']:.2f} s in the build, {res['warmup_compile_s']:.2f} s for the steps")
    res["rss_after_warmup"] = rss_bytes()

    if int(job.get("repeats", 1)) == 0:  # a compilation probe: no loop
        native_kernels(job, res)
        write_result(result_path, res)
        return

    # split the loop: kernel calls, input drawing, data hand-off to the sinks, HDF5 flushes.
    # These are spikesim's names at the time of writing; one that is gone is not split out.
    watch = Stopwatch()
    if hasattr(step, "RUN_STEPS"):  # one thread: native where its module is compiled
        step.RUN_STEPS = watch.wrap("kernel", step.RUN_STEPS)
    if network.spec.run.threads > 1 or not hasattr(step, "RUN_STEPS"):  # the JIT's (imports Numba)
        from spikesim.engine import kernels

        for name in ("run_steps", "run_steps_threaded"):
            if hasattr(kernels, name):
                setattr(kernels, name, watch.wrap("kernel", getattr(kernels, name)))
    if hasattr(network.inputs, "draw"):
        network.inputs.draw = watch.wrap("inputs", network.inputs.draw)
    # spikes of every neuron, recorded or not, from the ids handed to _emit(network, sinks,
    # binner, first, stop, steps, ids, ...); not needed (and not timed) where every spike is
    # recorded: the run's own counts are then the same
    filt = getattr(network, "spike_filter", None)
    all_recorded = filt is not None and all(p in filt and filt[p] is None for p in network.neurons.names)
    bounds = np.array([network.neurons.slice(p).start for p in network.neurons.names] + [network.neurons.n])
    counted = np.zeros(len(network.neurons.names), np.int64)
    failed: list[bool] = []

    def counting_emit(emit):
        def wrapped(*args, **kwargs):
            try:
                ids = np.asarray(args[6], dtype=np.int64)
                counted[:] += np.bincount(np.searchsorted(bounds, ids, side="right") - 1, minlength=len(counted))[: len(counted)]
            except Exception:  # noqa: BLE001 - a changed signature: fall back on the recorded counts
                failed.append(True)
            return emit(*args, **kwargs)

        return wrapped

    if hasattr(step, "_emit"):
        step._emit = watch.wrap("emit", step._emit if all_recorded else counting_emit(step._emit))
    writer = getattr(spikesim.io.hdf5, "SpikeFileWriter", None)
    if writer is not None and hasattr(writer, "flush"):
        writer.flush = watch.wrap("flush", writer.flush)

    loops, cpus, loads, splits, rss_loop = [], [], [], [], 0
    summary = None
    for r in range(int(job.get("repeats", 1))):
        out = tmpdir / f"{spec.name}-{r}.h5"
        chunk_times: list[float] = []

        def on_chunk(done, total, chunk_times=chunk_times):
            nonlocal rss_loop
            chunk_times.append(time.perf_counter())
            rss_loop = max(rss_loop, rss_bytes())

        watch.reset()
        counted[:] = 0
        load0 = os.getloadavg()[0]
        t, cpu = time.perf_counter(), time.process_time()
        # the last run learns in the network's own weights, as `spikesim run` does (no copy)
        summary = run_to_file(network, out, on_chunk=on_chunk, consume_network=r == int(job.get("repeats", 1)) - 1)
        loop = time.perf_counter() - t
        cpus.append(time.process_time() - cpu)
        loads.append((load0, os.getloadavg()[0]))
        loops.append(loop)
        splits.append(dict(watch.seconds))
        log(f"  loop {r + 1}: {loop:.3f} s  {({k: round(v, 3) for k, v in watch.seconds.items()})}")
        out.unlink(missing_ok=True)
    best = int(np.argmin(loops))
    res["loop_s"] = loops[best]
    res["loop_all_s"] = loops
    res["loop_cpu_s"] = cpus[best]
    res["loop_cpu_all_s"] = cpus
    res["loadavg_1min"] = loads
    res["loop_split_s"] = splits[best]
    res["rss_loop_max"] = rss_loop
    if hasattr(step, "_emit") and not failed and not all_recorded:
        res["spikes"] = {p: int(c) for p, c in zip(network.neurons.names, counted)}
    else:
        res["spikes"] = dict(summary.spike_counts)
    res["spikes_recorded"] = dict(summary.spike_counts)
    res["events"] = float(sum(res["spikes"].get(p, 0) * d for p, d in res["outdegree"].items()))
    res["plastic_ops"] = float(sum(res["spikes"].get(p, 0) * d for p, d in res["plastic_degree"].items()))
    native_kernels(job, res)
    write_result(result_path, res)


def native_kernels(job: dict, res: dict) -> None:
    """Whether this process ran without Numba (every kernel native: ``spikesim.native``); with
    ``compile_native``, then compile the kernels it called through the JIT, after everything is
    measured (the compiler runs in a process of its own)."""
    res["numba_imported"] = "numba" in sys.modules
    if not job.get("compile_native"):
        return
    try:
        from spikesim import native
    except ImportError:  # an older spikesim
        return
    t = time.perf_counter()
    res["native_compiled"] = native.compile_pending()
    res["native_compile_s"] = time.perf_counter() - t


def startup_job(job: dict, result_path: str) -> None:
    """Seconds from the parent's spawn to the first chunk callback of ``run_to_file``."""
    t_parent = job["t_parent"]
    marks = {"python_started": time.time() - t_parent}
    import spikesim  # noqa: F401
    from spikesim.api import run_to_file
    from spikesim.errors import Interrupted

    marks["imported"] = time.time() - t_parent
    first: list[float] = []

    def on_chunk(done, total):
        if not first:
            first.append(time.time() - t_parent)
            marks["first_chunk_steps"] = done

    if not job.get("tmpdir"):
        job["tmpdir"] = tempfile.mkdtemp(prefix="spikesim-bench-")
        atexit.register(shutil.rmtree, job["tmpdir"], True)
    out = Path(job["tmpdir"]) / "startup.h5"
    try:
        run_to_file(job["yaml"], out, on_chunk=on_chunk, should_stop=lambda: 2 if first else 0)
    except Interrupted:
        pass
    marks["first_chunk"] = first[0]
    for p in (out, out.with_name(out.name + ".partial")):
        p.unlink(missing_ok=True)
    native_kernels(job, marks)
    write_result(result_path, {"mode": "startup", **marks})


if __name__ == "__main__":
    job, result_path = child_args()
    {"run": run_job, "startup": startup_job}[job["mode"]](job, result_path)
    sys.exit(0)
