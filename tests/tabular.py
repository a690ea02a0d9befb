"""A second, tabular service for CLI and server tests: scikit-learn's breast-cancer data with
two numeric columns and a categorical one (a made-up clinic), not the demo's text router."""

from __future__ import annotations

from pathlib import Path

TABULAR_YAML = """
services:
  - name: cancer
    owner: oncology@example.com
    risk: high
    inputs:
      mean_radius: {type: number, required: true, min: 0}
      mean_texture: {type: number, required: true, min: 0}
      clinic: {type: enum, values: [north, south]}
    output: {labels: [malignant, benign]}
    decision:
      threshold: 0.8
      below_threshold: human_review
"""


def train_cancer(path: Path, c: float = 1.0) -> Path:
    """A real pipeline (scaling, one-hot, logistic regression) saved with skops."""
    import numpy as np
    import pandas as pd
    import skops.io as sio
    from sklearn.compose import ColumnTransformer
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    data = load_breast_cancer()
    x = pd.DataFrame(data.data[:, :2], columns=["mean_radius", "mean_texture"])
    x["clinic"] = np.where(np.arange(len(x)) % 2 == 0, "north", "south")
    y = np.asarray(data.target_names)[data.target]
    pipe = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [
                        ("num", StandardScaler(), ["mean_radius", "mean_texture"]),
                        ("cat", OneHotEncoder(handle_unknown="ignore"), ["clinic"]),
                    ]
                ),
            ),
            ("clf", LogisticRegression(C=c)),
        ]
    ).fit(x, y)
    sio.dump(pipe, path)
    return path
