"""``liveops rollout`` and ``liveops rollback`` through the real CLI on the tabular wines
service: what a user runs, sees and gets as exit codes; refusals say why and write nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from liveops.store import open_store
from tests.cli_runner import Runner
from tests.services.rollouts.wines import production, project, register


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "wines"
    store = open_store(project_dir=folder)
    try:
        project(store, folder)
        production(store, register(store, "good", folder=folder, evaluate=False))
        register(store, "bad_south", folder=folder)
        register(store, "good_too", folder=folder)
        register(store, "all_wrong", folder=folder, evaluate=False)
    finally:
        store.close()
    return folder


def test_start_status_run_pause_resume_abort_and_rollback(run_cli: Runner, folder: Path) -> None:
    r = run_cli("rollout", "start", "wines@2", "--as", "ann", cwd=folder)
    assert r.code == 0, r.err
    assert "step 1 of 3 (shadow 100%)" in r.err
    status = run_cli("rollout", "status", "wines", "--json")
    assert status.code == 0
    data = status.json()
    rid = data["id"]
    assert (data["state"], data["current_step"], data["started_by"]) == (
        "running",
        "shadow 100%",
        "ann",
    )

    second = run_cli("rollout", "start", "wines@3", "--as", "bo")
    assert second.code == 4
    assert f"wines already has an active rollout ({rid}: wines@2, running)" in second.err

    turn = run_cli("rollout", "run", "--once", "--json")
    assert turn.code == 0, turn.err
    (lk,) = turn.json()["looks"]
    assert lk["look"]["action"] == "hold"
    assert "waiting for the step's minimum" in lk["look"]["detail"]

    assert run_cli("rollout", "pause", "wines", "--as", "bo", "--reason", "freeze").code == 0
    again = run_cli("rollout", "pause", rid, "--as", "bo")
    assert again.code == 4
    assert "is paused: it cannot be paused" in again.err
    skipped = run_cli("rollout", "run", "--once", "--json")
    assert skipped.json()["looks"] == []  # a paused rollout is not looked at
    assert run_cli("rollout", "resume", "wines", "--as", "cy").code == 0
    aborted = run_cli("rollout", "abort", "wines", "--as", "dee", "--reason", "not today")
    assert aborted.code == 0
    assert "aborted" in aborted.err

    listed = run_cli("rollout", "status", "--json").json()
    assert [(x["id"], x["state"]) for x in listed] == [(rid, "aborted")]
    human = run_cli("rollout", "status")
    assert rid in human.out
    assert "aborted" in human.out

    assert run_cli("alias", "set", "wines", "production", "3", "--as", "ann").code == 0
    back = run_cli("rollback", "wines", "--as", "bo", "--json")
    assert back.code == 0, back.err
    assert back.json() == {
        "service": "wines", "from": 3, "to": 1, "rollout": None, "incident": 1,
    }  # fmt: skip

    audit = run_cli("audit", "log", "--json").json()
    actions = [(e["action"], e["actor"]) for e in audit if e["object_type"] == "rollout"]
    assert sorted(actions) == sorted(
        [
            ("rollout.started", "ann"),
            ("rollout.paused", "bo"),
            ("rollout.resumed", "cy"),
            ("rollout.aborted", "dee"),
        ]
    )


def test_refusals_say_why_and_exit_4(run_cli: Runner, folder: Path) -> None:
    never = run_cli("rollout", "start", "wines@4", "--as", "ann", cwd=folder)
    assert never.code == 4
    assert "wines@4 has no passing evaluation" in never.err
    assert run_cli("rollout", "status", "--json").json() == []
    unknown = run_cli("rollback", "nowhere")
    assert unknown.code == 4
    assert "unknown service 'nowhere'" in unknown.err
    nothing = run_cli("rollback", "wines")
    assert nothing.code == 4
    assert "no earlier production version" in nothing.err
    assert "--to N" in nothing.err
    assert run_cli("incident", "list", "--json").json() == []  # a refused rollback opens none
    bad_every = run_cli("rollout", "run", "--every", "soon")
    assert bad_every.code == 2
    assert "--every 'soon' is not a positive duration" in bad_every.err


def test_a_rollback_opens_an_incident_that_names_the_rollout(run_cli: Runner, folder: Path) -> None:
    assert run_cli("rollout", "start", "wines@2", "--as", "ann", cwd=folder).code == 0
    rid = run_cli("rollout", "status", "wines", "--json").json()["id"]
    back = run_cli("rollback", "wines", "--as", "bo", "--reason", "south complaints")
    assert back.code == 0, back.err
    assert f"rollout {rid} ended (rolled_back)" in back.err
    assert "incident 1: `liveops incident show 1`" in back.err

    status = run_cli("rollout", "status", rid, "--json").json()
    assert (status["state"], status["incident"]) == ("rolled_back", 1)
    human = run_cli("rollout", "status", rid)
    assert "incident 1 (its rollback)" in human.out

    shown = run_cli("incident", "show", "1", "--json")
    assert shown.code == 0, shown.err
    incident = shown.json()
    assert (incident["service"], incident["status"], incident["opened_by"]) == (
        "wines", "open", "bo",
    )  # fmt: skip
    [evidence] = incident["rollbacks"]
    assert (evidence["rollout"], evidence["candidate"], evidence["from"], evidence["to"]) == (
        rid, "wines@2", 2, 1,
    )  # fmt: skip
    assert evidence["reason"] == "south complaints"
    text = run_cli("incident", "show", "1").out
    assert "rollbacks" in text
    assert rid in text

    audit = run_cli("audit", "log", "--json").json()
    linked = [(e["action"], e["actor"], e["object_id"]) for e in audit
              if e["action"] in ("rollout.incident", "incident.opened")]  # fmt: skip
    assert sorted(linked) == [("incident.opened", "bo", "1"), ("rollout.incident", "bo", rid)]


def test_plan_says_the_answers_per_arm_and_refuses_bad_input(run_cli: Runner, folder: Path) -> None:
    # No monitor windows yet: no baseline to take, so it asks for one (exit 4, nothing else).
    none = run_cli("rollout", "plan", "wines", "--mde", "0.02", cwd=folder)
    assert none.code == 4
    assert "no recent live accuracy of wines@1 in the monitor's windows" in none.err
    assert "--baseline 0.87" in none.err

    given = run_cli("rollout", "plan", "wines", "--mde", "0.02", "--baseline", "0.87")
    assert given.code == 0, given.err
    assert "candidate arm: 4,720 labelled answers; baseline arm: 4,720 labelled answers" in (
        given.out
    )
    assert "cannot say how long it takes" in given.out
    data = run_cli(
        "rollout", "plan", "wines", "--mde", "0.01", "--metric", "error_rate",
        "--baseline", "0.05", "--split", "0.2", "--alpha", "0.01", "--power", "0.9", "--json",
    ).json()  # fmt: skip
    assert (data["metric"], data["labelled"], data["split"], data["alpha"]) == (
        "error_rate", False, 0.2, 0.01,
    )  # fmt: skip
    assert data["baseline_n"] == pytest.approx(4 * data["candidate_n"], abs=4)
    assert data["days"] is None

    for args, message in [
        (["--mde", "0"], "--mde must be above 0, got 0.0"),
        (["--mde", "-0.02"], "--mde must be above 0"),
        (["--mde", "0.02", "--alpha", "1.5"], "--alpha must be between 0 and 1"),
        (["--mde", "0.02", "--alpha", "0"], "--alpha must be between 0 and 1"),
        (["--mde", "0.02", "--metric", "acuracy"], "unknown metric 'acuracy' for an A/B plan"),
        (["--mde", "0.02", "--split", "1"], "--split must be between 0 and 1"),
    ]:
        bad = run_cli("rollout", "plan", "wines", *args, "--baseline", "0.87")
        assert bad.code == 2, (args, bad.err)
        assert message in bad.err
    unknown = run_cli("rollout", "plan", "nowhere", "--mde", "0.02", "--baseline", "0.87")
    assert unknown.code == 4
    assert "unknown service 'nowhere'" in unknown.err
