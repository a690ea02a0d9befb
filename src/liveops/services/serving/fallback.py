"""The fallback chain's types: its steps, a failed attempt, and where failures are reported.

A request goes down one chain: the ``model`` (the version the route picked), then the
``fallback_version`` (``decision.fallback: SERVICE@N``), then the ``rules`` (``decision.rules``),
then a 503. Each step that cannot answer yields a :class:`Failure` with a reason code (the same
``code[:detail]`` the answer's ``reason`` carries); :class:`ChainFailures` counts every one in
``liveops_fallback_chain_failures{service, version, step, reason}`` and logs it, so no failure
is swallowed. The gateway (:mod:`liveops.services.serving.gateway`) walks the chain; the
deployment reports the failures of the decision layer's own fallback calls here too.

>>> from liveops.services.serving.metrics import GatewayMetrics
>>> failures = ChainFailures(GatewayMetrics())
>>> f = Failure("model", "router@2", "model_error:RuntimeError", "model_error", "boom")
>>> failures.record("router", 2, f)
>>> failures.record("router", 2, f)  # counted again, not logged again (see LOG_EVERY_S)
>>> failures.metrics.chain_failures.labels("router", "2", "model", "model_error")._value.get()
2.0
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Literal

from liveops.services.serving.metrics import GatewayMetrics

__all__ = ["LOG_EVERY_S", "ChainFailures", "Failure", "Step"]

log = logging.getLogger("liveops.gateway")

Step = Literal["model", "fallback_version", "rules"]
LOG_EVERY_S = 60.0  # a failure that repeats (every request of an outage) is logged this often


@dataclass(frozen=True, slots=True)
class Failure:
    """One step of the chain that could not answer, and why.

    ``reason`` is what the answer's ``reason`` carries (``model_timeout``,
    ``model_error:RuntimeError``, ``circuit_open``, ``service_disabled``,
    ``version_unavailable``, ``fallback_error:KeyError``, ``fallback_no_answer``); ``error`` is
    the prediction record's ``error`` code (None when the step was skipped rather than failed);
    ``detail`` is for the log (the exception's message, the load error).
    """

    step: Step
    target: str  # what was asked: a version reference or the rules entry point
    reason: str
    error: str | None = None
    detail: str | None = None

    @property
    def code(self) -> str:
        """The reason without its detail: the metric's label (a bounded set)."""
        return self.reason.split(":", 1)[0]


class ChainFailures:
    """Counts and logs :class:`Failure` s; safe to call from the loop and worker threads.

    Every failure is counted; each distinct (service, version, step, reason) is logged when
    first seen and then at most once per :data:`LOG_EVERY_S` with how many followed, so an
    outage under load writes a few lines, not one per request.
    """

    def __init__(self, metrics: GatewayMetrics) -> None:
        self.metrics = metrics
        self._lock = threading.Lock()
        # key -> (when last logged, failures since)
        self._logged: dict[tuple[str, int, str, str], tuple[float, int]] = {}

    def record(self, service: str, version: int, failure: Failure, n: int = 1) -> None:
        m = self.metrics
        m.child(m.chain_failures, service, str(version), failure.step, failure.code).inc(n)
        key = (service, version, failure.step, failure.reason)
        now = time.monotonic()
        with self._lock:
            last = self._logged.get(key)
            if last is not None and now - last[0] < LOG_EVERY_S:
                self._logged[key] = (last[0], last[1] + n)
                return
            self._logged[key] = (now, 0)
        more = f" ({last[1]} more since the last report)" if last is not None and last[1] else ""
        log.warning(
            "%s@%d: the %s step (%s) could not answer: %s%s%s",
            service,
            version,
            failure.step.replace("_", " "),
            failure.target,
            failure.reason,
            f": {failure.detail}" if failure.detail else "",
            more,
        )
