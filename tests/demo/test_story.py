"""`liveops demo` end to end: the registry it leaves, a safe re-run, and --reset."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_runner import Runner


@pytest.mark.slow
def test_demo_registers_everything_and_reruns_safely(run_cli: Runner, tmp_path: Path) -> None:
    r = run_cli("demo", "--dir", "d", "--json")
    assert r.code == 0, r.err
    first = r.json()
    assert [d["ref"] for d in first["datasets"]] == [
        "support-train@1",
        "support-eval@1",
        "support-must-pass@1",
    ]
    assert first["aliases"] == {"production": 1, "candidate": 2}
    v1, v2 = first["versions"]
    assert v1["config"]["decision"]["threshold"] == 0.70
    assert v2["config"]["decision"]["threshold"] == 0.68
    assert v2["metrics"]["accuracy"] > v1["metrics"]["accuracy"]
    assert v2["metrics"]["accuracy_es"] < v1["metrics"]["accuracy_es"]
    assert v1["lineage"]["datasets"]["train"]["ref"] == "support-train@1"
    assert all(step["outcome"] == "done" for step in first["steps"])

    again = run_cli("demo", "--dir", "d", "--json").json()
    assert all(step["outcome"] == "skipped" for step in again["steps"])
    assert [v["ref"] for v in again["versions"]] == ["support-router@1", "support-router@2"]

    diff = run_cli("versions", "diff", "support-router@1", "support-router@2", cwd=tmp_path / "d")
    assert diff.code == 0 and "decision.threshold" in diff.out and "0.68" in diff.out
    assert "accuracy" in diff.out and "+0.0" in diff.out
    assert run_cli("audit", "verify", cwd=tmp_path / "d").code == 0

    reset = run_cli("demo", "--dir", str(tmp_path / "d"), "--reset", "--json").json()
    assert all(step["outcome"] == "done" for step in reset["steps"])
    assert [v["ref"] for v in reset["versions"]] == ["support-router@1", "support-router@2"]
