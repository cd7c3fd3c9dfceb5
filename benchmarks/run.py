"""spikesim against Brian2, side by side, on the same networks; one command.

    python benchmarks/run.py [--quick] [--only NAME[,NAME...]] [--no-brian2] [--no-profile]
                             [--brian2-target auto|standalone|cython|numpy] [--out results.json]
                             [--plot scaling.png] [--nest [--nest-python PYTHON]] [--no-cpp]
                             [--threads N]

Sections (names for --only): ``startup`` (time from process start to the first chunk of
``spikesim run``, cold and cached Numba kernels), the networks ``spnet_1k``, ``spnet_100k``,
``net2003``, ``static_1m``, and ``scaling`` (spikesim cost against neurons and synaptic events).

Every measurement is a child process of its own, one after the other (``spikesim_child.py``,
``brian2_child.py``, ``bounds_child.py``), so that its peak resident memory (``ru_maxrss``) is its
own. For each network it prints the loop's wall time, set-up time, speed against real time,
synaptic events per second, ns per neuron-step, peak memory and bytes per synapse, and the
spikesim/Brian2 ratios; then a profile of spikesim (loop split, variants with parts switched off,
machine bounds) and the scaling table and plot. Where a C++ compiler is present, the spnet-structured
networks also run in a plain hand-written C++ loop (``cpp/spnet_plain.cpp``, ``cpp_child.py``;
``--no-cpp`` skips it). With ``--nest``, NEST runs the same networks too (``nest_child.py``, one
thread). Every simulator takes its turn in each round, and the spikesim/Brian2, spikesim/C++ and
spikesim/NEST ratios are printed. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BENCH_DIR, MODELS, NETWORKS, apply_edits, cxx_compiler, load_yaml, spnet_size_edits

CASE_NAMES = ["spnet_1k", "spnet_100k", "net2003", "static_1m"]
SECTIONS = ["startup", *CASE_NAMES, "scaling"]
NO_WEIGHT_SNAPSHOTS = {"record.weights": []}


def cases(quick: bool) -> dict[str, dict]:
    """The benchmark networks: spikesim job (YAML + edits) and Brian2 job of each."""
    poly = str(MODELS / "polychronization.yaml")
    out = {}
    # spnet 1000 neurons, 100k plastic synapses: the model file as it is (60 s; quick 5 s)
    t = 5000 if quick else 60000
    out["spnet_1k"] = dict(
        title=f"spnet 1000 neurons, 100k plastic synapses, {t // 1000} s",
        spikesim=dict(yaml=poly, set={"run.duration_ms": t}),
        brian2=dict(model="spnet", n=1000, duration_ms=t, pulses_per_step=1, plastic=True),
        repeats=3,
        rounds=3,
        bounds=dict(n=1000),
    )
    # spnet scaled to 100k neurons, 10M plastic synapses, 5 s (quick: 10k neurons, 1 s)
    n, t = (10000, 1000) if quick else (100000, 5000)
    out["spnet_100k"] = dict(
        title=f"spnet {n // 1000}k neurons, {n // 10000}M plastic synapses, {t / 1000:g} s",
        spikesim=dict(yaml=str(NETWORKS / "spnet_100k.yaml"), set={"run.duration_ms": t, **spnet_size_edits(n)}),
        brian2=dict(model="spnet", n=n, duration_ms=t, pulses_per_step=max(1, n // 1000), plastic=True),
        repeats=1,
        bounds=dict(n=n),
        whole_run=True,  # also as a user runs it: `spikesim run`, plots included
    )
    # the 2003 network, dense 1000 x 1000, 10 s (quick 1 s)
    t = 1000 if quick else 10000
    out["net2003"] = dict(
        title=f"2003 network, 1000 neurons, 1M dense synapses, {t // 1000} s",
        spikesim=dict(yaml=str(MODELS / "izhikevich2003.yaml"), set={"run.duration_ms": t}),
        brian2=dict(model="net2003", duration_ms=t),
        repeats=1 if quick else 3,
        rounds=2,
        bounds=dict(n=1000, synapses_per_neuron=1000),
    )
    # static sparse network, 1M neurons x 100 synapses, 1 s (quick: 50k neurons, 0.5 s)
    n, t = (50000, 500) if quick else (1000000, 1000)
    out["static_1m"] = dict(
        title=f"static sparse, {n // 1000}k neurons x 100 synapses, {t / 1000:g} s",
        spikesim=dict(yaml=str(NETWORKS / "static_1m.yaml"), set={"run.duration_ms": t, **spnet_size_edits(n)}),
        brian2=dict(model="spnet", n=n, duration_ms=t, pulses_per_step=max(1, n // 1000), plastic=False),
        repeats=1,
        bounds=dict(n=n),
    )
    return out


def profile_variants(case: dict) -> dict[str, dict]:
    """spikesim variants with parts switched off (edits on top of the case's own).

    ``no_plasticity`` and ``frozen_plasticity`` (the same rule with w_min = w_max = the initial
    weight, so that no weight ever changes) give identical spike trains: their difference in
    kernel time is the cost of the plasticity machinery alone. ``no_synapses`` keeps neurons,
    inputs and recording; ``neurons_only`` keeps the neuron update alone."""
    plastic = case["brian2"].get("plastic", False)
    variants = {}
    if plastic:
        variants["no_plasticity"] = dict(delete=["connections.0.plasticity"], set=NO_WEIGHT_SNAPSHOTS)
        variants["frozen_plasticity"] = dict(
            set={"connections.0.plasticity.w_min": 6, "connections.0.plasticity.w_max": 6, **NO_WEIGHT_SNAPSHOTS}
        )
    variants["no_synapses"] = dict(delete=["connections"], set=NO_WEIGHT_SNAPSHOTS)
    variants["neurons_only"] = dict(
        delete=["connections", "inputs"], set={"record.spikes": "none", "record.rate_bin_ms": None, **NO_WEIGHT_SNAPSHOTS}
    )
    return variants


def scaling_jobs(quick: bool) -> tuple[list[dict], list[dict]]:
    poly = str(MODELS / "polychronization.yaml")
    if quick:
        by_n = [(1000, 2000), (3000, 1000), (10000, 500)]
        events_n, ks, t_ev = 3000, [1, 3, 10, 30], 1000
    else:
        by_n = [(1000, 10000), (3000, 5000), (10000, 5000), (30000, 2000), (100000, 2000)]
        events_n, ks, t_ev = 10000, [1, 3, 10, 30, 100], 2000
    jobs_n = [
        dict(yaml=poly, set={"run.duration_ms": t, **spnet_size_edits(n), **NO_WEIGHT_SNAPSHOTS}, label=f"N={n}")
        for n, t in by_n
    ]
    jobs_k = [
        dict(yaml=poly, set={"run.duration_ms": t_ev, **spnet_size_edits(events_n, k), **NO_WEIGHT_SNAPSHOTS}, label=f"N={events_n} k={k}")
        for k in ks
    ]
    return jobs_n, jobs_k


# ----------------------------------------------------------------------------- child processes
class Session:
    def __init__(self, workdir: Path, timeout_s: float):
        self.workdir = workdir
        self.timeout_s = timeout_s
        self.counter = 0
        self.numba_cache = workdir / "numba-cache"  # shared by the runs after the cold probe
        self.cold: dict | None = None

    def cache_env(self, numba_cache: Path | None = None) -> dict:
        """Where a child keeps Numba's compiled kernels and spikesim's native modules: the
        session's, or a fresh folder's (``fresh_cache``). ``SPIKESIM_NATIVE=off`` in the
        benchmark's environment measures spikesim on Numba's JIT."""
        cache = numba_cache or self.numba_cache
        return {"NUMBA_CACHE_DIR": str(cache), "SPIKESIM_CACHE_DIR": str(cache / "spikesim"), "SPIKESIM_NATIVE": os.environ.get("SPIKESIM_NATIVE", "auto")}

    def spawn(self, script: str, job: dict, numba_cache: Path | None = None, python: str | None = None, limit_bytes: int | None = None) -> dict:
        """Run one child to its end; its result, with its peak memory, or an error. With
        ``limit_bytes``, the child's address space is limited to that many bytes, so that a
        simulator that needs more memory than the machine has fails on its own allocation
        rather than calling the system's out-of-memory killer."""
        self.counter += 1
        result_path = self.workdir / f"result-{self.counter}.json"
        env = dict(os.environ, **self.cache_env(numba_cache))
        env["PYNEST_QUIET"] = "1"  # no NEST banner on the benchmark's output
        job = dict(job, tmpdir=str(self.workdir), t_parent=time.time())
        started = time.perf_counter()
        proc = subprocess.Popen([python or sys.executable, str(BENCH_DIR / script), json.dumps(job), str(result_path)], env=env,
                                preexec_fn=address_space_limit(limit_bytes) if limit_bytes else None)  # fmt: skip
        usage, status = None, None
        while True:
            pid, st, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                usage, status = ru, st
                break
            if time.perf_counter() - started > self.timeout_s:
                proc.send_signal(signal.SIGKILL)
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        if proc.returncode != 0 or not result_path.exists():
            why = f" (its memory was limited to {limit_bytes / 2**30:.1f} GiB)" if limit_bytes else ""
            return {"error": f"{script} exited with status {proc.returncode} after {wall:.0f} s{why}", "process_wall_s": wall}
        result = json.loads(result_path.read_text())
        # the child's own peak (VmHWM): ru_maxrss starts at the parent's size (see common.own_peak_kb)
        result["wait4_maxrss_kb"] = usage.ru_maxrss
        result["maxrss_kb"] = result.get("vmhwm_kb") or usage.ru_maxrss
        result["process_wall_s"] = wall
        return result


def cold_compile(session: Session) -> dict:
    """Numba compilation from an empty cache (once per session: the kernels do not depend on
    the network): a one-step run of a small spnet. The compiled kernels then fill the session's
    cache, from which every measured run loads them."""
    if session.cold is None:
        cache = fresh_cache(session, "cold")
        job = {"mode": "run", "yaml": str(MODELS / "polychronization.yaml"), "set": {**spnet_size_edits(500), "run.duration_ms": 1}, "repeats": 0}
        session.cold = session.spawn("spikesim_child.py", job, numba_cache=cache)
        shutil.copytree(cache, session.numba_cache, dirs_exist_ok=True)
    return session.cold


def native_compile(session: Session, job: dict) -> dict:
    """Native modules of the network's kernels (``spikesim.native``), as a first `spikesim run`
    leaves them: a probe builds the network, runs one step through Numba's JIT, and compiles
    those it found missing (none where an earlier network has the same kernel types). The
    measured rounds then load them, without Numba."""
    return session.spawn("spikesim_child.py", dict(job, repeats=0, compile_native=True))


def address_space_limit(limit_bytes: int):
    """A function that limits the address space of the (child) process it runs in."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    return limit


def memory_for_a_child() -> int:
    """Nine tenths of the memory available now: the limit of a NEST child, so that NEST fails on
    its own allocation where a network needs more memory than the machine has (static_1m needs
    more than 24 GB in NEST) instead of exhausting the machine."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable"):
            return int(line.split()[1]) * 1024 * 9 // 10
    return 2**62


def fresh_cache(session: Session, name: str) -> Path:
    path = session.workdir / f"numba-cold-{name}-{session.counter}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


# ----------------------------------------------------------------------------- derived numbers
def derived(r: dict, simulator: str) -> dict:
    """Per-run figures from a child's raw result."""
    if not r or "error" in r:
        return {}
    loop, steps, n = r["loop_s"], r["steps"], r["n_neurons"]
    sim = r["simulated_s"]
    if simulator == "cpp":  # the whole binary, as Brian2 standalone's
        events = _events_from_spike_counts(r)
        peak = loop_rss = r["peak_rss_kb"] * 1024
        base = 0
        setup = r["setup_s"]
    elif simulator == "nest":
        events = _events_from_spike_counts(r)
        peak = r["maxrss_kb"] * 1024
        loop_rss = r["rss_loop_max"]
        base = r["rss_after_import"]  # the interpreter and NEST's library
        setup = r["import_s"] + r["setup_s"]
    elif simulator == "brian2":
        events = _events_from_spike_counts(r)
        # standalone: the binary's own peak and resident memory at the end of the loop
        # (runtime targets: the Python process)
        peak = r["peak_rss_kb"] * 1024 if r.get("peak_rss_kb") else r["maxrss_kb"] * 1024
        loop_rss = (r.get("rss_loop_kb") or 0) * 1024 or r.get("rss_before_loop", 0)
        # standalone: the whole binary counts; runtime targets: above the process after import
        base = 0 if r.get("target") == "standalone" else r.get("rss_after_import", 0)
        setup = r["import_s"] + r["setup_s"]  # as spikesim's: from the import on
    else:
        events = r["events"]
        peak = r["maxrss_kb"] * 1024
        loop_rss = r["rss_loop_max"]
        base = r["rss_baseline"]
        setup = r["import_s"] + r["build_s"] + r["kernel_load_s"]
    spikes = sum(r["spikes"].values())
    return {
        "loop_s": loop,
        "loop_cpu_s": r.get("loop_cpu_s"),
        "setup_s": setup,
        "speed_x_realtime": sim / loop,
        "events": events,
        "events_per_s": events / loop,
        "ns_per_neuron_step": loop / (n * steps) * 1e9,
        "ns_per_event": loop / events * 1e9 if events else float("nan"),
        "peak_mb": peak / 2**20,
        # Brian2 standalone: the binary and the Python process that waits for it, together
        "tree_peak_mb": (peak / 1024 + r["python_rss_with_binary_kb"]) / 1024 if r.get("python_rss_with_binary_kb") else None,
        "loop_rss_mb": loop_rss / 2**20,
        "bytes_per_synapse": (loop_rss - base) / r["n_synapses"] if r["n_synapses"] else float("nan"),
        "rate_hz": spikes / n / sim,
        "n_synapses": r["n_synapses"],
        "n_neurons": n,
        "table_bytes_per_synapse": r["table_bytes"] / r["n_synapses"] if r.get("table_bytes") and r["n_synapses"] else None,
    }


def _events_from_spike_counts(r: dict) -> float:
    """Synaptic events of a simulator that reports spikes and synapses by population (exc, inh):
    spikes times the mean outgoing synapses of their population."""
    by = r.get("n_synapses_by_group", {})
    n = r["n_neurons"]
    ne = r.get("n_exc") or int(round(0.8 * n))
    ni = n - ne
    exc_out = by.get("exc", 0) / ne if ne else 0.0
    inh_out = by.get("inh", 0) / ni if ni else 0.0
    return r["spikes"].get("exc", 0) * exc_out + r["spikes"].get("inh", 0) * inh_out


def profile_split(full: dict, variants: dict, plastic: bool) -> dict:
    """Where spikesim's loop time goes: the loop split of the full run (kernel calls, input
    drawing, data hand-off and HDF5, the rest of the Python loop), and the kernel time split
    into stages from the variants, per synaptic event where the stage scales with events."""
    if not full or "error" in full:
        return {}
    split = full.get("loop_split_s", {})
    loop = full["loop_s"]
    kernel = split.get("kernel", 0.0)
    out = {
        "loop_s": loop,
        "kernel_s": kernel,
        "input_drawing_s": split.get("inputs", 0.0),
        "recording_s": split.get("emit", 0.0) + split.get("flush", 0.0),
    }
    out["python_other_s"] = loop - kernel - out["input_drawing_s"] - out["recording_s"]

    def ok(name):
        v = variants.get(name)
        return v if v and "error" not in v and v.get("loop_split_s", {}).get("kernel") is not None else None

    def kern(name):
        return ok(name)["loop_split_s"]["kernel"] if ok(name) else None

    neurons, nosyn = kern("neurons_only"), kern("no_synapses")
    explained = 0.0
    if neurons is not None:
        out["k_neuron_update_s"] = neurons
        explained += neurons
        if nosyn is not None:
            out["k_input_events_and_spikes_s"] = max(0.0, nosyn - neurons)
            explained += out["k_input_events_and_spikes_s"]
    static_run = ok("no_plasticity") if plastic else full
    static_kernel = kern("no_plasticity") if plastic else kernel
    if nosyn is not None and static_run and static_run.get("events"):
        per_event = (static_kernel - nosyn) / static_run["events"]
        out["delivery_ns_per_event"] = per_event * 1e9
        out["k_delivery_s"] = per_event * full["events"]
        explained += out["k_delivery_s"]
    frozen = ok("frozen_plasticity")
    if plastic and frozen and ok("no_plasticity") and frozen.get("plastic_ops") and full.get("plastic_ops"):
        # per plastic synapse update (depression at an arrival, potentiation at a post spike)
        per_op = (kern("frozen_plasticity") - kern("no_plasticity")) / frozen["plastic_ops"]
        out["plasticity_ns_per_update"] = per_op * 1e9
        out["k_plasticity_s"] = per_op * full["plastic_ops"]
        explained += out["k_plasticity_s"]
    if explained:
        out["k_unexplained_s"] = kernel - explained
    return out


# ----------------------------------------------------------------------------- printing
def fmt(x, spec=".3g"):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return format(x, spec)


def ratio(a, b) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    def line(cells):
        return "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(header), line(["-" * w for w in widths]), *[line(r) for r in rows]])


def loops_text(r: dict) -> str:
    rounds = f" in {r['rounds']} rounds" if r.get("rounds", 1) > 1 else ""
    return f"loops{rounds} {', '.join(f'{x:.3f}' for x in r['loop_all_s'])} s"


def row_of(label: str, d: dict, first_setup: float | None) -> list[str]:
    """One simulator's row of a network's table, from its derived figures."""
    return [label, fmt(d["loop_s"], ".3f"), fmt(d["loop_cpu_s"], ".3f"), fmt(d["speed_x_realtime"], ".3g"), fmt(d["setup_s"], ".2f"),
            fmt(first_setup, ".2f"), fmt(d["events_per_s"], ".3g"), fmt(d["ns_per_neuron_step"], ".2f"),
            fmt(d["ns_per_event"], ".2f"), fmt(d["peak_mb"], ".0f"), fmt(d["loop_rss_mb"], ".0f"),
            fmt(d["bytes_per_synapse"], ".1f"), fmt(d["rate_hz"], ".2f")]  # fmt: skip


def ratios_line(other: str, s: dict, o: dict) -> str:
    return (
        f"\nspikesim / {other}: loop time {s['loop_s'] / o['loop_s']:.2f}x (CPU time {ratio(s['loop_cpu_s'], o['loop_cpu_s'])}), peak memory {s['peak_mb'] / o['peak_mb']:.2f}x, "
        f"loop memory {s['loop_rss_mb'] / o['loop_rss_mb']:.2f}x, time per synaptic event {s['ns_per_event'] / o['ns_per_event']:.2f}x"
    )


def native_text(r: dict, probe: dict) -> str:
    """How the measured rounds ran their kernels, and what compiling the native modules took."""
    if "numba_imported" not in r:
        return ""
    how = "Numba's JIT (Numba imported)" if r["numba_imported"] else "native modules (Numba never imported)"
    compiled = probe.get("native_compiled")
    if compiled and compiled[0] + compiled[1]:
        how += f", compiled in the probe before them: {compiled[0]} in {probe['native_compile_s']:.1f} s" + (f", {compiled[1]} failed" if compiled[1] else "")
    return f"kernels: {how}; "


def print_case(name: str, res: dict) -> str:
    case = res["case"]
    s, b, c, ne = (res.get(f"{x}_derived", {}) for x in ("spikesim", "brian2", "cpp", "nest"))
    rows = []
    header = ["simulator", "loop s", "loop CPU s", "x realtime", "setup s", "first-run setup s", "events/s", "ns/neuron-step",
              "ns/event", "peak MB", "loop MB", "B/synapse", "rate Hz"]  # fmt: skip
    first = None  # spikesim's set-up with its kernels compiled from an empty cache
    cold = res.get("spikesim_cold", {})
    if s and cold:
        first = s["setup_s"] - res["spikesim"]["kernel_load_s"] + cold.get("kernel_load_s", float("nan")) + own_compile_s(res["spikesim"])
    labels = {"spikesim": "spikesim", "brian2": f"brian2 {res.get('brian2', {}).get('target', '')}".strip(), "cpp": "plain C++",
              "nest": f"nest {res.get('nest', {}).get('version', '')}".strip()}  # fmt: skip
    for key, label in labels.items():
        d = res.get(f"{key}_derived")
        if d:
            rows.append(row_of(label, d, first if key == "spikesim" else d["setup_s"]))
        elif key in res:
            rows.append([label, "failed"] + [""] * 11)
    text = f"\n== {name}: {case['title']}\n" + table(rows, header)
    for key, label in labels.items():
        if "error" in res.get(key, {}):
            text += f"\n{label} failed: {res[key]['error']}"
    for other, d in (("Brian2", b), ("plain C++", c), ("NEST", ne)):
        if s and d:
            text += ratios_line(other, s, d)
    r = res.get("spikesim", {})
    if r and "error" not in r:
        text += (
            f"\nspikesim: {r['n_neurons']} neurons, {r['n_synapses']} synapses; import {r['import_s']:.2f} s, build {r['build_s']:.2f} s, "
            f"kernels {r['kernel_load_s']:.2f} s cached / {res.get('spikesim_cold', {}).get('kernel_load_s', float('nan')):.2f} s compiled"
            + (f" (+{own_compile_s(r):.2f} s compiling this network's own, in its first round)" if own_compile_s(r) else "")
            + "; "
            + native_text(r, res.get("spikesim_native", {}))
            + f"synapse table {r['table_bytes'] / 2**20:.0f} MB ({r['table_bytes'] / max(1, r['n_synapses']):.1f} B/synapse); "
            f"{loops_text(r)}"
        )
    w = res.get("whole_run")
    if w:
        text += "\nthe whole `spikesim run` (build, loop, plots): " + (
            w["error"] if "error" in w else
            f"{w['wall_s']:.1f} s, peak {w['peak_mb']:.0f} MB" + (f" (the loop's run: {s['peak_mb']:.0f} MB)" if s else "")
            + f"; drew {', '.join(w['pictures'])}"
        )  # fmt: skip
    r = res.get("brian2", {})
    if r and "error" not in r and r.get("target") == "standalone":
        text += (
            f"\nbrian2: {r['n_synapses']} synapses; import {r['import_s']:.2f} s, define {r['define_s']:.2f} s, code generation {r['codegen_s']:.2f} s, "
            f"compilation {r['compile_s']:.2f} s, binary set-up (connectivity, I/O) {r['binary_setup_s']:.2f} s; "
            f"{loops_text(r)}; peak before the loop {(r.get('peak_rss_before_loop_kb') or 0) / 1024:.0f} MB"
        )
        if b.get("tree_peak_mb"):
            text += (
                f"; its Python process, waiting while the binary runs, {r['python_rss_with_binary_kb'] / 1024:.0f} MB: "
                f"{b['tree_peak_mb']:.0f} MB together"
                + (f" (spikesim's peak {s['peak_mb'] / b['tree_peak_mb']:.2f}x that)" if s else "")
            )
    r = res.get("cpp", {})
    if r and "error" not in r:
        text += (
            f"\nplain C++ ({r['compiler']}): compilation {r['compile_s']:.2f} s, binary set-up (connectivity) {r['binary_setup_s']:.2f} s; "
            f"{loops_text(r)}"
        )
    r = res.get("nest", {})
    if r and "error" not in r:
        text += (
            f"\nnest: {r['n_synapses']} synapses; import {r['import_s']:.2f} s, create and connect {r['define_s']:.2f} s, "
            f"prepare {r['prepare_s']:.2f} s; {loops_text(r)}"
        )
    prof = res.get("profile_split")
    if prof:
        text += "\n" + profile_table(prof, res.get("bounds") or {}, res["spikesim"])
    bounds = res.get("bounds")
    if bounds and "error" not in bounds:
        text += (
            f"\nbounds (minimal Numba loops, N={bounds['n']}): neuron update {bounds['neuron_ns_per_neuron_step']:.2f} ns/neuron-step "
            f"(one pass with early exit: {bounds.get('neuron_one_pass_ns_per_neuron_step', float('nan')):.2f}), "
            f"ideal delivery {bounds['deliver_ns_per_event']:.2f} ns/event, random read-modify-write {bounds['rmw_ns_per_event']:.2f} ns"
        )
    variants = res.get("variants", {})
    if variants:
        vrows = []
        for vname, v in variants.items():
            if "error" in v:
                vrows.append([vname, v["error"], "", "", "", ""])
                continue
            sp = v.get("loop_split_s", {})
            vrows.append([vname, fmt(v["loop_s"], ".3f"), fmt(sp.get("kernel"), ".3f"), fmt(sp.get("inputs"), ".3f"),
                          fmt(sp.get("emit", 0) + sp.get("flush", 0), ".3f"), fmt(v["events"], ".3g")])  # fmt: skip
        text += "\n" + table(vrows, ["spikesim variant", "loop s", "kernel s", "inputs s", "emit+flush s", "events"])
    print(text, flush=True)
    return text


def profile_table(prof: dict, bounds: dict, full: dict) -> str:
    """The loop of the full spikesim run, split by stage, with the machine bound of each."""
    loop = prof["loop_s"]
    n_steps = full["n_neurons"] * full["steps"]
    events = full["events"] or float("nan")
    b = bounds if bounds and "error" not in bounds else {}
    rows = []

    def row(label, key, unit=None, per=None, bound=None):
        if key not in prof:
            return
        sec = prof[key]
        cost = sec / per * 1e9 if per else None
        ratio = cost / bound if cost is not None and bound else None
        rows.append([label, fmt(sec, ".3f"), fmt(100 * sec / loop, ".0f"), fmt(cost, ".2f") + (f" {unit}" if unit else ""),
                     fmt(bound, ".2f") if bound else "", fmt(ratio, ".1f") if ratio else ""])  # fmt: skip

    row("kernel: neuron update (+ per-step passes)", "k_neuron_update_s", "ns/neuron-step", n_steps, b.get("neuron_ns_per_neuron_step"))
    row("kernel: input events, spike bookkeeping", "k_input_events_and_spikes_s")
    row("kernel: spike delivery", "k_delivery_s", "ns/event", events, b.get("deliver_ns_per_event"))
    row("kernel: plasticity", "k_plasticity_s", "ns/update", full.get("plastic_ops"), b.get("rmw_ns_per_event"))
    row("kernel: rest (noise, interactions)", "k_unexplained_s")
    row("Python: input drawing", "input_drawing_s")
    row("Python: recording (_emit, HDF5)", "recording_s")
    row("Python: rest of the loop", "python_other_s")
    rows.append(["loop", fmt(loop, ".3f"), "100", "", "", ""])
    return table(rows, ["spikesim loop, by stage", "s", "%", "cost", "bound", "x bound"])


def scaling_rows(results: list[dict]) -> list[dict]:
    rows = []
    for job, r in results:
        d = derived(r, "spikesim")
        if not d:
            rows.append({"label": job["label"], "error": r.get("error")})
            continue
        rows.append({
            "label": job["label"], "neurons": d["n_neurons"], "synapses": d["n_synapses"], "simulated_s": r["simulated_s"],
            "loop_s": d["loop_s"], "s_per_simulated_s": d["loop_s"] / r["simulated_s"], "x_realtime": d["speed_x_realtime"],
            "cpu_s_per_simulated_s": (r.get("loop_cpu_s") or float("nan")) / r["simulated_s"],
            "rate_hz": d["rate_hz"], "events_per_simulated_s": d["events"] / r["simulated_s"],
            "ns_per_neuron_step": d["ns_per_neuron_step"], "ns_per_event": d["ns_per_event"], "peak_mb": d["peak_mb"],
            "build_s": r["build_s"], "kernel_s": r["loop_split_s"].get("kernel"),
        })  # fmt: skip
    return rows


def print_scaling(rows_n: list[dict], rows_k: list[dict]) -> str:
    header = ["network", "synapses", "sim s", "loop s", "s per sim s", "CPU s per sim s", "x realtime", "rate Hz", "events/sim s",
              "ns/neuron-step", "ns/event", "peak MB", "build s"]  # fmt: skip
    out = []
    for title, rows in (("spikesim cost against neurons (spnet structure)", rows_n), ("spikesim cost against synaptic events (thalamic pulses k per step)", rows_k)):
        cells = []
        for r in rows:
            if "error" in r:
                cells.append([r["label"], r["error"]] + [""] * 11)
                continue
            cells.append([r["label"], fmt(r["synapses"], ".3g"), fmt(r["simulated_s"], "g"), fmt(r["loop_s"], ".3f"),
                          fmt(r["s_per_simulated_s"], ".3f"), fmt(r["cpu_s_per_simulated_s"], ".3f"), fmt(r["x_realtime"], ".3g"), fmt(r["rate_hz"], ".2f"),
                          fmt(r["events_per_simulated_s"], ".3g"), fmt(r["ns_per_neuron_step"], ".2f"),
                          fmt(r["ns_per_event"], ".2f"), fmt(r["peak_mb"], ".0f"), fmt(r["build_s"], ".2f")])  # fmt: skip
        out.append(f"\n== {title}\n" + table(cells, header))
    text = "\n".join(out)
    print(text, flush=True)
    return text


def plot_scaling(rows_n: list[dict], rows_k: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows_n = [r for r in rows_n if "error" not in r]
    rows_k = [r for r in rows_k if "error" not in r]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    if rows_n:
        n = [r["neurons"] for r in rows_n]
        cost = [r["s_per_simulated_s"] for r in rows_n]
        ax1.loglog(n, cost, "o-", label="spikesim loop")
        ax1.loglog(n, [cost[0] * x / n[0] for x in n], ":", color="gray", label="linear in N")
        ax1.axhline(1.0, color="k", lw=0.8, ls="--", label="real time")
        ax1.set_xlabel("neurons (100 synapses each, spnet structure)")
        ax1.set_ylabel("wall seconds per simulated second")
        ax1.set_title("cost against network size")
        ax1.legend(fontsize=8)
    for rows, style, label in ((rows_n, "o", "size sweep"), (rows_k, "s", "input sweep (fixed N)")):
        if rows:
            ax2.loglog([r["events_per_simulated_s"] for r in rows], [r["s_per_simulated_s"] for r in rows], style, label=label)
    if rows_n or rows_k:
        ax2.set_xlabel("synaptic events per simulated second")
        ax2.set_ylabel("wall seconds per simulated second")
        ax2.set_title("cost against synaptic events")
        ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------- machine
def machine() -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version(), "cores": os.cpu_count()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        info["cpu"] = platform.processor()
    for mod in ("numpy", "numba", "brian2", "spikesim", "h5py"):
        try:
            info[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001
            info[mod] = None
    cxx = cxx_compiler()
    if cxx:
        try:
            info["cxx"] = subprocess.run([cxx, "--version"], capture_output=True, text=True, check=False).stdout.splitlines()[0]
        except OSError:
            info["cxx"] = cxx
    info["cxx_path"] = cxx
    try:  # which spikesim is measured (read-only git queries)
        git = ["git", "-C", str(BENCH_DIR.parent)]
        info["git_commit"] = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=False).stdout.strip() or None
        if info["git_commit"]:
            dirty = subprocess.run([*git, "status", "--porcelain", "spikesim"], capture_output=True, text=True, check=False).stdout.strip()
            info["git_spikesim_modified"] = bool(dirty)
    except OSError:
        info["git_commit"] = None
    info["loadavg_start"] = os.getloadavg()
    return info


def brian2_target(requested: str, info: dict) -> str | None:
    if info.get("brian2") is None:
        return None
    if requested != "auto":
        return requested
    if info.get("cxx_path"):
        return "standalone"
    return "numpy"


# ----------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small versions of everything (about two minutes)")
    ap.add_argument("--only", action="append", default=[], help=f"sections to run, comma separated: {', '.join(SECTIONS)}")
    ap.add_argument("--no-brian2", action="store_true", help="spikesim only")
    ap.add_argument("--no-profile", action="store_true", help="skip the spikesim variants and machine bounds")
    ap.add_argument("--brian2-target", default="auto", choices=["auto", "standalone", "cython", "numpy"])
    ap.add_argument("--no-cpp", action="store_true", help="skip the plain C++ spnet loop")
    ap.add_argument("--threads", type=int, default=1, help="spikesim's run.threads (default 1: every simulator on one thread)")
    ap.add_argument("--nest", action="store_true", help="run NEST on the same networks too (slow at 100k neurons and more)")
    ap.add_argument("--nest-python", metavar="PYTHON", help="the Python in which NEST is installed (default: this one)")
    ap.add_argument("--out", help="write every number to this JSON file (default: benchmarks/results.json for a full run of every section)")
    ap.add_argument("--plot", help="scaling plot (default: benchmarks/scaling.png for a full run, a temporary file with --quick)")
    ap.add_argument("--repeats", type=int, help="loops per small network (default 3; 1 with --quick)")
    ap.add_argument("--rounds", type=int, help="turns of spikesim and Brian2 per network, each with its repeats "
                    "(default 3 for spnet 1000, 2 for the 2003 network, 1 for the large networks and with --quick)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds allowed to one child process")
    ap.add_argument("--keep", action="store_true", help="keep the working folder (Brian2 projects, Numba caches)")
    ap.add_argument("--report", metavar="RESULTS.json", help="print the tables of a saved run again (nothing is run)")
    args = ap.parse_args(argv)
    if args.report:
        return report(Path(args.report))

    only = [s.strip() for arg in args.only for s in arg.split(",") if s.strip()]
    unknown = [s for s in only if s not in SECTIONS]
    if unknown:
        ap.error(f"unknown section {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    selected = only or SECTIONS
    info = machine()
    target = None if args.no_brian2 else brian2_target(args.brian2_target, info)
    workdir = Path(tempfile.mkdtemp(prefix="spikesim-bench-"))
    session = Session(workdir, args.timeout)
    session.numba_cache.mkdir()
    results: dict = {"machine": info, "quick": args.quick, "brian2_target": target, "startup": {}, "cases": {}, "scaling": {}}
    print(f"spikesim benchmarks{' (quick)' if args.quick else ''}: {info.get('cpu')}, {info['cores']} cores, "
          f"{info.get('memory_gib')} GiB, Python {info['python']}, numpy {info['numpy']}, numba {info['numba']}, "
          f"brian2 {info['brian2']} ({target or 'not run'}); working folder {workdir}", flush=True)  # fmt: skip
    if info.get("brian2") is None and not args.no_brian2:
        print("brian2 is not installed: its side is skipped (pip install brian2)", flush=True)
    if args.nest:
        probe = subprocess.run([args.nest_python or sys.executable, "-c", "import nest, sys; sys.stdout.write(nest.__version__)"],
                               capture_output=True, text=True, check=False, env=dict(os.environ, PYNEST_QUIET="1"))  # fmt: skip
        if probe.returncode != 0:
            ap.error(f"--nest: NEST does not import in {args.nest_python or sys.executable} (pip install nest-simulator, or name "
                     "the Python that has it with --nest-python)")  # fmt: skip
        info["nest"] = probe.stdout.strip() or "?"
        print(f"NEST {info['nest']} in {args.nest_python or sys.executable}", flush=True)
    texts = []
    results["spikesim_source_start"] = source_hashes()
    started = time.perf_counter()
    try:
        if "startup" in selected:
            texts.append(run_startup(session, args.quick, results))
        for name, case in cases(args.quick).items():
            if name not in selected:
                continue
            texts.append(run_case(session, name, case, args, target, results))
        if "scaling" in selected:
            texts.append(run_scaling(session, args, results))
    finally:
        info["loadavg_end"] = os.getloadavg()
        results["spikesim_source_end"] = source_hashes()
        if results["spikesim_source_end"] != results["spikesim_source_start"]:
            print("\nwarning: spikesim's engine or build sources changed during the session; runs may mix versions")
        results["total_wall_s"] = time.perf_counter() - started
        out = args.out or (None if args.quick or only else str(BENCH_DIR / "results.json"))
        if out:
            Path(out).write_text(json.dumps(results, indent=1))
            print(f"\nresults written to {out}")
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"total {results['total_wall_s']:.0f} s; load average {info['loadavg_start'][0]:.2f} at the start, "
          f"{info['loadavg_end'][0]:.2f} at the end (other work on the machine slows the numbers down)")  # fmt: skip
    return 0


def report(path: Path) -> int:
    """Print the tables of a saved results file, with the figures derived by this version."""
    results = json.loads(path.read_text())
    info = results["machine"]
    print(f"{path}: {info.get('cpu')}, {info['cores']} cores, {info.get('memory_gib')} GiB, Python {info['python']}, "
          f"numpy {info['numpy']}, numba {info['numba']}, brian2 {info['brian2']} ({results.get('brian2_target')}); "
          f"load average {info['loadavg_start'][0]:.2f} at the start, {info.get('loadavg_end', [float('nan')])[0]:.2f} at the end")  # fmt: skip
    for model, entry in results.get("startup", {}).items():
        for label, r in entry.items():
            if "first_chunk" in r:
                print(f"start-up {model} ({label}): first chunk done {r['first_chunk']:.2f} s after the process started")
            elif "wall_s" in r:
                print(f"start-up {model} ({label}): `spikesim run --duration-ms 1 --no-plot` {r['wall_s']:.2f} s")
    for name, res in results.get("cases", {}).items():
        plastic = res["case"]["brian2"].get("plastic", False)
        res["spikesim_derived"] = derived(res.get("spikesim"), "spikesim")
        for other in ("brian2", "cpp", "nest"):
            if other in res:
                res[f"{other}_derived"] = derived(res[other], other)
        if "variants" in res:
            res["profile_split"] = profile_split(res["spikesim"], res["variants"], plastic)
        print_case(name, res)
    scaling = results.get("scaling") or {}
    if scaling:
        print_scaling(scaling.get("by_neurons", []), scaling.get("by_events", []))
    return 0


def run_startup(session: Session, quick: bool, results: dict) -> str:
    """Seconds from process start to the first chunk of run_to_file(yaml): cold, then cached."""
    models = ["polychronization.yaml"] if quick else ["polychronization.yaml", "izhikevich2003.yaml"]
    rows = []
    for model in models:
        cache = fresh_cache(session, "startup")
        entry = {}
        for label in ("cold", "cached"):
            # the cold start compiles the native modules after its first chunk, as `spikesim run` does
            job = {"mode": "startup", "yaml": str(MODELS / model), "compile_native": label == "cold"}
            r = session.spawn("spikesim_child.py", job, numba_cache=cache)
            entry[label] = r
            if "error" in r:
                rows.append([model, label, r["error"], "", ""])
            else:
                rows.append([model, label, fmt(r["imported"], ".2f"), fmt(r["first_chunk"], ".2f"), str(r.get("first_chunk_steps"))])
        cli = spikesim_cli()
        if cli:
            out = session.workdir / "cli.h5"
            for i in range(2):
                env = dict(os.environ, **session.cache_env(cache))
                t = time.perf_counter()
                proc = subprocess.run([*cli, "run", str(MODELS / model), "--duration-ms", "1", "--no-plot", "-q", "-o", str(out)],
                                      env=env, capture_output=True, text=True, check=False)  # fmt: skip
                wall = time.perf_counter() - t
                entry[f"cli_{i + 1}"] = {"wall_s": wall, "status": proc.returncode}
                rows.append([model, f"cached (CLI #{i + 1})", "", fmt(wall, ".2f") if proc.returncode == 0 else f"failed: {proc.stderr.strip()[-80:]}",
                             "whole `spikesim run --duration-ms 1 --no-plot`"])  # fmt: skip
            out.unlink(missing_ok=True)
        results["startup"][model] = entry
    text = "\n== start-up: seconds from process start to the first chunk callback of run_to_file (fresh processes)\n"
    text += table(rows, ["model", "Numba cache", "spikesim imported s", "first chunk done s", "steps in chunk"])
    print(text, flush=True)
    return text


def spikesim_cli() -> list[str] | None:
    exe = Path(sys.executable).with_name("spikesim")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("spikesim")
    return [found] if found else [sys.executable, "-m", "spikesim.cli"]


def source_hashes() -> dict[str, str]:
    """Hashes of spikesim's engine and build sources (a change during a session shows here)."""
    import hashlib

    try:
        import spikesim

        base = Path(spikesim.__file__).parent
    except ImportError:
        return {}
    out = {}
    for sub in ("engine", "build"):
        h = hashlib.sha256()
        for f in sorted((base / sub).glob("*.py")):
            h.update(f.read_bytes())
        out[sub] = h.hexdigest()[:16]
    return out


def run_case(session: Session, name: str, case: dict, args, target: str | None, results: dict) -> str:
    print(f"\n-- {name}: {case['title']}", flush=True)
    res: dict = {"case": {k: v for k, v in case.items()}}
    repeats = args.repeats or (1 if args.quick else case["repeats"])
    rounds = args.rounds or (1 if args.quick else case.get("rounds", 1))
    sjob = dict(case["spikesim"], mode="run", repeats=repeats)
    if args.threads > 1:  # spikesim's run.threads (the targets are measured on one thread)
        sjob["set"] = {**sjob.get("set", {}), "run.threads": args.threads}
    bjob = dict(case["brian2"], target=target, builddir=str(session.workdir / f"brian2-{name}"), repeats=repeats)
    res["spikesim_cold"] = cold_compile(session)
    res["spikesim_native"] = native_compile(session, sjob)
    # spikesim and Brian2 take turns, so that both meet the machine's slower and faster phases
    spikesim_rounds, brian2_rounds, cpp_rounds, nest_rounds = [], [], [], []
    cpp = not args.no_cpp and case["brian2"]["model"] == "spnet" and bool(results["machine"].get("cxx_path"))
    cjob = dict(case["brian2"], builddir=str(session.workdir / "cpp"))
    for k in range(rounds):
        if rounds > 1:
            print(f"   round {k + 1} of {rounds}", flush=True)
        spikesim_rounds.append(session.spawn("spikesim_child.py", sjob))
        if target:  # Brian2's project is compiled in the first round; later rounds rerun its binary
            brian2_rounds.append(session.spawn("brian2_child.py", dict(bjob, clean=k == 0)))
        if cpp:  # compiled once per session
            cpp_rounds.append(session.spawn("cpp_child.py", cjob))
        if args.nest:  # one loop per round: NEST builds its network again in each
            nest_rounds.append(session.spawn("nest_child.py", dict(case["brian2"]), python=args.nest_python, limit_bytes=memory_for_a_child()))
    res["spikesim"] = best_round(spikesim_rounds)
    res["spikesim_derived"] = derived(res["spikesim"], "spikesim")
    if target:
        res["brian2"] = best_round(brian2_rounds)
        res["brian2_derived"] = derived(res["brian2"], "brian2")
    if cpp:
        res["cpp"] = best_round(cpp_rounds)
        res["cpp_derived"] = derived(res["cpp"], "cpp")
    if args.nest:
        res["nest"] = best_round(nest_rounds)
        res["nest_derived"] = derived(res["nest"], "nest")
    if case.get("whole_run"):
        res["whole_run"] = whole_run(session, case["spikesim"], sjob.get("set", {}))
    if not args.no_profile:
        res["variants"] = {}
        for vname, edits in profile_variants(case).items():
            vjob = dict(
                sjob,
                set={**sjob.get("set", {}), **edits.get("set", {})},
                delete=sjob.get("delete", []) + edits.get("delete", []),
            )
            print(f"   variant {vname}", flush=True)
            res["variants"][vname] = session.spawn("spikesim_child.py", vjob)
        res["profile_split"] = profile_split(res["spikesim"], res["variants"], case["brian2"].get("plastic", False))
        bounds_job = dict(case["bounds"], events=1e7 if args.quick else 5e7, neuron_updates=5e7 if args.quick else 2e8)
        res["bounds"] = session.spawn("bounds_child.py", bounds_job)
    results["cases"][name] = res
    return print_case(name, res)


def whole_run(session: Session, job: dict, edits: dict) -> dict:
    """Wall time and peak memory of a whole `spikesim run` of the network (the build, the loop,
    then the raster and weight plots, which read the file back), as a user runs it, with the
    session's cached kernels. The edited YAML is written to the working folder (the benchmark's
    networks name no files of their own)."""
    import yaml

    path = session.workdir / "whole-run.yaml"
    path.write_text(yaml.safe_dump(apply_edits(load_yaml(job["yaml"]), edits, job.get("delete"))))
    out, usage = session.workdir / "whole-run.h5", session.workdir / "whole-run-usage.json"
    command = [sys.executable, str(BENCH_DIR / "_rusage_exec.py"), str(usage), *spikesim_cli(), "run", str(path), "-o", str(out), "-q"]
    print("   the whole `spikesim run`", flush=True)
    try:
        proc = subprocess.run(command, env=dict(os.environ, **session.cache_env()), capture_output=True,
                              text=True, timeout=session.timeout_s, check=False)  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"error": f"spikesim run took over {session.timeout_s:.0f} s"}
    pictures = sorted(p.name for p in session.workdir.glob("whole-run*.png"))
    measured = json.loads(usage.read_text()) if usage.exists() else None
    for p in [out, usage, path, *session.workdir.glob("whole-run*.png")]:
        p.unlink(missing_ok=True)
    if proc.returncode != 0 or measured is None:
        return {"error": f"spikesim run exited with status {proc.returncode}: {proc.stderr.strip()[-200:]}"}
    return {"wall_s": measured["wall_s"], "peak_mb": measured["maxrss_kb"] / 1024, "pictures": pictures}


# from the first round: Brian2 compiles its project there, spikesim the kernels of a network unlike
# its warm-up's (build_compile_s, warmup_compile_s)
SETUP_KEYS = ("build_call_s", "codegen_s", "compile_s", "setup_s", "binary_setup_s", "build_compile_s", "warmup_compile_s")


def own_compile_s(r: dict) -> float:
    """Seconds spikesim's first round compiled kernels that the warm-up network does not use."""
    return r.get("build_compile_s", 0.0) + r.get("warmup_compile_s", 0.0)


def best_round(runs: list[dict]) -> dict:
    """One result from rounds of the same child job: the loop numbers of the round with the
    fastest loop, every round's loop times, and the set-up times of the first round (the only one
    in which Brian2 compiles its project)."""
    good = [r for r in runs if "error" not in r]
    if not good:
        return runs[0]
    out = dict(min(good, key=lambda r: r["loop_s"]))
    out.update({k: good[0][k] for k in SETUP_KEYS if k in good[0]})
    out["loop_all_s"] = [x for r in good for x in r["loop_all_s"]]
    out["rounds"] = len(runs)
    return out


def run_scaling(session: Session, args, results: dict) -> str:
    jobs_n, jobs_k = scaling_jobs(args.quick)
    out_n, out_k = [], []
    for jobs, out in ((jobs_n, out_n), (jobs_k, out_k)):
        for job in jobs:
            print(f"-- scaling {job['label']}", flush=True)
            small = "N=100000" not in job["label"]
            r = session.spawn("spikesim_child.py", dict(job, mode="run", repeats=2 if small and not args.quick else 1))
            out.append((job, r))
    rows_n, rows_k = scaling_rows(out_n), scaling_rows(out_k)
    results["scaling"] = {"by_neurons": rows_n, "by_events": rows_k}
    text = print_scaling(rows_n, rows_k)
    plot = Path(args.plot) if args.plot else (Path(tempfile.gettempdir()) / "spikesim-scaling-quick.png" if args.quick else BENCH_DIR / "scaling.png")
    try:
        plot_scaling(rows_n, rows_k, plot)
        print(f"scaling plot written to {plot}")
    except Exception as err:  # noqa: BLE001 - the numbers matter more than the picture
        print(f"scaling plot not written: {err}")
    return text


if __name__ == "__main__":
    sys.exit(main())
