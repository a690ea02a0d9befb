"""The monitor's rows as the store reads and writes them, and the SQL helpers its bulk reads
share: window numbers and their start times, the state and calibration records, the columns of
a log row, reading rows as driver tuples, and PostgreSQL's ``COPY``. Split from
:mod:`liveops.store.monitoring`, which re-exports the public names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, or_, true

from liveops.store.registry import utc

__all__ = [
    "ROW_COLUMNS",
    "WINDOW_S",
    "CalibrationRow",
    "MonitorState",
    "calibration_of",
    "copy_rows",
    "fetch",
    "in_runs",
    "sqlite_time",
    "window_start",
]

WINDOW_S = 300  # five minutes


def window_start(window: int) -> datetime:
    """The start of window number ``window``.

    >>> window_start(5_900_000).isoformat()
    '2026-02-02T02:40:00+00:00'
    """
    return datetime.fromtimestamp(window * WINDOW_S, UTC)


@dataclass(frozen=True)
class MonitorState:
    """How far the monitor has read one service's log and feedback."""

    service: str
    watermark: datetime | None
    feedback_watermark: datetime | None
    last_run_at: datetime | None
    rows_read: int
    feedback_read: int
    windows_written: int


@dataclass(frozen=True)
class CalibrationRow:
    """A version's calibrator (its artifact hash) or why it could not be fitted (``error``)."""

    service: str
    version: int
    key: str
    dataset: str
    artifact: str | None
    error: str | None
    cases: int
    fitted_at: datetime


# Columns of a log row as the monitor reads them, in this order.
ROW_COLUMNS = (
    "window",
    "prediction_id",
    "version",
    "arm",
    "label",
    "confidence",
    "decision",
    "fallback",
    "reason",
    "latency_ms",
    "cost",
    "error",
    "channel",
    "plan",
    "language",
    "segments",
    "inputs",
)


def calibration_of(r: Any) -> CalibrationRow:
    return CalibrationRow(
        service=str(r.service),
        version=int(r.version),
        key=str(r.key),
        dataset=str(r.dataset),
        artifact=r.artifact,
        error=r.error,
        cases=int(r.cases),
        fitted_at=utc(r.fitted_at),
    )


def in_runs(column: Any, runs: Sequence[tuple[int, int]]) -> ColumnElement[bool]:
    """``column`` (a time) falls in one of the runs of windows; each run is a range the
    time index serves."""
    if not runs:
        return ~true()
    return or_(*(and_(column >= window_start(a), column < window_start(b)) for a, b in runs))


def fetch(conn: Connection, query: Any) -> list[tuple[Any, ...]]:
    """The rows of ``query`` as the driver returns them: tuples, no SQLAlchemy ``Row`` per
    row and no result processing, which the monitor's columns (numbers, text, and JSON read
    as text) do not need."""
    result = conn.execute(query)
    try:
        cursor = result.cursor
        assert cursor is not None
        return list(cursor.fetchall())
    finally:
        result.close()


def copy_rows(
    conn: Connection, table: str, names: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """PostgreSQL: ``rows`` into ``table`` with ``COPY ... FROM STDIN``, in the connection's
    transaction (several times faster than an executemany of the same rows)."""
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def sqlite_time(value: datetime) -> str:
    # SQLAlchemy's SQLite DateTime storage: naive UTC text with microseconds.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
