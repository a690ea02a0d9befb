"""The answer a caller gets and the record the prediction log keeps, built together.

Every path that answers (the model's batch, a fallback version's batch, the rules) adds its
answers to an :class:`AnswerBatch`, which builds each answer and its
:class:`~liveops.core.serving.prediction.PredictionRecord` from the same values, hands the
records to the log (durable in its spool) before any answer is returned, and counts decisions and
fallbacks in the gateway's metrics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from liveops.core.serving.prediction import PredictionRecord, PredictionSink
from liveops.errors import StoreUnavailableError
from liveops.services.serving.metrics import GatewayMetrics

__all__ = ["Answer", "AnswerBatch"]

Answer = dict[str, Any]


class AnswerBatch:
    """Answers and log records for one batch (or one fallback request), index-aligned."""

    __slots__ = ("counts", "now", "records")

    def __init__(self, now: float) -> None:
        self.now = now  # when the answers were made: the records' latency ends here
        self.records: list[PredictionRecord] = []
        # (decision, why it fell back or None) -> instances
        self.counts: dict[tuple[str, str | None], int] = {}

    def add(
        self,
        prediction_id: str,
        inputs: Mapping[str, Any],
        *,
        service: str,
        version: int | None,
        arm: str,
        ts: float,
        caller: str | None,
        segments: Mapping[str, str | None],
        label: str | None,
        decision: str,
        fallback: str | None,
        reason: str | None,
        fell_back_because: str | None,
        error: str | None = None,
        scores: Mapping[str, float] | None = None,
        confidence: float | None = None,
        cost: float | None = None,
        tokens_in: int | None = None,
        tokens_out: int | None = None,
        started: float | None = None,
    ) -> Answer:
        """The answer for one instance; its record is kept for :meth:`submit`.

        ``fell_back_because`` is the reason counted in ``liveops_fallbacks`` (None: not a
        fallback answer). ``started``: the wall-clock arrival, when ``ts`` is a request's own
        (overridden) time; the latency is measured from it."""
        scores = {} if scores is None else scores
        self.records.append(
            PredictionRecord(
                prediction_id=prediction_id,
                service=service,
                version=version,
                arm=arm,
                ts=ts,
                inputs=inputs,
                label=label,
                scores=scores,
                confidence=confidence,
                decision=decision,
                fallback=fallback,
                reason=reason,
                latency_ms=(self.now - (ts if started is None else started)) * 1000.0,
                cost=cost,
                tokens_in=tokens_in,
                tokens_out=tokens_out,
                error=error,
                caller=caller,
                segments=segments,
            )
        )
        key = (decision, fell_back_because)
        self.counts[key] = self.counts.get(key, 0) + 1
        return {
            "prediction_id": prediction_id,
            "label": label,
            "confidence": confidence,
            "scores": scores,
            "version": version,
            "decision": decision,
            "fallback": fallback,
            "reason": reason,
        }

    def submit(self, sink: PredictionSink) -> None:
        """Put the records in the log's spool; raises StoreUnavailableError (a 503) if not."""
        if not self.records:
            return
        try:
            sink.submit(self.records)
        except Exception as exc:
            raise StoreUnavailableError(
                f"the prediction log could not store the answers: {exc}",
                hint="check the gateway's spool folder (disk full? permissions?)",
            ) from exc

    def count(self, metrics: GatewayMetrics, labels: Sequence[str]) -> None:
        """Count the decisions and fallbacks under ``labels`` (service, version, arm)."""
        m = metrics
        for (decision, why), n in self.counts.items():
            m.child(m.predictions, *labels, decision).inc(n)
            if why:
                m.child(m.fallbacks, *labels, why.split(":")[0]).inc(n)
