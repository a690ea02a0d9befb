"""Suites parse strictly (errors name the line); gates follow docs/conventions.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from liveops.core.evaluation.gates import Evidence, Gate, MetricEvidence, exit_code
from liveops.core.evaluation.suite import GateSpec, Suite, parse_suite
from liveops.errors import ProjectFileError

# The worked example suite the docs point at ships with liveops (no file outside the repo).
DEMO = Path(__file__).resolve().parents[2] / "src" / "liveops" / "demo" / "suites" / "support.yaml"


def test_the_example_suite_loads_as_written() -> None:
    path = DEMO
    suite = parse_suite(path.read_text(), str(path))
    assert suite.cases.dataset == "support-eval"
    assert [s.name for s in suite.slices] == ["spanish", "chat", "short", "mid"]
    assert len(suite.robustness.perturbations if suite.robustness else []) == 9
    assert [g.kind for g in suite.gates].count("guardrail") == 3
    assert suite.suite_hash() == parse_suite(path.read_text()).suite_hash()


def test_a_gate_on_an_unknown_metric_names_the_line() -> None:
    text = (
        "cases: {dataset: d}\nmetrics: [accuracy]\ngates:\n"
        "  - {metric: acuracy, min: 0.8, kind: blocker}\n"
    )
    with pytest.raises(ProjectFileError) as err:
        parse_suite(text, "s.yaml")
    assert "s.yaml:4" in err.value.message
    assert "acuracy" in err.value.message


def test_a_gate_on_a_metric_the_suite_does_not_compute_is_refused() -> None:
    text = (
        "cases: {dataset: d}\nmetrics: [accuracy]\ngates: [{metric: ece, max: 0.1, kind: signal}]\n"
    )
    with pytest.raises(ProjectFileError, match="not among the suite's metrics"):
        parse_suite(text, "s.yaml")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("cases: {dataset: d}\nmetircs: [accuracy]\n", "unknown field"),
        ("cases: {dataset: d}\nmetrics: [acc]\n", "unknown metric 'acc'"),
        ("cases: {dataset: d}\nrobustness: {perturbations: [sarcasm]}\n", "sarcasm"),
        ("cases: {dataset: d}\nslices: [{name: x, where: {len: {about: 3}}}]\n", "operator"),
        ("cases: {dataset: d}\ngates: [{metric: must_pass, kind: blocker}]\n", "exactly one rule"),
        (
            "cases: {dataset: d}\ngates: [{metric: must_pass, min: 1, kind: blocker, slice: es}]\n",
            "unknown slice",
        ),
        ("", "empty"),
        ("cases: {dataset: d}\nmetrics: [accuracy]\nmetrics: [f1]\n", "s.yaml:3: metrics: the key"),
        ("cases: {dataset: d, dataset: e}\n", "cases.dataset: the key 'dataset' appears twice"),
        ("cases: &c {dataset: d, more: *c}\n", "s.yaml:1: cases.more: a recursive alias"),
    ],
)
def test_bad_suites_are_refused_with_a_clear_message(text: str, needle: str) -> None:
    with pytest.raises(ProjectFileError, match=needle):
        parse_suite(text, "s.yaml")


BASE = "cases: {dataset: d}\nslices: [{name: es, where: {language: es}}]\n"


@pytest.mark.parametrize(
    ("extra", "gate", "needle"),
    [
        ("", "{metric: must_pass, min: 1, kind: blocker, slice: es}", "not per slice"),
        ("", "{metric: latency.p95_ms, max: 50, kind: signal, slice: es}", "not per slice"),
        ("", "{metric: robustness.invariance, min: 0.9, kind: guardrail}", "no robustness block"),
        ("", "{metric: probes, min: 1, kind: blocker}", "declares no probes"),
        ("consistency: null\n", "{metric: consistency, min: 0.9, kind: signal}", "consistency"),
    ],
)
def test_a_gate_that_could_never_have_evidence_is_refused_naming_line_and_gate(
    extra: str, gate: str, needle: str
) -> None:
    text = f"{BASE}{extra}gates:\n  - {{metric: accuracy, min: 0.5, kind: blocker}}\n  - {gate}\n"
    with pytest.raises(ProjectFileError, match=needle) as err:
        parse_suite(text, "s.yaml")
    line = text.splitlines().index(f"  - {gate}") + 1
    metric = gate.split(",")[0].removeprefix("{metric: ")
    assert f"s.yaml:{line}" in err.value.message
    assert f"gate '{metric}" in err.value.message
    # the same gate on a metric measured per slice, or with its block, is fine
    assert parse_suite(f"{BASE}gates: [{{metric: accuracy, min: 0.5, kind: blocker, slice: es}}]")


def test_the_python_api_builds_the_same_suite() -> None:
    text = (
        "cases: {dataset: d}\nmetrics: [accuracy]\n"
        "gates: [{metric: accuracy, min: 0.9, kind: blocker}]\n"
    )
    built = Suite.model_validate(
        {
            "cases": {"dataset": "d"},
            "metrics": ["accuracy"],
            "gates": [GateSpec(metric="accuracy", min=0.9, kind="blocker")],
        }
    )
    assert built.suite_hash() == parse_suite(text).suite_hash()


def _ev(metric: str, **kw: object) -> Evidence:
    return Evidence({(metric, "overall"): MetricEvidence(**kw)}, baseline="svc@1")  # type: ignore[arg-type]


def test_min_and_max_compare_the_point_estimate() -> None:
    g = Gate(GateSpec(metric="accuracy", min=0.8, kind="blocker"))
    # The interval reaches below 0.8, but the point estimate decides.
    v = g.evaluate(_ev("accuracy", value=0.81, interval=(0.78, 0.84)))
    assert v.verdict == "pass"
    assert v.interval == (0.78, 0.84)
    assert g.evaluate(_ev("accuracy", value=0.79)).verdict == "fail"
    lat = Gate(GateSpec(metric="latency.p95_ms", max=50, kind="guardrail"))
    assert lat.evaluate(_ev("latency.p95_ms", value=51.0)).verdict == "fail"


@pytest.mark.parametrize(
    ("diff", "verdict"),
    [
        ((-0.004, 0.006), "pass"),  # worse by at most 0.004 < margin 0.01
        ((-0.05, -0.02), "fail"),  # worse by at least 0.02 > 0.01
        ((-0.03, 0.01), "inconclusive"),
    ],
)
def test_not_worse_than_uses_the_paired_interval_and_margin(
    diff: tuple[float, float], verdict: str
) -> None:
    g = Gate(
        GateSpec(
            metric="accuracy", slice="es", not_worse_than="baseline", margin=0.01, kind="guardrail"
        )
    )
    ev = Evidence(
        {("accuracy", "slice:es"): MetricEvidence(0.8, baseline_value=0.8, diff_interval=diff)},
        baseline="svc@1",
    )
    assert g.evaluate(ev).verdict == verdict


def test_lower_is_better_metrics_flip_the_direction() -> None:
    g = Gate(GateSpec(metric="ece", not_worse_than="baseline", margin=0.01, kind="guardrail"))
    # candidate - baseline ECE is +0.03..+0.05: worse by more than the margin.
    ev = _ev("ece", value=0.1, baseline_value=0.06, diff_interval=(0.03, 0.05))
    assert g.evaluate(ev).verdict == "fail"


@pytest.mark.parametrize(
    ("diff", "verdict"),
    [((0.01, 0.03), "pass"), ((-0.03, -0.01), "fail"), ((-0.01, 0.02), "inconclusive")],
)
def test_better_than_baseline(diff: tuple[float, float], verdict: str) -> None:
    g = Gate(GateSpec(metric="accuracy", better_than="baseline", kind="goal"))
    ev = _ev(
        "accuracy", value=0.9, baseline_value=0.88, diff_interval=diff, mcnemar={"pvalue": 0.2}
    )
    v = g.evaluate(ev)
    assert v.verdict == verdict
    assert "McNemar" in v.reason


def test_without_a_baseline_baseline_gates_are_skipped_with_the_reason() -> None:
    g = Gate(GateSpec(metric="accuracy", better_than="baseline", kind="goal"))
    v = g.evaluate(Evidence({}, baseline=None, baseline_reason="no production alias"))
    assert v.verdict == "skipped"
    assert "no production alias" in v.reason
    assert exit_code([v]) == 0


def test_missing_evidence_is_an_error_not_a_pass() -> None:
    g = Gate(GateSpec(metric="probes", min=1.0, kind="blocker"))
    v = g.evaluate(Evidence({}, baseline=None))
    assert v.verdict == "error"


def test_exit_code_failure_wins_and_goals_and_signals_never_count() -> None:
    fail = Gate(GateSpec(metric="accuracy", min=0.9, kind="blocker")).evaluate(
        _ev("accuracy", value=0.5)
    )
    incon = Gate(GateSpec(metric="accuracy", better_than="baseline", kind="guardrail")).evaluate(
        _ev("accuracy", value=0.5, baseline_value=0.5, diff_interval=(-0.1, 0.1))
    )
    goal_fail = Gate(GateSpec(metric="accuracy", min=0.9, kind="goal")).evaluate(
        _ev("accuracy", value=0.5)
    )
    signal_fail = Gate(GateSpec(metric="accuracy", min=0.9, kind="signal")).evaluate(
        _ev("accuracy", value=0.5)
    )
    assert incon.verdict == "inconclusive"
    assert exit_code([fail, incon]) == 1
    assert exit_code([incon, goal_fail]) == 3
    assert exit_code([goal_fail, signal_fail]) == 0
