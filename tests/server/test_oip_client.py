"""The Open Inference Protocol v2 with a real client from PyPI (tritonclient), and
``liveops.Client``, against a gateway that requires keys."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

import liveops
from liveops.errors import (
    ForbiddenError,
    InvalidInputError,
    ServiceNotFound,
    UnauthenticatedError,
)
from liveops.services.access import create_key
from liveops.store import open_store
from tests.server.conftest import Server, logged, make_project
from tests.server.test_access import make_keys


@pytest.fixture
def keyed(serve: Callable[..., Server], tmp_path: Path) -> tuple[Server, dict[str, str]]:
    project = make_project(tmp_path / "proj")
    keys = make_keys(project)
    return serve(project=project, auth=True), keys


def test_tritonclient_gets_predictions_through_the_decision_layer_and_log(
    keyed: tuple[Server, dict[str, str]],
) -> None:
    server, keys = keyed
    client = triton.InferenceServerClient(server.url.removeprefix("http://"))

    def auth() -> dict[str, str]:  # tritonclient adds its own headers to the dict it is given
        return {"Authorization": f"Bearer {keys['predictor']}"}

    assert client.is_server_live()
    assert client.is_model_ready("router", headers=auth())
    meta = client.get_model_metadata("router", headers=auth())
    assert [i["name"] for i in meta["inputs"]] == ["text", "channel", "plan", "count"]
    texts = ["my bill is wrong", "the app crashes", "refund"]
    text = triton.InferInput("text", [3], "BYTES")
    text.set_data_from_numpy(np.array(texts, dtype=object))  # binary tensor data
    count = triton.InferInput("count", [3, 1], "INT64")
    count.set_data_from_numpy(np.array([[1], [2], [3]], dtype=np.int64), binary_data=False)
    result = client.infer("router", [text, count], headers=auth())
    labels = [x.decode() if isinstance(x, bytes) else x for x in result.as_numpy("label")]
    # the same answers as /v1 predict gives for the same inputs
    with server.client(headers={"authorization": f"Bearer {keys['predictor']}"}) as http:
        v1 = http.post(
            "/v1/services/router/predict", json={"instances": [{"text": t} for t in texts]}
        ).json()["predictions"]
    assert labels == [p["label"] for p in v1]
    scores = result.as_numpy("scores")
    assert scores.shape == (3, 2)
    np.testing.assert_allclose(scores[:, 0], [p["scores"]["billing"] for p in v1])
    ids = [x.decode() if isinstance(x, bytes) else x for x in result.as_numpy("prediction_id")]
    rows = logged(server.project, ids)
    assert sorted(rows) == sorted(ids)  # every OIP answer is in the prediction log
    assert [rows[i]["inputs"]["count"] for i in ids] == [1, 2, 3]
    # a field that is not an input, and no key: the protocol's error answers
    wrong = triton.InferInput("subject", [1], "BYTES")
    wrong.set_data_from_numpy(np.array(["x"], dtype=object))
    with pytest.raises(InferenceServerException, match="not an input of router"):
        client.infer("router", [wrong], headers=auth())
    with pytest.raises(InferenceServerException, match="401"):
        client.infer("router", [text])
    viewer = {"Authorization": f"Bearer {keys['viewer']}"}
    with pytest.raises(InferenceServerException, match="403"):
        client.infer("router", [text], headers=viewer)


def test_the_python_client(keyed: tuple[Server, dict[str, str]]) -> None:
    server, keys = keyed
    with liveops.Client(server.url, keys["admin"]) as client:
        one = client.predict("router", {"text": "my bill is wrong"})
        assert isinstance(one, liveops.Prediction)
        assert (one.label, one.decision, one.version) == ("billing", "automatic", 1)
        many = client.predict_many("router", [{"text": "app crash"}, {"text": "invoice"}])
        assert [p.label for p in many] == ["technical", "billing"]
        assert client.feedback(one.prediction_id, label="billing")["prediction_id"]
        logged(server.project, [one.prediction_id])
        assert [s["name"] for s in client.services()] == ["router", "unrouted"]
        assert [v["number"] for v in client.versions("router")] == [1, 2]
        assert one.prediction_id in [p["prediction_id"] for p in client.predictions("router")]
        with pytest.raises(ServiceNotFound):
            client.predict("nope", {"text": "x"})
        with pytest.raises(InvalidInputError) as bad:
            client.predict("router", {"txt": "x"})
        assert bad.value.details["problems"]
    with liveops.Client(server.url, keys["predictor"]) as client, pytest.raises(ForbiddenError):
        client.services()
    with liveops.Client(server.url, "lo_wrong") as client, pytest.raises(UnauthenticatedError):
        client.predict("router", {"text": "x"})


def test_the_client_retries_a_rate_limited_key(keyed: tuple[Server, dict[str, str]]) -> None:
    server, _ = keyed
    store = open_store(project_dir=server.project)
    token = create_key(store, "slow", role="predictor", owner="a", actor="t", rate_per_s=2).token
    store.close()
    time.sleep(1.0)  # the gateway's next poll picks the key up
    with liveops.Client(server.url, token, backoff_s=0.1) as client:
        t0 = time.monotonic()
        answers = [client.predict("router", {"text": "refund"}) for _ in range(6)]
        elapsed = time.monotonic() - t0
    assert len({a.prediction_id for a in answers}) == 6
    assert elapsed >= 1.0  # 6 requests at 2/s after a burst of 2: the client waited
    with liveops.Client(server.url, token, retries=0) as client:
        statuses = []
        for _ in range(4):
            try:
                client.predict("router", {"text": "refund"})
                statuses.append(200)
            except liveops.LiveopsError as exc:
                statuses.append(type(exc).__name__)
        assert "RateLimitedError" in statuses
