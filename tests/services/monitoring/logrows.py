"""Log rows and feedback written straight into the store, with the times a test chooses: the
monitor reads the tables, so the tables are what these tests control (the gateway's own path
into them is tested with the prediction log)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from liveops.core.serving.prediction import PredictionIds
from liveops.store import Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a window boundary
_IDS = PredictionIds()


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def log_row(
    ts: datetime,
    *,
    service: str = "tumours",
    version: int | None = 1,
    arm: str = "production",
    label: str | None = "benign",
    confidence: float | None = 0.9,
    decision: str = "automatic",
    fallback: str | None = None,
    reason: str | None = None,
    latency_ms: float = 10.0,
    cost: float | None = None,
    error: str | None = None,
    clinic: str | None = "north",
    language: str | None = None,
    inputs: dict[str, Any] | None = None,
    logged_at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "prediction_id": _IDS.new(ts.timestamp()),
        "service": service,
        "version": version,
        "arm": arm,
        "ts": ts,
        "label": label,
        "confidence": confidence,
        "decision": decision,
        "fallback": fallback,
        "reason": reason,
        "latency_ms": latency_ms,
        "cost": cost,
        "tokens_in": None,
        "tokens_out": None,
        "error": error,
        "caller": None,
        "channel": None,
        "plan": None,
        "language": language,
        "segments": {"clinic": clinic} if clinic is not None else None,
        "scores": {},
        "inputs": inputs if inputs is not None else {"mean_radius": 12.0, "clinic": clinic},
        "redactions": 0,
        "logged_at": logged_at or ts + timedelta(seconds=1),
    }


def store_rows(store: Store, rows: list[dict[str, Any]]) -> None:
    store.predictions.insert_batch(rows)


def give(
    store: Store,
    prediction_id: str,
    created_at: datetime,
    *,
    label: str | None = None,
    rating: float | None = None,
    correction: str | None = None,
    source: str = "agent",
) -> str:
    """Store one piece of feedback as ``record_feedback`` would: a newer value from the same
    source and of the same kind supersedes the current one."""
    kind, value = (
        ("label", label)
        if label is not None
        else ("rating", repr(float(rating)))
        if rating is not None
        else ("correction", correction)
    )
    fid = _IDS.new(created_at.timestamp())
    fs = store.predictions
    with fs.feedback_tx(prediction_id) as conn:
        current = fs.current_feedback(conn, prediction_id, source, kind)
        fs.insert_feedback(
            conn,
            {
                "id": fid,
                "prediction_id": prediction_id,
                "source": source,
                "kind": kind,
                "value": value,
                "rating": rating,
                "comment": None,
                "created_at": created_at,
                "superseded_by": None,
                "new_label": False,
            },
        )
        if current is not None:
            fs.supersede_feedback(conn, current["id"], fid)
    return fid
