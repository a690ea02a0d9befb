"""Readiness rules on every backend: gate verdicts, robustness, probes and review, combined."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from liveops.core.evaluation.summary import EvalSummary
from liveops.core.records import EvalRunRecord
from liveops.core.review.items import CaseForReview
from liveops.core.review.rubric import parse_rubric
from liveops.errors import VersionNotFound
from liveops.services import review as rv
from liveops.services.readiness import readiness
from liveops.services.registry import register_version
from liveops.store import Store


def _gate(gate: str, kind: str, verdict: str, metric: str = "accuracy") -> dict[str, Any]:
    return {"gate": gate, "metric": metric, "kind": kind, "verdict": verdict, "reason": verdict}


def _run(store: Store, summary: dict[str, Any], run_id: str = "run1") -> None:
    run = EvalRunRecord(
        id=run_id,
        service="router",
        version=1,
        baseline_version=None,
        suite_hash="h",
        created_at=store.clock.now(),
        actor="ci",
        summary=EvalSummary.from_dict({"service": "router", "version": "router@1", **summary}),
        exit_code=0,
    )
    with store.write() as conn:
        store.evaluation.insert_run(conn, run, [])


@pytest.fixture
def version(applied: Store, model_file: Path) -> Store:
    register_version(applied, "router", actor="ann", artifact=model_file)
    return applied


def _checks(store: Store) -> dict[str, tuple[str, str]]:
    view = readiness(store, "router@1")
    return {c.name: (c.group, c.status) for c in view.checks}


def test_without_evaluation_or_review_everything_is_missing(version: Store) -> None:
    view = readiness(version, "router@1")
    assert [c.status for c in view.checks] == ["missing", "missing"]
    assert "liveops eval router@1" in view.checks[0].reason
    assert view.exit_code == 3


def test_gate_verdicts_map_to_readiness(version: Store) -> None:
    _run(
        version,
        {
            "gates": [
                _gate("f1", "blocker", "pass"),
                _gate("es", "guardrail", "skipped"),
                _gate("lat", "guardrail", "inconclusive"),
                _gate("goal", "goal", "fail"),
                _gate("sig", "signal", "fail"),
                _gate("rob", "guardrail", "pass", metric="robustness.invariance"),
            ],
            "robustness": {
                "invariance": 0.95,
                "accuracy": 0.9,
                "families": {
                    "typos": {"invariance": 0.9, "accuracy": 0.8},
                    "casing": {"invariance": 1.0, "accuracy": 0.9},
                },
            },
            "probes": [
                {"name": "p1", "holds": True, "label": "billing", "decision": "automatic"},
            ],
        },
    )
    checks = _checks(version)
    assert checks["blocker f1"] == ("gates", "pass")
    assert checks["guardrail es"] == ("gates", "pass")  # skipped: no baseline, counts for nothing
    assert checks["guardrail lat"] == ("gates", "missing")  # inconclusive: more evidence needed
    assert "goal goal" not in checks
    assert "signal sig" not in checks
    assert checks["robustness under perturbation"] == ("robustness", "pass")
    assert checks["p1"] == ("probes", "pass")
    view = readiness(version, "router@1")
    assert view.status == "missing"
    assert view.exit_code == 3
    rob = next(c for c in view.checks if c.group == "robustness")
    assert "weakest families: typos 0.900" in rob.reason


def test_robustness_names_families_that_do_not_apply(version: Store) -> None:
    why = {"drop_optional": "the model sees no optional field (it sees: text)"}
    rob = {"invariance": None, "accuracy": None, "families": {}, "not_applicable": why}
    _run(version, {"gates": [], "robustness": rob, "probes": []})
    check = next(c for c in readiness(version, "router@1").checks if c.group == "robustness")
    assert check.status == "missing"  # nothing was measured: not a pass
    assert "no perturbation family applies" in check.reason
    assert "drop_optional" in check.reason
    rob = {
        **rob,
        "invariance": 0.9,
        "accuracy": 0.8,
        "families": {"typos": {"invariance": 0.9, "accuracy": 0.8}},
    }
    _run(version, {"gates": [], "robustness": rob, "probes": []}, run_id="run2")
    check = next(c for c in readiness(version, "router@1").checks if c.group == "robustness")
    assert check.status == "pass"
    assert "not applicable: drop_optional" in check.reason


def test_a_family_that_does_not_apply_is_not_applicable_never_missing(version: Store) -> None:
    # A tabular model: its suite also lists text families, which cannot concern it.
    why = {
        "typos": "the model reads no text field (it reads: radius, texture)",
        "casing": "the model reads no text field (it reads: radius, texture)",
    }
    families = {
        "numeric_noise": {"invariance": 0.97, "accuracy": 0.9},
        "unit_mistake": {"invariance": 0.81, "accuracy": 0.8},
    }
    rob = {"invariance": 0.89, "accuracy": 0.86, "families": families, "not_applicable": why}
    gates = [_gate("accuracy >= 0.8", "blocker", "pass")]
    _run(version, {"gates": gates, "robustness": rob, "probes": [{"name": "p1", "holds": True}]})
    view = readiness(version, "router@1")
    robustness = [c for c in view.checks if c.group == "robustness"]
    assert [(c.name, c.status) for c in robustness] == [
        ("robustness under perturbation", "pass"),
        ("perturbation typos", "not_applicable"),
        ("perturbation casing", "not_applicable"),
    ]
    assert "no text field" in robustness[1].reason
    assert view.counts()["not_applicable"] == 2
    assert view.counts()["missing"] == 1
    assert view.to_dict()["checks"][-1]["group"] == "review"


def test_a_failed_probe_or_error_gate_fails_readiness(version: Store) -> None:
    _run(
        version,
        {
            "gates": [_gate("f1", "blocker", "error")],
            "probes": [
                {
                    "name": "p1",
                    "holds": False,
                    "expected": {"label": "billing"},
                    "label": "technical",
                    "decision": "automatic",
                }
            ],
        },
    )
    checks = _checks(version)
    assert checks["blocker f1"] == ("gates", "fail")
    assert checks["p1"] == ("probes", "fail")
    assert checks["robustness"] == ("robustness", "missing")
    assert readiness(version, "router@1").exit_code == 1


def _review(store: Store) -> list[str]:
    rubric = parse_rubric([{"name": "ok", "scale": ["yes", "no"]}])
    cases = [
        CaseForReview(f"c{i}", True, 0.9, {"text": "t"}, "billing", "billing") for i in range(4)
    ]
    source = rv.ReviewSource("run1", "router", 1, rubric, cases, 0.5)
    _, items = rv.create_review_from(store, source, sample=4, seed=0, actor="ann")
    return [i.id for i in items]


@pytest.mark.parametrize(
    ("ann", "bob", "coverage", "agreement"),
    [
        ("yyyy", "", "pass", "missing"),  # nobody second-reviewed
        ("yynn", "yynn", "pass", "pass"),  # perfect agreement
        ("yyyy", "yyyy", "pass", "pass"),  # kappa undefined, observed 1.0
        ("ynyn", "nyny", "pass", "fail"),  # systematic disagreement
        ("yy", "yy", "missing", "pass"),  # half the items not reviewed yet
    ],
)
def test_review_checks(version: Store, ann: str, bob: str, coverage: str, agreement: str) -> None:
    _run(version, {"gates": [_gate("f1", "blocker", "pass")], "robustness": {}, "probes": []})
    items = _review(version)
    for reviewer, answers in (("ann", ann), ("bob", bob)):
        for item, a in zip(items, answers, strict=False):
            rv.submit(version, item, reviewer, {"ok": "yes" if a == "y" else "no"})
    view = readiness(version, "router@1")
    review = [c for c in view.checks if c.group == "review"]
    assert [c.status for c in review] == [coverage, agreement]
    assert view.sources["review"]["items"] == 4


def test_an_unknown_version_is_an_error(version: Store) -> None:
    with pytest.raises(VersionNotFound):
        readiness(version, "router@9")
