"""`liveops demo` end to end: the registry it leaves, the evaluation of v1 and v2, the review
and readiness stages, the simulated week and what the monitor saw of it, a safe re-run, and
--reset."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from liveops.store import Store
from tests.cli_runner import Runner

SPANISH = "accuracy[spanish] not worse than baseline by 0.01"


def _gates(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {g["gate"]: g for g in run["gates"]}


@pytest.mark.slow
@pytest.mark.timeout(900)  # one whole demo with its week, a re-run and a --reset run
def test_demo_registers_evaluates_reviews_and_reruns_safely(
    run_cli: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = run_cli("demo", "--dir", "d", "--json")
    assert r.code == 0, r.err
    first = r.json()
    assert [d["ref"] for d in first["datasets"]] == [
        "support-train@1",
        "support-eval@1",
        "support-must-pass@1",
        "support-calibration@1",  # the label-free estimate's calibration set
        "support-train@2",  # v2's training records: English + 7 % of the Spanish ones
    ]
    train1, train2 = first["datasets"][0], first["datasets"][4]
    assert 0.8 * train1["rows"] < train2["rows"] < train1["rows"]
    # the rollout day after the week (tests/demo/test_rollout_story.py) made v3 production
    assert first["aliases"] == {"production": 3, "candidate": 2, "staging": 3}
    v1, v2, _v3 = first["versions"]  # v3: the rollout day (test_rollout_story.py)
    assert v1["config"]["decision"]["threshold"] == 0.70
    assert v2["config"]["decision"]["threshold"] == 0.68
    assert v2["metrics"]["accuracy"] > v1["metrics"]["accuracy"]
    assert v2["metrics"]["accuracy_es"] < v1["metrics"]["accuracy_es"]
    assert v1["lineage"]["datasets"]["train"]["ref"] == "support-train@1"
    assert v2["lineage"]["datasets"]["train"] == {
        "ref": "support-train@2",
        "content_hash": train2["content_hash"],
        "rows": train2["rows"],
    }
    assert all(step["outcome"] == "done" for step in first["steps"])

    # v1 is production: every blocker and guardrail passes, its baseline gates are skipped.
    run1, run2 = first["runs"]
    assert (run1["version"], run1["baseline"], run1["exit_code"]) == ("support-router@1", None, 0)
    checked = [g for g in run1["gates"] if g["kind"] in ("blocker", "guardrail")]
    assert {g["verdict"] for g in checked} == {"pass", "skipped"}
    assert _gates(run1)[SPANISH]["verdict"] == "skipped"
    assert "production itself" in _gates(run1)[SPANISH]["reason"]
    assert run1["failing_examples"] == []
    # v2 against v1: better overall, worse on Spanish messages.
    assert run2["version"] == "support-router@2"
    assert run2["baseline"] == "support-router@1"
    assert run2["exit_code"] == 1
    gates = _gates(run2)
    assert gates[SPANISH]["verdict"] == "fail"
    assert gates["accuracy better than baseline"]["verdict"] == "pass"
    assert gates["macro_f1 >= 0.8"]["verdict"] == "pass"
    examples = run2["failing_examples"]
    assert examples
    assert all(x["scope"] == "slice:spanish" for x in examples)
    assert all(x["expected"] != x["predicted"] for x in examples)
    # the review stage ran on both runs, and readiness follows the gates
    assert set(first["reviews"]) == {"support-router@1", "support-router@2"}
    assert first["readiness"]["support-router@1"]["status"] == "pass"
    assert first["readiness"]["support-router@2"]["status"] == "fail"

    # The week: eight simulated days on v1 through a real gateway, read back from the monitor.
    week = first["week"]
    assert [day["phase"] for day in week["days"]] == ["normal"] * 5 + ["covariate_shift"] * 2 + [
        "new_world"
    ]
    assert week["answers"] == 8 * week["per_day"]
    assert [day["answers"] for day in week["days"]] == [week["per_day"]] * 8
    spanish = [day["slices"]["spanish"]["answers"] for day in week["days"]]
    assert spanish[5] > 3 * spanish[0]  # covariate_shift: 45 % Spanish against 13 %
    assert week["labels_sent"] > 0
    assert week["labels_pending"] > 0  # the last day's labels have not all arrived
    coverage = [day["slices"]["all"]["coverage"] for day in week["days"]]
    assert coverage[-1] < coverage[0]
    for day in week["days"]:
        for scope in ("all", "spanish"):
            sd = day["slices"][scope]
            assert sd["estimated"] is not None
            lo, hi = sd["interval"]
            assert lo <= sd["estimated"] <= hi
            assert sd["true_accuracy"] is not None
    # new_world: labels name a route v1 does not know; the estimate stays where it was.
    assert week["days"][-1]["new_labels"] > 0
    assert all(day["new_labels"] == 0 for day in week["days"][:-1])

    d = tmp_path / "d"
    # The alert rules were judged on every monitor pass at its simulated time: the Spanish
    # quality page and the drift alert fired in the shifted days, and the demo's own webhook
    # received their JSON payloads.
    story = week["incident"]
    shifted = {day["day"] for day in week["days"] if day["phase"] == "covariate_shift"}
    fired = {f["rule"]: f for f in story["fired"]}
    assert {"spanish quality", "input drift"} <= set(fired)
    assert fired["spanish quality"]["scope"] == "v1, slice spanish"
    assert fired["spanish quality"]["severity"] == "page"
    assert fired["spanish quality"]["at"][:10] in shifted
    # The drift rule reads the monitor's daily drift points, known once a day is over, and must
    # hold for a day: it fires once the first shifted day has drifted for a day, by the end of
    # the shifted days at the latest.
    shift_end = date.fromisoformat(max(shifted)) + timedelta(days=1)
    assert min(shifted) <= fired["input drift"]["at"][:10]
    assert fired["input drift"]["at"][:19] <= f"{shift_end.isoformat()}T00:00:00"
    assert story["delivered"] >= 2
    assert {"spanish quality", "input drift"} <= set(story["delivered_rules"])
    outbox = run_cli("alerts", "outbox", "--json", cwd=d).json()
    assert outbox
    assert {row["status"] for row in outbox} == {"delivered"}
    # The page opened an incident, walked to reviewed on the same clock.
    assert story["status"] == "reviewed"
    incident = run_cli("incident", "show", str(story["incident"]), "--json", cwd=d)
    assert incident.code == 0, incident.err
    inc = incident.json()
    assert inc["scope"]["slices"] == ["spanish"]
    assert inc["scope"]["versions"] == [1]
    assert inc["opened_at"][:10] in shifted
    moves = [c for c in inc["changes"] if c["action"] == "alias.set"]
    assert [(m["object"], m["data"]["to"]) for m in moves] == [("support-router@candidate", 2)]
    assert moves[0]["time"] == story["alias_moved_at"]  # on the simulated clock
    assert moves[0]["time"][:10] in shifted
    assert len(inc["evidence"]) >= 3
    assert all(e["inputs"]["language"] == "es" for e in inc["evidence"])
    assert all(e["version"] == 1 for e in inc["evidence"])
    kinds = [t["kind"] for t in inc["timeline"]]
    assert kinds == ["opened", "acknowledged", "action", "mitigated", "resolved", "reviewed"]
    times = [t["at"] for t in inc["timeline"]]
    assert times == sorted(times)
    assert times[0] == inc["opened_at"]
    assert inc["status"] == "reviewed"
    review = inc["review"]
    assert review["root_cause"] == "data"
    assert review["summary"]
    assert review["impact"]
    assert review["actions"]
    # the kill switch was undone when the incident was resolved: the service answers again
    (service,) = run_cli("service", "list", "--json", cwd=d).json()
    assert service["state"] == "enabled"
    shown_incident = run_cli("incident", "show", str(story["incident"]), cwd=d)
    assert shown_incident.code == 0
    for part in (
        "scope: versions v1; slices spanish",
        "evidence",
        "language=es",
        "recent changes (48 h before)",
        "alias.set",
        "timeline",
        "acknowledged",
        "reviewed",
        "root cause: data",
    ):
        assert part in shown_incident.out, part

    # The monitor's own reader gives the same day buckets the demo shows.
    shown_week = run_cli(
        "metrics",
        "show",
        "support-router",
        "--metric",
        "volume",
        "--by",
        "slice",
        "--window",
        "1d",
        "--since",
        week["start"],
        "--json",
        cwd=d,
    )
    assert shown_week.code == 0, shown_week.err
    volume = next(r for r in shown_week.json()["rows"] if r["key"] == "all")
    assert volume["values"][:8] == [week["per_day"]] * 8
    runs = run_cli("runs", "list", "--json", cwd=d).json()
    assert {run1["run"], run2["run"]} < {x["id"] for x in runs}
    shown = run_cli("runs", "show", run2["run"], "--json", cwd=d)
    assert shown.code == 0
    assert shown.json()["exit_code"] == 1
    review = first["reviews"]["support-router@2"]
    assert run_cli("review", "show", review, cwd=d).code == 0
    assert run_cli("readiness", "support-router@2", cwd=d).code == 1

    # A second run skips every step; its human output shows the runs and what to try next.
    again = run_cli("demo", "--dir", str(d))
    assert again.code == 0, again.err
    progress = [line for line in again.err.splitlines() if line.strip()]
    assert progress
    assert all("skipped (already done)" in line for line in progress)
    out = again.out
    assert f"run {run1['run']}, exit code 0" in out
    assert f"run {run2['run']}, exit code 1" in out
    assert SPANISH in out
    assert "gets these wrong (slice:spanish)" in out
    assert " ".join(examples[0]["text"].split()[:3]) in out
    assert "a simulated week on support-router@production" in out
    assert "the spanish slice" in out
    assert "new_world: estimated accuracy" in out
    assert "spanish quality (page) fired on v1, slice spanish" in out
    assert "input drift (info) fired on v1, slice all" in out
    assert f"received {story['delivered']} notification(s)" in out
    assert "candidate moved to v2" in out
    assert f"incident {story['incident']}: reviewed" in out
    assert "kill switch" in out
    for command in (
        f"liveops incident show {story['incident']}",
        "liveops metrics show support-router --metric accuracy --metric",
        "liveops monitor status",
        "liveops eval support-router@2 --baseline 1 --html report.html",
        "liveops runs list",
        f"liveops review show {review}",
        "liveops readiness support-router@2",
    ):
        assert command in out
    assert len(run_cli("runs", "list", "--json", cwd=d).json()) == 3  # v3's, in the rollout day
    # Each run makes a predictor key for the curl line it prints, revoking the one before.
    assert first["key"].startswith("lo_")
    assert f"authorization: Bearer {first['key']}" in first["curl"]
    assert "liveops serve --port 8000 &" in out
    (curl,) = [line for line in out.splitlines() if line.startswith("curl ")]
    (key,) = [k for k in run_cli("keys", "list", "--json", cwd=d).json()]
    assert (key["name"], key["role"]) == ("demo-curl", "predictor")
    assert key["prefix"] in curl
    assert first["key"] not in curl  # the first run's key was revoked and replaced

    diff = run_cli("versions", "diff", "support-router@1", "support-router@2", cwd=d)
    assert diff.code == 0
    assert "decision.threshold" in diff.out
    assert "0.68" in diff.out
    assert "support-train@1" in diff.out
    assert "support-train@2" in diff.out
    datasets = run_cli(
        "versions", "diff", "support-router@1", "support-router@2", "--json", cwd=d
    ).json()["datasets"]
    assert datasets == [{"key": "train", "before": "support-train@1", "after": "support-train@2"}]
    assert "accuracy" in diff.out
    assert "+0.0" in diff.out
    assert run_cli("audit", "verify", cwd=d).code == 0

    # --reset starts over: every step runs again, with new evaluation runs. Its week and its
    # rollout day are left out here (a second simulated week and day would double the test's
    # time; tests/demo/test_rollout_story.py runs the day); what the week stage finds shows
    # that it would simulate again: the log is empty and no week summary is kept.
    from liveops.demo import story

    found: dict[str, object] = {}

    def week_stage(store: Store, folder: Path, service: str, **_: object) -> None:
        found["logged"] = store.predictions.count(service)
        found["summary kept"] = (folder / "data" / "week.json").exists()

    monkeypatch.setattr(story, "run_week_stage", week_stage)
    monkeypatch.setattr(story, "run_rollout_stage", lambda *a, **k: None)
    reset = run_cli("demo", "--dir", str(d), "--reset", "--json").json()
    assert found == {"logged": 0, "summary kept": False}
    assert all(step["outcome"] == "done" for step in reset["steps"])
    assert [v["ref"] for v in reset["versions"]] == [f"support-router@{n}" for n in (1, 2)]
    assert [x["exit_code"] for x in reset["runs"]] == [0, 1]
    assert {x["run"] for x in reset["runs"]}.isdisjoint({run1["run"], run2["run"]})
