"""A JSON Schema of the YAML network description, for editors (completion, hover, red squiggles).

``json_schema()`` is ``NetworkSpec.model_json_schema()`` with a title, a description, the
``$schema`` key editors look for, and the short forms the models accept before
validation (which pydantic cannot see in a ``BeforeValidator``): a single population name where
a list of names is allowed (``pre: exc``), and a synapse given by its type alone
(``synapse: current_pulse``).

The schema checks the shape of a file: keys, types, ranges, allowed names of rules and
presets' models. The checks that look across the file (that ``pre`` names a population, that a
delay is at least one step, that a preset fits its model) are made by ``spikesim check``.

With VS Code's YAML extension, for example, put this first in a network file::

    # yaml-language-server: $schema=spikesim-network.schema.json

after ``spikesim schema -o spikesim-network.schema.json``.
"""

from __future__ import annotations

import copy
from typing import Any

from .model import NetworkSpec

DIALECT = "https://json-schema.org/draft/2020-12/schema"

# (model, field) whose YAML may hold one population name instead of a list of names.
_NAME_OR_NAMES = {
    ("Connection", "pre"), ("Connection", "post"),
    ("PoissonInput", "target"), ("NoiseInput", "target"), ("DCInput", "target"),
    ("StepCurrentInput", "target"), ("RandomPulsesInput", "target"), ("SpikeTimesInput", "target"),
    ("CurrentFileInput", "target"),
}  # fmt: skip

# (model, field) whose YAML may hold a synapse type as a bare string.
_SYNAPSE_SHORT = {("Connection", "synapse"), ("PoissonInput", "synapse"), ("SpikeTimesInput", "synapse")}
_SHORT_SYNAPSE_TYPES = ["current_pulse", "voltage_jump"]


# pydantic writes the bounds of a number that has a BeforeValidator (spikesim's Number and Count,
# which refuse YAML booleans) under its own names; JSON Schema names them so.
_BOUNDS = {"ge": "minimum", "gt": "exclusiveMinimum", "le": "maximum", "lt": "exclusiveMaximum"}


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a network description file, as a plain dict."""
    schema = _standard_bounds(copy.deepcopy(NetworkSpec.model_json_schema()))
    defs = schema.get("$defs", {})
    for model, field in _NAME_OR_NAMES:
        prop = defs[model]["properties"][field]
        if not _allows_string(prop):
            defs[model]["properties"][field] = {
                "anyOf": [{"type": "string"}, prop], "title": prop.get("title", field),
                "description": "a population name, or a list of names (indexed as their concatenation)",
            }
    for model, field in _SYNAPSE_SHORT:
        prop = defs[model]["properties"][field]
        if not _allows_string(prop):
            short = {"type": "string", "enum": _SHORT_SYNAPSE_TYPES}
            full = {key: value for key, value in prop.items() if key not in ("default", "title")}
            defs[model]["properties"][field] = {
                "anyOf": [short, full], "title": prop.get("title", field), "default": prop.get("default"),
                "description": "current_pulse, voltage_jump, or {type: exp_current, tau_ms: ...}",
            }
    return {
        "$schema": DIALECT,
        **schema,
        "title": "spikesim network",
        "description": (
            "A spikesim network description (YAML): populations of Izhikevich neurons, connections "
            "with axonal delays and optional plasticity, inputs, what to record and how to run. "
            "Times in ms; see docs/yaml/ for each section."
        ),
    }


def _standard_bounds(node: Any) -> Any:
    """Rename pydantic's ``ge``/``gt``/``le``/``lt`` of numeric schemas to JSON Schema's keywords."""
    if isinstance(node, dict):
        if node.get("type") in ("number", "integer"):
            for ours, theirs in _BOUNDS.items():
                if ours in node:
                    node[theirs] = node.pop(ours)
        for value in node.values():
            _standard_bounds(value)
    elif isinstance(node, list):
        for value in node:
            _standard_bounds(value)
    return node


def _allows_string(prop: dict[str, Any]) -> bool:
    if prop.get("type") == "string":
        return True
    return any(_allows_string(option) for option in prop.get("anyOf", []) + prop.get("oneOf", []))
