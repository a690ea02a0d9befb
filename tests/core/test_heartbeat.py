"""Uptime and refusal counts from heartbeat ticks, against a brute-force oracle (numpy)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from liveops.core.heartbeat import Tick, availability, due_ticks, request_counts, uptime

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


@pytest.mark.parametrize("seed", range(5))
def test_uptime_is_the_covered_share_of_the_window(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ticks = [
        Tick(f"i{rng.integers(3)}", at(float(s)), float(rng.choice([5.0, 10.0, 30.0])))
        for s in rng.uniform(0, 600, size=40)
    ]
    start, end = 60.0, 540.0
    # Oracle: sample the window every 10 ms and ask whether any tick's interval covers it.
    grid = np.arange(start, end, 0.01)
    covered = np.zeros_like(grid, dtype=bool)
    for t in ticks:
        hi = (t.tick_at - T0).total_seconds()
        covered |= (grid >= hi - t.interval_s) & (grid < hi)
    assert uptime(ticks, at(start), at(end)) == pytest.approx(covered.mean(), abs=1e-3)


def test_a_gap_shows_and_replicas_count_once() -> None:
    every_10s = [Tick("a", at(s), 10) for s in range(10, 301, 10)]
    assert uptime(every_10s, at(0), at(300)) == 1.0
    replica = [Tick("b", at(s + 5), 10) for s in range(10, 301, 10)]
    assert uptime(every_10s + replica, at(0), at(300)) == 1.0
    gap = [t for t in every_10s if not 100 < (t.tick_at - T0).total_seconds() <= 160]
    assert uptime(gap, at(0), at(300)) == pytest.approx(240 / 300)
    assert uptime([], at(0), at(300)) == 0.0
    assert uptime(every_10s, at(0), at(0)) is None


def test_counts_add_up_per_service_and_status() -> None:
    ticks = [
        Tick("a", at(10), 10, {"router": {"requests": 10, "422": 3}, "wines": {"requests": 2}}),
        Tick("b", at(10), 10, {"router": {"requests": 5, "429": 2, "503": 1}}),
    ]
    assert request_counts(ticks, "router") == {"requests": 15, "422": 3, "429": 2, "503": 1}
    assert request_counts(ticks) == {"requests": 17, "422": 3, "429": 2, "503": 1}
    assert availability(request_counts(ticks)) == pytest.approx(16 / 17)
    assert availability({}) is None


def test_due_ticks_catch_up_only_on_a_simulated_clock() -> None:
    assert due_ticks(T0, at(3600), 600, catch_up=True) == [at(s) for s in range(600, 3601, 600)]
    assert due_ticks(T0, at(3600), 600, catch_up=False) == [at(3600)]
    with pytest.raises(ValueError, match="positive"):
        due_ticks(T0, at(1), 0, catch_up=True)
