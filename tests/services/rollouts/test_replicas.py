"""Two gateway apps on one PostgreSQL store: a rollout's step, an abort and a rollback reach
both within 5 s (they poll the store), and a sticky key gets the same arm on both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from liveops.server.app import create_app
from liveops.services.rollouts import abort_rollout, rollback, start_rollout
from liveops.services.serving import ServeOptions
from liveops.store import Store, open_store
from tests.services.rollouts.conftest import wait_for
from tests.services.rollouts.wines import DirectSink, production, project, register, wine

CANARY = """
    rollout:
      key: {header: X-Customer}
      steps:
        - {canary: 30%, min_duration: 1h, min_sample: 100}
        - {canary: 100%, min_duration: 1h, min_sample: 100}
      gates:
        - {metric: error_rate, kind: guardrail, not_worse_than: baseline, margin: 0.02}
"""


@pytest.fixture
def replicas(pg_schema_url: str, tmp_path: Path) -> Iterator[tuple[Store, Path, list[TestClient]]]:
    folder = tmp_path / "wines"
    store = open_store(pg_schema_url, project_dir=folder)
    project(store, folder, plan=CANARY)
    production(store, register(store, "good", folder=folder, evaluate=False))
    register(store, "good_too", folder=folder)
    clients = []
    for _ in range(2):
        app = create_app(
            folder,
            ServeOptions(auth=False, poll_s=0.5, tick_s=3600),
            database_url=pg_schema_url,
            open_sink=lambda s, _: DirectSink(s),
        )
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        wait_for(lambda app=app: app.gateway.ready, "a replica")  # type: ignore[misc]
    try:
        yield store, folder, clients
    finally:
        for c in clients:
            c.__exit__(None, None, None)
        store.close()


def _versions(client: TestClient) -> list[int]:
    route = client.app.gateway.table.route("wines")  # type: ignore[attr-defined]
    return [a.version for a in route.arms if a.weight > 0]


def _both(clients: list[TestClient], want: list[int]) -> bool:
    return all(_versions(c) == want for c in clients)


def test_a_step_an_abort_and_a_rollback_reach_both_replicas_within_5_s(
    replicas: tuple[Store, Path, list[TestClient]],
) -> None:
    store, folder, clients = replicas
    assert _both(clients, [1])
    start_rollout(store, folder, "wines@2", actor="ann")
    wait_for(lambda: _both(clients, [1, 2]), "the canary on both replicas", limit_s=5)

    # One customer, one version, whichever replica answers.
    for n in range(40):
        headers = {"X-Customer": f"customer-{n}"}
        got = {
            c.post("/v1/services/wines/predict", json={"inputs": wine(n)}, headers=headers).json()[
                "version"
            ]
            for c in clients
            for _ in range(2)
        }
        assert len(got) == 1, f"customer-{n} got versions {got}"

    abort_rollout(store, "wines", actor="ann", reason="drill")
    wait_for(lambda: _both(clients, [1]), "the abort on both replicas", limit_s=5)

    production(store, 2)
    wait_for(lambda: _both(clients, [2]), "v2 as production on both", limit_s=5)
    done = rollback(store, "wines", actor="bo")
    assert (done.previous, done.restored) == (2, 1)
    wait_for(lambda: _both(clients, [1]), "the rollback on both replicas", limit_s=5)
