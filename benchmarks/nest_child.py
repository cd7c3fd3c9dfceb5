"""One NEST measurement in a process of its own (started by benchmarks/run.py with ``--nest``).

    python benchmarks/nest_child.py JOB_JSON RESULT_PATH

NEST runs in this process, on one thread: the network is created and connected (set-up), then
``nest.Prepare`` (also set-up: NEST builds its connection infrastructure there), then the timed
loop ``nest.Run``. The process's peak resident memory is added by the parent (``wait4``); the
interpreter and NEST's library, loaded before the network exists, count as the base that bytes per
synapse leave out, as for spikesim and Brian2's runtime targets. The networks are in
``nest_models.py``.
"""

from __future__ import annotations

import os
import time

import numpy as np
from common import child_args, log, rss_bytes, write_result


def main() -> None:
    job, result_path = child_args()
    res: dict = {"mode": "nest", "since_spawn_at_start_s": time.time() - job.get("t_parent", time.time())}
    t = time.perf_counter()
    import nest
    import nest_models

    res["import_s"] = time.perf_counter() - t
    res["version"] = nest.__version__
    if hasattr(nest, "VerbosityLevel"):
        nest.verbosity = nest.VerbosityLevel.ERROR
    nest.ResetKernel()
    # one thread, as spikesim and Brian2 run; seeded, so every round simulates the same network
    nest.set(resolution=1.0, rng_seed=int(job.get("seed", 1)), local_num_threads=1)
    res["rss_after_import"] = rss_bytes()

    t = time.perf_counter()
    if job["model"] == "spnet":
        net = nest_models.spnet(nest, job["n"], job["pulses_per_step"], job["plastic"])
    elif job["model"] == "net2003":
        net = nest_models.net2003(nest, job.get("ne", 800), job.get("ni", 200), job.get("seed", 1))
    else:
        raise ValueError(job["model"])
    res["define_s"] = time.perf_counter() - t
    t = time.perf_counter()
    nest.Prepare()
    res["prepare_s"] = time.perf_counter() - t
    res["setup_s"] = res["define_s"] + res["prepare_s"]
    res["rss_before_loop"] = rss_bytes()
    log(f"  NEST {res['version']}: network set up in {res['setup_s']:.2f} s")

    t, cpu = time.perf_counter(), time.process_time()
    nest.Run(float(job["duration_ms"]))
    res["loop_s"] = time.perf_counter() - t
    res["loop_cpu_s"] = time.process_time() - cpu
    res["rss_loop_max"] = rss_bytes()
    nest.Cleanup()
    res["loop_all_s"] = [res["loop_s"]]
    res["loadavg_1min"] = os.getloadavg()
    log(f"  NEST loop: {res['loop_s']:.3f} s")

    neurons = net["neurons"]
    ids = np.asarray(net["recorder"].get("events")["senders"]) - neurons[0].global_id
    ne = net["ne"]
    res["spikes"] = {"exc": int((ids < ne).sum()), "inh": int((ids >= ne).sum())}
    res["n_neurons"] = len(neurons)
    res["n_exc"] = ne
    res["n_synapses_by_group"] = net["synapses"]
    res["n_synapses"] = int(sum(net["synapses"].values()))
    # every connection NEST made: the synapses and one per neuron to each device
    res["nest_num_connections"] = int(nest.num_connections)
    res["simulated_s"] = job["duration_ms"] / 1000.0
    res["steps"] = int(round(job["duration_ms"]))
    write_result(result_path, res)


if __name__ == "__main__":
    main()
