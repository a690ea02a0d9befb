"""``liveops rollout start|run|status`` on an A/B plan through the real CLI: the start says the
split, duration and goals; status (and --json) shows the A/B table of the latest look."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from liveops.store import open_store
from tests.cli_runner import Runner
from tests.services.rollouts.test_ab import AB
from tests.services.rollouts.wines import production, project, register


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "wines"
    store = open_store(project_dir=folder)
    try:
        project(store, folder, plan=AB)
        production(store, register(store, "good", folder=folder, evaluate=False))
        register(store, "good_too", folder=folder)
    finally:
        store.close()
    return folder


def test_status_shows_the_ab_table(run_cli: Runner, folder: Path) -> None:
    r = run_cli("rollout", "start", "wines@2", "--as", "ann", cwd=folder)
    assert r.code == 0, r.err
    assert "A/B at 50% for 3600 s, goals accuracy, outcome.resolved.rate" in r.err
    before = run_cli("rollout", "status", "wines", "--json").json()
    assert (before["mode"], before["state"], before["ab"]) == ("ab", "running", None)
    assert before["current_step"] == "A/B 50%"

    turn = run_cli("rollout", "run", "--once", "--json")
    assert turn.code == 0, turn.err
    (lk,) = turn.json()["looks"]
    assert lk["look"]["action"] == "hold"
    assert re.match(r"A/B at 50%: \d+ of 3600 s \(goals are judged when", lk["look"]["detail"])

    data = run_cli("rollout", "status", "wines", "--json").json()
    ab = data["ab"]
    assert (ab["split"], ab["duration_s"], ab["mde"], ab["final"]) == (0.5, 3600.0, 0.3, False)
    assert [g["goal"] for g in ab["goals"]] == ["accuracy", "outcome.resolved.rate"]
    first = ab["goals"][0]
    # No answers yet: nothing to compare, nothing planned.
    assert (first["n_candidate"], first["n_baseline"], first["difference"]) == (0, 0, None)
    assert first["result"] == "no detectable difference"

    human = run_cli("rollout", "status", "wines")
    assert human.code == 0
    assert re.search(r"A/B goals \(interim, \d+ of 3600 s\)", human.out)
    assert "outcome.resolved.rate" in human.out
    assert "95% interval" in human.out
