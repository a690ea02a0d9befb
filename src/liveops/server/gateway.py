"""The gateway: the routing table, the loaded versions, and answering one request.

A poller thread reads the services, aliases and kill switches every ``poll_s`` (one small query,
off the event loop), loads any version the routing table will need *before* publishing a new
table, and publishes it with one assignment: requests in flight finish on the version they
started on, so a version swap fails no request.

Per request (on the event loop): validate, pick the arm, queue the instances on the version's
batcher and wait at most the version's ``timeout_ms``. A model error, a timeout, an open circuit
breaker or the kill switch sends the request down the fallback chain: the fallback version,
then the rules function, then a 503. Every answer is in the prediction log's spool before it is
returned.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from liveops.core.decision import sensitive_hold
from liveops.core.inputs import FieldProblem, check_instance
from liveops.core.names import parse_version_ref
from liveops.core.prediction import PredictionRecord, PredictionSink, new_prediction_id
from liveops.core.routing import Route, RoutingTable
from liveops.errors import (
    InvalidInputError,
    LiveopsError,
    ModelUnavailableError,
    ServiceNotFound,
    StoreUnavailableError,
)
from liveops.server.batching import ABANDONED, Job, claim
from liveops.server.deployment import Deployment, FallbackFor, ModelFailure, ServeOptions
from liveops.server.metrics import GatewayMetrics
from liveops.services.serving import ServedService, load_serving_version, read_services
from liveops.store import Store

RETIRE_GRACE_S = 5.0
log = logging.getLogger("liveops.gateway")
Answer = dict[str, Any]
SinkFactory = Callable[[Store, Path], PredictionSink]
StoreFactory = Callable[[], Store]
MAX_INSTANCES = 1000


class Gateway:
    """Everything one gateway process serves; ``start()`` loads in the background."""

    def __init__(
        self,
        open_store: StoreFactory,
        open_sink: SinkFactory,
        project_dir: Path,
        options: ServeOptions | None = None,
    ) -> None:
        self._open_store = open_store
        self._open_sink = open_sink
        self.project_dir = project_dir
        self.options = options or ServeOptions()
        self.metrics = GatewayMetrics()
        self.store: Store | None = None
        self.sink: PredictionSink | None = None
        self.services: dict[str, ServedService] = {}
        self.table = RoutingTable()
        self.deployments: dict[tuple[str, int], Deployment] = {}
        self.load_errors: dict[str, str] = {}
        self.ready = False
        self.database_ok = False
        self.started_at = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # Versions no route needs any more: closed once requests that picked them are done.
        self._retired: dict[tuple[str, int], tuple[Deployment, float]] = {}

    # --- lifecycle (poller thread) -----------------------------------------------------

    def start(self) -> None:
        try:  # the batchers' tasks live on the serving loop: retired ones are closed there
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        self._thread = threading.Thread(target=self._poll_loop, name="liveops-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for dep in [*self.deployments.values(), *(d for d, _ in self._retired.values())]:
            dep.close()
        if self.sink is not None:
            self.sink.close()
        if self.store is not None:
            self.store.close()

    def _poll_loop(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                if self.store is None:
                    self.store = self._open_store()
                if self.sink is None:
                    self.sink = self._open_sink(self.store, self.project_dir)
                self.refresh()
                self.database_ok = True
            except Exception as exc:  # keep serving what is loaded; say why on the log
                self.database_ok = False
                log.warning("gateway refresh failed: %s", exc)
            if first and self.sink is not None and self.database_ok:
                first = False
                self.ready = True
                gc.collect()
                gc.freeze()  # the loaded models never need scanning again: shorter GC pauses
            self._update_gauges()
            self._stop.wait(self.options.poll_s)

    def refresh(self) -> None:
        """Re-read services and aliases; load what the new table needs, then publish it."""
        assert self.store is not None and self.sink is not None
        services = read_services(self.store, self.services)
        table = RoutingTable.from_aliases(
            {n: s.production for n, s in services.items()},
            disabled=[n for n, s in services.items() if s.disabled],
        )
        deployments = dict(self.deployments)
        routes = dict(table.routes)
        for name, route in table.routes.items():
            try:
                for arm in route.arms:
                    dep = self._ensure(deployments, services[name], arm.version)
                    dep.arm = arm.name
                    self._link_fallback(deployments, dep, services)
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

    def _close_retired(self, now: float) -> None:
        """Close retired versions once every request that picked one has finished or timed
        out (its timeout plus a margin after it left the table), so none is cut short."""
        for key, (dep, since) in list(self._retired.items()):
            if now - since < dep.timeout_s + RETIRE_GRACE_S or dep.batcher.depth:
                continue
            del self._retired[key]
            if self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(dep.close)
            else:
                dep.close()

    def _ensure(
        self, deployments: dict[tuple[str, int], Deployment], svc: ServedService, number: int
    ) -> Deployment:
        key = (svc.name, number)
        dep = deployments.get(key)
        if dep is None and key in self._retired:  # back in a route before it was closed
            dep = deployments[key] = self._retired.pop(key)[0]
        if dep is None:
            assert self.store is not None and self.sink is not None
            version = load_serving_version(
                self.store, svc.name, number, project_dir=self.project_dir
            )
            _warm_up(version.model, svc)
            serving = self.options.serving(svc.spec.serving_settings())
            dep = Deployment(version, svc, self.sink, self.metrics, serving)
            deployments[key] = dep
            log.info("loaded %s", version.ref)
        return dep

    def _link_fallback(
        self,
        deployments: dict[tuple[str, int], Deployment],
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
        fb = self._ensure(deployments, svc, vref.number)
        fb.arm = "fallback"
        dep.fallback = fb

    def _update_gauges(self) -> None:
        m = self.metrics
        for (svc, n), dep in self.deployments.items():
            m.child(m.queue_depth, svc, str(n), dep.arm).set(dep.batcher.depth)
        m.loaded_versions.set(len(self.deployments))
        if self.sink is not None:
            try:
                m.log_stats(self.sink.stats())
            except Exception as exc:
                log.warning("prediction log stats failed: %s", exc)

    # --- answering (event loop) --------------------------------------------------------

    def check(self, service: str, body: Any) -> tuple[ServedService, list[dict[str, Any]], bool]:
        """The service and validated instances of a request body; raises 404/422."""
        svc = self.services.get(service)
        if svc is None:
            if not self.ready:
                raise ModelUnavailableError("the gateway is still loading", hint="retry shortly")
            known = ", ".join(sorted(self.table.routes)) or "none"
            raise ServiceNotFound(
                f"unknown service {service!r} (served: {known})",
                hint="check the name; `liveops service list` shows the services",
            )
        problems: list[FieldProblem] = []
        single = False
        if not isinstance(body, dict):
            problems.append(FieldProblem((), "the body must be a JSON object"))
            instances: list[Any] = []
        elif "inputs" in body and "instances" not in body:
            single, instances = True, [body["inputs"]]
            loc_of: Callable[[int], tuple[str | int, ...]] = lambda i: ("inputs",)  # noqa: E731
        elif "instances" in body and "inputs" not in body:
            instances = body["instances"]
            loc_of = lambda i: ("instances", i)  # noqa: E731
            if not isinstance(instances, list) or not instances:
                problems.append(FieldProblem(("instances",), "must be a non-empty array"))
                instances = []
            elif len(instances) > MAX_INSTANCES:
                problems.append(
                    FieldProblem(("instances",), f"at most {MAX_INSTANCES} instances per request")
                )
                instances = []
        else:
            problems.append(
                FieldProblem((), 'give exactly one of "inputs" (an object) or "instances" (a list)')
            )
            instances = []
        if isinstance(body, dict):
            extra = [k for k in body if k not in ("inputs", "instances")]
            problems.extend(FieldProblem((k,), "unknown field") for k in extra)
        fields = svc.spec.inputs
        for i, inst in enumerate(instances):
            problems.extend(check_instance(inst, fields, loc_of(i)))
        if problems:
            raise InvalidInputError(
                f"the request does not fit {service}'s inputs ({len(problems)} problem(s))",
                hint="see details.problems; the inputs are in /openapi.json",
                problems=[p.to_dict() for p in problems[:50]],
            )
        return svc, instances, single

    async def predict(
        self, svc: ServedService, instances: list[dict[str, Any]], caller: str | None
    ) -> list[Answer]:
        route = self.table.route(svc.name)
        if route is None:
            why = self.load_errors.get(svc.name)
            if why is not None or not self.ready:
                raise ModelUnavailableError(
                    f"{svc.name} cannot answer now: {why or 'its model is still loading'}",
                    hint="see the gateway's log; `liveops versions list` shows the versions",
                )
            raise ServiceNotFound(
                f"{svc.name} has no production version",
                hint=f"point it with `liveops alias set {svc.name} production N`",
            )
        arm = route.pick(random.random()) if len(route.arms) > 1 else route.arms[0]
        dep = self.deployments[(svc.name, arm.version)]
        now = time.time()
        ids = [new_prediction_id(now) for _ in instances]
        if route.disabled:
            return await self._fallback(dep, instances, ids, now, caller, "service_disabled", None)
        if not dep.breaker.allow():
            return await self._fallback(dep, instances, ids, now, caller, "circuit_open", None)
        try:
            result: list[Answer] = await self._ask(dep, Job(instances, ids, now, caller, _fut()))
        except TimeoutError:
            self._model_failed(dep, "model_timeout")
            return await self._fallback(
                dep, instances, ids, now, caller, "model_timeout", "model_timeout"
            )
        except ModelFailure as exc:
            code = f"model_error:{type(exc.cause).__name__}"
            log.warning("%s raised %s", dep.ref, exc)
            self._model_failed(dep, "model_error")
            return await self._fallback(dep, instances, ids, now, caller, code, "model_error")
        dep.breaker.record_success()
        return result

    def _model_failed(self, dep: Deployment, code: str) -> None:
        dep.breaker.record_failure()
        m = self.metrics
        m.child(m.errors, dep.version.service, str(dep.version.number), dep.arm, code).inc()

    async def _ask(self, dep: Deployment, job: Job) -> Any:
        """Queue ``job`` and wait for it, at most the version's timeout."""
        dep.batcher.submit(job)
        loop = asyncio.get_running_loop()
        timer = loop.call_later(dep.timeout_s, _expire, job)
        try:
            return await job.future
        finally:
            timer.cancel()

    async def _fallback(
        self,
        dep: Deployment,
        instances: Sequence[dict[str, Any]],
        ids: Sequence[str],
        ts: float,
        caller: str | None,
        reason: str,
        error: str | None,
    ) -> list[Answer]:
        """The fallback chain: the fallback version, then the rules, then a 503."""
        fb = dep.fallback
        if fb is not None and fb.breaker.allow():
            job = Job(instances, ids, ts, caller, _fut(), extra=FallbackFor(dep, reason, error))
            try:
                answers: list[Answer] = await self._ask(fb, job)
                fb.breaker.record_success()
                return answers
            except (TimeoutError, ModelFailure):
                fb.breaker.record_failure()
                reason = f"{reason};fallback_failed:{fb.ref}"
        rules = dep.version.rules
        if rules is None:
            raise ModelUnavailableError(
                f"{dep.ref} cannot answer ({reason}) and has no fallback that can",
                hint="set decision.fallback (rules or a version) for this service",
                reason=reason,
            )
        return self._answer_by_rules(dep, rules, instances, ids, ts, caller, reason, error)

    def _answer_by_rules(
        self,
        dep: Deployment,
        rules: Callable[[Mapping[str, Any]], str | None],
        instances: Sequence[dict[str, Any]],
        ids: Sequence[str],
        ts: float,
        caller: str | None,
        reason: str,
        error: str | None,
    ) -> list[Answer]:
        version = None if reason == "service_disabled" else dep.version.number
        answers: list[Answer] = []
        records: list[PredictionRecord] = []
        m = self.metrics
        labels = (dep.version.service, str(dep.version.number), dep.arm)
        now = time.time()
        settings, text_fields = dep.version.settings, dep.service.text_fields
        for inst, pid in zip(instances, ids, strict=True):
            hold = sensitive_hold(inst, settings, text_fields)
            if hold is not None:  # the sensitive-input rule holds without the model too
                label, decision, fallback = None, hold[0], None
                full = f"{hold[1]};{reason}"
            else:
                try:
                    label = rules(inst)
                except Exception as exc:
                    label, why = None, f"fallback_error:{type(exc).__name__}"
                else:
                    why = "fallback_no_answer" if not isinstance(label, str) else ""
                    label = label if isinstance(label, str) else None
                if label is None:
                    decision, fallback, full = "human_review", None, f"{why};{reason}"
                else:
                    decision, fallback, full = "fallback", "rules", f"{reason};fallback:rules"
            answers.append(
                {
                    "prediction_id": pid,
                    "label": label,
                    "confidence": None,
                    "scores": {},
                    "version": version,
                    "decision": decision,
                    "fallback": fallback,
                    "reason": full,
                }
            )
            records.append(
                PredictionRecord(
                    prediction_id=pid,
                    service=dep.version.service,
                    version=version,
                    arm=dep.arm,
                    ts=ts,
                    inputs=inst,
                    label=label,
                    decision=decision,
                    fallback=fallback,
                    reason=full,
                    latency_ms=(now - ts) * 1000.0,
                    error=error,
                    caller=caller,
                    segments=dep.segments_of(inst),
                )
            )
            m.child(m.predictions, *labels, decision).inc()
            m.child(m.fallbacks, *labels, reason.split(":")[0]).inc()
        assert self.sink is not None
        try:
            self.sink.submit(records)
        except Exception as exc:
            raise StoreUnavailableError(
                f"the prediction log could not store the answers: {exc}",
                hint="check the gateway's spool folder (disk full? permissions?)",
            ) from exc
        return answers

    def readiness(self) -> dict[str, Any]:
        """What /readyz reports: models loaded, and the database reachable or spooling."""
        stats: Mapping[str, float] = {}
        if self.sink is not None:
            try:
                stats = self.sink.stats()
            except Exception as exc:
                stats = {"error": 1.0}
                log.warning("prediction log stats failed: %s", exc)
        return {
            "ready": self.ready and not self.load_errors,
            "models": sorted(f"{s}@{n}" for s, n in self.deployments),
            "services": {
                name: {
                    "version": route.arms[0].version if route.arms else None,
                    "disabled": route.disabled,
                }
                for name, route in self.table.routes.items()
            },
            "load_errors": dict(self.load_errors),
            "database_ok": self.database_ok,
            "log": dict(stats),
        }


def _needed(
    deployments: Mapping[tuple[str, int], Deployment], routes: Mapping[str, Route]
) -> set[tuple[str, int]]:
    """The versions the routes answer with, and the fallback versions behind them."""
    needed: set[tuple[str, int]] = set()
    for name, route in routes.items():
        for arm in route.arms:
            dep = deployments.get((name, arm.version))
            while dep is not None and (dep.version.service, dep.version.number) not in needed:
                needed.add((dep.version.service, dep.version.number))
                dep = dep.fallback
    return needed


def _fut() -> asyncio.Future[Any]:
    return asyncio.get_running_loop().create_future()


def _expire(job: Job) -> None:
    """The timeout fired: take the job back unless its batch already committed it."""
    if claim(job, ABANDONED) and not job.future.done():
        job.future.set_exception(TimeoutError())


def _warm_up(model: Any, svc: ServedService) -> None:
    """One call before traffic arrives, so the first request does not pay for lazy set-up."""
    record = {
        f: "warm up" if svc.spec.inputs[f].type == "string" else None for f in svc.spec.model_inputs
    }
    try:
        model.predict_batch([record])
    except Exception as exc:  # a model may refuse a made-up record; real requests will tell
        log.info("warm-up call of %s failed: %s", svc.name, exc)
