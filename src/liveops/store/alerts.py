"""The alerting aggregate: receivers, alert states and episodes, silences, the notification
outbox and incidents.

State changes of alerts, the outbox rows they cause and incidents are written by the caller
inside one :meth:`Store.write` transaction (with their audit events), so a notification exists
exactly when its state change does. The sender's bookkeeping (claims, attempts, deliveries) is
not a change a person made: it takes a short transaction of its own, like the monitor's writes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import InterfaceError, OperationalError

from liveops.store.alert_tables import (
    alert_episodes,
    alert_outbox,
    alert_receivers,
    alert_silences,
    alert_states,
    incident_events,
    incidents,
)
from liveops.store.db import is_sqlite, unavailable
from liveops.store.registry import utc

__all__ = ["AlertStore", "OutboxRow", "Silence"]

_TIMES = (
    "active_since",
    "fired_at",
    "resolved_at",
    "evaluated_at",
    "notified_at",
    "opened_at",
    "updated_at",
    "at",
    "starts_at",
    "ends_at",
    "acked_at",
    "created_at",
    "next_attempt_at",
    "claimed_until",
    "delivered_at",
)


def _row(r: Any) -> dict[str, Any]:
    # str(k): a column's key may be a str subclass (quoted_name) that JSON encoders refuse.
    return {str(k): (utc(v) if k in _TIMES and v is not None else v) for k, v in r.items()}


@dataclass(frozen=True)
class Silence:
    id: int
    service: str
    rule: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    actor: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "service": self.service,
            "rule": self.rule,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "reason": self.reason,
            "actor": self.actor,
        }


@dataclass(frozen=True)
class OutboxRow:
    id: int
    key: str
    receiver: str
    service: str
    kind: str
    payload: dict[str, Any]
    created_at: datetime
    status: str
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_error: str | None


class AlertStore:
    """Reads and writes of the alerting tables."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def _tx(self, *, write: bool) -> Iterator[Connection]:
        try:
            with self._engine.connect() as conn:
                c = conn.execution_options(write=True) if write and self._sqlite else conn
                with c.begin():
                    yield c
        except (OperationalError, InterfaceError) as exc:
            raise unavailable(self._engine, exc) from exc

    @property
    def _sqlite(self) -> bool:
        return is_sqlite(self._engine)

    def _insert(self, table: Any) -> Any:
        return (sqlite if self._sqlite else postgresql).insert(table)

    # --- receivers ----------------------------------------------------------------------

    def set_receivers(
        self, conn: Connection, receivers: Mapping[str, dict[str, Any]], now: datetime
    ) -> bool:
        """Replace the applied receivers; whether anything changed."""
        have = {str(r.name): dict(r.spec) for r in conn.execute(select(alert_receivers))}
        if have == dict(receivers):
            return False
        conn.execute(delete(alert_receivers))
        if receivers:
            conn.execute(
                insert(alert_receivers),
                [{"name": k, "spec": v, "updated_at": now} for k, v in receivers.items()],
            )
        return True

    def receivers(self) -> dict[str, dict[str, Any]]:
        with self._tx(write=False) as conn:
            return {str(r.name): dict(r.spec) for r in conn.execute(select(alert_receivers))}

    # --- states and episodes ------------------------------------------------------------

    def states(self, service: str | None = None) -> dict[str, dict[str, Any]]:
        q = select(alert_states)
        if service is not None:
            q = q.where(alert_states.c.service == service)
        with self._tx(write=False) as conn:
            return {str(r["fingerprint"]): _row(r) for r in conn.execute(q).mappings()}

    def save_state(self, conn: Connection, values: Mapping[str, Any]) -> None:
        stmt = self._insert(alert_states).values(**values)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["fingerprint"],
                set_={k: v for k, v in values.items() if k != "fingerprint"},
            )
        )

    def open_episode(
        self, conn: Connection, fingerprint: str, service: str, rule: str, at: datetime
    ) -> None:
        conn.execute(
            insert(alert_episodes).values(
                fingerprint=fingerprint, service=service, rule=rule, fired_at=at
            )
        )

    def close_episode(self, conn: Connection, fingerprint: str, at: datetime) -> None:
        e = alert_episodes.c
        conn.execute(
            update(alert_episodes)
            .where(e.fingerprint == fingerprint, e.resolved_at.is_(None))
            .values(resolved_at=at)
        )

    def ack_episodes(self, conn: Connection, fingerprints: Sequence[str], at: datetime) -> None:
        e = alert_episodes.c
        if fingerprints:
            conn.execute(
                update(alert_episodes)
                .where(e.fingerprint.in_(list(fingerprints)), e.acked_at.is_(None))
                .values(acked_at=at)
            )

    def ack_open_episodes(self, conn: Connection, fingerprints: Sequence[str], at: datetime) -> int:
        """Acknowledge the episodes of ``fingerprints`` still firing and not acknowledged yet;
        how many there were."""
        e = alert_episodes.c
        if not fingerprints:
            return 0
        got = conn.execute(
            update(alert_episodes)
            .where(
                e.fingerprint.in_(list(fingerprints)),
                e.resolved_at.is_(None),
                e.acked_at.is_(None),
            )
            .values(acked_at=at)
        )
        return int(got.rowcount or 0)

    def episodes(self, since: datetime, service: str | None = None) -> list[dict[str, Any]]:
        e = alert_episodes.c
        q = select(alert_episodes).where(e.fired_at >= since)
        if service is not None:
            q = q.where(e.service == service)
        with self._tx(write=False) as conn:
            return [_row(r) for r in conn.execute(q.order_by(e.id)).mappings()]

    # --- silences -----------------------------------------------------------------------

    def add_silence(
        self,
        conn: Connection,
        service: str,
        rule: str,
        starts_at: datetime,
        ends_at: datetime,
        reason: str,
        actor: str,
    ) -> int:
        got = conn.execute(
            insert(alert_silences).values(
                service=service,
                rule=rule,
                starts_at=starts_at,
                ends_at=ends_at,
                reason=reason,
                actor=actor,
            )
        )
        return int(got.inserted_primary_key[0])  # type: ignore[index]

    def silences(self, *, active_at: datetime | None = None) -> list[Silence]:
        s = alert_silences.c
        q = select(alert_silences)
        if active_at is not None:
            q = q.where(s.starts_at <= active_at, s.ends_at > active_at)
        with self._tx(write=False) as conn:
            return [
                Silence(
                    int(r.id),
                    str(r.service),
                    str(r.rule),
                    utc(r.starts_at),
                    utc(r.ends_at),
                    str(r.reason),
                    str(r.actor),
                )
                for r in conn.execute(q.order_by(s.id))
            ]

    # --- the outbox ---------------------------------------------------------------------

    def enqueue(self, conn: Connection, rows: Sequence[Mapping[str, Any]], now: datetime) -> int:
        """Insert notifications (a key already queued is skipped); how many were new."""
        n = 0
        for r in rows:
            got = conn.execute(
                self._insert(alert_outbox)
                .values(
                    key=r["key"],
                    receiver=r["receiver"],
                    service=r["service"],
                    kind=r["kind"],
                    payload=r["payload"],
                    created_at=now,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                )
                .on_conflict_do_nothing(index_elements=["key"])
            )
            n += int(got.rowcount or 0)
        return n

    def any_due(self, now: datetime) -> bool:
        """Whether some row may be sent ``now`` (a sender's cheap look before it takes its
        lease: no payloads read, nothing written)."""
        o = alert_outbox.c
        q = (
            select(o.id)
            .where(
                or_(
                    and_(o.status == "pending", o.next_attempt_at <= now),
                    and_(o.status == "sending", o.claimed_until <= now),
                )
            )
            .limit(1)
        )
        with self._tx(write=False) as conn:
            return conn.execute(q).first() is not None

    def undelivered(self, now: datetime) -> list[OutboxRow]:
        """Rows not delivered yet (pending, or claimed by a sender whose claim ran out), in
        the order they were queued."""
        o = alert_outbox.c
        q = select(alert_outbox).where(
            or_(o.status == "pending", and_(o.status == "sending", o.claimed_until <= now))
        )
        with self._tx(write=False) as conn:
            return [_outbox(r) for r in conn.execute(q.order_by(o.id)).mappings()]

    def claim(self, row_id: int, now: datetime, lease_s: float) -> bool:
        """Take a row for sending; False when another sender has it or it was delivered."""
        o = alert_outbox.c
        with self._tx(write=True) as conn:
            got = conn.execute(
                update(alert_outbox)
                .where(
                    o.id == row_id,
                    or_(o.status == "pending", and_(o.status == "sending", o.claimed_until <= now)),
                )
                .values(status="sending", claimed_until=now + timedelta(seconds=lease_s))
            )
            return bool(got.rowcount)

    def delivered(self, row_id: int, now: datetime) -> None:
        o = alert_outbox.c
        with self._tx(write=True) as conn:
            conn.execute(
                update(alert_outbox)
                .where(o.id == row_id, o.status == "sending")
                .values(
                    status="delivered",
                    delivered_at=now,
                    attempts=o.attempts + 1,
                    claimed_until=None,
                )
            )

    def failed(self, row_id: int, error: str, next_at: datetime) -> None:
        o = alert_outbox.c
        with self._tx(write=True) as conn:
            conn.execute(
                update(alert_outbox)
                .where(o.id == row_id, o.status == "sending")
                .values(
                    status="pending",
                    attempts=o.attempts + 1,
                    next_attempt_at=next_at,
                    claimed_until=None,
                    last_error=error[:2000],
                )
            )

    def outbox(self, *, receiver: str | None = None, limit: int = 200) -> list[OutboxRow]:
        o = alert_outbox.c
        q = select(alert_outbox)
        if receiver is not None:
            q = q.where(o.receiver == receiver)
        with self._tx(write=False) as conn:
            return [
                _outbox(r) for r in conn.execute(q.order_by(o.id.desc()).limit(limit)).mappings()
            ]

    def outbox_counts(self) -> dict[str, int]:
        o = alert_outbox.c
        with self._tx(write=False) as conn:
            return {
                str(s): int(n)
                for s, n in conn.execute(select(o.status, func.count()).group_by(o.status))
            }

    # --- incidents ----------------------------------------------------------------------

    def create_incident(self, conn: Connection, values: Mapping[str, Any]) -> int:
        got = conn.execute(insert(incidents).values(**values))
        return int(got.inserted_primary_key[0])  # type: ignore[index]

    def update_incident(self, conn: Connection, incident_id: int, **values: Any) -> None:
        conn.execute(update(incidents).where(incidents.c.id == incident_id).values(**values))

    def incident(self, incident_id: int, conn: Connection | None = None) -> dict[str, Any] | None:
        q = select(incidents).where(incidents.c.id == incident_id)
        if conn is not None:
            r = conn.execute(q).mappings().first()
            return None if r is None else _row(r)
        with self._tx(write=False) as c:
            r = c.execute(q).mappings().first()
            return None if r is None else _row(r)

    def open_incident(self, conn: Connection, service: str) -> dict[str, Any] | None:
        """The newest incident of ``service`` not resolved yet."""
        i = incidents.c
        q = (
            select(incidents)
            .where(i.service == service, i.status.in_(["open", "acknowledged", "mitigated"]))
            .order_by(i.id.desc())
        )
        r = conn.execute(q).mappings().first()
        return None if r is None else _row(r)

    def incidents(
        self, *, service: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        i = incidents.c
        q = select(incidents)
        if service is not None:
            q = q.where(i.service == service)
        if status is not None:
            q = q.where(i.status == status)
        with self._tx(write=False) as conn:
            return [_row(r) for r in conn.execute(q.order_by(i.id.desc())).mappings()]

    def add_event(
        self,
        conn: Connection,
        incident_id: int,
        at: datetime,
        actor: str,
        kind: str,
        detail: Mapping[str, Any],
    ) -> None:
        conn.execute(
            insert(incident_events).values(
                incident_id=incident_id, at=at, actor=actor, kind=kind, detail=dict(detail)
            )
        )

    def events(self, incident_id: int) -> list[dict[str, Any]]:
        e = incident_events.c
        q = select(incident_events).where(e.incident_id == incident_id).order_by(e.id)
        with self._tx(write=False) as conn:
            return [_row(r) for r in conn.execute(q).mappings()]


def _outbox(r: Any) -> OutboxRow:
    return OutboxRow(
        id=int(r["id"]),
        key=str(r["key"]),
        receiver=str(r["receiver"]),
        service=str(r["service"]),
        kind=str(r["kind"]),
        payload=dict(r["payload"]),
        created_at=utc(r["created_at"]),
        status=str(r["status"]),
        attempts=int(r["attempts"]),
        next_attempt_at=utc(r["next_attempt_at"]),
        delivered_at=utc(r["delivered_at"]) if r["delivered_at"] else None,
        last_error=r["last_error"],
    )
