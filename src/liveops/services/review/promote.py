"""The managed regression dataset: reviewed cases promoted so every later evaluation checks them.

``promote(item)`` appends the item's case (its inputs and the expected label) to the dataset
``SERVICE-regression``, registered through :mod:`liveops.services.datasets` like any other
dataset, so each promotion is a new hashed dataset version (``support-router-regression@3``).
Evaluation reads the latest version and runs its cases as must-pass cases of their own scenario
(see :func:`regression_dataset_name`); the user's suite file is never rewritten.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from liveops.core.records import DatasetRecord
from liveops.errors import ConflictError, InvalidInputError
from liveops.services.datasets import add_dataset, load_records
from liveops.services.evaluation import (
    REVIEW_ITEM_COLUMN,
    regression_dataset_name,
)
from liveops.services.registry import get_service_spec
from liveops.services.review.queue import get_item, get_review
from liveops.store import Store

__all__ = ["Promotion", "promote"]

Promotion = tuple[DatasetRecord, bool]


def promote(store: Store, item_id: str, *, actor: str, label: str | None = None) -> Promotion:
    """Add a reviewed item to its service's regression dataset; returns (dataset, created).

    The expected label is ``label`` when given (a reviewer found the case's label wrong), else
    the case's own. Promoting an item twice returns the version it went into.
    """
    item = get_item(store, item_id)
    review = get_review(store, item.review_id)
    name = regression_dataset_name(review.service)
    done = [p for p in store.reviews.promotions(item_id=item.id) if p["dataset"] == name]
    if done:
        existing = store.datasets.get(name, int(done[0]["dataset_number"]))
        assert existing is not None
        return existing, False
    if not store.reviews.scores(item_id=item.id):
        raise ConflictError(
            f"review item {item.id} has no scores yet; only reviewed cases are promoted",
            hint=f"score it first: `liveops review submit {item.id} --score NAME=VALUE`",
        )
    expected = label if label is not None else item.expected
    if not expected:
        raise InvalidInputError(
            f"review item {item.id} has no expected label",
            hint="give the right one with --label LABEL",
        )
    _check_label(store, review.service, expected)
    column = str(review.sample.get("expected_column") or "label")
    # Reviews made before must-pass inputs left out the label may still carry it; the row's
    # label is `expected` either way.
    inputs = {k: v for k, v in item.inputs.items() if k != column}
    latest = store.datasets.get(name)
    rows: list[dict[str, Any]] = load_records(store, latest) if latest else []
    rows = [r for r in rows if r.get(REVIEW_ITEM_COLUMN) != item.id]
    rows.append({**inputs, column: expected, REVIEW_ITEM_COLUMN: item.id})
    with tempfile.TemporaryDirectory(prefix="liveops-regression-") as tmp:
        path = Path(tmp) / f"{name}.jsonl"
        path.write_text(
            "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows),
            encoding="utf-8",
        )
        record, _created = add_dataset(
            store, path, name=name, actor=actor, source=f"review promotion of {item.id}"
        )
    with store.write() as conn:
        store.reviews.add_promotion(conn, item.id, name, record.number, actor, store.clock.now())
        store.audit.append(
            conn,
            actor=actor,
            action="review.promoted",
            object_type="review_item",
            object_id=item.id,
            data={"dataset": record.ref, "expected": expected, "rows": record.rows},
        )
    return record, True


def _check_label(store: Store, service: str, label: str) -> None:
    labels = get_service_spec(store, service).output.labels
    if label not in labels:
        raise InvalidInputError(
            f"{label!r} is not a label of {service} (labels: {', '.join(labels)})",
            hint="pass one of the service's output labels with --label",
        )
