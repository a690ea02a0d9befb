"""Whether every answer liveops gave is in its prediction log, matched by prediction id.

The ids come from the answers (post.lua records each 2xx answer's ``prediction_id``); the log
rows come from the database of the demo folder (``LIVEOPS_DATABASE_URL`` or the folder's
SQLite file), or from the stand-in's own SQLite file.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass
from typing import Any

from bench.serving.servers import Target, Workspace

SERVICE = "support-router"
LOG_TABLE = "predictions"

IdReader = Callable[[], set[str]]


@dataclass
class LogCheck:
    """Answers against log rows for one server run."""

    answered: int  # 2xx answers the load generator read (warm-up and measured windows)
    answered_ids: int  # distinct prediction ids among them
    log_rows: int  # rows this run added to the log (after draining)
    missing: int  # answered ids not in the log: must be 0
    extra_rows: int  # rows whose answer wrk never read (in flight when a window ended)
    in_flight_bound: int  # at most one request per connection per window can be in flight
    drain_seconds: float  # from the end of the load until the log held every answered id
    drained: bool

    @property
    def ok(self) -> bool:
        """Every answered id is logged, and no more rows than requests that were in flight."""
        return self.drained and self.missing == 0 and 0 <= self.extra_rows <= self.in_flight_bound

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def id_reader(target: Target, ws: Workspace) -> IdReader:
    """A function that reads the prediction ids the target's log holds for the service."""
    if target.name == "liveops-standin":
        path = ws.standin_log

        def standin_ids() -> set[str]:
            if not path.exists():
                return set()
            con = sqlite3.connect(path)
            try:
                return {row[0] for row in con.execute("SELECT prediction_id FROM predictions")}
            except sqlite3.OperationalError:
                return set()
            finally:
                con.close()

        return standin_ids

    if ws.liveops_sink == "file":
        folder = ws.file_sink_dir

        def file_sink_ids() -> set[str]:
            ids: set[str] = set()
            for path in folder.glob("*.jsonl") if folder.exists() else []:
                for line in path.read_bytes().splitlines():
                    if line.endswith(b"}"):  # a line still being written is skipped
                        ids.add(str(json.loads(line)["prediction_id"]))
            return ids

        return file_sink_ids

    import sqlalchemy as sa

    from liveops.store.db import default_url, make_engine

    engine = make_engine(default_url(ws.demo))

    def liveops_ids() -> set[str]:
        try:
            table = sa.Table(LOG_TABLE, sa.MetaData(), autoload_with=engine)
        except sa.exc.NoSuchTableError:  # the gateway migrates the database when it starts
            return set()
        query = sa.select(table.c.prediction_id).where(table.c.service == SERVICE)
        with engine.connect() as conn:
            return {str(row[0]) for row in conn.execute(query)}

    return liveops_ids


def wait_drained(
    read: IdReader, answered: Collection[str], timeout: float = 90.0, settle: float = 2.0
) -> tuple[set[str], float, bool]:
    """Poll the log until it holds every answered id and stops growing for ``settle`` s."""
    wanted = set(answered)
    t0 = time.monotonic()
    last: set[str] = set()
    stable_since = t0
    while True:
        now = time.monotonic()
        logged = read()
        if len(logged) != len(last):
            last, stable_since = logged, now
        complete = wanted <= logged
        if complete and now - stable_since >= settle:
            return logged, now - t0, True
        if now - t0 > timeout:
            return logged, now - t0, complete
        time.sleep(0.25)


def check(
    answered: int,
    answered_ids: Collection[str],
    before: set[str],
    after: set[str],
    in_flight_bound: int,
    drain_seconds: float,
    drained: bool,
) -> LogCheck:
    """Compare the answers with the rows added to the log during the run.

    >>> c = check(3, ["a", "b", "c"], {"x"}, {"x", "a", "b", "c", "d"}, 8, 0.5, True)
    >>> (c.missing, c.log_rows, c.extra_rows, c.ok)
    (0, 4, 1, True)
    """
    ids = set(answered_ids)
    added = after - before
    return LogCheck(
        answered=answered,
        answered_ids=len(ids),
        log_rows=len(added),
        missing=len(ids - after),
        extra_rows=len(added) - len(ids & added),
        in_flight_bound=in_flight_bound,
        drain_seconds=round(drain_seconds, 2),
        drained=drained,
    )
