"""The routing poller's work: which versions serve which service, loaded before they serve.

:meth:`Router.refresh` (on the poller thread, every ``poll_s``) reads the services, aliases and
kill switches (one small query) and the active rollouts (another: a step change, an abort or a
rollback reaches every replica at its next poll), loads any version the new routing table
needs *before* publishing the table, and publishes it with one assignment: requests in flight
finish on the version they started on, so a version swap fails no request. A version no route
needs any more is retired, and closed once every request that picked it has finished.

A version that cannot load is kept as an unavailable deployment (its requests go down the
fallback chain) and tried again at every poll; its error is logged once per change, not at
every poll. When the production alias moves to a version that cannot load, the version that
was answering keeps answering.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from liveops.core.names import parse_version_ref
from liveops.core.rollout.state import RolloutRecord
from liveops.core.serving.prediction import PredictionSink
from liveops.core.serving.routing import Arm, Route, RoutingTable
from liveops.errors import LiveopsError, ModelError, ServiceNotFound
from liveops.services.serving.deployment import Deployment, ServeOptions
from liveops.services.serving.fallback import ChainFailures
from liveops.services.serving.loading import (
    ServedService,
    describe_fallback,
    load_serving_version,
    read_services,
    require_labels,
)
from liveops.store import Store

__all__ = ["RETIRE_GRACE_S", "Router", "ServiceState", "with_rollouts"]

RETIRE_GRACE_S = 5.0
log = logging.getLogger("liveops.gateway")
Key = tuple[str, int]
Status = Literal["ready", "degraded", "unavailable"]


@dataclass(frozen=True)
class ServiceState:
    """What ``/readyz`` says of one service: ``ready`` (its model answers), ``degraded`` (a
    fallback answers, or the previous version), ``unavailable`` (requests get 503)."""

    service: str
    version: int | None
    status: Status
    reason: str | None
    disabled: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "status": self.status,
            "reason": self.reason,
            "disabled": self.disabled,
        }


class Router:
    """The routing table and the loaded versions it needs; read by requests, written by the
    poller (each attribute is replaced whole, never changed in place)."""

    def __init__(self, project_dir: Path, options: ServeOptions, failures: ChainFailures) -> None:
        self.project_dir = project_dir
        self.options = options
        self.failures = failures
        self.services: dict[str, ServedService] = {}
        self.table = RoutingTable()
        self.deployments: dict[Key, Deployment] = {}
        self.load_errors: dict[str, str] = {}  # service -> why it is not served as routed
        self._logged: dict[str, str] = {}  # service or version ref -> the error last logged
        self.loop: asyncio.AbstractEventLoop | None = None  # where retired batchers are closed
        # Versions no route needs any more: closed once requests that picked them are done.
        self._retired: dict[Key, tuple[Deployment, float]] = {}

    def refresh(self, store: Store, sink: PredictionSink) -> None:
        """Re-read services and aliases; load what the new table needs, then publish it."""
        services = read_services(store, self.services, self.options.alias)
        table = RoutingTable.from_aliases(
            {n: s.production for n, s in services.items()},
            disabled=[n for n, s in services.items() if s.disabled],
            arm=self.options.alias,
        )
        if self.options.alias == "production":  # a staging gateway serves its alias only
            table = with_rollouts(table, store.rollouts.active())
        deployments = dict(self.deployments)
        routes = dict(table.routes)
        for name, route in table.routes.items():
            old = self.table.route(name)
            try:
                broken = []
                for arm in route.arms:
                    dep = self._ensure(deployments, store, sink, services[name], arm.version)
                    dep.arm = arm.name
                    self._link_fallback(deployments, store, sink, dep, services)
                    if dep.unavailable is not None:
                        broken.append(f"{dep.ref} {dep.unavailable}")
                if (
                    broken
                    and old is not None
                    and old.arms != route.arms
                    and _answers(deployments, old)
                ):  # keep answering with the version that was answering (kill switch as set)
                    routes[name] = replace(old, disabled=route.disabled)
                    self.load_errors[name] = "; ".join(broken)
                else:
                    self.load_errors.pop(name, None)
                self._logged.pop(name, None)
            except LiveopsError as exc:
                self.load_errors[name] = exc.message
                if self._logged.get(name) != exc.message:  # once per change, not every poll
                    self._logged[name] = exc.message
                    log.error("cannot serve %s: %s", name, exc.message)
                if old is not None:  # keep answering with what is loaded
                    routes[name] = replace(old, disabled=route.disabled)
                else:
                    routes.pop(name)
        for dep in deployments.values():
            svc = services.get(dep.version.service)
            if svc is not None:
                dep.service = svc
        needed = _needed(deployments, routes)
        now = time.monotonic()
        for key in [k for k in deployments if k not in needed]:
            dep = deployments.pop(key)
            if dep.unavailable is not None:  # never answered: nothing to wait for or to say
                dep.close()
                continue
            self._retired[key] = (dep, now)
            log.info("unloading %s@%d: no route uses it", *key)
        self.deployments = deployments
        self.services = services
        self.table = RoutingTable(routes)
        self._close_retired(now)

    def states(self) -> dict[str, ServiceState]:
        """How each service with a production version is answered now, and why."""
        out: dict[str, ServiceState] = {}
        for name in sorted({*self.table.routes, *self.load_errors}):
            route = self.table.route(name)
            if route is None:
                error = self.load_errors[name]
                out[name] = ServiceState(name, None, "unavailable", f"{error}; requests get 503")
                continue
            dep = self.deployments.get((name, route.arms[0].version)) if route.arms else None
            number = route.arms[0].version if route.arms else None
            if dep is None:
                out[name] = ServiceState(name, number, "unavailable", "not loaded yet")
                continue
            fallback = _what_answers_instead(dep)
            why: str | None
            status: Status
            then = f"the fallback answers ({fallback})" if fallback else "requests get 503"
            if route.disabled:
                why = f"disabled (the kill switch): {then}"
                status = "degraded" if fallback else "unavailable"
            elif dep.unavailable is not None:
                why = f"{dep.ref} {dep.unavailable}: {then}"
                status = "degraded" if fallback else "unavailable"
            elif name in self.load_errors:
                why = f"{self.load_errors[name]}; {dep.ref} still answers"
                status = "degraded"
            elif dep.fallback is not None and dep.fallback.unavailable is not None:
                why = f"its fallback {dep.fallback.ref} {dep.fallback.unavailable}"
                status = "degraded"
            else:
                why, status = None, "ready"
            out[name] = ServiceState(name, number, status, why, disabled=route.disabled)
        return out

    def close(self) -> None:
        for dep in [*self.deployments.values(), *(d for d, _ in self._retired.values())]:
            dep.close()

    def _close_retired(self, now: float) -> None:
        """Close retired versions once every request that picked one has finished or timed
        out (its timeout plus a margin after it left the table), so none is cut short."""
        for key, (dep, since) in list(self._retired.items()):
            if now - since < dep.timeout_s + RETIRE_GRACE_S or dep.batcher.depth:
                continue
            del self._retired[key]
            if self.loop is not None and not self.loop.is_closed():
                self.loop.call_soon_threadsafe(dep.close)
            else:
                dep.close()

    def _ensure(
        self,
        deployments: dict[Key, Deployment],
        store: Store,
        sink: PredictionSink,
        svc: ServedService,
        number: int,
    ) -> Deployment:
        key = (svc.name, number)
        dep = deployments.get(key)
        if dep is None and key in self._retired:  # back in a route before it was closed
            dep = deployments[key] = self._retired.pop(key)[0]
        if dep is not None and dep.unavailable is None:
            if dep.service.spec_hash != svc.spec_hash:
                # `service apply` changed the service: a loaded version whose classes are no
                # longer its labels stops answering (its fallback does) until they match again.
                try:
                    require_labels(dep.ref, dep.version.model, svc.spec)
                except ModelError as exc:
                    dep.unavailable = exc.message
                    self._logged[dep.ref] = exc.message
                    log.error("%s %s; it stops answering", dep.ref, exc.message)
            return dep
        # New, or it could not load last time (the artifact or rules may be fixed): load it.
        version = load_serving_version(store, svc.name, number, project_dir=self.project_dir)
        ref = version.ref
        if version.load_error is not None:
            if self._logged.get(ref) != version.load_error:  # once per distinct error
                self._logged[ref] = version.load_error
                fallback = describe_fallback(version.settings) or "nothing: requests get 503"
                log.error("%s %s; its fallback answers: %s", ref, version.load_error, fallback)
            if dep is not None:
                return dep
        else:
            _warm_up(version.model, svc)
            if self._logged.pop(ref, None) is not None:
                log.info("%s loads again", ref)
        serving = self.options.serving(svc.spec.serving_settings())
        new = Deployment(version, svc, sink, self.failures, serving)
        if dep is not None:  # replaces its unavailable stand-in, which queued nothing
            new.arm, new.fallback = dep.arm, dep.fallback
            dep.close()
            for other in deployments.values():  # whoever fell back to it now gets the new one
                if other.fallback is dep:
                    other.fallback = new
        deployments[key] = new
        if version.load_error is None:
            log.info("loaded %s", ref)
        return new

    def _link_fallback(
        self,
        deployments: dict[Key, Deployment],
        store: Store,
        sink: PredictionSink,
        dep: Deployment,
        services: Mapping[str, ServedService],
    ) -> None:
        ref = dep.version.settings.fallback_version
        if ref is None or (dep.fallback is not None and dep.fallback.unavailable is None):
            return  # linked (one that could not load is tried again below)
        vref = parse_version_ref(ref)
        svc = services.get(vref.service)
        if svc is None or vref.number is None:
            raise ServiceNotFound(f"{dep.ref} falls back to {ref}, whose service is unknown")
        fb = self._ensure(deployments, store, sink, svc, vref.number)
        fb.arm = "fallback"
        dep.fallback = fb


def with_rollouts(table: RoutingTable, active: list[RolloutRecord]) -> RoutingTable:
    """``table`` with the arms of each active rollout: the baseline as ``production`` and the
    candidate as ``canary`` (its share of live traffic) or ``shadow`` (a copied share)."""
    routes = dict(table.routes)
    for rec in active:
        route = routes.get(rec.service)
        if route is None or len(route.arms) != 1 or route.arms[0].version != rec.baseline:
            continue  # production moved away from the baseline: the rollout no longer applies
        step = rec.current
        if step.kind == "shadow":
            arms = (
                Arm("production", rec.baseline, 1.0),
                Arm("shadow", rec.version, step.share, "shadow"),
            )
        else:
            arms = (
                Arm("production", rec.baseline, 1.0 - step.share),
                Arm("canary", rec.version, step.share),
            )
        key = rec.plan.key
        routes[rec.service] = replace(
            route,
            arms=arms,
            key_header=key.header if key else None,
            key_field=key.field if key else None,
            salt=rec.id,
        )
    return RoutingTable(routes)


def _needed(deployments: Mapping[Key, Deployment], routes: Mapping[str, Route]) -> set[Key]:
    """The versions the routes answer with, and the fallback versions behind them."""
    needed: set[Key] = set()
    for name, route in routes.items():
        for arm in route.arms:
            dep = deployments.get((name, arm.version))
            while dep is not None and (dep.version.service, dep.version.number) not in needed:
                needed.add((dep.version.service, dep.version.number))
                dep = dep.fallback
    return needed


def _what_answers_instead(dep: Deployment) -> str | None:
    """The fallback steps that can answer for ``dep`` now, or None."""
    steps = []
    if dep.fallback is not None and dep.fallback.unavailable is None:
        steps.append(dep.fallback.ref)
    if dep.version.rules is not None:
        steps.append(f"rules {dep.version.settings.rules}")
    return " then ".join(steps) or None


def _answers(deployments: Mapping[Key, Deployment], route: Route) -> bool:
    """Whether every arm of ``route`` is a loaded version that can answer."""
    return all(
        (d := deployments.get((route.service, a.version))) is not None and d.unavailable is None
        for a in route.arms
    )


def _warm_up(model: Any, svc: ServedService) -> None:
    """One call before traffic arrives, so the first request does not pay for lazy set-up."""
    record = {
        f: "warm up" if svc.spec.inputs[f].type == "string" else None for f in svc.spec.model_inputs
    }
    try:
        model.predict_batch([record])
    except Exception as exc:  # a model may refuse a made-up record; real requests will tell
        log.info("warm-up call of %s failed: %s", svc.name, exc)
