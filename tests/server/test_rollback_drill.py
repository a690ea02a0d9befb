"""``liveops rollback --drill`` against a real staging gateway (``liveops serve --alias
staging`` as a subprocess): staging moves to the version a rollback restores and back, the
time until the gateway answers with it is measured, printed and audited; production is never
touched; refusals write nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from liveops.services.registry import set_alias
from liveops.store import open_store
from tests.cli_runner import Runner
from tests.server.conftest import start_server
from tests.services.rollouts.wines import production, project, register

pytestmark = pytest.mark.slow


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """wines: production v1, staging v3 (v2 and v3 evaluated)."""
    folder = tmp_path / "wines"
    store = open_store(project_dir=folder)
    try:
        project(store, folder)
        production(store, register(store, "good", folder=folder, evaluate=False))
        register(store, "bad_south", folder=folder)
        register(store, "good_too", folder=folder)
        set_alias(store, "wines", "staging", "3", actor="ann")
    finally:
        store.close()
    return folder


def _aliases(folder: Path) -> tuple[int | None, int | None, int]:
    store = open_store(project_dir=folder)
    try:
        return (
            store.registry.get_alias("wines", "production"),
            store.registry.get_alias("wines", "staging"),
            len(store.audit.events(limit=10_000)),
        )
    finally:
        store.close()


def test_a_drill_times_the_staging_gateway_and_leaves_it_as_it_was(
    run_cli: Runner, folder: Path
) -> None:
    server = start_server(folder, "--alias", "staging")
    try:
        before = _aliases(folder)
        # Refusals first: each says why, exits as the conventions say and writes nothing.
        r = run_cli("rollback", "wines", "--drill", cwd=folder)
        assert r.code == 2
        assert "--drill needs --url" in r.err
        r = run_cli("rollback", "wines", "--drill", "--url", server.url)
        assert r.code == 4
        assert "wines has no earlier production version a rollback would restore" in r.err
        r = run_cli("rollback", "wines", "--drill", "--url", server.url, "--to", "3")
        assert r.code == 4
        assert "staging already serves wines@3: moving it there measures nothing" in r.err
        r = run_cli("rollback", "wines", "--drill", "--url", "http://127.0.0.1:9", "--to", "1")
        assert r.code == 4
        assert "the gateway at http://127.0.0.1:9 does not serve wines's staging alias" in r.err
        r = run_cli("rollback", "wines", "--drill", "--url", server.url, "--to", "1",
                    "--input", "[1]")  # fmt: skip
        assert r.code == 2
        assert _aliases(folder) == before

        r = run_cli("rollback", "wines", "--drill", "--url", server.url, "--to", "1",
                    "--as", "bo", "--json")  # fmt: skip
        assert r.code == 0, r.err
        drill = r.json()
        assert (drill["staging"], drill["restored"], drill["passed"]) == (3, 1, True)
        # The gateway polls the store every 0.2 s: it answers with v1 a moment after the move.
        assert 0 < drill["restore_s"] < 30
        assert 0 < drill["return_s"] < 30
        assert drill["requests"] >= 3
        assert _aliases(folder)[:2] == (1, 3)  # production untouched, staging back where it was
        store = open_store(project_dir=folder)
        try:
            last = store.audit.events(limit=3)
            assert [(e.action, e.object_id, e.actor) for e in last] == [
                ("service.rollback_drill", "wines", "bo"),
                ("alias.set", "wines@staging", "bo"),
                ("alias.set", "wines@staging", "bo"),
            ]
            assert last[0].data["restore_s"] == drill["restore_s"]
            assert last[0].data["url"] == server.url
        finally:
            store.close()

        human = run_cli("rollback", "wines", "--drill", "--url", server.url, "--to", "1")
        assert human.code == 0, human.err
        assert "wines: drill on staging at" in human.out
        assert "staging 3 -> 1 answered after" in human.out

        # A gateway that does not show the move within --timeout: a failed drill (exit 1),
        # recorded, and staging still goes back.
        failed = run_cli("rollback", "wines", "--drill", "--url", server.url, "--to", "1",
                         "--timeout", "0.001", "--json")  # fmt: skip
        assert failed.code == 1, failed.err
        assert failed.json()["restore_s"] is None
        assert failed.json()["passed"] is False
        assert _aliases(folder)[:2] == (1, 3)
    finally:
        server.stop()
