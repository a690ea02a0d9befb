"""The prediction log's table rows of :class:`PredictionRecord` s, redacted, cut to the columns'
sizes, and the raw-input rows of services that keep raw inputs: what the log writer and
:class:`~liveops.services.predictions.direct.DirectLog` insert."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from liveops.core.project import LoggingSpec
from liveops.core.serving.prediction import PredictionRecord
from liveops.services.predictions.redaction import InputRedactor

__all__ = ["record_rows"]

_TYPED_SEGMENTS = ("channel", "plan", "language")


def _cut(value: str | None, n: int) -> str | None:
    return value if value is None or len(value) <= n else value[:n]


def record_rows(
    records: Sequence[tuple[PredictionRecord, int | None]],
    redactor: InputRedactor,
    services: Mapping[str, LoggingSpec],
    now: datetime,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The table rows of ``records`` (each with its redaction count, None: not redacted yet,
    so redacted here), and the raw-input rows of services that keep raw inputs."""
    rows: list[dict[str, Any]] = []
    raw_rows: list[dict[str, Any]] = []
    times = _Times()
    for r, redactions in records:
        rows.append(_row(r, redactions, now, redactor, times))
        if redactions is not None:
            continue  # redacted by the gateway: its raw input (if kept) is in the raw spool
        # Spooled unredacted by an older version: the raw input comes from the record.
        spec = services.get(r.service)
        if spec is not None and spec.raw_inputs:
            ts = datetime.fromtimestamp(r.ts, UTC)
            raw_rows.append(
                {
                    "prediction_id": r.prediction_id,
                    "service": r.service,
                    "inputs": dict(r.inputs),
                    "expires_at": ts + timedelta(days=spec.raw_retention_days),
                }
            )
    return rows, raw_rows


class _Times:
    """A record's ``ts`` as a datetime: the records of one batch often share one."""

    __slots__ = ("last", "value")

    def __init__(self) -> None:
        self.last: float | None = None
        self.value = datetime.fromtimestamp(0, UTC)

    def __call__(self, ts: float) -> datetime:
        if ts != self.last:
            self.last, self.value = ts, datetime.fromtimestamp(ts, UTC)
        return self.value


def _row(
    r: PredictionRecord,
    redactions: int | None,
    now: datetime,
    redactor: InputRedactor,
    times: _Times,
) -> dict[str, Any]:
    inputs, segments, caller = dict(r.inputs), dict(r.segments), r.caller
    if redactions is None:
        inputs, redactions = redactor.redact(r.service, r.inputs)
        # Segments come from the inputs and the caller from a header: both are stored, so
        # both are redacted like the input (an e-mail address sent as `language`, say).
        segments, n_segments = redactor.redact(r.service, r.segments)
        redactions += n_segments
        if caller is not None:
            masked_caller, n_caller = redactor.redact(r.service, {"caller": caller})
            caller, redactions = masked_caller["caller"], redactions + n_caller
    extra = {k: v for k, v in segments.items() if k not in _TYPED_SEGMENTS}
    return {
        "prediction_id": r.prediction_id,
        "service": r.service,
        "version": r.version,
        "arm": _cut(r.arm, 32) or "",
        "ts": times(r.ts),
        "label": _cut(r.label, 200),
        "confidence": r.confidence,
        "decision": _cut(r.decision, 32) or "",
        "fallback": _cut(r.fallback, 200),
        "reason": r.reason,
        "latency_ms": float(r.latency_ms),
        "cost": r.cost,
        "tokens_in": r.tokens_in,
        "tokens_out": r.tokens_out,
        "error": _cut(r.error, 200),
        "caller": _cut(caller, 200),
        "channel": _cut(segments.get("channel"), 64),
        "plan": _cut(segments.get("plan"), 64),
        "language": _cut(segments.get("language"), 64),
        "segments": extra or None,
        "scores": dict(r.scores),
        "inputs": inputs,
        "redactions": redactions,
        "logged_at": now,
        "source": _cut(r.source, 16) or "live",
    }
