"""Invalid descriptions fail before anything runs, with one line naming the path and the value."""

import pytest

from spikesim import SpecError, build, spec_from_yaml

VALID = """
name: small
run: {duration_ms: 100, dt_ms: 0.5, seed: 1}
populations:
  exc: {size: 10, params: {preset: RS, c: {expr: "-65 + 15*r**2"}}}
  inh: {size: 5, params: {preset: FS}}
connections:
  - {pre: exc, post: [exc, inh], rule: fixed_probability, p: 0.5, weight: {uniform: {low: 0, high: 1}}, delay_ms: 1.5}
inputs:
  - {type: poisson, target: exc, rate_hz: 10, weight: 3}
record:
  state: [{population: exc, variables: [v], neurons: [0, 1], interval_ms: 1}]
"""


def test_valid_description_loads():
    spec = spec_from_yaml(VALID)
    assert spec.populations["exc"].size == 10
    assert spec.connections[0].post == ["exc", "inh"]
    assert spec.connections[0].delay_ms == 1.5


BROKEN = [
    # (replace this, with that, expected path, words expected in the message)
    ("size: 10", "size: -3", "populations.exc.size", "-3"),
    ("size: 10", "size: ten", "populations.exc.size", "ten"),
    ("size: 10", "sise: 10", "populations.exc.sise", "unknown key"),
    ("p: 0.5", "p: 1.5", "connections.0.p", "1.5"),
    ("p: 0.5", "p: 0.5, indegree: 3", "connections.0", "indegree"),
    ("post: [exc, inh]", "post: [exc, inhib]", "connections.0.post", "'inhib'"),
    ("delay_ms: 1.5", "delay_ms: 0.25", "connections.0.delay_ms", "below one step"),
    ("delay_ms: 1.5", "delay_ms: 0.75", "connections.0.delay_ms", "not a whole number of steps"),
    ("preset: RS,", "preset: XY,", "populations.exc", "'XY'"),
    ("weight: {uniform: {low: 0, high: 1}}", "weight: {gauss: 1}", "connections.0.weight", "uniform, normal"),
    ("weight: {uniform: {low: 0, high: 1}}", "weight: {uniform: {low: 2, high: 1}}", "connections.0.weight", "high"),
    ("weight: {uniform: {low: 0, high: 1}}", "weight: off", "connections.0.weight", "False"),
    ("rate_hz: 10", "rate_hz: -10", "inputs.0.rate_hz", "-10"),
    ("type: poisson", "type: poison", "inputs.0", "poison"),
    ("target: exc", "target: exx", "inputs.0.target", "'exx'"),
    ("population: exc", "population: ex", "record.state.0.population", "'ex'"),
    ("neurons: [0, 1]", "neurons: [0, 10]", "record.state.0.neurons", "10"),
    ("interval_ms: 1", "interval_ms: 0.3", "record.state.0.interval_ms", "whole number"),
    ("duration_ms: 100", "duration_ms: 100.2", "run.duration_ms", "whole number"),
    ("dt_ms: 0.5", "dt_ms: 0", "run.dt_ms", "0"),
    ("dt_ms: 0.5", "dt_ms: 0.5, threads: 0", "run.threads", "greater than or equal to 1"),
    ("rule: fixed_probability", "rule: random", "connections.0.rule", "fixed_probability"),
    ('c: {expr: "-65 + 15*r**2"}', 'c: {expr: "-65 + q"}', "populations.exc.params.c", "'q'"),
    ('c: {expr: "-65 + 15*r**2"}', 'c: {expr: "__import__(1)"}', "populations.exc.params.c", "not allowed"),
]


@pytest.mark.parametrize("old,new,path,words", BROKEN)
def test_broken_description_names_path_and_value(old, new, path, words):
    text = VALID.replace(old, new)
    assert text != VALID
    with pytest.raises(SpecError) as info:
        build(spec_from_yaml(text))
    message = str(info.value)
    assert message.startswith(path + ":"), message
    assert words in message, message
    assert "\n" not in message


def test_yaml_traps():
    # `1e-3` without a dot is a string to YAML 1.1; spikesim reads it as the number meant
    spec = spec_from_yaml(VALID.replace("dt_ms: 0.5", "dt_ms: 5e-1"))
    assert spec.run.dt_ms == 0.5
    with pytest.raises(SpecError, match="given twice"):
        spec_from_yaml(VALID.replace("size: 10,", "size: 10, size: 11,"))
    with pytest.raises(SpecError, match="not valid YAML: line"):
        spec_from_yaml("run: {duration_ms: 1\npopulations: [")
    with pytest.raises(SpecError, match="top level must be a mapping"):
        spec_from_yaml("- 1\n- 2")


def test_missing_file_is_named(tmp_path):
    text = VALID.replace("weight: {uniform: {low: 0, high: 1}}", "weight: {file: nowhere.npy}")
    (tmp_path / "net.yaml").write_text(text)
    from spikesim import load

    with pytest.raises(SpecError, match=r"connections\.0\.weight: .*nowhere\.npy: file not found"):
        build(load(tmp_path / "net.yaml"))


def test_wrong_length_array_is_named(tmp_path):
    import numpy as np

    np.save(tmp_path / "c.npy", np.zeros(7))
    text = VALID.replace('c: {expr: "-65 + 15*r**2"}', "c: {file: c.npy}")
    (tmp_path / "net.yaml").write_text(text)
    from spikesim import load

    with pytest.raises(SpecError, match=r"populations\.exc\.params\.c: has 7 values, needs 10"):
        build(load(tmp_path / "net.yaml"))


def test_too_many_distinct_partners():
    text = VALID.replace("rule: fixed_probability, p: 0.5", "rule: fixed_outdegree, outdegree: 20, allow_self: false")
    with pytest.raises(SpecError, match=r"connections\.0\.outdegree: 20 distinct partners requested but only 14"):
        build(spec_from_yaml(text))
