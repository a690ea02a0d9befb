"""A wines project on a durable store (SQLite file or PostgreSQL) with a fake clock, and a real
gateway app on it (starlette's TestClient: start-up, the poller, the predict and feedback
routes) whose log stores answers at once."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from liveops.core.clock import FixedClock
from liveops.server.app import create_app
from liveops.services.serving import ServeOptions
from liveops.store import Store, open_store
from tests.services.rollouts.wines import DirectSink, production, project, register

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def wines(durable_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[tuple[Store, Path]]:
    """v1 (good) is production; v2 (wrong in the south) and v3 (good) are evaluated."""
    folder = tmp_path / "wines"
    store = open_store(durable_url, project_dir=folder, clock=clock)
    try:
        project(store, folder)
        v1 = register(store, "good", folder=folder, evaluate=False)
        production(store, v1)
        assert register(store, "bad_south", folder=folder) == 2
        assert register(store, "good_too", folder=folder) == 3
        yield store, folder
    finally:
        store.close()


@pytest.fixture
def gateway(wines: tuple[Store, Path], durable_url: str) -> Iterator[Callable[[], TestClient]]:
    """Start gateway apps on the wines project (stopped afterwards)."""
    _, folder = wines
    clients: list[TestClient] = []

    def start() -> TestClient:
        app = create_app(
            folder,
            ServeOptions(auth=False, allow_time_override=True, poll_s=0.05, tick_s=3600),
            database_url=durable_url,
            open_sink=lambda store, _: DirectSink(store),
        )
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        wait_for(lambda: app.gateway.ready, "the gateway to be ready")
        return client

    yield start
    for c in clients:
        c.__exit__(None, None, None)


def wait_for(check: Callable[[], Any], what: str, limit_s: float = 10.0) -> Any:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"waited {limit_s} s for {what}")
