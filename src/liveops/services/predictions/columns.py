"""Prediction records column-wise: how ``liveops batch`` hands a chunk's answers to the log.

A chunk's answers share their service, version, arm, source, request time and per-row latency,
so :class:`RecordColumns` holds those once and everything else as one sequence per column.
:func:`column_rows` turns it into the prediction table's columns, redacted and encoded, with no
per-row record object or row dictionary: the same values, column for column, as
:func:`~liveops.services.predictions.rows.record_rows` gives for the equivalent
:class:`~liveops.core.serving.prediction.PredictionRecord` s (a test holds the two together).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson

from liveops.core.project import LoggingSpec
from liveops.core.sensitive import Finding
from liveops.services.predictions.redaction import InputRedactor

__all__ = ["ABSENT", "RecordColumns", "column_rows"]

_TYPED_SEGMENTS = ("channel", "plan", "language")


class _Absent:
    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = _Absent()  # an input field a record does not have (a JSONL line without it)


@dataclass(frozen=True)
class RecordColumns:
    """Answers of one service and version, column-wise (one entry per record in each sequence).

    ``inputs`` holds each input field's raw values (:data:`ABSENT` where a record lacks the
    field), ``segments`` each segment field's values as text; ``scores`` one row of
    ``classes`` per record (None: the model gave no scores); ``cost`` one value for every
    record or one per record."""

    service: str
    version: int | None
    arm: str
    source: str
    ts: float  # the request time of every record (seconds since the epoch)
    latency_ms: float  # every record's share of the chunk's time
    prediction_ids: Sequence[str]
    inputs: Mapping[str, Sequence[Any]]
    labels: Sequence[str | None]
    decisions: Sequence[str]
    reasons: Sequence[str | None]
    fallbacks: Sequence[str | None]
    confidence: Sequence[float | None] | None = None
    classes: Sequence[str] = ()
    scores: Sequence[Sequence[float]] | None = None
    cost: float | Sequence[float | None] | None = None
    tokens_in: Sequence[int | None] | None = None
    tokens_out: Sequence[int | None] | None = None
    segments: Mapping[str, Sequence[str | None]] = field(default_factory=dict)
    # The built-in sensitive findings of input fields already scanned (every string of the
    # field, by position: one not in it has none), so that redaction does not scan again.
    findings: Mapping[str, Mapping[int, Sequence[Finding]]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.prediction_ids)


def column_rows(
    batch: RecordColumns,
    redactor: InputRedactor,
    services: Mapping[str, LoggingSpec],
    now: datetime,
) -> tuple[dict[str, Sequence[Any]], dict[str, Any], list[dict[str, Any]]]:
    """The prediction table's columns of ``batch``: those that vary by record (JSON columns as
    JSON text), those with one value for every record, and the raw-input rows (services that
    keep raw inputs)."""
    n = len(batch)
    service = batch.service
    inputs: dict[str, Sequence[Any]] = {}
    redactions = [0] * n
    for name, values in batch.inputs.items():
        _check(name, values, n)
        known = batch.findings.get(name)
        inputs[name], counts = redactor.redact_column(service, values, ABSENT, known)
        for i, c in counts.items():
            redactions[i] += c
    segments: dict[str, Sequence[str | None]] = {}
    for name, seg_values in batch.segments.items():
        _check(name, seg_values, n)
        segments[name], counts = redactor.redact_column(service, seg_values)
        for i, c in counts.items():
            redactions[i] += c
    rows: dict[str, Sequence[Any]] = {
        "prediction_id": batch.prediction_ids,
        "label": _cut_all(batch.labels, 200),
        "confidence": batch.confidence if batch.confidence is not None else [None] * n,
        "decision": _cut_all(batch.decisions, 32),
        "fallback": _cut_all(batch.fallbacks, 200),
        "reason": batch.reasons,
        "scores": _scores_json(batch, n),
        "inputs": _inputs_json(inputs, n),
        "redactions": redactions,
    }
    for key, per_row in (("tokens_in", batch.tokens_in), ("tokens_out", batch.tokens_out)):
        rows[key] = per_row if per_row is not None else [None] * n
    if isinstance(batch.cost, Sequence):
        rows["cost"] = batch.cost
    for name in _TYPED_SEGMENTS:
        rows[name] = _cut_all(segments[name], 64) if name in segments else [None] * n
    extra = {k: v for k, v in segments.items() if k not in _TYPED_SEGMENTS}
    rows["segments"] = _segments_json(extra, n)
    for name, values in rows.items():
        _check(name, values, n)
    constants: dict[str, Any] = {
        "service": service,
        "version": batch.version,
        "arm": _cut(batch.arm, 32) or "",
        "ts": datetime.fromtimestamp(batch.ts, UTC),
        "latency_ms": float(batch.latency_ms),
        "error": None,
        "caller": None,
        "logged_at": now,
        "source": _cut(batch.source, 16) or "live",
    }
    if not isinstance(batch.cost, Sequence):
        constants["cost"] = batch.cost
    # A column with one value throughout (no fallback in the chunk, say) is stored as one.
    for name in ("fallback", "reason", "confidence", "tokens_in", "tokens_out", "segments"):
        if rows[name].count(None) == n:
            constants[name] = None
            del rows[name]
    return rows, constants, _raw_rows(batch, services.get(service), n)


def _check(name: str, values: Sequence[Any], n: int) -> None:
    if len(values) != n:
        raise ValueError(f"column {name} has {len(values)} values for {n} records")


def _cut(value: str | None, n: int) -> str | None:
    return value if value is None or len(value) <= n else value[:n]


def _cut_all(values: Sequence[str | None], n: int) -> Sequence[str | None]:
    if max(map(len, filter(None, values)), default=0) <= n:
        return values
    return [_cut(v, n) for v in values]


def _inputs_json(inputs: Mapping[str, Sequence[Any]], n: int) -> list[str]:
    dumps, names = orjson.dumps, list(inputs)
    if not names:
        return ["{}"] * n
    columns = [inputs[k] for k in names]
    if not any(ABSENT in c for c in columns):
        rows = zip(*columns, strict=True)
        return [dumps(dict(zip(names, row, strict=True))).decode() for row in rows]
    return [
        dumps({k: v for k, v in zip(names, row, strict=True) if v is not ABSENT}).decode()
        for row in zip(*columns, strict=True)
    ]


def _scores_json(batch: RecordColumns, n: int) -> list[str]:
    if batch.scores is None or not batch.classes:
        return ["{}"] * n
    _check("scores", batch.scores, n)
    dumps, classes = orjson.dumps, list(batch.classes)
    return [dumps(dict(zip(classes, row, strict=True))).decode() for row in batch.scores]


def _segments_json(extra: Mapping[str, Sequence[str | None]], n: int) -> list[str | None]:
    if not extra:
        return [None] * n
    names, dumps = list(extra), orjson.dumps
    return [
        dumps(dict(zip(names, row, strict=True))).decode()
        for row in zip(*(extra[k] for k in names), strict=True)
    ]


def _raw_rows(batch: RecordColumns, spec: LoggingSpec | None, n: int) -> list[dict[str, Any]]:
    if spec is None or not spec.raw_inputs:
        return []
    expires = datetime.fromtimestamp(batch.ts, UTC) + timedelta(days=spec.raw_retention_days)
    names = list(batch.inputs)
    return [
        {
            "prediction_id": batch.prediction_ids[i],
            "service": batch.service,
            "inputs": {k: batch.inputs[k][i] for k in names if batch.inputs[k][i] is not ABSENT},
            "expires_at": expires,
        }
        for i in range(n)
    ]
