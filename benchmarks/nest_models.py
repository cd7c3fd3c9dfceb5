"""The benchmark networks written directly in NEST: the same structure and amount of work as
spikesim's and Brian2's, not the same model to the spike.

Where NEST's own models differ from spikesim's (and these differences are the reason its rates
are not spikesim's):
- NEST's ``izhikevich`` neuron, with ``consistent_integration = False`` (the published half-step
  scheme at a resolution of 1 ms), takes an arriving spike as a jump of v by its weight, not as a
  current pulse added to I for one step;
- thalamic input: a Poisson train of the same mean rate into every neuron (N/1000 pulses of 20 per
  ms in all), not exactly N/1000 distinct neurons in every step;
- spnet delays: uniform over 1..20 ms (5 per delay on average, as in the Brian2 networks);
- spnet plasticity: NEST's ``stdp_nn_symm_synapse`` (nearest-spike pairs, additive, with spnet's
  amplitudes 0.1 and 0.12 and 0.95 per ms decay, weights in [0, 10]) changes a weight at once,
  where spnet accumulates the changes in a derivative applied once per second;
- the 2003 network's Gaussian current comes from a ``noise_generator`` with dt = 1 ms.

Nothing here imports spikesim.
"""

from __future__ import annotations

import math

import numpy as np

SPNET_TAU_MS = -1.0 / math.log(0.95)  # a trace multiplied by 0.95 per ms


def spnet(nest, n: int, pulses_per_step: int, plastic: bool) -> dict:
    """Nodes of the spnet-structured network; returns the neurons, spike recorder, number of
    excitatory neurons and synapse counts by group."""
    ne = int(round(0.8 * n))
    neurons = nest.Create("izhikevich", n, params={
        "consistent_integration": False, "V_m": -65.0, "U_m": -13.0, "a": 0.02, "b": 0.2, "c": -65.0, "d": 8.0,
        "tau_minus": SPNET_TAU_MS,
    })  # fmt: skip
    neurons[ne:].set(a=0.1, d=2.0)
    model = "static_synapse"
    if plastic:
        # additive (mu = 0) nearest-spike STDP: +lambda Wmax = 0.1 and -alpha lambda Wmax = -0.12
        nest.CopyModel("stdp_nn_symm_synapse", "spnet_stdp", {
            "tau_plus": SPNET_TAU_MS, "lambda": 0.01, "alpha": 1.2, "mu_plus": 0.0, "mu_minus": 0.0, "Wmax": 10.0,
        })  # fmt: skip
        model = "spnet_stdp"
    distinct = {"rule": "fixed_outdegree", "outdegree": 100, "allow_autapses": False, "allow_multapses": False}
    nest.Connect(neurons[:ne], neurons, distinct, {"synapse_model": model, "weight": 6.0, "delay": 1.0 + nest.random.uniform_int(20)})
    nest.Connect(neurons[ne:], neurons[:ne], distinct, {"synapse_model": "static_synapse", "weight": -5.0, "delay": 1.0})
    thalamus = nest.Create("poisson_generator", params={"rate": 1000.0 * pulses_per_step / n})
    nest.Connect(thalamus, neurons, "all_to_all", {"weight": 20.0, "delay": 1.0})
    recorder = nest.Create("spike_recorder")
    nest.Connect(neurons, recorder)
    return {"neurons": neurons, "recorder": recorder, "ne": ne, "synapses": {"exc": ne * 100, "inh": (n - ne) * 100}}


def net2003(nest, ne: int = 800, ni: int = 200, seed: int = 1) -> dict:
    """Nodes of the 2003 network (parameters drawn with NumPy from ``seed``, as the Brian2
    network's)."""
    n = ne + ni
    r = np.random.default_rng(seed).random(n)
    exc = np.arange(n) < ne
    b = np.where(exc, 0.2, 0.25 - 0.05 * r)
    neurons = nest.Create("izhikevich", n, params={
        "consistent_integration": False,
        "a": np.where(exc, 0.02, 0.02 + 0.08 * r).tolist(),
        "b": b.tolist(),
        "c": np.where(exc, -65 + 15 * r**2, -65.0).tolist(),
        "d": np.where(exc, 8 - 6 * r**2, 2.0).tolist(),
        "V_m": -65.0,
        "U_m": (b * -65.0).tolist(),
    })  # fmt: skip
    every = {"rule": "all_to_all", "allow_autapses": True}
    nest.Connect(neurons[:ne], neurons, every, {"synapse_model": "static_synapse", "weight": nest.random.uniform(0.0, 0.5), "delay": 1.0})
    nest.Connect(neurons[ne:], neurons, every, {"synapse_model": "static_synapse", "weight": nest.random.uniform(-1.0, 0.0), "delay": 1.0})
    for part, sd in ((neurons[:ne], 5.0), (neurons[ne:], 2.0)):
        noise = nest.Create("noise_generator", params={"mean": 0.0, "std": sd, "dt": 1.0})
        nest.Connect(noise, part)
    recorder = nest.Create("spike_recorder")
    nest.Connect(neurons, recorder)
    return {"neurons": neurons, "recorder": recorder, "ne": ne, "synapses": {"exc": ne * n, "inh": ni * n}}
