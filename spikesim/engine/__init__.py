"""The engine: the step loop (``step``), its Numba kernels (``kernels``) and their plain twin
(``reference``)."""

from .step import State, simulate

__all__ = ["State", "simulate"]
