"""Parameter sweeps: a grid of values of a network description times seeds, run on Dask.

``load_sweep`` reads and validates a sweep file (every job's description is validated before
anything runs); ``run_sweep`` runs the jobs not yet complete and writes the summary table and
plot. The command is ``spikesim sweep`` (``spikesim.sweep.commands``).
"""

from .run import SweepResult, job_statistics, read_table, run_sweep
from .spec import Job, Sweep, SweepSpec, job_seed, load_sweep, sweep_from_dict

__all__ = [
    "Job", "Sweep", "SweepResult", "SweepSpec", "job_seed", "job_statistics", "load_sweep", "read_table",
    "run_sweep", "sweep_from_dict",
]  # fmt: skip
