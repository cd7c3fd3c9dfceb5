"""One Brian2 measurement in a process of its own (started by benchmarks/run.py).

    python benchmarks/brian2_child.py JOB_JSON RESULT_PATH

Targets: ``standalone`` (C++ standalone device: Python generates a C++ project, make compiles
it, the binary builds the connectivity and runs the loop), ``cython`` or ``numpy`` (runtime).

Standalone timing and memory: the binary is started through ``_rusage_exec.py`` (Brian2's
``run_cmd_unix`` preference), which records its wall time and peak resident memory
(``wait4``); code inserted around the network's run records the loop's wall time
(``std::chrono::steady_clock``) and the binary's peak memory before the loop (VmHWM). The loop
is run ``repeats`` times (the binary again; the fastest counts).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from common import BENCH_DIR, child_args, log, read_kv, rss_bytes, write_result

PROBE_BEFORE = r"""
auto __bench_status = [](const char* key) {
    std::ifstream s("/proc/self/status"); std::string line; long v = -1;
    while (std::getline(s, line)) if (line.rfind(key, 0) == 0) v = std::stol(line.substr(std::string(key).size()));
    return v;
};
std::ofstream __bench_f("%(probe)s");
__bench_f << "hwm_before_loop_kb " << __bench_status("VmHWM:") << "\n";
__bench_f << "rss_before_loop_kb " << __bench_status("VmRSS:") << "\n";
auto __bench_t0 = std::chrono::steady_clock::now();
"""
PROBE_AFTER = r"""
__bench_f << "loop_s " << std::chrono::duration<double>(std::chrono::steady_clock::now() - __bench_t0).count() << "\n";
__bench_f << "hwm_after_loop_kb " << __bench_status("VmHWM:") << "\n";
__bench_f << "rss_after_loop_kb " << __bench_status("VmRSS:") << "\n";
__bench_f.close();
"""


def define(b2, job: dict):
    import brian2_models

    b2.defaultclock.dt = 1 * b2.ms
    if job["model"] == "spnet":
        return brian2_models.spnet(b2, job["n"], job["duration_ms"], job["pulses_per_step"], job["plastic"], job.get("seed", 1))
    if job["model"] == "net2003":
        return brian2_models.net2003(b2, job.get("ne", 800), job.get("ni", 200), job.get("seed", 1))
    raise ValueError(job["model"])


def population_spikes(mon, job) -> dict:
    import numpy as np

    ids = np.asarray(mon.i[:])
    if job["model"] == "spnet":
        ne = int(round(0.8 * job["n"]))
    else:
        ne = job.get("ne", 800)
    return {"exc": int((ids < ne).sum()), "inh": int((ids >= ne).sum())}


def main() -> None:
    job, result_path = child_args()
    t_parent = job.get("t_parent", time.time())
    res: dict = {"mode": "brian2", "target": job["target"], "since_spawn_at_start_s": time.time() - t_parent}
    t = time.perf_counter()
    import brian2 as b2

    res["import_s"] = time.perf_counter() - t
    res["rss_after_import"] = rss_bytes()
    res["version"] = b2.__version__
    b2.prefs.logging.console_log_level = "WARNING"
    target = job["target"]
    duration = job["duration_ms"] * b2.ms
    if target == "standalone":
        project = Path(job["builddir"])
        probe = project / "bench_probe.txt"
        rusage = project / "bench_rusage.json"
        b2.set_device("cpp_standalone", directory=str(project), build_on_run=False)
        b2.prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{os.cpu_count() or 1}"]
        b2.prefs.devices.cpp_standalone.run_cmd_unix = [sys.executable, str(BENCH_DIR / "_rusage_exec.py"), str(rusage), "./main"]
        b2.prefs.codegen.cpp.headers = ["<chrono>", "<fstream>", "<string>"]
    else:
        b2.prefs.codegen.target = target

    # one network in every execution of the binary (connectivity, delays and noise are drawn in
    # it): unseeded, each round would draw another network, and the fastest round would pick the
    # quietest of them
    b2.seed(job.get("seed", 1))
    t = time.perf_counter()
    objects, mon, ns = define(b2, job)
    net = b2.Network(objects)
    res["define_s"] = time.perf_counter() - t

    if target == "standalone":
        b2.device.insert_code("before_network_run", PROBE_BEFORE % {"probe": str(probe)})
        b2.device.insert_code("after_network_run", PROBE_AFTER)
        net.run(duration, namespace=ns)
        t = time.perf_counter()
        # clean=False in later rounds: Brian2 rewrites no unchanged source, so make has nothing to do
        b2.device.build(directory=str(project), compile=True, run=True, debug=False, clean=job.get("clean", True), with_output=False)
        res["build_call_s"] = time.perf_counter() - t
        # this process waits, unchanged, while its binary runs: its memory is in use beside the binary's
        res["python_rss_with_binary_kb"] = rss_bytes() // 1024
        make = b2.device.timers["compile"]["make"] or 0.0
        clean = b2.device.timers["compile"]["clean"] or 0.0
        res["compile_s"] = make + clean
        res["codegen_s"] = res["build_call_s"] - res["compile_s"] - b2.device.timers["run_binary"]
        runs = []
        for r in range(int(job.get("repeats", 1))):
            if r:
                b2.device.run(str(project), None, False, [])
            binary = json.loads(rusage.read_text())
            runs.append({**binary, **read_kv(probe), "cpu_loop_s": b2.device._last_run_time})
            log(f"  binary {r + 1}: {binary['wall_s']:.3f} s, loop {runs[-1]['loop_s']:.3f} s, peak {binary['maxrss_kb'] / 1024:.0f} MB")
        best = min(runs, key=lambda x: x["loop_s"])
        res["binary_runs"] = runs
        res["loop_s"] = best["loop_s"]
        res["loop_all_s"] = [x["loop_s"] for x in runs]
        res["loop_cpu_s"] = best["cpu_loop_s"]  # std::clock() around the network's run: CPU time
        res["loadavg_1min"] = os.getloadavg()
        res["binary_wall_s"] = best["wall_s"]
        # set-up inside the binary: connectivity generation, initial values, spike queues, I/O
        res["binary_setup_s"] = best["wall_s"] - best["loop_s"]
        res["setup_s"] = res["define_s"] + res["codegen_s"] + res["compile_s"] + res["binary_setup_s"]
        res["peak_rss_kb"] = max(x["maxrss_kb"] for x in runs)
        res["peak_rss_before_loop_kb"] = best.get("hwm_before_loop_kb")
        res["rss_loop_kb"] = best.get("rss_after_loop_kb")
        res["python_maxrss_kb"] = None  # filled by the parent (the Python process's own peak)
    else:
        t = time.perf_counter()
        net.run(0 * b2.ms, namespace=ns)  # code generation and compilation of every object
        res["compile_s"] = time.perf_counter() - t
        res["rss_before_loop"] = rss_bytes()
        t, cpu = time.perf_counter(), time.process_time()
        net.run(duration, namespace=ns)
        res["loop_s"] = time.perf_counter() - t
        res["loop_cpu_s"] = time.process_time() - cpu
        res["loop_all_s"] = [res["loop_s"]]
        res["setup_s"] = res["define_s"] + res["compile_s"]
    spikes = population_spikes(mon, job)
    res["spikes"] = spikes
    res["n_synapses"] = int(sum(len(o) for o in objects if isinstance(o, b2.Synapses) and o.name in ("exc", "inh")))
    res["n_neurons"] = len(objects[0])
    res["simulated_s"] = job["duration_ms"] / 1000.0
    res["steps"] = int(round(job["duration_ms"]))
    res["n_synapses_by_group"] = {o.name: len(o) for o in objects if isinstance(o, b2.Synapses)}
    write_result(result_path, res)


if __name__ == "__main__":
    main()
