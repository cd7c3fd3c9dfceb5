"""The benchmark networks written directly in Brian2 (the same amount of work as spikesim's,
not bit-identical; spikesim's exact Brian2 twin for static networks is spikesim.bridge.brian2).

All three use Izhikevich neurons with the published half-step scheme at dt = 1 ms, written as a
``run_regularly`` block in the ``groups`` slot (two Euler half-steps of v with the same u and I,
then u with the new v), threshold v >= 30 and reset in Brian2's usual slots, and current pulses:
each arriving spike adds its weight to I, which the next integration uses and then clears.
spikesim's delay of D steps (D >= 1) is a Brian2 pathway delay of (D - 1) ms (Brian2 delivers in
the synapses slot, after the integration of the step; spikesim before it).

``spnet``   Izhikevich's polychronization network at any size: 80 % RS, 20 % FS neurons; each
            excitatory neuron has 100 distinct random targets among all neurons (self excluded)
            with weight 6 and a random delay of 1..20 ms (spikesim: exactly 5 per delay; here
            uniform, 5 per delay on average); each inhibitory neuron 100 distinct excitatory
            targets, weight -5, delay 1 ms. Thalamic input: N/1000 random neurons per step get a
            pulse of 20 (a ``SpikeGeneratorGroup`` replaying pre-drawn indices). With
            ``plastic``: spnet's STDP, the nearest-spike rule with the derivative ``sd``:
            an arriving spike depresses ``sd -= Q_post`` (Q: the postsynaptic neuron's trace,
            set to 0.12 at its spikes, times 0.95 per ms) and sets the synapse's presynaptic
            trace ``Apre = 0.1`` (event-driven, decaying by 0.95 per ms: the trace of the last
            arrival); a postsynaptic spike potentiates ``sd += Apre``; once per second
            ``w = clip(w + 0.01 + sd, 0, 10); sd *= 0.9``.
``net2003`` Izhikevich's 2003 network: 800 + 200 neurons with per-neuron parameters from r ~
            U(0,1), dense weights (1M synapses, self-connections kept) U(0, 0.5) and -U(0, 1),
            no delay (spikesim: 1 step), fresh Gaussian thalamic current each step (sd 5 and 2).

Every network has a ``SpikeMonitor`` of all neurons (spikesim records every spike too).
"""

from __future__ import annotations

import numpy as np

RUN_BLOCK_2003 = """
v += 0.5*(0.04*v**2 + 5*v + 140 - u + I)
v += 0.5*(0.04*v**2 + 5*v + 140 - u + I)
u += a*(b*v - u)
"""


def thalamic_events(n: int, per_step: int, steps: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``per_step`` distinct random neurons per step: (indices, step numbers)."""
    if per_step == 1:
        idx = rng.integers(0, n, size=steps)
    else:
        idx = np.concatenate([rng.choice(n, per_step, replace=False) for _ in range(steps)])
    return idx.astype(np.int32), np.repeat(np.arange(steps), per_step)


def spnet(b2, n: int, duration_ms: float, pulses_per_step: int, plastic: bool, seed: int = 1):
    """Objects of the spnet-structured network; returns (objects, spike monitor, namespace)."""
    ms, second = b2.ms, b2.second
    ne = int(round(0.8 * n))
    steps = int(round(duration_ms))
    ns = {"Ne": ne, "M": 100, "taupre": -1 * ms / np.log(0.95)}
    eqs = "v : 1\nu : 1\nI : 1\na : 1 (constant)\nd : 1 (constant)\n"
    reset = "v = -65\nu += d"
    block = "v += 0.5*(0.04*v**2 + 5*v + 140 - u + I)\nv += 0.5*(0.04*v**2 + 5*v + 140 - u + I)\nu += a*(0.2*v - u)\n"
    if plastic:
        eqs += "Q : 1\n"
        reset += "\nQ = 0.12"
        block += "Q *= 0.95\n"
    block += "I = 0\n"
    g = b2.NeuronGroup(n, eqs, threshold="v >= 30", reset=reset, name="neurons", namespace=ns)
    g.v = -65
    g.u = -13
    g.a = 0.02
    g.d = 8
    g.a[ne:] = 0.1
    g.d[ne:] = 2
    g.run_regularly(block, when="groups")
    if plastic:
        se = b2.Synapses(
            g[:ne], g,
            "w : 1\nsd : 1\ndApre/dt = -Apre/taupre : 1 (event-driven)",
            on_pre="I_post += w\nsd -= Q_post\nApre = 0.1",
            on_post="sd += Apre",
            name="exc", namespace=ns,
        )  # fmt: skip
    else:
        se = b2.Synapses(g[:ne], g, "w : 1", on_pre="I_post += w", name="exc", namespace=ns)
    se.connect(j="k for k in sample(N_post, size=M) if k != i", namespace=ns)
    se.w = 6
    se.delay = "floor(20*rand())*ms"
    objects = [g, se]
    if plastic:
        objects.append(se.run_regularly("w = clip(w + 0.01 + sd, 0, 10)\nsd *= 0.9", dt=1 * second, when="end"))
    si = b2.Synapses(g[ne:], g[:ne], "w : 1", on_pre="I_post += w", name="inh", namespace=ns)
    si.connect(j="k for k in sample(N_post, size=M)", namespace=ns)
    si.w = -5
    idx, step = thalamic_events(n, pulses_per_step, steps, np.random.default_rng(seed))
    gen = b2.SpikeGeneratorGroup(n, idx, step * ms, name="thalamus")
    st = b2.Synapses(gen, g, on_pre="I_post += 20", name="thalamic")
    st.connect(j="i")
    mon = b2.SpikeMonitor(g, name="spikes")
    objects += [si, gen, st, mon]
    return objects, mon, ns


def net2003(b2, ne: int = 800, ni: int = 200, seed: int = 1):
    """Objects of the 2003 network; returns (objects, spike monitor, namespace)."""
    n = ne + ni
    rng = np.random.default_rng(seed)
    r = rng.random(n)
    eqs = "v : 1\nu : 1\nI : 1\na : 1 (constant)\nb : 1 (constant)\nc : 1 (constant)\nd : 1 (constant)\nsdn : 1 (constant)"
    g = b2.NeuronGroup(n, eqs, threshold="v >= 30", reset="v = c\nu += d", name="neurons")
    a = np.where(np.arange(n) < ne, 0.02, 0.02 + 0.08 * r)
    b = np.where(np.arange(n) < ne, 0.2, 0.25 - 0.05 * r)
    g.a = a
    g.b = b
    g.c = np.where(np.arange(n) < ne, -65 + 15 * r**2, -65.0)
    g.d = np.where(np.arange(n) < ne, 8 - 6 * r**2, 2.0)
    g.sdn = np.where(np.arange(n) < ne, 5.0, 2.0)
    g.v = -65
    g.u = b * -65
    g.run_regularly(RUN_BLOCK_2003 + "I = sdn*randn()\n", when="groups")
    se = b2.Synapses(g[:ne], g, "w : 1", on_pre="I_post += w", name="exc")
    se.connect()
    se.w = "0.5*rand()"
    si = b2.Synapses(g[ne:], g, "w : 1", on_pre="I_post += w", name="inh")
    si.connect()
    si.w = "-rand()"
    mon = b2.SpikeMonitor(g, name="spikes")
    return [g, se, si, mon], mon, {}
