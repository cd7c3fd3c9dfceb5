"""The sweep file: which network, which grid of parameter values, how many seeds, where to write.

```yaml
network: models/izhikevich2003.yaml     # relative to the sweep file
output: sweeps/iz2003                   # directory, relative to the sweep file
seeds: 3                                # repetitions per grid point, or a list of run seeds
root_seed: 1                            # with `seeds: N`, the job seeds derive from it
grid:                                   # dotted paths into the network description
  run.duration_ms: [500]
  inputs.0.sd: [3, 5, 7]
statistic: mean_rate_hz.exc             # a column of summary.csv, plotted across the grid
scheduler: null                         # or "tcp://host:8786"; null: a local cluster
n_workers: null                         # processes of the local cluster (default: the cores)
```

A grid path addresses the network description as written, defaults filled in (what
``spikesim check`` validates): mapping keys and list indices separated by dots
(``populations.exc.params.d``, ``connections.1.weight``, ``inputs.0.sd``). A value may be any
YAML value the description accepts there (``{uniform: {low: 0, high: 1}}`` too).

Jobs are the grid's points (every combination of values) times the seeds. Each job has a key
(its grid values, and its repetition or seed) that names its directory and, with
``seeds: N``, fixes its seed: ``SeedSequence(root_seed, spawn_key=hash(key))``, as a spawned
child, so a job keeps its seed when values are added to the grid or the grid is reordered.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from ..errors import SpecError
from ..spec import NetworkSpec, load, spec_from_dict, spec_to_yaml


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got the boolean {value!r}")
    return value


Count = Annotated[int, BeforeValidator(_no_bool)]

# The statistics of each job (columns of summary.csv): per population "<name>.<population>",
# and over all neurons "<name>"; see ``spikesim.sweep.run.job_statistics``.
POPULATION_STATISTICS = ("spikes", "mean_rate_hz", "mean_cv_isi")
RUN_STATISTICS = ("spikes", "mean_rate_hz", "wall_s")

# Directory names longer than this are cut and given a hash of the whole key.
MAX_DIR_NAME = 100


class SweepSpec(BaseModel):
    """A sweep file, validated. Paths are as written (relative to the sweep file's folder)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    network: str
    output: str
    seeds: Annotated[Count, Field(ge=1)] | list[Annotated[Count, Field(ge=0)]] = 1
    root_seed: Annotated[Count, Field(ge=0)] = 0
    grid: dict[str, list[Any]] = {}
    statistic: str | None = None
    scheduler: str | None = None
    n_workers: Annotated[Count, Field(ge=1)] | None = None

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, value):
        if isinstance(value, list):
            if not value:
                raise ValueError("give at least one seed, or a number of repetitions")
            if len(set(value)) != len(value):
                raise ValueError(f"seeds repeat: {value}")
        return value

    @field_validator("grid")
    @classmethod
    def _grid_values(cls, value: dict[str, list[Any]]):
        for path, values in value.items():
            if not path or any(part == "" for part in path.split(".")):
                raise ValueError(f"{path!r} is not a dotted path (e.g. inputs.0.sd)")
            if not values:
                raise ValueError(f"{path}: give at least one value")
        return value


@dataclass(frozen=True)
class Job:
    """One run of a sweep: its grid values, repetition and seed, and its validated description."""

    key: str  # canonical: grid values sorted by path, then `rep=<r>` or `seed=<s>`
    name: str  # directory name, from the key
    params: dict[str, Any]  # grid path -> value, in the grid's order
    repetition: int
    seed: int
    spec: NetworkSpec

    @property
    def description_yaml(self) -> str:
        return spec_to_yaml(self.spec)


@dataclass(frozen=True)
class Sweep:
    """A loaded sweep: the file's settings, resolved paths, and every job, validated."""

    spec: SweepSpec
    source: Path | None  # the sweep file
    network_path: Path
    output_dir: Path
    jobs: list[Job]
    statistics: list[str]  # the names a `statistic` may take
    statistic: str

    @property
    def parameters(self) -> list[str]:
        return list(self.spec.grid)


# ---------------------------------------------------------------------------------------------
# Loading


def load_sweep(path: str | Path, output: str | Path | None = None) -> Sweep:
    """Read, validate and expand a sweep file. ``output`` (relative to the current folder)
    replaces the file's ``output``. Every job's description is validated here, before anything
    runs; errors name the sweep file's path (``grid.inputs.0.sd``, ``statistic``)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise SpecError("", f"cannot read {path}: {error.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise SpecError("", f"{path}: not valid YAML: {where}{getattr(error, 'problem', None) or error}") from None
    return sweep_from_dict(data, base_dir=path.resolve().parent, source=path, output=output)


def sweep_from_dict(data: Any, base_dir: str | Path = ".", source: Path | None = None,
                    output: str | Path | None = None) -> Sweep:
    """Validate a sweep given as a mapping; relative paths are relative to ``base_dir``."""
    if not isinstance(data, dict):
        raise SpecError("", f"a sweep file is a mapping (network, output, grid, ...), got {type(data).__name__}")
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as error:
        raise _sweep_error(error) from None
    base_dir = Path(base_dir)
    network_path = (base_dir / spec.network).resolve()
    output_dir = Path(output).resolve() if output is not None else (base_dir / spec.output).resolve()
    try:
        network = load(network_path)
    except SpecError as error:
        raise SpecError("network", f"{spec.network}: {error}") from None
    base = network.model_dump(mode="json", exclude_none=True)
    base["run"].pop("output", None)  # each job writes into its own directory

    for grid_path in spec.grid:
        if grid_path == "run.seed":
            raise SpecError("grid.run.seed", "seeds are set with `seeds` and `root_seed`, not in the grid")
        _check_path(base, grid_path)

    statistics = [f"{name}.{pop}" for name in POPULATION_STATISTICS for pop in network.populations]
    statistics += list(RUN_STATISTICS)
    statistic = spec.statistic or f"mean_rate_hz.{next(iter(network.populations))}"
    if statistic not in statistics:
        raise SpecError("statistic", f"unknown statistic {statistic!r}; allowed: {', '.join(statistics)}")

    jobs = list(_expand(spec, base))
    names = [job.name for job in jobs]
    if len(set(names)) != len(names):  # e.g. values 1 and 1.0, alike once written in a name
        twice = sorted({n for n in names if names.count(n) > 1})
        raise SpecError("grid", f"two jobs would share the directory {twice[0]!r}; give distinct values")
    return Sweep(spec, source, network_path, output_dir, jobs, statistics, statistic)


def _sweep_error(error: ValidationError) -> SpecError:
    first = next((e for e in error.errors() if e["type"] == "extra_forbidden"), error.errors()[0])
    # Keep grid paths whole: `grid.inputs.0.sd`, not a location of pydantic's own.
    parts = [str(part) for part in first["loc"] if not (isinstance(part, str) and ("[" in part or part[:1].isupper()))]
    where = ".".join(parts)
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        allowed = ", ".join(SweepSpec.model_fields)
        message = f"unknown key {parts[-1]!r}; allowed: {allowed}"
    elif first["type"] == "missing":
        message = "required key is missing"
    elif "input" in first and first["type"] != "value_error":
        message = f"{first['input']!r}: {message}"
    return SpecError(where, message)


# ---------------------------------------------------------------------------------------------
# Dotted paths


def _split(path: str) -> list[str]:
    return path.split(".")


def _check_path(data: Any, path: str) -> None:
    """Raise a SpecError naming ``grid.<path>`` unless ``path`` can be set in ``data``: every
    part but the last must exist; the last may be a new key of a mapping (validation judges it)."""
    node = data
    parts = _split(path)
    for depth, part in enumerate(parts):
        here = ".".join(parts[:depth]) or "the description"
        last = depth == len(parts) - 1
        if isinstance(node, list):
            if not re.fullmatch(r"\d+", part):
                raise SpecError(f"grid.{path}", f"{here} is a list; {part!r} is not an index")
            if int(part) >= len(node):
                entries = "1 entry (0)" if len(node) == 1 else f"{len(node)} entries (0..{len(node) - 1})"
                raise SpecError(f"grid.{path}", f"{here} has {entries}, no {part}")
            node = node[int(part)]
        elif isinstance(node, dict):
            if part not in node and not last:
                keys = ", ".join(map(str, node)) or "none"
                raise SpecError(f"grid.{path}", f"{here} has no key {part!r}; keys: {keys}")
            node = node.get(part)
        else:
            raise SpecError(f"grid.{path}", f"{here} is a single value ({node!r}); it has no {part!r}")


def set_path(data: Any, path: str, value: Any) -> None:
    """Set ``value`` at the dotted ``path`` of ``data`` in place (see ``_check_path``)."""
    parts = _split(path)
    node = data
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


# ---------------------------------------------------------------------------------------------
# Jobs


def _value_text(value: Any) -> str:
    """A value as it appears in keys and names: compact JSON, so 3 and "3" and [3] differ."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def job_key(params: dict[str, Any], repetition: int, seed: int | None) -> str:
    """The canonical key of a job: grid values sorted by path, then ``rep=<r>`` (``seeds: N``)
    or ``seed=<s>`` (``seeds: [...]``)."""
    parts = [f"{path}={_value_text(params[path])}" for path in sorted(params)]
    parts.append(f"rep={repetition}" if seed is None else f"seed={seed}")
    return ",".join(parts)


def job_dir_name(key: str) -> str:
    """A directory name from a job key: readable, file-system safe, unique."""
    name = re.sub(r"[^A-Za-z0-9._=+-]+", "_", key.replace(",", "__")).strip("_") or "job"
    if len(name) > MAX_DIR_NAME:
        name = name[: MAX_DIR_NAME - 13].rstrip("_") + "-" + hashlib.sha256(key.encode()).hexdigest()[:12]
    return name


def job_seed(root_seed: int, key: str) -> int:
    """The run seed of a job: ``SeedSequence(root_seed, spawn_key=<128 bits of sha256(key)>)``,
    what ``SeedSequence.spawn`` would give a child whose spawn key is the job key; 63 bits, so
    it fits the int64 of the output file."""
    digest = hashlib.sha256(key.encode()).digest()
    spawn_key = tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))
    low, high = np.random.SeedSequence(root_seed, spawn_key=spawn_key).generate_state(2, np.uint32)
    return int(low) | (int(high) & 0x7FFFFFFF) << 32


def _expand(spec: SweepSpec, base: dict) -> list[Job]:
    paths = list(spec.grid)
    jobs = []
    for values in itertools.product(*(spec.grid[p] for p in paths)):
        params = dict(zip(paths, values))
        data = copy.deepcopy(base)
        for path, value in params.items():
            set_path(data, path, copy.deepcopy(value))
        if isinstance(spec.seeds, int):
            seeds = [(rep, None) for rep in range(spec.seeds)]
        else:
            seeds = list(enumerate(spec.seeds))
        validated = None
        for rep, given in seeds:
            key = job_key(params, rep, given)
            seed = given if given is not None else job_seed(spec.root_seed, key)
            data["run"]["seed"] = seed
            if validated is None:
                validated = _validate(data, params)
                job_spec = validated
            else:  # only the seed differs from the validated description
                job_spec = validated.model_copy(update={"run": validated.run.model_copy(update={"seed": seed})})
            jobs.append(Job(key, job_dir_name(key), params, rep, seed, job_spec))
    return jobs


def _validate(data: dict, params: dict[str, Any]) -> NetworkSpec:
    try:
        return spec_from_dict(data)
    except SpecError as error:
        # Blame the grid path the error lies under, else the whole grid point.
        blamed = [p for p in params if error.path == p or error.path.startswith(p + ".")]
        if blamed and error.path == blamed[0]:
            raise SpecError(f"grid.{blamed[0]}", error.message) from None
        if blamed:
            raise SpecError(f"grid.{blamed[0]}", f"{_value_text(params[blamed[0]])}: {error}") from None
        point = ", ".join(f"{p}={_value_text(v)}" for p, v in params.items())
        raise SpecError("grid", f"at {point or 'the network as given'}: {error}") from None
