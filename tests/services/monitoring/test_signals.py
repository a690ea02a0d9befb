"""Outcome events and the gateway's heartbeat in the monitor's windows: what a team reads as
``outcome.NAME.rate``, ``uptime``, ``availability`` and ``rejected.STATUS``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from liveops.core.clock import FixedClock
from liveops.core.serving.prediction import PredictionIds
from liveops.services.monitoring import metric_series, run_monitor
from liveops.services.predictions.outcomes import apply_outcome
from liveops.store import Store
from tests.services.monitoring.logrows import T0, at, log_row, store_rows
from tests.services.monitoring.test_numbers import windows_of
from tests.services.tabular import apply_tabular

_IDS = PredictionIds()


@pytest.fixture
def tumours(store: Store) -> Store:
    return apply_tabular(store)


def _outcome(store: Store, pid: str, name: str, when: datetime, source: str = "crm") -> None:
    apply_outcome(
        store,
        {
            "id": _IDS.new(when.timestamp()),
            "prediction_id": pid,
            "source": source,
            "outcome": name,
            "value": None,
            "created_at": when.isoformat(),
        },
    )


def test_outcome_rates_count_answers_once_and_follow_late_events(tumours: Store) -> None:
    store = tumours
    rows = [log_row(at(m), clinic=c) for m, c in ((1, "north"), (2, "north"), (3, "south"))]
    rows.append(log_row(at(4), clinic="south"))
    store_rows(store, rows)
    ids = [r["prediction_id"] for r in rows]
    _outcome(store, ids[0], "resolved", at(6))
    _outcome(store, ids[0], "resolved", at(6), source="survey")  # a second source: one answer
    _outcome(store, ids[2], "resolved", at(6))
    _outcome(store, ids[2], "escalated", at(6))
    run_monitor(store, clock=FixedClock(at(10)))
    w = windows_of(store)
    assert w[(1, "production", "all", 0)].value("outcome.resolved.rate") == 0.5
    assert w[(1, "production", "all", 0)].value("outcome.escalated.rate") == 0.25
    assert w[(1, "production", "all", 0)].value("outcome.refunded.rate") == 0.0
    north = [k for k in w if k[2] != "all" and "north" in k[2]]
    assert north
    assert w[north[0]].value("outcome.resolved.rate") == 0.5  # 1 of 2
    # an event a day later for an answer of that window: the next pass counts it
    _outcome(store, ids[1], "resolved", at(60 * 24))
    run_monitor(store, clock=FixedClock(at(60 * 24 + 1)))
    assert windows_of(store)[(1, "production", "all", 0)].value("outcome.resolved.rate") == 0.75
    run_monitor(store, clock=FixedClock(at(60 * 24 + 2)))  # again: nothing counted twice
    assert windows_of(store)[(1, "production", "all", 0)].value("outcome.resolved.rate") == 0.75


def _ticks(store: Store, seconds: range, counts: dict[int, dict[str, Any]] | None = None) -> None:
    rows = [
        {
            "instance_id": "gw-a",
            "tick_at": T0 + timedelta(seconds=s),
            "interval_s": 10.0,
            "counts": (counts or {}).get(s, {}),
        }
        for s in seconds
    ]
    store.ticks.insert(rows)


def test_uptime_and_refused_requests_come_from_the_heartbeat(tumours: Store) -> None:
    """Window 0 fully covered, window 1 half (the gateway down from minute 7.5), window 2
    covered again with a storm of 422s: requests that never reached the log."""
    store = tumours
    store_rows(store, [log_row(at(1)), log_row(at(2), error="model_error", fallback="rules")])
    storm = {
        700: {"tumours": {"requests": 40, "422": 30, "503": 2}},
        710: {"tumours": {"requests": 10, "422": 10}, "other": {"requests": 5, "422": 5}},
    }
    _ticks(store, range(10, 451, 10))  # 0:00 to 7:30 covered
    _ticks(store, range(610, 901, 10), storm)  # 10:00 to 15:00 covered
    run_monitor(store, clock=FixedClock(at(16)))
    w = windows_of(store)
    gw = {k[3]: v for k, v in w.items() if k[:3] == (0, "gateway", "all")}
    assert sorted(gw) == [0, 1, 2]
    assert gw[0].value("uptime") == pytest.approx(1.0)
    assert gw[1].value("uptime") == pytest.approx(0.5)
    assert gw[2].value("uptime") == pytest.approx(1.0)
    assert gw[2].value("rejected.422") == 40  # the other service's refusals are its own
    assert gw[2].value("availability") == pytest.approx(48 / 50)
    assert gw[0].value("rejected.422") == 0
    # the rollup a team reads: a row of its own beside the versions
    series = metric_series(
        store,
        "tumours",
        metrics=["uptime", "rejected.422", "volume"],
        by="version",
        window="1h",
        since=T0,
        clock=FixedClock(at(16)),
    )
    got = {(r.key, r.metric): r.total for r in series.rows}
    assert got[("gateway", "uptime")] == pytest.approx(2.5 / 3)
    assert got[("gateway", "rejected.422")] == 40
    assert got[("v1", "volume")] == 2
    assert got[("v1", "uptime")] is None  # uptime belongs to no version


def test_the_heartbeat_is_read_incrementally_and_counted_once(tumours: Store) -> None:
    store = tumours
    _ticks(store, range(10, 301, 10), {300: {"tumours": {"requests": 3, "429": 3}}})
    run_monitor(store, clock=FixedClock(at(5)))
    _ticks(store, range(310, 601, 10), {600: {"tumours": {"requests": 4, "429": 1}}})
    run_monitor(store, clock=FixedClock(at(10)))
    run_monitor(store, clock=FixedClock(at(10.5)))  # nothing new: the same numbers
    gw = {k[3]: v for k, v in windows_of(store).items() if k[1] == "gateway"}
    assert gw[0].value("uptime") == pytest.approx(1.0)
    assert gw[1].value("uptime") == pytest.approx(1.0)
    assert gw[1].value("rejected.429") == 3
    assert gw[2].value("rejected.429") == 1
    # a full recompute gives the same windows
    before = {k: v.to_dict() for k, v in windows_of(store).items()}
    run_monitor(store, clock=FixedClock(at(11)), full=True)
    assert {k: v.to_dict() for k, v in windows_of(store).items()} == before


def test_a_service_with_no_heartbeat_has_no_uptime(tumours: Store) -> None:
    store = tumours
    store_rows(store, [log_row(at(1))])
    run_monitor(store, clock=FixedClock(at(6)))
    w = windows_of(store)
    assert not [k for k in w if k[1] == "gateway"]
    assert w[(1, "production", "all", 0)].value("uptime") is None


def test_a_gateway_down_for_good_shows_zero_uptime_not_no_windows(tumours: Store) -> None:
    """The gateway ticks until 7:30 and never again: once it has been silent for three of its
    tick intervals (at least a minute), the time since its last tick counts as down, window
    after window, until it ticks again."""
    store = tumours
    _ticks(store, range(10, 451, 10))  # 0:00 to 7:30 covered, then nothing
    run_monitor(store, clock=FixedClock(at(8)))  # 30 s of silence: not down yet
    gw = {k[3]: v for k, v in windows_of(store).items() if k[1] == "gateway"}
    assert sorted(gw) == [0, 1]
    assert gw[1].value("uptime") == pytest.approx(1.0)  # only the time up to the last tick
    run_monitor(store, clock=FixedClock(at(30)))
    gw = {k[3]: v for k, v in windows_of(store).items() if k[1] == "gateway"}
    assert sorted(gw) == [0, 1, 2, 3, 4, 5]
    assert gw[1].value("uptime") == pytest.approx(0.5)
    assert [gw[w].value("uptime") for w in (2, 3, 4, 5)] == [0.0, 0.0, 0.0, 0.0]
    run_monitor(store, clock=FixedClock(at(41)))  # incremental: the windows since, still down
    gw = {k[3]: v for k, v in windows_of(store).items() if k[1] == "gateway"}
    assert gw[7].value("uptime") == 0.0
    assert gw[8].value("uptime") == 0.0  # the filling window, up to now
    _ticks(store, range(2410, 2701, 10))  # back at 40:00, ticking to 45:00
    run_monitor(store, clock=FixedClock(at(45)))
    gw = {k[3]: v for k, v in windows_of(store).items() if k[1] == "gateway"}
    assert gw[8].value("uptime") == pytest.approx(1.0)
    assert gw[7].value("uptime") == 0.0
    series = metric_series(
        store, "tumours", metrics=["uptime"], by="version", window="1h", since=T0,
        clock=FixedClock(at(45)),
    )  # fmt: skip
    (row,) = [r for r in series.rows if r.key == "gateway"]
    assert row.total == pytest.approx((7.5 + 5) / 45)


def test_a_gateway_stopped_cleanly_is_not_down_after_its_last_tick(tumours: Store) -> None:
    """Its last tick says it stopped (``liveops serve`` ended by SIGTERM or Ctrl-C writes it):
    the time after it is not expected, so a pass long after shows no downtime."""
    store = tumours
    _ticks(store, range(10, 451, 10))
    store.ticks.insert(
        [{"instance_id": "gw-a", "tick_at": at(7.6), "interval_s": 6.0, "counts": {},
          "stopped": True}]
    )  # fmt: skip
    run_monitor(store, clock=FixedClock(at(30)))
    gw = {k[3]: v for k, v in windows_of(store).items() if k[1] == "gateway"}
    assert sorted(gw) == [0, 1]
    assert gw[1].value("uptime") == pytest.approx(1.0)
