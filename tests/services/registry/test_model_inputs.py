"""What a scikit-learn model receives, exactly as docs/models.md says (one input, several,
with and without feature names; dtypes per input type and with missing values)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from liveops.services.registry import SklearnModel

FIELDS = ["text", "amount", "count", "flag", "region"]
FULL = {"text": "a", "amount": 1.5, "count": 3, "flag": True, "region": "north"}
SPARSE = {"text": None, "amount": 2, "count": None, "flag": None, "region": "south"}


class Recorder:
    """Stands in for a fitted estimator: keeps what predict_proba was given."""

    classes_ = np.array([0, 1])

    def __init__(self, names: list[str] | None = None) -> None:
        if names is not None:
            self.feature_names_in_ = np.array(names, dtype=object)
        self.seen: Any = None

    def predict_proba(self, x: Any) -> np.ndarray[Any, Any]:
        self.seen = x
        return np.tile([0.25, 0.75], (len(x), 1))


def test_one_input_without_names_is_a_plain_list_missing_as_empty() -> None:
    est = Recorder()
    SklearnModel(est, ["text"]).predict_batch([FULL, SPARSE])
    assert est.seen == ["a", ""]


def test_a_model_with_names_gets_a_dataframe_in_its_own_order_with_documented_dtypes() -> None:
    est = Recorder(FIELDS[::-1])
    out = SklearnModel(est, FIELDS, {"0": "no", "1": "yes"}).predict_batch([FULL, FULL])
    x = est.seen
    assert isinstance(x, pd.DataFrame)
    assert list(x.columns) == FIELDS[::-1]
    dtypes = {c: str(t) for c, t in x.dtypes.items()}
    assert dtypes == {
        "region": "str",
        "flag": "bool",
        "count": "int64",
        "amount": "float64",
        "text": "str",
    }
    assert out.labels == ["yes", "yes"]
    assert out.classes == ("no", "yes")


def test_missing_values_change_integer_and_boolean_columns() -> None:
    est = Recorder(FIELDS)
    SklearnModel(est, FIELDS).predict_batch([FULL, SPARSE])
    x = est.seen
    dtypes = {c: str(t) for c, t in x.dtypes.items()}
    assert dtypes == {
        "text": "str",
        "amount": "float64",
        "count": "float64",
        "flag": "object",
        "region": "str",
    }
    assert pd.isna(x["text"][1])
    assert np.isnan(x["count"][1])
    assert x["flag"][1] is None
    assert x["amount"].tolist() == [1.5, 2.0]


def test_a_single_input_model_with_names_gets_a_dataframe() -> None:
    est = Recorder(["amount"])
    SklearnModel(est, ["amount"]).predict_batch([FULL, SPARSE])
    assert isinstance(est.seen, pd.DataFrame)
    assert est.seen["amount"].tolist() == [1.5, 2.0]


def test_several_inputs_without_names_are_a_numpy_array_in_model_inputs_order() -> None:
    est = Recorder()
    SklearnModel(est, ["count", "amount"]).predict_batch([FULL, FULL])
    assert isinstance(est.seen, np.ndarray)
    assert est.seen.dtype == np.float64
    assert est.seen.tolist() == [[3.0, 1.5], [3.0, 1.5]]
    est = Recorder()
    SklearnModel(est, ["amount", "region"]).predict_batch([FULL, SPARSE])
    assert est.seen.dtype == object
    assert est.seen.tolist() == [[1.5, "north"], [2.0, "south"]]
