"""A new user's tabular service, end to end through the real CLI (issue 8, "done means").

scikit-learn's breast-cancer data: six numeric inputs (two of them optional) and a category
derived from one of them, a pipeline trained with scikit-learn and saved with skops, string
labels. In a fresh folder: ``service apply``, ``dataset add``, ``register``, ``eval`` (exit 0,
the numeric and categorical perturbation families applied, typos not applicable), the review
readiness asks for, ``readiness`` (pass), then ``serve`` answers one request. liveops' metrics
on the eval rows equal scikit-learn's on the same rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.cli_runner import Runner

pytestmark = pytest.mark.slow

FEATURES = {
    "mean_radius": "mean radius",
    "mean_texture": "mean texture",
    "mean_smoothness": "mean smoothness",
    "mean_concavity": "mean concavity",
    "worst_area": "worst area",
    "worst_symmetry": "worst symmetry",
}
OPTIONAL = ("mean_smoothness", "worst_symmetry")
NUMERIC = list(FEATURES)
INPUTS = [*NUMERIC, "size"]

PROJECT = """
services:
  - name: tumour
    owner: clinic@example.com
    inputs:
      mean_radius: {type: number, required: true}
      mean_texture: {type: number, required: true}
      mean_smoothness: {type: number}
      mean_concavity: {type: number, required: true}
      worst_area: {type: number, required: true}
      worst_symmetry: {type: number}
      size: {type: string, required: true}
    output: {labels: [benign, malignant]}
    decision: {threshold: 0.5, below_threshold: human_review}
    suite: suites/tumour.yaml
"""

SUITE = """
cases: {dataset: tumour-eval, expected: diagnosis}
metrics: [accuracy, macro_f1, per_class]
slice_by: [size, worst_area]
robustness:
  perturbations: [numeric_noise, missing_value, out_of_range, unit_mistake, unseen_category, typos]
  seed: 3
probes:
  - name: a large irregular mass is malignant
    inputs: {mean_radius: 21.0, mean_texture: 25.0, mean_smoothness: 0.11, mean_concavity: 0.25,
             worst_area: 2000.0, worst_symmetry: 0.35, size: large}
    expect: {label: malignant}
  - name: a small smooth mass is benign
    inputs: {mean_radius: 11.0, mean_texture: 17.0, mean_smoothness: 0.09, mean_concavity: 0.02,
             worst_area: 450.0, worst_symmetry: 0.26, size: small}
    expect: {label: benign}
gates:
  - {metric: accuracy, min: 0.85, kind: blocker}
  - {metric: per_class.malignant.recall, min: 0.75, kind: blocker}
  - {metric: accuracy, slice: size=large, min: 0.6, kind: guardrail}
  - {metric: robustness.invariance, min: 0.5, kind: guardrail}
latency_calls: 5
review:
  rubric:
    - {name: plausible, scale: [yes, no]}
"""


def _size(radius: float) -> str:
    return "small" if radius < 12.0 else "medium" if radius < 15.0 else "large"


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    data = load_breast_cancer(as_frame=True)
    frame = data.frame.rename(columns={v: k for k, v in FEATURES.items()})[NUMERIC].copy()
    frame["size"] = [_size(r) for r in frame["mean_radius"]]
    # String labels: the registry maps nothing here (0 is malignant in this data set).
    frame["diagnosis"] = np.where(data.target == 0, "malignant", "benign")
    train, test = train_test_split(
        frame, test_size=0.3, random_state=0, stratify=frame["diagnosis"]
    )
    return train.reset_index(drop=True), test.reset_index(drop=True)


def _train(train: pd.DataFrame, path: Path) -> Any:
    import skops.io as sio
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    features = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUMERIC),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["size"]),
        ]
    )
    pipe = Pipeline([("features", features), ("clf", LogisticRegression(max_iter=1000))])
    pipe.fit(train[INPUTS], train["diagnosis"])
    sio.dump(pipe, path)
    return pipe


def test_a_new_user_builds_evaluates_readies_and_serves_a_tabular_service(
    run_cli: Runner, tmp_path: Path
) -> None:
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    (tmp_path / "liveops.yaml").write_text(PROJECT)
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "tumour.yaml").write_text(SUITE)
    train, test = _frames()
    train.to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "eval.csv", index=False)
    pipe = _train(train, tmp_path / "model.skops")

    for args in (
        ("service", "apply"),
        ("dataset", "add", "train.csv", "--name", "tumour-train"),
        ("dataset", "add", "eval.csv", "--name", "tumour-eval"),
        # OneHotEncoder keeps a numpy dtype, which skops asks the user to trust (the CLI says so)
        (
            "register",
            "tumour",
            "--artifact",
            "model.skops",
            "--trust",
            "numpy.dtype",
            "--train-dataset",
            "tumour-train",
        ),
    ):
        r = run_cli(*args)
        assert r.code == 0, (args, r.out, r.err)

    r = run_cli("eval", "tumour@1", "--json")
    assert r.code == 0, r.err
    run = r.json()
    s = run["summary"]
    assert s["text_field"] is None
    assert s["reference"]["dataset"] == "tumour-train@1"

    # The numeric and categorical families changed what the model reads; typos could not.
    rob = s["robustness"]
    applied = set(rob["families"])
    assert applied == {
        "numeric_noise",
        "missing_value",
        "out_of_range",
        "unit_mistake",
        "unseen_category",
    }
    assert all(f["predicted"] > 0 for f in rob["families"].values())
    assert "no text field" in rob["not_applicable"]["typos"]
    assert rob["invariance"] is not None

    # slice_by made the size categories (plus other) and quartile bins of worst_area.
    slice_names = [x["name"] for x in s["slice_by"]["slices"]]
    assert {"size=large", "size=medium", "size=small", "size=other"} <= set(slice_names)
    area_bins = [n for n in slice_names if n.startswith("worst_area in [")]
    assert len(area_bins) == 4
    assert sum(s["metrics"][f"slice:{n}"]["accuracy"]["n"] for n in area_bins) == len(test)
    verdicts = {g["gate"]: g["verdict"] for g in s["gates"]}
    assert verdicts["accuracy[size=large] >= 0.6"] == "pass"

    # Failure examples show the row's inputs, since there is no text.
    examples = [e for g in s["failures"]["by_pair"] for e in g["examples"]]
    assert examples
    assert all("mean_radius=" in e["text"] for e in examples)
    shown = run_cli("runs", "show", run["id"], "--html", "report.html")
    assert shown.code == 0, shown.err
    assert "mean_radius=" in shown.out
    assert "n/a typos: the model reads no text" in shown.out
    assert "mean_radius=" in (tmp_path / "report.html").read_text()

    # liveops' metrics equal scikit-learn's on the same rows.
    rows = pd.read_csv(tmp_path / "eval.csv")
    y_pred = pipe.predict(rows[INPUTS])
    y_true = rows["diagnosis"]
    overall = s["metrics"]["overall"]
    assert overall["accuracy"]["value"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert overall["macro_f1"]["value"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    for label in ("benign", "malignant"):
        assert s["per_class"][label]["recall"] == pytest.approx(
            recall_score(y_true, y_pred, pos_label=label)
        )

    # Readiness asks for a human review: two reviewers agree on a small sample.
    r = run_cli("review", "create", "--from-eval", run["id"], "--sample", "4", "--json")
    assert r.code == 0, r.err
    review = r.json()
    for reviewer in ("ann", "bob"):
        for item, value in zip(review["items"], ["yes", "no", "yes", "no"], strict=True):
            r = run_cli("review", "submit", item, "--score", f"plausible={value}", "--as", reviewer)
            assert r.code == 0, r.err

    r = run_cli("readiness", "tumour@1", "--json")
    ready = r.json()
    by_name = {c["name"]: c for c in ready["checks"]}
    assert by_name["perturbation typos"]["status"] == "not_applicable"
    assert by_name["robustness under perturbation"]["status"] == "pass"
    assert r.code == 0, ready["checks"]
    assert ready["status"] == "pass", ready["checks"]
    human = run_cli("readiness", "tumour@1")
    assert "not applicable" in human.out

    assert run_cli("alias", "set", "tumour", "production", "1").code == 0
    from tests.server.conftest import start_server

    server = start_server(tmp_path)
    try:
        row = rows.iloc[0]
        inputs = {k: (row[k].item() if k != "size" else row[k]) for k in INPUTS}
        with server.client() as c:
            answer = c.post("/v1/services/tumour/predict", json={"inputs": inputs})
        assert answer.status_code == 200, answer.text
        assert answer.json()["label"] == y_pred[0]
    finally:
        server.stop()
