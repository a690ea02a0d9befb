"""The controller on a real gateway: answers through the predict route, labels through the
feedback route, looks with a fake clock. A candidate wrong in the south is caught in shadow
and rolled back by itself; a good one goes shadow -> canary 50% -> 100% and becomes
production; every transition is an audit event with its actor."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from liveops.core.clock import FixedClock
from liveops.server.app import create_app
from liveops.services.alerts import get_incident, open_by_hand
from liveops.services.rollouts import incident_of, look, rollback, shadow_of, start_rollout
from liveops.services.serving import ServeOptions
from liveops.store import Store, open_store
from tests.services.rollouts.conftest import T0, wait_for
from tests.services.rollouts.wines import DirectSink, production, project, register, truth, wine


def arms(client: TestClient) -> list[tuple[str, int, float, str]]:
    route = client.app.gateway.table.route("wines")  # type: ignore[attr-defined]
    if route is None:  # still loading
        return []
    return [(a.name, a.version, round(a.weight, 3), a.role) for a in route.arms]


def send(
    client: TestClient, clock: FixedClock, n: int, start: int = 0, *, keyed: bool = True
) -> list[dict[str, Any]]:
    """``n`` answers (customer c{i}) at the clock's time, each labelled with the truth."""
    out = []
    at = clock.now().timestamp()
    for i in range(start, start + n):
        record = wine(i) | ({"customer": f"c{i}"} if keyed else {})
        headers = {"X-Liveops-Time": str(at + (i - start) * 0.01)}
        r = client.post("/v1/services/wines/predict", json={"inputs": record}, headers=headers)
        assert r.status_code == 200, r.text
        answer = r.json()
        fb = client.post(
            "/v1/feedback",
            json={"prediction_id": answer["prediction_id"], "label": truth(record), "source": "qa"},
        )
        assert fb.status_code in (200, 201), fb.text
        out.append(answer)
    return out


def shadow_rows(store: Store, since: Any) -> list[dict[str, Any]]:
    return store.rollouts.arm_rows("wines", since, clock_far(since), [("shadow", 2), ("shadow", 3)])


def clock_far(t: Any) -> Any:
    from datetime import timedelta

    return t + timedelta(days=365)


def test_a_candidate_wrong_in_the_south_is_rolled_back_in_shadow_by_itself(
    wines: tuple[Store, Path], gateway: Callable[[], TestClient], clock: FixedClock
) -> None:
    store, folder = wines
    client = gateway()
    assert arms(client) == [("production", 1, 1.0, "live")]
    rec = start_rollout(store, folder, "wines@2", actor="ann")
    assert (rec.state, rec.step, rec.baseline) == ("running", 0, 1)
    wait_for(lambda: len(arms(client)) == 2, "the gateway to pick up the rollout")
    assert arms(client) == [("production", 1, 1.0, "live"), ("shadow", 2, 1.0, "shadow")]

    served = send(client, clock, 10)
    # A look before the step's minimum (duration, sample, and each gate's sample): wait.
    clock.advance(60)
    early = look(store, folder, rec, clock=clock)
    assert early.look.action == "hold"
    assert "minimum" in early.look.detail
    assert early.rollout.state == "running"

    served += send(client, clock, 70, start=10)
    # Every answer the caller got came from production; the shadow copies are logged apart.
    assert {a["version"] for a in served} == {1}
    copies = wait_for(
        lambda: (rows := shadow_rows(store, T0)) and len(rows) >= 80 and rows, "the copies"
    )
    pairs = {shadow_of(r["reason"]) for r in copies}
    assert pairs == {a["prediction_id"] for a in served}  # each copy names the answer served

    clock.advance(600)
    result = look(store, folder, early.rollout, clock=clock)
    assert result.look.action == "abort"
    assert result.rollout.state == "rolled_back"
    gate = next(g for g in result.look.gates if g["metric"] == "accuracy")
    assert gate["verdict"] == "fail"
    assert gate["n_candidate"] == 80
    assert gate["n_baseline"] == 80
    # candidate - baseline: half the south (a quarter of all) is wrong, 0.5 in 80 answers
    assert gate["estimate"] == -0.5
    assert gate["upper"] < -0.05
    south = next(g for g in result.look.gates if g["scope"] == "slice:south")
    assert (south["verdict"], south["estimate"], south["n_candidate"]) == ("fail", -1.0, 40)
    latency = next(g for g in result.look.gates if g["metric"] == "latency.p95_ms")
    assert latency["verdict"] != "fail"
    assert latency["n_baseline"] == 80
    assert "accuracy" in (result.rollout.reason or "")
    # The gateways stop copying to v2 at their next poll; production never moved.
    wait_for(lambda: arms(client) == [("production", 1, 1.0, "live")], "the route back")
    assert store.registry.get_alias("wines", "production") == 1

    events = store.audit.events(object_type="rollout", object_id=rec.id)
    assert [(e.action, e.actor) for e in reversed(events)] == [
        ("rollout.started", "ann"),
        ("rollout.rolled_back", "rollout-controller"),
        ("rollout.incident", "rollout-controller"),
    ]
    assert events[1].data["gates"][0]["verdict"] == "fail"
    # The rollback opened an incident for wines, keeping the evidence, linked both ways.
    incident_id = incident_of(store, rec.id)
    assert events[0].data == {"incident": incident_id, "opened": True}
    incident = get_incident(store, incident_id)
    assert (incident.service, incident.status, incident.opened_by) == (
        "wines", "open", "rollout-controller",
    )  # fmt: skip
    assert incident.title == f"rollback of wines: v2 -> v1 (rollout {rec.id})"
    [evidence] = incident.rollbacks
    assert (evidence["rollout"], evidence["from"], evidence["to"]) == (rec.id, 2, 1)
    assert evidence["step"] == "shadow 100%"
    failing = {g["scope"]: g for g in evidence["failing_gates"]}
    assert failing["slice:south"]["estimate"] == -1.0  # the look's raw values
    assert failing["slice:south"]["n_candidate"] == 40
    assert all(g["verdict"] == "fail" for g in evidence["failing_gates"])
    assert "latency.p95_ms" not in {g["metric"] for g in evidence["failing_gates"]}
    opened = store.audit.events(object_type="incident", object_id=str(incident_id))
    assert [(e.action, e.actor) for e in opened] == [("incident.opened", "rollout-controller")]
    assert store.audit.verify().ok


def test_a_good_candidate_advances_step_by_step_and_becomes_production(
    wines: tuple[Store, Path], gateway: Callable[[], TestClient], clock: FixedClock
) -> None:
    store, folder = wines
    client = gateway()
    rec = start_rollout(store, folder, "wines@3", actor="ann")
    wait_for(lambda: len(arms(client)) == 2, "the shadow arm")
    send(client, clock, 60)
    wait_for(lambda: len(shadow_rows(store, T0)) >= 60, "the shadow copies")
    clock.advance(601)
    r = look(store, folder, rec, clock=clock)
    assert (r.look.action, r.rollout.step, r.rollout.state) == ("advance", 1, "running")
    wait_for(
        lambda: arms(client) == [("production", 1, 0.5, "live"), ("canary", 3, 0.5, "live")],
        "the canary arms",
    )

    # Sticky: one customer always gets one version; the split is near half over customers.
    first = send(client, clock, 120, start=1000)
    again = send(client, clock, 120, start=1000)
    assert [a["version"] for a in first] == [a["version"] for a in again]
    on_canary = sum(a["version"] == 3 for a in first)
    assert 40 <= on_canary <= 80
    clock.advance(601)
    r = look(store, folder, r.rollout, clock=clock)
    assert (r.look.action, r.rollout.step) == ("advance", 2), r.look.detail
    wait_for(
        lambda: arms(client) == [("production", 1, 0.0, "live"), ("canary", 3, 1.0, "live")],
        "canary 100%",
    )
    answers = send(client, clock, 50, start=2000)
    assert {a["version"] for a in answers} == {3}
    clock.advance(601)
    r = look(store, folder, r.rollout, clock=clock)
    assert (r.look.action, r.rollout.state) == ("advance", "completed"), r.look.detail
    assert store.registry.get_alias("wines", "production") == 3
    wait_for(lambda: arms(client) == [("production", 3, 1.0, "live")], "v3 as production")

    actions = [e.action for e in reversed(store.audit.events(object_type="rollout"))]
    assert actions == [
        "rollout.started", "rollout.advanced", "rollout.advanced", "rollout.completed",
    ]  # fmt: skip
    # The looks keep every gate's raw values.
    looks = store.rollouts.looks(rec.id)
    assert [lk.action for lk in reversed(looks)] == ["advance", "advance", "advance"]
    assert all(
        g["n_candidate"] >= (10 if g["scope"] == "slice:south" else 30)
        for lk in looks
        for g in lk.gates
        if g["gate"] != "split"
    )
    # At canary 50% the split was checked on customers (each counted once), not requests.
    at_half = looks[1]
    split = next(g for g in at_half.gates if g["gate"] == "split")
    assert split["verdict"] != "fail"
    units = at_half.counts["split"]
    assert units["unit"] == "distinct customer"
    assert units["baseline"] + units["candidate"] == 120

    # `liveops rollback` restores v1 in one step, keeping the evidence; a user report is
    # already open as an incident of wines, so the rollback joins it.
    reported = open_by_hand(store, "wines", "customers see odd wines", actor="cy")
    done = rollback(store, "wines", actor="bo", reason="drill")
    assert (done.previous, done.restored, done.incident_id) == (3, 1, reported)
    incident = get_incident(store, reported)
    [evidence] = incident.rollbacks
    assert (evidence["rollout"], evidence["from"], evidence["to"]) == (None, 3, 1)
    assert (evidence["by"], evidence["reason"]) == ("bo", "drill")
    assert [t["kind"] for t in incident.timeline] == ["opened", "joined", "rollback"]
    assert incident_of(store, rec.id) is None  # it had completed: not this rollback's
    wait_for(lambda: arms(client) == [("production", 1, 1.0, "live")], "the rollback")
    assert len(store.rollouts.looks(rec.id)) == 3
    last = store.audit.events(limit=1)[0]
    assert (last.action, last.actor, last.data["to"]) == ("service.rolled_back", "bo", 1)
    assert last.data["incident"] == reported


def test_a_missing_sticky_key_falls_back_to_random_and_is_counted(
    wines: tuple[Store, Path], gateway: Callable[[], TestClient], clock: FixedClock
) -> None:
    store, folder = wines
    client = gateway()
    rec = start_rollout(store, folder, "wines@3", actor="ann")
    wait_for(lambda: len(arms(client)) == 2, "the shadow arm")
    send(client, clock, 40)
    wait_for(lambda: len(shadow_rows(store, T0)) >= 40, "the shadow copies")
    clock.advance(601)
    assert look(store, folder, rec, clock=clock).look.action == "advance"  # to canary 50%
    wait_for(lambda: len(arms(client)) == 2 and arms(client)[1][0] == "canary", "the canary")
    answers = send(client, clock, 60, start=500, keyed=False)
    assert {a["version"] for a in answers} == {1, 3}  # random: both arms answer
    metrics = client.get("/metrics").text
    line = next(x for x in metrics.splitlines() if x.startswith("liveops_rollout_unkeyed_total"))
    assert 'service="wines"' in line
    assert float(line.split()[-1]) == 60.0


def test_shadow_copies_are_dropped_first_under_back_pressure_and_counted(
    durable_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    folder = tmp_path / "w"
    store = open_store(durable_url, project_dir=folder, clock=clock)
    serving = "    serving: {max_queue: 4, max_batch_size: 1}\n"
    project(store, folder, serving=serving)
    production(store, register(store, "good", folder=folder, evaluate=False))
    v2 = register(store, "slow", folder=folder)  # 100 ms per answer, one at a time
    start_rollout(store, folder, f"wines@{v2}", actor="ann")
    app = create_app(
        folder,
        ServeOptions(auth=False, allow_time_override=True, poll_s=0.05, tick_s=3600),
        database_url=durable_url,
        open_sink=lambda s, _: DirectSink(s),
    )
    with TestClient(app) as client:
        wait_for(lambda: len(arms(client)) == 2, "the shadow arm")
        served = send(client, clock, 60)
        # Every request was answered by production, none refused: the shadow gave way.
        assert len(served) == 60
        assert {a["version"] for a in served} == {1}

        def counted() -> dict[str, float]:
            out: dict[str, float] = {}
            for line in client.get("/metrics").text.splitlines():
                if line.startswith("liveops_shadow_copies_total{"):
                    outcome = line.split('outcome="')[1].split('"')[0]
                    out[outcome] = out.get(outcome, 0.0) + float(line.split()[-1])
            return out

        done = wait_for(lambda: sum((c := counted()).values()) == 60 and c, "every copy counted")
        assert done["dropped"] > 0
        assert done["answered"] > 0
        logged = store.rollouts.arm_rows("wines", T0, clock_far(T0), [("shadow", v2)])
        assert len(logged) == done["answered"]
    store.close()
