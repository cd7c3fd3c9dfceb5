"""spikesim.compare on hand-made recordings (no simulator needed)."""

import math

import numpy as np
import pytest

from spikesim.compare import Tolerances, compare
from spikesim.recording import Recording, RunInfo, SpikeTrains


def recording(spikes: dict[str, list[tuple[float, int]]], sizes=None, dt=1.0, duration=100.0) -> Recording:
    sizes = sizes or {"a": 4, "b": 2}
    info = RunInfo("t", "", 0, dt, duration, dict(sizes))
    rec = Recording(info, status="complete", last_complete_step=int(round(duration / dt)) - 1)
    for pop in sizes:
        pairs = sorted(spikes.get(pop, []))
        rec.spikes[pop] = SpikeTrains(
            np.array([t for t, _ in pairs], np.float64), np.array([i for _, i in pairs], np.uint64)
        )
    return rec


BASE = {"a": [(3.0, 0), (3.0, 2), (10.0, 1), (40.0, 0), (41.0, 3)], "b": [(5.0, 1), (60.0, 0)]}


def test_identical_recordings():
    c = compare(recording(BASE), recording(BASE), exact=True)
    assert c.identical and c.first_disagreement_ms is None
    assert c.ok and c.failures() == []
    assert c.rates_a == c.rates_b == {"a": 5 / (4 * 0.1), "b": 2 / (2 * 0.1)}
    assert c.populations["a"].count_correlation == 1.0
    assert c.unmatched_fraction == 0.0
    assert "identical spike trains over 0-100 ms (7 spikes)" in c.summary()


def test_first_disagreement_is_the_first_step_whose_spikes_differ():
    other = {"a": [(3.0, 0), (3.0, 2), (10.0, 1), (41.0, 0), (41.0, 3)], "b": [(5.0, 1), (60.0, 0)]}
    c = compare(recording(BASE), recording(other))
    assert c.first_disagreement_ms == 40.0  # neuron 0 of a fired at 40 on one side only
    assert not c.identical
    # the shifted spike is matched within one step, not within zero
    assert c.unmatched_fraction == 0.0
    strict = compare(recording(BASE), recording(other), window_ms=0.0)
    assert strict.populations["a"].unmatched_fraction == pytest.approx(2 / 10)
    assert strict.unmatched_fraction == pytest.approx(2 / 14)
    assert not compare(recording(BASE), recording(other), exact=True).ok
    # a spike missing at the end: the disagreement is where the longer side goes on
    missing = {"a": BASE["a"], "b": BASE["b"][:1]}
    assert compare(recording(BASE), recording(missing)).first_disagreement_ms == 60.0


def test_window_restricts_every_statistic():
    other = {"a": BASE["a"][:3], "b": BASE["b"]}
    c = compare(recording(BASE), recording(other), stop_ms=39.0)
    assert c.identical and c.populations["a"].spikes_a == 3
    assert c.rates_a["a"] == pytest.approx(3 / (4 * 0.039))
    late = compare(recording(BASE), recording(other), start_ms=39.0)
    assert late.populations["a"].spikes_a == 2 and late.populations["a"].spikes_b == 0
    assert late.first_disagreement_ms == 40.0


def test_tolerances_decide():
    many = {"a": [(float(t), i) for t in range(1, 100, 2) for i in range(4)], "b": []}
    fewer = {"a": [(float(t), i) for t in range(1, 100, 2) for i in range(4) if not (t % 20 == 1 and i == 0)], "b": []}
    c = compare(recording(many), recording(fewer))
    rate_a, rate_b = c.rates_a["a"], c.rates_b["a"]
    assert rate_a == pytest.approx(500.0) and rate_b == pytest.approx(487.5)  # 2.5 % apart
    assert c.agree(rate_rtol=0.05, rate_atol_hz=0.0)
    assert not c.agree(rate_rtol=0.02, rate_atol_hz=0.0)
    assert "a: rates 500 Hz and 487.5 Hz" in " ".join(c.failures(Tolerances(rate_rtol=0.02, rate_atol_hz=0.0)))
    # neuron 0 lost 5 spikes: counts 50, 50, 50, 50 against 45, 50, 50, 50
    assert math.isnan(c.populations["a"].count_correlation)  # one side constant: no correlation
    assert c.populations["b"].count_correlation == 1.0  # both silent, identical
    assert not c.agree(max_unmatched_fraction=0.01)


def test_count_correlation():
    a = {"a": [(1.0, 0)] + [(float(t), 1) for t in (1, 2)] + [(float(t), 2) for t in (1, 2, 3)], "b": []}
    b = {"a": [(float(t), 1) for t in (1, 2)] + [(float(t), 2) for t in (1, 2, 3, 4)], "b": []}
    c = compare(recording(a), recording(b))
    expected = np.corrcoef([1, 2, 3, 0], [0, 2, 4, 0])[0, 1]
    assert c.populations["a"].count_correlation == pytest.approx(expected)
    assert not c.agree(min_count_correlation=0.99)


def test_mismatched_recordings_are_refused():
    with pytest.raises(ValueError, match="different populations"):
        compare(recording(BASE), recording(BASE, sizes={"a": 4}))
    with pytest.raises(ValueError, match="different steps"):
        compare(recording(BASE), recording(BASE, dt=0.5))


def test_overlay_raster_draws_a_file(tmp_path):
    from spikesim.compare import overlay_raster

    other = {"a": BASE["a"][:-1], "b": BASE["b"]}
    path = overlay_raster(recording(BASE), recording(other), tmp_path / "o.png", first_disagreement_ms=41.0)
    assert path.exists() and path.stat().st_size > 3000
