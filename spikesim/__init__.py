"""spikesim: networks of Izhikevich neurons with axonal delays, simulated step by step.

Data flows one way: a YAML description (``load``) -> a validated ``NetworkSpec`` -> ``build`` ->
arrays (``Network``) -> ``simulate`` (Numba kernels) -> ``Recording`` / HDF5 file / plots.
"""

__version__ = "0.1.0"

from .api import run  # noqa: E402
from .build import Network, build  # noqa: E402
from .errors import BuildError, NumericalError, OutputError, SpecError, SpikesimError  # noqa: E402
from .recording import Recording  # noqa: E402
from .spec import NetworkSpec, load, spec_from_dict, spec_from_yaml  # noqa: E402

__all__ = [
    "BuildError",
    "Network",
    "NetworkSpec",
    "NumericalError",
    "OutputError",
    "Recording",
    "SpecError",
    "SpikesimError",
    "__version__",
    "build",
    "load",
    "run",
    "spec_from_dict",
    "spec_from_yaml",
]
