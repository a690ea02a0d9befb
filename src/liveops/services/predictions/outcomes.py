"""Outcome events: what happened after an answer (``resolved``, ``escalated``, ``refunded``).

An outcome names an event about one prediction, with an optional number (a refund's amount, the
minutes to resolution). It is checked and stored like feedback (an issued id only; spooled while
the database is down), with one difference: one source may report several outcomes of one
answer (escalated, then resolved), and only the same outcome name from the same source
supersedes the older row (a corrected amount). The same outcome twice is one row.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from liveops.core.clock import Clock, SystemClock
from liveops.core.serving.prediction import PredictionSink, new_prediction_id
from liveops.errors import InvalidInputError, StoreUnavailableError
from liveops.services.predictions.feedback import (
    _issued_locally,
    _not_found,
    check_id,
    check_source,
)
from liveops.store import Store

__all__ = ["OUTCOME_NAME", "OutcomeResult", "check_outcome", "record_outcome"]

# A short identifier: it becomes part of a metric name (``outcome.NAME.rate``).
OUTCOME_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
State = Literal["created", "unchanged", "superseded", "queued"]


@dataclass(frozen=True)
class OutcomeResult:
    """What happened to one outcome event."""

    id: str
    prediction_id: str
    outcome: str
    state: State
    supersedes: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_outcome(outcome: object, value: object) -> tuple[str, float | None]:
    """The outcome name and value if they are valid, else a 422 saying what is wrong.

    >>> check_outcome("refunded", 12)
    ('refunded', 12.0)
    >>> try:
    ...     check_outcome("Refunded!", None)
    ... except InvalidInputError as exc:
    ...     print(exc.message[:45])
    outcome 'Refunded!' is not a short identifier
    """
    if not isinstance(outcome, str) or not OUTCOME_NAME.match(outcome):
        raise InvalidInputError(
            f"outcome {str(outcome)[:80]!r} is not a short identifier (lower-case letters, "
            "digits and _, starting with a letter, at most 64)",
            hint="e.g. resolved, escalated, refunded",
        )
    if value is None:
        return outcome, None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInputError("'value' must be a finite number (or left out)")
    return outcome, float(value)


def record_outcome(
    store: Store,
    sink: PredictionSink,
    prediction_id: str,
    source: str,
    outcome: str,
    value: float | None = None,
    *,
    clock: Clock | None = None,
) -> OutcomeResult:
    """Store one outcome event from ``source`` for ``prediction_id``.

    >>> import tempfile, time
    >>> from pathlib import Path
    >>> from liveops.core.serving.prediction import PredictionRecord
    >>> from liveops.services.predictions import open_prediction_log
    >>> from liveops.store import open_store
    >>> folder = Path(tempfile.mkdtemp())
    >>> store = open_store("sqlite://", project_dir=folder)
    >>> plog = open_prediction_log(store, folder)
    >>> pid = new_prediction_id(time.time())
    >>> plog.submit([PredictionRecord(pid, "echo", 1, "production", time.time(), {}, "a")])
    >>> record_outcome(store, plog, pid, "crm", "escalated").state
    'created'
    >>> record_outcome(store, plog, pid, "crm", "refunded", 20).state
    'created'
    >>> record_outcome(store, plog, pid, "crm", "refunded", 25).state
    'superseded'
    >>> plog.close()
    """
    name, number = check_outcome(outcome, value)
    check_source(source)
    prediction_id = check_id(prediction_id)
    now = (clock or SystemClock()).now()
    payload: dict[str, Any] = {
        "kind": "outcome",
        "id": new_prediction_id(now.timestamp()),
        "prediction_id": prediction_id,
        "source": source,
        "outcome": name,
        "value": number,
        "created_at": now.isoformat(),
        "verified": False,
    }
    local = _issued_locally(sink, prediction_id)
    try:
        if not local and not sink.issued(prediction_id):
            raise _not_found(prediction_id)
        return apply_outcome(store, payload)
    except StoreUnavailableError:
        defer = getattr(sink, "defer_feedback", None)
        if defer is None:
            raise
        payload["verified"] = local  # an id not issued here is checked when the database is back
        defer(payload)
        return OutcomeResult(payload["id"], prediction_id, name, "queued")


def apply_outcome(store: Store, payload: Mapping[str, Any]) -> OutcomeResult:
    """Store a checked outcome (from a request or the spool), superseding as described."""
    pid, name = str(payload["prediction_id"]), str(payload["outcome"])
    out = store.outcomes
    with out.tx(pid) as conn:
        if out.by_id(conn, str(payload["id"])) is not None:  # a replayed spool
            return OutcomeResult(str(payload["id"]), pid, name, "unchanged")
        current = out.current(conn, pid, str(payload["source"]), name)
        value = payload.get("value")
        if current is not None and current["value"] == value:
            return OutcomeResult(current["id"], pid, name, "unchanged")
        out.insert(
            conn,
            {
                "id": payload["id"],
                "prediction_id": pid,
                "source": payload["source"],
                "outcome": name,
                "value": value,
                "created_at": datetime.fromisoformat(str(payload["created_at"])),
                "superseded_by": None,
            },
        )
        if current is None:
            return OutcomeResult(str(payload["id"]), pid, name, "created")
        out.supersede(conn, current["id"], str(payload["id"]))
        return OutcomeResult(str(payload["id"]), pid, name, "superseded", current["id"])
