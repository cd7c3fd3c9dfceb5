"""Per-neuron parameter and state vectors of all populations, concatenated in declaration order."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..spec.model import NetworkSpec, Population
from ..spec.presets import DEFAULT_VPEAK_2003, PARAM_NAMES, PRESETS
from .seeds import stream
from .values import realize

FORM_2003, FORM_2007 = 0, 1
SCHEME_IZHIKEVICH, SCHEME_EULER = 0, 1
FORMS = {"izhikevich2003": FORM_2003, "izhikevich2007": FORM_2007}
SCHEMES = {"izhikevich": SCHEME_IZHIKEVICH, "euler": SCHEME_EULER}
ALL_PARAMS = ("a", "b", "c", "d", "vpeak", "C", "k", "vr", "vt")
# Values that make the unused 2007 terms harmless in a 2003 population.
_UNUSED = {"C": 1.0, "k": 0.0, "vr": 0.0, "vt": 0.0}


@dataclass
class Neurons:
    """Parameters and initial state of every neuron; index = global neuron id.

    2003 form: v' = 0.04 v^2 + 5 v + 140 - u + I,  u' = a (b v - u).
    2007 form: C v' = k (v - vr)(v - vt) - u + I,  u' = a (b (v - vr) - u).
    Both: if v >= vpeak then v <- c, u <- u + d. v and c in mV, t in ms.
    """

    names: list[str]
    pop_start: np.ndarray  # int64 (P,)
    pop_stop: np.ndarray  # int64 (P,)
    pop_form: np.ndarray  # int64 (P,) FORM_*
    pop_scheme: np.ndarray  # int64 (P,) SCHEME_*
    params: dict[str, np.ndarray]  # ALL_PARAMS -> float64 (N,)
    v0: np.ndarray
    u0: np.ndarray

    @property
    def n(self) -> int:
        return int(self.pop_stop[-1])

    def slice(self, population: str) -> slice:
        i = self.names.index(population)
        return slice(int(self.pop_start[i]), int(self.pop_stop[i]))

    def size(self, population: str) -> int:
        s = self.slice(population)
        return s.stop - s.start

    def global_ids(self, populations: list[str]) -> np.ndarray:
        """Global ids of the concatenation of ``populations`` (how connections index them)."""
        return np.concatenate([np.arange(self.slice(p).start, self.slice(p).stop) for p in populations])


def build_neurons(spec: NetworkSpec) -> Neurons:
    names = list(spec.populations)
    sizes = np.array([spec.populations[p].size for p in names], dtype=np.int64)
    stops = np.cumsum(sizes)
    starts = stops - sizes
    params = {p: [] for p in ALL_PARAMS}
    v0, u0 = [], []
    for name in names:
        pop_params, v, u = _population_arrays(spec, name, spec.populations[name])
        for p in ALL_PARAMS:
            params[p].append(pop_params[p])
        v0.append(v)
        u0.append(u)
    return Neurons(
        names=names,
        pop_start=starts,
        pop_stop=stops,
        pop_form=np.array([FORMS[spec.populations[p].model] for p in names], dtype=np.int64),
        pop_scheme=np.array([SCHEMES[spec.populations[p].scheme] for p in names], dtype=np.int64),
        params={p: np.concatenate(params[p]) for p in ALL_PARAMS},
        v0=np.concatenate(v0),
        u0=np.concatenate(u0),
    )


def _population_arrays(spec: NetworkSpec, name: str, pop: Population):
    n = pop.size
    rng = stream(spec.run.seed, "population", name)
    # One r per neuron, shared by all parameters of the neuron (the 2003 network's c and d).
    r = rng.random(n)
    preset = PRESETS[pop.model].get(pop.params.preset or "", {})
    names = {"r": r, "N": float(n), "i": np.arange(n, dtype=np.float64)}
    values: dict[str, np.ndarray] = {}
    for p in PARAM_NAMES[pop.model]:
        given = getattr(pop.params, p)
        if given is None:
            given = preset.get(p, DEFAULT_VPEAK_2003 if p == "vpeak" else None)
        values[p] = realize(given, n, rng, f"populations.{name}.params.{p}", names)
    for p, default in _UNUSED.items():
        values.setdefault(p, np.full(n, default))
    scope = dict(names, **values)
    is_2003 = pop.model == "izhikevich2003"
    v_given = pop.initial.v if pop.initial.v is not None else (-65.0 if is_2003 else None)
    v = values["vr"].copy() if v_given is None else realize(v_given, n, rng, f"populations.{name}.initial.v", scope)
    if pop.initial.u is None:
        # On the u-nullcline, as net.m and spnet.cpp start (u = b v).
        u = values["b"] * v if is_2003 else values["b"] * (v - values["vr"])
    else:
        u = realize(pop.initial.u, n, rng, f"populations.{name}.initial.u", dict(scope, v=v))
    return values, v, u
