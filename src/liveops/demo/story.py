"""The demo story, stage by stage: data, datasets, v1 live, a retrained v2, their evaluation,
a small human review and launch readiness, then a simulated week of live traffic on v1 and
what the monitor saw, then a rollout day: v2 rolled back by its Spanish guardrail, v3 released
and rolled out to 100 %.

Each stage skips what is already done, so running the demo again is safe; ``reset`` starts
over. Stages after registration live in modules of their own (``stage_eval``,
``stage_review``, ``stage_week``, ``stage_rollout``).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from liveops.core.readiness import Readiness
from liveops.core.records import DatasetRecord, VersionRecord
from liveops.demo.stage_eval import Detail, EvaluatedVersion, run_eval_stage
from liveops.demo.stage_incident import StoryClock
from liveops.demo.stage_review import run_review_stage
from liveops.demo.stage_rollout import RolloutResult, run_rollout_stage
from liveops.demo.stage_week import WeekResult, run_week_stage
from liveops.services.datasets import add_dataset
from liveops.services.registry import apply_project, load_project, register_version, set_alias
from liveops.store import Store, open_store

SERVICE = "support-router"
V2_THRESHOLD = 0.68
Progress = Callable[[str], None]


@dataclass
class DemoResult:
    folder: Path
    store_url: str
    steps: list[tuple[str, str]] = field(default_factory=list)  # (step, done | skipped)
    datasets: list[DatasetRecord] = field(default_factory=list)
    versions: list[VersionRecord] = field(default_factory=list)
    aliases: dict[str, int] = field(default_factory=dict)
    evaluations: list[EvaluatedVersion] = field(default_factory=list)
    reviews: dict[str, str] = field(default_factory=dict)  # version ref -> review id
    readiness: dict[str, Readiness] = field(default_factory=dict)
    week: WeekResult | None = None
    rollout: RolloutResult | None = None
    key: str = ""  # a predictor key made for this run's curl line (the last run's is revoked)


def run_demo(
    folder: Path,
    *,
    reset: bool,
    seed: int,
    actor: str,
    progress: Progress,
    detail: Detail | None = None,
) -> DemoResult:
    """Run (or finish) the story in ``folder``; ``progress`` gets one line per step and
    ``detail`` the progress of an evaluation while it runs."""
    folder = folder.resolve()
    if reset:
        _reset(folder)
    folder.mkdir(parents=True, exist_ok=True)
    result = DemoResult(folder=folder, store_url="")
    step = _Stepper(result, progress)

    step("write liveops.yaml and the suite", _write_project_files(folder))
    files = _data_files(folder)
    step("generate support messages", _write_data(files, seed))
    clock = StoryClock()  # the wall clock, but the simulated one while the week runs
    store = open_store(project_dir=folder, clock=clock)
    result.store_url = store.url
    applied = apply_project(store, load_project(folder), actor=actor)
    step("apply service " + SERVICE, any(a.outcome != "unchanged" for a in applied))
    added: dict[str, DatasetRecord] = {}
    for name, path in files.items():
        record, created = add_dataset(store, path, name=name, actor=actor)
        added[name] = record
        result.datasets.append(record)
        step(f"add dataset {record.ref}", created)
    train1, eval_set = added["support-train"], added["support-eval"]
    v1, created = _train_and_register(store, folder, seed, "v1", train1, eval_set, actor)
    step(f"train and register {v1.ref}", created)
    # once: the rollout day (stage_rollout) moves production on to v3, and a re-run keeps it
    first = store.registry.get_alias(SERVICE, "production") is None
    step("point production at v1", first and _alias(store, "production", v1.number, actor))
    train2, created = _add_v2_training_set(store, folder, seed, train1, actor)
    result.datasets.append(train2)
    step(f"add dataset {train2.ref} (v2's training records)", created)
    v2, created = _train_and_register(store, folder, seed, "v2", train2, eval_set, actor)
    step(f"retrain and register {v2.ref} (threshold {V2_THRESHOLD})", created)
    # candidate moves to v2 inside the simulated week (stage_incident), on its clock.
    # v1 is production: its baseline gates are skipped. v2 is compared with v1.
    plan = [(v1.ref, None), (v2.ref, str(v1.number))]
    evaluated = run_eval_stage(store, folder, plan, actor=actor, step=step, detail=detail)
    result.evaluations = evaluated.evaluated
    reviewed = run_review_stage(store, folder, [v1.ref, v2.ref], actor=actor, progress=step)
    result.reviews, result.readiness = reviewed.reviews, reviewed.readiness
    # v1 (production) meets a week of live traffic, the last days shifted; the monitor watches.
    result.week = run_week_stage(
        store,
        folder,
        SERVICE,
        seed=seed,
        step=step,
        clock=clock,
        candidate=v2.number,
        actor=actor,
        detail=detail,
    )
    # The day after the week: v2's rollout rolls back by itself, v3 is released and rolled out.
    if result.week is not None:  # (a test may leave the week out)
        result.rollout = run_rollout_stage(
            store,
            folder,
            SERVICE,
            seed=seed,
            step=step,
            clock=clock,
            day=datetime.fromisoformat(result.week.end),
            v2=v2.number,
            train=train1,
            eval_set=eval_set,
            actor=actor,
            detail=detail,
        )
    result.versions = store.registry.list_versions(SERVICE)
    result.aliases = store.registry.aliases_of(SERVICE)
    result.key = _demo_key(store, actor)
    store.close()
    return result


DEMO_KEY = "demo-curl"


def _demo_key(store: Store, actor: str) -> str:
    """A fresh predictor key for the curl line the demo prints (a key is shown only when it is
    made, so each run makes one and revokes the one before)."""
    from liveops.services.access import create_key, list_keys, revoke_key

    if any(k.name == DEMO_KEY for k in list_keys(store, include_revoked=False)):
        revoke_key(store, DEMO_KEY, actor=actor, reason="the demo made a new one")
    made = create_key(store, DEMO_KEY, role="predictor", owner=actor, actor=actor)
    return made.token


class _Stepper:
    def __init__(self, result: DemoResult, progress: Progress) -> None:
        self.result, self.progress = result, progress

    def __call__(self, name: str, done: bool) -> None:
        outcome = "done" if done else "skipped (already done)"
        self.result.steps.append((name, "done" if done else "skipped"))
        self.progress(f"{name}: {outcome}")


def _reset(folder: Path) -> None:
    for name in ("liveops.yaml", "suites", "data", "models", ".liveops"):
        target = folder / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


def _write_project_files(folder: Path) -> bool:
    wrote = False
    package = resources.files("liveops.demo")
    for rel in ("liveops.yaml", "suites/support.yaml"):
        target = folder / rel
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(package.joinpath(rel).read_text(encoding="utf-8"), encoding="utf-8")
            wrote = True
    return wrote


def _data_files(folder: Path) -> dict[str, Path]:
    data = folder / "data"
    return {
        "support-train": data / "support-train.csv",
        "support-eval": data / "support-eval.jsonl",
        "support-must-pass": data / "support-must-pass.jsonl",
        "support-calibration": data / "support-calibration.jsonl",
    }


def _write_data(files: dict[str, Path], seed: int) -> bool:
    if all(p.exists() for p in files.values()):
        return False
    from liveops.demo.data import calibration_records, generate

    data = generate(seed)
    files["support-train"].parent.mkdir(parents=True, exist_ok=True)
    _write_csv(files["support-train"], data.train)
    _write_jsonl(files["support-eval"], data.eval)
    _write_jsonl(files["support-must-pass"], data.must_pass)
    _write_jsonl(files["support-calibration"], calibration_records(seed))
    return True


def _write_csv(path: Path, records: list[dict[str, Any]]) -> None:
    import csv

    fields = list(records[0])
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for r in records:
            writer.writerow({k: "|".join(v) if isinstance(v, list) else v for k, v in r.items()})


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def _add_v2_training_set(
    store: Store, folder: Path, seed: int, train_v1: DatasetRecord, actor: str
) -> tuple[DatasetRecord, bool]:
    """v2's training records (English + 7 % of the Spanish ones of ``train_v1``) as the next
    version of the training dataset, so v2's lineage names the rows it was trained on."""
    from liveops.demo import training
    from liveops.services.datasets import load_records

    path = folder / "data" / "support-train-v2.csv"
    if not path.exists():
        kept = training.v2_training_records(load_records(store, train_v1), seed)
        _write_csv(path, [dict(r) for r in kept])
    source = (
        f"{path}: every English record and {training.V2_SPANISH_SHARE:.0%} of the Spanish "
        f"records of {train_v1.ref}"
    )
    return add_dataset(store, path, name=train_v1.name, actor=actor, source=source)


def _train_and_register(
    store: Store,
    folder: Path,
    seed: int,
    which: str,
    train_ds: DatasetRecord,
    eval_ds: DatasetRecord,
    actor: str,
) -> tuple[VersionRecord, bool]:
    """Train ``which`` on exactly the records of ``train_ds`` (once) and register it."""
    from liveops.demo import training
    from liveops.services.datasets import load_records

    model_path = folder / "models" / f"support-router-{which}.skops"
    metrics_path = model_path.with_suffix(".metrics.json")
    params = training.PARAMS[which]
    if not model_path.exists():
        train = load_records(store, train_ds)
        pipeline = training.train_v1(train, seed) if which == "v1" else training.fit_v2(train, seed)
        model_path.parent.mkdir(parents=True, exist_ok=True)
        training.save_skops(pipeline, model_path)
        metrics = training.quick_metrics(pipeline, load_records(store, eval_ds))
        metrics_path.write_text(json.dumps(metrics, indent=2))
    metrics = json.loads(metrics_path.read_text())
    registered = register_version(
        store,
        SERVICE,
        actor=actor,
        artifact=model_path,
        config={"threshold": V2_THRESHOLD} if which == "v2" else {},
        datasets={"train": train_ds.ref, "eval": eval_ds.ref},
        params=params,
        metrics=metrics,
        message="first model: TF-IDF + logistic regression"
        if which == "v1"
        else "retrained with other data and parameters, lower threshold",
        trust=training.TRUSTED_TYPES,
        cwd=folder,
    )
    return registered.version, registered.created


def _alias(store: Store, alias: str, number: int, actor: str) -> bool:
    move = set_alias(store, SERVICE, alias, str(number), actor=actor, reason="demo")
    return move.previous != move.number
