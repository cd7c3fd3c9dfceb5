"""The command line as a user meets it: run a model, get a file and a picture; bad input gets one
line and exit status 1, and no output file."""

import subprocess
import sys

import h5py
import numpy as np
import pytest


def spikesim(*args, cwd):
    return subprocess.run([sys.executable, "-m", "spikesim.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_run_flagship_model_writes_sonata_file_and_png(tmp_path, models_dir):
    done = spikesim("run", str(models_dir / "izhikevich2003.yaml"), "--duration-ms", "300", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "izhikevich2003.h5"
    png = tmp_path / "izhikevich2003.png"
    assert out.exists() and png.exists()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "exc" in done.stdout and "Hz" in done.stdout
    with h5py.File(out, "r") as f:
        assert f.attrs["magic"] == 0x0A7A
        times = f["spikes/exc/timestamps"][()]
        ids = f["spikes/exc/node_ids"][()]
        assert f["spikes/exc/timestamps"].attrs["units"] == "ms"
        assert ids.dtype == np.uint64 and len(times) > 500
        assert np.all(np.diff(times) >= 0) and times.max() <= 300
        assert f["spikesim"].attrs["status"] == "complete"
        assert "izhikevich2003" in f["spikesim"].attrs["network_yaml"]


def test_run_writes_where_asked_and_info_reads_it(tmp_path, models_dir):
    done = spikesim("run", str(models_dir / "chain.yaml"), "-o", "out/c.h5", "--plot", "c.svg", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert (tmp_path / "out" / "c.h5").exists() and (tmp_path / "c.svg").exists()
    info = spikesim("info", "out/c.h5", cwd=tmp_path)
    assert info.returncode == 0 and "status complete" in info.stdout and "layer3" in info.stdout


BROKEN = {
    "typo": ("run: {duration_ms: 10}\npopulations: {a: {sise: 3}}\n", "populations.a.sise: unknown key 'sise'"),
    "unknown population": (
        "run: {duration_ms: 10}\npopulations: {a: {size: 3, params: {preset: RS}}}\n"
        "connections: [{pre: a, post: b, rule: all_to_all, weight: 1}]\n",
        "connections.0.post: unknown population 'b'",
    ),
    "delay below a step": (
        "run: {duration_ms: 10, dt_ms: 1}\npopulations: {a: {size: 3, params: {preset: RS}}}\n"
        "connections: [{pre: a, post: a, rule: all_to_all, weight: 1, delay_ms: 0.5}]\n",
        "connections.0.delay_ms: 0.5 ms is below one step",
    ),
    "negative size": ("run: {duration_ms: 10}\npopulations: {a: {size: -1, params: {preset: RS}}}\n", "populations.a.size"),
    "not yaml": ("run: [1, 2\n", "not valid YAML"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_yaml_one_line_exit_1_no_file(tmp_path, case):
    text, expected = BROKEN[case]
    (tmp_path / "net.yaml").write_text(text)
    done = spikesim("run", "net.yaml", "-o", "out.h5", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and expected in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not list(tmp_path.glob("out.h5*")) and not list(tmp_path.glob("*.png"))


def test_missing_file_and_usage_errors(tmp_path):
    done = spikesim("run", "nothere.yaml", cwd=tmp_path)
    assert done.returncode == 1 and "cannot read nothere.yaml" in done.stderr
    done = spikesim("run", cwd=tmp_path)
    assert done.returncode == 2
    done = spikesim("info", "nothere.h5", cwd=tmp_path)
    assert done.returncode == 1 and done.stderr.count("\n") == 1


def test_check_command(tmp_path, models_dir):
    done = spikesim("check", str(models_dir / "izhikevich2003.yaml"), cwd=tmp_path)
    assert done.returncode == 0 and "1000000 synapses" in done.stdout


def test_rates_count_only_the_recorded_neurons(tmp_path):
    import spikesim
    from spikesim.io.hdf5 import read

    y = """
run: {duration_ms: 1000, dt_ms: 1}
populations:
  a: {size: 20, params: {preset: RS}}
inputs:
  - {type: dc, target: a, neurons: [0, 1, 2, 3], amplitude: 10}
record: {spikes: {a: [0, 1, 2, 3]}}
"""
    rec = spikesim.run(spikesim.spec_from_yaml(y), tmp_path / "r.h5")
    per_neuron = len(rec.spikes["a"]) / 4  # spikes per recorded neuron in 1 s
    assert per_neuron > 5
    assert rec.mean_rate_hz("a") == pytest.approx(per_neuron)
    assert read(tmp_path / "r.h5").mean_rate_hz("a") == pytest.approx(per_neuron)


@pytest.mark.parametrize("quiet", [False, True])
def test_a_first_run_says_once_that_it_compiles(capsys, quiet):
    """The seconds Numba spends compiling the kernels of a first run get one line (not with -q);
    kernels already compiled or cached get none."""
    from numba import njit

    from spikesim.cli import _say_when_compiling

    with _say_when_compiling(quiet):
        njit(lambda x: x + 1)(1)  # kernels never seen before: compiled here
        njit(lambda x: x + 2)(1)
    err = capsys.readouterr().err
    assert err.count("compiling the kernels") == (0 if quiet else 1)
    kernel = njit(lambda x: x + 3)
    kernel(1)
    with _say_when_compiling(False):
        kernel(2)
    assert capsys.readouterr().err == ""


def test_run_lets_the_network_go_before_it_draws(tmp_path, models_dir, monkeypatch):
    """The plots read the file back: by then the network (synapses, weights) is freed, so a large
    run's peak memory is its loop's, not the loop's plus the plots'. The weight pictures read the
    snapshots without the synapse layout."""
    import gc

    from click.testing import CliRunner

    import spikesim.cli as cli
    import spikesim.io.hdf5 as hdf5
    from spikesim.build.network import Network

    alive, asked = [], []
    report, read = cli._report, hdf5.read

    def checking_report(*args, **kwargs):
        gc.collect()
        alive.append(sum(type(o) is Network for o in gc.get_objects()))
        return report(*args, **kwargs)

    def noting_read(path, **kwargs):
        asked.append(kwargs.get("weights", "all"))
        return read(path, **kwargs)

    monkeypatch.setattr(cli, "_report", checking_report)
    monkeypatch.setattr(hdf5, "read", noting_read)
    gc.collect()
    before = sum(type(o) is Network for o in gc.get_objects())
    out = tmp_path / "p.h5"
    done = CliRunner().invoke(cli.main, ["run", str(models_dir / "polychronization.yaml"), "--duration-ms", "200", "-o", str(out), "-q"])
    assert done.exit_code == 0, done.output
    assert alive == [before]
    assert asked == ["values"]
    assert (tmp_path / "p.png").exists() and (tmp_path / "p_weights_exc.png").exists()
