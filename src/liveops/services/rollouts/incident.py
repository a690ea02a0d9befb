"""A rollback opens an incident for its service, or joins the open one, with the evidence.

Called inside the rollback's own write transaction (the controller's automatic rollback and
``liveops rollback``), so the rollback, the incident and both audit events commit together or
not at all. The incident keeps an event of kind ``rollback`` (the rollout id, the failing gates
with their raw values, the versions from and to); the rollout gets an audit event
``rollout.incident`` naming the incident, which :func:`incident_of` reads back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from liveops.core.rollout.state import RolloutRecord
from liveops.services.alerts import open_for_rollback
from liveops.store import Store

__all__ = ["incident_of", "link_incident"]


def link_incident(
    store: Store,
    conn: Connection,
    service: str,
    *,
    rollout: RolloutRecord | None,
    gates: Sequence[dict[str, Any]],
    previous: int | None,
    restored: int,
    actor: str,
    at: datetime,
    reason: str | None,
) -> int:
    """Open (or join) the service's incident for this rollback; returns the incident id."""
    failing = [dict(g) for g in gates if g.get("verdict") == "fail"]
    evidence: dict[str, Any] = {
        "rollout": rollout.id if rollout else None,
        "candidate": rollout.ref if rollout else None,
        "step": rollout.current.label() if rollout else None,
        "from": previous,
        "to": restored,
        "failing_gates": failing,
        "by": actor,
        "reason": reason,
    }
    incident_id, opened = open_for_rollback(store, conn, service, evidence, actor=actor, at=at)
    if rollout is not None:
        store.audit.append(
            conn,
            actor=actor,
            action="rollout.incident",
            object_type="rollout",
            object_id=rollout.id,
            reason=reason,
            data={"incident": incident_id, "opened": opened},
        )
    return incident_id


def incident_of(store: Store, rollout_id: str) -> int | None:
    """The incident a rollout's rollback opened or joined (None when it has none)."""
    for event in store.audit.events(object_type="rollout", object_id=rollout_id):
        if event.action == "rollout.incident":
            return int(event.data["incident"])
    return None
