"""Labels and outcomes in bulk (every backend): the endpoint's checks, superseding, batching."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import event

from liveops.core.project import parse_project
from liveops.errors import DatasetFileError
from liveops.services.predictions import PredictionLog, open_prediction_log
from liveops.services.predictions.feedback_import import import_feedback
from liveops.services.registry import apply_project
from liveops.store import Store
from tests.services.predictions.test_log import rec
from tests.services.tabular import apply_tabular

ROUTER_YAML = """
services:
  - name: router
    owner: team@example.com
    inputs: {text: {type: string, required: true}}
    output: {labels: [billing, technical]}
"""


@pytest.fixture
def plog(store: Store, tmp_path: Path) -> Iterator[PredictionLog]:
    apply_tabular(store)
    apply_project(store, parse_project(ROUTER_YAML), actor="ann")
    log = open_prediction_log(store, tmp_path / "spool")
    yield log
    log.close()


def logged(plog: PredictionLog, n: int, service: str = "router") -> list[str]:
    extra: dict[str, Any] = {}
    if service == "tumours":
        extra = {"inputs": {"mean_radius": 17.9}, "label": "benign", "segments": {}}
    records = [rec(service, **extra) for _ in range(n)]
    plog.submit(records)
    assert plog.flush(30)
    return [r.prediction_id for r in records]


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    names = sorted({k for r in rows for k in r})
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, names)
        w.writeheader()
        w.writerows(rows)
    return path


def current_labels(store: Store, pid: str) -> list[tuple[str, str]]:
    return sorted(
        (f["source"], f["value"])
        for f in store.predictions.feedback_for(pid)
        if f["kind"] == "label" and not f["superseded_by"]
    )


def test_an_import_checks_each_row_like_the_endpoint(
    store: Store, plog: PredictionLog, tmp_path: Path
) -> None:
    router = logged(plog, 3)
    tumours = logged(plog, 2, "tumours")
    never = rec().prediction_id  # a valid id that was never logged
    rows = [
        {"prediction_id": router[0], "label": "billing", "source": "zendesk"},
        {"prediction_id": router[1].lower(), "label": "technical", "time": "2026-01-05T10:00:00Z"},
        {"prediction_id": router[0], "label": "technical", "source": "zendesk"},  # the last word
        {"prediction_id": tumours[0], "label": "malignant", "time": "1767607200"},
        {"prediction_id": tumours[1], "label": "borderline"},  # not a tumours label
        {"prediction_id": router[2], "label": "malignant"},  # a tumours label, not router's
        {"prediction_id": never, "label": "billing"},
        {"prediction_id": "T-1234", "label": "billing"},
        {"prediction_id": router[2], "label": "billing", "time": "last tuesday"},
        {"prediction_id": router[2]},  # neither label nor outcome
    ]
    path = write_csv(tmp_path / "labels.csv", rows)
    rejects = tmp_path / "labels.csv.rejects.jsonl"
    report = import_feedback(store, path, rejects_file=rejects)
    assert (report.rows, report.accepted, report.overridden, report.superseded) == (10, 3, 1, 0)
    by_line = {r.line: r.reason for r in report.rejected}
    assert by_line == {
        5: "unknown_label",
        6: "unknown_label",
        7: "unknown_prediction",
        8: "bad_id",
        9: "bad_time",
        10: "bad_row",
    }
    assert current_labels(store, router[0]) == [("zendesk", "technical")]
    assert current_labels(store, router[1]) == [("import", "technical")]
    assert current_labels(store, tumours[0]) == [("import", "malignant")]
    assert current_labels(store, tumours[1]) == current_labels(store, router[2]) == []
    [t] = store.predictions.feedback_for(tumours[0])
    assert t["created_at"].startswith("2026-01-05T10:00:00")
    lines = [orjson.loads(x) for x in rejects.read_bytes().splitlines()]
    assert [x["line"] for x in lines] == [5, 6, 7, 8, 9, 10]
    assert lines[2]["row"]["prediction_id"] == never
    assert "tumours's labels: benign, malignant" in lines[0]["message"]

    # the same file again stores nothing new
    again = import_feedback(store, path, rejects_file=rejects)
    assert (again.accepted, again.unchanged, len(again.rejected)) == (0, 3, 6)
    assert len(store.predictions.feedback_for(router[0])) == 1

    # a later file's label supersedes, and the history keeps the older one
    fixed = [{"prediction_id": router[0], "label": "billing", "source": "zendesk"}]
    later = import_feedback(store, write_csv(tmp_path / "fix.csv", fixed), rejects_file=rejects)
    assert (later.accepted, later.superseded) == (1, 1)
    assert not rejects.exists()  # no rejects this time: the stale file is gone
    history = store.predictions.feedback_for(router[0])
    assert [(f["value"], f["superseded_by"] is None) for f in history] == [
        ("technical", False),
        ("billing", True),
    ]


def test_thousands_of_rows_are_stored_in_a_few_transactions(
    store: Store, plog: PredictionLog, tmp_path: Path
) -> None:
    ids = logged(plog, 5000)
    path = tmp_path / "labels.jsonl"
    path.write_bytes(
        b"".join(
            orjson.dumps({"prediction_id": p, "label": ("billing", "technical")[i % 2]}) + b"\n"
            for i, p in enumerate(ids)
        )
    )
    commits: list[int] = []
    event.listen(store.engine, "commit", lambda conn: commits.append(1))
    seen: list[tuple[int, int]] = []
    report = import_feedback(store, path, chunk=2000, progress=lambda d, t: seen.append((d, t)))
    assert report.accepted == 5000
    assert len(commits) <= 8  # per chunk a read and a write, and the service specs' read
    assert seen == [(2000, 5000), (4000, 5000), (5000, 5000)]
    labels = {r["label"]: r["count"] for r in store.predictions.label_counts("router")}
    assert labels == {"billing": 2500, "technical": 2500}


def test_outcome_rows_are_outcome_events(store: Store, plog: PredictionLog, tmp_path: Path) -> None:
    [a, b] = logged(plog, 2, "tumours")
    path = tmp_path / "outcomes.csv"
    rows = [
        {"prediction_id": a, "outcome": "escalated", "source": "crm"},
        {"prediction_id": a, "outcome": "refunded", "value": "20", "source": "crm"},
        {"prediction_id": a, "outcome": "refunded", "value": "25", "source": "crm"},
        {"prediction_id": b, "outcome": "Re solved"},
        {"prediction_id": b, "outcome": "refunded", "value": "lots"},
    ]
    report = import_feedback(store, write_csv(path, rows))
    assert (report.accepted, report.outcomes, report.overridden) == (2, 2, 1)
    assert [r.reason for r in report.rejected] == ["bad_outcome", "bad_value"]
    current = [
        (o["outcome"], o["value"])
        for o in store.outcomes.for_prediction(a)
        if o["superseded_by"] is None
    ]
    assert sorted(current) == [("escalated", None), ("refunded", 25.0)]
    assert store.outcomes.for_prediction(b) == []
    # a later refund amount from the same source supersedes; the same outcome again does not
    fix = [
        {"prediction_id": a, "outcome": "refunded", "value": "30", "source": "crm"},
        {"prediction_id": a, "outcome": "escalated", "source": "crm"},
    ]
    later = import_feedback(store, write_csv(tmp_path / "fix.csv", fix))
    assert (later.accepted, later.superseded, later.unchanged) == (1, 1, 1)
    refunds = [o for o in store.outcomes.for_prediction(a) if o["outcome"] == "refunded"]
    assert [(o["value"], o["superseded_by"] is None) for o in refunds] == [
        (25.0, False),
        (30.0, True),
    ]


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("missing.csv", None, "cannot read"),
        ("cols.csv", b"id,label\n01ARZ3NDEKTSV4RRFFQ69G5FAV,billing\n", "needs prediction_id"),
        ("bad.jsonl", b'{"prediction_id": "x", "label": "a"}\n{not json\n', "line 2"),
        ("latin.csv", "prediction_id,label\nx,caf\xe9\n".encode("latin-1"), "cannot parse"),
    ],
)
def test_a_file_that_cannot_be_read_stores_nothing(
    store: Store,
    plog: PredictionLog,
    tmp_path: Path,
    name: str,
    content: bytes | None,
    match: str,
) -> None:
    [pid] = logged(plog, 1)
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content.replace(b"01ARZ3NDEKTSV4RRFFQ69G5FAV", pid.encode()))
    with pytest.raises(DatasetFileError, match=match) as err:
        import_feedback(store, path)
    assert err.value.hint
    assert store.predictions.feedback_for(pid) == []


def test_json_values_may_be_numbers(store: Store, plog: PredictionLog, tmp_path: Path) -> None:
    [pid] = logged(plog, 1)
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"prediction_id": pid, "outcome": "refunded", "value": 3.5}))
    assert import_feedback(store, path).outcomes == 1
    assert store.outcomes.for_prediction(pid)[0]["value"] == 3.5
