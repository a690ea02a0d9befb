"""The drift aggregate: the monitor's drift points (one per service, version, slice, drift
window and metric: ``drift.COLUMN``, ``missing.COLUMN``, ...) and how far each service's drift
windows have been computed.

A drift window is computed whole and its points are replaced whole
(:meth:`DriftStore.replace_window`, one transaction), so a re-run, a late row or a pass
killed half-way leaves every window either as it was or recomputed. Like the monitor's
windows, these writes are not state changes and take no audit lock.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    Float,
    Index,
    Integer,
    String,
    Table,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.exc import InterfaceError, OperationalError

from liveops.store.db import is_sqlite, unavailable
from liveops.store.prediction_tables import predictions
from liveops.store.registry import utc
from liveops.store.tables import metadata

__all__ = ["DriftPoint", "DriftStore", "drift_points", "drift_state"]

_TS = DateTime(timezone=True)

drift_points = Table(
    "drift_points",
    metadata,
    Column("service", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),  # 0: answers no version gave
    Column("slice", String(200), primary_key=True),
    Column("window_s", Integer, primary_key=True),
    Column("window_start", _TS, primary_key=True),
    Column("metric", String(200), primary_key=True),
    Column("value", Float, nullable=True),  # None: too few rows (or no value) for a verdict
    Column("threshold", Float, nullable=True),
    Column("drifted", Boolean, nullable=True),
    Column("rows", Integer, nullable=False),  # logged rows of the scope in the window
    Column("reference", String(200), nullable=False),  # NAME@N compared against
    Column("computed_at", _TS, nullable=False),
    Index("ix_drift_points_service_window", "service", "window_start"),
)

# One row per service and drift window size: every window that ends at or before ``done_until``
# has been computed (a window with no rows has no points, and is not read again).
drift_state = Table(
    "drift_state",
    metadata,
    Column("service", String(64), primary_key=True),
    Column("window_s", Integer, primary_key=True),
    Column("done_until", _TS, nullable=False),
    Column("computed_at", _TS, nullable=False),
)


@dataclass(frozen=True)
class DriftPoint:
    """One metric of one scope (version, slice) in one drift window."""

    version: int
    slice: str
    window_start: datetime
    window_s: int
    metric: str
    value: float | None
    threshold: float | None
    drifted: bool | None
    rows: int
    reference: str


class DriftStore:
    """The drift points and the drift pass's progress per service."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def _tx(self, *, write: bool) -> Iterator[Connection]:
        try:
            with self._engine.connect() as conn:
                sqlite = is_sqlite(self._engine)
                c = conn.execution_options(write=True) if write and sqlite else conn
                with c.begin():
                    yield c
        except (OperationalError, InterfaceError) as exc:
            raise unavailable(self._engine, exc) from exc

    def replace_window(
        self,
        service: str,
        window_s: int,
        start: datetime,
        points: Sequence[DriftPoint],
        now: datetime,
        *,
        done_until: datetime | None = None,
    ) -> None:
        """Replace every point of ``service``'s drift window at ``start`` by ``points``, and
        move ``done_until`` forward (never back) in the same transaction when given."""
        d = drift_points.c
        rows = [
            {
                "service": service,
                "version": p.version,
                "slice": p.slice,
                "window_s": window_s,
                "window_start": start,
                "metric": p.metric,
                "value": p.value,
                "threshold": p.threshold,
                "drifted": p.drifted,
                "rows": p.rows,
                "reference": p.reference,
                "computed_at": now,
            }
            for p in points
        ]
        with self._tx(write=True) as conn:
            conn.execute(
                delete(drift_points).where(
                    d.service == service, d.window_s == window_s, d.window_start == start
                )
            )
            if rows:
                conn.execute(insert(drift_points), rows)
            if done_until is not None:
                self._advance(conn, service, window_s, done_until, now)

    def _advance(
        self, conn: Connection, service: str, window_s: int, until: datetime, now: datetime
    ) -> None:
        s = drift_state.c
        key = (s.service == service, s.window_s == window_s)
        have = conn.execute(select(s.done_until).where(*key)).scalar()
        if have is None:
            conn.execute(
                insert(drift_state).values(
                    service=service, window_s=window_s, done_until=until, computed_at=now
                )
            )
        elif utc(have) < until:
            conn.execute(drift_state.update().where(*key).values(done_until=until, computed_at=now))

    def done_until(self, service: str, window_s: int) -> datetime | None:
        """The end of the windows computed so far; None before the first pass."""
        s = drift_state.c
        q = select(s.done_until).where(s.service == service, s.window_s == window_s)
        with self._tx(write=False) as conn:
            v = conn.execute(q).scalar()
        return None if v is None else utc(v)

    def points(
        self,
        service: str,
        *,
        metrics: Sequence[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        window_s: int | None = None,
    ) -> list[DriftPoint]:
        """Stored points of ``service`` (windows starting in ``[since, until)``), oldest first."""
        d = drift_points.c
        cond = [d.service == service]
        if metrics is not None:
            cond.append(d.metric.in_(list(metrics)))
        if since is not None:
            cond.append(d.window_start >= since)
        if until is not None:
            cond.append(d.window_start < until)
        if window_s is not None:
            cond.append(d.window_s == window_s)
        q = select(drift_points).where(*cond).order_by(d.window_start, d.version, d.slice, d.metric)
        with self._tx(write=False) as conn:
            return [
                DriftPoint(
                    version=int(r.version),
                    slice=str(r.slice),
                    window_start=utc(r.window_start),
                    window_s=int(r.window_s),
                    metric=str(r.metric),
                    value=None if r.value is None else float(r.value),
                    threshold=None if r.threshold is None else float(r.threshold),
                    drifted=None if r.drifted is None else bool(r.drifted),
                    rows=int(r.rows),
                    reference=str(r.reference),
                )
                for r in conn.execute(q)
            ]

    def delete_before(self, service: str, cutoff: datetime) -> int:
        """Delete the points of windows that start before ``cutoff`` (retention)."""
        d = drift_points.c
        with self._tx(write=True) as conn:
            res = conn.execute(
                delete(drift_points).where(d.service == service, d.window_start < cutoff)
            )
            return int(res.rowcount or 0)

    def late_windows(self, service: str, window_s: int, candidates: Sequence[int]) -> list[int]:
        """The drift windows among ``candidates`` (numbers: ``start // window_s``) holding a
        log row stored after the window's points were computed (or rows and no points)."""
        p, d = predictions.c, drift_points.c
        out = []
        with self._tx(write=False) as conn:
            for w in candidates:
                start = datetime.fromtimestamp(w * window_s, UTC)
                end = datetime.fromtimestamp((w + 1) * window_s, UTC)
                newest = conn.execute(
                    select(func.max(p.logged_at)).where(
                        p.service == service, p.ts >= start, p.ts < end
                    )
                ).scalar()
                if newest is None:
                    continue
                computed = conn.execute(
                    select(func.max(d.computed_at)).where(
                        d.service == service, d.window_s == window_s, d.window_start == start
                    )
                ).scalar()
                if computed is None or utc(newest) > utc(computed):
                    out.append(w)
        return out
