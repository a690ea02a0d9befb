"""The gateway over a tabular service: a 0/1 model answers the service's labels through its
label map, and feedback labels are checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from liveops.core.project import parse_project
from liveops.services.registry import apply_project, register_version, set_alias
from liveops.store import open_store
from tests.server.conftest import start_server
from tests.services.tabular import CANCER_MAP, cancer_model, tabular_yaml, tumour

PREDICT = "/v1/services/tumours/predict"
pytestmark = pytest.mark.slow


def _project(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "liveops.yaml").write_text(tabular_yaml())
    store = open_store(project_dir=folder)
    try:
        apply_project(store, parse_project(tabular_yaml()), actor="tester")
        model = cancer_model(folder / "cancer.skops")
        register_version(
            store,
            "tumours",
            actor="tester",
            artifact=model,
            config={"output.label_map": CANCER_MAP},
        )
        set_alias(store, "tumours", "production", "1", actor="tester")
    finally:
        store.close()
    return folder


def test_the_gateway_answers_service_labels_and_checks_feedback_labels(tmp_path: Path) -> None:
    project = _project(tmp_path / "proj")
    server = start_server(project, sink=None)
    try:
        with server.client() as c:
            r = c.post(PREDICT, json={"instances": [tumour(0), tumour(19)]})
            assert r.status_code == 200, r.text
            assert [p["label"] for p in r.json()["predictions"]] == ["malignant", "benign"]
            pid = r.json()["predictions"][0]["prediction_id"]
            fb = {"prediction_id": pid, "source": "pathology", "label": "borderline"}
            r = c.post("/v1/feedback", json=fb)
            assert r.status_code == 422, r.text
            assert "benign, malignant" in r.json()["message"]
            fb["label"] = "malignant"
            assert c.post("/v1/feedback", json=fb).json()["state"] in ("created", "queued")
    finally:
        server.stop()
