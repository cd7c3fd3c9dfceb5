"""Run a network described in YAML from Python, look at the result, plot it.

    python examples/quickstart.py
"""

from pathlib import Path

import spikesim
from spikesim.plot import save_raster_png

MODELS = Path(__file__).resolve().parent.parent / "models"

# load -> validated description; run -> Recording (and, with an output path, an HDF5 file)
spec = spikesim.load(MODELS / "izhikevich2003.yaml")
recording = spikesim.run(spec, output="izhikevich2003.h5")

for population, size in recording.populations.items():
    counts = recording.spike_counts(population)
    print(f"{population}: {size} neurons, {counts.sum()} spikes, {recording.mean_rate_hz(population):.2f} Hz, "
          f"most active neuron {counts.argmax()} with {counts.max()} spikes")

times_ms, ids = recording.all_spikes()  # global ids: exc 0..799, inh 800..999
print("first spikes (ms, id):", [(float(t), int(i)) for t, i in zip(times_ms[:5], ids[:5])])

print("raster:", save_raster_png(recording, "izhikevich2003.png"))

# The same file read back gives the same Recording.
from spikesim.io.hdf5 import read  # noqa: E402

again = read("izhikevich2003.h5")
assert (again.spikes["exc"].times_ms == recording.spikes["exc"].times_ms).all()
