"""The spec layer: what a network is, validated, with no arrays."""

from .load import load, spec_from_dict, spec_from_yaml, spec_to_yaml, with_run
from .model import (
    Connection,
    NetworkSpec,
    Population,
    Record,
    Run,
)

__all__ = [
    "Connection",
    "NetworkSpec",
    "Population",
    "Record",
    "Run",
    "load",
    "spec_from_dict",
    "spec_from_yaml",
    "spec_to_yaml",
    "with_run",
]
