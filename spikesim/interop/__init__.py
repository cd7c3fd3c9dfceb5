"""spikesim results in other tools' formats: Neo (for Elephant), NWB (through pynwb).

Each module imports its library only when called, so spikesim works without them; install the
extras ``spikesim[neo]`` or ``spikesim[nwb]``. SONATA readers (libsonata, bmtk) read spikesim's
HDF5 files directly: they are SONATA spike reports.
"""
