"""The audit aggregate: an append-only, hash-chained event log and its head."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, or_, select, update

from liveops.core.audit import GENESIS, Anchor, AuditEvent, ChainReport, verify_chain
from liveops.core.clock import Clock
from liveops.errors import IntegrityError
from liveops.store.db import connect
from liveops.store.tables import audit_events, audit_head


class AuditStore:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def append(
        self,
        conn: Connection,
        *,
        actor: str,
        action: str,
        object_type: str,
        object_id: str,
        reason: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> AuditEvent:
        """Append one event inside the caller's write transaction (which holds the lock)."""
        head = conn.execute(
            select(audit_head.c.count, audit_head.c.last_hash).where(audit_head.c.id == 1)
        ).one_or_none()
        if head is None:  # someone deleted it: appending would hide where the chain stood
            raise IntegrityError(
                "the audit head row is missing (deleted?), so no change can be recorded",
                hint="run `liveops audit verify` (with your last --anchor) and restore the "
                "database from a backup",
            )
        event = AuditEvent(
            seq=int(head[0]) + 1,
            time=self._clock.now().isoformat(),
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            reason=reason,
            data=data or {},
        ).sealed(head[1] or GENESIS)
        conn.execute(audit_events.insert().values(**event.body(), hash=event.hash))
        conn.execute(
            update(audit_head)
            .where(audit_head.c.id == 1)
            .values(count=event.seq, last_hash=event.hash)
        )
        return event

    def events(
        self,
        *,
        object_type: str | None = None,
        object_id: str | None = None,
        limit: int | None = None,
    ) -> list[AuditEvent]:
        """Events, newest first, optionally for one object."""
        q = select(audit_events).order_by(audit_events.c.seq.desc())
        if object_type:
            q = q.where(audit_events.c.object_type == object_type)
        if object_id:
            q = q.where(audit_events.c.object_id == object_id)
        if limit:
            q = q.limit(limit)
        with connect(self._engine, write=False) as conn:
            return [_event(r) for r in conn.execute(q).mappings()]

    def events_about(
        self, service: str, object_ids: Iterable[str] = (), *, limit: int = 8
    ) -> list[AuditEvent]:
        """The newest events about ``service``: the service itself, its versions and aliases
        (``SERVICE@...``), its alert rules (``SERVICE:RULE``) and the other objects named in
        ``object_ids`` (its releases, rollouts, incidents). One indexed query, newest first."""
        c = audit_events.c
        about = [
            c.object_id == service,
            c.object_id.startswith(f"{service}@", autoescape=True),
            c.object_id.startswith(f"{service}:", autoescape=True),
        ]
        ids = sorted(set(object_ids))
        if ids:
            about.append(c.object_id.in_(ids))
        q = select(audit_events).where(or_(*about)).order_by(c.seq.desc()).limit(limit)
        with connect(self._engine, write=False) as conn:
            return [_event(r) for r in conn.execute(q).mappings()]

    def head(self) -> Anchor | None:
        """The stored head as an anchor (sequence and hash of the last event); None when the
        head row is gone."""
        with connect(self._engine, write=False) as conn:
            row = conn.execute(
                select(audit_head.c.count, audit_head.c.last_hash).where(audit_head.c.id == 1)
            ).one_or_none()
        return None if row is None else Anchor(int(row[0]), row[1] or GENESIS)

    def verify(self, anchor: Anchor | None = None) -> ChainReport:
        """Walk the whole chain in order and compare it with the head (and the anchor)."""
        with connect(self._engine, write=False) as conn:
            head = conn.execute(
                select(audit_head.c.count, audit_head.c.last_hash).where(audit_head.c.id == 1)
            ).one_or_none()
            rows = conn.execute(select(audit_events).order_by(audit_events.c.seq)).mappings()
            return verify_chain(
                _iter_events(rows),
                head_count=None if head is None else int(head[0]),
                head_hash=None if head is None else head[1],
                anchor=anchor,
            )


def _iter_events(rows: Iterator[RowMapping]) -> Iterator[AuditEvent]:
    for r in rows:
        yield _event(r)


def _event(r: RowMapping) -> AuditEvent:
    return AuditEvent(
        seq=int(r["seq"]),
        time=r["time"],
        actor=r["actor"],
        action=r["action"],
        object_type=r["object_type"],
        object_id=r["object_id"],
        reason=r["reason"],
        data=dict(r["data"] or {}),
        prev_hash=r["prev_hash"],
        hash=r["hash"],
    )
