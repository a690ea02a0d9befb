"""A rollout gate on cost per arm, on a real gateway: the candidate's answers cost what its
``cost.per_1k`` says (as the monitor and the evaluation read it); a candidate dearer than the
margin rolls back, one within it advances."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from liveops.core.clock import FixedClock
from liveops.core.rollout.gates import ArmCounts, RolloutGate, RolloutState, evaluate_gates
from liveops.errors import UsageError
from liveops.services.evaluation import run_eval
from liveops.services.registry import register_version
from liveops.services.rollouts import look, start_rollout
from liveops.store import Store
from tests.services.rollouts.conftest import T0, wait_for
from tests.services.rollouts.test_controller import arms, send
from tests.services.rollouts.wines import project

COSTED = """
    rollout:
      steps:
        - {shadow: 100%, min_duration: 10m, min_sample: 40}
        - {canary: 100%, min_duration: 10m, min_sample: 40}
      gates:
        - {metric: cost.per_1k, kind: guardrail, not_worse_than: baseline, margin: 0.5,
           min_sample: 30}
        - {metric: cost.per_request, kind: guardrail, not_worse_than: baseline, margin: 0.001,
           min_sample: 30}
"""


def _priced(store: Store, folder: Path, per_1k: float) -> int:
    reg = register_version(
        store, "wines", actor="ann", entrypoint="tests.services.rollouts.wines:good",
        config={"cost.per_1k": per_1k},
    )  # fmt: skip
    number = int(reg.version.number)
    run_eval(store, f"wines@{number}", actor="ci", project_dir=folder, resamples=50)
    return number


@pytest.mark.parametrize(("per_1k", "action"), [(2.0, "abort"), (0.3, "advance")])
def test_a_dearer_candidate_rolls_back_and_a_cheap_enough_one_advances(
    wines: tuple[Store, Path],
    gateway: Callable[[], TestClient],
    clock: FixedClock,
    per_1k: float,
    action: str,
) -> None:
    store, folder = wines
    project(store, folder, plan=COSTED)
    number = _priced(store, folder, per_1k)  # production v1 sets no price: it costs 0
    client = gateway()
    rec = start_rollout(store, folder, f"wines@{number}", actor="ann")
    wait_for(lambda: len(arms(client)) == 2, "the shadow arm")
    send(client, clock, 60)
    far = T0.replace(year=2027)
    copies = lambda: store.rollouts.arm_rows("wines", T0, far, [("shadow", number)])  # noqa: E731
    wait_for(lambda: len(copies()) >= 60, "the shadow copies")
    clock.advance(601)
    r = look(store, folder, rec, clock=clock)
    assert r.look.action == action, r.look.detail
    per = {g["metric"]: g for g in r.look.gates}
    assert per["cost.per_1k"]["estimate"] == pytest.approx(per_1k)
    assert per["cost.per_request"]["estimate"] == pytest.approx(per_1k / 1000)
    assert per["cost.per_1k"]["n_candidate"] == 60
    # A price that never varies leaves nothing uncertain: the interval is the difference.
    assert per["cost.per_1k"]["lower"] == per["cost.per_1k"]["upper"]
    want = "fail" if action == "abort" else "pass"
    assert {g["verdict"] for g in r.look.gates} == {want}


def test_a_gate_on_a_metric_without_a_sequential_test_is_refused_with_the_list() -> None:
    with pytest.raises(UsageError) as caught:
        RolloutGate.from_spec({"metric": "estimated.macro_f1", "kind": "guardrail",
                               "not_worse_than": "baseline", "margin": 0.01})  # fmt: skip
    assert "has no sequential test for rollouts" in caught.value.message
    assert "cost.per_request" in (caught.value.hint or "")
    gate = RolloutGate.from_spec({"metric": "cost.per_request", "kind": "guardrail",
                                  "not_worse_than": "baseline", "margin": 0.001})  # fmt: skip
    state = RolloutState({gate.key: ArmCounts(200, 0.4, 200, 0.2)})  # no sums of squares
    with pytest.raises(UsageError, match="sum of squares"):
        evaluate_gates([gate], state, planned_n=200)
