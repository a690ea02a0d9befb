"""A project for the batch tests: a text router (a real TF-IDF pipeline with the demo's rules
and the sensitive-input hold) and a tabular service (the breast-cancer pipeline of
:mod:`tests.tabular`), each with version 1 in production, and input files for them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from liveops.core.project import parse_project
from liveops.services.registry import apply_project, register_version, set_alias
from liveops.store import open_store
from tests.services.conftest import train_tiny
from tests.tabular import train_cancer

PROJECT_YAML = """
services:
  - name: router
    owner: team@example.com
    risk: low
    inputs:
      text: {type: string, required: true, max_length: 200}
      channel: {type: enum, values: [email, chat]}
    model_inputs: [text]
    output: {labels: [billing, technical]}
    decision:
      threshold: 0.6
      below_threshold: fallback
      fallback: rules
      rules: "liveops.demo.rules:route"
      sensitive_input: human_review
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

TEXTS = [
    "charged twice on my card",
    "refund my invoice please",
    "app crashes on login",
    "error 500 when saving",
    "hello there",
    "my card 4111 1111 1111 1111 was charged",
    "cannot login, refund?",
    "invoice error",
]


def make_project(folder: Path, database_url: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "liveops.yaml").write_text(PROJECT_YAML)
    store = open_store(database_url, project_dir=folder)
    try:
        apply_project(store, parse_project(PROJECT_YAML, "liveops.yaml"), actor="tester")
        register_version(store, "router", actor="tester", artifact=train_tiny(folder / "r.skops"))
        register_version(store, "cancer", actor="tester", artifact=train_cancer(folder / "c.skops"))
        for name in ("router", "cancer"):
            set_alias(store, name, "production", "1", actor="tester")
    finally:
        store.close()
    return folder


def router_rows(n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"t{i}",
            "text": TEXTS[i % len(TEXTS)] + f" #{i % 7}",
            "channel": ["email", "chat"][i % 2],
        }
        for i in range(n)
    ]


def cancer_rows(n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "mean_radius": 8.0 + (i * 7919 % 1300) / 100,
            "mean_texture": 10.0 + (i * 104729 % 1900) / 100,
            "clinic": ["north", "south"][i % 2],
        }
        for i in range(n)
    ]


def write_parquet(path: Path, rows: list[dict[str, Any]], row_group: int = 1000) -> Path:
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=row_group)
    return path
