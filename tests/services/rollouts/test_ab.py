"""A/B mode on a real gateway with a fake clock: the split holds for the planned duration (no
advancing), each look shows every goal's two arms, difference and fixed-horizon 95 % interval
against the planned sample, a failing guardrail rolls back early, and the duration's end
concludes the rollout with a result per goal while production stays where it was."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from liveops.core.clock import FixedClock
from liveops.services.registry import set_alias
from liveops.services.rollouts import incident_of, look, start_rollout
from liveops.store import Store
from tests.services.rollouts.conftest import wait_for
from tests.services.rollouts.test_controller import arms
from tests.services.rollouts.wines import project, truth, wine

AB = """
    rollout:
      mode: ab
      key: {field: customer}
      split: 50%
      duration: 1h
      mde: 0.3
      goals:
        - {metric: accuracy}
        - {metric: outcome.resolved.rate}
      gates:
        - {metric: accuracy, kind: guardrail, not_worse_than: baseline, margin: 0.05,
           min_sample: 30}
"""


def send(
    client: TestClient, clock: FixedClock, n: int, resolved: Callable[[int, bool], bool]
) -> list[dict[str, Any]]:
    """``n`` answers labelled with the truth; answer ``i`` gets a ``resolved`` outcome when
    ``resolved(i, right)`` says so."""
    out = []
    at = clock.now().timestamp()
    for i in range(n):
        record = wine(i) | {"customer": f"c{i}"}
        r = client.post(
            "/v1/services/wines/predict",
            json={"inputs": record},
            headers={"X-Liveops-Time": str(at + i * 0.01)},
        )
        assert r.status_code == 200, r.text
        answer = r.json()
        pid = answer["prediction_id"]
        fb = client.post("/v1/feedback", json={"prediction_id": pid, "label": truth(record)})
        assert fb.status_code in (200, 201), fb.text
        if resolved(i, answer["label"] == truth(record)):
            oc = client.post("/v1/outcomes", json={"prediction_id": pid, "outcome": "resolved"})
            assert oc.status_code in (200, 201), oc.text
        out.append(answer)
    return out


def _start(store: Store, folder: Path, client: TestClient, candidate: int) -> Any:
    project(store, folder, plan=AB)
    rec = start_rollout(store, folder, f"wines@{candidate}", actor="ann")
    assert rec.plan.mode == "ab"
    wait_for(lambda: len(arms(client)) == 2, "the A/B arms")
    assert [(a[0], a[2]) for a in arms(client)] == [("production", 0.5), ("canary", 0.5)]
    return rec


@pytest.mark.slow
def test_a_better_candidate_is_found_better_at_the_end_and_not_promoted(
    wines: tuple[Store, Path], gateway: Callable[[], TestClient], clock: FixedClock
) -> None:
    store, folder = wines
    set_alias(store, "wines", "production", "2", actor="ann")  # wrong in the south
    client = gateway()
    rec = _start(store, folder, client, 3)
    answers = send(client, clock, 200, lambda i, right: right)
    assert {a["version"] for a in answers} == {2, 3}

    clock.advance(1200)
    r = look(store, folder, rec, clock=clock)
    assert (r.look.action, r.rollout.state, r.rollout.step) == ("hold", "running", 0)
    assert r.look.detail.startswith("A/B at 50%: 1200 of 3600 s")
    table = r.look.counts["ab"]
    assert table["final"] is False
    acc = table["goals"][0]
    assert acc["goal"] == "accuracy"
    assert acc["candidate"] == 1.0
    assert 0.4 < acc["control"] < 0.6  # half its arm is in the south
    assert acc["n_candidate"] + acc["n_baseline"] == 200

    send(client, clock, 200, lambda i, right: right)  # the same customers, the same arms
    clock.advance(2400)
    r = look(store, folder, r.rollout, clock=clock)
    assert (r.look.action, r.rollout.state) == ("conclude", "concluded"), r.look.detail
    goals = {g["goal"]: g for g in r.look.counts["ab"]["goals"]}
    for name in ("accuracy", "outcome.resolved.rate"):
        g = goals[name]
        assert g["result"] == "candidate better"
        assert 0.4 < g["difference"] < 0.6
        assert 0 < g["lower"] < g["difference"] < g["upper"]  # the interval excludes 0
        assert g["confidence"] == 0.95
        assert g["planned_per_arm"] is not None
        assert g["sample_reached"] is True  # mde 0.3 at a rate of 0.5 needs a few dozen
    assert "accuracy: candidate better (+0." in r.look.detail
    assert ", 95% [+0." in r.look.detail
    assert "`liveops alias set wines production 3`" in r.look.detail
    # It does not promote by itself: production is still v2, and everything routes to it.
    assert store.registry.get_alias("wines", "production") == 2
    wait_for(lambda: arms(client) == [("production", 2, 1.0, "live")], "the route back")
    events = store.audit.events(object_type="rollout", object_id=rec.id)
    assert [e.action for e in reversed(events)] == ["rollout.started", "rollout.concluded"]
    event = events[0]
    assert event.actor == "rollout-controller"
    assert {g["goal"]: g["result"] for g in event.data["goals"]} == {
        "accuracy": "candidate better", "outcome.resolved.rate": "candidate better",
    }  # fmt: skip


@pytest.mark.slow
def test_no_difference_covers_zero_and_says_so(
    wines: tuple[Store, Path], gateway: Callable[[], TestClient], clock: FixedClock
) -> None:
    store, folder = wines
    client = gateway()
    rec = _start(store, folder, client, 3)  # v3 answers as v1 does
    send(client, clock, 200, lambda i, right: i % 3 == 0)
    clock.advance(3600)
    r = look(store, folder, rec, clock=clock)
    assert (r.look.action, r.rollout.state) == ("conclude", "concluded"), r.look.detail
    for g in r.look.counts["ab"]["goals"]:
        assert g["result"] == "no detectable difference"
        assert g["lower"] < 0 < g["upper"] or g["lower"] <= 0 <= g["upper"]
    resolved = r.look.counts["ab"]["goals"][1]
    assert 0.2 < resolved["control"] < 0.5  # a third of the answers, whichever arm
    assert resolved["planned_per_arm"] <= min(resolved["n_candidate"], resolved["n_baseline"])
    assert resolved["sample_reached"] is True
    accuracy = r.look.counts["ab"]["goals"][0]
    assert (accuracy["control"], accuracy["candidate"]) == (1.0, 1.0)
    # A rate of exactly 1 has no variance to size a sample from: none planned, none reached.
    assert (accuracy["planned_per_arm"], accuracy["sample_reached"]) == (None, False)
    assert "no detectable difference" in r.look.detail
    assert store.registry.get_alias("wines", "production") == 1


def test_a_failing_guardrail_rolls_back_before_the_duration_ends(
    wines: tuple[Store, Path], gateway: Callable[[], TestClient], clock: FixedClock
) -> None:
    store, folder = wines
    client = gateway()
    rec = _start(store, folder, client, 2)  # wrong in the south
    send(client, clock, 200, lambda i, right: right)
    clock.advance(600)
    r = look(store, folder, rec, clock=clock)
    assert (r.look.action, r.rollout.state) == ("abort", "rolled_back"), r.look.detail
    assert r.look.detail.startswith("rolled back: accuracy")
    assert "failed at A/B 50%" in r.look.detail
    assert store.registry.get_alias("wines", "production") == 1
    assert incident_of(store, rec.id) is not None
    wait_for(lambda: arms(client) == [("production", 1, 1.0, "live")], "the route back")
