"""An A/B plan in liveops.yaml (``mode: ab``): a fixed split for a planned duration, goals
compared at its end, guardrails as the canary gates; every refusal names the file, line and
field (no duration, a goal on an unknown metric, a split of 0 % or 100 %)."""

from __future__ import annotations

import pytest

from liveops.core.project import parse_project
from liveops.core.rollout.plan import parse_plan
from liveops.errors import ProjectFileError
from tests.core.test_rollout_plan import HEAD

GOOD = """      mode: ab
      key: {field: customer}
      split: 50%
      duration: 7d
      mde: 0.03
      goals:
        - {metric: accuracy}
        - {metric: outcome.resolved.rate}
      gates:
        - {metric: error_rate, kind: guardrail, not_worse_than: baseline, margin: 0.01}
"""


def test_an_ab_plan_is_read_and_reads_back_the_same() -> None:
    project = parse_project(HEAD + GOOD, "liveops.yaml")
    plan = project.services[0].rollout_plan()
    assert plan is not None
    assert plan.mode == "ab"
    assert [(s.kind, s.share, s.min_duration_s) for s in plan.steps] == [
        ("canary", 0.5, 7 * 86400.0)
    ]
    assert [g.label() for g in plan.goals] == ["accuracy", "outcome.resolved.rate"]
    assert plan.mde == 0.03
    assert [g.metric for g in plan.gates] == ["error_rate"]
    # What the store keeps reads back as the same plan.
    assert parse_plan(plan.to_dict()) == plan
    assert plan.to_dict()["mode"] == "ab"


@pytest.mark.parametrize(
    ("plan", "line", "field", "words"),
    [
        (
            "      mode: ab\n      split: 50%\n      goals: [{metric: accuracy}]\n",
            9,  # the plan's own line: the field is missing
            "services.0.rollout.duration",
            "needs a planned duration",
        ),
        (
            "      mode: ab\n      split: 50%\n      duration: 7d\n"
            "      goals:\n        - {metric: acuracy}\n",
            13,
            "services.0.rollout.goals.0.metric",
            "unknown metric 'acuracy'; did you mean 'accuracy'?",
        ),
        (
            "      mode: ab\n      split: 0%\n      duration: 7d\n"
            "      goals: [{metric: accuracy}]\n",
            10,
            "services.0.rollout.split",
            "above 0",
        ),
        (
            "      mode: ab\n      split: 100%\n      duration: 7d\n"
            "      goals: [{metric: accuracy}]\n",
            10,
            "services.0.rollout.split",
            "below 100%",
        ),
        (
            "      mode: ab\n      split: 50%\n      duration: 7d\n",
            9,
            "services.0.rollout.goals",
            "needs a list of goals",
        ),
        (
            "      mode: ab\n      split: 50%\n      duration: 7d\n"
            "      goals:\n        - {metric: latency.p95_ms}\n",
            13,
            "services.0.rollout.goals.0.metric",
            "not a share of answers",
        ),
        (
            "      mode: ab\n      split: 50%\n      duration: 7d\n      watch: 1h\n"
            "      goals: [{metric: accuracy}]\n",
            12,
            "services.0.rollout.watch",
            "unknown field in an A/B plan",
        ),
        (
            "      mode: abtest\n",
            9,
            "services.0.rollout.mode",
            "mode is steps (the default) or ab",
        ),
    ],
)
def test_a_bad_ab_plan_is_refused_naming_the_line(
    plan: str, line: int, field: str, words: str
) -> None:
    with pytest.raises(ProjectFileError) as err:
        parse_project(HEAD + plan, "liveops.yaml")
    assert err.value.details["field"] == field, err.value.message
    assert err.value.details["line"] == line, err.value.message
    assert words in err.value.message


def test_a_goal_reads_better_by_the_metrics_direction() -> None:
    from liveops.core.rollout.ab import AbGoal, compare_goal

    fewer_errors = compare_goal(
        AbGoal("error_rate"), k_candidate=10, n_candidate=1000, k_baseline=60, n_baseline=1000,
        mde=0.02, split=0.5,
    )  # fmt: skip
    assert fewer_errors["result"] == "candidate better"
    assert fewer_errors["upper"] < 0
    worse = compare_goal(
        AbGoal("outcome.resolved.rate"), k_candidate=400, n_candidate=1000, k_baseline=500,
        n_baseline=1000, mde=0.02, split=0.5,
    )  # fmt: skip
    assert worse["result"] == "candidate worse"
    assert worse["planned_per_arm"] > 1000
    assert worse["sample_reached"] is False
