"""Feedback on logged predictions: labels, ratings and corrections that arrive later.

* An id this gateway issued is accepted even while its log record is still queued; an id never
  issued is a :class:`~liveops.errors.ObjectNotFound` (404).
* The same feedback twice is one row (the second call answers ``unchanged``).
* A different value of the same kind from the same source supersedes the older row, which stays
  as history (``superseded_by`` points at the newer one).
* While the database is unreachable, feedback goes to the log's spool (``queued``) and the writer
  stores it afterwards, rather than failing the caller.
* A label must be one of the service's ``output.labels``, else it is an
  :class:`~liveops.errors.InvalidInputError` (422) listing them, unless the service sets
  ``output.allow_new_labels``: then it is stored with ``new_label`` set. Spooled feedback whose
  service could not be told is checked when it is stored (an unknown label is then dropped).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from liveops.core.clock import Clock, SystemClock
from liveops.core.project import ServiceSpec
from liveops.core.serving.prediction import PredictionSink, new_prediction_id
from liveops.errors import (
    InvalidInputError,
    ObjectNotFound,
    ServiceNotFound,
    StoreUnavailableError,
)
from liveops.services.registry import get_service_spec
from liveops.store import Store

__all__ = ["FEEDBACK_KINDS", "FeedbackResult", "record_feedback"]

FEEDBACK_KINDS = ("label", "rating", "correction")
State = Literal["created", "unchanged", "superseded", "queued"]
log = logging.getLogger(__name__)
_ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$", re.IGNORECASE)


@dataclass(frozen=True)
class FeedbackResult:
    """What happened to one piece of feedback."""

    id: str
    prediction_id: str
    kind: str
    state: State
    supersedes: str | None = None
    new_label: bool = False  # a label the service does not declare (it allows new labels)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def record_feedback(
    store: Store,
    sink: PredictionSink,
    prediction_id: str,
    source: str,
    *,
    label: str | None = None,
    rating: float | None = None,
    correction: str | None = None,
    comment: str | None = None,
    clock: Clock | None = None,
    services: Mapping[str, ServiceSpec] | None = None,
) -> FeedbackResult:
    """Store one label, rating or correction from ``source`` for ``prediction_id``.

    >>> import tempfile, time
    >>> from pathlib import Path
    >>> from liveops.core.serving.prediction import PredictionRecord
    >>> from liveops.services.predictions import open_prediction_log
    >>> folder = Path(tempfile.mkdtemp())
    >>> from liveops.store import open_store
    >>> store = open_store("sqlite://", project_dir=folder)
    >>> plog = open_prediction_log(store, folder)
    >>> pid = new_prediction_id(time.time())
    >>> plog.submit([PredictionRecord(pid, "echo", 1, "production", time.time(), {}, "a")])
    >>> record_feedback(store, plog, pid, "agent-7", label="b").state
    'created'
    >>> record_feedback(store, plog, pid, "agent-7", label="b").state
    'unchanged'
    >>> record_feedback(store, plog, pid, "agent-7", label="a").state
    'superseded'
    >>> plog.close()

    ``services`` (the gateway's specs in memory) saves reading a service's labels from the
    database, and lets a label be checked while the database is down.
    """
    kind, value, number = _one_value(label, rating, correction)
    check_source(source)
    if comment is not None and len(comment) > 10_000:
        raise InvalidInputError("'comment' is longer than 10,000 characters")
    prediction_id = check_id(prediction_id)
    now = (clock or SystemClock()).now()
    payload: dict[str, Any] = {
        "id": new_prediction_id(now.timestamp()),
        "prediction_id": prediction_id,
        "source": source,
        "kind": kind,
        "value": value,
        "rating": number,
        "comment": comment,
        "created_at": now.isoformat(),
        "verified": False,
        "label_checked": kind != "label",
        "new_label": False,
    }
    local = _issued_locally(sink, prediction_id)
    try:
        if not local and not sink.issued(prediction_id):
            raise _not_found(prediction_id)
        payload["verified"] = True
        if kind == "label":
            _check_label(store, sink, payload, services or {})
        return _apply(store, payload)
    except StoreUnavailableError:
        defer = getattr(sink, "defer_feedback", None)
        if defer is None:
            raise
        if kind == "label" and not payload["label_checked"]:
            _check_label(None, sink, payload, services or {})  # from memory, when it can
        # Unverified ids (not issued here) are checked when the database is back.
        payload["verified"] = local
        defer(payload)
        return FeedbackResult(
            payload["id"], prediction_id, kind, "queued", new_label=payload["new_label"]
        )


def check_source(source: object) -> str:
    """``source`` if it is 1-200 characters, else the 422 feedback and outcomes answer."""
    if not isinstance(source, str) or not source.strip() or len(source) > 200:
        raise InvalidInputError(
            "feedback needs a 'source' of 1-200 characters (who or what gives it)",
            hint="e.g. source: 'agent:ana' or 'csat-survey'",
        )
    return source


def check_id(prediction_id: object) -> str:
    """The upper-cased id if it is a ULID, else a 404 (an id that cannot have been issued)."""
    if not isinstance(prediction_id, str) or not _ULID.match(prediction_id):
        raise _not_found(prediction_id)
    return prediction_id.upper()


def apply_deferred_feedback(
    store: Store, payload: Mapping[str, Any], issued_locally: Callable[[str], bool]
) -> bool:
    """Store spooled feedback (or an outcome, ``kind: outcome``); False when its prediction id
    turns out never to have been issued (it is dropped). Raises :class:`StoreUnavailableError`
    while the database is still down."""
    pid = str(payload["prediction_id"])
    if (
        not payload.get("verified")
        and not issued_locally(pid)
        and not store.predictions.exists(pid)
    ):
        return False
    if payload.get("kind") == "outcome":
        from liveops.services.predictions.outcomes import apply_outcome

        apply_outcome(store, payload)
        return True
    if not payload.get("label_checked", True):
        try:
            payload = dict(payload)
            _check_label(store, None, payload, {})
        except InvalidInputError as exc:
            log.warning("dropping spooled feedback %s: %s", payload["id"], exc.message)
            return False
    _apply(store, payload)
    return True


def _check_label(
    store: Store | None,
    sink: PredictionSink | None,
    payload: dict[str, Any],
    services: Mapping[str, ServiceSpec],
) -> None:
    """Check a label against its prediction's service; set ``label_checked`` and ``new_label``
    in ``payload``. Without a store (the database is down), check only what memory tells."""
    pid = str(payload["prediction_id"])
    service_of = getattr(sink, "service_of", None)
    service = service_of(pid) if callable(service_of) else None
    if service is None and store is not None:
        row = store.predictions.get(pid)
        service = None if row is None else str(row["service"])
    if service is None:
        return  # checked when the database can tell (apply_deferred_feedback)
    spec = services.get(service)
    if spec is None:
        if store is None:
            return
        try:
            spec = get_service_spec(store, service)
        except ServiceNotFound:
            payload["label_checked"] = True  # a service no longer applied: nothing to check
            return
    label = str(payload["value"])
    known = spec.output.labels
    if label not in known:
        if not spec.output.allow_new_labels:
            raise InvalidInputError(
                f"label {label[:200]!r} is not one of {service}'s labels: {', '.join(known)}",
                hint="send one of these labels; to collect new ones, set "
                "output.allow_new_labels: true in liveops.yaml",
            )
        payload["new_label"] = True
    payload["label_checked"] = True


def _apply(store: Store, payload: Mapping[str, Any]) -> FeedbackResult:
    pid, kind = str(payload["prediction_id"]), str(payload["kind"])
    fstore = store.predictions
    with fstore.feedback_tx(pid) as conn:
        if fstore.feedback_by_id(conn, str(payload["id"])) is not None:  # a replayed spool
            return FeedbackResult(str(payload["id"]), pid, kind, "unchanged")
        current = fstore.current_feedback(conn, pid, str(payload["source"]), kind)
        new_label = bool(payload.get("new_label", False))
        if current is not None and current["value"] == payload["value"]:
            return FeedbackResult(current["id"], pid, kind, "unchanged", new_label=new_label)
        row = {
            "id": payload["id"],
            "prediction_id": pid,
            "source": payload["source"],
            "kind": kind,
            "value": payload["value"],
            "rating": payload.get("rating"),
            "comment": payload.get("comment"),
            "created_at": datetime.fromisoformat(str(payload["created_at"])),
            "superseded_by": None,
            "new_label": bool(payload.get("new_label", False)),
        }
        fstore.insert_feedback(conn, row)
        if current is None:
            return FeedbackResult(str(payload["id"]), pid, kind, "created", new_label=new_label)
        fstore.supersede_feedback(conn, current["id"], str(payload["id"]))
        return FeedbackResult(
            str(payload["id"]), pid, kind, "superseded", current["id"], new_label=new_label
        )


def _one_value(
    label: str | None, rating: float | None, correction: str | None
) -> tuple[str, str, float | None]:
    given = [
        k
        for k, v in (("label", label), ("rating", rating), ("correction", correction))
        if v is not None
    ]
    if len(given) != 1:
        raise InvalidInputError(
            f"feedback carries exactly one of label, rating or correction (got {len(given)})",
            hint='send e.g. {"prediction_id": "...", "source": "agent:ana", "label": "billing"}',
        )
    if label is not None:
        if not isinstance(label, str) or not label.strip() or len(label) > 200:
            raise InvalidInputError("'label' must be a string of 1-200 characters")
        return "label", label, None
    if rating is not None:
        if (
            isinstance(rating, bool)
            or not isinstance(rating, int | float)
            or not math.isfinite(rating)
        ):
            raise InvalidInputError("'rating' must be a finite number")
        return "rating", repr(float(rating)), float(rating)
    assert correction is not None
    if not isinstance(correction, str) or not correction.strip() or len(correction) > 10_000:
        raise InvalidInputError("'correction' must be a string of 1-10,000 characters")
    return "correction", correction, None


def _issued_locally(sink: PredictionSink, prediction_id: str) -> bool:
    local = getattr(sink, "issued_locally", None)
    return bool(local(prediction_id)) if callable(local) else False


def _not_found(prediction_id: object) -> ObjectNotFound:
    return ObjectNotFound(
        f"no prediction {str(prediction_id)[:40]!r} was issued",
        hint="send feedback with the prediction_id a predict answer returned",
    )
