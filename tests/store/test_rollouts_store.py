"""The rollout aggregate on every backend: one active rollout per service (refused by the
service and by the database itself), states and looks read back as written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from liveops.core.project import parse_project
from liveops.core.rollout.state import RolloutLook, RolloutRecord
from liveops.errors import ConflictError
from liveops.services.registry import apply_project
from liveops.store import Store
from liveops.store.rollout_tables import rollouts

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PROJECT = """
services:
  - name: wines
    owner: cellar@example.com
    inputs: {alcohol: {type: number, required: true}}
    output: {labels: [red, white]}
"""
PLAN = {
    "steps": [
        {"canary": 0.1, "min_duration": 600, "min_sample": 50},
        {"canary": 1.0, "min_duration": 600, "min_sample": 50},
    ],
    "gates": [
        {"metric": "error_rate", "kind": "guardrail", "not_worse_than": "baseline", "margin": 0.01}
    ],
}


def _record(store: Store, conn: sa.Connection, version: int = 2) -> RolloutRecord:
    return RolloutRecord(
        id=store.rollouts.new_id(conn),
        service="wines",
        version=version,
        baseline=1,
        release_id=None,
        plan_data=PLAN,
        state="running",
        step=0,
        step_started_at=T0,
        started_at=T0,
        started_by="ann",
        updated_at=T0,
    )


@pytest.fixture
def applied(store: Store) -> Store:
    apply_project(store, parse_project(PROJECT), actor="ann")
    return store


def test_a_rollout_and_its_looks_read_back(applied: Store) -> None:
    store = applied
    with store.write() as conn:
        rec = _record(store, conn)
        store.rollouts.insert(conn, rec)
    got = store.rollouts.get(rec.id)
    assert got is not None
    assert got.active
    assert got.plan.steps[0].label() == "canary 10%"
    assert store.rollouts.active_for("wines") == got
    gates = ({"gate": "error_rate", "verdict": "pass", "estimate": -0.001, "n_candidate": 80},)
    with store.write() as conn:
        seq = store.rollouts.next_seq(conn, rec.id)
        store.rollouts.add_look(
            conn, RolloutLook(rec.id, seq, T0, 0, "advance", "ok", gates, {"x": 1})
        )
        store.rollouts.update(
            conn, rec.id, state="completed", step=1, step_started_at=T0,
            now=T0 + timedelta(hours=1), reason="done",
        )  # fmt: skip
    (lk,) = store.rollouts.looks(rec.id)
    assert (lk.seq, lk.action, lk.gates[0]["estimate"]) == (1, "advance", -0.001)
    ended = store.rollouts.get(rec.id)
    assert ended is not None
    assert (ended.state, ended.active, ended.ended_at) == (
        "completed",
        False,
        T0 + timedelta(hours=1),
    )
    assert store.rollouts.active() == []


def test_a_second_active_rollout_of_a_service_is_refused_and_nothing_is_written(
    applied: Store,
) -> None:
    store = applied
    with store.write() as conn:
        first = _record(store, conn)
        store.rollouts.insert(conn, first)
    head = store.audit.head()
    with pytest.raises(ConflictError) as err, store.write() as conn:
        store.rollouts.insert(conn, _record(store, conn, version=3))
    assert "wines already has an active rollout" in err.value.message
    assert first.id in err.value.message
    assert "rollout abort wines" in (err.value.hint or "")
    assert [r.id for r in store.rollouts.list_rollouts()] == [first.id]
    assert store.audit.head() == head


def test_the_database_itself_refuses_two_active_rollouts(applied: Store) -> None:
    store = applied
    row = {
        "service": "wines", "version": 2, "baseline": 1, "plan": PLAN, "state": "running",
        "step": 0, "step_started_at": T0, "started_at": T0, "started_by": "x", "updated_at": T0,
        "active": "wines",
    }  # fmt: skip
    with store.engine.begin() as conn:
        conn.execute(rollouts.insert().values(id="ro1", **row))
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
        conn.execute(rollouts.insert().values(id="ro2", **row))
    # Ended rollouts (active NULL) never collide.
    with store.engine.begin() as conn:
        conn.execute(rollouts.insert().values(id="ro3", **{**row, "active": None}))
        conn.execute(rollouts.insert().values(id="ro4", **{**row, "active": None}))
    assert len(store.rollouts.list_rollouts("wines")) == 3
