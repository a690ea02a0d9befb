"""The monitoring aggregate: reads of the prediction log by window, and the monitor's own tables.

The monitor recomputes whole windows, so its writes are replacements: every window of a time
range is deleted and written again in one transaction (:meth:`MonitoringStore.replace_windows`),
which makes a re-run, an overlap or a run killed half-way harmless. Like the log's inserts,
these writes do not take the project-wide audit lock (they are not state changes a release
must queue behind); on SQLite they begin ``IMMEDIATE``.

Windows are numbered ``floor(epoch seconds / 300)``; the number is computed in SQL from the
stored time, so a row's window does not depend on a float round trip. A pass works on a set of
windows given as *runs* (``(first, end)`` pairs, ``end`` exclusive), so windows scattered over
a week (those late feedback touched) are read and replaced in a few transactions.

The monitor's bulk reads take the driver's tuples as they are
(:func:`~liveops.store.monitoring_rows.fetch`) and its window rows go in with JSON encoded by
orjson, as one driver-level executemany on SQLite (as the log writer does) and one ``COPY`` on
PostgreSQL: SQLAlchemy's per-row result and bind processing cost more than the database's own
work at a million rows.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Engine,
    Text,
    and_,
    cast,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import InterfaceError, OperationalError

from liveops.store.db import is_sqlite, unavailable
from liveops.store.gateway_tables import outcomes
from liveops.store.monitoring_rows import (
    ROW_COLUMNS,
    WINDOW_S,
    CalibrationRow,
    MonitorState,
    calibration_of,
    copy_rows,
    fetch,
    in_runs,
    sqlite_time,
    window_start,
)
from liveops.store.monitoring_tables import (
    monitor_calibrations,
    monitor_lease,
    monitor_segment_values,
    monitor_state,
    monitor_windows,
)
from liveops.store.prediction_tables import feedback, predictions
from liveops.store.registry import utc

__all__ = ["WINDOW_S", "CalibrationRow", "MonitorState", "MonitoringStore", "window_start"]


class MonitoringStore:
    """Reads of the log for the monitor, and the windows, state, lease and segment values."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # --- transactions -------------------------------------------------------------------

    @contextmanager
    def _tx(self, *, write: bool) -> Iterator[Connection]:
        try:
            with self._engine.connect() as conn:
                c = conn.execution_options(write=True) if write and self._sqlite else conn
                with c.begin():
                    yield c
        except (OperationalError, InterfaceError) as exc:
            raise unavailable(self._engine, exc) from exc

    @property
    def _sqlite(self) -> bool:
        return is_sqlite(self._engine)

    def _window(self, column: Any) -> ColumnElement[Any]:
        name = f"{column.table.name}.{column.name}"
        if self._sqlite:
            return literal_column(f"(CAST(strftime('%s', {name}) AS INTEGER) / {WINDOW_S})")
        return cast(literal_column(f"floor(extract(epoch from {name}) / {WINDOW_S})"), BigInteger)

    def _insert(self, table: Any) -> Any:
        return (sqlite if self._sqlite else postgresql).insert(table)

    # --- which windows changed ----------------------------------------------------------

    def services_logged(self) -> list[str]:
        """Services with rows in the log."""
        q = select(predictions.c.service).distinct().order_by(predictions.c.service)
        with self._tx(write=False) as conn:
            return list(conn.execute(q).scalars())

    def touched_by_log(
        self, service: str, after: datetime | None, *, windows: bool = True
    ) -> tuple[list[int], datetime | None, int]:
        """The windows (by request time) of rows stored after ``after``, the newest stored
        time among them and how many rows there were. ``windows=False`` skips finding the
        windows (a full recompute takes them all) and gives an empty list."""
        p = predictions.c
        cond = [p.service == service]
        if after is not None:
            cond.append(p.logged_at > after)
        w = self._window(p.ts)
        with self._tx(write=False) as conn:
            wins = (
                conn.execute(select(w).where(*cond).distinct()).scalars().all() if windows else []
            )
            top, n = conn.execute(select(func.max(p.logged_at), func.count()).where(*cond)).one()
        return sorted(int(x) for x in wins), (utc(top) if top else None), int(n)

    def touched_by_feedback(
        self, service: str, after: datetime | None, *, windows: bool = True
    ) -> tuple[list[int], datetime | None, int]:
        """The windows of the predictions that got feedback stored after ``after`` (feedback
        whose prediction is not stored yet touches nothing: the prediction's own arrival
        touches its window later), the newest stored time and how many rows. Stored, not
        created: a label imported a day late keeps its own older time.
        ``windows=False`` skips finding the windows (an empty list)."""
        f, p = feedback.c, predictions.c
        cond = [] if after is None else [f.stored_at > after]
        joined = feedback.join(predictions, p.prediction_id == f.prediction_id)
        w = self._window(p.ts)
        with self._tx(write=False) as conn:
            wins = (
                conn.execute(select(w).select_from(joined).where(p.service == service, *cond))
                .scalars()
                .all()
                if windows
                else []
            )
            top, n = conn.execute(
                select(func.max(f.stored_at), func.count())
                .select_from(joined)
                .where(p.service == service, *cond)
            ).one()
        return sorted({int(x) for x in wins}), (utc(top) if top else None), int(n)

    def touched_by_outcomes(
        self, service: str, after: datetime | None
    ) -> tuple[list[int], datetime | None, int]:
        """As :meth:`touched_by_feedback`, for outcome events (``POST /v1/outcomes``)."""
        o, p = outcomes.c, predictions.c
        cond = [p.service == service] + ([] if after is None else [o.stored_at > after])
        joined = outcomes.join(predictions, p.prediction_id == o.prediction_id)
        w = self._window(p.ts)
        with self._tx(write=False) as conn:
            wins = conn.execute(select(w).select_from(joined).where(*cond)).scalars().all()
            top, n = conn.execute(
                select(func.max(o.stored_at), func.count()).select_from(joined).where(*cond)
            ).one()
        return sorted({int(x) for x in wins}), (utc(top) if top else None), int(n)

    def any_outcomes(self) -> bool:
        """Whether any outcome event is stored (most services send none: the pass then skips
        reading them)."""
        with self._tx(write=False) as conn:
            return conn.execute(select(outcomes.c.id).limit(1)).first() is not None

    def read_outcomes(self, service: str, runs: Sequence[tuple[int, int]]) -> list[tuple[str, str]]:
        """The current (not superseded) outcome events on the predictions of the windows of
        ``runs``: ``(prediction_id, outcome)``."""
        o, p = outcomes.c, predictions.c
        ids = select(p.prediction_id).where(p.service == service, in_runs(p.ts, runs))
        q = select(o.prediction_id, o.outcome).where(
            o.prediction_id.in_(ids), o.superseded_by.is_(None)
        )
        with self._tx(write=False) as conn:
            return [(str(a), str(b)) for a, b in fetch(conn, q)]

    def last_window_of_arm(self, service: str, version: int, arm: str) -> int | None:
        """The newest window stored for ``service``'s (``version``, ``arm``); None if none."""
        w = monitor_windows.c
        q = select(func.max(w.window_start)).where(
            w.service == service, w.version == version, w.arm == arm
        )
        with self._tx(write=False) as conn:
            top = conn.execute(q).scalar()
        return None if top is None else int(utc(top).timestamp()) // WINDOW_S

    def arm_windows(
        self, service: str, version: int, arm: str, since: datetime
    ) -> list[tuple[int, dict[str, Any]]]:
        """The windows stored for ``service``'s (``version``, ``arm``), slice ``all``, from
        ``since``: (window, statistics), oldest first."""
        w = monitor_windows.c
        q = (
            select(w.window_start, w.stats)
            .where(
                w.service == service,
                w.version == version,
                w.arm == arm,
                w.slice == "all",
                w.window_start >= since,
            )
            .order_by(w.window_start)
        )
        with self._tx(write=False) as conn:
            rows = conn.execute(q).all()
        return [(int(utc(s).timestamp()) // WINDOW_S, dict(v)) for s, v in rows]

    def window_span(self, service: str) -> tuple[int, int] | None:
        """The first and last window with rows of ``service``; None without rows."""
        p = predictions.c
        q = select(func.min(p.ts), func.max(p.ts)).where(p.service == service)
        with self._tx(write=False) as conn:
            lo, hi = conn.execute(q).one()
        if lo is None:
            return None
        return int(utc(lo).timestamp()) // WINDOW_S, int(utc(hi).timestamp()) // WINDOW_S

    # --- reading a range of windows -----------------------------------------------------

    def read_rows(
        self, service: str, runs: Sequence[tuple[int, int]], *, inputs: bool
    ) -> list[tuple[Any, ...]]:
        """The log rows of the windows of ``runs`` (``(first, end)``, end exclusive), as
        :data:`ROW_COLUMNS`; JSON columns come back as text on SQLite and parsed on
        PostgreSQL, ``inputs`` is None unless asked for."""
        p = predictions.c
        cols: list[Any] = [self._window(p.ts), *(getattr(p, c) for c in ROW_COLUMNS[1:-2])]
        cols.append(type_coerce(p.segments, Text))
        cols.append(type_coerce(p.inputs, Text) if inputs else literal_column("NULL"))
        q = select(*cols).where(p.service == service, in_runs(p.ts, runs))
        with self._tx(write=False) as conn:
            return fetch(conn, q)

    def read_scores(
        self, service: str, runs: Sequence[tuple[int, int]], *, automatic: bool = True
    ) -> list[tuple[str, int | None, Any]]:
        """``(prediction_id, version, scores)`` of the rows of the windows of ``runs`` that a
        version answered; ``scores`` is JSON text on SQLite, parsed on PostgreSQL.
        ``automatic=False`` leaves out the automatic answers that did not fail (their
        answered label is the model's own)."""
        p = predictions.c
        cond = [p.service == service, in_runs(p.ts, runs), p.version.is_not(None)]
        if not automatic:
            cond.append(or_(p.decision != "automatic", p.error.is_not(None)))
        q = select(p.prediction_id, p.version, type_coerce(p.scores, Text)).where(*cond)
        with self._tx(write=False) as conn:
            return [(str(r[0]), r[1], r[2]) for r in fetch(conn, q)]

    def read_feedback(self, service: str, runs: Sequence[tuple[int, int]]) -> list[tuple[Any, ...]]:
        """The current (not superseded) feedback on the predictions of the windows of
        ``runs``: ``(prediction_id, kind, value, rating)``, oldest first."""
        f, p = feedback.c, predictions.c
        # IN (subquery), not a join: with many runs OR-ed together SQLite's planner turned the
        # join around (every feedback row by creation time, then its prediction), which took
        # seconds for 48 scattered windows; the subquery keeps it on the time index.
        ids = select(p.prediction_id).where(p.service == service, in_runs(p.ts, runs))
        q = (
            select(f.prediction_id, f.kind, f.value, f.rating)
            .where(f.prediction_id.in_(ids), f.superseded_by.is_(None))
            .order_by(f.created_at, f.id)
        )
        with self._tx(write=False) as conn:
            return fetch(conn, q)

    # --- the windows --------------------------------------------------------------------

    def replace_windows(
        self,
        service: str,
        runs: Sequence[tuple[int, int]],
        rows: Sequence[Mapping[str, Any]],
        now: datetime,
        *,
        state: MonitorState | None = None,
    ) -> None:
        """Replace every window of ``service`` in ``runs`` (``(first, end)``, end exclusive)
        by ``rows`` (``version, arm, slice, window, stats``), in one transaction; ``state`` is
        saved in the same transaction when given."""
        w = monitor_windows.c
        time_of = sqlite_time if self._sqlite else (lambda t: t)
        computed = time_of(now)
        starts: dict[int, Any] = {}
        values = []
        for r in rows:
            win = r["window"]
            start = starts.get(win)
            if start is None:
                start = starts[win] = time_of(window_start(win))
            stats = orjson.dumps(r["stats"]).decode()
            values.append((service, r["version"], r["arm"], r["slice"], start, stats, computed))
        with self._tx(write=True) as conn:
            conn.execute(
                delete(monitor_windows).where(w.service == service, in_runs(w.window_start, runs))
            )
            if values and self._sqlite:
                conn.exec_driver_sql(self._insert_windows_sql, values)
            elif values:
                copy_rows(conn, monitor_windows.name, [c.name for c in monitor_windows.c], values)
            if state is not None:
                self._save_state(conn, state)

    @property
    def _insert_windows_sql(self) -> str:
        names = [c.name for c in monitor_windows.columns]
        return (
            f"INSERT INTO {monitor_windows.name} ({', '.join(names)}) "
            f"VALUES ({', '.join(['?'] * len(names))})"
        )

    def windows(
        self,
        service: str,
        since: datetime,
        until: datetime | None = None,
        *,
        slices: Collection[str] | None = None,
    ) -> list[tuple[int, str, str, datetime, dict[str, Any]]]:
        """``(version, arm, slice, window_start, stats)`` of ``service`` from ``since`` (of
        ``slices`` only, when given: a reader of a few slices decodes only their stats)."""
        w = monitor_windows.c
        cond = [w.service == service, w.window_start >= since]
        if until is not None:
            cond.append(w.window_start < until)
        if slices is not None:
            cond.append(w.slice.in_(sorted(slices)))
        q = select(w.version, w.arm, w.slice, w.window_start, w.stats).where(*cond)
        with self._tx(write=False) as conn:
            return [
                (int(r.version), str(r.arm), str(r.slice), utc(r.window_start), dict(r.stats))
                for r in conn.execute(q.order_by(w.window_start))
            ]

    def latest_windows(
        self, until: datetime, since: datetime
    ) -> list[tuple[str, int, str, datetime, dict[str, Any]]]:
        """``(service, version, arm, window_start, stats)`` of the newest ``all`` window per
        service, version and arm that started in ``[since, until)``."""
        w = monitor_windows.c
        cond = [w.slice == "all", w.window_start >= since, w.window_start < until]
        newest = (
            select(w.service, w.version, w.arm, func.max(w.window_start).label("start"))
            .where(*cond)
            .group_by(w.service, w.version, w.arm)
            .subquery()
        )
        q = (
            select(w.service, w.version, w.arm, w.window_start, w.stats)
            .join(
                newest,
                and_(
                    w.service == newest.c.service,
                    w.version == newest.c.version,
                    w.arm == newest.c.arm,
                    w.window_start == newest.c.start,
                ),
            )
            .where(w.slice == "all")
        )
        with self._tx(write=False) as conn:
            return [
                (str(r[0]), int(r[1]), str(r[2]), utc(r[3]), dict(r[4]))
                for r in conn.execute(q.order_by(w.service, w.version, w.arm))
            ]

    def window_count(self, service: str | None = None) -> int:
        q = select(func.count()).select_from(monitor_windows)
        if service is not None:
            q = q.where(monitor_windows.c.service == service)
        with self._tx(write=False) as conn:
            return int(conn.execute(q).scalar_one())

    # --- calibrations ------------------------------------------------------------------

    def calibration(self, service: str, version: int, key: str) -> CalibrationRow | None:
        c = monitor_calibrations.c
        q = select(monitor_calibrations).where(
            c.service == service, c.version == version, c.key == key
        )
        with self._tx(write=False) as conn:
            r = conn.execute(q).first()
        return None if r is None else calibration_of(r)

    def calibrations(self, service: str) -> list[CalibrationRow]:
        """Every calibration of ``service``'s versions, newest fit last."""
        c = monitor_calibrations.c
        q = select(monitor_calibrations).where(c.service == service)
        with self._tx(write=False) as conn:
            rows = [calibration_of(r) for r in conn.execute(q.order_by(c.version, c.fitted_at))]
        return rows

    def save_calibration(self, row: CalibrationRow) -> None:
        """Insert or replace the calibration of (service, version, key)."""
        c = monitor_calibrations.c
        with self._tx(write=True) as conn:
            conn.execute(
                delete(monitor_calibrations).where(
                    c.service == row.service, c.version == row.version, c.key == row.key
                )
            )
            conn.execute(
                insert(monitor_calibrations),
                {
                    "service": row.service,
                    "version": row.version,
                    "key": row.key,
                    "dataset": row.dataset,
                    "artifact": row.artifact,
                    "error": row.error,
                    "cases": row.cases,
                    "fitted_at": row.fitted_at,
                },
            )

    # --- state --------------------------------------------------------------------------

    def state(self, service: str) -> MonitorState | None:
        q = select(monitor_state).where(monitor_state.c.service == service)
        with self._tx(write=False) as conn:
            r = conn.execute(q).mappings().first()
        if r is None:
            return None
        return MonitorState(
            service=str(r["service"]),
            watermark=utc(r["watermark"]) if r["watermark"] else None,
            feedback_watermark=utc(r["feedback_watermark"]) if r["feedback_watermark"] else None,
            last_run_at=utc(r["last_run_at"]) if r["last_run_at"] else None,
            rows_read=int(r["rows_read"]),
            feedback_read=int(r["feedback_read"]),
            windows_written=int(r["windows_written"]),
        )

    def states(self) -> list[MonitorState]:
        with self._tx(write=False) as conn:
            names = conn.execute(select(monitor_state.c.service)).scalars().all()
        return [s for s in (self.state(n) for n in sorted(names)) if s is not None]

    def save_state(self, state: MonitorState) -> None:
        with self._tx(write=True) as conn:
            self._save_state(conn, state)

    def _save_state(self, conn: Connection, state: MonitorState) -> None:
        values = {
            "service": state.service,
            "watermark": state.watermark,
            "feedback_watermark": state.feedback_watermark,
            "last_run_at": state.last_run_at,
            "rows_read": state.rows_read,
            "feedback_read": state.feedback_read,
            "windows_written": state.windows_written,
        }
        stmt = self._insert(monitor_state).values(**values)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["service"],
                set_={k: v for k, v in values.items() if k != "service"},
            )
        )

    def log_status(self, service: str, after: datetime | None) -> tuple[datetime | None, int]:
        """The newest stored time in ``service``'s log and how many rows were stored after
        ``after`` (all of them when None): what the monitor has not read yet."""
        p = predictions.c
        cond = [p.service == service]
        with self._tx(write=False) as conn:
            top = conn.execute(select(func.max(p.logged_at)).where(*cond)).scalar()
            if after is not None:
                cond.append(p.logged_at > after)
            n = conn.execute(select(func.count()).where(*cond)).scalar_one()
        return (utc(top) if top else None), int(n)

    # --- the lease ----------------------------------------------------------------------

    def acquire(self, name: str, owner: str, now: datetime, ttl_s: float) -> bool:
        """Take (or renew) lease ``name`` for ``owner`` until ``now + ttl_s``; False when
        another owner holds it unexpired. Atomic on both backends: the conditional UPDATE
        is decided under the row's write lock."""
        until = now + timedelta(seconds=ttl_s)
        lease = monitor_lease.c
        with self._tx(write=True) as conn:
            conn.execute(
                self._insert(monitor_lease)
                .values(name=name, owner=owner, expires_at=until)
                .on_conflict_do_nothing(index_elements=["name"])
            )
            got = conn.execute(
                update(monitor_lease)
                .where(lease.name == name, or_(lease.owner == owner, lease.expires_at <= now))
                .values(owner=owner, expires_at=until)
            )
            return bool(got.rowcount)

    def release(self, name: str, owner: str) -> None:
        """Give lease ``name`` back (only if ``owner`` holds it)."""
        lease = monitor_lease.c
        with self._tx(write=True) as conn:
            conn.execute(
                delete(monitor_lease).where(and_(lease.name == name, lease.owner == owner))
            )

    def lease_holder(self, name: str) -> tuple[str, datetime] | None:
        q = select(monitor_lease.c.owner, monitor_lease.c.expires_at).where(
            monitor_lease.c.name == name
        )
        with self._tx(write=False) as conn:
            r = conn.execute(q).first()
        return None if r is None else (str(r.owner), utc(r.expires_at))

    # --- segment values -----------------------------------------------------------------

    def segment_values(self, service: str) -> dict[str, tuple[list[str], str]]:
        """The fixed values per segment field of ``service``: ``{field: (values, source)}``."""
        s = monitor_segment_values.c
        q = select(s.field, s.top_values, s.source).where(s.service == service)
        with self._tx(write=False) as conn:
            return {
                str(r.field): ([str(v) for v in r.top_values], str(r.source))
                for r in conn.execute(q)
            }

    def fix_segment_values(
        self, service: str, field: str, values: Sequence[str], source: str, now: datetime
    ) -> list[str]:
        """Store the values of ``field`` unless some are stored already; the stored ones."""
        s = monitor_segment_values.c
        with self._tx(write=True) as conn:
            conn.execute(
                self._insert(monitor_segment_values)
                .values(
                    service=service,
                    field=field,
                    top_values=list(values),
                    source=source,
                    fixed_at=now,
                )
                .on_conflict_do_nothing(index_elements=["service", "field"])
            )
            stored = conn.execute(
                select(s.top_values).where(s.service == service, s.field == field)
            ).scalar_one()
        return [str(v) for v in stored]

    # --- retention ----------------------------------------------------------------------

    def delete_windows_before(self, service: str, cutoff: datetime) -> int:
        w = monitor_windows.c
        with self._tx(write=True) as conn:
            got = conn.execute(
                delete(monitor_windows).where(w.service == service, w.window_start < cutoff)
            )
            return int(got.rowcount or 0)

    def delete_log_before(self, service: str, cutoff: datetime) -> int:
        """Delete ``service``'s log rows whose request time is before ``cutoff``."""
        p = predictions.c
        with self._tx(write=True) as conn:
            got = conn.execute(delete(predictions).where(p.service == service, p.ts < cutoff))
            return int(got.rowcount or 0)
