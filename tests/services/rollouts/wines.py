"""A tabular service for rollout tests (not the demo's text router): wines classified red or
white from the alcohol level and the region, with a suite, an evaluation dataset and a rollout
plan keyed by the customer field. ``wine_model(flip_south=True)`` is right in the north and
wrong in the south: half right overall, so it passes a lenient offline gate and fails a live
accuracy guardrail."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from liveops.core.project import parse_project
from liveops.core.serving.prediction import PredictionRecord
from liveops.services.datasets import add_dataset
from liveops.services.evaluation import run_eval
from liveops.services.predictions.direct import DirectLog
from liveops.services.registry import apply_project, register_version, set_alias
from liveops.store import Store

PLAN = """
    rollout:
      key: {field: customer}
      steps:
        - {shadow: 100%, min_duration: 10m, min_sample: 40}
        - {canary: 50%, min_duration: 10m, min_sample: 40}
        - {canary: 100%, min_duration: 10m, min_sample: 40}
      gates:
        - {metric: accuracy, kind: guardrail, not_worse_than: baseline, margin: 0.05,
           min_sample: 30}
        - {metric: error_rate, kind: guardrail, not_worse_than: baseline, margin: 0.02,
           min_sample: 30}
        - {metric: accuracy, slice: south, kind: guardrail, not_worse_than: baseline,
           margin: 0.05, min_sample: 10}
        - {metric: latency.p95_ms, kind: guardrail, not_worse_than: baseline, margin: 50,
           min_sample: 30}
"""

PROJECT = """
services:
  - name: wines
    owner: cellar@example.com
    inputs:
      alcohol: {type: number, required: true}
      region: {type: enum, values: [north, south], required: true}
      customer: {type: string}
    model_inputs: [alcohol, region]
    output: {labels: [red, white]}
    suite: suite.yaml
SERVING
PLAN"""

SUITE = """
cases: {dataset: wines-eval, expected: label}
metrics: [accuracy]
slices:
  - {name: south, where: {region: south}}
gates:
  - {metric: accuracy, min: 0.4, kind: blocker}
latency_calls: 1
"""


def wine(i: int) -> dict[str, Any]:
    """Record ``i``: red above 12 % alcohol, white below; north on even i, south on odd."""
    alcohol = 10.0 + (i * 7 % 40) / 10.0  # 10.0 .. 13.9
    return {"alcohol": alcohol, "region": "north" if i % 2 == 0 else "south"}


def truth(record: Mapping[str, Any]) -> str:
    return "red" if float(record["alcohol"]) > 12.0 else "white"


class WineModel:
    """An entry-point model: red above 12 % alcohol; ``flip_south`` answers the opposite in
    the south; ``slow_ms`` sleeps per batch."""

    classes = ("red", "white")

    def __init__(self, *, flip_south: bool = False, sure: float = 0.95) -> None:
        self.flip_south = flip_south
        self.sure = sure

    def predict_batch(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for r in records:
            label = truth(r)
            if self.flip_south and r.get("region") == "south":
                label = "white" if label == "red" else "red"
            other = "white" if label == "red" else "red"
            out.append({"label": label, "scores": {label: self.sure, other: 1 - self.sure}})
        return out


def good() -> WineModel:
    return WineModel()


def bad_south() -> WineModel:
    return WineModel(flip_south=True)


def good_too() -> WineModel:
    return WineModel(sure=0.9)


class AllWrong(WineModel):
    def predict_batch(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        out = super().predict_batch(records)
        for o in out:
            o["label"] = "white" if o["label"] == "red" else "red"
            o["scores"] = {k: 1 - v for k, v in o["scores"].items()}
        return out


class Slow(WineModel):
    def predict_batch(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        time.sleep(0.1)  # per call: one answer at a time in a gateway with max_batch_size 1
        return super().predict_batch(records)


def slow() -> WineModel:
    return Slow()


def all_wrong() -> WineModel:
    return AllWrong()


APPROVALS = """
approvals:
  groups: {cellar: [ann, bo], security: [dee]}
  low: [cellar]
  overrides: security
"""


def project(
    store: Store, folder: Path, *, plan: str = PLAN, extra: str = "", serving: str = ""
) -> Path:
    """The wines project: v1 production, v2 (wrong in the south) and v3 (good), v2 and v3
    evaluated on the current suite (both pass its lenient blocker)."""
    folder.mkdir(parents=True, exist_ok=True)
    text = PROJECT.replace("SERVING\n", serving).replace("PLAN", plan) + extra
    (folder / "liveops.yaml").write_text(text)
    (folder / "suite.yaml").write_text(SUITE)
    rows = [wine(i) for i in range(60)]
    csv = "alcohol,region,label\n" + "".join(
        f"{r['alcohol']},{r['region']},{truth(r)}\n" for r in rows
    )
    (folder / "eval.csv").write_text(csv)
    apply_project(store, parse_project(text), actor="ann")
    add_dataset(store, folder / "eval.csv", name="wines-eval", actor="ann")
    return folder


class DirectSink:
    """The gateway's prediction log, storing at once (DirectLog) so a look sees every answer
    the moment it was given."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._log = DirectLog(store)

    def submit(self, records: Sequence[PredictionRecord]) -> None:
        self._log.store(records)

    def issued(self, prediction_id: str) -> bool:
        return self._store.predictions.exists(prediction_id)

    def stats(self) -> Mapping[str, float]:
        return {"backlog": 0.0, "spool_bytes": 0.0, "database_ok": 1.0}

    def close(self) -> None:
        pass


def register(store: Store, model: str, *, folder: Path, evaluate: bool = True) -> int:
    """Register ``tests.services.rollouts.wines:MODEL`` (evaluated on the suite)."""
    reg = register_version(
        store, "wines", actor="ann", entrypoint=f"tests.services.rollouts.wines:{model}"
    )
    number = int(reg.version.number)
    if evaluate:
        run_eval(store, f"wines@{number}", actor="ci", project_dir=folder, resamples=50)
    return number


def production(store: Store, number: int) -> None:
    set_alias(store, "wines", "production", str(number), actor="ann")
