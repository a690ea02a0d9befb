"""The predictions aggregate: bulk inserts of the prediction log, raw-input expiry, feedback.

The log writer inserts batches that may repeat ids already stored (a spool replayed after a
crash), so :meth:`PredictionStore.insert_batch` ignores duplicates by id (``ON CONFLICT DO
NOTHING`` on both SQLite and PostgreSQL: unlike ``INSERT OR IGNORE`` it never hides another
constraint's failure), one transaction per batch. These inserts do not take the project-wide
audit lock: the log is not a state change, and serving must not queue behind a release.

The batch goes through ``exec_driver_sql`` as one executemany with values encoded here (JSON by
orjson, times in SQLAlchemy's SQLite storage format): SQLAlchemy's per-row type processing cost
about 100 µs a row, four times the driver's own work, and the writer shares the gateway's GIL.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    Connection,
    DateTime,
    Engine,
    RowMapping,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from liveops.core.clock import Clock, SystemClock
from liveops.store.db import connect, is_sqlite, unavailable
from liveops.store.prediction_columns import copy_columns, execute_columns
from liveops.store.prediction_tables import feedback, prediction_raw_inputs, predictions
from liveops.store.registry import utc

__all__ = ["PredictionStore"]

Row = dict[str, Any]


class PredictionStore:
    """Reads and writes of the prediction log and feedback tables."""

    def __init__(self, engine: Engine, clock: Clock | None = None) -> None:
        self._engine = engine
        self._clock = clock or SystemClock()  # stamps feedback's ``stored_at``

    # --- writing the log ----------------------------------------------------------------

    def insert_batch(
        self,
        rows: Sequence[Mapping[str, Any]],
        raw_rows: Sequence[Mapping[str, Any]] = (),
        *,
        busy_timeout_ms: int | None = None,
    ) -> None:
        """Insert prediction rows (and raw-input rows) in one transaction, skipping ids already
        stored. ``busy_timeout_ms`` bounds the wait for SQLite's write lock (the log writer
        prefers to retry rather than block a shutdown for the default 30 s).

        Raises :class:`~liveops.errors.StoreUnavailableError` when the database cannot be
        reached or is locked (nothing of the batch is stored then); other database errors
        (a row the database refuses) propagate as they are."""
        if not rows and not raw_rows:
            return
        try:
            with self._write_tx(busy_timeout_ms) as conn:
                if rows:
                    conn.exec_driver_sql(*self._bulk(predictions, rows))
                if raw_rows:
                    conn.exec_driver_sql(*self._bulk(prediction_raw_inputs, raw_rows))
        except (OperationalError, InterfaceError, PoolTimeoutError) as exc:
            raise unavailable(self._engine, exc) from exc

    def insert_columns(
        self,
        columns: Mapping[str, Sequence[Any]],
        constants: Mapping[str, Any],
        raw_rows: Sequence[Mapping[str, Any]] = (),
    ) -> int:
        """:meth:`insert_batch` for rows given column-wise (bulk scoring): ``columns`` holds
        one value per row (JSON columns as JSON text), ``constants`` one value for every row.
        Ids already stored are skipped; returns the number of rows given. See
        :mod:`liveops.store.prediction_columns` for how each database takes them.

        Raises :class:`~liveops.errors.StoreUnavailableError` as :meth:`insert_batch` does."""
        sqlite_ = is_sqlite(self._engine)
        dbapi = self._engine.dialect.loaded_dbapi
        try:
            with self._write_tx() as conn:
                raw = conn.connection.driver_connection
                assert raw is not None

                def encoder(type_: Any) -> Any:
                    return _encoder(type_, sqlite_)

                if sqlite_:
                    n = execute_columns(raw.executemany, predictions, columns, constants, encoder)
                else:
                    with raw.cursor() as cur:
                        n = copy_columns(
                            cur, predictions, columns, constants, encoder, dbapi.IntegrityError
                        )
                if raw_rows:
                    conn.exec_driver_sql(*self._bulk(prediction_raw_inputs, raw_rows))
        except (OperationalError, InterfaceError, PoolTimeoutError) as exc:
            raise unavailable(self._engine, exc) from exc
        except (dbapi.OperationalError, dbapi.InterfaceError) as exc:
            raise unavailable(self._engine, exc) from exc
        return n

    def _bulk(
        self, table: Table, rows: Sequence[Mapping[str, Any]]
    ) -> tuple[str, list[tuple[Any, ...]]]:
        """The driver-level INSERT ... ON CONFLICT DO NOTHING and its encoded parameter rows."""
        sqlite_ = is_sqlite(self._engine)
        # A column with a server default may be left out (rows built before it existed).
        first = rows[0]
        columns = [c for c in table.columns if c.name in first or c.server_default is None]
        names = [c.name for c in columns]
        mark = "?" if sqlite_ else "%s"
        sql = (
            f"INSERT INTO {table.name} ({', '.join(names)}) "
            f"VALUES ({', '.join([mark] * len(names))}) ON CONFLICT DO NOTHING"
        )
        getter = itemgetter(*names)
        special = [
            (i, enc)
            for i, enc in enumerate(_encoder(c.type, sqlite_) for c in columns)
            if enc is not None
        ]
        params = []
        for row in rows:
            values = list(getter(row))
            for i, enc in special:
                values[i] = enc(values[i])
            params.append(tuple(values))
        return sql, params

    @contextmanager
    def _write_tx(self, busy_timeout_ms: int | None = None) -> Iterator[Connection]:
        with self._engine.connect() as conn:
            if is_sqlite(self._engine):
                raw = conn.connection.driver_connection
                assert raw is not None
                if busy_timeout_ms is not None:
                    raw.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
                try:
                    wconn = conn.execution_options(write=True)
                    with wconn.begin():
                        yield wconn
                finally:
                    if busy_timeout_ms is not None:
                        from liveops.store.db import SQLITE_BUSY_TIMEOUT_MS

                        raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            else:
                with conn.begin():
                    yield conn

    def ping(self) -> bool:
        """Whether the database answers now."""
        try:
            with self._engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except DBAPIError:
            return False

    # --- reading the log ----------------------------------------------------------------

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are in the log."""
        if not ids:
            return set()
        with connect(self._engine, write=False) as conn:
            q = select(predictions.c.prediction_id).where(predictions.c.prediction_id.in_(ids))
            return set(conn.execute(q).scalars())

    def exists(self, prediction_id: str) -> bool:
        return bool(self.existing_ids([prediction_id]))

    def count(self, service: str | None = None) -> int:
        q = select(func.count()).select_from(predictions)
        if service is not None:
            q = q.where(predictions.c.service == service)
        with connect(self._engine, write=False) as conn:
            return int(conn.execute(q).scalar_one())

    def get(self, prediction_id: str) -> Row | None:
        """One logged prediction with its raw input (if kept) and its feedback history."""
        with connect(self._engine, write=False) as conn:
            row = (
                conn.execute(
                    select(predictions).where(predictions.c.prediction_id == prediction_id)
                )
                .mappings()
                .first()
            )
            if row is None:
                return None
            raw = conn.execute(
                select(prediction_raw_inputs.c.inputs, prediction_raw_inputs.c.expires_at).where(
                    prediction_raw_inputs.c.prediction_id == prediction_id
                )
            ).first()
            out = _row(row)
            out["raw_inputs"] = dict(raw.inputs) if raw else None
            out["raw_expires_at"] = utc(raw.expires_at).isoformat() if raw else None
            out["feedback"] = self._feedback_rows(conn, prediction_id)
            return out

    def recent(self, service: str | None = None, limit: int = 20) -> list[Row]:
        """The newest ``limit`` predictions (of ``service``), newest first."""
        q = select(predictions).order_by(predictions.c.prediction_id.desc()).limit(limit)
        if service is not None:
            q = q.where(predictions.c.service == service)
        with connect(self._engine, write=False) as conn:
            return [_row(r) for r in conn.execute(q).mappings()]

    def ids(self, service: str | None = None) -> list[str]:
        """Every logged id (of ``service``), oldest first: for tests and reconciliation."""
        q = select(predictions.c.prediction_id).order_by(predictions.c.prediction_id)
        if service is not None:
            q = q.where(predictions.c.service == service)
        with connect(self._engine, write=False) as conn:
            return list(conn.execute(q).scalars())

    # --- retention ----------------------------------------------------------------------

    def expired_raw(self, now: datetime, services: Sequence[str] = ()) -> int:
        """How many raw inputs are past their expiry at ``now`` (or belong to ``services``)."""
        q = select(func.count()).where(_expired(now, services))
        with connect(self._engine, write=False) as conn:
            return int(conn.execute(q).scalar_one())

    def purge_raw(self, now: datetime, services: Sequence[str] = ()) -> int:
        """Delete raw inputs past their expiry (and every one of ``services``); how many."""
        try:
            with self._write_tx(2000) as conn:
                result = conn.execute(delete(prediction_raw_inputs).where(_expired(now, services)))
                deleted = int(result.rowcount or 0)
        except (OperationalError, InterfaceError, PoolTimeoutError) as exc:
            raise unavailable(self._engine, exc) from exc
        if deleted and is_sqlite(self._engine):
            # secure_delete zeroed the rows' bytes in the new page versions; the old versions
            # still sit in the WAL until a checkpoint copies the new ones over the database
            # file and the WAL is emptied. Best effort: a reader may keep it from finishing.
            with contextlib.suppress(OperationalError), self._engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted

    def raw_services(self) -> list[str]:
        """Services that have raw inputs stored."""
        q = (
            select(prediction_raw_inputs.c.service)
            .distinct()
            .order_by(prediction_raw_inputs.c.service)
        )
        with connect(self._engine, write=False) as conn:
            return list(conn.execute(q).scalars())

    def raw_count(self) -> int:
        with connect(self._engine, write=False) as conn:
            q = select(func.count()).select_from(prediction_raw_inputs)
            return int(conn.execute(q).scalar_one())

    # --- feedback -----------------------------------------------------------------------

    @contextmanager
    def feedback_tx(
        self, prediction_id: str, *, busy_timeout_ms: int = 2000
    ) -> Iterator[Connection]:
        """A write transaction in which no other writer handles feedback for this prediction
        (SQLite: the database write lock; PostgreSQL: an advisory lock on the id). A lock held
        elsewhere for longer than ``busy_timeout_ms`` counts as the database being unavailable."""
        try:
            with self._write_tx(busy_timeout_ms) as conn:
                if not is_sqlite(self._engine):
                    key = zlib.crc32(prediction_id.encode()) & 0x7FFFFFFF
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
                yield conn
        except DBAPIError as exc:
            raise unavailable(self._engine, exc) from exc

    @contextmanager
    def feedback_bulk_tx(
        self, prediction_ids: Sequence[str], *, busy_timeout_ms: int = 10_000
    ) -> Iterator[Connection]:
        """:meth:`feedback_tx` for many predictions at once (a bulk import): one transaction,
        the advisory locks taken in key order so two importers never deadlock."""
        try:
            with self._write_tx(busy_timeout_ms) as conn:
                if not is_sqlite(self._engine) and prediction_ids:
                    keys = sorted({zlib.crc32(p.encode()) & 0x7FFFFFFF for p in prediction_ids})
                    conn.execute(
                        text("SELECT pg_advisory_xact_lock(k) FROM unnest(:ks) AS k ORDER BY k"),
                        {"ks": keys},
                    )
                yield conn
        except DBAPIError as exc:
            raise unavailable(self._engine, exc) from exc

    def services_of(self, prediction_ids: Sequence[str]) -> dict[str, str]:
        """The service of each logged id among ``prediction_ids`` (absent: not logged)."""
        q = select(predictions.c.prediction_id, predictions.c.service).where(
            predictions.c.prediction_id.in_(list(prediction_ids))
        )
        with connect(self._engine, write=False) as conn:
            return {r.prediction_id: r.service for r in conn.execute(q)}

    def current_feedback_many(
        self, conn: Connection, prediction_ids: Sequence[str], kind: str
    ) -> dict[tuple[str, str], Row]:
        """The rows not yet superseded of ``kind`` for ``prediction_ids``, by (id, source)."""
        q = select(feedback).where(
            feedback.c.prediction_id.in_(list(prediction_ids)),
            feedback.c.kind == kind,
            feedback.c.superseded_by.is_(None),
        )
        return {(r["prediction_id"], r["source"]): _feedback(r) for r in conn.execute(q).mappings()}

    def insert_feedback_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert feedback rows; each is stamped ``stored_at`` now unless it carries one."""
        if rows:
            now = self._clock.now()
            conn.execute(insert(feedback), [{"stored_at": now, **r} for r in rows])

    def supersede_feedback_many(self, conn: Connection, pairs: Sequence[tuple[str, str]]) -> None:
        """Mark each ``(old_id, new_id)``: the old row is superseded by the new one."""
        if pairs:
            stmt = (
                update(feedback)
                .where(feedback.c.id == bindparam("old"))
                .values(superseded_by=bindparam("new"))
            )
            conn.execute(stmt, [{"old": o, "new": n} for o, n in pairs])

    def current_feedback(
        self, conn: Connection, prediction_id: str, source: str, kind: str
    ) -> Row | None:
        """The feedback row not yet superseded for (prediction, source, kind)."""
        q = select(feedback).where(
            feedback.c.prediction_id == prediction_id,
            feedback.c.source == source,
            feedback.c.kind == kind,
            feedback.c.superseded_by.is_(None),
        )
        row = conn.execute(q).mappings().first()
        return _feedback(row) if row else None

    def feedback_by_id(self, conn: Connection, feedback_id: str) -> Row | None:
        row = conn.execute(select(feedback).where(feedback.c.id == feedback_id)).mappings().first()
        return _feedback(row) if row else None

    def insert_feedback(self, conn: Connection, row: Mapping[str, Any]) -> None:
        """Insert one feedback row, stamped ``stored_at`` now unless it carries one."""
        conn.execute(insert(feedback).values(**{"stored_at": self._clock.now(), **row}))

    def supersede_feedback(self, conn: Connection, old_id: str, new_id: str) -> None:
        conn.execute(update(feedback).where(feedback.c.id == old_id).values(superseded_by=new_id))

    def feedback_for(self, prediction_id: str) -> list[Row]:
        """Every feedback row of a prediction, oldest first (superseded ones included)."""
        with connect(self._engine, write=False) as conn:
            return self._feedback_rows(conn, prediction_id)

    def label_counts(self, service: str) -> list[Row]:
        """Current label feedback on ``service``'s predictions, counted per label:
        ``{"label", "count", "new"}`` (``new``: a label the service did not declare)."""
        q = (
            select(feedback.c.value, feedback.c.new_label, func.count().label("n"))
            .select_from(
                feedback.join(predictions, predictions.c.prediction_id == feedback.c.prediction_id)
            )
            .where(
                predictions.c.service == service,
                feedback.c.kind == "label",
                feedback.c.superseded_by.is_(None),
            )
            .group_by(feedback.c.value, feedback.c.new_label)
            .order_by(feedback.c.value)
        )
        with connect(self._engine, write=False) as conn:
            return [
                {"label": r.value, "count": int(r.n), "new": bool(r.new_label)}
                for r in conn.execute(q)
            ]

    def _feedback_rows(self, conn: Connection, prediction_id: str) -> list[Row]:
        q = (
            select(feedback)
            .where(feedback.c.prediction_id == prediction_id)
            .order_by(feedback.c.id)
        )
        return [_feedback(r) for r in conn.execute(q).mappings()]


def _json(value: Any) -> Any:
    return None if value is None else orjson.dumps(value).decode()


def _sqlite_time(value: Any) -> Any:
    # SQLAlchemy's SQLite DateTime storage: naive UTC text with microseconds.
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _encoder(type_: Any, sqlite_: bool) -> Any:
    if isinstance(type_, JSON):
        return _json
    if isinstance(type_, DateTime) and sqlite_:
        return _LastTime()  # one per column per batch
    return None


class _LastTime:
    """:func:`_sqlite_time` remembering its last answer: a batch's rows mostly share a time
    (``logged_at`` always; ``ts`` for batch scoring)."""

    __slots__ = ("key", "text")

    def __init__(self) -> None:
        self.key: Any = None
        self.text: Any = None

    def __call__(self, value: Any) -> Any:
        if value is None:
            return None
        if value != self.key:
            self.key, self.text = value, _sqlite_time(value)
        return self.text


def _expired(now: datetime, services: Sequence[str]) -> Any:
    cond = prediction_raw_inputs.c.expires_at <= now
    return cond | prediction_raw_inputs.c.service.in_(list(services)) if services else cond


def _row(r: RowMapping) -> Row:
    out = {str(k): v for k, v in r.items()}
    out["ts"] = utc(r["ts"]).isoformat()
    out["logged_at"] = utc(r["logged_at"]).isoformat()
    return out


def _feedback(r: RowMapping) -> Row:
    out = {str(k): v for k, v in r.items()}
    out["new_label"] = bool(r["new_label"])
    out["created_at"] = utc(r["created_at"]).isoformat()
    out["stored_at"] = utc(r["stored_at"]).isoformat()
    return out
