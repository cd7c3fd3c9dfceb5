"""The one error hierarchy of spikesim.

The CLI prints ``str(error)`` on one line and exits 1 for every ``SpikesimError``; anything else
is a bug and keeps its traceback.
"""


class SpikesimError(Exception):
    """Base class of every error spikesim raises on purpose."""


class SpecError(SpikesimError):
    """The network description is invalid: names the YAML path, the value and what is allowed."""

    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


class BuildError(SpikesimError):
    """A valid description cannot be turned into arrays (e.g. a file with the wrong shape)."""


class NumericalError(SpikesimError):
    """The integration produced NaN or infinity."""


class OutputError(SpikesimError):
    """The output file cannot be written or read."""


class Interrupted(SpikesimError):
    """The run was stopped by a signal after its data was flushed; the file is marked
    interrupted. ``exit_status`` follows the shell's convention (128 + signal number)."""

    def __init__(self, signum: int, at_ms: float):
        self.signum = signum
        self.exit_status = 128 + signum
        super().__init__(f"interrupted by signal {signum} at t = {at_ms:g} ms")
