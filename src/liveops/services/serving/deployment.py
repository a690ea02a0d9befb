"""One loaded version in the gateway: its batcher, circuit breaker and (for some) worker thread.

A batch runs on the event loop (artifact models) or in the version's worker thread (entry-point
models; ``serving: {model_runs_on: ...}`` chooses): the model,
:func:`~liveops.core.serving.decision.decide`, the prediction records handed to the log (durable in
its spool), and only then the answers go back to the caller. A job whose caller timed out
meanwhile is skipped (its caller answers from the fallback), so no prediction is both answered
and logged twice.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from liveops.core.project import ServingSpec
from liveops.core.serving.breaker import CircuitBreaker
from liveops.core.serving.decision import decide
from liveops.core.serving.prediction import PredictionSink
from liveops.errors import LiveopsError
from liveops.services.serving.answers import AnswerBatch
from liveops.services.serving.batching import TAKEN, Batcher, Job, claim
from liveops.services.serving.fallback import ChainFailures, Failure
from liveops.services.serving.loading import ServedService, ServingVersion
from liveops.services.serving.metrics import GatewayMetrics

DEFAULT_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ServeOptions:
    """Settings from the command line; ``None`` means the service's ``serving:`` block."""

    max_batch_size: int | None = None
    max_wait_ms: float | None = None
    max_queue: int | None = None
    poll_s: float = 0.5
    body_limit: int = 1_000_000
    tick_s: float = 10.0  # the heartbeat: one gateway_ticks row per interval
    # Requests may carry their time (the X-Liveops-Time header); the gateway's clock follows.
    allow_time_override: bool = False
    # The alias this gateway serves: production, or e.g. staging for a release's smoke test.
    alias: str = "production"
    # Requests need an API key (docs/access.md); `liveops serve --no-auth` (loopback only) not.
    auth: bool = True
    # The default per-key rate limit (requests per second, a token bucket of `key_burst`); a
    # key's own rate wins. None: no limit but the key's own.
    key_rate: float | None = None
    key_burst: float | None = None

    def serving(self, spec: ServingSpec) -> ServingSpec:
        over = {
            k: v
            for k, v in (
                ("max_batch_size", self.max_batch_size),
                ("max_wait_ms", self.max_wait_ms),
                ("max_queue", self.max_queue),
            )
            if v is not None
        }
        return spec.model_copy(update=over) if over else spec


@dataclass(frozen=True)
class FallbackFor:
    """A job sent to a fallback version on behalf of ``primary``."""

    primary: Deployment
    reason: str
    error: str | None


class ModelFailure(Exception):
    """The model raised (wrapped so that it is not mistaken for a log failure)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.cause = cause


class Deployment:
    """One loaded version with its worker thread, batcher and circuit breaker."""

    def __init__(
        self,
        version: ServingVersion,
        service: ServedService,
        sink: PredictionSink,
        failures: ChainFailures,
        serving: ServingSpec,
    ) -> None:
        self.version = version
        self.service = service
        self.sink = sink
        self.failures = failures
        metrics: GatewayMetrics = failures.metrics
        self.metrics = metrics
        self.fallback: Deployment | None = None
        # Why this version cannot answer (it failed to load); the chain skips it when set.
        self.unavailable: str | None = version.load_error
        self.arm = "production"
        timeout_ms = version.settings.timeout_ms
        self.timeout_s = timeout_ms / 1000.0 if timeout_ms else DEFAULT_TIMEOUT_S
        self.breaker = CircuitBreaker(
            failures=serving.breaker_failures,
            reset_after_s=serving.breaker_reset_s,
            clock=time.monotonic,
        )
        on_thread = serving.model_runs_on == "thread" or (
            serving.model_runs_on == "auto" and version.artifact_format == "entrypoint"
        )
        self.executor: ThreadPoolExecutor | None = (
            ThreadPoolExecutor(1, thread_name_prefix=f"model-{version.ref}") if on_thread else None
        )
        labels = (version.service, str(version.number))
        self.batcher = Batcher(
            self.run_batch,
            self.executor,
            max_batch=serving.max_batch_size,
            max_wait_s=serving.max_wait_ms / 1000.0,
            max_queue=serving.max_queue,
            # looked up per batch: the arm is set after construction and may change
            on_batch=lambda n: metrics.child(metrics.batch_size, *labels, self.arm).observe(n),
        )

    @property
    def ref(self) -> str:
        return self.version.ref

    # --- in the worker thread ------------------------------------------------------------

    def run_batch(self, jobs: list[Job]) -> list[Any]:
        own = [j for j in jobs if j.extra is None]
        for_others = [j for j in jobs if j.extra is not None]
        results: dict[int, Any] = {}
        if own:
            results.update(self._answer(own, as_fallback=False))
        if for_others:
            results.update(self._answer(for_others, as_fallback=True))
        return [results[id(j)] for j in jobs]

    def _answer(self, jobs: list[Job], *, as_fallback: bool) -> dict[int, Any]:
        records = [r for j in jobs for r in j.records]
        try:
            out = self.version.model.predict_batch(records)
            if len(out) != len(records):
                raise ValueError(f"answered {len(out)} labels for {len(records)} records")
            if not as_fallback:
                decided = decide(
                    records,
                    out,
                    self.version.settings,
                    rules=self.version.rules,
                    text_fields=self.service.text_fields,
                )
                if decided.needs_fallback_version:
                    decided = decided.resolve_fallback(self._fallback_labels(records, decided))
        except Exception as exc:
            failure = ModelFailure(exc)
            return {id(j): failure for j in jobs}
        has_scores = out.scores is not None and bool(out.classes)
        conf = out.confidence() if has_scores else None
        v = self.version
        batch = AnswerBatch(time.time())
        answers: dict[int, Any] = {}
        primary = jobs[0].extra.primary if as_fallback else self
        i = 0
        for job in jobs:
            n = len(job.records)
            if not claim(job, TAKEN):
                i += n
                continue  # timed out: its caller answers from the fallback
            job_answers = []
            for k in range(n):
                fallback: str | None
                if as_fallback:
                    label: str | None = out.labels[i]
                    decision, fallback = "fallback", v.ref
                    reason: str | None = f"{job.extra.reason};fallback:{v.ref}"
                    error, why = job.extra.error, job.extra.reason
                else:
                    label, decision = decided.labels[i], decided.decisions[i]
                    reason, error = decided.reasons[i], None
                    fallback = v.settings.fallback if decided.fallback_used[i] else None
                    why = reason.split(";")[0] if fallback and reason else None
                    if reason is not None and "fallback_" in reason:
                        self._rules_failed(reason, decided.fallback_target)
                    if job.shadow_of is not None:
                        pair = f"shadow_of:{job.shadow_of[k]}"
                        reason = f"{reason};{pair}" if reason else pair
                job_answers.append(
                    batch.add(
                        job.ids[k],
                        job.records[k],
                        service=primary.version.service,
                        version=primary.version.number,
                        arm=primary.arm,
                        ts=job.ts,
                        started=job.t0,
                        caller=job.caller,
                        segments=primary.segments_of(job.records[k]),
                        label=label,
                        decision=decision,
                        fallback=fallback,
                        reason=reason,
                        fell_back_because=why,
                        error=error,
                        scores=out.scores_of(i) if has_scores else None,
                        confidence=float(conf[i]) if conf is not None else None,
                        cost=v.cost if out.cost is None else float(out.cost[i]),
                        tokens_in=None if out.tokens_in is None else int(out.tokens_in[i]),
                        tokens_out=None if out.tokens_out is None else int(out.tokens_out[i]),
                    )
                )
                i += 1
            answers[id(job)] = job_answers
        try:
            batch.submit(self.sink)
        except LiveopsError as failed:
            return {id(j): failed for j in jobs}
        batch.count(
            self.metrics, (primary.version.service, str(primary.version.number), primary.arm)
        )
        return answers

    def _fallback_labels(self, records: Sequence[Mapping[str, Any]], decided: Any) -> list[Any]:
        """Answers of the fallback version for the records the decision sent to it; None for
        each when it cannot answer (counted and logged here; the decision then holds them for
        review with reason ``fallback_no_answer``)."""
        n = len(decided.needs_fallback_version)
        fb = self.fallback
        target = decided.fallback_target or "?"
        if fb is None or fb.unavailable is not None:
            why = "not loaded" if fb is None else fb.unavailable
            self.failures.record(
                self.version.service,
                self.version.number,
                Failure("fallback_version", target, "version_unavailable", detail=why),
                n,
            )
            return [None] * n
        try:
            out = fb.version.model.predict_batch(
                [records[i] for i in decided.needs_fallback_version]
            )
        except Exception as exc:
            failure = Failure(
                "fallback_version",
                fb.ref,
                f"model_error:{type(exc).__name__}",
                "model_error",
                str(exc),
            )
            self.failures.record(self.version.service, self.version.number, failure, n)
            return [None] * n
        return list(out.labels)

    def _rules_failed(self, reason: str, fallback_target: str | None) -> None:
        """Count a rules fallback that raised or gave no answer (the decision layer caught it
        and put it in the reason); a version fallback's failures are counted where they
        happen (:meth:`_fallback_labels`)."""
        code = reason.split(";")[0]
        if fallback_target is None and code.startswith("fallback_"):
            rules = self.version.settings.rules or "rules"
            self.failures.record(
                self.version.service, self.version.number, Failure("rules", rules, code)
            )

    def segments_of(self, record: Mapping[str, Any]) -> dict[str, str | None]:
        return {
            f: (None if record.get(f) is None else str(record.get(f)))
            for f in self.service.segment_fields
        }

    def close(self) -> None:
        self.batcher.close()
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
