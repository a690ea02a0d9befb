"""The rollout aggregate: rollouts and the looks of their controller.

Writes take the caller's write :class:`Connection`, so a change and its audit event commit
together. :meth:`RolloutStore.insert` is where a second active rollout of a service is refused:
the unique ``active`` column says no even when two processes start one at the same moment.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, func, select, update
from sqlalchemy.exc import IntegrityError as SaIntegrityError

from liveops.core.rollout.state import ACTIVE_STATES, RolloutLook, RolloutRecord
from liveops.errors import ConflictError
from liveops.store.db import connect
from liveops.store.gateway_tables import outcomes
from liveops.store.prediction_tables import feedback, predictions
from liveops.store.registry import utc
from liveops.store.rollout_tables import rollout_looks, rollouts

__all__ = ["RolloutStore"]

_ID_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"


class RolloutStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # --- writes ---------------------------------------------------------------------------

    def new_id(self, conn: Connection) -> str:
        while True:
            rid = "ro" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(5))
            if conn.execute(select(rollouts.c.id).where(rollouts.c.id == rid)).first() is None:
                return rid

    def insert(self, conn: Connection, rec: RolloutRecord) -> None:
        """Store a new active rollout; :class:`ConflictError` when the service has one."""
        values = {
            "id": rec.id,
            "service": rec.service,
            "version": rec.version,
            "baseline": rec.baseline,
            "release_id": rec.release_id,
            "plan": dict(rec.plan_data),
            "state": rec.state,
            "step": rec.step,
            "step_started_at": rec.step_started_at,
            "started_at": rec.started_at,
            "started_by": rec.started_by,
            "updated_at": rec.updated_at,
            "ended_at": None,
            "reason": rec.reason,
            "active": rec.service,
        }
        other = self.active_for(rec.service, conn)
        if other is not None:
            raise _second(rec.service, other)
        try:  # the write lock already serialises writers; the constraint is the backstop
            conn.execute(rollouts.insert().values(**values))
        except SaIntegrityError:
            raise _second(rec.service, None) from None

    def update(
        self,
        conn: Connection,
        rollout_id: str,
        *,
        state: str,
        step: int,
        step_started_at: datetime,
        now: datetime,
        reason: str | None,
    ) -> None:
        ended = state not in ACTIVE_STATES
        conn.execute(
            update(rollouts)
            .where(rollouts.c.id == rollout_id)
            .values(
                state=state,
                step=step,
                step_started_at=step_started_at,
                updated_at=now,
                reason=reason,
                ended_at=now if ended else None,
                active=None if ended else rollouts.c.service,
            )
        )

    def add_look(self, conn: Connection, look: RolloutLook) -> None:
        conn.execute(
            rollout_looks.insert().values(
                rollout_id=look.rollout_id,
                seq=look.seq,
                at=look.at,
                step=look.step,
                action=look.action,
                detail=look.detail,
                gates=[dict(g) for g in look.gates],
                counts=dict(look.counts),
            )
        )

    def next_seq(self, conn: Connection, rollout_id: str) -> int:
        q = select(func.max(rollout_looks.c.seq)).where(rollout_looks.c.rollout_id == rollout_id)
        return int(conn.execute(q).scalar() or 0) + 1

    # --- reads ----------------------------------------------------------------------------

    def get(self, rollout_id: str, conn: Connection | None = None) -> RolloutRecord | None:
        rows = self._rows(select(rollouts).where(rollouts.c.id == rollout_id), conn)
        return _record(rows[0]) if rows else None

    def active_for(self, service: str, conn: Connection | None = None) -> RolloutRecord | None:
        rows = self._rows(select(rollouts).where(rollouts.c.active == service), conn)
        return _record(rows[0]) if rows else None

    def active(self, conn: Connection | None = None) -> list[RolloutRecord]:
        """Every active rollout (the gateways' poller reads this: one small query)."""
        return [
            _record(r)
            for r in self._rows(select(rollouts).where(rollouts.c.active.is_not(None)), conn)
        ]

    def list_rollouts(self, service: str | None = None, limit: int = 20) -> list[RolloutRecord]:
        """Rollouts, newest first."""
        q = select(rollouts).order_by(rollouts.c.started_at.desc(), rollouts.c.id).limit(limit)
        if service is not None:
            q = q.where(rollouts.c.service == service)
        return [_record(r) for r in self._rows(q, None)]

    def looks(self, rollout_id: str, limit: int | None = None) -> list[RolloutLook]:
        """The looks of a rollout, newest first."""
        q = (
            select(rollout_looks)
            .where(rollout_looks.c.rollout_id == rollout_id)
            .order_by(rollout_looks.c.seq.desc())
        )
        if limit is not None:
            q = q.limit(limit)
        return [_look(r) for r in self._rows(q, None)]

    # --- what a look counts ---------------------------------------------------------------

    def arm_rows(
        self,
        service: str,
        since: datetime,
        until: datetime,
        arms: Sequence[tuple[str, int]],
        *,
        inputs: bool = False,
    ) -> list[dict[str, Any]]:
        """Live log rows of ``service`` in [since, until) answered by one of ``arms`` ((arm,
        version) pairs), with their scores: what a look judges the gates on (with the logged
        inputs when asked)."""
        p = predictions.c
        cols = [
            p.prediction_id, p.ts, p.version, p.arm, p.label, p.decision, p.fallback, p.reason,
            p.latency_ms, p.error, p.channel, p.plan, p.language, p.segments, p.cost, p.scores,
        ]  # fmt: skip
        if inputs:
            cols.append(p.inputs)
        pairs = [(p.arm == a) & (p.version == v) for a, v in arms]
        cond = pairs[0]
        for c in pairs[1:]:
            cond = cond | c
        q = select(*cols).where(
            p.service == service, p.ts >= since, p.ts < until, p.source == "live", cond
        )
        return [dict(r) for r in self._rows(q, None)]

    def labels_for(self, prediction_ids: Sequence[str]) -> dict[str, str]:
        """The newest label feedback (not superseded) of each prediction that has one."""
        out: dict[str, tuple[datetime, str]] = {}
        f = feedback.c
        ids = list(dict.fromkeys(prediction_ids))
        with connect(self._engine, write=False) as conn:
            for i in range(0, len(ids), 500):
                q = select(f.prediction_id, f.value, f.created_at).where(
                    f.prediction_id.in_(ids[i : i + 500]),
                    f.kind == "label",
                    f.superseded_by.is_(None),
                )
                for r in conn.execute(q):
                    at = utc(r.created_at)
                    if r.prediction_id not in out or out[r.prediction_id][0] < at:
                        out[r.prediction_id] = (at, r.value)
        return {k: v for k, (_, v) in out.items()}

    def outcomes_for(self, prediction_ids: Sequence[str]) -> set[tuple[str, str]]:
        """The current (not superseded) outcome events of the predictions: ``(id, outcome)``."""
        o = outcomes.c
        ids = list(dict.fromkeys(prediction_ids))
        out: set[tuple[str, str]] = set()
        with connect(self._engine, write=False) as conn:
            for i in range(0, len(ids), 500):
                q = select(o.prediction_id, o.outcome).where(
                    o.prediction_id.in_(ids[i : i + 500]), o.superseded_by.is_(None)
                )
                out.update((str(a), str(b)) for a, b in conn.execute(q))
        return out

    def _rows(self, q: Any, conn: Connection | None) -> Sequence[RowMapping]:
        if conn is not None:
            return list(conn.execute(q).mappings())
        with connect(self._engine, write=False) as c:
            return list(c.execute(q).mappings())


def _second(service: str, other: RolloutRecord | None) -> ConflictError:
    which = f" ({other.id}: {other.ref}, {other.state})" if other else ""
    return ConflictError(
        f"{service} already has an active rollout{which}; one at a time per service",
        hint=f"see it with `liveops rollout status {service}`; let it finish or "
        f"`liveops rollout abort {service}` first",
    )


def _record(r: RowMapping) -> RolloutRecord:
    return RolloutRecord(
        id=r["id"],
        service=r["service"],
        version=int(r["version"]),
        baseline=int(r["baseline"]),
        release_id=r["release_id"],
        plan_data=dict(r["plan"]),
        state=r["state"],
        step=int(r["step"]),
        step_started_at=utc(r["step_started_at"]),
        started_at=utc(r["started_at"]),
        started_by=r["started_by"],
        updated_at=utc(r["updated_at"]),
        ended_at=utc(r["ended_at"]) if r["ended_at"] is not None else None,
        reason=r["reason"],
    )


def _look(r: RowMapping) -> RolloutLook:
    return RolloutLook(
        rollout_id=r["rollout_id"],
        seq=int(r["seq"]),
        at=utc(r["at"]),
        step=int(r["step"]),
        action=r["action"],
        detail=r["detail"],
        gates=tuple(r["gates"]),
        counts=dict(r["counts"]),
    )
