"""The gateway: the routing table, the loaded versions, and answering one request.

A poller thread refreshes the :class:`~liveops.services.serving.routing.Router` every
``poll_s`` (off the event loop). Per request (on the event loop): validate, pick the arm, queue
the instances on the version's batcher and wait at most the version's ``timeout_ms``. A model
error, a timeout, an open circuit breaker or the kill switch sends the request down the
fallback chain (:mod:`~liveops.services.serving.fallback`): the fallback version, then the
rules function, then a 503; every step that fails is counted and logged. Every answer is in the
prediction log's spool before it is returned.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from liveops.core.clock import AdvancingClock, Clock, SystemClock
from liveops.core.serving.decision import RulesFunction, sensitive_hold
from liveops.core.serving.inputs import FieldProblem, check_instance
from liveops.core.serving.prediction import PredictionSink, new_prediction_id
from liveops.core.serving.routing import Route, RoutingTable, sticky_unit
from liveops.errors import (
    InvalidInputError,
    ModelUnavailableError,
    OverloadedError,
    ServiceNotFound,
)
from liveops.services.access import Authenticator
from liveops.services.serving.answers import Answer, AnswerBatch
from liveops.services.serving.batching import ABANDONED, Job, claim
from liveops.services.serving.deployment import Deployment, FallbackFor, ModelFailure, ServeOptions
from liveops.services.serving.fallback import ChainFailures, Failure
from liveops.services.serving.loading import ServedService
from liveops.services.serving.metrics import GatewayMetrics
from liveops.services.serving.routing import Router
from liveops.services.serving.shadow import ShadowCopier
from liveops.services.serving.ticks import RequestCounts, TickWriter
from liveops.store import Store
from liveops.store.monitoring import WINDOW_S

__all__ = ["MAX_INSTANCES", "Gateway"]

log = logging.getLogger("liveops.gateway")
SinkFactory = Callable[[Store, Path], PredictionSink]
StoreFactory = Callable[[], Store]
MAX_INSTANCES = 1000
MONITOR_GAUGES_S = 15.0  # how often the poller re-reads the monitor's latest windows


class Gateway:
    """Everything one gateway process serves; ``start()`` loads in the background."""

    def __init__(
        self,
        open_store: StoreFactory,
        open_sink: SinkFactory,
        project_dir: Path,
        options: ServeOptions | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._open_store = open_store
        self._open_sink = open_sink
        self.project_dir = project_dir
        self.options = options or ServeOptions()
        # With a time override, requests move a simulated clock that the log records, feedback
        # and heartbeats all read; otherwise the wall clock (read with time.time(): cheaper).
        self.clock: Clock = clock or (
            AdvancingClock() if self.options.allow_time_override else SystemClock()
        )
        self.wall_clock = isinstance(self.clock, SystemClock)
        self.requests = RequestCounts()
        self.ticks = TickWriter(
            lambda: self.store,
            self.requests,
            self.clock,
            self.options.tick_s,
            simulated=not self.wall_clock,
        )
        self.metrics = GatewayMetrics()
        # API keys from memory, refreshed by the poller (None: --no-auth, loopback only).
        self.auth: Authenticator | None = (
            Authenticator(rate_per_s=self.options.key_rate, burst=self.options.key_burst)
            if self.options.auth
            else None
        )
        self.failures = ChainFailures(self.metrics)
        self.router = Router(project_dir, self.options, self.failures)
        self.store: Store | None = None
        self.sink: PredictionSink | None = None
        self.ready = False
        self.database_ok = False
        self.started_at = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._monitor_read_at = -math.inf
        # Shadow copies yield to served work (loop lag, served queues, the log's backlog).
        self._log_backlog = 0.0  # read by the poller from the log's stats
        self._answering = 0  # served requests between their arm's pick and their answers
        self.shadow = ShadowCopier(
            self.metrics,
            lambda: self.router.deployments,
            served_requests=lambda: self._answering,
            log_backlog=lambda: self._log_backlog,
        )

    # Read on every request: the router replaces each whole when the routing changes.
    @property
    def services(self) -> dict[str, ServedService]:
        return self.router.services

    @property
    def table(self) -> RoutingTable:
        return self.router.table

    @property
    def deployments(self) -> dict[tuple[str, int], Deployment]:
        return self.router.deployments

    @property
    def load_errors(self) -> dict[str, str]:
        return self.router.load_errors

    # --- lifecycle (poller thread) -----------------------------------------------------

    def start(self) -> None:
        try:  # the batchers' tasks live on the serving loop: retired ones are closed there
            self.router.loop = asyncio.get_running_loop()
        except RuntimeError:
            self.router.loop = None
        else:
            self.shadow.probe.start(self.router.loop)
        self._thread = threading.Thread(target=self._poll_loop, name="liveops-poller", daemon=True)
        self._thread.start()
        self.ticks.start()

    def stop(self) -> None:
        self._stop.set()
        self.shadow.probe.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.ticks.stop()
        self.router.close()
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
                if self.auth is not None:  # first: a revoke must not wait on model loading
                    self.auth.refresh(self.store)
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
            self._update_monitor_gauges()
            self._stop.wait(self.options.poll_s)

    def refresh(self) -> None:
        """Re-read services and aliases; load what the new table needs, then publish it."""
        assert self.store is not None
        assert self.sink is not None
        self.router.refresh(self.store, self.sink)

    def _update_gauges(self) -> None:
        m = self.metrics
        for (svc, n), dep in self.deployments.items():
            m.child(m.queue_depth, svc, str(n), dep.arm).set(dep.batcher.depth)
        m.loaded_versions.set(sum(d.unavailable is None for d in self.deployments.values()))
        m.loop_lag.set(self.shadow.probe.take_max())
        if self.sink is not None:
            try:
                stats = self.sink.stats()
                m.log_stats(stats)
                self._log_backlog = float(stats.get("backlog", 0.0))
            except Exception as exc:
                log.warning("prediction log stats failed: %s", exc)

    def _update_monitor_gauges(self) -> None:
        # Read from the store here, on the poller thread, never on a request; at most every
        # MONITOR_GAUGES_S (a window is 5 minutes: nothing new arrives faster).
        now = time.monotonic()
        if self.store is None or now - self._monitor_read_at < MONITOR_GAUGES_S:
            return
        self._monitor_read_at = now
        try:
            at = self.store.clock.now()
            # Complete windows only: one that started at least a window ago.
            rows = self.store.monitoring.latest_windows(
                at - timedelta(seconds=WINDOW_S), at - timedelta(days=1)
            )
            self.metrics.monitor_windows([(s, v, a, st) for s, v, a, _, st in rows])
        except Exception as exc:
            log.warning("monitor gauges failed: %s", exc)

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

    def sticky_header(self, service: str) -> str | None:
        """The header (lower-case) whose value picks the arm of ``service`` in a rollout."""
        route = self.router.table.route(service)
        return route.key_header if route is not None else None

    async def predict(
        self,
        svc: ServedService,
        instances: list[dict[str, Any]],
        caller: str | None,
        at: float | None = None,
        sticky: str | None = None,
    ) -> list[Answer]:
        """The answers for ``instances``; ``at`` is the request's own time (seconds since the
        epoch; only with ``allow_time_override``), else the gateway's clock gives it.
        ``sticky``: the value of the route's sticky-key header (:meth:`sticky_header`)."""
        route = self.router.table.route(svc.name)
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
        if len(route.arms) == 1:
            arm, u = route.arms[0], 0.0
        else:
            u = self._draw(route, instances, sticky)
            arm = route.pick(u)
        dep = self.router.deployments[(svc.name, arm.version)]
        t0 = time.time()
        now = at if at is not None else (t0 if self.wall_clock else self.clock.now().timestamp())
        self._answering += 1
        try:
            answers = await self._answer(route, dep, instances, now, caller, t0)
        finally:
            self._answering -= 1
        if route.shadow_arms and not route.disabled:
            self.shadow.copy(route, u, instances, answers, now, caller)
        return answers

    def _draw(self, route: Route, instances: list[dict[str, Any]], sticky: str | None) -> float:
        """The draw that picks the arm: the sticky key's hash, else (no key set, or missing
        from the request: counted) a random number."""
        if route.key_header is None and route.key_field is None:
            return random.random()
        key = sticky
        if route.key_field is not None:  # a request of several instances goes by the first
            value = instances[0].get(route.key_field) if instances else None
            key = None if value is None else str(value)
        if key is None or key == "":
            self.metrics.child(self.metrics.unkeyed, route.service).inc()
            return random.random()
        return sticky_unit(route.salt, key)

    async def _answer(
        self,
        route: Route,
        dep: Deployment,
        instances: list[dict[str, Any]],
        now: float,
        caller: str | None,
        t0: float,
    ) -> list[Answer]:
        svc = dep.service
        ids = [new_prediction_id(now) for _ in instances]
        if route.disabled:
            skipped = Failure("model", dep.ref, "service_disabled")
            return await self._fallback(dep, instances, ids, now, caller, skipped, t0)
        if dep.unavailable is not None:  # it could not load: its fallback answers
            skipped = Failure("model", dep.ref, "version_unavailable", "version_unavailable")
            return await self._fallback(dep, instances, ids, now, caller, skipped, t0)
        if not dep.breaker.allow():
            skipped = Failure("model", dep.ref, "circuit_open")
            return await self._fallback(dep, instances, ids, now, caller, skipped, t0)
        try:
            job = Job(instances, ids, now, caller, _fut(), t0=t0)
            result: list[Answer] = await self._ask(dep, job)
        except TimeoutError:
            failed = self._model_failed(dep, "model_timeout", "model_timeout", None)
            return await self._fallback(dep, instances, ids, now, caller, failed, t0)
        except ModelFailure as exc:
            code = f"model_error:{type(exc.cause).__name__}"
            failed = self._model_failed(dep, code, "model_error", str(exc.cause))
            return await self._fallback(dep, instances, ids, now, caller, failed, t0)
        except OverloadedError:  # a 429: the caller retries; counted, not a fallback
            self.failures.record(
                svc.name, dep.version.number, Failure("model", dep.ref, "queue_full")
            )
            raise
        dep.breaker.record_success()
        return result

    def _model_failed(self, dep: Deployment, reason: str, code: str, detail: str | None) -> Failure:
        dep.breaker.record_failure()
        m = self.metrics
        m.child(m.errors, dep.version.service, str(dep.version.number), dep.arm, code).inc()
        return Failure("model", dep.ref, reason, code, detail)

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
        failed: Failure,
        t0: float,
    ) -> list[Answer]:
        """The chain after the model: the fallback version, then the rules, then a 503."""
        service, number = dep.version.service, dep.version.number
        self.failures.record(service, number, failed)
        reason, error = failed.reason, failed.error
        fb = dep.fallback
        if fb is not None:
            outcome = await self._ask_fallback_version(
                dep, fb, instances, ids, ts, caller, failed, t0
            )
            if not isinstance(outcome, Failure):
                return outcome
            self.failures.record(service, number, outcome)
            if outcome.reason != "circuit_open":  # an open breaker is a skip, not a try
                reason = f"{reason};fallback_failed:{fb.ref}"
        rules = dep.version.rules
        if rules is None:
            raise _nothing_answers(dep, failed, reason)
        return self._answer_by_rules(dep, rules, instances, ids, ts, t0, caller, reason, error)

    async def _ask_fallback_version(
        self,
        dep: Deployment,
        fb: Deployment,
        instances: Sequence[dict[str, Any]],
        ids: Sequence[str],
        ts: float,
        caller: str | None,
        failed: Failure,
        t0: float,
    ) -> list[Answer] | Failure:
        """The fallback version's answers, or why it gave none."""
        if fb.unavailable is not None:
            return Failure("fallback_version", fb.ref, "version_unavailable", None, fb.unavailable)
        if not fb.breaker.allow():
            return Failure("fallback_version", fb.ref, "circuit_open")
        extra = FallbackFor(dep, failed.reason, failed.error)
        try:
            answers: list[Answer] = await self._ask(
                fb, Job(instances, ids, ts, caller, _fut(), extra, t0)
            )
        except TimeoutError:
            fb.breaker.record_failure()
            return Failure("fallback_version", fb.ref, "model_timeout", "model_timeout")
        except ModelFailure as exc:
            fb.breaker.record_failure()
            code = f"model_error:{type(exc.cause).__name__}"
            return Failure("fallback_version", fb.ref, code, "model_error", str(exc.cause))
        fb.breaker.record_success()
        return answers

    def _answer_by_rules(
        self,
        dep: Deployment,
        rules: RulesFunction,
        instances: Sequence[dict[str, Any]],
        ids: Sequence[str],
        ts: float,
        t0: float,
        caller: str | None,
        reason: str,
        error: str | None,
    ) -> list[Answer]:
        version = None if reason == "service_disabled" else dep.version.number
        settings, text_fields = dep.version.settings, dep.service.text_fields
        batch = AnswerBatch(time.time())  # the wall clock: the answers' latency ends here
        answers: list[Answer] = []
        failed: dict[str, tuple[int, str | None]] = {}  # reason -> (instances, first message)
        for inst, pid in zip(instances, ids, strict=True):
            hold = sensitive_hold(inst, settings, text_fields)
            fallback: str | None = None
            if hold is not None:  # the sensitive-input rule holds without the model too
                label, decision, full = None, hold[0], f"{hold[1]};{reason}"
            else:
                detail: str | None = None
                try:
                    answer = rules(inst)
                except Exception as exc:  # user code: reported in the reason, counted, logged
                    answer, why, detail = None, f"fallback_error:{type(exc).__name__}", str(exc)
                else:
                    why = "fallback_no_answer"
                label = answer if isinstance(answer, str) else None
                if label is None:
                    n, first = failed.get(why, (0, detail))
                    failed[why] = (n + 1, first)
                    decision, full = "human_review", f"{why};{reason}"
                else:
                    decision, fallback, full = "fallback", "rules", f"{reason};fallback:rules"
            answers.append(
                batch.add(
                    pid,
                    inst,
                    service=dep.version.service,
                    version=version,
                    arm=dep.arm,
                    ts=ts,
                    started=t0,
                    caller=caller,
                    segments=dep.segments_of(inst),
                    label=label,
                    decision=decision,
                    fallback=fallback,
                    reason=full,
                    fell_back_because=reason,
                    error=error,
                )
            )
        target = settings.rules or "rules"
        for why, (n, first) in failed.items():
            failure = Failure("rules", target, why, None, first)
            self.failures.record(dep.version.service, dep.version.number, failure, n)
        assert self.sink is not None
        batch.submit(self.sink)
        batch.count(self.metrics, (dep.version.service, str(dep.version.number), dep.arm))
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
        states = self.router.states()
        # A service that cannot answer makes the gateway unready, unless it was switched off
        # on purpose (the kill switch): that is the operator's choice, not a failure.
        broken = any(s.status == "unavailable" and not s.disabled for s in states.values())
        return {
            "ready": self.ready and not broken,
            "models": sorted(d.ref for d in self.deployments.values() if d.unavailable is None),
            "services": {name: state.to_dict() for name, state in states.items()},
            "load_errors": dict(self.load_errors),
            "database_ok": self.database_ok,
            "log": dict(stats),
            "heartbeat": {
                "instance": self.ticks.instance,
                "tick_s": self.ticks.interval_s,
                "written": self.ticks.written,
                "pending": self.ticks.pending,
                "dropped": self.ticks.dropped,
            },
        }


def _nothing_answers(dep: Deployment, failed: Failure, reason: str) -> ModelUnavailableError:
    """The 503 at the end of the chain, saying why and what to do."""
    name = dep.version.service
    if failed.reason == "service_disabled" and dep.fallback is None:
        return ModelUnavailableError(
            f"{name} is disabled (the kill switch) and has no fallback, so it cannot answer",
            hint=f"`liveops service enable {name}`, or set decision.fallback for {name}",
            reason=reason,
        )
    if failed.reason == "version_unavailable":
        return ModelUnavailableError(
            f"{dep.ref} {dep.unavailable}, and it has no fallback that can answer ({reason})",
            hint=f"fix the version, point production at another (`liveops alias set {name} "
            "production N`), or set decision.fallback (rules or a version)",
            reason=reason,
        )
    return ModelUnavailableError(
        f"{dep.ref} cannot answer ({reason}) and has no fallback that can",
        hint="set decision.fallback (rules or a version) for this service",
        reason=reason,
    )


def _fut() -> asyncio.Future[Any]:
    return asyncio.get_running_loop().create_future()


def _expire(job: Job) -> None:
    """The timeout fired: take the job back unless its batch already committed it."""
    if claim(job, ABANDONED) and not job.future.done():
        job.future.set_exception(TimeoutError())
