"""``liveops feedback import``: labels (and outcomes) in bulk, from a CSV or JSONL file.

For teams whose labels arrive from a ticketing system. Each row gets the checks of
``POST /v1/feedback`` (a prediction id that is in the log, a label the service declares or
allows, a source of 1-200 characters) and the same superseding: the newest label from a source
replaces the older one, which stays as history; the same label again is ``unchanged``, so
importing a file twice stores it once. Rows with an ``outcome`` column (and an optional
``value``) are outcome events (see :mod:`~liveops.services.predictions.outcomes`).

Rows are checked and stored in chunks, one transaction per chunk (on PostgreSQL the chunk's
per-prediction advisory locks are taken in key order, so an import and the gateway's feedback
never deadlock). A bad row is rejected with its reason and never stops the import; a file that
cannot be read (or lacks the columns) stores nothing. Only predictions the database holds can
get labels here: an answer still in a gateway's spool is rejected (import it again later).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from liveops.core.clock import Clock, SystemClock
from liveops.core.project import ServiceSpec
from liveops.core.serving.prediction import new_prediction_id
from liveops.errors import DatasetFileError, InvalidInputError, ServiceNotFound
from liveops.services.predictions.feedback import _ULID
from liveops.services.predictions.outcomes import apply_outcome, check_outcome
from liveops.services.registry import get_service_spec
from liveops.store import Store

__all__ = ["ImportReport", "Rejected", "import_feedback", "import_feedback_rows", "read_rows"]

CHUNK = 2000
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Rejected:
    """A row that was not stored: ``reason`` a short code (``unknown_prediction``,
    ``unknown_label``, ``bad_id``, ``bad_time``, ...), ``message`` the detail; ``line`` 1 is
    the first data row."""

    line: int
    reason: str
    message: str
    row: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "reason": self.reason,
            "message": self.message,
            "row": dict(self.row),
        }


class _Bad(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class ImportReport:
    """What an import did: rows stored (``accepted``, of which ``superseded`` replaced an older
    label), rows already stored (``unchanged``) and rows rejected with their reasons."""

    path: str
    rows: int = 0
    accepted: int = 0
    superseded: int = 0
    unchanged: int = 0
    overridden: int = 0  # rows replaced by a later row of the file (same answer and source)
    outcomes: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    rejects_file: str | None = None

    def to_dict(self) -> dict[str, Any]:
        reasons: dict[str, int] = {}
        for r in self.rejected:
            reasons[r.reason] = reasons.get(r.reason, 0) + 1
        return {
            "path": self.path,
            "rows": self.rows,
            "accepted": self.accepted,
            "superseded": self.superseded,
            "unchanged": self.unchanged,
            "overridden": self.overridden,
            "outcomes": self.outcomes,
            "rejected": len(self.rejected),
            "rejected_by_reason": reasons,
            "rejects_file": self.rejects_file,
            "rejects": [r.to_dict() for r in self.rejected],
        }


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a CSV (with a header) or JSONL (one object a line) file.

    Raises :class:`~liveops.errors.DatasetFileError` (exit 4) when the file cannot be read or
    has no ``prediction_id`` column, or neither ``label`` nor ``outcome``."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetFileError(
            f"cannot read {path}: {exc.strerror or exc}",
            hint="check the path; the file is a CSV with a header or JSONL (one object a line)",
        ) from None
    jsonl = path.suffix.lower() in (".jsonl", ".ndjson", ".json")
    try:
        rows = _jsonl(data) if jsonl else _csv(data)
    except (ValueError, csv.Error) as exc:
        raise DatasetFileError(
            f"cannot parse {path} as {'JSONL' if jsonl else 'CSV'}: {exc}",
            hint="a CSV needs a header row and UTF-8 text; JSONL one JSON object per line",
        ) from None
    columns = set().union(*(r.keys() for r in rows)) if rows else set()
    if rows and ("prediction_id" not in columns or not columns & {"label", "outcome"}):
        raise DatasetFileError(
            f"{path} has columns {', '.join(sorted(columns))}: it needs prediction_id and "
            "label (or outcome)",
            hint="columns: prediction_id, label, optional time (ISO-8601) and source; "
            "or prediction_id, outcome, optional value",
        )
    return rows


def _csv(data: bytes) -> list[dict[str, Any]]:
    text = data.decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is None:
        return []
    # Empty cells are missing values, as in a JSONL file that leaves the key out.
    return [{k: v for k, v in row.items() if k and v not in ("", None)} for row in reader]


def _jsonl(data: bytes) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"line {n}: {exc}") from None
        if not isinstance(obj, dict):
            raise ValueError(f"line {n}: not a JSON object")
        rows.append(obj)
    return rows


def import_feedback(
    store: Store,
    path: Path,
    *,
    source: str = "import",
    clock: Clock | None = None,
    chunk: int = CHUNK,
    progress: Progress | None = None,
    rejects_file: Path | None = None,
) -> ImportReport:
    """Import the labels and outcomes of ``path``; rejected rows go to ``rejects_file``
    (JSONL: line, reason, row) when there are any.

    ``source`` is used for rows without a ``source`` column; a row without ``time`` gets the
    clock's time."""
    report = import_feedback_rows(
        store,
        read_rows(path),
        name=str(path),
        source=source,
        clock=clock,
        chunk=chunk,
        progress=progress,
    )
    if rejects_file is not None:
        if report.rejected:
            with rejects_file.open("wb") as f:
                for r in report.rejected:
                    f.write(orjson.dumps(r.to_dict(), default=str) + b"\n")
            report.rejects_file = str(rejects_file)
        else:
            rejects_file.unlink(missing_ok=True)  # a stale one would describe another run
    return report


def import_feedback_rows(
    store: Store,
    rows: Sequence[Mapping[str, Any]],
    *,
    name: str = "rows",
    source: str = "import",
    clock: Clock | None = None,
    chunk: int = CHUNK,
    progress: Progress | None = None,
) -> ImportReport:
    """:func:`import_feedback` on rows already read (``prediction_id``, ``label`` or
    ``outcome``, optional ``time``, ``source``, ``value``), with the same checks: what a
    program that batches labels (a ticketing system's export, a simulation) calls."""
    report = ImportReport(name, rows=len(rows))
    now = (clock or SystemClock()).now()
    checked: dict[tuple[str, str, str], _Row] = {}
    for i, raw in enumerate(rows):
        try:
            row = _check_row(i + 1, raw, source, now)
        except _Bad as bad:
            report.rejected.append(Rejected(i + 1, bad.reason, bad.message, raw))
            continue
        # The file's last word counts: an earlier row for the same answer, source and kind is
        # dropped, so a file that corrects itself imports the same way twice.
        key = (row.pid, row.source, row.outcome or "")
        if checked.pop(key, None) is not None:
            report.overridden += 1
        checked[key] = row
    todo = sorted(checked.values(), key=lambda r: r.line)
    specs: dict[str, ServiceSpec | None] = {}
    before = len(rows) - len(todo)
    for start in range(0, len(todo), chunk):
        part = todo[start : start + chunk]
        _import_chunk(store, part, specs, report)
        if progress is not None:
            progress(before + start + len(part), len(rows))
    if not todo and progress is not None:
        progress(len(rows), len(rows))
    report.rejected.sort(key=lambda r: r.line)
    return report


@dataclass
class _Row:
    line: int
    raw: Mapping[str, Any]
    pid: str
    source: str
    created_at: datetime
    label: str | None = None
    outcome: str | None = None
    value: float | None = None


def _import_chunk(
    store: Store,
    checked: Sequence[_Row],
    specs: dict[str, ServiceSpec | None],
    report: ImportReport,
) -> None:
    fstore = store.predictions
    # A logged prediction never changes service, so these reads may precede the transaction
    # (an in-memory SQLite database has one connection: no read can run inside it).
    services = fstore.services_of([r.pid for r in checked])
    for name in set(services.values()) - set(specs):
        try:
            specs[name] = get_service_spec(store, name)
        except ServiceNotFound:
            specs[name] = None  # a service no longer applied: nothing to check against
    with fstore.feedback_bulk_tx([r.pid for r in checked]) as conn:
        current = fstore.current_feedback_many(conn, list(services), "label")
        inserts: list[dict[str, Any]] = []
        supersede: list[tuple[str, str]] = []
        outcomes: list[_Row] = []
        for r in checked:
            service = services.get(r.pid)
            if service is None:
                report.rejected.append(_missing(r))
                continue
            if r.outcome is not None:
                outcomes.append(r)
                continue
            try:
                new_label = _label_is_new(specs[service], service, str(r.label))
            except InvalidInputError as exc:
                report.rejected.append(Rejected(r.line, "unknown_label", exc.message, r.raw))
                continue
            key = (r.pid, r.source)
            old = current.get(key)
            if old is not None and old["value"] == r.label:
                report.unchanged += 1
                continue
            fid = new_prediction_id(r.created_at.timestamp())
            row: dict[str, Any] = {
                "id": fid,
                "prediction_id": r.pid,
                "source": r.source,
                "kind": "label",
                "value": r.label,
                "rating": None,
                "comment": None,
                "created_at": r.created_at,
                "superseded_by": None,
                "new_label": new_label,
            }
            inserts.append(row)
            if old is not None:
                supersede.append((str(old["id"]), fid))
                report.superseded += 1
            current[key] = row
            report.accepted += 1
        fstore.insert_feedback_many(conn, inserts)
        fstore.supersede_feedback_many(conn, supersede)
    for r in outcomes:  # rare next to labels: one short transaction each
        result = apply_outcome(
            store,
            {
                "id": new_prediction_id(r.created_at.timestamp()),
                "prediction_id": r.pid,
                "source": r.source,
                "outcome": r.outcome,
                "value": r.value,
                "created_at": r.created_at.isoformat(),
            },
        )
        if result.state == "unchanged":
            report.unchanged += 1
        else:
            report.accepted += 1
            report.outcomes += 1
            report.superseded += result.state == "superseded"


def _check_row(line: int, raw: Mapping[str, Any], default_source: str, now: datetime) -> _Row:
    pid = raw.get("prediction_id")
    if not isinstance(pid, str) or not _ULID.match(pid.strip()):
        raise _Bad("bad_id", f"not a prediction id: {str(pid)[:40]!r}")
    source = raw.get("source", default_source)
    if not isinstance(source, str) or not source.strip() or len(source) > 200:
        raise _Bad("bad_source", "source must be 1-200 characters")
    at = _time(raw.get("time"), now)
    row = _Row(line, raw, pid.strip().upper(), source, at)
    label, outcome = raw.get("label"), raw.get("outcome")
    if (label is None) == (outcome is None):
        raise _Bad("bad_row", "give exactly one of label or outcome")
    if outcome is not None:
        value = raw.get("value")
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise _Bad("bad_value", f"value {str(value)[:40]!r} is not a number") from None
        try:
            row.outcome, row.value = check_outcome(outcome, value)
        except InvalidInputError as exc:
            raise _Bad("bad_outcome", exc.message) from None
        return row
    if not isinstance(label, str) or not label.strip() or len(label) > 200:
        raise _Bad("bad_label", "label must be a string of 1-200 characters")
    row.label = label
    return row


def _time(value: Any, now: datetime) -> datetime:
    """A row's time: ISO-8601 (UTC when it names no zone) or seconds since the epoch."""
    if value is None:
        return now
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(float(value), UTC)
        text = str(value).strip()
        try:
            return datetime.fromtimestamp(float(text), UTC)
        except ValueError:
            at = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return at if at.tzinfo else at.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        raise _Bad(
            "bad_time", f"time {str(value)[:40]!r} is not ISO-8601 or seconds since the epoch"
        ) from None


def _missing(r: _Row) -> Rejected:
    return Rejected(
        r.line,
        "unknown_prediction",
        f"unknown prediction: {r.pid} is not in the log (never issued, or still in a "
        "gateway's spool: import this row again later)",
        r.raw,
    )


def _label_is_new(spec: ServiceSpec | None, service: str, label: str) -> bool:
    """Whether ``label`` is one the service does not declare but allows; a 422 when it
    neither declares nor allows it (the endpoint's check)."""
    if spec is None or label in spec.output.labels:
        return False
    if not spec.output.allow_new_labels:
        raise InvalidInputError(
            f"label {label[:200]!r} is not one of {service}'s labels: "
            f"{', '.join(spec.output.labels)}"
        )
    return True
