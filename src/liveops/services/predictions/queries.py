"""Reading the prediction log for people: the latest answers, and one answer in full."""

from __future__ import annotations

from typing import Any

from liveops.errors import ObjectNotFound, UsageError
from liveops.store import Store

__all__ = ["check_limit", "label_feedback", "recent_predictions", "show_prediction"]


def recent_predictions(
    store: Store, service: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """The newest ``limit`` (1-1000) logged answers, of ``service`` if given, newest first.

    Only what the database holds: answers still in a gateway's spool show up once written."""
    check_limit(limit)
    return store.predictions.recent(service, limit)


def check_limit(limit: int) -> None:
    """How many answers one look may list: 1 to 1000."""
    if not 1 <= limit <= 1000:
        raise UsageError(f"--limit must be between 1 and 1000, not {limit}")


def show_prediction(store: Store, prediction_id: str) -> dict[str, Any]:
    """One logged answer with its feedback history (and its raw input while it is kept)."""
    row = store.predictions.get(prediction_id.strip().upper())
    if row is None:
        raise ObjectNotFound(
            f"no prediction {prediction_id!r} in the log",
            hint="check the id (liveops predictions tail lists recent ones); an answer given "
            "seconds ago may still be on its way from the gateway's spool",
        )
    return row


def label_feedback(store: Store, service: str) -> list[dict[str, Any]]:
    """How often each label came back as feedback on ``service``'s answers (the current value
    per source), with ``new`` set for labels the service does not declare (it allows them)."""
    from liveops.services.registry import get_service_spec

    get_service_spec(store, service)
    return store.predictions.label_counts(service)
