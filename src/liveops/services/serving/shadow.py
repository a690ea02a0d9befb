"""Shadow copies: a rollout's shadow arm answers copies of served requests, after served work.

A copy is made when a served answer is ready, off the response path, and it is **strictly lower
priority** than served work: it is dropped (and counted in
``liveops_shadow_copies_total{outcome="dropped", reason=...}``) whenever something a served
answer waits for is busy, judged at the moment of the copy by what is cheap to read:

- ``loop_lag``: the event loop is late while other served requests are being answered. A
  :class:`LagProbe` (a callback every few milliseconds that measures its own lateness) says
  how late the loop ran lately, or is running now;
- ``served_queue``: records of served versions (every arm but shadow) queued for, or inside,
  a model call;
- ``log_backlog``: the prediction log's writer is behind (rows spooled but not yet stored; read
  by the poller from the log's stats). The log stores rows in the order they were spooled, so
  shadow rows never pile up in front of served ones beyond about one writer batch;
- ``in_flight`` / ``candidate_queue``: more than ``max_in_flight`` copies are out, or the
  candidate's own queue is half full;
- ``unavailable`` / ``circuit_open``: the candidate cannot answer.

A taken copy is queued on the candidate's batcher with its own timeout and a callback (no task
per copy). :class:`ShadowPolicy` is the decision alone, on injected signals, so it is tested
without a clock or a loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from liveops.core.serving.prediction import new_prediction_id
from liveops.core.serving.routing import Route
from liveops.errors import LiveopsError, OverloadedError
from liveops.services.serving.answers import Answer
from liveops.services.serving.batching import ABANDONED, Job, claim
from liveops.services.serving.deployment import Deployment, ModelFailure
from liveops.services.serving.metrics import GatewayMetrics

__all__ = ["LagProbe", "ShadowCopier", "ShadowLimits", "ShadowPolicy"]

Key = tuple[str, int]


@dataclass(frozen=True)
class ShadowLimits:
    """When a shadow copy is dropped rather than queued."""

    max_lag_s: float = 0.002  # the event loop later than this: served requests wait for it
    max_served_records: int = 0  # served records queued or in a model call: 0 = none may wait
    max_log_backlog: float = 2000.0  # log rows not yet stored (about one writer batch)
    max_in_flight: int = 256  # shadow copies out at once
    candidate_queue_share: float = 0.5  # of the candidate's max_queue


class ShadowPolicy:
    """Whether a copy is taken now: ``None``, or the reason it is dropped.

    Each signal is a function read at the moment of the copy (the cheap ones first):

    >>> lag, records, requests, backlog = [0.0], [0], [0], [0.0]
    >>> policy = ShadowPolicy(
    ...     ShadowLimits(),
    ...     lambda: lag[0],
    ...     lambda: records[0],
    ...     lambda: requests[0],
    ...     lambda: backlog[0],
    ... )
    >>> policy.reason(in_flight=0, depth=0, max_queue=100, n=1) is None
    True
    >>> records[0] = 3
    >>> policy.reason(in_flight=0, depth=0, max_queue=100, n=1)
    'served_queue'
    >>> records[0], lag[0] = 0, 0.010  # a late loop with no served request out: taken
    >>> policy.reason(in_flight=0, depth=0, max_queue=100, n=1) is None
    True
    >>> requests[0] = 1
    >>> policy.reason(in_flight=0, depth=0, max_queue=100, n=1)
    'loop_lag'
    """

    def __init__(
        self,
        limits: ShadowLimits,
        lag_s: Callable[[], float],
        served_records: Callable[[], int],
        served_requests: Callable[[], int],
        log_backlog: Callable[[], float],
    ) -> None:
        self.limits = limits
        self._lag_s = lag_s
        self._records = served_records
        self._requests = served_requests
        self._backlog = log_backlog

    def reason(self, *, in_flight: int, depth: int, max_queue: int, n: int) -> str | None:
        """Why a copy of ``n`` records is dropped, with ``in_flight`` copies out and the
        candidate's queue at ``depth`` of ``max_queue``; None: take it."""
        lim = self.limits
        if in_flight >= lim.max_in_flight:
            return "in_flight"
        if depth + n > max_queue * lim.candidate_queue_share:
            return "candidate_queue"
        if self._records() > lim.max_served_records:
            return "served_queue"
        # A late loop delays the served requests out now (and those unread in the sockets);
        # with none out (a quiet gateway on a busy machine) the copy delays no one.
        if self._lag_s() > lim.max_lag_s and self._requests() > 0:
            return "loop_lag"
        if self._backlog() > lim.max_log_backlog:
            return "log_backlog"
        return None


class LagProbe:
    """How late the event loop runs: a callback every ``interval_s`` that measures its own
    lateness. :meth:`lag_s` is the larger of how overdue the next callback is now (the loop is
    busy at this moment) and the lateness of a callback in the last ``hold_s``, once it was
    above ``threshold_s`` (so one punctual tick does not hide a congested loop)."""

    def __init__(
        self, interval_s: float = 0.005, threshold_s: float = 0.002, hold_s: float = 0.05
    ) -> None:
        self.interval_s = interval_s
        self.threshold_s = threshold_s
        self.hold_s = hold_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._due = 0.0
        self._late = 0.0  # the latest lateness above the threshold ...
        self._late_until = 0.0  # ... counts until then
        self._handle: asyncio.TimerHandle | None = None
        self._stopped = False
        self.ticks = 0
        self.late_ticks = 0
        self.max_late_s = 0.0  # since the last read of take_max()

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start ticking on ``loop`` (call on the loop's thread or before it runs)."""
        self._loop = loop
        self._due = loop.time() + self.interval_s
        self._handle = loop.call_at(self._due, self._tick)

    def stop(self) -> None:
        """No more ticks (safe from any thread: the next tick sees the flag)."""
        self._stopped = True

    def _tick(self) -> None:
        if self._stopped or self._loop is None:
            return
        now = self._loop.time()
        self.observe(now - self._due, now)
        self._due = now + self.interval_s
        self._handle = self._loop.call_at(self._due, self._tick)

    def observe(self, late_s: float, now: float) -> None:
        """Record one tick that ran ``late_s`` after it was due, at ``now`` (loop time)."""
        self.ticks += 1
        self.max_late_s = max(self.max_late_s, late_s)
        if late_s > self.threshold_s:
            self.late_ticks += 1
            self._late, self._late_until = late_s, now + self.hold_s

    def lag_s(self) -> float:
        """How late the loop runs now (0 when the probe is not running)."""
        if self._loop is None or self._stopped:
            return 0.0
        now = self._loop.time()
        recent = self._late if now < self._late_until else 0.0
        return max(now - self._due, recent)

    def take_max(self) -> float:
        """The largest lateness since the last call (for a gauge), and reset it."""
        out, self.max_late_s = self.max_late_s, 0.0
        return out


class ShadowCopier:
    """Queues copies of served requests on a route's shadow arms, or drops and counts them."""

    def __init__(
        self,
        metrics: GatewayMetrics,
        deployments: Callable[[], Mapping[Key, Deployment]],
        limits: ShadowLimits | None = None,
        probe: LagProbe | None = None,
        served_requests: Callable[[], int] = lambda: 0,
        log_backlog: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self.metrics = metrics
        self._deployments = deployments
        self.limits = limits or ShadowLimits()
        self.probe = probe or LagProbe(threshold_s=self.limits.max_lag_s)
        self.policy = ShadowPolicy(
            self.limits, self.probe.lag_s, self._served, served_requests, log_backlog
        )
        self.in_flight = 0

    def _served(self) -> int:
        return served_records(self._deployments().values())

    def copy(
        self,
        route: Route,
        u: float,
        instances: list[dict[str, Any]],
        answers: list[Answer],
        now: float,
        caller: str | None,
    ) -> None:
        """A copy for each shadow arm whose share takes this request (draw ``u``)."""
        m = self.metrics
        for arm in route.shadow_arms:
            if u >= arm.weight:
                continue
            dep = self._deployments().get((route.service, arm.version))
            labels = (route.service, str(arm.version))
            why = self._refused(dep, len(instances))
            if why is not None or dep is None:
                m.child(m.shadow, *labels, "dropped", why or "unavailable").inc()
                continue
            served = [a["prediction_id"] for a in answers]
            ids = [new_prediction_id(now) for _ in instances]
            loop = asyncio.get_running_loop()
            future = loop.create_future()
            job = Job(instances, ids, now, caller, future, t0=time.time(), shadow_of=served)
            try:
                dep.batcher.submit(job)
            except OverloadedError:
                m.child(m.shadow, *labels, "dropped", "candidate_queue").inc()
                continue
            self.in_flight += 1
            timer = loop.call_later(dep.timeout_s, _expire, job)
            future.add_done_callback(partial(self._done, dep=dep, timer=timer, labels=labels))

    def _refused(self, dep: Deployment | None, n: int) -> str | None:
        if dep is None or dep.unavailable is not None:
            return "unavailable"
        if not dep.breaker.allow():
            return "circuit_open"
        b = dep.batcher
        return self.policy.reason(
            in_flight=self.in_flight, depth=b.depth, max_queue=b.max_queue, n=n
        )

    def _done(
        self,
        future: asyncio.Future[Any],
        dep: Deployment,
        timer: asyncio.TimerHandle,
        labels: tuple[str, str],
    ) -> None:
        timer.cancel()
        self.in_flight -= 1
        m = self.metrics
        exc = None if future.cancelled() else future.exception()
        if future.cancelled():
            m.child(m.shadow, *labels, "dropped", "cancelled").inc()
        elif exc is None:
            m.child(m.shadow, *labels, "answered", "").inc()
        elif isinstance(exc, TimeoutError | ModelFailure | LiveopsError):
            dep.breaker.record_failure()
            why = "timeout" if isinstance(exc, TimeoutError) else "model_error"
            if isinstance(exc, LiveopsError):
                why = "log"
            m.child(m.shadow, *labels, "failed", why).inc()
        else:
            m.child(m.shadow, *labels, "failed", type(exc).__name__).inc()


def served_records(deployments: Iterable[Deployment]) -> int:
    """Records of served versions (every arm but shadow) queued for or inside a model call."""
    return sum(d.batcher.depth + d.batcher.running for d in deployments if d.arm != "shadow")


def _expire(job: Job) -> None:
    """The copy's timeout fired: take it back unless its batch already committed it."""
    if claim(job, ABANDONED) and not job.future.done():
        job.future.set_exception(TimeoutError())
