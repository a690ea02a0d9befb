"""A second, non-demo service: a wine-cultivar classifier on numeric and categorical columns
(scikit-learn's wine data), saved with skops, and its rules."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from liveops.core.project import parse_project
from liveops.services.registry import apply_project, register_version, resolve_version, set_alias
from liveops.store import open_store

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


def make_wine(project: Path, decision: str, versions: int = 1) -> str:
    """The wine service with ``versions`` versions (the last in production) and a rules module
    in the project folder; returns the rules module's name (unique: modules are cached)."""
    module = f"wine_rules_{uuid.uuid4().hex[:8]}"
    project.mkdir(parents=True, exist_ok=True)
    (project / f"{module}.py").write_text(RULES_MODULE)
    yaml = wine_yaml(decision.replace("wine_rules", module))
    (project / "liveops.yaml").write_text(yaml)
    store = open_store(project_dir=project)
    apply_project(store, parse_project(yaml), actor="tester")
    for n in range(1, versions + 1):
        artifact = train_wine(project / f"wine-{n}.skops", c=1.0 / n)
        # an earlier version predates the fallback settings: it is the plain model
        plain = {"fallback": None, "rules": None} if n < versions else None
        register_version(store, "wine", actor="tester", artifact=artifact, config=plain)
    set_alias(store, "wine", "production", str(versions), actor="tester")
    store.close()
    return module


def corrupt(project: Path, ref: str, junk: bytes = b"tampered") -> None:
    """Change a stored artifact on disk, as a bad restore or an edit would."""
    store = open_store(project_dir=project)
    try:
        path = store.artifacts.path_of(resolve_version(store, ref).artifact_hash)
    finally:
        store.close()
    path.chmod(0o644)
    with path.open("ab") as f:
        f.write(junk)
