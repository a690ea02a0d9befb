"""API keys and roles against a real gateway (``liveops serve`` with keys required): every
route with every role, revokes reaching two gateways on PostgreSQL, guessing, and keys never
stored anywhere."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import event

from liveops.core.access import PERMISSIONS, PUBLIC, ROLE_PERMISSIONS, ROLES, key_hash
from liveops.core.project import parse_project
from liveops.server.app import create_app
from liveops.services.access import Authenticator, create_key, revoke_key
from liveops.services.registry import apply_project
from liveops.store import open_store
from tests.server.conftest import PROJECT_YAML, Server, logged, make_project

DOCS = Path(__file__).resolve().parents[2] / "docs" / "access.md"
FILL = {"name": "router", "version": "1", "alias": "candidate", "ref": "nope", "id": "nope"}


def make_keys(project: Path, database_url: str | None = None) -> dict[str, str]:
    """One key per role (named ``k-ROLE``, owned by ``ROLE@example.com``)."""
    store = open_store(database_url, project_dir=project)
    try:
        return {
            role: create_key(
                store, f"k-{role}", role=role, owner=f"{role}@example.com", actor="tester"
            ).token
            for role in ROLES
        }
    finally:
        store.close()


def _table(header: str) -> list[list[str]]:
    """The rows of the table in docs/access.md whose header line starts with ``header``."""
    lines = DOCS.read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[first:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip().strip("`") for c in line.strip().strip("|").split("|")])
    return [rows[0], *rows[2:]]  # the header, then the rows (not the --- line)


def test_the_docs_tables_are_the_code(tmp_path: Path) -> None:
    header, *rows = _table("| role |")
    assert header[1:] == list(PERMISSIONS)
    documented = {
        row[0]: {p for p, c in zip(header[1:], row[1:], strict=True) if c} for row in rows
    }
    assert documented == {r: set(p) for r, p in ROLE_PERMISSIONS.items()}
    _, *described = _table("| permission |")
    assert [row[0] for row in described] == list(PERMISSIONS)
    _, *routes = _table("| method | route |")
    app = create_app(make_project(tmp_path / "p"))
    assert [tuple(r) for r in routes] == app.routes()


def test_every_route_states_a_known_permission(tmp_path: Path) -> None:
    app = create_app(make_project(tmp_path / "p"))
    stated = {perm for _, _, perm in app.routes()}
    assert stated <= {*PERMISSIONS, PUBLIC}


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: FILL.get(m[1], "nope"), path)


@pytest.mark.slow
def test_every_route_with_every_role(serve: Callable[..., Server], tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")
    keys = make_keys(project)
    server = serve(project=project, auth=True)
    routes = create_app(project).routes()
    wrong: list[str] = []
    for n, (method, path, permission) in enumerate(routes):
        url = server.url + _url(path)
        body = b"{}" if method in ("POST", "PUT") else None
        # Each route's keyless call from its own loopback address: the guessing limit counts
        # failures per address, and this test is not guessing.
        local = httpx.HTTPTransport(local_address=f"127.0.{n // 200}.{n % 200 + 2}")
        with httpx.Client(transport=local, timeout=10) as anon:
            r = anon.request(method, url, content=body)
        expected_anon = "answer" if permission == PUBLIC else 401
        got = "answer" if r.status_code not in (401, 403) else r.status_code
        if got != expected_anon or r.status_code >= 500:
            wrong.append(f"{method} {path} without a key: {r.status_code} {r.text[:200]}")
        for role, token in keys.items():
            r = httpx.request(
                method, url, content=body, headers={"authorization": f"Bearer {token}"},
                timeout=10,
            )  # fmt: skip
            allowed = permission == PUBLIC or permission in ROLE_PERMISSIONS[role]
            if allowed and (r.status_code in (401, 403) or r.status_code >= 500):
                wrong.append(f"{method} {path} as {role}: {r.status_code} {r.text[:200]}")
            if not allowed and r.status_code != 403:
                wrong.append(f"{method} {path} as {role}: {r.status_code}, expected 403")
            if r.status_code == 403:
                assert token not in r.text
    assert not wrong, "\n".join(wrong)
    assert len(routes) >= 30


def test_a_time_override_needs_an_admin_key(serve: Callable[..., Server], tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")
    keys = make_keys(project)
    server = serve("--allow-time-override", project=project, auth=True)
    url = server.url + "/v1/services/router/predict"
    body = {"inputs": {"text": "refund please"}}
    at = {"x-liveops-time": "2026-03-01T12:00:00Z"}
    r = httpx.post(url, json=body, headers={**at, "authorization": f"Bearer {keys['predictor']}"})
    assert r.status_code == 403
    assert "X-Liveops-Time" in r.json()["message"]
    r = httpx.post(url, json=body, headers={**at, "authorization": f"Bearer {keys['admin']}"})
    assert r.status_code == 200
    row = logged(project, [r.json()["prediction_id"]])[r.json()["prediction_id"]]
    assert str(row["ts"]).startswith("2026-03-01")


def test_raw_inputs_only_for_admin(serve: Callable[..., Server], tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")
    yaml = PROJECT_YAML.replace("    serving:", "    logging: {raw_inputs: true}\n    serving:", 1)
    (project / "liveops.yaml").write_text(yaml)
    store = open_store(project_dir=project)
    apply_project(store, parse_project(yaml), actor="tester")
    store.close()
    keys = make_keys(project)
    server = serve(project=project, auth=True)
    r = httpx.post(
        server.url + "/v1/services/router/predict",
        json={"inputs": {"text": "my card 4111 1111 1111 1111 was charged twice"}},
        headers={"authorization": f"Bearer {keys['predictor']}"},
    )
    pid = r.json()["prediction_id"]
    logged(project, [pid])
    views = {
        role: httpx.get(
            f"{server.url}/v1/predictions/{pid}", headers={"authorization": f"Bearer {keys[role]}"}
        ).json()
        for role in ("viewer", "operator", "admin")
    }
    card = "4111 1111 1111 1111"
    assert views["admin"]["raw_inputs"] == {"text": f"my card {card} was charged twice"}
    assert views["viewer"]["raw_inputs"] is None
    assert views["operator"]["raw_inputs"] is None
    assert card not in str(views["viewer"])
    assert card not in str(views["operator"])
    listing = httpx.get(
        f"{server.url}/v1/predictions", headers={"authorization": f"Bearer {keys['viewer']}"}
    ).json()
    assert [p["prediction_id"] for p in listing] == [pid]
    assert card not in str(listing)


def test_wrong_keys_cost_no_query_and_are_rate_limited(tmp_path: Path) -> None:
    store = open_store("sqlite://", artifacts_root=tmp_path / "a")
    good = create_key(store, "ci", role="predictor", owner="ann", actor="tester").token
    auth = Authenticator()
    auth.refresh(store)
    queries: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *a: queries.append(a[2]))
    outcomes: dict[int, int] = {}
    for i in range(1000):
        try:
            auth.check(f"lo_guess{i:04d}", "predict", "203.0.113.9")
            outcomes[200] = outcomes.get(200, 0) + 1
        except Exception as exc:
            status = getattr(exc, "status", 0)
            outcomes[status] = outcomes.get(status, 0) + 1
    assert queries == []  # no database query for any of the 1,000 wrong keys
    assert outcomes[401] <= 25  # the burst of 20, and what refilled while the loop ran
    assert outcomes[429] >= 975
    assert auth.check(good, "predict", "198.51.100.7").name == "ci"  # other addresses go on
    assert queries == []
    store.close()


def test_guessing_over_http_gets_429(serve: Callable[..., Server], tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")
    keys = make_keys(project)
    server = serve(project=project, auth=True)
    url = server.url + "/v1/services/router/predict"
    codes: list[int] = []
    t0 = time.monotonic()
    with httpx.Client(timeout=10) as client:
        for i in range(1000):
            r = client.post(url, content=b"{}", headers={"authorization": f"Bearer lo_x{i}"})
            codes.append(r.status_code)
            if r.status_code == 429:
                assert int(r.headers["retry-after"]) >= 1
        elapsed = time.monotonic() - t0
    assert set(codes) == {401, 429}
    assert codes.count(401) <= 20 + 5 * elapsed + 1
    local = httpx.HTTPTransport(local_address="127.0.0.2")  # another address is not held up
    with httpx.Client(transport=local, timeout=10) as other:
        r = other.post(
            url,
            json={"inputs": {"text": "refund"}},
            headers={"authorization": f"Bearer {keys['predictor']}"},
        )
    assert r.status_code == 200


def test_a_per_key_rate_limit_answers_429(serve: Callable[..., Server], tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")
    store = open_store(project_dir=project)
    token = create_key(
        store, "slow", role="predictor", owner="ann", actor="t", rate_per_s=1.0
    ).token
    store.close()
    server = serve("--key-burst", "3", project=project, auth=True)
    url = server.url + "/v1/services/router/predict"
    headers = {"authorization": f"Bearer {token}"}
    codes = [httpx.post(url, json={"inputs": {"text": "x"}}, headers=headers) for _ in range(6)]
    assert [r.status_code for r in codes[:3]] == [200, 200, 200]
    limited = [r for r in codes if r.status_code == 429]
    assert limited
    assert limited[0].json()["error"] == "rate_limited"
    assert int(limited[0].headers["retry-after"]) >= 1


@pytest.mark.postgres
@pytest.mark.slow
def test_a_revoke_and_an_expiry_reach_two_gateways_within_5s(
    serve: Callable[..., Server], tmp_path: Path, pg_schema_url: str
) -> None:
    project = make_project(tmp_path / "proj", pg_schema_url)
    gateways = [serve(project=project, database_url=pg_schema_url, auth=True) for _ in range(2)]
    store = open_store(pg_schema_url, project_dir=project)
    revoked = create_key(store, "rev", role="predictor", owner="ann", actor="t").token
    expiring = create_key(
        store, "exp", role="predictor", owner="ann", actor="t", expires_in=timedelta(seconds=6)
    ).token
    made_at = time.monotonic()

    def status(gw: Server, token: str) -> int:
        return httpx.post(
            gw.url + "/v1/services/router/predict",
            json={"inputs": {"text": "refund"}},
            headers={"authorization": f"Bearer {token}"},
            timeout=10,
        ).status_code

    def all_status() -> list[int]:
        return [status(gw, t) for gw in gateways for t in (revoked, expiring)]

    while all_status() != [200] * 4 and time.monotonic() - made_at < 4:  # picked up at a poll
        time.sleep(0.05)
    assert all_status() == [200] * 4

    def seconds_until_refused(token: str, limit: float = 10.0) -> list[float]:
        t0 = time.monotonic()
        waits = []
        for gw in gateways:
            while status(gw, token) != 401 and time.monotonic() - t0 < limit:
                time.sleep(0.05)
            waits.append(time.monotonic() - t0)
        return waits

    revoke_key(store, "rev", actor="t")
    assert max(seconds_until_refused(revoked)) < 5.0
    time.sleep(max(0.0, 6.0 - (time.monotonic() - made_at)))
    assert max(seconds_until_refused(expiring)) < 5.0
    store.close()


def test_keys_are_never_stored_or_echoed(serve: Callable[..., Server], tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")
    keys = make_keys(project)
    server = serve(project=project, auth=True)
    store = open_store(project_dir=project)
    revoked = create_key(store, "gone", role="admin", owner="x", actor="t").token
    revoke_key(store, "gone", actor="t")
    store.close()
    time.sleep(1.0)  # the gateway's next poll
    guesses = [f"lo_guess{i}XYZ" for i in range(30)]
    answers: list[str] = []
    ids = []
    h = {"authorization": f"Bearer {keys['predictor']}"}
    for text in ("my bill is wrong", "the app crashes", keys["admin"]):
        r = httpx.post(
            server.url + "/v1/services/router/predict", json={"inputs": {"text": text}}, headers=h
        )
        answers.append(r.text)
        if r.status_code == 200:
            ids.append(r.json()["prediction_id"])
    r = httpx.post(
        server.url + "/v1/feedback", json={"prediction_id": ids[0], "label": "billing"}, headers=h
    )
    answers.append(r.text)
    for token in [*guesses, revoked]:
        for header in ("authorization", "x-liveops-key"):
            value = f"Bearer {token}" if header == "authorization" else token
            r = httpx.post(
                server.url + "/v1/services/router/predict",
                json={"inputs": {"text": "hi"}},
                headers={header: value},
            )
            answers.append(r.text)
    logged(project, ids)
    server.stop()
    # the key itself, as sent in a request body above, is the one input allowed in the log
    secrets = [t for role, t in keys.items() if role != "admin"] + [revoked]
    places: dict[str, bytes] = {}
    for path in project.rglob("*"):
        if path.is_file():
            places[str(path)] = path.read_bytes()
    db = project / ".liveops" / "liveops.db"
    with sqlite3.connect(db) as conn:
        places["db dump"] = "\n".join(conn.iterdump()).encode()
    for token in secrets:
        for where, data in places.items():
            assert token.encode() not in data, f"a key was found in {where}"
        assert not any(token in a for a in answers)
    stored_hashes = places["db dump"].decode()
    assert key_hash(keys["viewer"]) in stored_hashes  # the hash, which is all it keeps
    for token in guesses:
        assert not any(token in a for a in answers)
