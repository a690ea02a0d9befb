"""Incidents: opened by a firing ``page`` alert (or joined, while one of the service is open)
or by hand; taken through open -> acknowledged -> mitigated -> resolved -> reviewed, each step
an audit event with its actor and a line of the timeline.

An incident shows its **scope** computed from the monitor's windows (the versions and slices
of its alerts, the answers in the bad windows and their share of the service's traffic, the
first and last bad window), **evidence** (redacted example predictions from those windows, as
the log keeps them), the **recent changes** (audit events about the service in the 48 hours
before it opened) and the **stabilising actions** taken: the kill switch (``service disable``:
all traffic to the fallback) or moving ``production`` back to the version it pointed at before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from liveops.core.alerting.rules import WINDOW_S, AlertRule
from liveops.core.clock import Clock
from liveops.core.project import ServiceSpec
from liveops.errors import ConflictError, LiveopsError, ObjectNotFound, UsageError
from liveops.services.registry import get_service_spec, set_alias, set_service_enabled
from liveops.store import Store

__all__ = [
    "ROOT_CAUSES",
    "STATUSES",
    "Incident",
    "auto_actions",
    "get_incident",
    "list_incidents",
    "move_incident",
    "open_by_hand",
    "open_for_alerts",
    "open_for_rollback",
    "refresh_incident",
    "review_incident",
    "stabilise",
]

STATUSES = ("open", "acknowledged", "mitigated", "resolved", "reviewed")
ROOT_CAUSES = ("model", "prompt", "data", "infrastructure", "release process")
CHANGES_BEFORE = timedelta(hours=48)
EVIDENCE = 8  # example predictions kept


@dataclass
class Incident:
    id: int
    service: str
    title: str
    severity: str
    status: str
    opened_at: str
    opened_by: str
    fingerprints: list[str]
    scope: dict[str, Any]
    evidence: list[dict[str, Any]]
    changes: list[dict[str, Any]]
    review: dict[str, Any] | None
    timeline: list[dict[str, Any]]
    rollbacks: list[dict[str, Any]]  # the rollbacks linked to it, with their evidence

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _audit(
    store: Store, conn: Connection, incident_id: int, actor: str, action: str, data: dict[str, Any]
) -> None:
    store.audit.append(
        conn,
        actor=actor,
        action=f"incident.{action}",
        object_type="incident",
        object_id=str(incident_id),
        data=data,
    )
    store.alerts.add_event(conn, incident_id, store.clock.now(), actor, action, data)


def open_for_alerts(
    store: Store,
    conn: Connection,
    service: str,
    pages: list[tuple[AlertRule, Any]],
    at: datetime,
) -> list[int]:
    """Open an incident for ``pages`` (alerts that began firing) or join the service's open
    one; inside the caller's write transaction. Returns the incident's id."""
    current = store.alerts.open_incident(conn, service)
    names = [f"{r.name} ({j.scope.get('slice')}, v{j.scope.get('version')})" for r, j in pages]
    fps = [j.fingerprint for _, j in pages]
    if current is not None:
        incident_id = int(current["id"])
        joined = list(dict.fromkeys([*current["fingerprints"], *fps]))
        store.alerts.update_incident(conn, incident_id, fingerprints=joined, updated_at=at)
        _audit(store, conn, incident_id, "monitor", "joined", {"alerts": names})
        return [incident_id]
    rule = pages[0][0]
    title = f"{rule.name}: {rule.condition()} on {service}"
    incident_id = _create(store, conn, service, title, "page", "monitor", at, fps)
    _audit(store, conn, incident_id, "monitor", "opened", {"alerts": names, "title": title})
    return [incident_id]


def open_for_rollback(
    store: Store,
    conn: Connection,
    service: str,
    evidence: dict[str, Any],
    *,
    actor: str,
    at: datetime,
) -> tuple[int, bool]:
    """Open an incident for a rollback of ``service`` or join its open one, inside the
    caller's write transaction, keeping ``evidence`` (the rollout id, the failing gates with
    their raw values, the versions from and to) as an event of kind ``rollback``. Returns the
    incident's id and whether it was opened (else joined)."""
    current = store.alerts.open_incident(conn, service)
    what = f"rollout {evidence['rollout']}" if evidence.get("rollout") else "by hand"
    if current is not None:
        incident_id = int(current["id"])
        store.alerts.update_incident(conn, incident_id, updated_at=at)
        _audit(store, conn, incident_id, actor, "joined", {"rollback": what})
        opened = False
    else:
        title = f"rollback of {service}: v{evidence.get('from')} -> v{evidence.get('to')} ({what})"
        incident_id = _create(store, conn, service, title, "page", actor, at, [])
        _audit(store, conn, incident_id, actor, "opened", {"title": title, "rollback": what})
        opened = True
    store.alerts.add_event(conn, incident_id, store.clock.now(), actor, "rollback", evidence)
    return incident_id, opened


def open_by_hand(
    store: Store, service: str, title: str, *, actor: str, severity: str = "page"
) -> int:
    """Open an incident for a user report; the scope is filled from the open alerts."""
    get_service_spec(store, service)
    if not title.strip():
        raise UsageError(
            "an incident needs a title", hint='e.g. --title "users report wrong routes"'
        )
    now = store.clock.now()
    # Read before the write: on a single-connection store (SQLite in memory) a read on its own
    # connection inside the write transaction cannot begin.
    states = store.alerts.states(service)
    fps = [fp for fp, s in states.items() if s["state"] == "firing"]
    with store.write() as conn:
        incident_id = _create(store, conn, service, title, severity, actor, now, fps)
        _audit(store, conn, incident_id, actor, "opened", {"title": title, "by_hand": True})
    return incident_id


def _create(
    store: Store,
    conn: Connection,
    service: str,
    title: str,
    severity: str,
    actor: str,
    at: datetime,
    fingerprints: list[str],
) -> int:
    """A new open incident's row, inside the caller's write transaction; its id."""
    return store.alerts.create_incident(
        conn,
        {
            "service": service,
            "title": title,
            "severity": severity,
            "status": "open",
            "opened_at": at,
            "opened_by": actor,
            "updated_at": at,
            "fingerprints": fingerprints,
            "scope": {},
            "evidence": [],
            "changes": [],
        },
    )


def _require(store: Store, incident_id: int) -> dict[str, Any]:
    row = store.alerts.incident(incident_id)
    if row is None:
        known = ", ".join(str(i["id"]) for i in store.alerts.incidents()[:10]) or "none yet"
        raise ObjectNotFound(
            f"no incident {incident_id} (recent: {known})", hint="liveops incident list"
        )
    return row


def _check_move(store: Store, incident_id: int, status: str) -> dict[str, Any]:
    if status not in STATUSES[1:4]:
        raise UsageError(f"status {status!r} is not one of acknowledged, mitigated, resolved")
    row = _require(store, incident_id)
    old = str(row["status"])
    if STATUSES.index(status) <= STATUSES.index(old):
        raise ConflictError(
            f"incident {incident_id} is {old}: it cannot become {status}",
            hint="an incident only moves forward: "
            "open, acknowledged, mitigated, resolved, reviewed",
        )
    return row


def move_incident(
    store: Store, incident_id: int, status: str, *, actor: str, note: str | None = None
) -> str:
    """Move an incident forward to ``status`` (acknowledged, mitigated, resolved); returns the
    status it had. Going back, or reviewing, is refused (``review`` writes the record)."""
    row = _check_move(store, incident_id, status)
    old = str(row["status"])
    now = store.clock.now()
    with store.write() as conn:
        store.alerts.update_incident(conn, incident_id, status=status, updated_at=now)
        if status == "acknowledged" or old == "open":
            store.alerts.ack_episodes(conn, list(row["fingerprints"]), now)
        _audit(store, conn, incident_id, actor, status, {"from": old, "note": note})
    return old


def review_incident(
    store: Store,
    incident_id: int,
    *,
    actor: str,
    summary: str,
    impact: str,
    root_cause: str,
    actions: list[str],
) -> dict[str, Any]:
    """The post-incident record, written into the audit trail; the incident must be resolved."""
    row = _require(store, incident_id)
    if row["status"] != "resolved":
        raise ConflictError(
            f"incident {incident_id} is {row['status']}: review it once it is resolved",
            hint=f"liveops incident resolve {incident_id}",
        )
    if root_cause not in ROOT_CAUSES:
        raise UsageError(
            f"root cause {root_cause!r} is not one of {', '.join(ROOT_CAUSES)}",
            hint="--root-cause model (or prompt, data, infrastructure, 'release process')",
        )
    if not summary.strip() or not impact.strip():
        raise UsageError(
            "a review needs a summary and the impact", hint="--summary ... --impact ..."
        )
    record = {"summary": summary, "impact": impact, "root_cause": root_cause, "actions": actions}
    now = store.clock.now()
    with store.write() as conn:
        store.alerts.update_incident(
            conn, incident_id, status="reviewed", review=record, updated_at=now
        )
        _audit(store, conn, incident_id, actor, "reviewed", record)
    return record


# --- stabilising actions --------------------------------------------------------------------


def previous_production(store: Store, service: str) -> int | None:
    """The version ``production`` pointed at before its last move (from the audit trail)."""
    for e in store.audit.events(object_type="alias", object_id=f"{service}@production"):
        if e.action == "alias.set" and e.data.get("from") is not None:
            return int(e.data["from"])
    return None


def stabilise(store: Store, incident_id: int, action: str, *, actor: str, yes: bool = False) -> str:
    """Run a stabilising action for the incident's service; returns what was done."""
    row = _require(store, incident_id)
    service = str(row["service"])
    reason = f"incident {incident_id}"
    if action == "kill_switch":
        from liveops.services.serving import fallback_when_disabled

        fallback = fallback_when_disabled(store, service)
        if fallback is None and not yes:
            raise UsageError(
                f"{service} has no fallback: the kill switch would answer every request with 503",
                hint="add --yes to do it anyway, or set decision.fallback first",
            )
        changed = set_service_enabled(store, service, enabled=False, actor=actor, reason=reason)
        done = f"{service} disabled: traffic goes to its fallback ({fallback or 'none: 503'})"
        if not changed:
            done += " (it already was)"
    elif action == "rollback":
        before = previous_production(store, service)
        if before is None:
            raise ConflictError(
                f"{service}@production has never moved: there is no previous version to go back to",
                hint="use the kill switch (--action kill_switch) instead",
            )
        move = set_alias(store, service, "production", str(before), actor=actor, reason=reason)
        done = f"{service}@production moved back from v{move.previous} to v{move.number}"
    elif action == "raise_threshold":
        raise UsageError(
            "raise_threshold is not automated yet: a version's threshold is part of its content",
            hint="register the same model with --config threshold=0.9 and move "
            f"{service}@production to it (`liveops alias set`), then record it with "
            "`liveops incident mitigate`",
        )
    else:
        raise UsageError(f"unknown action {action!r}", hint="kill_switch or rollback")
    with store.write() as conn:
        _audit(store, conn, incident_id, actor, "action", {"action": action, "result": done})
    return done


def mitigate(
    store: Store,
    incident_id: int,
    action: str | None,
    *,
    actor: str,
    yes: bool = False,
    note: str | None = None,
) -> tuple[str, str | None]:
    """Run ``action`` (if any) and mark the incident mitigated; returns the status it had and
    what the action did. An incident that cannot become mitigated (already mitigated, resolved)
    is refused before the action runs, so a refusal changes nothing."""
    _check_move(store, incident_id, "mitigated")
    done = stabilise(store, incident_id, action, actor=actor, yes=yes) if action else None
    old = move_incident(store, incident_id, "mitigated", actor=actor, note=note or done)
    return old, done


def auto_actions(
    store: Store,
    spec: ServiceSpec,
    firing: list[tuple[AlertRule, Any]],
    report: Any,
    *,
    clock: Clock,
) -> list[str]:
    """The actions rules ask for when they begin firing, run as ``monitor``."""
    done: list[str] = []
    for rule, j in firing:
        if rule.action is None or j.incident is None:
            continue
        try:
            done.append(stabilise(store, j.incident, rule.action, actor="monitor", yes=False))
        except LiveopsError as exc:
            report.notes.append(f"{rule.name}: action {rule.action} not run: {exc.message}")
    return done


# --- what an incident shows ------------------------------------------------------------------


def refresh_incident(
    store: Store, incident_id: int, *, clock: Clock, project_dir: Path | None = None
) -> None:
    """Recompute the incident's scope, evidence and recent changes from the store."""
    row = _require(store, incident_id)
    service = str(row["service"])
    states = store.alerts.states(service)
    alerts = [states[fp] for fp in row["fingerprints"] if fp in states]
    scope = _scope(store, service, alerts)
    evidence = _evidence(store, service, alerts, scope, project_dir)
    changes = _changes(store, service, row["opened_at"])
    with store.write() as conn:
        store.alerts.update_incident(
            conn, incident_id, scope=scope, evidence=evidence, changes=changes
        )


def _bad_span(alerts: list[dict[str, Any]]) -> tuple[datetime, datetime] | None:
    starts = [
        a["active_since"] or a["fired_at"] for a in alerts if a["active_since"] or a["fired_at"]
    ]
    if not starts:
        return None
    first = min(starts) - timedelta(seconds=WINDOW_S)
    last = max(a["resolved_at"] or a["evaluated_at"] for a in alerts)
    return first, last


def _scope(store: Store, service: str, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    span = _bad_span(alerts)
    versions = sorted({int(a["scope"]["version"]) for a in alerts if a["scope"].get("version")})
    slices = sorted({str(a["scope"].get("slice") or "all") for a in alerts})
    out: dict[str, Any] = {
        "versions": versions,
        "slices": slices,
        "rules": sorted({str(a["rule"]) for a in alerts}),
    }
    if span is None:
        return out
    affected = total = 0
    bad_windows: list[datetime] = []
    for v, _arm, slice_, start, stats in store.monitoring.windows(service, span[0], span[1]):
        n = int(stats.get("volume", 0))
        if slice_ == "all":
            total += n
        if slice_ in slices and (not versions or v in versions):
            affected += n
            if n:
                bad_windows.append(start)
    out.update(
        {
            "requests_affected": affected,
            "requests_total": total,
            "share_affected": (affected / total) if total else None,
            "first_bad_window": min(bad_windows).isoformat() if bad_windows else None,
            "last_bad_window": max(bad_windows).isoformat() if bad_windows else None,
        }
    )
    return out


def _slice_filter(store: Store, service: str, slices: list[str], project_dir: Path | None) -> Any:
    """A function telling whether a logged row (inputs, segments) is in one of ``slices``."""
    spec = get_service_spec(store, service)
    predicates: list[Any] = []
    text_field = "text" if "text" in spec.inputs else None
    for name in slices:
        if name == "all":
            return lambda inputs, segments: True
        if "=" in name:
            field, value = name.split("=", 1)
            predicates.append(("segment", field, value))
    if spec.suite and project_dir is not None:
        try:
            from liveops.services.evaluation import load_suite

            suite, _ = load_suite(spec, project_dir)
            text_field = suite.cases.text_field or text_field
            for s in suite.slices:
                if s.name in slices:
                    predicates.append(("suite", s.where, None))
        except LiveopsError:
            pass

    def matches(inputs: dict[str, Any], segments: dict[str, Any]) -> bool:
        for kind, a, b in predicates:
            if kind == "segment" and str(segments.get(a)) == b:
                return True
            if kind == "suite":
                text = inputs.get(text_field) if text_field else None
                if a.matches(inputs, len(text) if isinstance(text, str) else 0):
                    return True
        return not predicates

    return matches


def _evidence(
    store: Store,
    service: str,
    alerts: list[dict[str, Any]],
    scope: dict[str, Any],
    project_dir: Path | None,
) -> list[dict[str, Any]]:
    span = _bad_span(alerts)
    if span is None:
        return []
    first, end = int(span[0].timestamp()) // WINDOW_S, int(span[1].timestamp()) // WINDOW_S + 1
    rows = store.monitoring.read_rows(service, [(first, end)], inputs=True)
    versions = set(scope.get("versions") or [])
    in_slice = _slice_filter(store, service, list(scope.get("slices") or ["all"]), project_dir)
    out: list[dict[str, Any]] = []
    for r in rows:
        (window, pid, version, arm, label, confidence, decision, fallback) = r[:8]
        channel, plan, language, segments, inputs = r[12], r[13], r[14], r[15], r[16]
        if versions and version not in versions:
            continue
        inp = json.loads(inputs) if isinstance(inputs, str) else dict(inputs or {})
        seg = json.loads(segments) if isinstance(segments, str) else dict(segments or {})
        seg.update(
            {k: v for k, v in (("channel", channel), ("plan", plan), ("language", language)) if v}
        )
        if not in_slice(inp, seg):
            continue
        out.append(
            {
                "prediction_id": str(pid),
                "version": version,
                "arm": arm,
                "label": label,
                "confidence": confidence,
                "decision": decision,
                "fallback": fallback,
                "inputs": inp,  # as the log keeps them: redacted
                "window": datetime.fromtimestamp(int(window) * WINDOW_S, UTC).isoformat(),
            }
        )
        if len(out) >= EVIDENCE:
            break
    return out


def _changes(store: Store, service: str, opened_at: datetime) -> list[dict[str, Any]]:
    since = opened_at - CHANGES_BEFORE
    out: list[dict[str, Any]] = []
    for e in store.audit.events(limit=2000):
        t = datetime.fromisoformat(e.time)
        if t > opened_at or t < since:
            continue
        about = e.object_id == service or e.object_id.startswith(f"{service}@")
        if not (about or e.object_type == "receivers"):
            continue
        out.append(
            {
                "time": e.time,
                "actor": e.actor,
                "action": e.action,
                "object": e.object_id,
                "data": e.data,
                "reason": e.reason,
            }
        )
    return list(reversed(out))


def get_incident(store: Store, incident_id: int) -> Incident:
    row = _require(store, incident_id)
    return _incident(row, store.alerts.events(incident_id))


def list_incidents(
    store: Store, *, service: str | None = None, status: str | None = None
) -> list[Incident]:
    if status is not None and status not in STATUSES:
        raise UsageError(f"--status {status!r} is not one of {', '.join(STATUSES)}")
    return [_incident(r, []) for r in store.alerts.incidents(service=service, status=status)]


def _incident(row: dict[str, Any], events: list[dict[str, Any]]) -> Incident:
    return Incident(
        id=int(row["id"]),
        service=str(row["service"]),
        title=str(row["title"]),
        severity=str(row["severity"]),
        status=str(row["status"]),
        opened_at=row["opened_at"].isoformat(),
        opened_by=str(row["opened_by"]),
        fingerprints=list(row["fingerprints"]),
        scope=dict(row["scope"]),
        evidence=list(row["evidence"]),
        changes=list(row["changes"]),
        review=row["review"],
        timeline=[
            {
                "at": e["at"].isoformat(),
                "actor": e["actor"],
                "kind": e["kind"],
                "detail": e["detail"],
            }
            for e in events
        ],
        rollbacks=[dict(e["detail"]) for e in events if e["kind"] == "rollback"],
    )
