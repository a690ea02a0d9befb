"""A second, non-demo service: a wine-cultivar classifier on numeric and categorical columns
(scikit-learn's wine data), saved with skops, and its rules."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

WINE_YAML = """
services:
  - name: wine
    owner: lab@example.com
    inputs:
      alcohol: {type: number, required: true}
      flavanoids: {type: number, required: true}
      color_intensity: {type: number, required: true}
      cellar: {type: enum, values: [north, south], required: true}
    model_inputs: [alcohol, flavanoids, color_intensity, cellar]
    output: {labels: [cultivar_a, cultivar_b, cultivar_c]}
    decision: DECISION
"""
RULES_FALLBACK = '{fallback: rules, rules: "wine_rules:classify"}'
NO_FALLBACK = "{}"
SAMPLE = {"alcohol": 13.2, "flavanoids": 2.8, "color_intensity": 4.4, "cellar": "north"}

RULES_MODULE = '''
def classify(inputs):
    """A sommelier's rule of thumb."""
    return "cultivar_c" if inputs["color_intensity"] > 7 else "cultivar_a"
'''


def wine_yaml(decision: str) -> str:
    return WINE_YAML.replace("DECISION", decision)


def train_wine(path: Path, c: float = 1.0) -> Path:
    """Logistic regression on three numeric columns and one categorical (one-hot) column."""
    import pandas as pd
    import skops.io as sio
    from sklearn.compose import ColumnTransformer
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    data = load_wine(as_frame=True)
    frame = data.frame[["alcohol", "flavanoids", "color_intensity"]].copy()
    frame["cellar"] = ["north" if i % 2 else "south" for i in range(len(frame))]
    names = ["cultivar_a", "cultivar_b", "cultivar_c"]
    labels = pd.Series([names[t] for t in data.target])
    prep = ColumnTransformer(
        [
            ("num", StandardScaler(), ["alcohol", "flavanoids", "color_intensity"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["cellar"]),
        ]
    )
    pipe = Pipeline([("prep", prep), ("clf", LogisticRegression(C=c, max_iter=1000))])
    pipe.fit(frame, labels)
    sio.dump(pipe, path)
    return path


def rules(inputs: Mapping[str, Any]) -> str | None:
    return "cultivar_c" if float(inputs["color_intensity"]) > 7 else "cultivar_a"
