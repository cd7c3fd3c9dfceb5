"""Kernels compiled ahead of time, so that a run loads them without Numba.

Every kernel of the build and of the step loop is called through a ``Kernel``. For the types of
the arguments of a call, it calls the native module compiled for exactly those types when the
cache holds one; otherwise Numba's JIT (which compiles, or loads Numba's own cache) and the types
are noted as pending. ``compile_pending()`` compiles the pending ones in a child process, with
Numba's ahead-of-time compiler and the C compiler, into one module in the cache (two where some
need Numba's runtime; ``spikesim run`` does it after the run that found them missing: once per
kind of network).

A process whose kernels are all native never imports Numba or LLVM: about 120 MiB less memory
(with Numba, LLVM and a loaded kernel a process takes about 186 MiB before any network; without
them about 60) and a start 0.1-0.2 s quicker. The machine code is LLVM's either way, for this processor,
from the same Python source, compiled with the same options: the results are the same to the bit
(tests compare them).

A kernel's entry in the cache (which module holds it) is named after the kernel, its argument
types, spikesim's source, the versions of Python, NumPy and Numba and the processor, so code that
does not fit is never loaded. A kernel that
cannot be compiled ahead of time (no C compiler, an argument type the compiler refuses) is marked
as such and stays on the JIT. ``SPIKESIM_NATIVE=off`` uses the JIT only; ``SPIKESIM_CACHE_DIR``
moves the cache (default: ``~/.cache/spikesim``).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.metadata
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

# argument descriptions waiting for compile_pending(): (module, name, description) -> Kernel
_pending: dict[tuple, "Kernel"] = {}
# called with no arguments when the JIT starts compiling in this process (not when it loads)
_compile_hooks: list[Callable[[], None]] = []
_jit_seconds = [0.0]


def enabled() -> bool:
    """Whether native modules are used (``SPIKESIM_NATIVE`` is not ``off``)."""
    return os.environ.get("SPIKESIM_NATIVE", "auto").strip().lower() not in ("off", "0", "no", "false")


def cache_dir() -> Path:
    """Where the native modules are kept: ``SPIKESIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/spikesim``
    (``~/.cache/spikesim``), in a folder ``native``."""
    root = os.environ.get("SPIKESIM_CACHE_DIR") or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "spikesim")
    return Path(root) / "native"


# ----------------------------------------------------------------------------- argument types
def describe(value):
    """The type of an argument as Numba would see it, as a hashable tuple without Numba
    (``numba.typeof``): arrays by dtype, dimensions, layout, read-only and alignment; numbers by
    dtype; tuples by their elements; NumPy's random generators. None for anything else (such a
    call goes to the JIT)."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf" or not value.dtype.isnative:
            return None
        layout = "C" if value.flags.c_contiguous else "F" if value.flags.f_contiguous else "A"
        return ("array", value.dtype.name, value.ndim, layout, not value.flags.writeable, bool(value.flags.aligned))
    if isinstance(value, (bool, np.bool_)):
        return ("scalar", "bool")
    if isinstance(value, int):
        return ("scalar", "int64") if -(2**63) <= value < 2**63 else None
    if isinstance(value, float):
        return ("scalar", "float64")
    if isinstance(value, np.generic) and value.dtype.kind in "iuf":
        return ("scalar", value.dtype.name)
    if type(value) is tuple:
        parts = tuple(describe(v) for v in value)
        return None if any(p is None for p in parts) else ("tuple", parts)
    if isinstance(value, np.random.Generator):
        return ("generator",)
    return None


def numba_type(description):
    """The Numba type of a ``describe`` description (in the compiling process)."""
    from numba import types
    from numba.np.numpy_support import from_dtype

    kind = description[0]
    if kind == "array":
        _, dtype, ndim, layout, readonly, aligned = description
        return types.Array(from_dtype(np.dtype(dtype)), ndim, layout, readonly=readonly, aligned=aligned)
    if kind == "scalar":
        return from_dtype(np.dtype(description[1]))
    if kind == "generator":  # one type for every NumPy generator, whatever its bit generator
        return types.NumPyRandomGeneratorType("NumPyRandomGeneratorType")
    return types.BaseTuple.from_types([numba_type(d) for d in description[1]])


def _as_json(description):
    return json.loads(json.dumps(description))


def _from_json(value):
    """A description back from JSON (lists to tuples)."""
    return tuple(_from_json(v) for v in value) if isinstance(value, list) else value


_fingerprint: list[str] = []


def fingerprint() -> str:
    """What a native module depends on besides its kernel and argument types: spikesim's
    source, the versions of Python, NumPy and Numba, and the processor and its features."""
    if not _fingerprint:
        digest = hashlib.sha256()
        package = Path(__file__).parent
        for path in sorted(package.rglob("*.py")):
            digest.update(str(path.relative_to(package)).encode())
            digest.update(path.read_bytes())
        versions = [sys.version, platform.machine(), np.__version__, _version("numba"), _version("llvmlite")]
        digest.update(repr(versions).encode())
        digest.update(_processor().encode())
        _fingerprint.append(digest.hexdigest())
    return _fingerprint[0]


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "none"


def _processor() -> str:
    """The processor's model and features (Linux: /proc/cpuinfo), else what platform says."""
    try:
        with open("/proc/cpuinfo") as f:
            lines = [line for line in f if line.startswith(("model name", "flags", "Features", "CPU part"))]
        return "".join(sorted(set(lines)))
    except OSError:
        return platform.processor() + platform.platform()


# ----------------------------------------------------------------------------- kernels
class Kernel:
    """A kernel called natively where its module is compiled, else through Numba's JIT.

    ``Kernel(module, name)`` is the Numba dispatcher ``module.name``; ``kernel(func)`` (below) is
    a plain Python function of a module without Numba, compiled with ``njit(cache=True)`` when
    the JIT is first needed."""

    def __init__(self, module: str, name: str, func: Callable | None = None):
        self.module = module
        self.name = name
        self._func = func
        self._jit = None
        self._native: dict = {}  # description -> native function, or None where there is none

    def __repr__(self) -> str:
        return f"Kernel({self.module}.{self.name})"

    @property
    def py_func(self) -> Callable:
        """The Python function the kernel is compiled from."""
        return self._func if self._func is not None else self.jit.py_func

    @property
    def jit(self):
        """The kernel's Numba dispatcher (imports Numba)."""
        if self._jit is None:
            if self._func is not None:
                from numba import njit

                self._jit = njit(cache=True)(self._func)
            else:
                self._jit = getattr(importlib.import_module(self.module), self.name)
        return self._jit

    def native(self, description):
        """The native function for arguments of this description; None where there is none.
        The cache is looked at once per description (again after ``compile_pending`` compiled
        it); a miss not marked as failed is noted as pending."""
        if description not in self._native:
            name = _module_name(self, description)
            function = _load(name)
            if function is None and not _failed_path(name).exists():
                _pending[(self.module, self.name, description)] = self
            self._native[description] = function
        return self._native[description]

    def __call__(self, *args):
        description = describe(args) if enabled() else None
        function = None if description is None else self.native(description)
        if function is not None:
            return function(*args)
        return _jit_call(self.jit, args)


def kernel(func: Callable) -> Kernel:
    """Decorator: ``func`` (plain Python and NumPy, as Numba compiles it) becomes a ``Kernel``."""
    return Kernel(func.__module__, func.__name__, func)


def _digest(kernel: Kernel, description) -> str:
    key = json.dumps([kernel.module, kernel.name, _as_json(description), fingerprint()])
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def _module_name(kernel: Kernel, description) -> str:
    return f"{kernel.name}_{_digest(kernel, description)}"


def _entry_path(name: str) -> Path:
    """The entry ``name`` (``_module_name``) in the cache: which compiled module holds it (JSON)."""
    return cache_dir() / (name + ".native")


def _failed_path(name: str) -> Path:
    return cache_dir() / (name + ".failed")


_modules: dict[str, object] = {}


def _load(name: str):
    """The native function of the entry ``name`` in the cache; None where there is none, or
    where it cannot be loaded (the JIT then runs the kernel, and the entry is compiled again)."""
    path = _entry_path(name)
    if not path.exists():
        return None
    try:
        entry = json.loads(path.read_text())
        if entry["file"] not in _modules:
            spec = importlib.util.spec_from_file_location(entry["module"], path.parent / entry["file"])
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            _modules[entry["file"]] = module
        return getattr(_modules[entry["file"]], entry["export"])
    except (OSError, ImportError, ValueError, KeyError, AttributeError):
        return None


# ----------------------------------------------------------------------------- the JIT's compiles
def _jit_call(dispatcher, args):
    _listen_to_compiles()
    return dispatcher(*args)


_listening: list = []


def _listen_to_compiles() -> None:
    """Once per process, when the JIT is first used: time Numba's compiles (outermost ones) and
    call the hooks when one starts."""
    if _listening:
        return
    from numba.core import event

    class Compiles(event.Listener):
        depth = 0
        started = 0.0

        def on_start(self, ev) -> None:
            if self.depth == 0:
                self.started = time.perf_counter()
                for hook in list(_compile_hooks):
                    hook()
            self.depth += 1

        def on_end(self, ev) -> None:
            self.depth -= 1
            if self.depth == 0:
                _jit_seconds[0] += time.perf_counter() - self.started

    listener = Compiles()
    event.register("numba:compile", listener)
    _listening.append(listener)


def jit_seconds() -> float:
    """Seconds this process has spent in the JIT's compiles (loading a cached kernel is not
    compiling)."""
    return _jit_seconds[0]


class on_jit_compile:
    """A context in which ``hook()`` is called whenever the JIT starts compiling a kernel."""

    def __init__(self, hook: Callable[[], None]):
        self.hook = hook

    def __enter__(self):
        _compile_hooks.append(self.hook)
        if "numba" in sys.modules:  # kernels compiled by the JIT directly, not through a Kernel
            _listen_to_compiles()
        return self

    def __exit__(self, *exc):
        _compile_hooks.remove(self.hook)


# ----------------------------------------------------------------------------- compiling
def pending() -> list[Kernel]:
    """Kernels (one per argument types) this process has called through the JIT for want of a
    native module."""
    return list(_pending.values())


def compile_pending() -> tuple[int, int]:
    """Compile the pending kernels into native modules, in a child process; returns (compiled,
    failed). A kernel that fails is marked, with the reason, and not tried again; the others are
    loaded by the next call with their argument types."""
    targets = {key: _module_name(kernel, key[2]) for key, kernel in _pending.items()}
    jobs = [
        {"module": module, "name": name, "description": _as_json(description), "target": targets[module, name, description]}
        for module, name, description in _pending
    ]
    if not jobs:
        return 0, 0
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", suffix=".json", dir=folder, delete=False) as f:
            json.dump(jobs, f)
    except OSError:  # no cache to compile into: the JIT's kernels, and the next run tries again
        return 0, len(jobs)
    try:
        subprocess.run([sys.executable, "-m", "spikesim.native", f.name], check=False, capture_output=True)
    finally:
        os.unlink(f.name)
    compiled = failed = 0
    for key, kernel in list(_pending.items()):
        del _pending[key]
        if _entry_path(targets[key]).exists():
            compiled += 1
            kernel._native.pop(key[2], None)  # found missing before: look again
        else:
            failed += 1
            path = _failed_path(targets[key])
            if not path.exists():
                path.write_text("the compiling process ended without a module\n")
    return compiled, failed


def _needs_runtime(job: dict) -> bool:
    """Whether a kernel's module needs Numba's runtime: to take a NumPy generator (its unboxing
    uses it). The others are compiled without it, as the JIT compiles the step kernel."""
    return "generator" in json.dumps(job["description"])


def _compile(jobs: list[dict], folder: Path) -> None:
    """In the child process: compile kernels for their argument descriptions into one module,
    check that it loads, and write each one's entry."""
    from numba.core import codegen
    from numba.pycc import CC

    # The processor's own features, as the JIT uses them: the default for ahead-of-time code is
    # the features the processor's model implies, some of which a virtual machine may lack.
    codegen.AOTCPUCodegen._customize_tm_features = codegen.CPUCodegen._get_host_cpu_features
    name = "kernels_" + hashlib.sha256(" ".join(job["target"] for job in jobs).encode()).hexdigest()[:24]
    with tempfile.TemporaryDirectory(dir=folder) as build:
        cc = CC(name)
        cc.output_dir = build
        cc.target_cpu = "host"
        cc.use_nrt = any(_needs_runtime(job) for job in jobs)
        for job in jobs:
            source = getattr(importlib.import_module(job["module"]), job["name"])
            argtypes = tuple(numba_type(d) for d in _from_json(job["description"])[1])  # the arguments of ("tuple", arguments)
            cc.export(job["target"], argtypes)(source.py_func)
        cc.compile()
        (built,) = Path(build).glob(name + "*")
        spec = importlib.util.spec_from_file_location(name, built)
        spec.loader.exec_module(importlib.util.module_from_spec(spec))  # loads, or raises why not
        built.replace(folder / built.name)
    for job in jobs:
        entry = folder / (job["target"] + ".native")
        entry.with_suffix(".tmp").write_text(json.dumps({"module": name, "file": built.name, "export": job["target"]}))
        entry.with_suffix(".tmp").replace(entry)


def main(job_file: str) -> None:
    """Compile the jobs of ``job_file`` into one module (and those that need Numba's runtime into
    another); where that fails, each into one of its own, marking those that fail (with the
    reason)."""
    import traceback
    import warnings

    warnings.simplefilter("ignore")  # Numba's notice about its ahead-of-time compiler's future
    folder = Path(job_file).parent
    jobs = json.loads(Path(job_file).read_text())
    for runtime in (False, True):
        batch = [job for job in jobs if _needs_runtime(job) == runtime]
        if len(batch) > 1:
            try:
                _compile(batch, folder)
                continue
            except Exception:
                pass
        for job in batch:
            try:
                _compile([job], folder)
            except Exception:
                (folder / (job["target"] + ".failed")).write_text(traceback.format_exc())


if __name__ == "__main__":
    main(sys.argv[1])
