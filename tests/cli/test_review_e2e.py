"""From a real evaluation run to a review, two reviewers, readiness and a promoted case."""

from __future__ import annotations

from pathlib import Path

import pytest

from liveops.services.evaluation import run_eval
from liveops.store import open_store
from tests.cli_runner import Runner
from tests.services.conftest import train_tiny

PROJECT = """
services:
  - name: router
    owner: team@example.com
    inputs:
      text: {type: string, required: true}
      language: {type: string}
    model_inputs: [text]
    output: {labels: [billing, technical]}
    decision: {threshold: 0.6, below_threshold: human_review}
    suite: suite.yaml
"""

SUITE = """
cases:
  dataset: router-eval
  expected: label
  must_pass: {dataset: router-must}
metrics: [accuracy, macro_f1]
slices:
  - {name: spanish, where: {language: es}}
robustness: {perturbations: [casing, whitespace], seed: 1}
probes:
  - {name: refunds are billing, inputs: {text: "refund my invoice"}, expect: {label: billing}}
gates:
  - {metric: accuracy, min: 0.5, kind: blocker}
  - {metric: accuracy, slice: spanish, not_worse_than: baseline, margin: 0.01, kind: guardrail}
  - {metric: robustness.invariance, min: 0.5, kind: guardrail}
latency_calls: 5
review:
  rubric:
    - {name: correct_route, scale: [yes, no]}
    - {name: failure_type, choices: [wrong_team, language, other]}
"""

TEXTS = [
    ("charged twice on my card", "billing", "en"),
    ("refund my invoice please", "billing", "en"),
    ("app crashes on login", "technical", "en"),
    ("error 500 when saving", "technical", "en"),
    ("me cobraron dos veces", "billing", "es"),
    ("la app falla al entrar", "technical", "es"),
    ("my invoice shows an error", "technical", "en"),
    ("login refund card crash", "billing", "en"),
]


@pytest.fixture
def project(run_cli: Runner, tmp_path: Path) -> Path:
    (tmp_path / "liveops.yaml").write_text(PROJECT)
    (tmp_path / "suite.yaml").write_text(SUITE)
    rows = "text,label,language\n" + "".join(f"{t},{y},{lang}\n" for t, y, lang in TEXTS * 3)
    (tmp_path / "eval.csv").write_text(rows)
    (tmp_path / "must.csv").write_text("text,label,language\ncharged twice on my card,billing,en\n")
    assert run_cli("service", "apply").code == 0
    assert run_cli("dataset", "add", "eval.csv", "--name", "router-eval").code == 0
    assert run_cli("dataset", "add", "must.csv", "--name", "router-must").code == 0
    model = train_tiny(tmp_path / "m.skops")
    r = run_cli("register", "router", "--artifact", str(model))
    assert r.code == 0, r.err
    return tmp_path


def _eval(project: Path) -> dict[str, object]:
    store = open_store(project_dir=project)
    try:
        result = run_eval(store, "router@1", actor="ci", project_dir=project, resamples=200)
        return {"id": result.run.id, **result.summary.to_dict()}
    finally:
        store.close()


@pytest.mark.smoke
def test_review_from_an_eval_run_to_readiness_and_regression(
    run_cli: Runner, project: Path
) -> None:
    run = _eval(project)
    r = run_cli("readiness", "router@1", "--json")
    before = r.json()
    by_name = {c["name"]: c for c in before["checks"]}
    assert by_name["human review"]["status"] == "missing"
    assert f"--from-eval {run['id']}" in by_name["human review"]["reason"]
    assert by_name["refunds are billing"]["group"] == "probes"
    assert r.code in (1, 3)
    assert before["exit_code"] == r.code

    r = run_cli("review", "create", "--from-eval", str(run["id"]), "--sample", "6", "--json")
    assert r.code == 0, r.err
    review = r.json()
    assert review["subject"] == "router@1"
    assert len(review["items"]) == 6
    assert review["rubric"][0] == {"name": "correct_route", "scale": ["yes", "no"]}
    assert review["sample"]["low_confidence"] == 0.6
    store = open_store(project_dir=project)
    try:
        wrong = [c for c in store.evaluation.cases(str(run["id"])) if c.correct is False]
    finally:
        store.close()
    # half the sample goes to failures, as far as the run has them
    assert review["sample"]["strata"].get("failure", 0) == min(3, len(wrong))

    answers = {
        "ann": ["yes", "no", "no", "yes", "yes", "no"],
        "bob": ["yes", "no", "yes", "yes", "yes", "no"],
    }
    for reviewer, values in answers.items():
        for item, value in zip(review["items"], values, strict=True):
            args = ["review", "submit", item, "--score", f"correct_route={value}", "--as", reviewer]
            if value == "no":
                args += ["--score", "failure_type=language"]
            assert run_cli(*args).code == 0
    after = run_cli("readiness", "router@1", "--json").json()
    checks = {c["name"]: c for c in after["checks"]}
    rid = review["id"]
    assert checks[f"review {rid} coverage"]["status"] == "pass"
    assert checks["agreement on correct_route"]["status"] == "pass"
    assert checks["agreement on correct_route"]["value"] == pytest.approx(2 / 3)
    assert after["sources"]["review"]["id"] == rid
    human = run_cli("readiness", "router@1")
    assert "launch readiness" in human.out
    assert "agreement on correct_route" in human.out

    r = run_cli("review", "promote", review["items"][1], "--json")
    assert r.code == 0
    assert r.json()["dataset"] == "router-regression@1"
    again = _eval(project)
    must = again["must_pass"]
    assert isinstance(must, dict)
    assert must["dataset"] == "router-must@1 + router-regression@1"
    assert must["cases"] == 2


def test_review_create_bad_input(run_cli: Runner, project: Path) -> None:
    r = run_cli("review", "create", "--from-eval", "nope", "--json")
    assert r.code == 4
    assert "no evaluation run 'nope'" in r.err
    run = _eval(project)
    r = run_cli("review", "create", "--from-eval", str(run["id"]), "--sample", "0")
    assert r.code == 2
    assert "--sample must be between 1" in r.err
    (project / "suite.yaml").write_text(SUITE.split("review:")[0])
    r = run_cli("review", "create", "--from-eval", str(run["id"]))
    assert r.code == 4
    assert "declares no review rubric" in r.err
    r = run_cli("readiness", "router@7")
    assert r.code == 4
    r = run_cli("readiness", "nosuch@1")
    assert r.code == 4
