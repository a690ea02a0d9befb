"""Watching after 100 %: with ``watch:`` in the plan the last step's advance starts a window in
which the candidate answers everything, the gates are still judged on a fake clock, a failing
guardrail rolls back (production never moved), and the window's end completes the rollout."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from liveops.core.clock import FixedClock
from liveops.errors import ConflictError
from liveops.services.evaluation import run_eval
from liveops.services.registry import register_version
from liveops.services.rollouts import incident_of, look, pause_rollout, start_rollout
from liveops.store import Store
from tests.services.rollouts.conftest import wait_for
from tests.services.rollouts.test_controller import arms, send
from tests.services.rollouts.wines import WineModel, project, truth, wine

WATCHED = """
    rollout:
      key: {field: customer}
      watch: 1h
      notify: []
      steps:
        - {canary: 50%, min_duration: 10m, min_sample: 40}
        - {canary: 100%, min_duration: 10m, min_sample: 40}
      gates:
        - {metric: error_rate, kind: guardrail, not_worse_than: baseline, margin: 0.02,
           min_sample: 30}
        - {metric: accuracy, kind: guardrail, not_worse_than: baseline, margin: 0.05,
           min_sample: 30}
"""


class Picky(WineModel):
    """Right, except for customers whose name starts with ``late``: a fault the canary steps
    never meet and the watch does."""

    def predict_batch(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        out = super().predict_batch(records)
        for r, o in zip(records, out, strict=True):
            if str(r.get("customer", "")).startswith("late"):
                o["label"] = "white" if o["label"] == "red" else "red"
        return out


def picky() -> WineModel:
    return Picky()


def _to_watching(
    store: Store, folder: Path, client: TestClient, clock: FixedClock, candidate: int
) -> Any:
    rec = start_rollout(store, folder, f"wines@{candidate}", actor="ann")
    wait_for(lambda: len(arms(client)) == 2, "the canary arms")
    send(client, clock, 160)
    clock.advance(601)
    r = look(store, folder, rec, clock=clock)
    assert (r.look.action, r.rollout.step) == ("advance", 1), r.look.detail
    wait_for(lambda: arms(client)[-1][2] == 1.0, "canary 100%")
    send(client, clock, 60, start=1000)
    clock.advance(601)
    r = look(store, folder, r.rollout, clock=clock)
    assert (r.look.action, r.rollout.state) == ("advance", "watching"), r.look.detail
    assert "production moves when the window ends" in r.look.detail
    return r.rollout


@pytest.mark.slow
def test_the_watch_keeps_judging_and_completes_when_its_window_ends(
    wines: tuple[Store, Path], gateway: Callable[[], TestClient], clock: FixedClock
) -> None:
    store, folder = wines
    project(store, folder, plan=WATCHED)
    client = gateway()
    rec = _to_watching(store, folder, client, clock, 3)
    assert store.registry.get_alias("wines", "production") == 1  # not yet
    answers = send(client, clock, 60, start=2000)
    assert {a["version"] for a in answers} == {3}  # the candidate answers everything
    with pytest.raises(ConflictError, match="is watching: it cannot be paused"):
        pause_rollout(store, "wines", actor="bo", clock=clock)

    clock.advance(1800)
    r = look(store, folder, rec, clock=clock)
    assert (r.look.action, r.rollout.state) == ("hold", "watching")
    assert r.look.detail == "watching at canary 100%: 1800 of 3600 s"
    gate = next(g for g in r.look.gates if g["metric"] == "error_rate")
    assert gate["n_candidate"] == 60  # the watch's own window: answers since it began
    assert store.registry.get_alias("wines", "production") == 1

    clock.advance(1801)
    r = look(store, folder, r.rollout, clock=clock)
    assert (r.look.action, r.rollout.state) == ("advance", "completed")
    assert store.registry.get_alias("wines", "production") == 3
    actions = [e.action for e in reversed(store.audit.events(object_type="rollout"))]
    assert actions == [
        "rollout.started", "rollout.advanced", "rollout.watching", "rollout.completed",
    ]  # fmt: skip
    wait_for(lambda: arms(client) == [("production", 3, 1.0, "live")], "v3 as production")


def test_a_guardrail_failing_during_the_watch_rolls_back(
    wines: tuple[Store, Path], gateway: Callable[[], TestClient], clock: FixedClock
) -> None:
    store, folder = wines
    project(store, folder, plan=WATCHED)
    reg = register_version(
        store, "wines", actor="ann", entrypoint="tests.services.rollouts.test_watch:picky"
    )
    number = int(reg.version.number)
    run_eval(store, f"wines@{number}", actor="ci", project_dir=folder, resamples=50)
    client = gateway()
    rec = _to_watching(store, folder, client, clock, number)

    at = clock.now().timestamp()
    for i in range(60):  # late customers: the candidate is wrong for every one of them
        record = wine(i) | {"customer": f"late{i}"}
        answer = client.post(
            "/v1/services/wines/predict",
            json={"inputs": record},
            headers={"X-Liveops-Time": str(at + i * 0.01)},
        ).json()
        assert answer["version"] == number
        client.post(
            "/v1/feedback", json={"prediction_id": answer["prediction_id"], "label": truth(record)}
        )
    clock.advance(60)
    r = look(store, folder, rec, clock=clock)
    assert (r.look.action, r.rollout.state) == ("abort", "rolled_back"), r.look.detail
    assert r.look.detail.startswith("rolled back: accuracy")
    assert "failed at canary 100% (watching)" in r.look.detail
    assert store.registry.get_alias("wines", "production") == 1  # it never moved
    assert incident_of(store, rec.id) is not None
    wait_for(lambda: arms(client) == [("production", 1, 1.0, "live")], "the route back")
