"""One measurement of the plain C++ spnet loop (``cpp/spnet_plain.cpp``), started by
benchmarks/run.py for the spnet networks where a C++ compiler is present.

    python benchmarks/cpp_child.py JOB_JSON RESULT_PATH

The source is compiled once per session (``g++ -O3 -march=native``, into the job's build folder;
the time is set-up), then the binary runs through ``_rusage_exec.py``, which records its own peak
memory; the binary times its set-up and loop itself. Nothing here imports spikesim.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from common import BENCH_DIR, child_args, cxx_compiler, log, read_kv, write_result

SOURCE = BENCH_DIR / "cpp" / "spnet_plain.cpp"
FLAGS = ["-O3", "-march=native", "-std=c++17"]


def main() -> None:
    job, result_path = child_args()
    res: dict = {"mode": "cpp"}
    cxx = cxx_compiler()
    if cxx is None:
        raise SystemExit("no C++ compiler (c++, g++ or $CXX)")
    build = Path(job["builddir"])
    build.mkdir(parents=True, exist_ok=True)
    binary = build / "spnet_plain"
    res["compile_s"] = 0.0
    if not binary.exists():
        t = time.perf_counter()
        subprocess.run([cxx, *FLAGS, "-o", str(binary), str(SOURCE)], check=True)
        res["compile_s"] = time.perf_counter() - t
        log(f"  C++ compiled in {res['compile_s']:.2f} s")
    res["compiler"] = f"{cxx} {' '.join(FLAGS)}"
    probe, rusage = build / "probe.txt", build / "rusage.json"
    n, steps = int(job["n"]), int(round(job["duration_ms"]))
    cmd = [str(binary), str(n), str(steps), str(job["pulses_per_step"]), str(job.get("seed", 1)), "1" if job["plastic"] else "0", str(probe)]
    subprocess.run([sys.executable, str(BENCH_DIR / "_rusage_exec.py"), str(rusage), *cmd], check=True)
    kv = read_kv(probe)
    binary_run = json.loads(rusage.read_text())
    log(f"  C++ loop {kv['loop_s']:.3f} s, peak {binary_run['maxrss_kb'] / 1024:.0f} MB")
    ne = int(0.8 * n + 0.5)
    res.update(
        loop_s=kv["loop_s"],
        loop_all_s=[kv["loop_s"]],
        loop_cpu_s=kv["loop_cpu_s"],
        binary_setup_s=kv["setup_s"],
        setup_s=res["compile_s"] + kv["setup_s"],
        peak_rss_kb=binary_run["maxrss_kb"],
        spikes={"exc": int(kv["spikes_exc"]), "inh": int(kv["spikes_inh"])},
        n_neurons=n,
        n_exc=ne,
        n_synapses=n * 100,
        n_synapses_by_group={"exc": ne * 100, "inh": (n - ne) * 100},
        simulated_s=steps / 1000.0,
        steps=steps,
        loadavg_1min=os.getloadavg(),
    )
    write_result(result_path, res)


if __name__ == "__main__":
    main()
