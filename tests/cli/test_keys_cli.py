"""``liveops keys create|list|revoke`` and ``serve --no-auth``, as a user runs them."""

from __future__ import annotations

from pathlib import Path

from liveops.core.access import key_hash
from liveops.store import open_store
from tests.cli_runner import Runner
from tests.server.conftest import make_project


def test_create_prints_the_key_once_on_its_own_line(run_cli: Runner, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    r = run_cli(
        "keys", "create", "ci", "--role", "predictor", "--owner", "ann", "--expires", "90d",
        cwd=project,
    )  # fmt: skip
    assert r.code == 0
    token = r.out.strip()
    assert r.out == token + "\n"  # only the key on stdout: KEY=$(liveops keys create ...)
    assert token.startswith("lo_")
    assert "shown only now" in r.err
    listing = run_cli("keys", "list", "--json", cwd=project).json()
    assert [(k["name"], k["role"], k["owner"]) for k in listing] == [("ci", "predictor", "ann")]
    assert listing[0]["prefix"] == token[:12]
    assert listing[0]["expires_at"] is not None
    human = run_cli("keys", "list", cwd=project)
    assert token not in human.out
    assert token[:12] in human.out
    store = open_store(project_dir=project)
    try:
        (record,) = store.keys.records()
        events = store.audit.events()
    finally:
        store.close()
    assert record.hash == key_hash(token)
    assert not any(token in str(e) for e in events)
    assert [e.action for e in events if e.object_type == "key"] == ["key.create"]
    r = run_cli("keys", "revoke", "ci", "-m", "rotated", cwd=project)
    assert r.code == 0
    assert "revoked ci" in r.out
    assert run_cli("keys", "list", "--json", cwd=project).json() == []
    assert run_cli("keys", "list", "--all", "--json", cwd=project).json()[0]["revoked_by"] == (
        "tester"
    )
    again = run_cli("keys", "revoke", "ci", cwd=project)
    assert again.code == 4
    assert "keys list" in again.err


def test_bad_roles_and_expiries_are_usage_errors(run_cli: Runner, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    r = run_cli("keys", "create", "ci", "--role", "root", "--owner", "ann", cwd=project)
    assert r.code == 2
    assert "predictor, viewer, reviewer, operator, approver, admin" in r.err
    r = run_cli(
        "keys", "create", "ci", "--role", "viewer", "--owner", "ann", "--expires", "soon",
        cwd=project,
    )  # fmt: skip
    assert r.code == 2
    assert "90d" in r.err
    assert run_cli("keys", "list", "--all", "--json", cwd=project).json() == []


def test_no_auth_is_refused_off_loopback(run_cli: Runner, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    r = run_cli("serve", "--no-auth", "--host", "0.0.0.0", cwd=project)
    assert r.code == 2
    assert "--no-auth is refused on 0.0.0.0" in r.err
    assert "keys create" in r.err
