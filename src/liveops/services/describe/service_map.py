"""The map of one service, read from the store (no gateway needed): who owns it, what it reads,
which version answers which share of traffic, each serving version's decision settings and
fallback chain, where its log and reference live, its alerts, rollout and release, and the last
changes. ``liveops describe SERVICE`` prints it; ``GET /v1/services/{name}/describe`` answers it.

It sits at the top of the capability packages because it reads the registry, rollouts (through
the serving routing table, so it says what a gateway would do), alerts and releases.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from liveops.core.alerting.rules import AlertRule
from liveops.core.project import ServiceSpec
from liveops.core.records import VersionRecord
from liveops.core.rollout.state import RolloutRecord
from liveops.core.serving.cost import COST_KEY
from liveops.core.serving.decision import DecisionSettings
from liveops.core.serving.routing import RoutingTable
from liveops.errors import LiveopsError
from liveops.services.alerts import alert_states, list_incidents
from liveops.services.registry import get_service_spec
from liveops.services.releases import view_release
from liveops.services.serving import fallback_when_disabled, with_rollouts
from liveops.store import Store

__all__ = ["CHANGES", "ServiceMap", "Share", "VersionSettings", "describe_service"]

CHANGES = 8  # the newest audit events shown
BUILT_IN_DETECTORS = ("email", "phone", "card", "iban")  # core/sensitive.py, always on


@dataclass(frozen=True)
class Share:
    """One arm of the live routing: ``version`` answers ``share`` of requests (a ``shadow`` arm
    answers a copy of that share; its answers are logged, never returned)."""

    arm: str
    version: int
    share: float
    role: str  # live | shadow

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class VersionSettings:
    """A version that answers traffic (or stands behind one): how it decides and falls back."""

    ref: str
    number: int
    arms: tuple[str, ...]  # production, staging, canary, shadow, fallback
    aliases: tuple[str, ...]
    threshold: float | None
    below_threshold: str
    sensitive_input: str
    timeout_ms: int | None
    fallback_chain: tuple[str, ...]  # the version, its fallback version, the rules, then 503
    cost_per_1k: float | None
    artifact_format: str
    registered_by: str
    registered_at: str
    message: str | None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["arms"] = list(self.arms)
        out["aliases"] = list(self.aliases)
        out["fallback_chain"] = list(self.fallback_chain)
        return out


@dataclass(frozen=True)
class ServiceMap:
    """Everything :func:`describe_service` gathers; ``to_dict`` is the ``--json`` answer."""

    service: str
    owner: str
    risk: str
    enabled: bool
    disabled_fallback: str | None  # what answers while the kill switch is on (None: 503)
    job: Mapping[str, str | None]
    inputs: tuple[Mapping[str, Any], ...]
    model_inputs: tuple[str, ...]
    segment_fields: tuple[str, ...]
    labels: tuple[str, ...]
    aliases: Mapping[str, int]
    traffic: tuple[Share, ...]
    rollout: Mapping[str, Any] | None
    versions: tuple[VersionSettings, ...]
    version_count: int
    logs: Mapping[str, Any]
    reference: Mapping[str, Any] | None
    alert_rules: tuple[Mapping[str, Any], ...]
    alerts_firing: tuple[Mapping[str, Any], ...]
    open_incidents: tuple[Mapping[str, Any], ...]
    release: Mapping[str, Any] | None
    changes: tuple[Mapping[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "owner": self.owner,
            "risk": self.risk,
            "enabled": self.enabled,
            "disabled_fallback": self.disabled_fallback,
            "job": dict(self.job),
            "inputs": [dict(i) for i in self.inputs],
            "model_inputs": list(self.model_inputs),
            "segment_fields": list(self.segment_fields),
            "labels": list(self.labels),
            "aliases": dict(self.aliases),
            "traffic": [s.to_dict() for s in self.traffic],
            "rollout": None if self.rollout is None else dict(self.rollout),
            "versions": [v.to_dict() for v in self.versions],
            "version_count": self.version_count,
            "logs": dict(self.logs),
            "reference": None if self.reference is None else dict(self.reference),
            "alert_rules": [dict(r) for r in self.alert_rules],
            "alerts_firing": [dict(a) for a in self.alerts_firing],
            "open_incidents": [dict(i) for i in self.open_incidents],
            "release": None if self.release is None else dict(self.release),
            "changes": [dict(c) for c in self.changes],
        }


def describe_service(store: Store, name: str, project_dir: Path) -> ServiceMap:
    """The map of service ``name``; :class:`~liveops.errors.ServiceNotFound` (naming the
    applied services) when it was never applied."""
    spec = get_service_spec(store, name)
    record = store.registry.get_service(name)
    enabled = record is None or not record.disabled
    aliases = store.registry.aliases_of(name)
    versions = {v.number: v for v in store.registry.list_versions(name)}
    active = store.rollouts.active_for(name)
    traffic = _traffic(name, aliases.get("production"), active)
    arms: dict[int, list[str]] = {}
    for s in traffic:
        arms.setdefault(s.version, []).append(s.arm)
    if "staging" in aliases:
        arms.setdefault(aliases["staging"], []).append("staging")
    for number in list(arms):
        fallback = _fallback_number(name, versions.get(number))
        if fallback is not None and fallback in versions:
            arms.setdefault(fallback, []).append("fallback")
    serving = tuple(
        _settings(versions[n], tuple(dict.fromkeys(a)))
        for n, a in sorted(arms.items())
        if n in versions
    )
    releases = store.releases.list_releases(name)
    rollouts = store.rollouts.list_rollouts(name, limit=50)
    incidents = [i for i in list_incidents(store, service=name) if i.status in _OPEN]
    ids = [r.id for r in releases] + [r.id for r in rollouts] + [str(i.id) for i in incidents]
    return ServiceMap(
        service=name,
        owner=spec.owner,
        risk=spec.risk,
        enabled=enabled,
        disabled_fallback=fallback_when_disabled(store, name),
        job=_job(spec),
        inputs=tuple(_input(spec, field) for field in spec.inputs),
        model_inputs=tuple(spec.model_inputs),
        segment_fields=tuple(f for f in spec.inputs if f not in spec.model_inputs),
        labels=tuple(spec.output.labels),
        aliases=dict(sorted(aliases.items())),
        traffic=traffic if enabled else (),
        rollout=None if active is None else _rollout(active, aliases.get("production")),
        versions=serving,
        version_count=len(versions),
        logs=_logs(store, spec),
        reference=_reference(store, spec),
        alert_rules=tuple(_rule(r) for r in spec.alert_rules()),
        alerts_firing=tuple(_firing(store, name)),
        open_incidents=tuple(
            {
                "id": i.id,
                "title": i.title,
                "severity": i.severity,
                "status": i.status,
                "opened_at": i.opened_at,
            }
            for i in incidents
        ),
        release=_release(store, releases[0].id, project_dir) if releases else None,
        changes=tuple(
            {
                "time": e.time,
                "actor": e.actor,
                "action": e.action,
                "object": e.object_id,
                "reason": e.reason,
            }
            for e in store.audit.events_about(name, ids, limit=CHANGES)
        ),
    )


_OPEN = ("open", "acknowledged", "mitigated")


def _job(spec: ServiceSpec) -> dict[str, str | None]:
    job = spec.job
    return {
        "input": job.input if job else None,
        "output": job.output if job else None,
        "success": job.success if job else None,
    }


def _input(spec: ServiceSpec, field: str) -> dict[str, Any]:
    f = spec.inputs[field]
    out: dict[str, Any] = {
        "name": field,
        "type": f.type,
        "required": f.required,
        "model_reads": field in spec.model_inputs,
    }
    if f.values is not None:
        out["values"] = list(f.values)
    return out


def _traffic(
    service: str, production: int | None, active: RolloutRecord | None
) -> tuple[Share, ...]:
    """The production gateways' arms, built as the gateway builds them (aliases, then the
    active rollout when production is still its baseline)."""
    table = RoutingTable.from_aliases({service: production})
    if active is not None:
        table = with_rollouts(table, [active])
    route = table.route(service)
    if route is None:
        return ()
    return tuple(Share(a.name, a.version, round(a.weight, 6), a.role) for a in route.arms)


def _decision(version: VersionRecord | None) -> DecisionSettings | None:
    if version is None:
        return None
    try:
        return DecisionSettings.from_config(version.config.get("decision") or {})
    except LiveopsError:  # a version stored before a setting was checked: show what we can
        return None


def _fallback_number(service: str, version: VersionRecord | None) -> int | None:
    settings = _decision(version)
    ref = settings.fallback_version if settings else None
    if ref is None:
        return None
    name, _, number = ref.partition("@")
    return int(number) if name == service and number.isdigit() else None


def _settings(version: VersionRecord, arms: tuple[str, ...]) -> VersionSettings:
    d = _decision(version) or DecisionSettings()
    chain = [version.ref]
    if d.fallback_version:
        chain.append(d.fallback_version)
    if d.rules:
        chain.append(f"rules {d.rules}")
    chain.append("503")
    cost = version.config.get(COST_KEY)
    return VersionSettings(
        ref=version.ref,
        number=version.number,
        arms=arms,
        aliases=tuple(version.aliases),
        threshold=d.threshold,
        below_threshold=d.below_threshold,
        sensitive_input=d.sensitive_input,
        timeout_ms=d.timeout_ms,
        fallback_chain=tuple(chain),
        cost_per_1k=float(cost) if isinstance(cost, int | float) else None,
        artifact_format=version.artifact_format,
        registered_by=version.owner,
        registered_at=version.created_at.isoformat(),
        message=version.message,
    )


def _rollout(rec: RolloutRecord, production: int | None) -> dict[str, Any]:
    step = rec.current
    shadow = step.share if step.kind == "shadow" else 0.0
    canary = step.share if step.kind == "canary" else 0.0
    return {
        "id": rec.id,
        "candidate": rec.ref,
        "baseline": f"{rec.service}@{rec.baseline}",
        "state": rec.state,
        "step": rec.step + 1,
        "steps": len(rec.plan.steps),
        "current_step": step.label(),
        "shares": {"production": round(1.0 - canary, 6), "canary": canary, "shadow": shadow},
        "started_by": rec.started_by,
        "started_at": rec.started_at.isoformat(),
        # Routed only while production is the version the rollout started from.
        "routing": production == rec.baseline,
    }


def _logs(store: Store, spec: ServiceSpec) -> dict[str, Any]:
    settings = spec.logging_settings()
    return {
        "database": store.url,  # the password hidden
        "backend": store.backend,
        "redaction": "on",  # always: the built-in detectors, plus the service's patterns
        "redaction_detectors": [*BUILT_IN_DETECTORS, *sorted(settings.patterns())],
        "raw_inputs": settings.raw_inputs,
        "raw_retention_days": settings.raw_retention_days if settings.raw_inputs else None,
        "retention_days": settings.retention_days,
    }


def _reference(store: Store, spec: ServiceSpec) -> dict[str, Any] | None:
    if spec.reference is None:
        return None
    name, _, number = spec.reference.partition("@")
    found = store.datasets.get(name, int(number) if number.isdigit() else None)
    if found is None:
        return {"name": spec.reference, "found": False}
    return {
        "name": spec.reference,
        "found": True,
        "ref": found.ref,
        "rows": found.rows,
        "reference_rows": found.reference_rows,
        "content_hash": found.content_hash,
        "created_at": found.created_at.isoformat(),
    }


def _rule(rule: AlertRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "metric": rule.metric,
        "condition": rule.condition(),
        "window": rule.window,
        "for": rule.for_,
        "severity": rule.severity,
        "receivers": list(rule.receivers),
        "action": rule.action,
    }


def _firing(store: Store, service: str) -> list[dict[str, Any]]:
    return [
        {k: s.get(k) for k in ("rule", "state", "scope", "severity", "value", "fired_at")}
        for s in alert_states(store, service)
        if s["state"] in ("firing", "pending")
    ]


def _release(store: Store, release_id: str, project_dir: Path) -> dict[str, Any]:
    view = view_release(store, release_id, project_dir, actor="describe", update=False)
    rel = view.release
    return {
        "id": rel.id,
        "version": rel.ref,
        "status": rel.decision.kind if rel.decision else "draft",
        "created_by": rel.created_by,
        "created_at": rel.created_at.isoformat(),
        "approvals_missing": list(view.status.missing),
        "blockers": view.blockers,
    }
