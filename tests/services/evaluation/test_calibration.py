"""Fitting a version's calibrator from its service's calibration set, on every backend."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from liveops.core.monitoring.estimate import Calibrator, estimate
from liveops.core.project import parse_project
from liveops.demo.data import generate, generate_records
from liveops.demo.training import save_skops, train_v1
from liveops.errors import InvalidInputError, ProjectFileError
from liveops.services.datasets import add_dataset
from liveops.services.evaluation.calibration import calibration_groups, fit_calibrator
from liveops.services.evaluation.runs import load_suite
from liveops.services.registry import (
    apply_project,
    get_service_spec,
    load_model,
    load_project,
    register_version,
    resolve_version,
)
from liveops.store import Store

PROJECT = """
services:
  - name: router
    owner: me@example.com
    inputs: {{text: {{type: string, required: true}}, language: {{type: string}}}}
    model_inputs: [text]
    output: {{labels: [billing, technical, cancellation, general]}}
    suite: suite.yaml
{calibration}
"""
SUITE = """
cases: {dataset: router-eval, expected: label}
metrics: [accuracy]
slices:
  - {name: short, where: {text_length: {lt: 30}}}
  - {name: spanish, where: {language: es}}
"""


def _csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    import pandas as pd

    pd.DataFrame([{k: r[k] for k in ("text", "language", "label")} for r in rows]).to_csv(
        path, index=False
    )
    return path


def _setup(store: Store, root: Path, calibration: str) -> None:
    (root / "liveops.yaml").write_text(PROJECT.format(calibration=calibration))
    (root / "suite.yaml").write_text(SUITE)
    data = generate(seed=0, n_train=1500, n_eval=900)
    model = train_v1(data.train, seed=0)
    save_skops(model, root / "v1.skops")
    apply_project(store, load_project(root), actor="t")
    add_dataset(store, _csv(root / "train.csv", data.train), name="router-train", actor="t")
    add_dataset(store, _csv(root / "eval.csv", data.eval), name="router-eval", actor="t")
    register_version(
        store,
        "router",
        actor="t",
        artifact=root / "v1.skops",
        datasets={"train": "router-train", "eval": "router-eval"},
    )


def test_the_default_calibration_set_is_the_suites_cases_grouped_by_slices(
    store: Store, tmp_path: Path
) -> None:
    _setup(store, tmp_path, "    calibration: {by: [short]}")
    cal = fit_calibrator(store, "router@1", project_dir=tmp_path, replicates=5)
    assert (cal.version, cal.dataset, cal.by, cal.unanswered) == (
        "router@1",
        "router-eval@1",
        ("short",),
        0,
    )
    assert cal.calibrator.cases == 900
    assert set(cal.calibrator.group_cases) == {"short", "rest"}
    # Stored as JSON and read back, it estimates live traffic as before.
    back = Calibrator.from_dict(json.loads(json.dumps(cal.to_dict()))["calibrator"])
    live = generate_records(300, seed=1)
    spec = get_service_spec(store, "router")
    suite = load_suite(spec, tmp_path)[0]
    groups = calibration_groups(live, [s for s in suite.slices if s.name in cal.by], "text")
    assert set(groups) <= {"short", "rest"}
    model = load_model(store, resolve_version(store, "router@1"), project_dir=tmp_path)
    out = model.predict_batch(live)
    assert out.scores is not None
    idx = [out.classes.index(lbl) for lbl in out.labels]
    est = estimate(back.sums(out.scores, idx, groups))
    assert est is not None
    assert est.count == 300


def test_the_training_set_is_refused_as_calibration_set(store: Store, tmp_path: Path) -> None:
    _setup(store, tmp_path, "    calibration: router-train")
    with pytest.raises(InvalidInputError) as err:
        fit_calibrator(store, "router@1", project_dir=tmp_path)
    assert "is the training set of router@1" in err.value.message
    assert "never trained on" in (err.value.hint or "")


def test_a_slice_the_suite_does_not_have_is_refused(store: Store, tmp_path: Path) -> None:
    _setup(store, tmp_path, "    calibration: {by: [long]}")
    with pytest.raises(InvalidInputError, match="slices its suite does not have: long"):
        fit_calibrator(store, "router@1", project_dir=tmp_path)


def test_the_calibration_field_is_validated_naming_its_line() -> None:
    text = PROJECT.format(calibration="    calibration: Not A Name")
    with pytest.raises(ProjectFileError) as err:
        parse_project(text, "liveops.yaml")
    assert "calibration" in str(err.value)
    assert "is not a dataset name" in str(err.value)
