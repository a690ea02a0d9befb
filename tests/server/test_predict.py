"""The predict route of a real gateway: answers, validation errors, decisions, fallbacks."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from liveops.core.project import parse_project
from liveops.services.registry import (
    apply_project,
    register_version,
    set_alias,
    set_service_enabled,
)
from liveops.store import open_store
from tests.server.conftest import PROJECT_YAML, Server, logged

PREDICT = "/v1/services/router/predict"
pytestmark = pytest.mark.slow


@pytest.mark.smoke
def test_one_instance_answer_is_logged_with_segments_and_caller(server: Server) -> None:
    with server.client() as c:
        r = c.post(
            PREDICT,
            json={"inputs": {"text": "please refund me", "channel": "email", "plan": "pro"}},
            headers={"X-Liveops-Caller": "crm"},
        )
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["label"] == "billing"
    assert a["decision"] == "automatic"
    assert a["version"] == 1
    assert a["confidence"] == pytest.approx(0.9)
    assert a["scores"]["technical"] == pytest.approx(0.1)
    assert a["fallback"] is None
    assert len(a["prediction_id"]) == 26
    rec = logged(server.project, [a["prediction_id"]])[a["prediction_id"]]
    assert rec["caller"] == "crm"
    assert rec["inputs"]["text"] == "please refund me"
    assert (rec["channel"], rec["plan"], rec["segments"]) == ("email", "pro", {"count": None})
    assert rec["label"] == "billing"
    assert rec["version"] == 1
    assert rec["arm"] == "production"
    assert rec["decision"] == "automatic"
    assert rec["confidence"] == pytest.approx(0.9)


def test_instances_answer_in_order_and_below_threshold_goes_to_review(server: Server) -> None:
    with server.client() as c:
        r = c.post(PREDICT, json={"instances": [{"text": "app crash"}, {"text": "unsure"}]})
    assert r.status_code == 200, r.text
    first, second = r.json()["predictions"]
    assert first["label"] == "technical"
    assert first["decision"] == "automatic"
    assert second["label"] is None
    assert second["decision"] == "human_review"
    assert second["reason"] == "below_threshold:0.55"
    assert first["prediction_id"] < second["prediction_id"]
    rows = logged(server.project, [first["prediction_id"], second["prediction_id"]])
    assert rows[second["prediction_id"]]["decision"] == "human_review"
    assert rows[first["prediction_id"]]["label"] == "technical"


@pytest.mark.parametrize(
    ("body", "status", "where"),
    [
        ({"inputs": {"channel": "fax", "count": 11, "extra": 1}}, 422, ["inputs", "text"]),
        ({"inputs": {"text": "x" * 201}}, 422, ["inputs", "text"]),
        ({"inputs": {"text": 5, "count": 1.5}}, 422, ["inputs", "count"]),
        ({"instances": []}, 422, ["instances"]),
        ({"instances": [{"text": "ok"}, "nope"]}, 422, ["instances", 1]),
        ({"inputs": {"text": "a"}, "instances": []}, 422, []),
        ([1, 2], 422, []),
    ],
)
def test_bad_input_gets_a_4xx_with_field_level_messages(
    server: Server, body: object, status: int, where: list[object]
) -> None:
    with server.client() as c:
        r = c.post(PREDICT, json=body)
    assert r.status_code == status, r.text
    err = r.json()
    assert err["error"] == "invalid_input"
    locs = [p["loc"] for p in err["details"]["problems"]]
    assert where in locs, locs
    # Nothing logged for a refused request: once an answer sent after it is stored (the log
    # keeps the order), it is the only row.
    with server.client() as c:
        pid = c.post(PREDICT, json={"inputs": {"text": "refund"}}).json()["prediction_id"]
    assert list(logged(server.project, [pid])) == [pid]
    store = open_store(project_dir=server.project)
    try:
        assert store.predictions.ids() == [pid]
    finally:
        store.close()


def test_http_level_errors(serve: Callable[..., Server]) -> None:
    server = serve(sink="file")  # logging is not asserted here: LIVEOPS_PREDICTION_SINK's sink
    with server.client() as c:
        assert c.post(PREDICT, content=b"{not json").status_code == 400
        assert c.get(PREDICT).status_code == 405
        r = c.post("/v1/services/nobody/predict", json={"inputs": {"text": "a"}})
        assert r.status_code == 404
        assert r.json()["error"] == "service_not_found"
        r = c.post("/v1/services/unrouted/predict", json={"inputs": {"text": "a"}})
        assert r.status_code == 404
        assert "production" in r.json()["message"]
        big = {"instances": [{"text": "x" * 150}] * 8000}
        assert c.post(PREDICT, json=big).status_code == 413
        assert c.get("/nowhere").status_code == 404


def test_model_error_falls_back_to_rules_with_the_reason(server: Server) -> None:
    with server.client() as c:
        r = c.post(PREDICT, json={"instances": [{"text": "boom refund"}, {"text": "boom hi"}]})
    assert r.status_code == 200, r.text
    a, b = r.json()["predictions"]
    assert a["label"] == "billing"
    assert a["decision"] == "fallback"
    assert a["fallback"] == "rules"
    assert a["reason"] == "model_error:RuntimeError;fallback:rules"
    assert b["label"] is None
    assert b["decision"] == "human_review"
    rec = logged(server.project, [a["prediction_id"]])[a["prediction_id"]]
    assert rec["error"] == "model_error"
    assert rec["fallback"] == "rules"


def test_timeout_answers_from_the_fallback_then_the_breaker_opens(server: Server) -> None:
    with server.client() as c:
        r = c.post(PREDICT, json={"inputs": {"text": "sleep refund"}})  # the model sleeps 1.5 s
        assert r.status_code == 200, r.text
        a = r.json()
        # The 300 ms timeout answered from the rules, not the model that finished later.
        assert a["reason"] == "model_timeout;fallback:rules"
        assert a["label"] == "billing"
        for _ in range(2):  # breaker_failures: 3
            c.post(PREDICT, json={"inputs": {"text": "boom"}})
        r = c.post(PREDICT, json={"inputs": {"text": "refund"}})
        assert r.json()["reason"] == "circuit_open;fallback:rules"
        metrics = c.get("/metrics").text
    assert 'liveops_errors_total{arm="production",code="model_timeout"' in metrics
    assert 'reason="circuit_open"' in metrics


def test_health_readiness_metrics_and_openapi(server: Server) -> None:
    with server.client() as c:
        assert c.get("/healthz").json()["status"] == "ok"
        ready = c.get("/readyz").json()
        assert ready["ready"] is True
        assert ready["models"] == ["router@1"]
        c.post(PREDICT, json={"inputs": {"text": "refund"}})
        text = c.get("/metrics").text
        doc = c.get("/openapi.json").json()
    assert (
        'liveops_requests_total{arm="production",service="router",status="200",version="1"} 1.0'
        in text
    )
    assert "liveops_request_seconds_bucket" in text
    assert "liveops_batch_size_bucket" in text
    assert "liveops_spool_bytes" in text
    body = doc["paths"]["/v1/services/router/predict"]["post"]["requestBody"]
    inst = body["content"]["application/json"]["schema"]["oneOf"][0]["properties"]["inputs"]
    assert inst["required"] == ["text"]
    assert inst["properties"]["channel"]["anyOf"][0]["enum"] == ["email", "chat"]
    assert "/v1/services/unrouted/predict" not in doc["paths"]
    register = doc["paths"]["/v1/services/{name}/versions"]["post"]  # a .skops upload
    assert "application/octet-stream" in register["requestBody"]["content"]
    config = next(p for p in register["parameters"] if p["name"] == "config")
    assert config["schema"] == {"type": "array", "items": {"type": "string"}}
    assert "400" in register["responses"]


def test_a_full_queue_answers_429_with_retry_after_and_drops_nothing_silently(
    project: Path, serve: Callable[..., Server]
) -> None:
    # Room for two waiting records; a timeout long enough that queued requests stay queued
    # while the model is busy, and a breaker that does not open during the test.
    yaml = PROJECT_YAML.replace("timeout_ms: 300", "timeout_ms: 1000").replace(
        "breaker_failures: 3", "max_queue: 2, breaker_failures: 100"
    )
    (project / "liveops.yaml").write_text(yaml)
    store = open_store(project_dir=project)
    apply_project(store, parse_project(yaml), actor="tester")
    store.close()
    server = serve()

    def post(text: str) -> httpx.Response:
        with server.client() as c:
            return c.post(PREDICT, json={"inputs": {"text": text}})

    with ThreadPoolExecutor(8) as pool:
        busy = pool.submit(post, "sleep refund")  # the model sleeps 1.5 s on this one
        time.sleep(0.3)
        answers = list(pool.map(post, ["refund"] * 6))
        assert busy.result().status_code == 200
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200, 200, 429, 429, 429, 429], [r.text for r in answers]
    for r in answers:
        if r.status_code == 429:
            assert r.headers["retry-after"] == "1"
            assert r.json()["error"] == "overloaded"
            assert "queue" in r.json()["message"]
    ids = [r.json()["prediction_id"] for r in answers if r.status_code == 200]
    assert len(logged(server.project, ids)) == 2  # every answer that was given is logged


def test_the_sensitive_input_rule_holds_when_the_rules_answer_without_the_model(
    project: Path, serve: Callable[..., Server]
) -> None:
    yaml = PROJECT_YAML.replace(
        "timeout_ms: 300", "timeout_ms: 300\n      sensitive_input: human_review"
    )
    (project / "liveops.yaml").write_text(yaml)
    store = open_store(project_dir=project)
    apply_project(store, parse_project(yaml), actor="tester")
    # The decision block is copied into a version at registration: register one with it.
    v3 = register_version(store, "router", actor="tester", entrypoint="tests.server.models:v2")
    set_alias(store, "router", "production", str(v3.version.number), actor="tester")
    server = serve()
    card = {"inputs": {"text": "refund to card 4111 1111 1111 1111"}}
    with server.client() as c:
        assert c.post(PREDICT, json=card).json()["decision"] == "human_review"
        set_service_enabled(store, "router", enabled=False, actor="tester", reason="test")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            plain = c.post(PREDICT, json={"inputs": {"text": "refund please"}}).json()
            if plain["reason"] == "service_disabled;fallback:rules":
                break
            time.sleep(0.1)
        assert plain["decision"] == "fallback"
        assert plain["label"] == "billing"
        held = c.post(PREDICT, json=card).json()
    store.close()
    assert held["decision"] == "human_review", held
    assert held["label"] is None, held
    assert held["reason"] == "sensitive_input:card;service_disabled"
    row = logged(server.project, [held["prediction_id"]])[held["prediction_id"]]
    assert row["label"] is None
    assert row["inputs"]["text"] == "refund to card [CARD]"
