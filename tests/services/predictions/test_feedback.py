"""Feedback on every backend: issued ids only, idempotent, corrections keep history."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from liveops.core.serving.prediction import new_prediction_id
from liveops.errors import InvalidInputError, ObjectNotFound
from liveops.services.predictions import (
    LogSettings,
    PredictionLog,
    open_prediction_log,
    record_feedback,
)
from liveops.store import Store
from tests.services.predictions.test_log import rec


@pytest.fixture
def plog(store: Store, tmp_path: Path) -> Iterator[PredictionLog]:
    # A writer that waits an hour between passes: once its first pass is done, submitted
    # records stay in the spool.
    # Half a second for another process's recent ids, so never-issued ids fail fast here.
    settings = LogSettings(flush_interval_s=3600, batch_max=10**6, sibling_wait_s=0.5)
    log = open_prediction_log(store, tmp_path, settings)
    deadline = time.monotonic() + 30
    while log.stats()["passes_total"] < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    yield log
    log.close()


def test_an_id_still_queued_is_accepted(store: Store, plog: PredictionLog) -> None:
    r = rec()
    plog.submit([r])
    assert not store.predictions.exists(r.prediction_id)
    result = record_feedback(store, plog, r.prediction_id, "agent:ana", label="technical")
    assert result.state == "created"
    assert result.kind == "label"
    assert [f["value"] for f in store.predictions.feedback_for(r.prediction_id)] == ["technical"]


def test_an_id_never_issued_is_not_found(store: Store, plog: PredictionLog) -> None:
    for pid in (new_prediction_id(time.time()), "not-an-id", ""):
        with pytest.raises(ObjectNotFound) as err:
            record_feedback(store, plog, pid, "agent:ana", label="billing")
        assert err.value.status == 404
    assert store.predictions.feedback_for(new_prediction_id(time.time())) == []


def test_an_id_in_the_database_from_an_earlier_process_is_accepted(
    store: Store, tmp_path: Path
) -> None:
    first = open_prediction_log(store, tmp_path)
    r = rec()
    first.submit([r])
    first.close()
    second = open_prediction_log(store, tmp_path)
    assert not second.issued_locally(r.prediction_id)
    assert record_feedback(store, second, r.prediction_id, "csat", rating=4).state == "created"
    second.close()


def test_same_feedback_twice_is_one_row(store: Store, plog: PredictionLog) -> None:
    r = rec()
    plog.submit([r])
    a = record_feedback(store, plog, r.prediction_id, "agent:ana", label="billing")
    b = record_feedback(store, plog, r.prediction_id, "agent:ana", label="billing")
    assert (a.state, b.state, b.id) == ("created", "unchanged", a.id)
    assert len(store.predictions.feedback_for(r.prediction_id)) == 1


def test_a_different_label_supersedes_and_keeps_history(store: Store, plog: PredictionLog) -> None:
    r = rec()
    plog.submit([r])
    first = record_feedback(store, plog, r.prediction_id, "agent:ana", label="billing")
    second = record_feedback(store, plog, r.prediction_id, "agent:ana", label="technical")
    other = record_feedback(store, plog, r.prediction_id, "agent:bob", label="billing")
    rating = record_feedback(store, plog, r.prediction_id, "agent:ana", rating=2)
    assert second.state == "superseded"
    assert second.supersedes == first.id
    assert other.state == rating.state == "created"  # another source, another kind
    rows = {f["id"]: f for f in store.predictions.feedback_for(r.prediction_id)}
    assert rows[first.id]["superseded_by"] == second.id
    assert rows[second.id]["superseded_by"] is None
    assert rows[rating.id]["rating"] == 2.0
    current = [
        (f["source"], f["kind"], f["value"]) for f in rows.values() if not f["superseded_by"]
    ]
    assert sorted(current) == [
        ("agent:ana", "label", "technical"),
        ("agent:ana", "rating", "2.0"),
        ("agent:bob", "label", "billing"),
    ]


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"label": "a", "rating": 1},
        {"label": ""},
        {"label": "x" * 201},
        {"rating": float("nan")},
        {"rating": True},
        {"correction": "  "},
    ],
)
def test_bad_feedback_is_refused_and_stores_nothing(
    store: Store, plog: PredictionLog, kwargs: dict[str, object]
) -> None:
    r = rec()
    plog.submit([r])
    with pytest.raises(InvalidInputError) as err:
        record_feedback(store, plog, r.prediction_id, "agent:ana", **kwargs)  # type: ignore[arg-type]
    assert err.value.status == 422
    with pytest.raises(InvalidInputError):
        record_feedback(store, plog, r.prediction_id, "", label="a")
    assert store.predictions.feedback_for(r.prediction_id) == []
