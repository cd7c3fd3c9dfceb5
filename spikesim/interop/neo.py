"""A Recording as Neo objects, for Elephant and the other tools built on Neo.

``to_spiketrains`` gives one ``neo.SpikeTrain`` per neuron (times in ms, from 0 to the end of
the recorded time); ``to_neo`` gives a ``neo.Block`` with one ``Segment`` holding every spike
train and every recorded state trace (an ``AnalogSignal`` per population and variable), and one
``neo.Group`` per population. Each spike train is annotated with ``population`` and ``node_id``
(population-local) and named ``<population>[<node_id>]``.

Needs the optional dependency neo (``pip install "spikesim[neo]"``); imported when called.
"""

from __future__ import annotations

import numpy as np

from ..errors import SpikesimError
from ..recording import Recording, SpikeTrains
from ..stats import span_ms
from ._units import trace_unit


def _neo():
    try:
        import neo
        import quantities as pq
    except ImportError as error:
        raise SpikesimError(f"Neo export needs neo: pip install \"spikesim[neo]\" ({error})") from error
    return neo, pq


def to_spiketrains(recording: Recording, populations: list[str] | None = None) -> list:
    """One ``neo.SpikeTrain`` per neuron of ``populations`` (default all), in declaration order
    and by node id; neurons that never fired get an empty train."""
    neo, pq = _neo()
    chosen = list(recording.populations) if populations is None else populations
    unknown = [pop for pop in chosen if pop not in recording.populations]
    if unknown:
        raise ValueError(f"unknown populations {unknown}; the recording has {list(recording.populations)}")
    t_stop = span_ms(recording)
    trains = []
    for pop in recording.populations:
        if pop not in chosen:
            continue
        spikes = recording.spikes.get(pop, SpikeTrains.empty())
        t_stop_pop = max(t_stop, float(spikes.times_ms.max()) if len(spikes) else 0.0)
        ids = spikes.node_ids.astype(np.int64)
        # Stable sort by id keeps each neuron's spikes in time order.
        order = np.argsort(ids, kind="stable")
        times, ids = spikes.times_ms[order], ids[order]
        bounds = np.searchsorted(ids, np.arange(recording.populations[pop] + 1))
        for node in range(recording.populations[pop]):
            trains.append(neo.SpikeTrain(
                times[bounds[node] : bounds[node + 1]], units=pq.ms, t_start=0.0 * pq.ms, t_stop=t_stop_pop * pq.ms,
                name=f"{pop}[{node}]", population=pop, node_id=node,
            ))  # fmt: skip
    return trains


def to_neo(recording: Recording):
    """A ``neo.Block`` of one ``Segment`` with every spike train (see ``to_spiketrains``) and
    every state trace, and a ``neo.Group`` per population holding its trains and traces.

    Traces sampled at a regular interval become ``AnalogSignal``s (one channel per recorded
    neuron, annotated with their ``node_ids``); irregular ones ``IrregularlySampledSignal``s.
    The block's annotations hold the run's name, seed, dt_ms, status and network YAML."""
    neo, pq = _neo()
    info = recording.info
    block = neo.Block(name=info.name, description=f"spikesim run of {info.name}", seed=int(info.seed),
                      dt_ms=float(info.dt_ms), status=recording.status, network_yaml=info.network_yaml)
    segment = neo.Segment(name=info.name)
    block.segments.append(segment)
    groups = {pop: neo.Group(name=pop) for pop in recording.populations}
    for train in to_spiketrains(recording):
        train.segment = segment
        segment.spiketrains.append(train)
        groups[train.annotations["population"]].add(train)
    for pop, by_var in recording.traces.items():
        for var, trace in by_var.items():
            unit = trace_unit(recording, pop, var)
            signal = _signal(neo, pq, trace, pq.dimensionless if unit == "dimensionless" else unit, f"{pop}.{var}")
            signal.annotate(population=pop, variable=var)
            signal.segment = segment
            if isinstance(signal, neo.AnalogSignal):
                segment.analogsignals.append(signal)
            else:
                segment.irregularlysampledsignals.append(signal)
            groups[pop].add(signal)
    block.groups.extend(groups.values())
    return block


def _signal(neo, pq, trace, unit, name: str):
    times = np.asarray(trace.times_ms, dtype=np.float64)
    node_ids = np.asarray(trace.node_ids, dtype=np.int64)
    steps = np.diff(times)
    if len(times) >= 2 and np.allclose(steps, steps[0], rtol=1e-9, atol=1e-9):
        signal = neo.AnalogSignal(trace.values, units=unit, t_start=times[0] * pq.ms, sampling_period=steps[0] * pq.ms,
                                  name=name)
    else:
        signal = neo.IrregularlySampledSignal(times * pq.ms, trace.values, units=unit, time_units=pq.ms, name=name)
    signal.array_annotate(node_ids=node_ids)
    return signal
