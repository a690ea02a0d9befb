"""The monitor benchmark's code on a small week (20,000 rows), on every backend: the generator
and the bulk load give the monitor what it expects, the numpy check passes on what the monitor
wrote (after a full and an incremental pass) and fails when the rows differ; the dispatcher
lists the benchmark. No timing is asserted here: the figures are the benchmark's job."""

from __future__ import annotations

import dataclasses
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
from bench.monitor.check import check_sample, concat
from bench.monitor.generate import SERVICE, START, apply_service, generate, load, more_rows

from liveops.core.clock import FixedClock
from liveops.core.monitoring.window import WindowStats
from liveops.services.monitoring import run_monitor
from liveops.store import Store


def test_a_small_week_checks_out_against_numpy_after_full_and_incremental_passes(
    store: Store,
) -> None:
    log, fb = generate(20_000, 6_000, days=1, seed=3)
    apply_service(store)
    load(store, log, fb, chunk=7_000)
    assert store.predictions.count(SERVICE) == 20_000
    clock = FixedClock(START + timedelta(days=2))
    first = run_monitor(store, service=SERVICE, clock=clock).services[0]
    assert first.rows_read == 20_000
    assert first.feedback_read == fb.n
    # all, and the 12 segment slices: three declared values and "other" for three fields
    assert len(first.slices) == 13
    result = check_sample(store, log, fb, sample=150, seed=1)
    assert result.failures == []
    assert result.checked == 150
    assert result.windows_stored == first.points_written

    extra = more_rows(log, 1_000, minutes=30, seed=4)
    load(store, extra)
    second = run_monitor(store, service=SERVICE, clock=clock).services[0]
    assert second.rows_read >= 1_000  # the new rows, and any in the overlap
    assert second.windows_recomputed < first.windows_recomputed
    after = check_sample(store, concat(log, extra), fb, sample=150, seed=2)
    assert after.failures == []


def test_the_check_finds_windows_that_differ_from_the_rows(store: Store) -> None:
    log, fb = generate(5_000, 1_500, days=0.5, seed=5)
    apply_service(store)
    load(store, log, fb)
    run_monitor(store, service=SERVICE, clock=FixedClock(START + timedelta(days=1)))
    # rows the monitor never saw: the total no longer adds up
    missing = check_sample(store, concat(log, more_rows(log, 10, minutes=5)), fb, sample=20)
    assert not missing.ok
    assert any("'all' windows hold" in f for f in missing.failures)
    # other latencies and labels for the same rows: every sampled window differs somewhere
    changed = dataclasses.replace(
        log,
        latency_ms=log.latency_ms * 3.0,
        label=np.where(log.label >= 0, (log.label + 1) % 6, log.label),
    )
    wrong = check_sample(store, changed, fb, sample=20)
    assert not wrong.ok
    assert any("latency" in f for f in wrong.failures)
    assert any("label " in f for f in wrong.failures)


def test_the_written_windows_are_exactly_what_window_stats_would_write(store: Store) -> None:
    """The monitor builds its stats dicts column-wise, without WindowStats objects: reading
    one back and writing it again gives the same dict, key order of the lists included."""
    log, fb = generate(4_000, 1_200, days=0.5, seed=6)
    apply_service(store)
    load(store, log, fb)
    run_monitor(store, service=SERVICE, clock=FixedClock(START + timedelta(days=1)))
    stored = store.monitoring.windows(SERVICE, START - timedelta(days=1))
    assert stored
    for *_, stats in stored:
        assert WindowStats.from_dict(stats).to_dict() == stats


def test_the_dispatcher_lists_the_monitor_benchmark() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    import run  # bench/run.py

    assert "monitor" in run.available()
