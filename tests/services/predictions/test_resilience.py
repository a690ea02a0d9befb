"""The log under failure, with real parts: PostgreSQL unreachable behind a paused proxy,
SQLite write-locked by another process, and a process killed with SIGKILL mid-stream.

A thread submitting records at a steady rate stands in for the gateway."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from liveops.core.serving.prediction import PredictionRecord
from liveops.services.predictions import (
    LogSettings,
    PredictionLog,
    open_prediction_log,
    record_feedback,
)
from liveops.store import Store, open_store
from tests.outage import OUTAGE_S
from tests.services.predictions.test_log import rec
from tests.tcp_proxy import PausableProxy

ROOT = Path(__file__).resolve().parents[3]


class Submitter(threading.Thread):
    """Submits a batch of ``batch`` records every ``interval_s`` until stopped."""

    def __init__(self, plog: PredictionLog, batch: int = 8, interval_s: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.plog, self.batch, self.interval_s = plog, batch, interval_s
        self.ids: list[str] = []
        self.errors: list[BaseException] = []
        self.slowest_s = 0.0
        self._stop_flag = threading.Event()

    def run(self) -> None:
        while not self._stop_flag.wait(self.interval_s):
            records: list[PredictionRecord] = [rec() for _ in range(self.batch)]
            start = time.perf_counter()
            try:
                self.plog.submit(records)
            except BaseException as exc:
                self.errors.append(exc)
                return
            self.slowest_s = max(self.slowest_s, time.perf_counter() - start)
            self.ids.extend(r.prediction_id for r in records)

    def stop(self) -> None:
        self._stop_flag.set()
        self.join(10)


def wait_for(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def ride_out_outage(
    store: Store,
    plog: PredictionLog,
    start_outage: Callable[[], None],
    end_outage: Callable[[], None],
) -> None:
    """Submit through an outage of OUTAGE_S seconds; feedback goes on too; all arrives after."""
    sub = Submitter(plog)
    sub.start()
    assert wait_for(lambda: plog.stats()["written_total"] > 0, 30)  # the writer has started
    start_outage()
    started = time.monotonic()
    assert wait_for(lambda: plog.stats()["database_ok"] == 0, max(OUTAGE_S, 20))
    # Feedback on an answer given during the outage is spooled, not refused.
    during = sub.ids[-1]
    result = record_feedback(store, plog, during, "agent:ana", label="technical")
    assert result.state == "queued"
    time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - started)))
    submitted_during = len(sub.ids)
    stats = plog.stats()
    assert stats["backlog"] > 0
    assert stats["spool_bytes"] > 0
    assert stats["database_ok"] == 0
    end_outage()
    time.sleep(1.0)
    sub.stop()
    assert sub.errors == []
    assert len(sub.ids) > submitted_during  # serving went on throughout
    assert plog.flush(60), plog.stats()
    assert store.predictions.ids() == sorted(sub.ids)  # every record, once
    assert [f["value"] for f in store.predictions.feedback_for(during)] == ["technical"]
    stats = plog.stats()
    assert stats["database_ok"] == 1
    assert stats["backlog"] == 0
    assert stats["write_errors_total"] > 0
    print(
        f"\n{len(sub.ids)} records submitted, {stats['write_errors_total']:.0f} failed writes "
        f"retried, slowest submit {sub.slowest_s * 1000:.1f} ms"
    )


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_unreachable_then_back(pg_schema_url: str, tmp_path: Path) -> None:
    url = make_url(pg_schema_url)
    proxy = PausableProxy(url.host or "127.0.0.1", url.port or 5432)
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    store = open_store(proxied, project_dir=tmp_path)
    plog = open_prediction_log(store, tmp_path, LogSettings(retry_max_s=1.0))
    try:
        ride_out_outage(store, plog, proxy.pause, proxy.resume)
    finally:
        plog.close()
        store.close()
        proxy.close()


# Another process holding SQLite's write lock until it reads a line on stdin.
HOLD_SQLITE_WRITE_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
"""


@pytest.mark.slow
def test_sqlite_write_locked_by_another_process(tmp_path: Path) -> None:
    db = tmp_path / "liveops.db"
    store = open_store(f"sqlite:///{db}", project_dir=tmp_path)
    plog = open_prediction_log(store, tmp_path, LogSettings(retry_max_s=1.0))
    holder: subprocess.Popen[str] | None = None

    def lock() -> None:
        nonlocal holder
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_SQLITE_WRITE_LOCK, str(db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"

    def unlock() -> None:
        assert holder is not None
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.wait(10) == 0

    try:
        ride_out_outage(store, plog, lock, unlock)
    finally:
        if holder is not None and holder.poll() is None:
            holder.kill()
        plog.close()
        store.close()


def test_kill_9_loses_no_answered_record(durable_url: str, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    open_store(durable_url, project_dir=project).close()  # migrate before the child starts
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.services.predictions.submit_forever",
            durable_url,
            str(project),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])},
    )
    assert child.stdout is not None
    answered: list[str] = []
    writer = 0
    try:
        writer = int(child.stdout.readline().split()[1])
        while len(answered) < 10_000:
            line = child.stdout.readline()
            assert line, "the child stopped early"
            answered.extend(line.split())
    finally:
        # The gateway and its writer process (which runs in a session of its own and would
        # otherwise store its batch and exit) die at once, as in a crash of the host.
        os.kill(child.pid, signal.SIGKILL)
        if writer:
            with contextlib.suppress(ProcessLookupError):
                os.kill(writer, signal.SIGKILL)
        child.wait(10)
    # What the child printed before it died but this process had not read yet (a loaded
    # machine reads the pipe late) was answered too.
    answered.extend(child.stdout.read().split())
    store = open_store(durable_url, project_dir=project)
    before = len(store.predictions.existing_ids(answered))
    plog = open_prediction_log(store, project)
    assert plog.flush(60), str(plog.stats())
    stored = store.predictions.existing_ids(answered)
    assert len(stored) == len(answered)  # every answered record, after replay
    # Nothing else: at most the one batch (10) the child spooled but had not printed when it
    # was killed. A replay that stored a record again under another id would show here.
    extra = set(store.predictions.ids()) - set(answered)
    assert len(extra) <= 10, len(extra)
    print(f"\n{len(answered)} answered; {before} in the database at the kill, the rest replayed")
    assert before < len(answered)  # the replay did real work
    plog.close()
    store.close()


def test_a_writer_process_that_dies_is_started_again_and_nothing_is_lost(
    durable_url: str, tmp_path: Path
) -> None:
    store = open_store(durable_url, project_dir=tmp_path)
    plog = open_prediction_log(store, tmp_path, LogSettings(flush_interval_s=0.05))
    try:
        first = [rec() for _ in range(20)]
        plog.submit(first)
        assert plog.flush(30)
        proc = plog._proc
        assert proc is not None  # a file or server database gets a writer process
        os.kill(proc.pid, signal.SIGKILL)
        later = [rec() for _ in range(30)]
        plog.submit(later)  # the gateway goes on spooling meanwhile
        assert plog.flush(60), plog.stats()
        assert store.predictions.ids() == sorted(r.prediction_id for r in first + later)
        assert plog.stats()["writer_restarts_total"] == 1
    finally:
        plog.close()
        store.close()
