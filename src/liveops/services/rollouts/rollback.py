"""``liveops rollback SERVICE [--to N]``: production back to a known version in one step.

No analysis and no waiting: the production alias moves (one transaction, one audit event) and an
active rollout of the service ends as ``rolled_back`` in the same transaction, so the gateways
route everything to the restored version at their next poll. The same transaction opens an
incident for the service, or joins its open one (:mod:`.incident`). Nothing is deleted: the log
rows, the rollout's looks and their gate values stay as evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from liveops.core.clock import Clock
from liveops.errors import ConflictError, ServiceNotFound
from liveops.services.registry import resolve_version
from liveops.services.rollouts.incident import link_incident
from liveops.services.rollouts.notify import notify_transition
from liveops.store import Store

__all__ = ["Rollback", "previous_production", "rollback"]


@dataclass(frozen=True)
class Rollback:
    service: str
    previous: int | None  # production before
    restored: int
    rollout_id: str | None  # the active rollout it ended, if any
    incident_id: int | None = None  # the incident it opened or joined

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "from": self.previous,
            "to": self.restored,
            "rollout": self.rollout_id,
            "incident": self.incident_id,
        }


def previous_production(store: Store, service: str, current: int | None) -> int | None:
    """The version production pointed at before it last moved (from the audit log)."""
    for event in store.audit.events(object_type="alias", object_id=f"{service}@production"):
        before = event.data.get("from")
        if event.action == "alias.set" and before is not None and before != current:
            return int(before)
    return None


def rollback(
    store: Store,
    service: str,
    *,
    to: int | None = None,
    actor: str,
    reason: str | None = None,
    clock: Clock | None = None,
) -> Rollback:
    clock = clock or store.clock
    if store.registry.get_service(service) is None:
        raise ServiceNotFound(
            f"unknown service {service!r}", hint="`liveops service list` shows the services"
        )
    current = store.registry.get_alias(service, "production")
    active = store.rollouts.active_for(service)
    if to is None:
        to = active.baseline if active else previous_production(store, service, current)
        if to is None:
            raise ConflictError(
                f"{service} has no earlier production version to go back to",
                hint=f"name one: `liveops rollback {service} --to N`",
            )
    target = resolve_version(store, f"{service}@{to}")
    now = clock.now()
    looks = store.rollouts.looks(active.id, limit=1) if active is not None else []
    last = looks[0] if looks else None  # its failing gate values are the evidence
    with store.write() as conn:
        active = store.rollouts.active_for(service, conn)
        if active is not None:
            store.rollouts.update(
                conn, active.id, state="rolled_back", step=active.step,
                step_started_at=active.step_started_at, now=now,
                reason=reason or f"rolled back by {actor}",
            )  # fmt: skip
            event = store.audit.append(
                conn,
                actor=actor,
                action="rollout.rolled_back",
                object_type="rollout",
                object_id=active.id,
                reason=reason,
                data={"version": active.ref, "from": active.state, "to": "rolled_back",
                      "by": "liveops rollback"},
            )  # fmt: skip
            notify_transition(conn, store, active, event, now=now)
        previous = current
        if current != target.number:
            previous = store.registry.set_alias(
                conn, service, "production", target.number, actor, now
            )
            store.audit.append(
                conn,
                actor=actor,
                action="alias.set",
                object_type="alias",
                object_id=f"{service}@production",
                reason=reason or "rollback",
                data={"from": previous, "to": target.number},
            )
        same = last is not None and active is not None and last.rollout_id == active.id
        gates = [dict(g) for g in last.gates] if last is not None and same else []
        incident_id = link_incident(
            store, conn, service, rollout=active,
            gates=gates,
            previous=active.version if active is not None else previous,
            restored=target.number, actor=actor, at=now, reason=reason,
        )  # fmt: skip
        store.audit.append(
            conn,
            actor=actor,
            action="service.rolled_back",
            object_type="service",
            object_id=service,
            reason=reason,
            data={"from": previous, "to": target.number,
                  "rollout": active.id if active else None, "incident": incident_id},
        )  # fmt: skip
    return Rollback(service, previous, target.number, active.id if active else None, incident_id)
