"""Starting a rollout, one look of the controller, and what people do to a rollout.

A look (:func:`look`) counts each arm from the log and feedback (:mod:`.counts`), calls core's
:func:`~liveops.core.rollout.gates.evaluate_gates` and
:func:`~liveops.core.rollout.gates.step_action`, stores the look with every gate's raw values,
and acts: *abort* rolls back (the production alias never moved, so the gateways route
everything to the baseline again at their next poll), *advance* moves to the next step (after
the last one the production alias moves to the candidate: completed, or, with the plan's
``watch``, the rollout is *watching*: the gates are judged until the window ends, then it
completes), *hold* waits. An A/B rollout (``mode: ab``) never advances: it holds its split,
rolls back on a failing guardrail, and when its duration ends *concludes* with each goal's
result (:mod:`liveops.core.rollout.ab`); production stays where it is until a person moves it
(``liveops alias set SERVICE production N``). Every
transition is an audit event with its actor, in the same transaction as the change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection

from liveops.core.clock import Clock
from liveops.core.rollout.ab import compare_goal
from liveops.core.rollout.gates import ABORT, ADVANCE, evaluate_gates, step_action
from liveops.core.rollout.plan import RolloutPlan, parse_plan
from liveops.core.rollout.sequential import DEFAULT_MIN_SAMPLE
from liveops.core.rollout.state import ACTIVE_STATES, RolloutLook, RolloutRecord
from liveops.errors import ConflictError, InvalidInputError, ObjectNotFound
from liveops.services.monitoring import Calibrators, scopes_for
from liveops.services.registry import get_service_spec, resolve_version
from liveops.services.releases import automatic_items, view_release
from liveops.services.rollouts.acting import Acting, transition
from liveops.services.rollouts.counts import check_countable, count_look
from liveops.services.rollouts.notify import notify_transition
from liveops.services.rollouts.shadow import sample_disagreements
from liveops.store import Store

__all__ = [
    "CONTROLLER",
    "LookResult",
    "abort_rollout",
    "get_rollout",
    "look",
    "pause_rollout",
    "resume_rollout",
    "start_rollout",
]

CONTROLLER = "rollout-controller"  # the actor of the controller's own transitions


@dataclass(frozen=True)
class LookResult:
    rollout: RolloutRecord
    look: RolloutLook

    def to_dict(self) -> dict[str, Any]:
        return {"rollout": self.rollout.to_dict(), "look": self.look.to_dict()}


def _plan_source(
    store: Store, project_dir: Path, service: str, number: int, actor: str
) -> tuple[RolloutPlan, str | None, str]:
    """The plan (from the version's latest release, else the service's ``rollout:``), the
    release id, and whether the evaluation passed (or an approved override covers it)."""
    spec = get_service_spec(store, service)
    releases = store.releases.list_releases(service, number)
    release_id: str | None = None
    raw: dict[str, Any] | None = None
    if releases:
        view = view_release(store, releases[0].id, project_dir, actor=actor)
        release_id = view.release.id
        raw = dict(view.release.rollout_plan) if view.release.rollout_plan else None
        evaluation = next(i for i in view.items if i.key == "evaluation")
    else:
        version = resolve_version(store, f"{service}@{number}")
        evaluation = automatic_items(store, version, project_dir)[0]
    if raw is None and spec.rollout is not None:
        raw = dict(spec.rollout)
    if raw is None:
        raise ConflictError(
            f"{service} has no rollout plan",
            hint=f"add a rollout: block to {service} in liveops.yaml (docs/rollouts.md) and "
            "`liveops service apply`",
        )
    if not evaluation.done:
        where = f"release {release_id}" if release_id else "no release records an override"
        raise ConflictError(
            f"{service}@{number} has no passing evaluation ({evaluation.state}: "
            f"{evaluation.detail}); {where}",
            hint=f"run `liveops eval {service}@{number}` on the current suite, or record an "
            "approved override: `liveops release override REL evaluation ...` and its approval",
        )
    try:
        plan = parse_plan(raw, list(spec.inputs))
    except InvalidInputError as exc:
        raise InvalidInputError(f"the rollout plan of {service}: {exc.message}") from None
    return plan, release_id, evaluation.state


def start_rollout(
    store: Store, project_dir: Path, ref: str, *, actor: str, clock: Clock | None = None
) -> RolloutRecord:
    """Start rolling out ``ref`` (``SERVICE@N``) against the current production version."""
    clock = clock or store.clock
    version = resolve_version(store, ref)
    service, number = version.service, version.number
    baseline = store.registry.get_alias(service, "production")
    if baseline is None:
        raise ConflictError(
            f"{service} has no production version to roll out against",
            hint=f"a first version goes live with `liveops alias set {service} production "
            f"{number}`",
        )
    if baseline == number:
        raise ConflictError(f"{version.ref} is already production: nothing to roll out")
    active = store.rollouts.active_for(service)
    if active is not None:  # say it before the checks below do any work
        raise ConflictError(
            f"{service} already has an active rollout ({active.id}: {active.ref}, "
            f"{active.state}); one at a time per service",
            hint=f"see it with `liveops rollout status {service}`; let it finish or "
            f"`liveops rollout abort {service}` first",
        )
    plan, release_id, evaluation = _plan_source(store, project_dir, service, number, actor)
    spec = get_service_spec(store, service)
    check_countable(plan.gates, scopes_for(store, spec, project_dir, clock), plan.goals)
    now = clock.now()
    with store.write() as conn:
        rec = RolloutRecord(
            id=store.rollouts.new_id(conn),
            service=service,
            version=number,
            baseline=baseline,
            release_id=release_id,
            plan_data=plan.to_dict(),
            state="running",
            step=0,
            step_started_at=now,
            started_at=now,
            started_by=actor,
            updated_at=now,
        )
        store.rollouts.insert(conn, rec)
        event = store.audit.append(
            conn,
            actor=actor,
            action="rollout.started",
            object_type="rollout",
            object_id=rec.id,
            data={
                "version": rec.ref,
                "baseline": f"{service}@{baseline}",
                "release": release_id,
                "evaluation": evaluation,
                "step": rec.current.label(),
                "plan": plan.to_dict(),
            },
        )
        notify_transition(conn, store, rec, event, now=now)
    return rec


def get_rollout(store: Store, which: str) -> RolloutRecord:
    """A rollout by id, or the active (else latest) rollout of a service."""
    which = which.strip()
    rec = store.rollouts.get(which)
    if rec is None:
        rec = store.rollouts.active_for(which)
    if rec is None:
        latest = store.rollouts.list_rollouts(which, limit=1)
        rec = latest[0] if latest else None
    if rec is None:
        raise ObjectNotFound(
            f"no rollout {which!r} (neither a rollout id nor a service with a rollout)",
            hint="`liveops rollout status` lists the rollouts",
        )
    return rec


def _fresh(conn: Connection, store: Store, rec: RolloutRecord) -> RolloutRecord:
    """The rollout as stored now, under the write lock (another process may have acted)."""
    now = store.rollouts.get(rec.id, conn)
    assert now is not None
    return now


def look(
    store: Store,
    project_dir: Path,
    rollout: RolloutRecord,
    *,
    clock: Clock | None = None,
    actor: str = CONTROLLER,
) -> LookResult:
    """One look at an active, unpaused rollout: count, judge the gates, act, record."""
    clock = clock or store.clock
    now = clock.now()
    production = store.registry.get_alias(rollout.service, "production")
    if production != rollout.baseline:
        return _production_moved(store, rollout, production, now, actor)
    spec = get_service_spec(store, rollout.service)
    scopes = scopes_for(store, spec, project_dir, clock)
    cals = Calibrators(store, spec, project_dir, clock, scopes.suite_slices, scopes.text_field)
    counted = count_look(store, rollout, scopes, now, cals)
    if "shadow" in counted.summary:
        sampled = sample_disagreements(store, rollout, counted.disagreements, now=now, actor=actor)
        counted.summary["shadow"]["review"] = sampled
    step = rollout.current
    planned = max(float(step.min_sample), float(DEFAULT_MIN_SAMPLE))
    result = evaluate_gates(rollout.plan.gates, counted.state, planned_n=planned)
    elapsed = (now - rollout.step_started_at).total_seconds()
    watching = rollout.state == "watching"
    duration_met = elapsed >= step.min_duration_s
    sample_met = counted.candidate_n >= step.min_sample
    action_code = int(step_action(result, duration_met=duration_met and sample_met))
    records = result.records()
    failed = [r["gate"] for r in records if r["verdict"] == "fail" and r["kind"] != "goal"]
    waiting = []
    if not duration_met:
        waiting.append(f"{elapsed:.0f} of {step.min_duration_s:.0f} s")
    if not sample_met:
        waiting.append(f"{counted.candidate_n} of {step.min_sample} answers")
    where = f"{step.label()} (watching)" if watching else step.label()
    ab = rollout.plan.ab
    table: list[dict[str, Any]] = []
    if ab:
        where = f"A/B {step.share * 100:g}%"
        table = _ab_table(rollout, counted.state.counts)
        counted.summary["ab"] = _ab_summary(rollout, table, elapsed)
    with store.write() as conn:
        rec = _fresh(conn, store, rollout)
        acting = Acting(conn, store, rec, now, actor, records)
        if (
            rec.state not in ("running", "held", "watching")
            or rec.step != rollout.step
            or (rec.state == "watching") != watching
        ):
            action, detail = "wait", f"the rollout changed meanwhile ({rec.state}, step {rec.step})"
        elif action_code == ABORT:
            action = "abort"
            detail = f"rolled back: {', '.join(failed)} failed at {where}"
            acting.roll_back(detail, counted.summary)
        elif ab:  # it never advances: the duration's end concludes it
            action, detail = acting.ab(table, elapsed)
        elif watching:  # only a failing gate ends the watch early; else the window does
            if elapsed >= rec.plan.watch_s:
                action = "advance"
                detail = acting.complete()
            else:
                action = "hold"
                detail = f"watching at {step.label()}: {elapsed:.0f} of {rec.plan.watch_s:.0f} s"
        elif action_code == ADVANCE:
            action = "advance"
            detail = acting.advance()
        elif duration_met and sample_met:
            action = "hold"
            pending = [
                r["gate"] for r in records if r["verdict"] != "pass" and (r["kind"] != "goal")
            ]
            detail = f"held at {step.label()}: waiting for {', '.join(pending) or 'the gates'}"
            acting.hold(detail)
        else:
            action = "hold"
            detail = f"{step.label()}: waiting for the step's minimum ({'; '.join(waiting)})"
        new_look = RolloutLook(
            rollout_id=rec.id,
            seq=store.rollouts.next_seq(conn, rec.id),
            at=now,
            step=rec.step,
            action=action,  # type: ignore[arg-type]
            detail=detail,
            gates=tuple(records),
            counts=counted.summary,
        )
        store.rollouts.add_look(conn, new_look)
    after = store.rollouts.get(rollout.id)
    assert after is not None
    return LookResult(after, new_look)


def _ab_table(rec: RolloutRecord, counts: Any) -> list[dict[str, Any]]:
    """Each goal's row: both arms, the difference and its interval, the planned sample."""
    rows = []
    for g in rec.plan.goals:
        c = counts[g.key]
        arms = (c.k_candidate, c.n_candidate, c.k_baseline, c.n_baseline)
        kc, nc, kb, nb = (int(x) for x in arms)
        rows.append(
            compare_goal(
                g,
                k_candidate=kc,
                n_candidate=nc,
                k_baseline=kb,
                n_baseline=nb,
                mde=rec.plan.mde,
                split=rec.current.share,
            )
        )
    return rows


def _ab_summary(rec: RolloutRecord, table: list[dict[str, Any]], elapsed: float) -> dict[str, Any]:
    step = rec.current
    return {
        "goals": table,
        "split": step.share,
        "mde": rec.plan.mde,
        "duration_s": step.min_duration_s,
        "elapsed_s": round(elapsed, 3),
        "final": elapsed >= step.min_duration_s,
        "interval": "fixed-horizon two-sided 95% (Wald), valid at the end of the duration",
    }


def _production_moved(
    store: Store, rollout: RolloutRecord, production: int | None, now: datetime, actor: str
) -> LookResult:
    """Someone pointed production elsewhere during the rollout: the gateways stopped routing
    by it (its baseline is no longer production), so it ends, aborted, saying why."""
    detail = (
        f"production moved from {rollout.service}@{rollout.baseline} to "
        f"{rollout.service}@{production} during the rollout: it no longer applies"
    )
    with store.write() as conn:
        rec = _fresh(conn, store, rollout)
        action: Literal["abort", "wait"] = "wait"
        if rec.state in ("running", "held", "watching"):
            action = "abort"
            transition(
                conn, store, rec, state="aborted", now=now, actor=actor,
                action="rollout.aborted", reason=detail, data={"production": production},
            )  # fmt: skip
        new_look = RolloutLook(
            rec.id, store.rollouts.next_seq(conn, rec.id), now, rec.step, action, detail, (), {}
        )
        store.rollouts.add_look(conn, new_look)
    after = store.rollouts.get(rollout.id)
    assert after is not None
    return LookResult(after, new_look)


def _person_acts(
    store: Store,
    which: str,
    *,
    actor: str,
    allowed: frozenset[str],
    state: str,
    action: str,
    reason: str | None,
    clock: Clock | None,
) -> RolloutRecord:
    clock = clock or store.clock
    rec = get_rollout(store, which)
    now = clock.now()
    with store.write() as conn:
        rec = _fresh(conn, store, rec)
        if rec.state not in allowed:
            raise ConflictError(
                f"rollout {rec.id} of {rec.ref} is {rec.state}: it cannot be "
                f"{action.split('.')[-1]}",
                hint=f"`liveops rollout status {rec.service}` shows it",
            )
        transition(
            conn, store, rec, state=state, now=now, actor=actor, action=action, reason=reason,
            data={"step": rec.current.label()},
        )  # fmt: skip
    out = store.rollouts.get(rec.id)
    assert out is not None
    return out


def pause_rollout(
    store: Store, which: str, *, actor: str, reason: str | None = None, clock: Clock | None = None
) -> RolloutRecord:
    """Stop the controller acting on it; the traffic stays split as it is."""
    return _person_acts(
        store, which, actor=actor, allowed=frozenset({"running", "held"}), state="paused",
        action="rollout.paused", reason=reason, clock=clock,
    )  # fmt: skip


def resume_rollout(
    store: Store, which: str, *, actor: str, reason: str | None = None, clock: Clock | None = None
) -> RolloutRecord:
    """Hand a paused or held rollout back to the controller."""
    return _person_acts(
        store, which, actor=actor, allowed=frozenset({"paused", "held"}), state="running",
        action="rollout.resumed", reason=reason, clock=clock,
    )  # fmt: skip


def abort_rollout(
    store: Store, which: str, *, actor: str, reason: str | None = None, clock: Clock | None = None
) -> RolloutRecord:
    """Stop it: every request goes to the baseline again at the gateways' next poll."""
    return _person_acts(
        store, which, actor=actor, allowed=ACTIVE_STATES, state="aborted",
        action="rollout.aborted", reason=reason, clock=clock,
    )  # fmt: skip
