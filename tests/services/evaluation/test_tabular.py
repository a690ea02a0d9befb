"""A tabular service through the evaluation API: scikit-learn's wine data, three numeric inputs
and a derived category, a real pipeline saved with skops, string labels.

- ``wine`` reads every column, ``ash`` optional; registered with its training dataset;
- ``strict`` reads the same columns, all required, and has no training dataset (the cases are
  its reference).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from liveops.core.evaluation.suite import CasesSpec, GateSpec, RobustnessSpec, Suite
from liveops.errors import InvalidInputError, UsageError
from liveops.services.datasets import add_dataset
from liveops.services.registry import apply_project, load_project, register_version
from liveops.store import open_store
from tests.services.evaluation.project import Project

NUMERIC = ["alcohol", "ash", "proline"]
INPUTS = [*NUMERIC, "region"]
CULTIVARS = ("barolo", "grignolino", "barbera")

PROJECT = """
services:
  - name: wine
    owner: cellar@example.com
    inputs:
      alcohol: {type: number, required: true}
      ash: {type: number}
      proline: {type: number, required: true}
      region: {type: string, required: true}
    output: {labels: [barolo, grignolino, barbera]}
    suite: suite.yaml
  - name: strict
    owner: cellar@example.com
    inputs:
      alcohol: {type: number, required: true}
      ash: {type: number, required: true}
      proline: {type: number, required: true}
      region: {type: string, required: true}
    output: {labels: [barolo, grignolino, barbera]}
    suite: suite.yaml
"""

SUITE = """
cases: {dataset: wine-eval, expected: cultivar}
metrics: [accuracy, macro_f1]
slice_by: [region, alcohol]
robustness:
  perturbations: [typos, numeric_noise, missing_value, unit_mistake, unseen_category]
  seed: 5
consistency: null
gates:
  - {metric: accuracy, slice: region=north, min: 0.5, kind: blocker}
latency_calls: 3
"""


def _rows() -> list[dict[str, Any]]:
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame
    rows = []
    for i, (_, r) in enumerate(frame.iterrows()):
        rows.append(
            {
                "alcohol": float(r["alcohol"]),
                "ash": float(r["ash"]),
                "proline": float(r["proline"]),
                "region": ("north", "south", "coast")[i % 3],
                "cultivar": CULTIVARS[int(r["target"])],
            }
        )
    return rows


def _csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    import pandas as pd

    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _train(rows: list[dict[str, Any]], path: Path) -> Path:
    import pandas as pd
    import skops.io as sio
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = pd.DataFrame(rows)
    features = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), NUMERIC),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["region"]),
        ]
    )
    pipe = Pipeline([("f", features), ("clf", LogisticRegression(max_iter=1000))])
    sio.dump(pipe.fit(frame[INPUTS], frame["cultivar"]), path)
    return path


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    root = tmp_path_factory.mktemp("tabular")
    (root / "liveops.yaml").write_text(PROJECT)
    (root / "suite.yaml").write_text(SUITE)
    rows = _rows()
    train, test = rows[::2], rows[1::2]
    model = _train(train, root / "model.skops")
    store = open_store("sqlite://", project_dir=root, artifacts_root=root / "artifacts")
    try:
        apply_project(store, load_project(root), actor="setup")
        add_dataset(store, _csv(root / "train.csv", train), name="wine-train", actor="setup")
        add_dataset(store, _csv(root / "eval.csv", test), name="wine-eval", actor="setup")
        trust = ["numpy.dtype"]
        register_version(
            store,
            "wine",
            actor="setup",
            artifact=model,
            trust=trust,
            datasets={"train": "wine-train@1"},
        )
        register_version(store, "strict", actor="setup", artifact=model, trust=trust)
        yield Project(root, store)
    finally:
        store.close()


def test_text_families_do_not_apply_and_the_tabular_ones_do(project: Project) -> None:
    s = project.eval("wine@1").summary.to_dict()
    rob = s["robustness"]
    assert s["text_field"] is None
    assert set(rob["families"]) == {
        "numeric_noise",
        "missing_value",
        "unit_mistake",
        "unseen_category",
    }
    assert rob["not_applicable"] == {
        "typos": "the model reads no text field (it reads: alcohol, ash, proline, region)"
    }
    n = s["cases"]
    assert rob["families"]["numeric_noise"]["predicted"] == n  # every case has numbers
    assert rob["families"]["missing_value"]["predicted"] == n  # ash is the one optional input
    # the overall values average the families that apply, typos left out
    invariances = [f["invariance"] for f in rob["families"].values()]
    assert rob["invariance"] == pytest.approx(sum(invariances) / len(invariances))
    # a x100 unit mistake on wine's proline or alcohol moves answers; small noise hardly does
    assert (
        rob["families"]["unit_mistake"]["invariance"]
        < rob["families"]["numeric_noise"]["invariance"]
    )


def test_a_family_with_nothing_to_change_is_not_applicable(project: Project) -> None:
    s = project.eval("strict@1").summary.to_dict()
    why = s["robustness"]["not_applicable"]["missing_value"]
    assert "no optional" in why
    assert "missing_value" not in s["robustness"]["families"]
    # no training dataset and no reference: the cases are the reference, and the run says so
    assert s["reference"]["dataset"] == "wine-eval@1"
    assert "the cases themselves" in s["reference"]["source"]


def test_slice_by_slices_are_stored_and_kept_when_the_reference_moves(project: Project) -> None:
    first = project.eval("wine@1")
    stored = first.summary.to_dict()["slice_by"]
    assert stored["reference"]["dataset"] == "wine-train@1"
    names = [x["name"] for x in stored["slices"]]
    assert set(names[:3]) == {"region=north", "region=south", "region=coast"}
    assert names[3] == "region=other"
    assert len([n for n in names if n.startswith("alcohol in [")]) == 4
    assert first.summary.to_dict()["metrics"]["slice:region=north"]["accuracy"]["n"] == 30
    verdict = next(v for v in first.verdicts if v.gate == "accuracy[region=north] >= 0.5")
    assert verdict.verdict == "pass"

    # A newer reference with other values: the bins of the first run are kept.
    strong = [r for r in _rows() if r["alcohol"] > 13.5]
    add_dataset(project.store, _csv(project.root / "t2.csv", strong), name="wine-train", actor="ci")
    register_version(
        project.store,
        "wine",
        actor="ci",
        artifact=project.root / "model.skops",
        trust=["numpy.dtype"],
        datasets={"train": "wine-train@2"},
    )
    second = project.eval("wine@2").summary.to_dict()
    assert second["reference"]["dataset"] == "wine-train@2"
    assert second["slice_by"]["slices"] == stored["slices"]
    # the run that made them (an earlier test's run of wine@1 may have been first)
    made_by = stored.get("fixed_by_run", first.run.id)
    assert second["slice_by"]["fixed_by_run"] == made_by
    assert made_by in {r.id for r in project.store.evaluation.list_runs("wine")}


def test_a_gate_on_a_slice_slice_by_does_not_make_is_refused(project: Project) -> None:
    suite = Suite(
        cases=CasesSpec(dataset="wine-eval", expected="cultivar"),
        metrics=["accuracy"],
        slice_by=["region"],
        consistency=None,
        robustness=RobustnessSpec(perturbations=["numeric_noise"]),
        gates=[GateSpec(metric="accuracy", slice="region=east", min=0.5, kind="blocker")],
        latency_calls=1,
    )
    with pytest.raises(InvalidInputError) as info:
        project.eval("strict@1", suite=suite)
    assert "unknown slice 'region=east'" in info.value.message
    assert "region=north" in str(info.value.hint)


def test_failure_examples_show_the_inputs(project: Project) -> None:
    s = project.eval("strict@1").summary.to_dict()
    examples = [e for g in s["failures"]["by_pair"] for e in g["examples"]]
    assert examples, "the model should miss a few wines"
    assert all(e["text"].startswith("alcohol=") and "region=" in e["text"] for e in examples)
    assert all("cultivar" not in e["text"] for e in examples)


def test_a_versions_cost_setting_prices_the_evaluation(project: Project) -> None:
    """A local model reports no cost: ``cost.per_1k`` in the version's config is what its
    answers cost, and a bad value is refused at registration, naming the setting."""
    priced = register_version(
        project.store,
        "strict",
        actor="ci",
        artifact=project.root / "model.skops",
        trust=["numpy.dtype"],
        config={"cost.per_1k": 0.25},
    ).version
    suite = Suite(
        cases=CasesSpec(dataset="wine-eval", expected="cultivar"),
        metrics=["accuracy", "cost"],
        consistency=None,
        robustness=None,
        latency_calls=1,
    )
    cost = project.eval(priced.ref, suite=suite).summary.to_dict()["builtins"]["cost.per_1k"]
    assert cost["value"] == pytest.approx(0.25)
    unpriced = project.eval("strict@1", suite=suite).summary.to_dict()["builtins"]
    assert unpriced["cost.per_1k"]["value"] == 0.0
    before = project.store.registry.list_versions("strict")
    for bad in (-1, "cheap", True):
        with pytest.raises(UsageError) as info:
            register_version(
                project.store,
                "strict",
                actor="ci",
                artifact=project.root / "model.skops",
                trust=["numpy.dtype"],
                config={"cost.per_1k": bad},
            )
        assert "cost.per_1k must be a number of 0 or more" in info.value.message
    assert project.store.registry.list_versions("strict") == before  # nothing half-registered
