"""The tick writer: heartbeats wait in memory through a database outage, none twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import make_url

from liveops.core.clock import FixedClock
from liveops.services.serving.ticks import RequestCounts, TickWriter
from liveops.store import Store, open_store
from tests.tcp_proxy import PausableProxy

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_requests_are_counted_per_service_and_status() -> None:
    counts = RequestCounts()
    for status in (200, 200, 422, 413, 429, 503):
        counts.add("router", status)
    counts.add("-", 404)
    assert counts.take() == {
        "router": {"requests": 6, "422": 1, "413": 1, "429": 1, "503": 1},
        "-": {"requests": 1, "404": 1},
    }
    assert counts.take() == {}  # each tick counts what came since the one before


def test_ticks_follow_the_clock_and_replays_are_ignored(store: Store) -> None:
    clock = FixedClock(T0)
    counts = RequestCounts()
    writer = TickWriter(lambda: store, counts, clock, 10.0, instance="gw-1")
    counts.add("router", 200)
    clock.advance(25)
    assert writer.tick() == 1  # the wall clock: one tick, the skipped one stays missing
    rows = store.ticks.between(T0, T0 + timedelta(hours=1))
    assert [(r["tick_at"], r["interval_s"], r["counts"]) for r in rows] == [
        (T0 + timedelta(seconds=20), 10.0, {"router": {"requests": 1}})
    ]
    store.ticks.insert([{**rows[0], "counts": {}}])  # the same tick again: ignored
    assert len(store.ticks.between(T0, T0 + timedelta(hours=1))) == 1
    assert rows[0]["stopped"] is False


def test_a_clean_stop_writes_a_last_tick_that_says_so(store: Store) -> None:
    """The monitor reads it: after a clean stop the gateway is not expected up (a crash writes
    no such tick, and the silence after it counts as down)."""
    clock = FixedClock(T0)
    writer = TickWriter(lambda: store, RequestCounts(), clock, 10.0, instance="gw-1")
    clock.advance(10)
    writer.tick()
    writer.stop()  # no time since the tick: a stop tick that covers nothing
    clock.advance(4)
    again = TickWriter(lambda: store, RequestCounts(), clock, 10.0, instance="gw-2")
    clock.advance(3)
    again.stop()
    rows = store.ticks.between(T0, T0 + timedelta(hours=1))
    got = [(r["instance_id"], (r["tick_at"] - T0).total_seconds(), r["interval_s"], r["stopped"])
           for r in rows]  # fmt: skip
    assert got == [
        ("gw-1", 10.0, 10.0, False),
        ("gw-1", 10.000001, 0.0, True),
        ("gw-2", 17.0, 3.0, True),
    ]
    assert [t["instance_id"] for t in store.ticks.newest()] == ["gw-2"]


@pytest.mark.postgres
def test_an_outage_keeps_ticks_pending_then_stores_each_once(
    pg_schema_url: str, tmp_path: Path
) -> None:
    url = make_url(pg_schema_url)
    proxy = PausableProxy(url.host or "127.0.0.1", url.port or 5432)
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    store = open_store(proxied, project_dir=tmp_path)
    try:
        clock = FixedClock(T0)
        counts = RequestCounts()
        writer = TickWriter(lambda: store, counts, clock, 10.0, instance="gw-1", max_pending=5)
        proxy.pause()
        for _ in range(7):
            counts.add("router", 429)
            clock.advance(10)
            writer.tick()  # never raises: the database is away
        assert (writer.written, writer.pending, writer.dropped) == (0, 5, 2)
        proxy.resume()
        clock.advance(10)
        writer.tick()
        assert (writer.written, writer.pending, writer.dropped) == (5, 0, 3)
    finally:
        store.close()
        proxy.close()
    check = open_store(pg_schema_url, project_dir=tmp_path)
    try:
        rows = check.ticks.between(T0, T0 + timedelta(hours=1))
    finally:
        check.close()
    # the oldest beyond the cap were dropped; each of the rest is stored once, with its counts
    assert [(r["tick_at"] - T0).total_seconds() for r in rows] == [40, 50, 60, 70, 80]
    assert [r["counts"].get("router", {}).get("429", 0) for r in rows] == [1, 1, 1, 1, 0]
