"""Build a network with Python objects instead of YAML, simulate, inspect state and plot.

    python examples/build_in_python.py
"""

import numpy as np

import spikesim
from spikesim.plot import save_raster_png, save_traces_png

# The same structure as the YAML format: a plain dict (from your own code, JSON, ...) is
# validated exactly like a YAML file, with the same error messages.
description = {
    "name": "ei-sparse",
    "run": {"duration_ms": 500, "dt_ms": 0.5, "seed": 42},
    "populations": {
        "exc": {"size": 400, "params": {"preset": "RS", "d": {"uniform": {"low": 6, "high": 8}}}},
        "inh": {"size": 100, "params": {"preset": "FS"}},
    },
    "connections": [
        {"name": "e", "pre": "exc", "post": ["exc", "inh"], "rule": "fixed_indegree", "indegree": 40,
         "weight": {"uniform": {"low": 0, "high": 1.0}}, "delay_ms": {"expr": "0.5*floor(1 + r*20)"}},
        {"name": "i", "pre": "inh", "post": ["exc", "inh"], "rule": "fixed_probability", "p": 0.2,
         "weight": -2.0, "delay_ms": 1.0, "synapse": {"type": "exp_current", "tau_ms": 4}},
    ],
    "inputs": [{"type": "poisson", "target": ["exc", "inh"], "rate_hz": 1000, "weight": 8.0}],
    "record": {"spikes": "all", "rate_bin_ms": 2,
               "state": [{"population": "exc", "variables": ["v", "u"], "neurons": [0, 1, 2]}]},
}

spec = spikesim.spec_from_dict(description)
network = spikesim.build(spec)  # arrays: parameters, CSR synapses, input sources
print(f"{network.neurons.n} neurons, {network.synapses.n_synapses} synapses, "
      f"delays 1..{network.synapses.max_delay_steps} steps")

recording = spikesim.run(network)
for population in recording.populations:
    print(f"{population}: {recording.mean_rate_hz(population):.1f} Hz")

v = recording.traces["exc"]["v"]
print(f"neuron 0: v from {v.values[:, 0].min():.1f} to {v.values[:, 0].max():.1f} mV")
print("mean population rate of exc (Hz):", np.round(recording.rates["exc"].rate_hz.mean(), 1))

save_raster_png(recording, "ei-sparse.png")
save_traces_png(recording, "ei-sparse-v.png", population="exc")
