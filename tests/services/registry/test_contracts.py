"""Labels and features are a contract between a version and its service (on every backend)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from liveops.errors import InvalidInputError, ModelUnavailableError
from liveops.services.evaluation.predict import predict
from liveops.services.registry import (
    load_model,
    register_version,
    resolve_version,
    set_alias,
)
from liveops.services.serving import load_serving_version
from liveops.store import Store
from tests.services.tabular import (
    CANCER_MAP,
    TUMOURS,
    apply_tabular,
    cancer_frame,
    cancer_model,
    rename_malignant,
    tumour,
    wine_model,
)


@pytest.fixture
def tabular(store: Store) -> Store:
    return apply_tabular(store)


@pytest.fixture
def zero_one(tmp_path: Path) -> Path:
    return cancer_model(tmp_path / "cancer.skops")


def test_a_0_1_model_is_refused_for_labels_benign_malignant(tabular: Store, zero_one: Path) -> None:
    with pytest.raises(InvalidInputError) as err:
        register_version(tabular, "tumours", actor="ann", artifact=zero_one)
    msg = err.value.message
    assert "classes are 0, 1" in msg
    assert "labels are benign, malignant" in msg
    assert "output.label_map" in (err.value.hint or "")
    assert tabular.registry.list_versions("tumours") == []  # nothing registered


def test_with_a_label_map_eval_and_the_gateway_answer_service_labels(
    tabular: Store, zero_one: Path
) -> None:
    r = register_version(
        tabular,
        "tumours",
        actor="ann",
        artifact=zero_one,
        config={"output.label_map": {0: "malignant", 1: "benign"}},  # YAML reads int keys
    )
    v = r.version
    assert v.config["output.label_map"] == CANCER_MAP
    assert v.lineage["classes"] == ["0", "1"]
    # the map is content: the same artifact with another map is another version
    flipped = register_version(
        tabular,
        "tumours",
        actor="ann",
        artifact=zero_one,
        config={"output.label_map": '{"0": "benign", "1": "malignant"}'},
    )
    assert flipped.created
    assert flipped.version.content_hash != v.content_hash

    x, _ = cancer_frame()
    records = [{k: float(x.iloc[i][k]) for k in TUMOURS} for i in range(40)]
    model = load_model(tabular, v)
    answers = predict(model, records)  # what evaluation sees
    assert answers.classes == ("malignant", "benign")
    raw = model.estimator.predict(x.iloc[:40])  # type: ignore[attr-defined]
    assert answers.labels == [CANCER_MAP[str(p)] for p in raw]
    assert set(answers.labels) == {"benign", "malignant"}

    set_alias(tabular, "tumours", "production", "1", actor="ann")
    serving = load_serving_version(tabular, "tumours", 1)  # what the gateway loads
    out = serving.model.predict_batch([tumour(0), tumour(19)])
    assert out.labels == ["malignant", "benign"]  # rows 0 and 19 are 0 and 1 in the data
    assert out.classes == ("malignant", "benign")


@pytest.mark.parametrize(
    ("label_map", "problem"),
    [
        ({"0": "malignant"}, "does not map the classes 1"),
        ({"0": "malignant", "1": "harmless"}, "1 -> harmless"),
        ({"0": "malignant", "1": "benign", "2": "benign"}, "classes the model does not have: 2"),
        ({"0": "malignant", "1": "malignant"}, "several classes onto malignant"),
    ],
)
def test_a_bad_label_map_is_refused_saying_why(
    tabular: Store, zero_one: Path, label_map: dict[str, str], problem: str
) -> None:
    with pytest.raises(InvalidInputError, match=problem):
        register_version(
            tabular,
            "tumours",
            actor="ann",
            artifact=zero_one,
            config={"output.label_map": label_map},
        )


def test_alias_set_and_routing_refuse_a_version_after_the_labels_changed(
    tabular: Store, zero_one: Path
) -> None:
    register_version(
        tabular, "tumours", actor="ann", artifact=zero_one, config={"output.label_map": CANCER_MAP}
    )
    set_alias(tabular, "tumours", "production", "1", actor="ann")
    # service apply renames a label: version 1 answers a label the service no longer has
    rename_malignant(tabular)
    with pytest.raises(InvalidInputError) as err:
        set_alias(tabular, "tumours", "candidate", "1", actor="ann")
    assert "malignant" in err.value.message
    assert "benign, cancer" in err.value.message
    assert "candidate" not in tabular.registry.aliases_of("tumours")
    loaded = load_serving_version(tabular, "tumours", 1)  # the gateway: a load failure
    assert loaded.load_error is not None
    assert "tumours@1 cannot serve tumours" in loaded.load_error
    with pytest.raises(ModelUnavailableError, match="cannot serve tumours"):
        loaded.model.predict_batch([tumour(0)])


def test_a_version_registered_before_classes_were_recorded_is_checked_by_loading_it(
    tabular: Store, zero_one: Path, tmp_path: Path
) -> None:
    target = cancer_frame()[1].map({0: "malignant", 1: "benign"})
    model = cancer_model(tmp_path / "named.skops", target=target)
    v = register_version(tabular, "tumours", actor="ann", artifact=model).version
    with tabular.write() as conn:  # as main registered it: no classes in the lineage
        from sqlalchemy import update

        from liveops.store.tables import versions

        lineage = {k: val for k, val in v.lineage.items() if k != "classes"}
        conn.execute(update(versions).values(lineage=lineage))
    assert "classes" not in resolve_version(tabular, "tumours@1").lineage
    rename_malignant(tabular)
    with pytest.raises(InvalidInputError, match="malignant"):
        set_alias(tabular, "tumours", "production", "1", actor="ann")


def test_feature_names_that_differ_from_model_inputs_are_refused(
    tabular: Store, tmp_path: Path
) -> None:
    other = cancer_model(
        tmp_path / "other.skops", columns=["mean_radius", "mean_texture", "worst_area"]
    )
    with pytest.raises(InvalidInputError) as err:
        register_version(
            tabular, "tumours", actor="ann", artifact=other, config={"output.label_map": CANCER_MAP}
        )
    assert "fitted on worst_area, which model_inputs does not list" in err.value.message
    assert "model_inputs lists mean_area, which the model was not fitted on" in err.value.message


def test_feature_order_does_not_matter_the_model_gets_its_own_order(
    tabular: Store, tmp_path: Path
) -> None:
    shuffled = cancer_model(tmp_path / "shuffled.skops", columns=TUMOURS[::-1])
    v = register_version(
        tabular, "tumours", actor="ann", artifact=shuffled, config={"output.label_map": CANCER_MAP}
    ).version
    out = load_model(tabular, v).predict_batch([tumour(0), tumour(19)])
    assert out.labels == ["malignant", "benign"]


def test_a_model_without_feature_names_warns_once_and_never_per_request(
    tabular: Store, tmp_path: Path
) -> None:
    bare = cancer_model(tmp_path / "bare.skops", names=False)
    with pytest.warns(UserWarning, match="fitted without feature names") as caught:
        r = register_version(
            tabular, "tumours", actor="ann", artifact=bare, config={"output.label_map": CANCER_MAP}
        )
    assert len([w for w in caught if "feature names" in str(w.message)]) == 1
    assert any("model_inputs order (mean_radius" in n for n in r.warnings)
    model = load_model(tabular, r.version)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for i in range(50):
            out = model.predict_batch([tumour(i), tumour(i + 1)])
    assert seen == [], [str(w.message) for w in seen[:3]]
    assert out.labels[0] in ("benign", "malignant")


def test_a_categorical_pipeline_serves_without_warnings(tabular: Store, tmp_path: Path) -> None:
    v = register_version(
        tabular, "wines", actor="ann", artifact=wine_model(tmp_path / "wine.skops")
    ).version
    assert v.lineage["feature_names"] == ["alcohol", "region"]
    model = load_model(tabular, v)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        labels = [
            model.predict_batch([{"alcohol": 12.0, "region": "north"}]).labels[0] for _ in range(20)
        ]
    assert seen == []
    assert set(labels) == {"white"}


def test_a_service_label_no_class_reaches_is_a_warning_not_a_refusal(
    store: Store, zero_one: Path
) -> None:
    apply_tabular(store, labels_extra=", unsure")
    r = register_version(
        store, "tumours", actor="ann", artifact=zero_one, config={"output.label_map": CANCER_MAP}
    )
    assert r.created
    assert r.warnings == [
        "the model (cancer.skops) never answers the labels unsure (the model has no class for them)"
    ]
    set_alias(store, "tumours", "production", "1", actor="ann")  # a subset still matches
