"""Numbers the step kernels (``kernels``) and the step loop (``step``) share, in a module without
Numba: a run whose kernels are native (``spikesim.native``) never imports Numba."""

# status codes run_steps returns in status[0]
OK, SPIKE_BUFFER_FULL, NOT_FINITE = 0, 1, 2
# neurons per block of the neuron update (the unit run_steps_threaded shares out); the caller's
# scratch ``bad_blocks`` holds one flag per block of the largest population
NEURON_BLOCK = 4096
