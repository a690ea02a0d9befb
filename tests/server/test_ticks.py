"""The gateway's heartbeat, outcome events and the request time override, on a real gateway
(``liveops serve`` as a subprocess, the real prediction log) on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from liveops.core.heartbeat import Tick, availability, request_counts, uptime
from liveops.core.serving.prediction import prediction_id_time
from liveops.store import open_store
from tests.server.conftest import Server, logged, make_project

GOOD = {"inputs": {"text": "my invoice is wrong"}}


def stored_ticks(project: Path, url: str | None) -> list[Tick]:
    store = open_store(url, project_dir=project)
    try:
        far = timedelta(days=3650)
        now = datetime.now(UTC)
        rows = store.ticks.between(now - far, now + far)
    finally:
        store.close()
    return [Tick(r["instance_id"], r["tick_at"], r["interval_s"], r["counts"]) for r in rows]


def test_ticks_count_requests_and_refusals_per_service(
    durable_url: str, tmp_path: Path, serve: Callable[..., Server]
) -> None:
    project = make_project(tmp_path / "proj", durable_url)
    server = serve(
        "--tick-s", "0.3", "--body-limit", "2000", project=project, database_url=durable_url
    )
    with server.client() as c:
        statuses = [c.post("/v1/services/router/predict", json=GOOD).status_code for _ in range(3)]
        statuses.append(c.post("/v1/services/router/predict", json={"inputs": {}}).status_code)
        statuses.append(c.post("/v1/services/router/predict", json={"x": 1}).status_code)
        big = {"inputs": {"text": "x" * 5000}}
        statuses.append(c.post("/v1/services/router/predict", json=big).status_code)
        statuses.append(c.post("/v1/services/nope/predict", json=GOOD).status_code)
        assert c.get("/readyz").json()["heartbeat"]["tick_s"] == 0.3
    assert statuses == [200, 200, 200, 422, 422, 413, 404]
    server.stop()  # the last tick (the time since the one before) is written at shutdown
    ticks = stored_ticks(project, durable_url)
    assert len({t.instance_id for t in ticks}) == 1
    assert len(ticks) >= 2
    assert request_counts(ticks, "router") == {"requests": 6, "422": 2, "413": 1}
    assert request_counts(ticks, "-") == {"requests": 1, "404": 1}
    assert availability(request_counts(ticks)) == 1.0
    times = [t.tick_at for t in ticks]
    assert times == sorted(times)
    assert all(0 < t.interval_s <= 0.3 + 1e-9 for t in ticks)


def test_a_gateway_without_the_override_refuses_a_request_time(server: Server) -> None:
    with server.client() as c:
        r = c.post(
            "/v1/services/router/predict",
            json=GOOD,
            headers={"X-Liveops-Time": "2026-01-01T00:00:00Z"},
        )
        assert r.status_code == 400
        assert "does not take a request's time" in r.json()["message"]
        assert "--allow-time-override" in r.json()["hint"]
        doc = c.get("/openapi.json").json()
    assert "/v1/outcomes" in doc["paths"]
    params = doc["paths"]["/v1/services/router/predict"]["post"]["parameters"]
    assert all(p["name"] != "X-Liveops-Time" for p in params)
    store = open_store(project_dir=server.project)
    try:
        assert store.predictions.count() == 0  # nothing was answered, so nothing logged
    finally:
        store.close()


def test_a_replay_sets_the_time_of_answers_feedback_outcomes_and_heartbeats(
    durable_url: str, tmp_path: Path, serve: Callable[..., Server]
) -> None:
    project = make_project(tmp_path / "proj", durable_url)
    server = serve(
        "--allow-time-override", "--tick-s", "60", project=project, database_url=durable_url
    )
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    at = [t0 + timedelta(minutes=m) for m in (0, 4, 9, 10)]
    ids: list[str] = []
    with server.client() as c:
        for t in at:
            r = c.post(
                "/v1/services/router/predict", json=GOOD, headers={"X-Liveops-Time": t.isoformat()}
            )
            assert r.status_code == 200, r.text
            ids.append(r.json()["prediction_id"])
        bad = c.post("/v1/services/router/predict", json=GOOD, headers={"X-Liveops-Time": "soon"})
        assert bad.status_code == 400
        assert "is not a time" in bad.json()["message"]
        later = str((t0 + timedelta(hours=2)).timestamp())  # seconds since the epoch work too
        fb = c.post(
            "/v1/feedback",
            json={"prediction_id": ids[0], "label": "billing"},
            headers={"X-Liveops-Time": later},
        )
        assert fb.status_code == 200, fb.text
        oc = c.post(
            "/v1/outcomes",
            json={"prediction_id": ids[0], "outcome": "resolved"},
            headers={"X-Liveops-Time": later},
        )
        assert oc.status_code == 200, oc.text
        doc = c.get("/openapi.json").json()
    params = doc["paths"]["/v1/services/router/predict"]["post"]["parameters"]
    assert any(p["name"] == "X-Liveops-Time" for p in params)
    rows = logged(project, ids, durable_url)
    for pid, t in zip(ids, at, strict=True):
        assert datetime.fromisoformat(rows[pid]["ts"]) == t
        assert prediction_id_time(pid) == t.timestamp()
        # the latency is measured by the wall clock, not from the simulated request time
        assert 0 <= rows[pid]["latency_ms"] < 60_000
    server.stop()
    store = open_store(durable_url, project_dir=project)
    try:
        [f] = store.predictions.feedback_for(ids[0])
        [o] = store.outcomes.for_prediction(ids[0])
    finally:
        store.close()
    assert datetime.fromisoformat(f["created_at"]) == t0 + timedelta(hours=2)
    assert datetime.fromisoformat(o["created_at"]) == t0 + timedelta(hours=2)
    # The clock went from 09:00 to 11:00 (the feedback's time): a heartbeat each minute.
    ticks = [t for t in stored_ticks(project, durable_url) if t.tick_at >= t0]
    assert uptime(ticks, t0, t0 + timedelta(hours=2)) == 1.0
    assert request_counts(ticks, "router") == {"requests": 5, "400": 1}
    assert min(t.tick_at for t in ticks) == t0 + timedelta(minutes=1)


def test_outcomes_are_checked_and_superseded_by_name(server: Server) -> None:
    with server.client() as c:
        pid = c.post("/v1/services/router/predict", json=GOOD).json()["prediction_id"]

        def post(body: Any) -> httpx.Response:
            return c.post("/v1/outcomes", json=body, headers={"X-Liveops-Caller": "crm"})

        first = post({"prediction_id": pid, "outcome": "refunded", "value": 20})
        assert first.json()["state"] == "created"
        assert (
            post({"prediction_id": pid, "outcome": "refunded", "value": 20}).json()["state"]
            == "unchanged"
        )
        again = post({"prediction_id": pid, "outcome": "refunded", "value": 25}).json()
        assert (again["state"], again["supersedes"]) == ("superseded", first.json()["id"])
        assert post({"prediction_id": pid, "outcome": "escalated"}).json()["state"] == "created"
        for body, status, words in [
            ({"prediction_id": pid, "outcome": "Not Valid"}, 422, "short identifier"),
            ({"prediction_id": pid, "outcome": "resolved", "value": "x"}, 422, "does not fit"),
            ({"prediction_id": pid, "outcome": "resolved", "extra": 1}, 422, "does not fit"),
            ({"prediction_id": pid}, 422, "does not fit"),
            ({"prediction_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "outcome": "resolved"}, 404, "no "),
        ]:
            r = post(body)
            assert r.status_code == status, (body, r.text)
            assert words in r.json()["message"]
        r = c.post("/v1/outcomes", content=b"{nope", headers={"content-type": "application/json"})
        assert r.status_code == 400
    deadline = time.monotonic() + 30
    store = open_store(project_dir=server.project)
    try:
        rows = store.outcomes.for_prediction(pid)
        while len(rows) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
            rows = store.outcomes.for_prediction(pid)
    finally:
        store.close()
    current = sorted(
        (o["outcome"], o["value"], o["source"]) for o in rows if not o["superseded_by"]
    )
    assert current == [("escalated", None, "crm"), ("refunded", 25.0, "crm")]


def test_the_override_is_refused_off_loopback(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    make_project(tmp_path / "p")
    r = run_cli("serve", "--allow-time-override", "--host", "0.0.0.0", cwd=tmp_path / "p")
    assert r.code == 2
    assert "--allow-time-override is refused on 0.0.0.0" in r.err
