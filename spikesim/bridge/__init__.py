"""Bridges to other simulators. ``spikesim.bridge.brian2`` builds and runs a spikesim network in
Brian2 (the only module of spikesim that imports brian2, lazily importable: nothing here imports
it at package import); ``spikesim.bridge.script`` writes the standalone Brian2 script;
``spikesim.bridge.commands`` holds the ``validate`` and ``export`` commands (their overlaid
raster is ``spikesim.plot.overlay_raster``)."""
