"""A small applied project and tiny real models for service tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from liveops.core.project import parse_project
from liveops.services.registry import apply_project
from liveops.store import Store

PROJECT_YAML = """
services:
  - name: router
    owner: team@example.com
    risk: low
    inputs:
      text: {type: string, required: true, max_length: 500}
      channel: {type: enum, values: [email, chat]}
    model_inputs: [text]
    output: {labels: [billing, technical]}
    decision:
      threshold: 0.75
      below_threshold: human_review
      fallback: rules
      rules: "liveops.demo.rules:route"
"""


def train_tiny(path: Path, c: float = 1.0) -> Path:
    """A real TF-IDF + logistic regression pipeline saved with skops."""
    import skops.io as sio
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    texts = [
        "charged twice on my card",
        "refund my invoice",
        "app crashes on login",
        "error 500 when saving",
    ] * 3
    labels = ["billing", "billing", "technical", "technical"] * 3
    pipe = Pipeline([("tfidf", TfidfVectorizer()), ("clf", LogisticRegression(C=c))]).fit(
        texts, labels
    )
    sio.dump(pipe, path)
    return path


@pytest.fixture
def applied(store: Store) -> Store:
    apply_project(store, parse_project(PROJECT_YAML, "liveops.yaml"), actor="ann")
    return store


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    return train_tiny(tmp_path / "model.skops")
