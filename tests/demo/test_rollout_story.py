"""`liveops demo`'s rollout day: v2 through shadow into a 10 % canary, rolled back by itself
when its Spanish guardrail fails (the look keeps the gate's values); v3 trained with more
Spanish data, its author's approval refused, approved by ann and cy, launched and rolled out
to 100 %; `release show support-router@3` and the audit log with every step's actor; a re-run
skips the day.

The week of live traffic before the day is left out here (tests/demo/test_story.py runs it):
the stage only needs the week's end, the day the rollouts run on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from liveops.demo import story
from liveops.demo.stage_week import WeekResult
from tests.cli_runner import Runner

SPANISH_GATE = "accuracy[spanish] not worse than baseline by 0.01"


def _no_week(*args: Any, **kwargs: Any) -> WeekResult:
    """The week's place in the story, without its traffic: it ended at yesterday's midnight."""
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    start = end - timedelta(days=8)
    return WeekResult(
        ran=False,
        start=start.isoformat(),
        end=end.isoformat(),
        per_day=0,
        answers=0,
        requests=0,
        labels_sent=0,
        labels_pending=0,
        wall_s=0.0,
    )


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_rollout_day_rolls_v2_back_and_v3_out(
    run_cli: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(story, "run_week_stage", _no_week)
    r = run_cli("demo", "--dir", "d", "--json")
    assert r.code == 0, r.err
    day = r.json()["rollout"]
    d = tmp_path / "d"

    # v2: shadow first (its agreement, and Spanish disagreements sampled for review) ...
    v2 = day["v2"]
    assert (v2["ref"], v2["baseline"], v2["started_by"]) == (
        "support-router@2",
        "support-router@1",
        "tester",
    )
    shadow = v2["shadow"]
    assert shadow["pairs"] > 0
    assert 0.0 < shadow["agreement"] < 1.0
    assert shadow["spanish"]["pairs"] > 0
    assert shadow["spanish"]["agreement"] < shadow["agreement"]  # it disagrees more in Spanish
    assert shadow["review"]
    assert shadow["sampled"] > 0
    assert v2["spanish_disagreements"]
    for x in v2["spanish_disagreements"]:
        assert x["served"].startswith("support-router@1: ")
        assert x["shadow"].startswith("support-router@2: ")
        assert x["served"].split(": ")[1] != x["shadow"].split(": ")[1]
    # ... then the 10 % canary, where the Spanish guardrail fails: rolled back by the controller.
    assert v2["state"] == "rolled_back"
    assert v2["looks"][0]["step"] == "shadow 100%"
    last = v2["looks"][-1]
    assert (last["step"], last["action"]) == ("canary 10%", "abort")
    assert f"{SPANISH_GATE} failed at canary 10%" in v2["reason"]
    (failing,) = v2["failing"]
    assert failing["gate"] == SPANISH_GATE
    assert failing["estimate"] < 0
    assert failing["upper"] < -failing["margin"]  # worse than v1 by more than the margin
    assert failing["n_candidate"] >= 50
    assert v2["incident"] is not None
    assert v2["incident_status"] == "resolved"  # by ann, once v3 is production
    status = run_cli("rollout", "status", v2["id"], "--json", cwd=d)
    assert status.code == 0, status.err
    assert status.json()["state"] == "rolled_back"

    # v2's release: its failed evaluation overridden (dee) and approved by ann and cy.
    rel2 = day["releases"]["v2"]
    assert rel2["override"]["approved_by"] == "dee"
    assert [(a["by"], a["group"]) for a in rel2["approvals"]] == [
        ("ann", "engineering"),
        ("cy", "product"),
    ]

    # v3: trained with more Spanish data, passes its evaluation; bo (its author) may not
    # approve it; ann and cy do; launched; rolled out to 100 %.
    assert day["v3_eval"]["exit_code"] == 0
    rel3 = day["releases"]["v3"]
    assert rel3["created_by"] == "bo"
    assert "bo is an author of this release" in rel3["refused"]
    assert [(a["by"], a["group"]) for a in rel3["approvals"]] == [
        ("ann", "engineering"),
        ("cy", "product"),
    ]
    assert rel3["decision"] is not None, rel3["blocked"]  # a latency gate on a busy machine
    assert rel3["decision"]["kind"] == "launch"
    assert rel3["decision"]["by"] == "ann"
    assert set(rel3["checklist"].values()) == {"pass"}
    v3 = day["v3"]
    assert (v3["ref"], v3["started_by"], v3["state"]) == ("support-router@3", "bo", "completed")
    assert [lk["step"] for lk in v3["looks"] if lk["action"] == "advance"] == [
        "shadow 100%",
        "canary 10%",
        "canary 50%",
        "canary 100%",
    ]
    assert day["production"] == 3
    assert 0 < day["answers"] < day["per_day"]  # the day's traffic ended once v3 was production
    assert r.json()["aliases"]["production"] == 3

    shown = run_cli("release", "show", "support-router@3", cwd=d)
    assert shown.code == 0, shown.err
    assert rel3["id"] in shown.out
    assert "## Spanish" in shown.out  # the notes
    assert "launch" in shown.out
    assert "gates, smoke test and review pass" in shown.out  # the decision's reason

    # The audit log tells the day, each step with its actor.
    events = run_cli("audit", "log", "-n", "400", "--json", cwd=d).json()
    seen = {(e["actor"], e["action"], e["object_id"]) for e in events}
    for who, action, what in (
        ("tester", "rollout.started", v2["id"]),
        ("rollout-controller", "rollout.rolled_back", v2["id"]),
        ("dee", "release.override_approved", rel2["id"]),
        ("bo", "version.registered", "support-router@3"),
        ("ann", "release.approved", rel3["id"]),
        ("cy", "release.approved", rel3["id"]),
        ("ann", "release.decided", rel3["id"]),
        ("bo", "rollout.started", v3["id"]),
        ("rollout-controller", "rollout.completed", v3["id"]),
        ("ann", "incident.resolved", str(v2["incident"])),
    ):
        assert (who, action, what) in seen, (who, action, what)
    assert not any(e["actor"] == "bo" and e["action"] == "release.approved" for e in events)
    assert run_cli("audit", "verify", cwd=d).code == 0

    # A second run skips the day and prints it again.
    again = run_cli("demo", "--dir", str(d))
    assert again.code == 0, again.err
    assert all("skipped (already done)" in line for line in again.err.splitlines() if line)
    assert f"failing gate {SPANISH_GATE}: fail" in again.out
    assert f"{SPANISH_GATE} failed at canary 10%" in again.err  # the step, brackets and all
    assert "bo approves: refused" in again.out
    assert "production: v3" in again.out
