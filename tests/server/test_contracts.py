"""The gateway over a tabular service: a 0/1 model answers the service's labels through its
label map, and feedback labels are checked."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from liveops.core.clock import SystemClock
from liveops.core.monitoring.window import WindowStats
from liveops.core.project import parse_project
from liveops.services.monitoring import run_monitor
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


def test_a_versions_cost_setting_prices_its_answers_live_and_offline(tmp_path: Path) -> None:
    """A local model reports no cost; ``-c cost.per_1k=0.5`` prices every answer it gives, in
    the log (so the monitor's cost.* metrics) and in an evaluation's cost.per_1k."""
    project = _project(tmp_path / "proj")
    store = open_store(project_dir=project)
    try:
        priced = register_version(
            store,
            "tumours",
            actor="tester",
            artifact=project / "cancer.skops",
            config={"output.label_map": CANCER_MAP, "cost.per_1k": 0.5},
        )
        assert priced.version.config["cost.per_1k"] == 0.5
        set_alias(store, "tumours", "production", str(priced.version.number), actor="tester")
    finally:
        store.close()
    server = start_server(project)
    try:
        with server.client() as c:
            r = c.post(PREDICT, json={"instances": [tumour(i) for i in range(4)]})
            assert r.status_code == 200, r.text
    finally:
        server.stop()
    store = open_store(project_dir=project)
    try:
        rows = store.predictions.recent("tumours", limit=10)
        assert [row["cost"] for row in rows] == [pytest.approx(0.0005)] * 4
        run_monitor(store, project, clock=SystemClock())
        since = datetime.fromisoformat(rows[-1]["ts"]) - timedelta(minutes=5)
        windows = store.monitoring.windows("tumours", since)
        stats = [st for _, arm, slice_, _, st in windows if (arm, slice_) == ("production", "all")]
        assert stats
        assert WindowStats.from_dict(stats[0]).value("cost.per_1k") == pytest.approx(0.5)
    finally:
        store.close()
