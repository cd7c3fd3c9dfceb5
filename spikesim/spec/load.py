"""YAML text -> validated ``NetworkSpec``; every failure becomes one ``SpecError`` line."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import SpecError
from .model import NetworkSpec


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    mapping: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            raise SpecError(
                "", f"line {key_node.start_mark.line + 1}: key {key!r} given twice in one mapping"
            )
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _format_location(loc: tuple) -> str:
    return ".".join(str(part) for part in loc if not _is_union_tag(part))


# Union members pydantic names in an error's location; users never wrote them.
_UNION_TAGS = {
    "number", "uniform", "normal", "expr", "values", "file", "function-after", "function-before",
    "poisson", "noise", "dc", "step_current", "random_pulses", "spike_times", "current_file",
    "current_pulse", "voltage_jump", "exp_current",
    "stdp_additive", "stdp_multiplicative", "stdp_nearest", "spnet",
}  # fmt: skip


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and (part in _UNION_TAGS or part[:1].isupper() or "[" in part)


def _error_from_validation(err: ValidationError) -> SpecError:
    errors = err.errors()
    # A misspelt key also makes the right key "missing": report the misspelling, with a hint.
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    path = _format_location(tuple(first["loc"]))
    msg = first["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if first["type"] == "extra_forbidden":
        parent, _, key = path.rpartition(".")
        missing = [
            _format_location(tuple(e["loc"])).rpartition(".")[2]
            for e in errors
            if e["type"] == "missing" and _format_location(tuple(e["loc"])).rpartition(".")[0] == parent
        ]
        close = difflib.get_close_matches(str(key), missing, n=1)
        msg = f"unknown key {key!r}" + (f"; did you mean {close[0]!r}?" if close else "")
    elif first["type"] == "missing":
        msg = "required key is missing"
    elif "input" in first and first["type"] not in ("value_error",):
        msg = f"{first['input']!r}: {msg}"
    return SpecError(path, msg)


def spec_from_dict(data: Any, base_dir: str | Path | None = None) -> NetworkSpec:
    """Validate a plain mapping (as read from YAML). Relative file paths are resolved against
    ``base_dir`` (the YAML file's folder)."""
    if not isinstance(data, dict):
        raise SpecError("", f"the top level must be a mapping, got {type(data).__name__}")
    if base_dir is not None:
        data = _resolve_paths(data, Path(base_dir))
    try:
        return NetworkSpec.model_validate(data)
    except ValidationError as err:
        raise _error_from_validation(err) from None


def with_run(spec: NetworkSpec, **changes: Any) -> NetworkSpec:
    """``spec`` with fields of ``run`` changed (``duration_ms``, ``seed``, ``threads``, ...; a
    None leaves its field as it is), validated again: a bad value is the one-line ``SpecError`` a
    YAML file would get."""
    changes = {key: value for key, value in changes.items() if value is not None}
    if not changes:
        return spec
    data = spec.model_dump(mode="json", exclude_none=True)
    data["run"].update(changes)
    return spec_from_dict(data)


def spec_from_yaml(text: str, base_dir: str | Path | None = None) -> NetworkSpec:
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise SpecError("", f"not valid YAML: {where}{getattr(err, 'problem', None) or err}") from None
    return spec_from_dict(data, base_dir)


def load(path: str | Path) -> NetworkSpec:
    """Read and validate a network description from a YAML file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise SpecError("", f"cannot read {path}: {err.strerror}") from None
    return spec_from_yaml(text, base_dir=path.resolve().parent)


def spec_to_yaml(spec: NetworkSpec) -> str:
    """The resolved description as YAML (defaults filled in), as stored in output files."""
    # libyaml's emitter where PyYAML has it: the same text, several times faster
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(spec.model_dump(mode="json", exclude_none=True), Dumper=dumper, sort_keys=False)


def _resolve_paths(data: Any, base: Path) -> Any:
    # Every key named `file` holds a path; make relative ones absolute so the description
    # means the same wherever it is run from.
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            if key == "file" and isinstance(value, str) and not Path(value).is_absolute():
                out[key] = str((base / value).resolve())
            else:
                out[key] = _resolve_paths(value, base)
        return out
    if isinstance(data, list):
        return [_resolve_paths(v, base) for v in data]
    return data
