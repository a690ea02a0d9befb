"""The gateway with the real prediction log: kill -9 under load loses no answered request,
feedback for an issued id is accepted, and ``--workers 2`` reports metrics of both workers."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.server.conftest import Server, logged, make_project
from tests.server.load import Load

PREDICT = "/v1/services/router/predict"
pytestmark = pytest.mark.slow


def test_kill_9_under_load_then_restart_loses_no_answered_request(
    serve: Callable[..., Server], durable_url: str, tmp_path: Path
) -> None:
    project = make_project(tmp_path / "durable", durable_url)
    server = serve(project=project, database_url=durable_url)
    with Load(server.url + PREDICT, {"inputs": {"text": "refund", "channel": "chat"}}, 4) as load:
        # Enough answers that some are still only spooled at the kill, on a busy machine too.
        deadline = time.monotonic() + 60
        while sum(o.status == 200 for o in list(load.outcomes)) < 200:
            assert time.monotonic() < deadline, "the gateway answered too few requests"
            time.sleep(0.1)
        server.stop(signal.SIGKILL)
    answered = {o.body["prediction_id"] for o in load.outcomes if o.status == 200}
    assert len(answered) >= 200
    # The restart replays the spool the killed process left.
    restarted = serve(project=project, database_url=durable_url)
    found = set(logged(project, answered, durable_url))
    print(f"\nkill -9: {len(answered)} answered, {len(found)} in the prediction log after restart")
    assert found == answered
    with restarted.client() as c:
        r = c.get("/metrics").text
    assert "liveops_log_backlog" in r


def test_feedback_for_an_issued_id_and_404_for_an_unknown_one(
    serve: Callable[..., Server],
) -> None:
    server = serve()
    with server.client() as c:
        pid = c.post(PREDICT, json={"inputs": {"text": "refund"}}).json()["prediction_id"]
        fb = {"prediction_id": pid, "label": "technical", "source": "agent:ana"}
        first = c.post("/v1/feedback", json=fb)  # possibly still queued: accepted all the same
        assert first.status_code == 200, first.text
        assert c.post("/v1/feedback", json=fb).json()["state"] == "unchanged"
        fb["label"] = "billing"
        assert c.post("/v1/feedback", json=fb).json()["state"] == "superseded"
        unknown = {"prediction_id": "01" + "A" * 24, "label": "billing"}
        r = c.post("/v1/feedback", json=unknown)
        assert r.status_code == 404, r.text
        r = c.post("/v1/feedback", json={"prediction_id": pid})
        assert r.status_code == 422
        assert r.json()["details"]["problems"]
        assert c.post("/v1/feedback", content=b"[").status_code == 400
        big = {**fb, "comment": "x" * 200_000}
        r = c.post("/v1/feedback", json=big)
        assert r.status_code == 413, r.text
        assert r.json()["error"] == "too_large", r.text


def _metric(text: str, pattern: str) -> float:
    m = re.search(pattern, text, re.M)
    assert m is not None, (pattern, text[:3000])
    return float(m.group(1))


def test_two_workers_share_one_metrics_view(serve: Callable[..., Server]) -> None:
    server = serve("--workers", "2")
    deadline = time.monotonic() + 60
    with server.client() as c:  # both workers loaded: the gauge sums over live workers
        while _metric(c.get("/metrics").text, r"^liveops_loaded_versions (\S+)$") < 2:
            assert time.monotonic() < deadline, "the second worker did not load"
            time.sleep(0.2)
    with Load(server.url + PREDICT, {"inputs": {"text": "refund"}}, 4) as load:
        time.sleep(2.0)
    answered = [o for o in load.outcomes if o.status == 200]
    statuses = sorted({(o.status, str(o.body)[:200]) for o in load.outcomes if o.status != 200})
    assert answered, (statuses[:3], load.errors[:3])
    assert not statuses, (statuses[:3], load.errors[:3])
    assert not load.errors, (statuses[:3], load.errors[:3])
    with server.client() as c:
        text = c.get("/metrics").text
    total = _metric(text, r'liveops_requests_total\{[^}]*status="200"[^}]*\} (\S+)')
    print(f"\n--workers 2: {len(answered)} answered, /metrics counts {total:g}")
    assert total == len(answered)


def test_feedback_right_after_predict_is_accepted_by_any_worker(
    serve: Callable[..., Server],
) -> None:
    # Each request on a new connection: the feedback often reaches the other worker, whose
    # own memory does not know the id and whose database may not have it yet.
    server = serve("--workers", "2")
    deadline = time.monotonic() + 60
    with server.client() as c:
        while _metric(c.get("/metrics").text, r"^liveops_loaded_versions (\S+)$") < 2:
            assert time.monotonic() < deadline, "the second worker did not load"
            time.sleep(0.2)
    statuses = []
    for i in range(30):
        with server.client() as c:
            pid = c.post(PREDICT, json={"inputs": {"text": f"refund {i}"}}).json()["prediction_id"]
        with server.client() as c:
            r = c.post(
                "/v1/feedback", json={"prediction_id": pid, "source": "t", "label": "billing"}
            )
        statuses.append((r.status_code, r.text[:200]))
    assert [s for s, _ in statuses] == [200] * 30, [t for s, t in statuses if s != 200][:3]
