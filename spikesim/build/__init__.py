"""The build layer: spec -> arrays (neurons, synapses in CSR, input sources, recording plan)."""

from .network import Network, build

__all__ = ["Network", "build"]
