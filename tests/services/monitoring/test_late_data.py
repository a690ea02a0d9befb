"""Late and racing data: every case is counted once, in the window of its prediction, whatever
the order rows and feedback reach the database in, and a pass stopped half-way is finished by
the next one."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from liveops.core.clock import FixedClock
from liveops.core.monitoring.window import LATENCY_EDGES_MS, WindowStats, bucket_of
from liveops.services.monitoring import run_monitor
from liveops.services.monitoring.run import BATCH_WINDOWS, LEASE, LEASE_TTL_S
from liveops.store import Store, open_store
from tests.services.monitoring.logrows import T0, at, give, log_row, store_rows
from tests.services.monitoring.test_numbers import windows_of
from tests.services.tabular import apply_tabular


def _all(store: Store, window: int, version: int = 1) -> WindowStats:
    return windows_of(store)[(version, "production", "all", window)]


@pytest.fixture
def tumours(store: Store) -> Store:
    return apply_tabular(store)


def test_feedback_before_its_prediction_is_stored_counts_once_it_arrives(tumours: Store) -> None:
    store = tumours
    row = log_row(at(1), label="benign", logged_at=at(40))
    store_rows(store, [log_row(at(2))])
    give(store, row["prediction_id"], at(3), label="malignant")  # the row is still in a spool
    run_monitor(store, clock=FixedClock(at(10)))
    assert _all(store, 0).value("label_coverage") == 0.0
    store_rows(store, [row])  # the writer stores it late
    run_monitor(store, clock=FixedClock(at(45)))
    w = _all(store, 0)
    assert w.volume == 2
    assert w.labelled == 1
    assert w.value("accuracy") == 0.0


def test_a_superseded_label_is_replaced_not_added(tumours: Store) -> None:
    store = tumours
    row = log_row(at(1), label="benign")
    store_rows(store, [row])
    give(store, row["prediction_id"], at(5), label="malignant")
    run_monitor(store, clock=FixedClock(at(10)))
    assert _all(store, 0).value("accuracy") == 0.0
    give(store, row["prediction_id"], at(60), label="benign")  # the agent corrects the label
    run_monitor(store, clock=FixedClock(at(61)))
    w = _all(store, 0)
    assert w.labelled == 1
    assert w.value("accuracy") == 1.0


def test_a_row_stored_late_with_an_older_time_lands_in_its_own_window(tumours: Store) -> None:
    store = tumours
    store_rows(store, [log_row(at(i)) for i in range(10)])
    run_monitor(store, clock=FixedClock(at(15)))
    before = windows_of(store)
    # Replayed from a spool a day later: request time 09:07, stored now.
    late = log_row(at(7), latency_ms=500.0, logged_at=at(24 * 60))
    store_rows(store, [late])
    run_monitor(store, clock=FixedClock(at(24 * 60 + 1)))
    after = windows_of(store)
    assert (
        after[(1, "production", "all", 1)].volume == before[(1, "production", "all", 1)].volume + 1
    )
    assert after[(1, "production", "all", 0)] == before[(1, "production", "all", 0)]
    again = run_monitor(store, clock=FixedClock(at(24 * 60 + 2)))  # the overlap reads it again
    assert again.services[0].rows_read >= 1
    assert windows_of(store) == after


def test_labels_for_a_version_the_registry_does_not_know(tumours: Store) -> None:
    store = tumours
    row = log_row(at(1), version=7, label="malignant")
    store_rows(store, [row])
    give(store, row["prediction_id"], at(2), label="malignant")
    run_monitor(store, clock=FixedClock(at(10)))
    w = _all(store, 0, version=7)
    assert w.value("accuracy") == 1.0
    assert w.value("label_coverage") == 1.0


def test_an_empty_window_has_no_values_and_a_window_of_one_answer_has_them(tumours: Store) -> None:
    store = tumours
    row = log_row(at(11), latency_ms=42.0, label="benign", confidence=0.8)
    store_rows(store, [log_row(at(1)), row])
    give(store, row["prediction_id"], at(12), label="benign")
    run_monitor(store, clock=FixedClock(at(20)))
    got = windows_of(store)
    assert (1, "production", "all", 1) not in got  # 09:05-09:10 had no answers: nothing stored
    empty = WindowStats()
    assert [empty.value(m) for m in ("accuracy", "latency.p95_ms", "error_rate")] == [None] * 3
    one = got[(1, "production", "all", 2)]
    edge = LATENCY_EDGES_MS[bucket_of(42.0)]
    assert [one.value(f"latency.p{q}_ms") for q in (50, 95, 99)] == [edge] * 3
    assert one.value("accuracy") == 1.0
    assert one.value("macro_f1") == 1.0


def test_a_segment_value_never_seen_is_other(tumours: Store) -> None:
    store = tumours
    store_rows(store, [log_row(at(1), clinic="north"), log_row(at(2), clinic="east")])
    report = run_monitor(store, clock=FixedClock(at(10)))
    assert report.services[0].slices == ["all", "clinic=north", "clinic=south", "clinic=other"]
    got = windows_of(store)
    assert got[(1, "production", "clinic=other", 0)].volume == 1
    assert got[(1, "production", "clinic=north", 0)].volume == 1
    assert (1, "production", "clinic=east", 0) not in got
    # The values stay fixed: a later flood of "east" does not make it a slice of its own.
    store_rows(store, [log_row(at(20 + i / 10), clinic="east") for i in range(50)])
    run_monitor(store, clock=FixedClock(at(30)))
    assert store.monitoring.segment_values("tumours")["clinic"][0] == ["north", "south"]


class Killed(Exception):
    pass


def test_a_pass_killed_half_way_is_finished_by_the_next_with_nothing_counted_twice(
    tumours: Store,
) -> None:
    store = tumours
    n_windows = 2 * BATCH_WINDOWS + 10  # three batches
    store_rows(store, [log_row(at(5 * w + 1)) for w in range(n_windows)])
    store_rows(store, [log_row(at(5 * w + 2), clinic="south") for w in range(n_windows)])

    def die_after_first(service: str, done: int, total: int) -> None:
        if done == 1:
            raise Killed

    with pytest.raises(Killed):
        run_monitor(store, clock=FixedClock(at(9 * 60)), progress=die_after_first)
    half = windows_of(store)
    assert 0 < len([k for k in half if k[2] == "all"]) < n_windows
    assert store.monitoring.state("tumours") is None  # no watermark: the next pass redoes it
    assert store.monitoring.lease_holder(LEASE) is None  # the lease was given back
    run_monitor(store, clock=FixedClock(at(9 * 60 + 1)))
    done = windows_of(store)
    assert sum(s.volume for k, s in done.items() if k[2] == "all") == 2 * n_windows
    assert sum(s.volume for k, s in done.items() if k[2] == "clinic=south") == n_windows
    run_monitor(store, clock=FixedClock(at(9 * 60 + 2)), full=True)
    assert windows_of(store) == done


def test_a_second_runner_skips_while_the_lease_is_held(tumours: Store) -> None:
    store = tumours
    store_rows(store, [log_row(at(1))])
    assert store.monitoring.acquire(LEASE, "gateway-b", at(0), LEASE_TTL_S)
    skipped = run_monitor(store, clock=FixedClock(at(1)))
    assert not skipped.ran
    assert "gateway-b" in (skipped.skipped or "")
    assert windows_of(store) == {}
    # gateway-b died without giving it back: once the lease expires the next runner works
    late = run_monitor(store, clock=FixedClock(at(1) + timedelta(seconds=LEASE_TTL_S)))
    assert late.ran
    assert _all(store, 0).volume == 1


def test_two_runners_at_once_across_connections_one_works(durable_url: str, tmp_path: Path) -> None:
    first = apply_tabular(open_store(durable_url, project_dir=tmp_path))
    second = open_store(durable_url, project_dir=tmp_path)
    store_rows(first, [log_row(at(1)), log_row(at(7))])
    inside, release = threading.Event(), threading.Event()
    reports = []

    def hold(service: str, done: int, total: int) -> None:
        inside.set()
        assert release.wait(30)

    worker = threading.Thread(
        target=lambda: reports.append(run_monitor(first, clock=FixedClock(at(10)), progress=hold))
    )
    worker.start()
    try:
        assert inside.wait(30)
        other = run_monitor(second, clock=FixedClock(at(10)))
    finally:
        release.set()
        worker.join(30)
    assert not other.ran
    assert reports[0].ran
    assert sum(s.volume for k, s in windows_of(second).items() if k[2] == "all") == 2
    first.close()
    second.close()


def test_retention_deletes_old_windows_and_old_log_rows_but_keeps_their_windows(
    store: Store,
) -> None:
    from liveops.core.project import parse_project
    from liveops.services.registry import apply_project
    from tests.services.tabular import tabular_yaml

    yaml = tabular_yaml().replace(
        "    model_inputs: [mean_radius, mean_texture, mean_area]\n",
        "    model_inputs: [mean_radius, mean_texture, mean_area]\n"
        "    logging: {retention_days: 2}\n"
        "    monitoring: {retention_days: 10}\n",
    )
    apply_project(store, parse_project(yaml), actor="ann")
    old, recent = log_row(T0 - timedelta(days=12)), log_row(T0 - timedelta(days=1))
    store_rows(store, [old, log_row(T0 - timedelta(days=5)), recent])
    run_monitor(store, clock=FixedClock(T0))
    report = run_monitor(store, clock=FixedClock(T0), retention=True)
    assert report.retention["tumours"]["log_rows"] == 2
    assert store.predictions.ids("tumours") == [recent["prediction_id"]]
    kept = sorted(k[3] for k in windows_of(store) if k[2] == "all")
    assert kept == [-5 * 288, -288]  # the 12-day-old window went; the 5-day-old one stays


def test_labels_imported_a_day_late_with_their_own_older_times_are_counted(
    tumours: Store,
) -> None:
    """A ticketing system's export, imported a day after the answers, keeps each label's own
    time (minutes after its answer): the next pass counts them, though their times are long
    before the last pass."""
    from liveops.services.predictions.feedback_import import import_feedback_rows

    store = tumours
    rows = [log_row(at(i), label="benign", logged_at=at(i)) for i in range(4)]
    store_rows(store, [*rows, log_row(at(30), logged_at=at(30))])
    run_monitor(store, clock=FixedClock(at(40)))
    assert _all(store, 0).labelled == 0
    day = at(24 * 60)
    labels = [
        {"prediction_id": r["prediction_id"], "label": "malignant", "time": at(2).isoformat()}
        for r in rows[:3]
    ]
    report = import_feedback_rows(store, labels, clock=FixedClock(day))
    assert report.accepted == 3
    run_monitor(store, clock=FixedClock(day + timedelta(minutes=1)))
    w = _all(store, 0)
    assert w.labelled == 3
    assert w.value("accuracy") == 0.0
