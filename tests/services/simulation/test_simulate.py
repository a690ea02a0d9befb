"""A simulation through a real gateway (``liveops serve --allow-time-override`` started by the
engine) on the tabular service: the monitor's windows line up with the simulated days, labels
that arrive on a later day are counted on the day of their prediction, and the gateway, the
feedback, the monitor passes and a store on an advancing clock all follow the one simulated
clock."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from liveops.core.clock import AdvancingClock
from liveops.core.monitoring.window import WindowStats
from liveops.services.monitoring import MonitorReport
from liveops.services.registry import register_version, set_alias
from liveops.services.simulation import Phase, SimulationOptions, simulate
from liveops.store import open_store
from tests.services.tabular import (
    CANCER_MAP,
    TUMOURS,
    apply_tabular,
    cancer_frame,
    cancer_model,
    tabular_yaml,
)

START = datetime(2026, 3, 2, tzinfo=UTC)
DAY = timedelta(days=1)


def _records() -> list[dict[str, Any]]:
    x, y = cancer_frame()
    out = []
    for i in range(len(x)):
        row: dict[str, Any] = {k: float(x.iloc[i][k]) for k in TUMOURS}
        row["clinic"] = "north" if i % 3 else "south"
        row["label"] = CANCER_MAP[str(int(y.iloc[i]))]
        out.append(row)
    return out


@pytest.mark.slow
def test_a_simulated_span_lines_up_with_the_monitors_windows(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "liveops.yaml").write_text(tabular_yaml())
    # A store on an advancing clock: the wall clock until the simulation moves it.
    store = open_store(project_dir=project, clock=AdvancingClock())
    apply_tabular(store)
    model = cancer_model(tmp_path / "m.skops")
    config = {"output.label_map": CANCER_MAP}
    register_version(store, "tumours", actor="ann", artifact=model, config=config)
    set_alias(store, "tumours", "production", "1", actor="ann")
    records = _records()

    def source(name: str, n: int, day: int) -> list[dict[str, Any]]:
        assert name == "clinic-data"
        return [records[(day * 97 + i) % len(records)] for i in range(n)]

    passes: list[datetime] = []
    read: list[int] = []
    ticks: list[tuple[datetime, int]] = []

    def on_tick(at: datetime) -> None:  # e.g. a rollout controller's look, on its own cadence
        ticks.append((at, store.predictions.count("tumours")))

    def on_monitor(report: MonitorReport, at: datetime) -> None:
        assert report.ran
        assert store.clock.now() == at  # what the pass wrote through the store carries its time
        passes.append(at)
        read.append(report.services[0].rows_read)

    report = simulate(
        store,
        project,
        "tumours",
        [Phase("clinic-data", 2)],
        source,
        SimulationOptions(
            per_day=240,
            batch=8,
            label_share=0.5,
            delay_s=(3600.0, 36 * 3600.0),
            monitor_every_s=12 * 3600.0,
            tick_every_s=6 * 3600.0,
            seed=3,
        ),
        start=START,
        on_monitor=on_monitor,
        on_tick=on_tick,
    )
    assert report.answers == 480
    assert [d.answers for d in report.days] == [240, 240]
    assert report.requests == 60
    assert report.labels_refused == 0
    # One clock: the passes ran at the simulated times (every 12 h, and at the end).
    assert passes == [START + timedelta(hours=12 * k) for k in (1, 2, 3, 4)]
    # Each pass read only the log rows stored since the one before: every answer once (the
    # monitor's overlap is wall-clock minutes, and these passes were seconds apart).
    assert sum(read) == 480
    # The ticks every 6 simulated hours, within the span, each once the log held every answer
    # sent before it (the daily pattern puts more of them in the afternoon).
    assert [at for at, _ in ticks] == [START + timedelta(hours=6 * k) for k in range(1, 8)]
    logged = [n for _, n in ticks]
    assert logged == sorted(logged)
    assert 0 < logged[0] < logged[3] < 480

    # The monitor's day buckets hold exactly each simulated day's answers.
    per_day: dict[int, WindowStats] = defaultdict(WindowStats)
    heartbeat: dict[int, WindowStats] = defaultdict(WindowStats)
    for version, arm, slice_, start, stats in store.monitoring.windows("tumours", START):
        day = int((start - START) / DAY)
        if arm == "gateway":  # the heartbeat's row of each window (no version, no answers)
            assert (version, slice_, stats["volume"]) == (0, "all", 0)
            heartbeat[day] = heartbeat[day].merged(WindowStats.from_dict(stats))
        elif slice_ == "all":
            assert version == 1
            per_day[day] = per_day[day].merged(WindowStats.from_dict(stats))
    assert sorted(per_day) == [0, 1]
    assert [per_day[d].volume for d in (0, 1)] == [240, 240]

    # Labels count in the day of their prediction, whenever they arrived...
    assert [per_day[d].labelled for d in (0, 1)] == [d.labels_sent for d in report.days]
    assert report.labels_sent + report.labels_pending == sum(
        d.labels_sent + d.labels_pending for d in report.days
    )
    # ...and some of day 0's labels did arrive on day 1, stamped with their simulated time.
    rows = _labels(store)
    assert len(rows) == report.labels_sent
    assert all(START < created <= START + 2 * DAY for created, _, _, _ in rows)
    assert all(created > ts for created, ts, _, _ in rows)  # a label comes after its answer
    assert any(ts < START + DAY <= created for created, ts, _, _ in rows)
    # Each day's accuracy is scikit-learn's on that day's answers joined with their labels.
    from sklearn.metrics import accuracy_score

    for d in (0, 1):
        day = [(given, answered) for _, ts, given, answered in rows if (ts - START) // DAY == d]
        expected = accuracy_score([g for g, _ in day], [a for _, a in day])
        assert per_day[d].value("accuracy") == pytest.approx(expected)
    # The gateway's heartbeats followed the simulated clock: the gateway was up all along,
    # and every request it received was answered (60 requests, none refused).
    ticks = store.ticks.between(START, START + 2 * DAY)
    assert len(ticks) > 100
    assert sorted(heartbeat) == [0, 1]
    assert all(heartbeat[d].value("uptime") == pytest.approx(1.0, abs=0.01) for d in (0, 1))
    assert sum(heartbeat[d].value("rejected.422") or 0 for d in (0, 1)) == 0
    assert heartbeat[0].value("availability") == 1.0
    store.close()


def _labels(store: Any) -> list[tuple[datetime, datetime, str, str]]:
    """(label created_at, prediction ts, label given, label answered) of every label."""
    from sqlalchemy import select

    from liveops.store.db import connect
    from liveops.store.prediction_tables import feedback, predictions

    q = select(feedback.c.created_at, predictions.c.ts, feedback.c.value, predictions.c.label)
    q = q.join(predictions, predictions.c.prediction_id == feedback.c.prediction_id)
    with connect(store.engine, write=False) as conn:
        return [(_utc(a), _utc(b), str(c), str(d)) for a, b, c, d in conn.execute(q)]


def _utc(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)
