"""Shared helpers of the benchmark harness (benchmarks/run.py and its child processes).

Every measurement runs in a child process of its own (``spikesim_child.py``, ``brian2_child.py``,
``bounds_child.py``) started by ``run.py``; the child writes its result as JSON to a file named on
its command line, and the parent adds the child's peak resident memory (its own VmHWM, which the
child writes with its result; ``ru_maxrss`` from ``wait4`` where there is none). Nothing here
imports spikesim or brian2.
"""

from __future__ import annotations

import copy
import json
import os
import resource
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
MODELS = ROOT / "models"
NETWORKS = BENCH_DIR / "networks"


def load_yaml(path: str | Path) -> dict:
    import yaml

    with open(path) as f:
        return yaml.safe_load(f)


def _parse_path(path: str) -> list:
    return [int(p) if p.isdigit() else p for p in path.split(".")]


def apply_edits(data: dict, set_: dict | None = None, delete: list | None = None) -> dict:
    """A copy of a YAML mapping with dotted-path edits: ``set_ {"run.duration_ms": 5000,
    "inputs.0.k": 10}`` and ``delete ["connections.0.plasticity", "connections"]``."""
    data = copy.deepcopy(data)
    for path, value in (set_ or {}).items():
        keys = _parse_path(path)
        node = data
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    # delete the deepest paths first, and list items from the end, so indices stay valid
    def order(path):
        return (-path.count("."), tuple(-k if isinstance(k, int) else 0 for k in _parse_path(path)))

    for path in sorted(delete or [], key=order):
        keys = _parse_path(path)
        node = data
        try:
            for key in keys[:-1]:
                node = node[key]
            if isinstance(node, list):
                node.pop(keys[-1])
            else:
                node.pop(keys[-1], None)
        except (KeyError, IndexError, TypeError):
            pass
    return data


def spnet_size_edits(n: int, pulses_per_step: int | None = None) -> dict:
    """Edits that scale a spnet-structured YAML (populations exc, inh; input 0 random pulses) to
    ``n`` neurons with the same per-neuron structure: 80 % excitatory, N/1000 pulses per step."""
    ne = int(round(0.8 * n))
    k = pulses_per_step if pulses_per_step is not None else max(1, n // 1000)
    return {"populations.exc.size": ne, "populations.inh.size": n - ne, "inputs.0.k": k}


def write_result(path: str, result: dict) -> None:
    result["child_maxrss_self_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    hwm = own_peak_kb()
    if hwm is not None:
        result["vmhwm_kb"] = hwm
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1, default=_json_default)
    os.replace(tmp, path)


def own_peak_kb() -> int | None:
    """This process's own peak resident memory (VmHWM, Linux), in kB. Unlike ``ru_maxrss``, it
    starts at zero when the process starts its program: Linux carries the ru_maxrss of the
    process that forked it over the exec (a child of a 480 MB process reports 480 MB for
    /bin/true), so that a child lighter than its parent reports the parent's size."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _json_default(x):
    try:
        import numpy as np

        if isinstance(x, np.integer):
            return int(x)
        if isinstance(x, np.floating):
            return float(x)
        if isinstance(x, np.ndarray):
            return x.tolist()
    except ImportError:  # pragma: no cover
        pass
    raise TypeError(f"not JSON serialisable: {type(x)}")


def read_kv(path: Path) -> dict:
    """The "key value" lines a benchmark binary writes (Brian2's inserted probe, the plain C++
    loop's result file), as floats."""
    out = {}
    for line in path.read_text().split("\n"):
        if line.strip():
            key, value = line.split()
            out[key] = float(value)
    return out


def cxx_compiler() -> str | None:
    """The C++ compiler: $CXX, else c++ or g++ on the PATH; None without one."""
    import shutil

    return shutil.which(os.environ.get("CXX", "")) or shutil.which("c++") or shutil.which("g++")


def child_args() -> tuple[dict, str]:
    """(job, result path) from a child's command line: ``child.py JOB_JSON RESULT_PATH``."""
    return json.loads(sys.argv[1]), sys.argv[2]


def rss_bytes() -> int:
    """Current resident set size of this process (Linux /proc; psutil elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import psutil

        return psutil.Process().memory_info().rss


def log(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


class Stopwatch:
    """Accumulates the wall time of wrapped calls (used to split the loop of a run)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def wrap(self, name: str, fn):
        def timed(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t
                self.calls[name] = self.calls.get(name, 0) + 1

        timed.__wrapped__ = fn
        return timed

    def reset(self):
        self.seconds.clear()
        self.calls.clear()
