"""Database engines: SQLite (embedded default, WAL) and PostgreSQL (``LIVEOPS_DATABASE_URL``).

Write transactions are serialised: on SQLite by ``BEGIN IMMEDIATE`` (the database write lock,
taken up front so two writers never deadlock upgrading a read lock), on PostgreSQL by locking the
audit head row. Every state change appends an audit event, so the same lock also guards version
numbering.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import StaticPool

from liveops.errors import StoreUnavailableError

ENV_URL = "LIVEOPS_DATABASE_URL"
SQLITE_BUSY_TIMEOUT_MS = 30_000
SUPPORTED_URLS = (
    f"set {ENV_URL} to sqlite:///path/to/liveops.db or "
    "postgresql://user@host:5432/db (or unset it for the project's SQLite file)"
)


def default_url(project_dir: Path) -> str:
    """``LIVEOPS_DATABASE_URL`` if set, else SQLite at ``PROJECT/.liveops/liveops.db``."""
    env = os.environ.get(ENV_URL)
    if env:
        return env
    return f"sqlite:///{(project_dir / '.liveops' / 'liveops.db').resolve()}"


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str) -> Engine:
    """Create an engine for ``url``; SQLite files and folders are created on first use."""
    url = normalise_url(url)
    # The URL comes from LIVEOPS_DATABASE_URL or the caller, not from a command's arguments:
    # a wrong one is a configuration error (exit 4), not a usage error of the command.
    try:
        parsed = make_url(url)
    except Exception:
        raise StoreUnavailableError(f"{url!r} is not a database URL", hint=SUPPORTED_URLS) from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database)
    if parsed.get_backend_name() == "postgresql":
        try:
            return create_engine(
                url,
                pool_pre_ping=True,
                pool_size=5,
                max_overflow=5,
                connect_args={"connect_timeout": 5},
            )
        except ModuleNotFoundError as exc:
            # The driver is the optional `postgres` extra; SQLAlchemy imports it here.
            if (exc.name or "").split(".")[0] != "psycopg":
                raise
            raise StoreUnavailableError(
                "PostgreSQL needs the psycopg driver, which is not installed",
                hint="pip install 'liveops[postgres]' (or use SQLite: unset LIVEOPS_DATABASE_URL)",
            ) from exc
    shown = parsed.render_as_string(hide_password=True)
    raise StoreUnavailableError(
        f"unsupported database {parsed.get_backend_name()!r} in {shown}: liveops runs on "
        "SQLite and PostgreSQL",
        hint=SUPPORTED_URLS,
    )


def _sqlite_engine(url: str, database: str | None) -> Engine:
    memory = not database or database == ":memory:"
    if not memory:
        assert database is not None
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        poolclass=_TakeTurnsPool if memory else None,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's implicit transactions defer locks).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        # Deleted rows (expired raw inputs) are overwritten with zeros, not left readable in
        # free pages of the file.
        cur.execute("PRAGMA secure_delete=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


class _TakeTurnsPool(StaticPool):
    """The one connection of an in-memory database, lent to one thread at a time.

    Every thread must see the same in-memory database, so there is one connection; without
    turns a gateway's log writer and a request would interleave their transactions. The turn
    is taken before the pool hands out its record (in ``_do_get``), not in a ``checkout``
    event: by then SQLAlchemy has already re-pointed the shared record at the waiting thread's
    connection, and the holder's check-in then looks like a double check-in that never
    releases the turn (a hang seen in CI).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._turn = threading.RLock()

    def _do_get(self) -> Any:
        self._turn.acquire()
        try:
            return super()._do_get()
        except BaseException:
            self._turn.release()
            raise

    def _do_return_conn(self, record: Any) -> None:
        super()._do_return_conn(record)
        self._turn.release()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def connect(engine: Engine, *, write: bool) -> Iterator[Connection]:
    """A transaction; ``write=True`` takes the write lock before anything is read."""
    try:
        with engine.connect() as conn:
            if write:
                conn = conn.execution_options(write=True)
            with conn.begin():
                if write and not is_sqlite(engine):
                    conn.execute(text("SELECT count FROM audit_head WHERE id = 1 FOR UPDATE"))
                yield conn
    except OperationalError as exc:
        raise unavailable(engine, exc) from exc


def unavailable(engine: Engine, exc: DBAPIError | Exception) -> StoreUnavailableError:
    url = engine.url.render_as_string(hide_password=True)
    detail = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else repr(exc)
    return StoreUnavailableError(
        f"cannot reach the database at {url}: {detail}",
        hint=f"check that the server is running and {ENV_URL} is right"
        if not is_sqlite(engine)
        else "check that the folder is writable and no other process holds a long lock",
    )
