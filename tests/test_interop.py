"""Other tools read spikesim's results: libsonata (the file as is), Neo and Elephant, NWB through
pynwb; editors read the JSON Schema of the YAML format. Each library is optional: its tests are
skipped without it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

import spikesim
from spikesim.stats import cv_isi

NETWORK = {
    "name": "interop",
    "run": {"duration_ms": 200, "dt_ms": 0.5, "seed": 3},
    "populations": {
        "exc": {"size": 40, "params": {"preset": "RS"}},
        "inh": {"size": 10, "params": {"preset": "FS"}},
        "pyr": {"size": 3, "model": "izhikevich2007", "params": {"preset": "RS"}},
    },
    "connections": [
        {"name": "ee", "pre": "exc", "post": ["exc", "inh"], "rule": "fixed_probability", "p": 0.2,
         "weight": {"uniform": {"low": 0, "high": 4}}, "delay_ms": 1},
    ],
    "inputs": [
        {"type": "noise", "target": ["exc", "inh"], "mean": 3, "sd": 6},
        {"type": "dc", "target": "pyr", "amplitude": 150},
    ],
    "record": {
        "spikes": "all",
        "state": [{"population": "exc", "variables": ["v", "u"], "neurons": [0, 7]},
                  {"population": "pyr", "variables": ["I"], "neurons": [1], "interval_ms": 1}],
    },
}  # fmt: skip


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    path = tmp_path_factory.mktemp("interop") / "out.h5"
    recording = spikesim.run(spikesim.spec_from_dict(NETWORK), path)
    assert all(len(recording.spikes[pop]) > 10 for pop in ("exc", "inh", "pyr"))  # something to compare
    return path, recording


# ---- SONATA: libsonata reads the file as written


def test_libsonata_reads_spikesim_file(result):
    libsonata = pytest.importorskip("libsonata")
    path, recording = result
    reader = libsonata.SpikeReader(str(path))
    assert sorted(reader.get_population_names()) == ["exc", "inh", "pyr"]
    for pop, trains in recording.spikes.items():
        population = reader[pop]
        assert population.sorting == "by_time"
        got = population.get_dict()
        np.testing.assert_array_equal(got["timestamps"], trains.times_ms)
        np.testing.assert_array_equal(got["node_ids"], trains.node_ids)
        # a selection by node and time window, answered by libsonata itself
        mine = (trains.node_ids == 2) & (trains.times_ms >= 50) & (trains.times_ms <= 150)
        pairs = population.get(node_ids=[2], tstart=50.0, tstop=150.0)
        np.testing.assert_array_equal(sorted(t for _, t in pairs), trains.times_ms[mine])


# ---- Neo and Elephant


def test_neo_spiketrains_per_neuron(result):
    pytest.importorskip("neo")
    import quantities as pq

    from spikesim.interop.neo import to_neo, to_spiketrains

    _, recording = result
    trains = to_spiketrains(recording)
    assert len(trains) == 53
    assert [t.annotations["population"] for t in trains[38:42]] == ["exc", "exc", "inh", "inh"]
    for pop, offset in (("exc", 0), ("inh", 40)):
        spikes = recording.spikes[pop]
        for node in (0, 5, 9):
            train = trains[offset + node]
            assert train.annotations["node_id"] == node and train.name == f"{pop}[{node}]"
            np.testing.assert_array_equal(train.rescale(pq.ms).magnitude, spikes.times_ms[spikes.node_ids == node])
            assert float(train.t_stop.rescale(pq.ms)) == 200.0 and float(train.t_start) == 0.0
    assert len(to_spiketrains(recording, ["pyr"])) == 3
    with pytest.raises(ValueError, match="unknown populations"):
        to_spiketrains(recording, ["nope"])

    block = to_neo(recording)
    assert [g.name for g in block.groups] == ["exc", "inh", "pyr"]
    segment = block.segments[0]
    assert len(segment.spiketrains) == 53 and len(block.groups[1].spiketrains) == 10
    signals = {s.name: s for s in segment.analogsignals}
    v = signals["exc.v"]
    assert v.shape == (400, 2) and v.units == pq.mV
    assert float(v.sampling_period.rescale(pq.ms)) == pytest.approx(0.5)
    np.testing.assert_array_equal(v.magnitude, recording.traces["exc"]["v"].values)
    np.testing.assert_array_equal(v.array_annotations["node_ids"], [0, 7])
    assert signals["exc.u"].units == pq.dimensionless and signals["pyr.I"].units == pq.pA  # 2007 form: pA
    assert block.annotations["seed"] == 3


def test_elephant_statistics_agree(result):
    pytest.importorskip("neo")
    statistics = pytest.importorskip("elephant.statistics")
    import quantities as pq

    from spikesim.interop.neo import to_spiketrains

    _, recording = result
    trains = to_spiketrains(recording, ["exc"])
    rates = [float(statistics.mean_firing_rate(t).rescale(pq.Hz)) for t in trains]
    assert np.mean(rates) == pytest.approx(recording.mean_rate_hz("exc"))
    ids, cvs = cv_isi(recording.spikes["exc"])
    for node, cv in zip(ids[:5], cvs[:5]):
        assert statistics.cv(statistics.isi(trains[node])) == pytest.approx(cv)


# ---- NWB


def test_write_nwb_units_table(result, tmp_path):
    pynwb = pytest.importorskip("pynwb")
    from spikesim.interop.nwb import write_nwb

    _, recording = result
    start = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    out = write_nwb(recording, tmp_path / "out.nwb", session_start_time=start, identifier="run-1")
    assert pynwb.validate(path=str(out)) == []
    with pynwb.NWBHDF5IO(str(out), "r") as io:
        nwb = io.read()
        assert nwb.identifier == "run-1" and nwb.session_start_time == start
        assert "seed 3" in nwb.notes and yaml.safe_load(nwb.source_script)["name"] == "interop"
        units = nwb.units.to_dataframe()
        assert len(units) == 53
        assert units["population"].tolist() == ["exc"] * 40 + ["inh"] * 10 + ["pyr"] * 3
        assert units["node_id"].tolist() == list(range(40)) + list(range(10)) + list(range(3))
        for row in (0, 7, 45, 52):
            pop, node = units["population"].iloc[row], units["node_id"].iloc[row]
            spikes = recording.spikes[pop]
            np.testing.assert_allclose(units["spike_times"].iloc[row] * 1000.0,  # NWB times are seconds
                                       spikes.times_ms[spikes.node_ids == node])
        v = nwb.acquisition["exc_v"]
        assert v.unit == "mV"
        np.testing.assert_array_equal(v.data[()], recording.traces["exc"]["v"].values)
        np.testing.assert_allclose(v.timestamps[()] * 1000.0, recording.traces["exc"]["v"].times_ms)
        assert nwb.acquisition["pyr_I"].unit == "pA"
    with pytest.raises(ValueError, match="timezone"):
        write_nwb(recording, tmp_path / "x.nwb", session_start_time=datetime(2024, 1, 1))


def test_export_nwb_command(result, tmp_path):
    pynwb = pytest.importorskip("pynwb")
    from spikesim.interop.commands import export_nwb

    path, _ = result
    done = CliRunner().invoke(export_nwb, [str(path), "-o", str(tmp_path / "c.nwb")])
    assert done.exit_code == 0, done.output
    assert done.output.strip() == str(tmp_path / "c.nwb")
    with pynwb.NWBHDF5IO(str(tmp_path / "c.nwb"), "r") as io:
        assert len(io.read().units) == 53


# ---- JSON Schema


def test_json_schema_shape_and_command(tmp_path):
    from spikesim.interop.commands import schema
    from spikesim.spec.schema import json_schema

    s = json_schema()
    assert s["title"] == "spikesim network" and "Izhikevich" in s["description"]
    assert s["$schema"].endswith("2020-12/schema")
    assert set(s["required"]) == {"populations", "run"}
    done = CliRunner().invoke(schema, [])
    assert done.exit_code == 0 and json.loads(done.output) == s
    done = CliRunner().invoke(schema, ["-o", str(tmp_path / "s.json")])
    assert json.loads((tmp_path / "s.json").read_text()) == s


def schema_errors(document) -> list[str]:
    jsonschema = pytest.importorskip("jsonschema")
    from spikesim.spec.schema import json_schema

    validator = jsonschema.Draft202012Validator(json_schema())
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_json_schema_accepts_every_model(models_dir):
    jsonschema = pytest.importorskip("jsonschema")
    from spikesim.spec.schema import json_schema

    jsonschema.Draft202012Validator.check_schema(json_schema())
    for path in sorted(models_dir.glob("*.yaml")):
        assert schema_errors(yaml.safe_load(path.read_text())) == [], path.name
    assert schema_errors(NETWORK) == []
    # the short forms the models accept: one name for a list, a synapse type alone
    short = json.loads(json.dumps(NETWORK))
    short["connections"][0].update(pre="exc", post="inh", synapse="voltage_jump")
    spikesim.spec_from_dict(short)  # valid for spikesim ...
    assert schema_errors(short) == []  # ... and for the schema


@pytest.mark.parametrize("change, where", [
    (lambda d: d["populations"]["exc"].update(sise=3), "populations.exc"),
    (lambda d: d["populations"]["exc"].update(size=0), "populations.exc.size"),
    (lambda d: d["connections"][0].update(rule="small_world"), "connections.0.rule"),
    (lambda d: d["inputs"][0].update(type="laser"), "inputs.0"),
    (lambda d: d["connections"][0].update(synapse="gap_junction"), "connections.0.synapse"),
    (lambda d: d.pop("run"), ""),
])  # fmt: skip
def test_json_schema_rejects_what_spikesim_rejects(change, where):
    document = json.loads(json.dumps(NETWORK))
    change(document)
    with pytest.raises(spikesim.SpecError):
        spikesim.spec_from_dict(document)
    errors = schema_errors(document)
    assert errors and any(e.startswith(f"{where}:") for e in errors), errors


def test_optional_libraries_load_only_when_used():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import spikesim.interop.commands, spikesim.interop.neo, spikesim.interop.nwb, spikesim.spec.schema\n"
        "import spikesim.stats, spikesim.summary, spikesim.sweep, spikesim.sweep.commands\n"
        "heavy = ['matplotlib', 'h5py', 'dask', 'distributed', 'neo', 'pynwb', 'libsonata', 'jsonschema']\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
