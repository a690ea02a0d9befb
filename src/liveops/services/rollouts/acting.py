"""What a look does once it has decided, inside its write transaction.

:func:`transition` records a rollout's move to another state: the row, an audit event with
its actor, and the webhook (through the outbox), in the caller's transaction.
:class:`Acting` is one look's context (the connection, the rollout as stored now, the look's
time, actor and gate records) with the moves a look can make: roll back, hold, advance,
complete, and for an A/B rollout conclude.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection

from liveops.core.rollout.state import RolloutRecord
from liveops.services.rollouts.incident import link_incident
from liveops.services.rollouts.notify import notify_transition
from liveops.store import Store

__all__ = ["Acting", "transition"]


def transition(
    conn: Connection,
    store: Store,
    rec: RolloutRecord,
    *,
    state: str,
    now: datetime,
    actor: str,
    action: str,
    reason: str | None,
    data: dict[str, Any],
    step: int | None = None,
    step_started_at: datetime | None = None,
) -> None:
    """Move ``rec`` to ``state`` (at ``step``, started at ``step_started_at``: by default the
    step it is on and its start), audited as ``action`` by ``actor``, its webhook queued."""
    store.rollouts.update(
        conn,
        rec.id,
        state=state,
        step=rec.step if step is None else step,
        step_started_at=rec.step_started_at if step_started_at is None else step_started_at,
        now=now,
        reason=reason,
    )
    event = store.audit.append(
        conn,
        actor=actor,
        action=action,
        object_type="rollout",
        object_id=rec.id,
        reason=reason,
        data={"version": rec.ref, "from": rec.state, "to": state, **data},
    )
    notify_transition(conn, store, rec, event, now=now, step=data.get("step"))


@dataclass(frozen=True)
class Acting:
    """One look acting on ``rec`` (as stored now, under the write lock) at ``now``; ``records``
    are the look's gate records, kept with every transition as its evidence."""

    conn: Connection
    store: Store
    rec: RolloutRecord
    now: datetime
    actor: str
    records: list[dict[str, Any]]

    def _move(self, state: str, action: str, reason: str, data: dict[str, Any], **at: Any) -> None:
        transition(
            self.conn, self.store, self.rec, state=state, now=self.now, actor=self.actor,
            action=action, reason=reason, data=data, **at,
        )  # fmt: skip

    def roll_back(self, detail: str, counts: dict[str, Any]) -> None:
        """A guardrail failed: rolled back (production never moved), an incident linked."""
        rec = self.rec
        data = {"step": rec.current.label(), "gates": self.records, "counts": counts}
        self._move("rolled_back", "rollout.rolled_back", detail, data)
        link_incident(
            self.store, self.conn, rec.service, rollout=rec, gates=self.records,
            previous=rec.version, restored=rec.baseline, actor=self.actor, at=self.now,
            reason=detail,
        )  # fmt: skip

    def hold(self, detail: str) -> None:
        """The step's minimum is met but a gate is still open: held (recorded once)."""
        if self.rec.state != "held":
            self._move("held", "rollout.held", detail, {"gates": self.records})

    def advance(self) -> str:
        """To the next step; after the last, watch (with the plan's ``watch``) or complete."""
        rec = self.rec
        step = rec.current
        if rec.step < len(rec.plan.steps) - 1:
            nxt = rec.plan.steps[rec.step + 1]
            detail = f"advanced from {step.label()} to {nxt.label()}"
            self._move(
                "running", "rollout.advanced", detail, {"step": nxt.label(), "gates": self.records},
                step=rec.step + 1, step_started_at=self.now,
            )  # fmt: skip
            return detail
        if rec.plan.watch_s > 0:
            detail = (
                f"watching {rec.ref} at {step.label()} for {rec.plan.watch_s:.0f} s: the gates "
                "are judged until then; production moves when the window ends"
            )
            watch = {"step": step.label(), "watch_s": rec.plan.watch_s, "gates": self.records}
            self._move("watching", "rollout.watching", detail, watch, step_started_at=self.now)
            return detail
        return self.complete()

    def complete(self) -> str:
        """The candidate becomes production: the alias moves and the rollout completes."""
        rec = self.rec
        previous = self.store.registry.set_alias(
            self.conn, rec.service, "production", rec.version, self.actor, self.now
        )
        self.store.audit.append(
            self.conn,
            actor=self.actor,
            action="alias.set",
            object_type="alias",
            object_id=f"{rec.service}@production",
            reason=f"rollout {rec.id} completed",
            data={"from": previous, "to": rec.version},
        )
        detail = f"completed: {rec.ref} is production (was {rec.service}@{rec.baseline})"
        self._move("completed", "rollout.completed", detail, {"gates": self.records})
        return detail

    def ab(
        self, table: list[dict[str, Any]], elapsed: float
    ) -> tuple[Literal["conclude", "hold"], str]:
        """An A/B look without a failing guardrail: conclude at the duration's end, else hold."""
        step = self.rec.current
        if elapsed >= step.min_duration_s:
            return "conclude", self.conclude(table)
        return "hold", (
            f"A/B at {step.share * 100:g}%: {elapsed:.0f} of {step.min_duration_s:.0f} s (goals "
            "are judged when the duration ends; their intervals until then are interim)"
        )

    def conclude(self, table: list[dict[str, Any]]) -> str:
        """The A/B duration ended: record each goal's result; production does not move."""
        rec = self.rec
        parts = []
        for r in table:
            if r["difference"] is None:
                parts.append(f"{r['goal']}: no answers to compare")
                continue
            interval = "" if r["lower"] is None else f", 95% [{r['lower']:+.4f}, {r['upper']:+.4f}]"
            short = ""
            if r["planned_per_arm"] is None:
                short = ", no sample planned (the baseline's rate is 0 or 1)"
            elif not r["sample_reached"]:
                short = f", below the planned {r['planned_per_arm']} answers per arm"
            parts.append(f"{r['goal']}: {r['result']} ({r['difference']:+.4f}{interval}{short})")
        detail = (
            f"concluded: {'; '.join(parts)}. {rec.service}@{rec.baseline} stays production; to "
            f"promote: `liveops alias set {rec.service} production {rec.version}`"
        )
        data = {"goals": table, "gates": self.records}
        self._move("concluded", "rollout.concluded", detail, data)
        return detail
