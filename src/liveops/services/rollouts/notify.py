"""Telling people about a rollout: every transition is queued, in the transaction that makes
it, on the alerts outbox for each receiver the plan names (``rollout: {notify: [ops-hook]}``).

The outbox's sender delivers it like an alert notification (:mod:`liveops.services.alerts.sender`):
at least once, in order per receiver, retried with backoff, signed for a webhook with a secret,
and with an idempotency key (one per receiver and audit event) that receivers deduplicate on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from liveops.core.alerting.payloads import notification_key
from liveops.core.audit import AuditEvent
from liveops.core.rollout.state import RolloutRecord
from liveops.store import Store

__all__ = ["TRANSITIONS", "notify_transition"]

# What a receiver may be told (the audit action without its "rollout." prefix).
TRANSITIONS = (
    "started", "advanced", "held", "watching", "paused", "resumed", "aborted", "rolled_back",
    "completed", "concluded",
)  # fmt: skip


def notify_transition(
    conn: Connection,
    store: Store,
    rec: RolloutRecord,
    event: AuditEvent,
    *,
    now: datetime,
    step: str | None = None,
) -> int:
    """Queue ``event`` (a ``rollout.*`` audit event) for the plan's receivers; how many rows."""
    if not rec.plan.notify:
        return 0
    transition = event.action.split(".", 1)[1]
    body: dict[str, Any] = {
        "transition": transition,
        "service": rec.service,
        "rollout": rec.id,
        "version": rec.ref,
        "baseline": f"{rec.service}@{rec.baseline}",
        "from": event.data.get("from"),
        "to": event.data.get("to", "running" if transition == "started" else None),
        "step": step or rec.current.label(),
        "actor": event.actor,
        "reason": event.reason,
        "at": now.isoformat(),
        "audit_seq": event.seq,
    }
    rows = [
        {
            "key": notification_key(receiver, "rollout", [rec.id, str(event.seq)]),
            "receiver": receiver,
            "service": rec.service,
            "kind": "rollout",
            "payload": {"rollout": body},
        }
        for receiver in rec.plan.notify
    ]
    return store.alerts.enqueue(conn, rows, now)
