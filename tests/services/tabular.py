"""A second, tabular service for contract tests: scikit-learn's breast-cancer data (numeric
columns, a 0/1 target where 0 is malignant) and a hand-made frame with a categorical column."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from liveops.core.project import parse_project
from liveops.services.registry import apply_project
from liveops.store import Store

TUMOURS = ["mean_radius", "mean_texture", "mean_area"]

PROJECT_YAML = """
services:
  - name: tumours
    owner: onc@example.com
    inputs:
      mean_radius: {type: number, required: true}
      mean_texture: {type: number, required: true}
      mean_area: {type: number, required: true}
      clinic: {type: enum, values: [north, south]}
    model_inputs: [mean_radius, mean_texture, mean_area]
    output: {labels: [benign, malignantLABELS_EXTRA]}
  - name: wines
    owner: cellar@example.com
    inputs:
      alcohol: {type: number, required: true}
      region: {type: enum, values: [north, south], required: true}
    output: {labels: [red, white]}
"""

# sklearn's breast-cancer target: 0 is malignant, 1 benign
CANCER_MAP = {"0": "malignant", "1": "benign"}


def tabular_yaml(*, labels_extra: str = "") -> str:
    return PROJECT_YAML.replace("LABELS_EXTRA", labels_extra)


def apply_tabular(store: Store, *, labels_extra: str = "") -> Store:
    apply_project(store, parse_project(tabular_yaml(labels_extra=labels_extra)), actor="ann")
    return store


def rename_malignant(store: Store) -> None:
    """``service apply`` of a project whose tumours labels are ``benign, cancer``."""
    renamed = tabular_yaml().replace("[benign, malignant]", "[benign, cancer]")
    apply_project(store, parse_project(renamed), actor="ann")


def cancer_frame() -> tuple[Any, Any]:
    """The breast-cancer features (three columns, renamed as model_inputs) and the 0/1 target."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    frame = data.frame.rename(columns=lambda c: c.replace(" ", "_"))
    return frame[TUMOURS], data.target


def cancer_model(
    path: Path, *, columns: list[str] | None = None, names: bool = True, target: Any = None
) -> Path:
    """A logistic regression on the breast-cancer columns, saved with skops. ``names=False``
    fits it on a numpy array (no ``feature_names_in_``); ``target`` replaces the 0/1 target."""
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = cancer_frame()
    if columns is not None:
        from sklearn.datasets import load_breast_cancer

        full = load_breast_cancer(as_frame=True).frame.rename(columns=lambda c: c.replace(" ", "_"))
        x = full[columns]
    if target is not None:
        y = target
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(x if names else x.to_numpy(), y)
    sio.dump(model, path)
    return path


def wine_model(path: Path) -> Path:
    """A pipeline on a hand-made frame: a number and a category, one-hot encoded inside."""
    import pandas as pd
    import skops.io as sio
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame = pd.DataFrame(
        {
            "alcohol": [12.0, 13.5, 11.0, 14.2, 12.8, 10.5] * 5,
            "region": ["north", "south", "north", "south", "south", "north"] * 5,
        }
    )
    y = ["white", "red", "white", "red", "red", "white"] * 5
    enc = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["region"]), remainder="passthrough"
    )
    model = make_pipeline(enc, LogisticRegression()).fit(frame, y)
    sio.dump(model, path)
    return path


def tumour(i: int = 0) -> dict[str, Any]:
    """One record of the breast-cancer data as a request's inputs."""
    x, _ = cancer_frame()
    row = x.iloc[i]
    return {k: float(row[k]) for k in TUMOURS}
