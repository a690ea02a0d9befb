"""An in-memory SQLite store is one connection that threads take turns with."""

from __future__ import annotations

import threading

from sqlalchemy import text

from liveops.store.db import connect, make_engine


def test_threads_writing_to_one_memory_database_all_finish_and_keep_every_row() -> None:
    # Before turns were taken in the pool itself, a thread waiting for the connection could
    # leave the turn held for ever after the holder checked in: the next writer hung (CI).
    engine = make_engine("sqlite://")
    with connect(engine, write=True) as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))

    def write(n: int) -> None:
        for _ in range(n):
            with connect(engine, write=True) as c:
                c.execute(text("INSERT INTO t VALUES (1)"))
            with connect(engine, write=False) as c:
                c.execute(text("SELECT count(*) FROM t")).scalar_one()

    threads = [threading.Thread(target=write, args=(400,), daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [t.is_alive() for t in threads] == [False] * 4, "a writer is stuck waiting its turn"
    with connect(engine, write=False) as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 1600
