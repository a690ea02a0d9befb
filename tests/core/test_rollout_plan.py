"""The rollout plan in liveops.yaml: validated in core, every refusal naming the file, line and
field (a step without a minimum, a gate on an unknown metric, a sticky key on no input)."""

from __future__ import annotations

import pytest

from liveops.core.project import parse_project
from liveops.core.rollout.plan import parse_plan
from liveops.errors import ProjectFileError

HEAD = """services:
  - name: wines
    owner: cellar@example.com
    inputs:
      alcohol: {type: number, required: true}
      customer: {type: string}
    output: {labels: [red, white]}
    rollout:
"""


def _parse(plan: str) -> object:
    return parse_project(HEAD + plan, "liveops.yaml")


GOOD = """      key: {field: customer}
      steps:
        - {shadow: 100%, min_duration: 30m, min_sample: 500}
        - {canary: 1%, min_duration: 1h, min_sample: 200}
        - {canary: 0.1, min_duration: 2h, min_sample: 1000}
        - {canary: 100%, min_duration: 24h, min_sample: 5000}
      gates:
        - {metric: accuracy, slice: south, kind: guardrail, not_worse_than: baseline,
           margin: 0.01, require: pass}
        - {metric: latency.p95_ms, kind: guardrail, not_worse_than: baseline, margin: 50,
           min_sample: 30, alpha: 0.01}
"""


def test_a_plan_is_read_with_its_steps_gates_and_key() -> None:
    project = _parse(GOOD)
    plan = project.services[0].rollout_plan()  # type: ignore[attr-defined]
    assert [s.label() for s in plan.steps] == [
        "shadow 100%", "canary 1%", "canary 10%", "canary 100%",
    ]  # fmt: skip
    assert [s.min_duration_s for s in plan.steps] == [1800.0, 3600.0, 7200.0, 86400.0]
    assert plan.steps[0].min_sample == 500
    assert plan.key.field == "customer"
    assert plan.gates[0].require == "pass"
    assert plan.gates[0].slice == "south"
    # What the store keeps reads back as the same plan.
    assert parse_plan(plan.to_dict()) == plan


@pytest.mark.parametrize(
    ("plan", "line", "field", "words"),
    [
        (
            "      steps:\n        - {canary: 100%, min_sample: 10}\n",
            10,
            "services.0.rollout.steps.0.min_duration",
            "a step needs a minimum duration",
        ),
        (
            "      steps:\n        - {canary: 10%, min_duration: 1h}\n"
            "        - {canary: 100%, min_duration: 1h, min_sample: 10}\n",
            10,
            "services.0.rollout.steps.0.min_sample",
            "a step needs a minimum sample",
        ),
        (
            "      steps:\n        - {canary: 100%, min_duration: 1h, min_sample: 10}\n"
            "      gates:\n        - {metric: acuracy, kind: guardrail, "
            "not_worse_than: baseline, margin: 0.01}\n",
            12,
            "services.0.rollout.gates.0.metric",
            "unknown metric 'acuracy'; did you mean 'accuracy'?",
        ),
        (
            "      key: {field: user}\n"
            "      steps:\n        - {canary: 100%, min_duration: 1h, min_sample: 10}\n",
            9,
            "services.0.rollout.key.field",
            "'user' is not one of the service's inputs",
        ),
        (
            "      steps:\n        - {canary: 150%, min_duration: 1h, min_sample: 10}\n",
            10,
            "services.0.rollout.steps.0.canary",
            "at most 100%",
        ),
        (
            "      steps:\n        - {canary: 50%, min_duration: 1h, min_sample: 10}\n",
            10,
            "services.0.rollout.steps.0",
            "the last step must be canary 100%",
        ),
        (
            "      steps:\n        - {canary: 100%, min_duration: soon, min_sample: 10}\n",
            10,
            "services.0.rollout.steps.0.min_duration",
            "is not a duration",
        ),
        (
            "      stepz: []\n",
            9,
            "services.0.rollout.stepz",
            "unknown field",
        ),
    ],
)
def test_a_bad_plan_is_refused_naming_the_line(
    plan: str, line: int, field: str, words: str
) -> None:
    with pytest.raises(ProjectFileError) as err:
        _parse(plan)
    assert err.value.details["line"] == line
    assert err.value.details["field"] == field
    assert words in err.value.message
    assert err.value.message.startswith(f"liveops.yaml:{line}: {field}: ")
