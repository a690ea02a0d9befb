"""A fresh database gets the migrated schema by replaying SQL, not by running Alembic again.

Running the migration history on an empty SQLite database costs Alembic and SQLAlchemy 0.4 to
2.4 s of Python on a loaded 2-core machine (building and compiling some 40 tables' DDL), a replay
0.02 to 0.04 s; the suite opens hundreds of fresh stores. (On PostgreSQL the server's own DDL work
dominates: a replay saves little there.) The first fresh database of each dialect in a test
process runs the real history and records every statement it sent to the driver; later fresh
databases of that dialect get the same statements, with the same parameters, in one transaction:
the same schema, triggers and ``alembic_version`` row, in tens of milliseconds. A database with
any table in it (an older revision, a downgrade, a stranger's tables) always goes through Alembic.

Only this process's stores are affected: gateways and CLI commands started as subprocesses run
the real history. Tests marked ``real_migrations`` (the migration tests) are never replayed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event, inspect

from liveops.store import migrate

Statement = tuple[str, Any, bool]  # statement, parameters (None: none), executemany
Upgrade = Callable[..., tuple[str | None, str | None]]

_recorded: dict[str, list[Statement]] = {}
_lock = threading.Lock()
_TRANSACTION = ("BEGIN", "COMMIT", "ROLLBACK")


def replaying(real: Upgrade) -> Upgrade:
    """``migrate.upgrade`` that records the first fresh migration per dialect and replays it."""

    def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
        if revision != "head" or not _empty(engine):
            return real(engine, revision)
        dialect = engine.dialect.name
        with _lock:
            script = _recorded.get(dialect)
            if script is None:
                return _record(real, engine, dialect)
        with engine.begin() as conn:
            cursor = conn.connection.cursor()  # the driver's own, as the migration used it
            try:
                for statement, params, many in script:
                    if many:
                        cursor.executemany(statement, params)
                    elif params is None:
                        cursor.execute(statement)
                    else:
                        cursor.execute(statement, params)
            finally:
                cursor.close()
        return None, migrate.current_revision(engine)

    return upgrade


def _empty(engine: Engine) -> bool:
    """No table at all: what the recording started from (anything else goes to Alembic)."""
    with engine.connect() as conn:
        return not inspect(conn).get_table_names()


def _record(real: Upgrade, engine: Engine, dialect: str) -> tuple[str | None, str | None]:
    sent: list[Statement] = []

    def before(_conn: Any, _cursor: Any, statement: str, params: Any, ctx: Any, many: bool) -> None:
        if statement.strip().upper() in _TRANSACTION or statement.startswith("BEGIN "):
            return  # the replay's own transaction stands for the migration's
        bare = not params and getattr(ctx, "no_parameters", False)
        sent.append((statement, None if bare else params, many))

    event.listen(engine, "before_cursor_execute", before)
    try:
        result = real(engine, "head")
    finally:
        event.remove(engine, "before_cursor_execute", before)
    _recorded[dialect] = sent
    return result
