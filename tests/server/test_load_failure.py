"""Over HTTP, with the real prediction log: a version whose artifact changed on disk is answered
for by its fallback (logged as such), /readyz says degraded and why; with no fallback, 503."""

from __future__ import annotations

from pathlib import Path

from tests.server.conftest import logged, start_server
from tests.services.serving.wine import SAMPLE, corrupt, make_wine

PREDICT = "/v1/services/wine/predict"


def test_a_changed_artifact_is_answered_and_logged_as_a_fallback(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    module = make_wine(project, '{fallback: rules, rules: "wine_rules:classify"}')
    corrupt(project, "wine@1")
    server = start_server(project)  # the real prediction log
    try:
        with server.client() as c:
            ready = c.get("/readyz")
            answer = c.post(PREDICT, json={"inputs": {**SAMPLE, "color_intensity": 8.5}})
        assert answer.status_code == 200, answer.text
        pid = answer.json()["prediction_id"]
        record = logged(project, [pid])[pid]  # while its writer runs
    finally:
        server.stop()
    assert ready.status_code == 200
    state = ready.json()["services"]["wine"]
    assert state["status"] == "degraded"
    assert "was changed after it was stored" in state["reason"]
    body = answer.json()
    assert body["label"] == "cultivar_c"
    assert body["fallback"] == "rules"
    assert body["decision"] == "fallback"
    assert body["reason"] == "version_unavailable;fallback:rules"
    assert record["service"] == "wine"
    assert record["version"] == 1
    assert record["fallback"] == "rules"
    assert record["decision"] == "fallback"
    assert record["reason"] == "version_unavailable;fallback:rules"
    assert record["error"] == "version_unavailable"
    assert module  # the rules came from the project folder


def test_without_a_fallback_it_is_a_503_that_says_why(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    make_wine(project, "{}")
    corrupt(project, "wine@1")
    server = start_server(project, ready=False)
    try:
        with server.client() as c:
            ready = c.get("/readyz")
            answer = c.post(PREDICT, json={"inputs": SAMPLE})
    finally:
        server.stop()
    assert ready.status_code == 503
    state = ready.json()["services"]["wine"]
    assert state["status"] == "unavailable"
    assert "cannot load its model" in state["reason"]
    assert "requests get 503" in state["reason"]
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "1"
    error = answer.json()
    assert "wine@1 cannot load its model" in error["message"]
    assert "no fallback" in error["message"]
    assert "liveops alias set wine production" in error["hint"]
