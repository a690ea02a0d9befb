"""The robustness helper process: same answers as computing alone, and a failed helper only
costs speed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from liveops.core.project import parse_project
from liveops.services.datasets import add_dataset
from liveops.services.eval_pool import ENV_WORKERS, FamilyHelper, FamilySpec, family_answers
from liveops.services.evaluation import run_eval
from liveops.services.models import load_model
from liveops.services.project import apply_project
from liveops.services.registry import register_version
from liveops.store import Store, open_store
from tests.services.conftest import train_tiny

PROJECT = """
services:
  - name: router
    owner: team@example.com
    inputs: {text: {type: string, required: true}, channel: {type: string}}
    model_inputs: [text]
    output: {labels: [billing, technical]}
    suite: suite.yaml
"""

SUITE = """
cases: {dataset: router-eval, expected: label}
metrics: [accuracy]
robustness: {perturbations: [typos, casing, long_input, drop_optional], seed: 3}
gates:
  - {metric: robustness.invariance, min: 0.5, kind: guardrail}
latency_calls: 3
"""

WORDS = ["charged twice", "refund my invoice", "app crashes", "error 500 when saving"]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("helper")
    (folder / "liveops.yaml").write_text(PROJECT)
    (folder / "suite.yaml").write_text(SUITE)
    rows = ["text,label,channel"]
    for i in range(240):  # enough cases for a helper to be started
        text = f"{WORDS[i % 4]} on {'my card' if i % 3 else 'login'} number {i}"
        rows.append(
            f"{text},{'billing' if i % 4 < 2 else 'technical'},{'chat' if i % 2 else 'web'}"
        )
    (folder / "eval.csv").write_text("\n".join(rows) + "\n")
    store = open_store(project_dir=folder)
    apply_project(store, parse_project(PROJECT, "liveops.yaml"), actor="ann")
    add_dataset(store, folder / "eval.csv", name="router-eval", actor="ann")
    register_version(store, "router", actor="ann", artifact=train_tiny(folder / "m.skops"))
    store.close()
    return folder


def _open(project: Path) -> Store:
    return open_store(project_dir=project)


def test_a_run_with_the_helper_stores_what_a_run_without_it_stores(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summaries = []
    for setting in ("0", "1"):
        monkeypatch.setenv(ENV_WORKERS, setting)
        store = _open(project)
        try:
            run = run_eval(store, "router@1", actor="ci", project_dir=project, resamples=100)
        finally:
            store.close()
        summaries.append(run.summary)
    alone, helped = summaries
    assert helped["robustness"] == alone["robustness"]
    assert helped["robustness"]["families"]["long_input"]["invariance"] < 1.0  # real work
    assert helped["gates"][0]["value"] == alone["gates"][0]["value"]


def test_the_helper_answers_a_family_like_this_process(project: Path) -> None:
    store = _open(project)
    version = store.registry.get_version("router", 1)
    assert version is not None
    model = load_model(store, version)
    records = [{"text": f"{WORDS[i % 4]} again {i}", "channel": "web"} for i in range(50)]
    spec = FamilySpec(
        seed=5, text_field="text", optional_fields=("channel",), model_inputs=("text",)
    )
    helper = FamilyHelper(
        store.engine.url.render_as_string(hide_password=False),
        str(store.artifacts.root),
        str(project),
        "router@1",
    )
    try:
        for _ in range(600):  # the helper imports scikit-learn: allow it a minute
            if helper.ready():
                break
            assert helper.alive
            time.sleep(0.1)
        helper.send_cases(records, spec)
        helper.start_family("typos")
        got = helper.result(block=True)
    finally:
        helper.close()
        store.close()
    assert got is not None and got[0] == "typos"
    assert got[1] == family_answers(model, records, "typos", spec)
    assert got[1][0]  # some copies changed and were answered


def test_a_helper_that_cannot_start_is_dropped_and_the_run_goes_on(
    project: Path, tmp_path: Path
) -> None:
    helper = FamilyHelper(
        "sqlite:///" + str(tmp_path / "nowhere" / "x.db"), "/nonexistent", "/", "router@1"
    )
    for _ in range(600):
        if not helper.alive:
            break
        assert not helper.ready()
        time.sleep(0.1)
    assert not helper.alive
    assert helper.result(block=True) is None
    helper.close()  # closing twice is harmless
