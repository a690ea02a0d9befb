"""The monitor's drift pass on every backend: stored drift points per version, slice and day
of a tabular service whose second day shifts a number and a category; incremental, idempotent,
late rows, too few rows; read back as series and by alert rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from liveops.core.clock import FixedClock
from liveops.core.project import parse_project
from liveops.errors import ProjectFileError
from liveops.services.alerts.drift import drift_values
from liveops.services.monitoring import enforce_retention, live_drift, metric_series, run_monitor
from liveops.services.registry import get_service_spec
from liveops.store import Store
from liveops.store.drift_points import DriftPoint
from tests.services.monitoring.driftrows import drift_yaml, log_day, setup_drift
from tests.services.monitoring.logrows import log_row, store_rows

DAY1 = datetime(2026, 3, 2, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)
AFTER = DAY2 + timedelta(days=1, minutes=10)  # both days complete


@pytest.fixture
def drifting(store: Store, tmp_path: Path) -> Store:
    setup_drift(store, tmp_path)
    log_day(store, DAY1, shifted=False, seed=1)
    log_day(store, DAY2, shifted=True, seed=2)
    return store


def _points(store: Store) -> dict[tuple[int, str, datetime, str], DriftPoint]:
    return {
        (p.version, p.slice, p.window_start, p.metric): p for p in store.drift.points("tumours")
    }


def _rows(store: Store) -> set[tuple[object, ...]]:
    return {
        (p.version, p.slice, p.window_start, p.metric, p.value, p.threshold, p.drifted, p.rows)
        for p in store.drift.points("tumours")
    }


def test_the_shifted_columns_drift_on_day_two_only(drifting: Store) -> None:
    report = run_monitor(drifting, clock=FixedClock(AFTER), service="tumours")
    service = report.services[0]
    assert service.drift_windows == 2
    points = _points(drifting)
    for version in (1, 2):
        for column in ("mean_radius", "mean_texture", "mean_area", "clinic"):
            day1 = points[(version, "all", DAY1, f"drift.{column}")]
            day2 = points[(version, "all", DAY2, f"drift.{column}")]
            assert day1.rows == day2.rows == 300
            assert day1.reference == "tumours-ref@1"
            assert day1.drifted is False, (column, day1)
            assert day1.value is not None
            assert day1.threshold is not None
            assert day1.value < day1.threshold
            if column in ("mean_radius", "clinic"):
                assert day2.drifted is True, (column, day2)
                assert day2.value is not None
                assert day2.value > day2.threshold
            else:
                assert day2.drifted is False, (column, day2)
        # the missing share: none on day 1, about a tenth of mean_texture on day 2
        assert points[(version, "all", DAY1, "missing.mean_texture")].value == 0.0
        missing = points[(version, "all", DAY2, "missing.mean_texture")].value
        assert missing is not None
        assert 0.05 < missing < 0.15
    # the monitor's slices: clinic=north and clinic=south (the clinic segment field)
    north = points[(1, "clinic=north", DAY2, "drift.mean_radius")]
    assert north.drifted is True
    assert 200 < north.rows < 300


def test_a_scope_with_too_few_rows_stores_its_count_and_no_value(drifting: Store) -> None:
    run_monitor(drifting, clock=FixedClock(AFTER), service="tumours")
    south = _points(drifting)[(1, "clinic=south", DAY2, "drift.mean_radius")]
    assert 0 < south.rows < 100  # drift_min_rows defaults to 100
    assert south.value is None
    assert south.drifted is None


def test_passes_are_incremental_and_idempotent(drifting: Store) -> None:
    midday = DAY2 + timedelta(hours=12)
    first = run_monitor(drifting, clock=FixedClock(midday), service="tumours").services[0]
    assert first.drift_windows == 1  # day 2 is not complete yet
    assert {p.window_start for p in drifting.drift.points("tumours")} == {DAY1}
    second = run_monitor(drifting, clock=FixedClock(AFTER), service="tumours").services[0]
    assert second.drift_windows == 1  # day 2 only
    rows = _rows(drifting)
    again = run_monitor(drifting, clock=FixedClock(AFTER), service="tumours").services[0]
    assert again.drift_windows == 0
    full = run_monitor(drifting, clock=FixedClock(AFTER), service="tumours", full=True)
    assert full.services[0].drift_windows == 2
    assert _rows(drifting) == rows


def test_a_late_row_recomputes_its_day(drifting: Store) -> None:
    clock = FixedClock(AFTER)
    run_monitor(drifting, clock=clock, service="tumours")
    before = _points(drifting)[(1, "all", DAY1, "drift.mean_radius")].rows
    clock.advance(600)
    late = log_row(
        DAY1 + timedelta(hours=3),
        version=1,
        clinic="north",
        inputs={"mean_radius": 14.0, "mean_texture": 19.0, "mean_area": 650.0, "clinic": "north"},
        logged_at=clock.now(),
    )
    store_rows(drifting, [late])
    clock.advance(60)
    report = run_monitor(drifting, clock=clock, service="tumours").services[0]
    assert report.drift_windows == 1
    assert _points(drifting)[(1, "all", DAY1, "drift.mean_radius")].rows == before + 1


def test_series_and_alert_rules_read_the_stored_points(drifting: Store) -> None:
    clock = FixedClock(AFTER)
    run_monitor(drifting, clock=clock, service="tumours")
    series = metric_series(
        drifting,
        "tumours",
        metrics=["drift.mean_radius", "missing.mean_texture"],
        window="1d",
        since=DAY1,
        clock=clock,
    )
    assert series.buckets[:2] == [DAY1.isoformat(), DAY2.isoformat()]
    by = {(r.key, r.metric): r for r in series.rows}
    points = _points(drifting)
    radius = by[("v1", "drift.mean_radius")]
    assert radius.values[:2] == [
        points[(1, "all", DAY1, "drift.mean_radius")].value,
        points[(1, "all", DAY2, "drift.mean_radius")].value,
    ]
    assert radius.volume == 600
    # an alert rule over the last day reads day 2's stored point, per version
    spec = get_service_spec(drifting, "tumours")
    values, note = drift_values(
        drifting, spec, "drift.mean_radius", None, None, AFTER - timedelta(days=1), AFTER
    )
    assert note is None
    assert values == {v: (points[(v, "all", DAY2, "drift.mean_radius")].value, 300) for v in (1, 2)}
    # a rule naming an arm computes from the log (the points merge arms): the same shift
    by_arm, note = drift_values(
        drifting, spec, "drift.mean_radius", 1, "production", AFTER - timedelta(days=1), AFTER
    )
    assert note is None
    value, rows = by_arm[1]
    assert 290 < rows <= 300  # its own span: from 00:10 on day 2
    assert value is not None
    assert value > 0.5


def test_live_drift_checks_the_last_complete_day(drifting: Store) -> None:
    live = live_drift(drifting, "tumours", clock=FixedClock(AFTER))
    assert (live.start, live.end) == (DAY2, DAY2 + timedelta(days=1))
    assert live.check.verdict == "fail"
    assert {c.column for c in live.check.drift.drifted} == {"mean_radius", "clinic"}
    stored = _points(drifting)  # nothing stored: live_drift only reads
    assert stored == {}


RULES = """    alerts:
      - {name: radius drift, metric: drift.mean_radius, above: 0.5, window: 1d, for: 1d}
      - {name: texture missing, metric: missing.mean_texture, above: 0.05, window: 1d, for: 1d,
         slice: clinic=north}
"""


def test_alert_rules_judge_the_stored_points(store: Store, tmp_path: Path) -> None:
    setup_drift(store, tmp_path, drift_yaml(RULES))
    log_day(store, DAY1, shifted=False, seed=1)
    log_day(store, DAY2, shifted=True, seed=2)
    report = run_monitor(store, clock=FixedClock(AFTER), service="tumours")
    judged = {(j["rule"], j["scope"]["version"]): j for j in report.alerts[0]["judged"]}
    points = _points(store)
    for v in (1, 2):
        radius = judged[("radius drift", v)]
        assert radius["value"] == points[(v, "all", DAY2, "drift.mean_radius")].value
        assert radius["count"] == 300
        assert radius["holds"] is True
        missing = judged[("texture missing", v)]
        assert missing["value"] == points[(v, "clinic=north", DAY2, "missing.mean_texture")].value
        assert missing["holds"] is True


def test_the_drift_window_is_a_setting(store: Store, tmp_path: Path) -> None:
    setup_drift(store, tmp_path, drift_yaml("    monitoring: {drift_window: 6h}\n"))
    log_day(store, DAY1, shifted=False, seed=1)
    report = run_monitor(store, clock=FixedClock(DAY2 + timedelta(hours=1)), service="tumours")
    assert report.services[0].drift_windows == 4
    starts = sorted({p.window_start for p in store.drift.points("tumours")})
    assert starts == [DAY1 + timedelta(hours=6 * i) for i in range(4)]
    assert {p.rows for p in store.drift.points("tumours") if p.slice == "all"} == {75}
    with pytest.raises(ProjectFileError, match="5-minute windows"):
        parse_project(drift_yaml("    monitoring: {drift_window: 7m}\n"))


def test_retention_deletes_old_drift_points(drifting: Store) -> None:
    run_monitor(drifting, clock=FixedClock(AFTER), service="tumours")
    # monitoring.retention_days defaults to 400: at day 1 + 400 days and 12 hours, day 1 goes
    enforce_retention(drifting, FixedClock(DAY1 + timedelta(days=400, hours=12)))
    assert {p.window_start for p in drifting.drift.points("tumours")} == {DAY2}
