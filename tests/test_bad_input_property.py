"""Property: any description, valid or broken, either runs or fails with spikesim's own one-line
error naming where the problem is; never with another exception, never leaving an output file.

By default the examples are the same on every run (the `default` profile of tests/conftest.py),
so CI is repeatable; `python -m pytest tests/test_bad_input_property.py --hypothesis-profile=explore`
draws new ones on every run."""

import copy
import re

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spikesim
from spikesim.cli import main
from spikesim.errors import SpecError, SpikesimError

BASE = {
    "name": "prop",
    "run": {"duration_ms": 20, "dt_ms": 0.5, "seed": 1},
    "populations": {
        "exc": {"size": 20, "params": {"preset": "RS", "c": {"expr": "-65 + 15*r**2"}}},
        "inh": {"size": 5, "model": "izhikevich2003", "scheme": "euler", "params": {"preset": "FS"}},
    },
    "connections": [
        {"pre": "exc", "post": ["exc", "inh"], "rule": "fixed_probability", "p": 0.3,
         "weight": {"uniform": {"low": 0, "high": 2}}, "delay_ms": 1.5,
         "plasticity": {"rule": "stdp_additive", "A_plus": 0.1, "A_minus": 0.1, "w_max": 3}},
        {"pre": "inh", "post": "exc", "rule": "fixed_indegree", "indegree": 2, "weight": -1,
         "synapse": {"type": "exp_current", "tau_ms": 3}},
    ],
    "inputs": [
        {"type": "poisson", "target": "exc", "rate_hz": 200, "weight": 10},
        {"type": "dc", "target": "inh", "amplitude": 5, "start_ms": 5},
        {"type": "spike_times", "target": "exc", "neurons": [0, 1], "times_ms": [1, 2], "weight": 30},
    ],
    "record": {"spikes": "all", "rate_bin_ms": 1,
               "state": [{"population": "exc", "variables": ["v"], "neurons": [0], "interval_ms": 1}]},
}  # fmt: skip


def paths(node, prefix=()):
    """Every (path, value) in the description."""
    out = [(prefix, node)]
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += paths(v, prefix + (i,))
    return out


ALL_PATHS = [p for p, _ in paths(BASE) if p]
# YAML traps among the values: `off`/`yes` are booleans, `1e-3` is a string to YAML 1.1
REPLACEMENTS = [
    -1, 0, 1, 2.5, 1e-3, 10**12, -1e300, "abc", "1e-3", "5", True, False, None, [], {}, "exc", "nope",
    [1, 2], {"uniform": {"low": 1, "high": 0}}, {"expr": "r +"}, {"expr": "foo(1)"}, {"normal": {"mean": 0}},
    {"values": [1, 2, 3]}, {"file": "missing.npy"}, "current_pulse", "all_to_all", float("nan"), float("inf"),
]  # fmt: skip

mutation = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(ALL_PATHS), st.sampled_from(REPLACEMENTS)),
    st.tuples(st.just("delete"), st.sampled_from(ALL_PATHS), st.none()),
    st.tuples(st.just("typo"), st.sampled_from(ALL_PATHS), st.sampled_from(["sizee", "wieght", "rul", "x"])),
)


def mutate(data, kind, path, value):
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if kind == "set":
        parent[last] = copy.deepcopy(value)
    elif kind == "delete":
        if isinstance(parent, list):
            parent.pop(last)
        else:
            del parent[last]
    elif isinstance(parent, dict):
        parent[value] = parent.pop(last)


PATH_RE = re.compile(r"^[A-Za-z_][\w.]*: |^line \d+: |^not valid YAML|^the top level")


def check_runs_or_fails_cleanly(description):
    try:
        spec = spikesim.spec_from_dict(description)
        if spec.run.duration_ms / spec.run.dt_ms > 400:  # keep generated runs short
            spec = spec.model_copy(update={"run": spec.run.model_copy(update={"duration_ms": 10 * spec.run.dt_ms})})
        spikesim.run(spec)
    except SpecError as err:
        message = str(err)
        assert "\n" not in message
        assert PATH_RE.match(message), message
    except SpikesimError as err:
        assert "\n" not in str(err)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutation, min_size=1, max_size=3))
def test_mutated_descriptions_run_or_fail_with_a_path(mutations):
    data = copy.deepcopy(BASE)
    for kind, path, value in mutations:
        try:
            mutate(data, kind, path, value)
        except (KeyError, IndexError, TypeError):
            pass  # an earlier mutation removed or replaced the parent
    check_runs_or_fails_cleanly(data)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(ALL_PATHS), st.sampled_from(["off", "yes", "1e-3", "~", ".inf", "[", "{a: 1", "- x", "'", "0x1F"]))
def test_yaml_text_traps(path, token):
    """A raw YAML token in place of a value: parsed as YAML would, then validated."""
    data = copy.deepcopy(BASE)
    mutate(data, "set", path, "@@TOKEN@@")
    text = yaml.safe_dump(data, sort_keys=False).replace("'@@TOKEN@@'", token).replace("@@TOKEN@@", token)
    try:
        spec = spikesim.spec_from_yaml(text)
        spikesim.build(spec)
    except SpecError as err:
        assert "\n" not in str(err) and PATH_RE.match(str(err)), str(err)
    except SpikesimError as err:
        assert "\n" not in str(err)


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(ALL_PATHS), st.sampled_from(["abc", -1, None, "nope", {"expr": "q"}]))
def test_cli_prints_one_line_exits_1_and_writes_nothing(tmp_path_factory, path, value):
    folder = tmp_path_factory.mktemp("cli")
    data = copy.deepcopy(BASE)
    mutate(data, "set", path, value)
    (folder / "net.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    result = CliRunner().invoke(main, ["run", str(folder / "net.yaml"), "-o", str(folder / "out.h5"), "-q"])
    if result.exit_code == 0:
        assert (folder / "out.h5").exists()
        return
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("spikesim: error: "), result.stderr
    assert not list(folder.glob("out.h5*"))
