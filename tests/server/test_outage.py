"""The database away (``OUTAGE_S``, see :mod:`tests.outage`) while the gateway is under load:
every request is answered, and every answer reaches the prediction log once the database is back.

PostgreSQL sits behind a loopback proxy that the test pauses (the shared server is never
stopped); SQLite is write-locked by another process."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from liveops.store import open_store
from tests.outage import OUTAGE_S
from tests.server.conftest import Server, make_project
from tests.server.load import Load
from tests.services.predictions.test_resilience import HOLD_SQLITE_WRITE_LOCK
from tests.tcp_proxy import PausableProxy

PREDICT = "/v1/services/router/predict"
pytestmark = pytest.mark.slow


def _serve_through_outage(
    server: Server, database_url: str | None, pause: Callable[[], None], resume: Callable[[], None]
) -> None:
    body = {"inputs": {"text": "refund please", "channel": "chat"}}
    with Load(server.url + PREDICT, body, connections=4) as load:
        time.sleep(2.0)
        pause()
        paused_at = time.monotonic()
        time.sleep(OUTAGE_S)
        with httpx.Client(base_url=server.url, timeout=10) as c:
            ready = c.get("/readyz")
        during = [o for o in load.since(paused_at) if o.status == 200]
        resume()
        time.sleep(2.0)
    assert not load.errors, load.errors[:3]
    assert all(o.status == 200 for o in load.outcomes), {o.status for o in load.outcomes}
    assert len(during) > 100  # serving went on through the outage
    # Still ready, and saying that the log is spooling: its writes fail, its backlog grows.
    log = ready.json()["log"]
    assert ready.status_code == 200, log
    assert log["database_ok"] == 0, log
    assert log["backlog"] > 0, log
    answered = {o.body["prediction_id"] for o in load.outcomes}
    store = open_store(database_url, project_dir=server.project)
    try:
        deadline = time.monotonic() + 60
        while True:
            logged = set(store.predictions.ids("router"))
            if answered <= logged or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        store.close()
    print(
        f"\n{len(answered)} answered ({len(during)} during the {OUTAGE_S:.0f} s outage), "
        f"{len(answered & logged)} in the prediction log afterwards"
    )
    assert answered <= logged
    assert len(logged) == len(answered) or len(logged) - len(answered) <= 4  # in flight at stop


@pytest.mark.postgres
def test_postgres_unreachable_under_load(
    pg_schema_url: str, tmp_path: Path, serve: Callable[..., Server]
) -> None:
    url = make_url(pg_schema_url)
    proxy = PausableProxy(url.host or "127.0.0.1", url.port or 5432)
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    try:
        project = make_project(tmp_path / "proj", proxied)
        server = serve(project=project, database_url=proxied)
        _serve_through_outage(server, pg_schema_url, proxy.pause, proxy.resume)
    finally:
        proxy.close()


def test_sqlite_write_locked_under_load(serve: Callable[..., Server]) -> None:
    server = serve()
    holders: list[subprocess.Popen[str]] = []

    def lock() -> None:
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                HOLD_SQLITE_WRITE_LOCK,
                str(server.project / ".liveops" / "liveops.db"),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        holders.append(holder)
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"

    def unlock() -> None:
        holder = holders[0]
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.wait(10) == 0

    try:
        _serve_through_outage(server, None, lock, unlock)
    finally:
        for holder in holders:
            if holder.poll() is None:
                holder.kill()
