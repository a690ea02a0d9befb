"""Over HTTP, with the real prediction log: a version whose artifact changed on disk is answered
for by its fallback (logged as such), /readyz says degraded and why; with no fallback, 503."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from liveops.store import open_store
from tests.server.conftest import start_server
from tests.services.serving.wine import SAMPLE, corrupt, make_wine

PREDICT = "/v1/services/wine/predict"


def _logged(project: Path, prediction_id: str) -> dict[str, Any]:
    """The record the prediction log stored (its writer stores the spool within a second)."""
    store = open_store(project_dir=project)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            row = store.predictions.get(prediction_id)
            if row is not None:
                return dict(row)
            time.sleep(0.1)
    finally:
        store.close()
    raise AssertionError(f"{prediction_id} was not stored within 30 s")


def test_a_changed_artifact_is_answered_and_logged_as_a_fallback(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    module = make_wine(project, '{fallback: rules, rules: "wine_rules:classify"}')
    corrupt(project, "wine@1")
    server = start_server(project, sink=None)  # the real prediction log
    try:
        with server.client() as c:
            ready = c.get("/readyz")
            answer = c.post(PREDICT, json={"inputs": {**SAMPLE, "color_intensity": 8.5}})
        assert answer.status_code == 200, answer.text
        record = _logged(project, answer.json()["prediction_id"])  # while its writer runs
    finally:
        server.stop()
    assert ready.status_code == 200
    state = ready.json()["services"]["wine"]
    assert state["status"] == "degraded" and "was changed after it was stored" in state["reason"]
    body = answer.json()
    assert body["label"] == "cultivar_c" and body["fallback"] == "rules"
    assert body["decision"] == "fallback"
    assert body["reason"] == "version_unavailable;fallback:rules"
    assert record["service"] == "wine" and record["version"] == 1
    assert record["fallback"] == "rules" and record["decision"] == "fallback"
    assert record["reason"] == "version_unavailable;fallback:rules"
    assert record["error"] == "version_unavailable"
    assert module  # the rules came from the project folder


def test_without_a_fallback_it_is_a_503_that_says_why(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    make_wine(project, "{}")
    corrupt(project, "wine@1")
    server = start_server(project, sink=None, ready=False)
    try:
        with server.client() as c:
            ready = c.get("/readyz")
            answer = c.post(PREDICT, json={"inputs": SAMPLE})
    finally:
        server.stop()
    assert ready.status_code == 503
    state = ready.json()["services"]["wine"]
    assert state["status"] == "unavailable"
    assert "cannot load its model" in state["reason"] and "requests get 503" in state["reason"]
    assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
    error = answer.json()
    assert "wine@1 cannot load its model" in error["message"]
    assert "no fallback" in error["message"]
    assert "liveops alias set wine production" in error["hint"]
