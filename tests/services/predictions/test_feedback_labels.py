"""Feedback labels are the service's labels, unless the service allows new ones (every backend)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from liveops.core.project import parse_project
from liveops.errors import InvalidInputError
from liveops.services.predictions import PredictionLog, open_prediction_log, record_feedback
from liveops.services.predictions.feedback import apply_deferred_feedback
from liveops.services.predictions.queries import label_feedback
from liveops.services.registry import apply_project, get_service_spec
from liveops.store import Store
from tests.services.predictions.test_log import rec
from tests.services.tabular import apply_tabular, tabular_yaml


def tumour_rec() -> object:
    return rec(
        "tumours",
        inputs={"mean_radius": 17.9, "mean_texture": 10.4, "mean_area": 1001.0},
        label="malignant",
        scores={"benign": 0.1, "malignant": 0.9},
        segments={"clinic": "north"},
    )


@pytest.fixture
def plog(store: Store, tmp_path: Path) -> Iterator[PredictionLog]:
    apply_tabular(store)
    log = open_prediction_log(store, tmp_path)
    yield log
    log.close()


def allow_new_labels(store: Store) -> None:
    text = tabular_yaml().replace(
        "output: {labels: [benign, malignant]}",
        "output: {labels: [benign, malignant], allow_new_labels: true}",
    )
    apply_project(store, parse_project(text), actor="ann")


def test_an_unknown_label_is_a_422_listing_the_labels(store: Store, plog: PredictionLog) -> None:
    r = tumour_rec()
    plog.submit([r])  # type: ignore[list-item]
    pid = r.prediction_id  # type: ignore[attr-defined]
    with pytest.raises(InvalidInputError) as err:
        record_feedback(store, plog, pid, "pathology", label="borderline")
    assert err.value.status == 422
    assert "tumours's labels: benign, malignant" in err.value.message
    assert "allow_new_labels" in (err.value.hint or "")
    assert record_feedback(store, plog, pid, "pathology", label="benign").state == "created"
    plog.flush()
    assert [f["value"] for f in store.predictions.feedback_for(pid)] == ["benign"]


def test_an_id_from_the_database_is_checked_too(store: Store, plog: PredictionLog) -> None:
    r = tumour_rec()
    plog.submit([r])  # type: ignore[list-item]
    plog.close()
    other = open_prediction_log(store, plog.spool_folder.parent.parent / "other")
    try:
        pid = r.prediction_id  # type: ignore[attr-defined]
        assert not other.issued_locally(pid)
        assert store.predictions.exists(pid)
        with pytest.raises(InvalidInputError, match="benign, malignant"):
            record_feedback(store, other, pid, "pathology", label="0")
    finally:
        other.close()


def test_a_new_label_is_stored_marked_and_counted_when_allowed(
    store: Store, plog: PredictionLog
) -> None:
    allow_new_labels(store)
    assert get_service_spec(store, "tumours").output.allow_new_labels is True
    records = [tumour_rec() for _ in range(3)]
    plog.submit(records)  # type: ignore[arg-type]
    ids = [r.prediction_id for r in records]  # type: ignore[attr-defined]
    new = record_feedback(store, plog, ids[0], "pathology", label="borderline")
    assert new.state == "created"
    assert new.new_label is True
    assert record_feedback(store, plog, ids[1], "pathology", label="borderline").new_label
    known = record_feedback(store, plog, ids[2], "pathology", label="malignant")
    assert known.new_label is False
    plog.flush()
    rows = store.predictions.feedback_for(ids[0])
    assert [(f["value"], f["new_label"]) for f in rows] == [("borderline", True)]
    assert label_feedback(store, "tumours") == [
        {"label": "borderline", "count": 2, "new": True},
        {"label": "malignant", "count": 1, "new": False},
    ]


def test_spooled_feedback_is_checked_when_it_is_stored(store: Store, plog: PredictionLog) -> None:
    # Feedback spooled while neither memory nor the database could tell its service.
    r = tumour_rec()
    plog.submit([r])  # type: ignore[list-item]
    plog.flush()
    pid = r.prediction_id  # type: ignore[attr-defined]
    base = {
        "prediction_id": pid,
        "source": "pathology",
        "kind": "label",
        "rating": None,
        "comment": None,
        "created_at": "2026-12-07T00:00:00+00:00",
        "verified": True,
        "label_checked": False,
        "new_label": False,
    }
    bad = {**base, "id": "01JEZZZZZZZZZZZZZZZZZZZZZ1", "value": "borderline"}
    good = {**base, "id": "01JEZZZZZZZZZZZZZZZZZZZZZ2", "value": "benign"}
    assert apply_deferred_feedback(store, bad, lambda _: False) is False
    assert apply_deferred_feedback(store, good, lambda _: False) is True
    assert [f["value"] for f in store.predictions.feedback_for(pid)] == ["benign"]
