"""`audit anchor` and `audit verify --anchor`: cutting events off and rewriting the head to
match is caught by an anchor kept outside the database; a deleted head is a verdict, not a
crash. On SQLite (a file) and PostgreSQL (whose delete trigger a malicious admin drops)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa

from tests.cli_runner import Runner
from tests.tabular import TABULAR_YAML, train_cancer

BACKENDS = ["sqlite-file", "postgres"]


@pytest.fixture(params=BACKENDS)
def project(
    request: pytest.FixtureRequest, run_cli: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, sa.Engine]:
    """The tabular project with 4 audit events; the engine is for tampering."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_schema_url")
        monkeypatch.setenv("LIVEOPS_DATABASE_URL", url)
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    else:
        engine = sa.create_engine(f"sqlite:///{tmp_path / '.liveops' / 'liveops.db'}")
    (tmp_path / "liveops.yaml").write_text(TABULAR_YAML)
    assert run_cli("service", "apply").code == 0
    for c in (1.0, 0.5):
        model = train_cancer(tmp_path / f"m{c}.skops", c=c)
        r = run_cli("register", "cancer", "--artifact", str(model))
        assert r.code == 0, r.err
    assert run_cli("alias", "set", "cancer", "production", "2").code == 0
    return tmp_path, engine


def _tamper(engine: sa.Engine, *sql: str) -> None:
    """What an admin with write access could do (on PostgreSQL: drop the trigger first)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events"))
        for stmt in sql:
            conn.execute(sa.text(stmt))


def test_an_anchor_catches_events_cut_off_with_the_head_rewritten(
    run_cli: Runner, project: tuple[Path, sa.Engine]
) -> None:
    _, engine = project
    r = run_cli("audit", "anchor")
    assert r.code == 0, r.err
    anchor = r.out.strip()
    seq, _, digest = anchor.partition(":")
    assert seq == "4"
    assert len(digest) == 64
    assert run_cli("audit", "anchor", "--json").json()["anchor"] == anchor
    assert run_cli("audit", "verify", "--anchor", anchor).code == 0
    # Cut off the last two events and make the head point at what is left: consistent.
    with engine.connect() as conn:
        kept = conn.execute(sa.text("SELECT hash FROM audit_events WHERE seq = 2")).scalar_one()
    _tamper(
        engine,
        "DELETE FROM audit_events WHERE seq > 2",
        f"UPDATE audit_head SET count = 2, last_hash = '{kept}' WHERE id = 1",
    )
    assert run_cli("audit", "verify").code == 0  # without an anchor it cannot be seen
    r = run_cli("audit", "verify", "--anchor", anchor)
    assert r.code == 1
    assert "the anchor is event 4 but the chain has only 2 events" in r.out
    r = run_cli("audit", "verify", "--anchor", anchor, "--json")
    assert r.code == 1
    assert r.json()["ok"] is False
    assert r.json()["anchor"]["seq"] == 4


def test_an_anchor_catches_a_rewritten_chain(
    run_cli: Runner, project: tuple[Path, sa.Engine]
) -> None:
    folder, engine = project
    (folder / "anchor.json").write_text(run_cli("audit", "anchor", "--json").out)
    # Rewrite event 4 and re-seal it (and the head), as someone knowing the hash rule could.
    from liveops.core.audit import AuditEvent

    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM audit_events WHERE seq = 4")).mappings().one()
    data = row["data"] if isinstance(row["data"], dict) else json.loads(row["data"])
    forged = AuditEvent(
        4,
        row["time"],
        "mallory",
        row["action"],
        row["object_type"],
        row["object_id"],
        row["reason"],
        data,
    ).sealed(row["prev_hash"])
    _tamper(
        engine,
        f"UPDATE audit_events SET actor = 'mallory', hash = '{forged.hash}' WHERE seq = 4",
        f"UPDATE audit_head SET last_hash = '{forged.hash}' WHERE id = 1",
    )
    assert run_cli("audit", "verify").code == 0
    r = run_cli("audit", "verify", "--anchor", str(folder / "anchor.json"))
    assert r.code == 1
    assert "event 4 has hash" in r.out
    assert "rewritten" in r.out


def test_a_deleted_head_row_is_a_tamper_verdict_not_a_crash(
    run_cli: Runner, project: tuple[Path, sa.Engine]
) -> None:
    _, engine = project
    _tamper(engine, "DELETE FROM audit_head")
    r = run_cli("audit", "verify")
    assert r.code == 1, r.err
    assert "head row is missing" in r.out
    assert "internal error" not in r.err
    r = run_cli("audit", "verify", "--json")
    assert r.code == 1
    assert not r.json()["ok"]
    r = run_cli("audit", "anchor")
    assert r.code == 1
    assert "head row is missing" in r.err
    assert "internal error" not in r.err
    r = run_cli("alias", "set", "cancer", "production", "1")  # a change cannot be recorded
    assert r.code == 4
    assert "head row is missing" in r.err
    assert "internal error" not in r.err


def test_a_bad_anchor_is_a_usage_error(run_cli: Runner, project: tuple[Path, sa.Engine]) -> None:
    r = run_cli("audit", "verify", "--anchor", "4:abc")
    assert r.code == 2
    assert "neither SEQ:HASH nor a file" in r.err


class _Notary(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []
    status = 201

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        type(self).received.append(json.loads(body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def notary() -> Iterator[tuple[str, type[_Notary]]]:
    handler = type("Notary", (_Notary,), {"received": [], "status": 201})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/anchors", handler
    finally:
        server.shutdown()
        server.server_close()


def test_anchor_posts_the_head_to_a_url(
    run_cli: Runner, tmp_path: Path, notary: tuple[str, type[_Notary]]
) -> None:
    (tmp_path / "liveops.yaml").write_text(TABULAR_YAML)
    assert run_cli("service", "apply").code == 0
    url, handler = notary
    r = run_cli("audit", "anchor", "--post", url)
    assert r.code == 0, r.err
    assert r.out.strip().startswith("1:")
    assert f"posted to {url}" in r.err
    (posted,) = handler.received
    assert posted["seq"] == 1
    assert f"{posted['seq']}:{posted['hash']}" == r.out.strip()
    handler.status = 500
    r = run_cli("audit", "anchor", "--post", url)
    assert r.code == 4
    assert "answered 500" in r.err
    r = run_cli("audit", "anchor", "--post", "http://127.0.0.1:1/x")
    assert r.code == 4
    assert "could not post the anchor" in r.err
