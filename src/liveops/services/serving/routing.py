"""The routing poller's work: which versions serve which service, loaded before they serve.

:meth:`Router.refresh` (on the poller thread, every ``poll_s``) reads the services, aliases and
kill switches (one small query), loads any version the new routing table needs *before*
publishing the table, and publishes it with one assignment: requests in flight finish on the
version they started on, so a version swap fails no request. A version no route needs any more
is retired, and closed once every request that picked it has finished.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from liveops.core.names import parse_version_ref
from liveops.core.prediction import PredictionSink
from liveops.core.routing import Route, RoutingTable
from liveops.errors import LiveopsError, ServiceNotFound
from liveops.services.serving.deployment import Deployment, ServeOptions
from liveops.services.serving.fallback import ChainFailures
from liveops.services.serving.loading import ServedService, load_serving_version, read_services
from liveops.store import Store

__all__ = ["RETIRE_GRACE_S", "Router"]

RETIRE_GRACE_S = 5.0
log = logging.getLogger("liveops.gateway")
Key = tuple[str, int]


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
        self.load_errors: dict[str, str] = {}
        self.loop: asyncio.AbstractEventLoop | None = None  # where retired batchers are closed
        # Versions no route needs any more: closed once requests that picked them are done.
        self._retired: dict[Key, tuple[Deployment, float]] = {}

    def refresh(self, store: Store, sink: PredictionSink) -> None:
        """Re-read services and aliases; load what the new table needs, then publish it."""
        services = read_services(store, self.services)
        table = RoutingTable.from_aliases(
            {n: s.production for n, s in services.items()},
            disabled=[n for n, s in services.items() if s.disabled],
        )
        deployments = dict(self.deployments)
        routes = dict(table.routes)
        for name, route in table.routes.items():
            try:
                for arm in route.arms:
                    dep = self._ensure(deployments, store, sink, services[name], arm.version)
                    dep.arm = arm.name
                    self._link_fallback(deployments, store, sink, dep, services)
                self.load_errors.pop(name, None)
            except LiveopsError as exc:
                self.load_errors[name] = exc.message
                log.error("cannot serve %s: %s", name, exc.message)
                old = self.table.route(name)
                if old is not None:  # keep answering with what is loaded
                    routes[name] = old
                else:
                    routes.pop(name)
        for dep in deployments.values():
            svc = services.get(dep.version.service)
            if svc is not None:
                dep.service = svc
        needed = _needed(deployments, routes)
        now = time.monotonic()
        for key in [k for k in deployments if k not in needed]:
            self._retired[key] = (deployments.pop(key), now)
            log.info("unloading %s@%d: no route uses it", *key)
        self.deployments = deployments
        self.services = services
        self.table = RoutingTable(routes)
        self._close_retired(now)

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
        if dep is None:
            version = load_serving_version(store, svc.name, number, project_dir=self.project_dir)
            _warm_up(version.model, svc)
            serving = self.options.serving(svc.spec.serving_settings())
            dep = Deployment(version, svc, sink, self.failures, serving)
            deployments[key] = dep
            log.info("loaded %s", version.ref)
        return dep

    def _link_fallback(
        self,
        deployments: dict[Key, Deployment],
        store: Store,
        sink: PredictionSink,
        dep: Deployment,
        services: Mapping[str, ServedService],
    ) -> None:
        ref = dep.version.settings.fallback_version
        if ref is None or dep.fallback is not None:
            return
        vref = parse_version_ref(ref)
        svc = services.get(vref.service)
        if svc is None or vref.number is None:
            raise ServiceNotFound(f"{dep.ref} falls back to {ref}, whose service is unknown")
        fb = self._ensure(deployments, store, sink, svc, vref.number)
        fb.arm = "fallback"
        dep.fallback = fb


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


def _warm_up(model: Any, svc: ServedService) -> None:
    """One call before traffic arrives, so the first request does not pay for lazy set-up."""
    record = {
        f: "warm up" if svc.spec.inputs[f].type == "string" else None for f in svc.spec.model_inputs
    }
    try:
        model.predict_batch([record])
    except Exception as exc:  # a model may refuse a made-up record; real requests will tell
        log.info("warm-up call of %s failed: %s", svc.name, exc)
