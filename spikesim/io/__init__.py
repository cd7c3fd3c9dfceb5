"""Files at the edge: arrays read from .npy/.npz/.csv/.h5, and the HDF5 spike file."""
