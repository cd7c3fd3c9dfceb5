"""Kernels compiled ahead of time (spikesim.native): the types that pick a module are Numba's, a
module is only called with the types it was compiled for, a kernel that cannot be compiled stays
on the JIT, and a native run gives the JIT's data, bit for bit, without importing Numba."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from spikesim import native

HERE = Path(__file__).parent
needs_compiler = pytest.mark.skipif(
    not any(shutil.which(cc) for cc in ("cc", "gcc", "clang")) or not Path(sysconfig.get_paths()["include"], "Python.h").exists(),
    reason="no C compiler or no Python headers: native modules cannot be built",
)


@pytest.fixture
def native_cache(tmp_path, monkeypatch):
    """Native modules on, in a cache of the test's own, with nothing pending from other tests."""
    monkeypatch.setenv("SPIKESIM_NATIVE", "auto")
    monkeypatch.setenv("SPIKESIM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setattr(native, "_pending", {})
    return tmp_path / "cache" / "native"


def test_descriptions_are_numba_s_types():
    import numba

    a = np.arange(12.0).reshape(3, 4)
    readonly = np.arange(5, dtype=np.int32)
    readonly.flags.writeable = False
    values = [
        a, a.T, a[:, ::2], a[:0], np.zeros(3, np.bool_), np.zeros((2, 2, 2), np.uint64), readonly,
        True, np.bool_(False), 7, -(2**63), 2.5, np.float32(1.5), np.uint64(3), np.int32(-4),
        (a, 3, (readonly, True)), (a, a), (), np.random.default_rng(1), np.random.Generator(np.random.MT19937(2)),
    ]  # fmt: skip
    for value in values:
        assert native.numba_type(native.describe(value)) == numba.typeof(value), repr(value)
    for value in ([1, 2], 2**64, None, np.array(["a"]), np.zeros(2, ">f8"), np.random.RandomState(1), (a, None)):
        assert native.describe(value) is None, repr(value)


@needs_compiler
def test_a_native_kernel_is_called_only_with_its_own_types(native_cache):
    """count_keys called with int64 arrays goes to the JIT and is pending; compiled, the same
    call is native and gives the same counts; with int32 arrays (other types), the JIT again."""
    from spikesim.build.synapses import count_keys

    rng = np.random.default_rng(1)
    pre = np.arange(50, dtype=np.int64)
    delays = rng.integers(1, 5, 200).astype(np.int64)
    expected = np.bincount(np.repeat(pre, 4) * 4 + delays - 1, minlength=200)

    def counts(pre, delays):
        out = np.zeros(200, np.int64)
        count_keys(pre, 4, delays, 4, 0, out)
        return out

    np.testing.assert_array_equal(counts(pre, delays), expected)
    assert native.pending() == [count_keys]
    assert native.compile_pending() == (1, 0)
    assert native.pending() == [] and len(list(native_cache.glob("count_keys_*"))) == 1
    args = (pre, 4, delays, 4, 0, np.zeros(200, np.int64))
    assert count_keys.native(native.describe(args)) is not None
    np.testing.assert_array_equal(counts(pre, delays), expected)
    np.testing.assert_array_equal(counts(pre.astype(np.int32), delays.astype(np.int32)), expected)
    narrow = (pre.astype(np.int32), 4, delays.astype(np.int32), 4, 0, np.zeros(200, np.int64))
    assert count_keys.native(native.describe(narrow)) is None
    assert native.pending() == [count_keys]  # the int32 call: pending, for a module of its own


def allocates(n):
    """A kernel that allocates: native modules are compiled without Numba's runtime, so this one
    cannot be (the JIT can)."""
    return np.zeros(n).sum() + n


@needs_compiler
def test_a_kernel_that_cannot_be_compiled_stays_on_the_jit(native_cache):
    kernel = native.kernel(allocates)
    assert kernel.module == "test_native" and kernel(3) == 3.0
    assert native.compile_pending() == (0, 1)
    (failed,) = native_cache.glob("allocates_*.failed")
    assert "Traceback" in failed.read_text()
    assert kernel(4) == 4.0
    assert native.pending() == []  # marked: not tried again


def _run(model: Path, out: Path, env: dict, *args: str) -> dict:
    """``spikesim run`` in a fresh process; what it imported and its output."""
    code = (
        "import json, sys\n"
        "from spikesim.cli import main\n"
        "try:\n"
        f"    main({['run', str(model), '-o', str(out), '--no-plot', *args]!r})\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "print(json.dumps({'numba': 'numba' in sys.modules, 'llvmlite': 'llvmlite' in sys.modules}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "err": proc.stderr}


@needs_compiler
@pytest.mark.parametrize("model", ["polychronization.yaml", "izhikevich2003.yaml"])
def test_a_native_run_gives_the_jit_s_data_without_numba(native_cache, tmp_path, models_dir, model):
    """The first `spikesim run` of a kind of network compiles its kernels' native modules after
    the run; the second loads them, and never imports Numba or LLVM. Its spikes, rates and
    weights are the JIT's, bit for bit: the 2003 network's Gaussian noise too, drawn by a native
    kernel from NumPy's generator (in a module of its own, with Numba's runtime)."""
    from spikesim.io.hdf5 import read

    env = dict(os.environ)
    first = _run(models_dir / model, tmp_path / "first.h5", env, "--duration-ms", "500")
    assert "native kernels compiled" in first["err"] and first["numba"]
    second = _run(models_dir / model, tmp_path / "native.h5", env, "--duration-ms", "500")
    assert "compiling" not in second["err"]
    assert not second["numba"] and not second["llvmlite"]
    jit = _run(models_dir / model, tmp_path / "jit.h5", dict(env, SPIKESIM_NATIVE="off"), "--duration-ms", "500")
    assert jit["numba"] and "native" not in jit["err"]
    a, b = read(tmp_path / "native.h5"), read(tmp_path / "jit.h5")
    assert sum(len(s.times_ms) for s in a.spikes.values()) > 1000
    for pop in b.spikes:
        np.testing.assert_array_equal(a.spikes[pop].times_ms, b.spikes[pop].times_ms)
        np.testing.assert_array_equal(a.spikes[pop].node_ids, b.spikes[pop].node_ids)
        np.testing.assert_array_equal(a.rates[pop].rate_hz, b.rates[pop].rate_hz)
    assert list(a.weights) == list(b.weights)
    for conn in b.weights:
        np.testing.assert_array_equal(a.weights[conn].values, b.weights[conn].values)
    assert a.info.versions["numba"] == b.info.versions["numba"]
