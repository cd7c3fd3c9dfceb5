"""The unit of a recorded state variable, from the network description stored with the run."""

from __future__ import annotations

import yaml

from ..recording import Recording


def trace_unit(recording: Recording, population: str, variable: str) -> str:
    """``mV`` for v; for u and I the current unit of the population's model: ``pA`` for the 2007
    form, ``dimensionless`` for the 2003 form (and when the description is not known)."""
    if variable == "v":
        return "mV"
    try:
        spec = yaml.safe_load(recording.info.network_yaml) or {}
        model = spec["populations"][population].get("model", "izhikevich2003")
    except (yaml.YAMLError, KeyError, TypeError, AttributeError):
        model = "izhikevich2003"
    return "pA" if model == "izhikevich2007" else "dimensionless"
