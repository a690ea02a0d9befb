"""Judging a service's alert rules on the monitor's windows, at the end of each monitor pass.

Each judgement reads the last complete 5-minute window (or the rule's longer ``window``,
merged), steps every alert's state (:mod:`liveops.core.alerting.state`), and in one write
transaction saves the states, the firing episodes, the notifications for the outbox and the
incidents a ``page`` alert opens. Nothing here talks to a receiver: delivering is the sender's
(:mod:`liveops.services.alerts.sender`), so a receiver that hangs never slows the monitor.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from liveops.core import catalogue
from liveops.core.alerting.payloads import Notice, notification_key
from liveops.core.alerting.rules import WINDOW_S, AlertRule, evidence_kind, per_gateway
from liveops.core.alerting.state import AlertState, fingerprint, notification_due, step
from liveops.core.clock import Clock
from liveops.core.monitoring.window import WindowStats
from liveops.core.project import ServiceSpec
from liveops.errors import ServiceNotFound
from liveops.services.registry import get_service_spec
from liveops.store import Store

__all__ = ["REFRESH_AHEAD_S", "AlertReport", "Judged", "evaluate_alerts", "last_complete"]

WEEK = timedelta(days=7)
# The arm of the monitor's per-service heartbeat rows (services.monitoring.signals.GATEWAY_ARM,
# which this package sits below; a test keeps the two equal).
GATEWAY_ARM = "gateway"
REFRESH_AHEAD_S = 3 * WINDOW_S  # Alertmanager's endsAt for a firing alert: three windows on


@dataclass
class Judged:
    """One alert (a rule and its scope) as this pass judged it."""

    fingerprint: str
    rule: str
    scope: dict[str, Any]
    value: float | None
    baseline: float | None
    count: int
    holds: bool | None
    state: str
    notified: str | None = None  # firing | resolved when a notification was queued
    silenced: bool = False
    incident: int | None = None


@dataclass
class AlertReport:
    service: str
    at: str  # the end of the window judged
    judged: list[Judged] = field(default_factory=list)
    queued: int = 0  # outbox rows written
    incidents: list[int] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def last_complete(now: datetime) -> datetime:
    """The end of the last complete 5-minute window at ``now``."""
    return datetime.fromtimestamp(int(now.timestamp()) // WINDOW_S * WINDOW_S, UTC)


def evaluate_alerts(
    store: Store,
    service: str,
    *,
    clock: Clock,
    spec: ServiceSpec | None = None,
    project_dir: Path | None = None,
) -> AlertReport:
    """Judge ``service``'s rules on its last complete window and queue what must be told."""
    now = clock.now()
    at = last_complete(now)
    report = AlertReport(service, at.isoformat())
    if spec is None:
        try:
            spec = get_service_spec(store, service)
        except ServiceNotFound:
            return report
    rules = spec.alert_rules()
    if not rules:
        return report
    oldest = min(at - _reach(r) for r in rules)
    # Only the slices the rules judge (a service has many): their stats alone are decoded.
    windows = store.monitoring.windows(service, oldest, at, slices={r.slice for r in rules})
    aliases = store.registry.aliases_of(service)
    states = store.alerts.states(service)
    silenced = {s.rule for s in store.alerts.silences(active_at=now) if s.service == service}
    writes: list[tuple[AlertRule, Judged, dict[str, Any], AlertState]] = []
    for rule in rules:
        for judged in _judge(store, spec, rule, windows, aliases, at, report):
            prev = states.get(judged.fingerprint)
            writes.append((rule, judged, prev or {}, _state_of(prev)))
    _commit(store, spec, at, now, writes, silenced, report)
    if report.incidents:
        from liveops.services.alerts.incidents import auto_actions, refresh_incident

        for incident_id in report.incidents:
            refresh_incident(store, incident_id, clock=clock, project_dir=project_dir)
        report.actions += auto_actions(store, spec, writes_firing(writes), report, clock=clock)
    return report


def writes_firing(
    writes: list[tuple[AlertRule, Judged, dict[str, Any], AlertState]],
) -> list[tuple[AlertRule, Judged]]:
    """The alerts that began firing in this pass (not silenced)."""
    return [
        (r, j)
        for r, j, prev, _ in writes
        if j.state == "firing" and prev.get("state") != "firing" and not j.silenced
    ]


def _reach(rule: AlertRule) -> timedelta:
    back = timedelta(seconds=rule.window_s)
    if rule.needs_baseline:
        back = back * 2 if rule.against == "previous" else back + WEEK
    return back


def _state_of(prev: dict[str, Any] | None) -> AlertState:
    if not prev:
        return AlertState("inactive")
    return AlertState(prev["state"], prev["active_since"], prev["fired_at"], prev["resolved_at"])


def _version_of(rule: AlertRule, aliases: dict[str, int]) -> int | None:
    if rule.version is None:
        return None
    if isinstance(rule.version, int) or str(rule.version).isdigit():
        return int(rule.version)
    return aliases.get(str(rule.version), -1)  # an alias nobody points at: no window matches


def _merge(
    windows: list[tuple[int, str, str, datetime, dict[str, Any]]],
    rule: AlertRule,
    version: int | None,
    start: datetime,
    end: datetime,
) -> dict[int, WindowStats]:
    """The windows of ``rule``'s scope in ``[start, end)`` merged, per version. The
    heartbeat's metrics read the gateway rows only, every other metric never reads them."""
    out: dict[int, WindowStats] = {}
    heartbeat = per_gateway(rule.metric)
    for v, arm, slice_, ws, stats in windows:
        if not start <= ws < end or slice_ != rule.slice:
            continue
        if (arm == GATEWAY_ARM) != heartbeat:
            continue
        if rule.arm is not None and arm != rule.arm:
            continue
        if version is not None and v != version:
            continue
        st = WindowStats.from_dict(stats)
        out[v] = out[v].merged(st) if v in out else st
    return out


def _value(stats: WindowStats | None, metric: str) -> float | None:
    if stats is None:
        return None
    try:
        return stats.value(metric)
    except KeyError:
        return None


def _count(stats: WindowStats | None, metric: str) -> int:
    if stats is None:
        return 0
    kind = evidence_kind(metric)
    if kind == "requests":
        if metric == "uptime":  # judged whenever a heartbeat was expected, requests or none
            return 1 if stats.extra.get("uptime.expected_s", 0.0) > 0 else 0
        return int(stats.extra.get("requests", 0.0))
    return (
        stats.labelled if kind == "labels" else stats.ratings if kind == "ratings" else stats.volume
    )


def _judge(
    store: Store,
    spec: ServiceSpec,
    rule: AlertRule,
    windows: list[tuple[int, str, str, datetime, dict[str, Any]]],
    aliases: dict[str, int],
    at: datetime,
    report: AlertReport,
) -> list[Judged]:
    version = _version_of(rule, aliases)
    start = at - timedelta(seconds=rule.window_s)
    if catalogue.stored_by_drift_pass(rule.metric):
        from liveops.services.alerts.drift import drift_values

        values, note = drift_values(
            store, spec, rule.metric, version, rule.arm, start, at, rule.slice
        )
        if note:
            report.notes.append(f"{rule.name}: {note}")
        return [
            _judged(spec.name, rule, v, value, None, count)
            for v, (value, count) in sorted(values.items())
        ]
    current = _merge(windows, rule, version, start, at)
    base: dict[int, WindowStats] = {}
    if rule.needs_baseline:
        shift = timedelta(seconds=rule.window_s) if rule.against == "previous" else WEEK
        base = _merge(windows, rule, version, start - shift, at - shift)
    keys = sorted(current) if version is None else [version]
    out = []
    for v in keys:
        cur = current.get(v)
        out.append(
            _judged(
                spec.name,
                rule,
                v,
                _value(cur, rule.metric),
                _value(base.get(v), rule.metric),
                _count(cur, rule.metric),
                present=cur is not None,
            )
        )
    return out


def _judged(
    service: str,
    rule: AlertRule,
    version: int,
    value: float | None,
    baseline: float | None,
    count: int,
    *,
    present: bool = True,
) -> Judged:
    scope: dict[str, Any] = {"version": version, "arm": rule.arm, "slice": rule.slice}
    if per_gateway(rule.metric):  # the service's gateways, no version
        scope = {"version": None, "arm": GATEWAY_ARM, "slice": "all"}
    if not present:
        holds: bool | None = False  # no traffic at all in scope: the alert resolves
    elif count < max(rule.min_count, 1):
        holds = None  # too little evidence: the state stays as it was
    else:
        holds = rule.judge(value, baseline)
    fp = fingerprint(service, rule.name, scope)
    return Judged(fp, rule.name, scope, value, baseline, count, holds, "inactive")


def _notice(service: str, rule: AlertRule, j: Judged, s: AlertState, status: str) -> Notice:
    return Notice(
        fingerprint=j.fingerprint,
        service=service,
        rule=rule.name,
        status=status,
        severity=rule.severity,
        condition=rule.condition(),
        value=j.value,
        baseline=j.baseline,
        scope=j.scope,
        started_at=s.active_since.isoformat() if s.active_since else None,
        resolved_at=s.resolved_at.isoformat() if s.resolved_at else None,
        runbook=rule.runbook,
        count=j.count,
    )


def _commit(
    store: Store,
    spec: ServiceSpec,
    at: datetime,
    now: datetime,
    writes: list[tuple[AlertRule, Judged, dict[str, Any], AlertState]],
    silenced: set[str],
    report: AlertReport,
) -> None:
    receivers = store.alerts.receivers()
    notify: dict[str, list[Notice]] = defaultdict(list)
    refresh: dict[str, list[Notice]] = defaultdict(list)
    pages: list[tuple[AlertRule, Judged]] = []
    with store.write() as conn:
        for rule, j, prev, old in writes:
            again = prev.get("evaluated_at") is not None and prev["evaluated_at"] >= at
            new = old if again else step(old, j.holds, at, for_s=rule.for_s)
            j.state = new.state
            j.silenced = rule.name in silenced
            due = None
            if not again:
                due = notification_due(
                    new.state,
                    prev.get("notified_state"),
                    prev.get("notified_at"),
                    at,
                    cooldown_s=rule.cooldown_s,
                    silenced=j.silenced,
                )
            values = {
                "fingerprint": j.fingerprint,
                "service": spec.name,
                "rule": rule.name,
                "scope": j.scope,
                "severity": rule.severity,
                "state": new.state,
                "active_since": new.active_since,
                "fired_at": new.fired_at,
                "resolved_at": new.resolved_at,
                "evaluated_at": max(at, prev.get("evaluated_at") or at),
                "value": j.value,
                "baseline": j.baseline,
                "count": j.count,
                "notified_state": prev.get("notified_state"),
                "notified_at": prev.get("notified_at"),
            }
            if due is not None:
                values["notified_state"], values["notified_at"] = due, at
                j.notified = due
                for r in rule.receivers:
                    notify[r].append(_notice(spec.name, rule, j, new, due))
            elif new.state == "firing" and not j.silenced:
                for r in rule.receivers:
                    if receivers.get(r, {}).get("alertmanager"):
                        refresh[r].append(_notice(spec.name, rule, j, new, "firing"))
            store.alerts.save_state(conn, values)
            if not again and old.state != "firing" and new.state == "firing":
                store.alerts.open_episode(conn, j.fingerprint, spec.name, rule.name, at)
                if rule.severity == "page" and not j.silenced:
                    pages.append((rule, j))
            if not again and old.state == "firing" and new.state != "firing":
                store.alerts.close_episode(conn, j.fingerprint, at)
        rows = _outbox_rows(spec.name, at, notify, refresh, receivers)
        report.queued = store.alerts.enqueue(conn, rows, now)
        if pages:
            from liveops.services.alerts.incidents import open_for_alerts

            report.incidents = open_for_alerts(store, conn, spec.name, pages, at)
            for _, j in pages:
                j.incident = report.incidents[0] if report.incidents else None
    report.judged = [j for _, j, _, _ in writes]


def _outbox_rows(
    service: str,
    at: datetime,
    notify: dict[str, list[Notice]],
    refresh: dict[str, list[Notice]],
    receivers: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for kind, groups in (("notify", notify), ("refresh", refresh)):
        for receiver, notices in sorted(groups.items()):
            if receiver not in receivers:
                continue  # removed from the file since the rule was applied
            parts = [f"{n.fingerprint}:{n.status}@{at.isoformat()}" for n in notices]
            rows.append(
                {
                    "key": notification_key(receiver, kind, parts),
                    "receiver": receiver,
                    "service": service,
                    "kind": kind,
                    "payload": {
                        "at": at.isoformat(),
                        "notices": [n.to_dict() for n in notices],
                    },
                }
            )
    return rows
