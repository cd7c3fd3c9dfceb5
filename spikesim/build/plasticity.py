"""Plasticity rules of the description -> the numbers the kernels read.

Rule codes and the layout of a group's parameter row are shared with ``engine.kernels``.
"""

from __future__ import annotations

import math

import numpy as np

from ..spec.model import SpnetRule, StdpRule

STATIC, ADDITIVE, MULTIPLICATIVE, NEAREST, SPNET = 0, 1, 2, 3, 4
RULE_CODES = {"stdp_additive": ADDITIVE, "stdp_multiplicative": MULTIPLICATIVE, "stdp_nearest": NEAREST, "spnet": SPNET}

# columns of a group's parameter row
A_PLUS, A_MINUS, DECAY_PLUS, DECAY_MINUS, W_MIN, W_MAX, DRIFT, DERIVATIVE_DECAY = range(8)
N_PARAMS = 8


def rule_key(rule: StdpRule | SpnetRule | None) -> str:
    """Connections with equal keys share a synapse group (and its traces)."""
    return "" if rule is None else rule.model_dump_json()


def rule_row(rule: StdpRule | SpnetRule | None, dt_ms: float) -> tuple[int, np.ndarray, int]:
    """(rule code, parameter row, update interval in steps) of a rule."""
    row = np.zeros(N_PARAMS)
    if rule is None:
        return STATIC, row, 0
    row[A_PLUS], row[A_MINUS] = rule.A_plus, rule.A_minus
    row[W_MIN], row[W_MAX] = rule.w_min, rule.w_max
    if isinstance(rule, SpnetRule):
        # spnet multiplies its traces by 0.95 every 1 ms step: at dt = 1 ms the factor is
        # exactly 0.95 (a power of exactly 1.0), which the exactness with spnet.cpp needs.
        decay = rule.trace_decay_per_ms ** (dt_ms / 1.0)
        row[DECAY_PLUS] = row[DECAY_MINUS] = decay
        row[DRIFT], row[DERIVATIVE_DECAY] = rule.drift, rule.derivative_decay
        return SPNET, row, int(round(rule.update_interval_ms / dt_ms))
    row[DECAY_PLUS] = math.exp(-dt_ms / rule.tau_plus_ms)
    row[DECAY_MINUS] = math.exp(-dt_ms / rule.tau_minus_ms)
    return RULE_CODES[rule.rule], row, 0
