"""What a rollout needs before it starts, and what is refused with nothing written: a version
without a passing evaluation (unless its release records an approved override), two rollouts
of one service at once, a gate the controller cannot count; pause, resume and abort by people,
each an audit event with its actor."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from liveops.core.clock import FixedClock
from liveops.core.serving.prediction import PredictionRecord, new_prediction_id
from liveops.errors import ConflictError, InvalidInputError
from liveops.services.alerts import get_incident, list_incidents, open_by_hand
from liveops.services.predictions.direct import DirectLog
from liveops.services.releases import approve, create_release, request_override
from liveops.services.rollouts import (
    abort_rollout,
    incident_of,
    look,
    pause_rollout,
    resume_rollout,
    run_rollouts,
    start_rollout,
)
from liveops.store import Store
from liveops.store.rollout_tables import rollouts
from tests.services.rollouts.conftest import T0
from tests.services.rollouts.wines import APPROVALS, PLAN, production, project, register, wine


@pytest.fixture
def shop(store: Store, tmp_path: Path) -> Iterator[tuple[Store, Path]]:
    folder = project(store, tmp_path / "wines", extra=APPROVALS)
    production(store, register(store, "good", folder=folder, evaluate=False))
    return store, folder


def _nothing_written(store: Store) -> tuple[Any, ...]:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(sa.func.count()).select_from(rollouts)).scalar()
    return (rows, store.audit.head())


def test_a_version_without_a_passing_evaluation_is_refused(shop: tuple[Store, Path]) -> None:
    store, folder = shop
    never = register(store, "good_too", folder=folder, evaluate=False)
    before = _nothing_written(store)
    with pytest.raises(ConflictError) as err:
        start_rollout(store, folder, f"wines@{never}", actor="ann")
    assert f"wines@{never} has no passing evaluation (missing" in err.value.message
    assert "liveops eval" in (err.value.hint or "")
    assert _nothing_written(store) == before


def test_a_failed_evaluation_rolls_out_only_with_an_approved_override(
    shop: tuple[Store, Path],
) -> None:
    store, folder = shop
    bad = register(store, "all_wrong", folder=folder)
    before = _nothing_written(store)
    with pytest.raises(ConflictError) as err:
        start_rollout(store, folder, f"wines@{bad}", actor="ann")
    assert "has no passing evaluation (fail" in err.value.message
    assert _nothing_written(store) == before
    rel = create_release(store, folder, f"wines@{bad}", actor="bo").release
    request_override(
        store, rel.id, folder, actor="bo",
        justification="accepted for the north clinic only while the south model is retrained",
    )  # fmt: skip
    with pytest.raises(ConflictError):  # requested, not yet approved
        start_rollout(store, folder, f"wines@{bad}", actor="ann")
    approve(store, rel.id, folder, actor="dee", override=True)
    rec = start_rollout(store, folder, f"wines@{bad}", actor="ann")
    assert rec.release_id == rel.id
    started = store.audit.events(object_type="rollout", object_id=rec.id)[0]
    assert started.data["evaluation"] == "overridden"
    assert started.data["release"] == rel.id


def test_two_rollouts_of_one_service_at_once_are_refused(shop: tuple[Store, Path]) -> None:
    store, folder = shop
    v2 = register(store, "bad_south", folder=folder)
    v3 = register(store, "good_too", folder=folder)
    first = start_rollout(store, folder, f"wines@{v2}", actor="ann")
    before = _nothing_written(store)
    with pytest.raises(ConflictError) as err:
        start_rollout(store, folder, f"wines@{v3}", actor="bo")
    assert err.value.message == (
        f"wines already has an active rollout ({first.id}: wines@{v2}, running); one at a time "
        "per service"
    )
    assert _nothing_written(store) == before
    # Once it ended, the next one may start.
    abort_rollout(store, "wines", actor="ann", reason="make way")
    assert start_rollout(store, folder, f"wines@{v3}", actor="bo").version == v3


def test_a_gate_the_controller_cannot_count_is_refused_at_start(
    store: Store, tmp_path: Path
) -> None:
    plan = PLAN.replace("metric: error_rate", "metric: coverage")
    folder = project(store, tmp_path / "w", plan=plan)
    production(store, register(store, "good", folder=folder, evaluate=False))
    v2 = register(store, "good_too", folder=folder)
    with pytest.raises(InvalidInputError) as err:
        start_rollout(store, folder, f"wines@{v2}", actor="ann")
    assert "does not count coverage yet" in err.value.message
    assert store.rollouts.list_rollouts() == []


def test_people_pause_resume_and_abort_each_with_an_audit_event(
    shop: tuple[Store, Path],
) -> None:
    store, folder = shop
    v2 = register(store, "good_too", folder=folder)
    rec = start_rollout(store, folder, f"wines@{v2}", actor="ann")
    assert pause_rollout(store, "wines", actor="bo", reason="launch freeze").state == "paused"
    with pytest.raises(ConflictError) as err:
        pause_rollout(store, rec.id, actor="bo")
    assert "is paused: it cannot be paused" in err.value.message
    assert resume_rollout(store, rec.id, actor="cy").state == "running"
    ended = abort_rollout(store, "wines", actor="dee", reason="not today")
    assert (ended.state, ended.active, ended.reason) == ("aborted", False, "not today")
    with pytest.raises(ConflictError):
        resume_rollout(store, rec.id, actor="cy")
    events = [(e.action, e.actor) for e in reversed(store.audit.events(object_type="rollout"))]
    assert events == [
        ("rollout.started", "ann"), ("rollout.paused", "bo"), ("rollout.resumed", "cy"),
        ("rollout.aborted", "dee"),
    ]  # fmt: skip


def test_a_rollout_needs_a_production_version_and_a_plan(store: Store, tmp_path: Path) -> None:
    folder = project(store, tmp_path / "w", plan="")
    v1 = register(store, "good", folder=folder)
    with pytest.raises(ConflictError) as err:
        start_rollout(store, folder, f"wines@{v1}", actor="ann")
    assert "no production version" in err.value.message
    production(store, v1)
    v2 = register(store, "good_too", folder=folder)
    with pytest.raises(ConflictError) as err:
        start_rollout(store, folder, f"wines@{v2}", actor="ann")
    assert err.value.message == "wines has no rollout plan"


def test_one_controller_acts_at_a_time_across_processes(shop: tuple[Store, Path]) -> None:
    store, folder = shop
    start_rollout(store, folder, f"wines@{register(store, 'good_too', folder=folder)}", actor="a")
    first = run_rollouts(store, folder, owner="gateway-1")
    assert first.ran
    assert len(first.looks) == 1
    second = run_rollouts(store, folder, owner="gateway-2")
    assert not second.ran
    assert second.looks == []
    assert second.skipped is not None
    assert "held by gateway-1" in second.skipped


SPLIT_PLAN = """
    rollout:
      key: {field: customer}
      steps:
        - {canary: 50%, min_duration: 10m, min_sample: 50}
        - {canary: 100%, min_duration: 10m, min_sample: 50}
      gates:
        - {metric: error_rate, kind: guardrail, not_worse_than: baseline, margin: 0.5,
           min_sample: 30}
"""


def test_a_split_off_its_weights_halts_the_rollout_counting_keys_not_requests(
    store: Store, tmp_path: Path
) -> None:
    folder = project(store, tmp_path / "w", plan=SPLIT_PLAN)
    production(store, register(store, "good", folder=folder, evaluate=False))
    v2 = register(store, "good_too", folder=folder)
    clock = FixedClock(T0)
    rec = start_rollout(store, folder, f"wines@{v2}", actor="ann", clock=clock)
    log = DirectLog(store)

    def answer(arm: str, version: int, customer: str, i: int) -> PredictionRecord:
        ts = T0.timestamp() + 1 + i * 0.001
        inputs = wine(i) | {"customer": customer}
        return PredictionRecord(new_prediction_id(ts), "wines", version, arm, ts, inputs, "red")

    # 50 customers each on an arm, but one baseline customer sends 2,000 requests: requests
    # are 2,050 to 50, keys 50 to 50. Counting keys, the split holds.
    rows = [answer("canary", v2, f"c{i}", i) for i in range(50)]
    rows += [answer("production", 1, f"b{i}", 100 + i) for i in range(50)]
    rows += [answer("production", 1, "b0", 1000 + i) for i in range(2000)]
    log.store(rows)
    clock.advance(601)
    ok = look(store, folder, rec, clock=clock, actor="controller")
    split = next(g for g in ok.look.gates if g["gate"] == "split")
    assert split["verdict"] != "fail"
    assert ok.look.counts["split"] == {
        "unit": "distinct customer", "baseline": 50, "candidate": 50, "weights": [0.5, 0.5],
    }  # fmt: skip
    assert ok.look.action == "advance"

    # A second rollout whose canary got 20 customers against 200: halted.
    abort_rollout(store, "wines", actor="ann")
    clock.advance(60)
    rec = start_rollout(store, folder, f"wines@{v2}", actor="ann", clock=clock)
    base = clock.now().timestamp() - T0.timestamp()
    rows = [answer("canary", v2, f"x{i}", int(base * 1000) + i) for i in range(20)]
    rows += [answer("production", 1, f"y{i}", int(base * 1000) + 100 + i) for i in range(200)]
    log.store(rows)
    clock.advance(601)
    reported = open_by_hand(store, "wines", "fewer customers see the new wines", actor="cy")
    bad = look(store, folder, rec, clock=clock)
    split = next(g for g in bad.look.gates if g["gate"] == "split")
    assert split["verdict"] == "fail"
    assert (bad.look.action, bad.rollout.state) == ("abort", "rolled_back")
    assert "split failed" in bad.look.detail
    # The automatic rollback joined the incident already open for wines, with its evidence.
    assert incident_of(store, rec.id) == reported
    incident = get_incident(store, reported)
    [evidence] = incident.rollbacks
    assert (evidence["rollout"], evidence["from"], evidence["to"]) == (rec.id, v2, 1)
    assert [g["gate"] for g in evidence["failing_gates"]] == ["split"]
    assert evidence["failing_gates"][0] == split  # the look's raw values
    assert [t["kind"] for t in incident.timeline] == ["opened", "joined", "rollback"]
    assert len(list_incidents(store, service="wines")) == 1


def test_a_rollout_whose_production_moved_meanwhile_ends_saying_why(
    shop: tuple[Store, Path],
) -> None:
    store, folder = shop
    v2 = register(store, "good_too", folder=folder)
    rec = start_rollout(store, folder, f"wines@{v2}", actor="ann")
    production(store, v2)  # someone moved the alias by hand
    result = look(store, folder, rec)
    assert (result.look.action, result.rollout.state) == ("abort", "aborted")
    assert result.rollout.reason == (
        f"production moved from wines@1 to wines@{v2} during the rollout: it no longer applies"
    )
