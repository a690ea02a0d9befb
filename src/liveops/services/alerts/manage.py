"""Silences, the alerts' current states, noise per rule, test messages and the export."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from liveops.core.alerting.payloads import notification_key
from liveops.core.alerting.prometheus import prometheus_rules
from liveops.core.alerting.rules import parse_duration
from liveops.core.clock import Clock
from liveops.errors import ConflictError, ObjectNotFound, UsageError
from liveops.services.registry import get_service_spec
from liveops.store import Store
from liveops.store.alerts import Silence

__all__ = [
    "Noise",
    "acknowledge",
    "alert_states",
    "export_rules",
    "noise",
    "outbox_rows",
    "queue_test",
    "silence",
]

MONITOR_GAUGES = ("accuracy", "estimated.accuracy", "label_coverage", "cost.per_request")


def _rule_service(store: Store, rule: str, service: str | None) -> str:
    """The service that has a rule called ``rule`` (``service`` when given)."""
    names = [service] if service else [s.name for s in store.registry.list_services()]
    have = []
    for name in names:
        spec = get_service_spec(store, name)
        if any(r.name == rule for r in spec.alert_rules()):
            have.append(name)
    if not have:
        raise ObjectNotFound(
            f"no alert rule {rule!r}" + (f" in {service}" if service else ""),
            hint="`liveops alerts list` shows the rules; declare rules under alerts: in "
            "liveops.yaml and run `liveops service apply`",
        )
    if len(have) > 1:
        raise UsageError(
            f"rule {rule!r} exists in {', '.join(have)}", hint="name one with --service"
        )
    return have[0]


def silence(
    store: Store,
    rule: str,
    *,
    duration: str,
    reason: str,
    actor: str,
    service: str | None = None,
) -> Silence:
    """Silence ``rule`` for ``duration`` (``2h``): its alerts are judged, not told; audited."""
    try:
        seconds = parse_duration(duration)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if seconds <= 0:
        raise UsageError("--for must be a positive duration, e.g. 2h")
    if not reason.strip():
        raise UsageError("a silence needs a reason", hint='--reason "deploying the fix"')
    name = _rule_service(store, rule, service)
    now = store.clock.now()
    ends = now + timedelta(seconds=seconds)
    with store.write() as conn:
        sid = store.alerts.add_silence(conn, name, rule, now, ends, reason, actor)
        store.audit.append(
            conn,
            actor=actor,
            action="alert.silenced",
            object_type="alert_rule",
            object_id=f"{name}:{rule}",
            reason=reason,
            data={"until": ends.isoformat(), "silence": sid},
        )
    return Silence(sid, name, rule, now, ends, reason, actor)


def acknowledge(
    store: Store,
    rule: str,
    *,
    actor: str,
    service: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Acknowledge the firing alerts of ``rule`` (someone is on it): counted for noise, and
    audited. A page alert is acknowledged with its incident (``incident ack``)."""
    name = _rule_service(store, rule, service)
    firing = [
        fp
        for fp, s in store.alerts.states(name).items()
        if s["rule"] == rule and s["state"] == "firing"
    ]
    if not firing:
        raise ConflictError(
            f"rule {rule!r} of {name} has no firing alert: nothing to acknowledge",
            hint="`liveops alerts list` shows what fires",
        )
    now = store.clock.now()
    with store.write() as conn:
        acked = store.alerts.ack_open_episodes(conn, firing, now)
        if not acked:
            raise ConflictError(
                f"the firing alerts of rule {rule!r} of {name} are acknowledged already"
            )
        store.audit.append(
            conn,
            actor=actor,
            action="alert.acknowledged",
            object_type="alert_rule",
            object_id=f"{name}:{rule}",
            reason=note,
            data={"alerts": acked},
        )
    return {"service": name, "rule": rule, "acknowledged": acked, "by": actor}


def alert_states(store: Store, service: str | None = None) -> list[dict[str, Any]]:
    """Every alert's state, firing first."""
    order = {"firing": 0, "pending": 1, "resolved": 2, "inactive": 3}
    rows = list(store.alerts.states(service).values())
    rows.sort(key=lambda r: (order.get(r["state"], 9), r["service"], r["rule"]))
    return [
        {
            **{k: v for k, v in r.items() if not isinstance(v, datetime)},
            **{k: v.isoformat() for k, v in r.items() if isinstance(v, datetime)},
        }
        for r in rows
    ]


@dataclass
class Noise:
    """How a rule behaved over a period: a rule that fires often, briefly and unacknowledged
    is noise."""

    service: str
    rule: str
    fired: int
    mean_minutes: float | None  # how long it fired, on average (resolved episodes)
    acknowledged: int
    noisy: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def noise(store: Store, *, clock: Clock, days: float = 7.0, at_least: int = 3) -> list[Noise]:
    """Per rule: how often it fired in the last ``days``, for how long, how often its alerts
    were acknowledged; noisy when it fired ``at_least`` times and fewer than half were
    acknowledged. Noisiest first."""
    since = clock.now() - timedelta(days=days)
    by: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for e in store.alerts.episodes(since):
        by.setdefault((e["service"], e["rule"]), []).append(e)
    out = []
    for (service, rule), eps in by.items():
        spans = [
            (e["resolved_at"] - e["fired_at"]).total_seconds() / 60 for e in eps if e["resolved_at"]
        ]
        acked = sum(1 for e in eps if e["acked_at"] is not None)
        out.append(
            Noise(
                service,
                rule,
                len(eps),
                sum(spans) / len(spans) if spans else None,
                acked,
                len(eps) >= at_least and acked * 2 < len(eps),
            )
        )
    out.sort(key=lambda n: (not n.noisy, -n.fired, n.service, n.rule))
    return out


def queue_test(store: Store, receiver: str, *, actor: str) -> str:
    """Queue a test message to ``receiver``; returns its idempotency key."""
    receivers = store.alerts.receivers()
    if receiver not in receivers:
        raise ObjectNotFound(
            f"unknown receiver {receiver!r} (applied: {', '.join(receivers) or 'none'})",
            hint="declare it under receivers: in liveops.yaml and run `liveops service apply`",
        )
    now = store.clock.now()
    key = notification_key(receiver, "test", [now.isoformat(), actor])
    with store.write() as conn:
        store.alerts.enqueue(
            conn,
            [
                {
                    "key": key,
                    "receiver": receiver,
                    "service": "-",
                    "kind": "test",
                    "payload": {"at": now.isoformat(), "notices": [], "by": actor},
                }
            ],
            now,
        )
    return key


def outbox_rows(
    store: Store, *, receiver: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The newest ``limit`` notifications (of ``receiver``), with their delivery state."""
    if receiver is not None and receiver not in store.alerts.receivers():
        known = ", ".join(store.alerts.receivers()) or "none"
        raise ObjectNotFound(
            f"unknown receiver {receiver!r} (applied: {known})",
            hint="`liveops alerts outbox` without --receiver lists every receiver's",
        )
    out = []
    for r in store.alerts.outbox(receiver=receiver, limit=limit):
        out.append(
            {
                "id": r.id,
                "key": r.key,
                "receiver": r.receiver,
                "service": r.service,
                "kind": r.kind,
                "status": r.status,
                "attempts": r.attempts,
                "created_at": r.created_at.isoformat(),
                "next_attempt_at": r.next_attempt_at.isoformat(),
                "delivered_at": r.delivered_at.isoformat() if r.delivered_at else None,
                "last_error": r.last_error,
            }
        )
    return out


def export_rules(store: Store, service: str, *, fmt: str = "prometheus") -> tuple[str, list[str]]:
    """The service's rules as a Prometheus rule file, and the rules left to the monitor."""
    if fmt != "prometheus":
        raise UsageError(f"--format {fmt!r} is not supported", hint="--format prometheus")
    spec = get_service_spec(store, service)
    return prometheus_rules(service, spec.alert_rules(), gauges=MONITOR_GAUGES)
