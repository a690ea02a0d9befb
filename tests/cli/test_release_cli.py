"""``liveops release`` through the real CLI on a tabular service (breast-cancer columns, a
version as the fallback), not the demo's text router: exit codes, refusals with their reason
and nothing half-applied, notes edited from a file, a decision with a scope."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from liveops.store import open_store
from liveops.store.release_tables import release_approvals, release_items, releases
from tests.cli_runner import Runner

pytestmark = pytest.mark.slow

PROJECT = """
services:
  - name: tumour
    owner: clinic@example.com
    risk: high
    inputs:
      mean_radius: {type: number, required: true}
      mean_texture: {type: number, required: true}
      clinic: {type: enum, values: [north, south]}
    model_inputs: [mean_radius, mean_texture]
    output: {labels: [benign, malignant]}
    decision: {threshold: 0.6, below_threshold: human_review}
    suite: suite.yaml
approvals:
  groups: {engineering: [ann, bo], product: [cy], security: [dee]}
  low: [engineering]
  high: [engineering, product, security]
  overrides: security
"""

SUITE = """
cases: {dataset: tumour-eval, expected: diagnosis}
metrics: [accuracy]
slices:
  - {name: north, where: {clinic: north}}
gates:
  - {metric: accuracy, min: 0.8, kind: blocker}
latency_calls: 3
"""


def _train(path: Path, c: float) -> Path:
    import pandas as pd
    import skops.io as sio
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = load_breast_cancer()
    x = pd.DataFrame(data.data[:, :2], columns=["mean_radius", "mean_texture"])
    y = np.where(data.target == 0, "malignant", "benign")
    sio.dump(make_pipeline(StandardScaler(), LogisticRegression(C=c)).fit(x, y), path)
    return path


@pytest.fixture
def project(run_cli: Runner, tmp_path: Path) -> Path:
    from sklearn.datasets import load_breast_cancer

    (tmp_path / "liveops.yaml").write_text(PROJECT)
    (tmp_path / "suite.yaml").write_text(SUITE)
    data = load_breast_cancer()
    rows = ["mean_radius,mean_texture,clinic,diagnosis"]
    for i in range(0, len(data.target), 3):
        label = "malignant" if data.target[i] == 0 else "benign"
        clinic = "north" if i % 2 else "south"
        rows.append(f"{data.data[i, 0]},{data.data[i, 1]},{clinic},{label}")
    (tmp_path / "eval.csv").write_text("\n".join(rows) + "\n")
    for args in (
        ("service", "apply"),
        ("dataset", "add", "eval.csv", "--name", "tumour-eval"),
        ("register", "tumour", "--artifact", str(_train(tmp_path / "m1.skops", 1.0))),
        ("alias", "set", "tumour", "production", "1"),
        (
            "register",
            "tumour",
            "--artifact",
            str(_train(tmp_path / "m2.skops", 0.1)),
            "--config",
            "fallback=tumour@1",
        ),
        ("eval", "tumour@2"),
    ):
        r = run_cli(*args)
        assert r.code == 0, (args, r.err)
    return tmp_path


def _tables(folder: Path) -> dict[str, list[str]]:
    store = open_store(project_dir=folder)
    try:
        with store.engine.connect() as conn:
            out = {
                t.name: sorted(map(str, conn.execute(sa.select(t)).all()))
                for t in (releases, release_items, release_approvals)
            }
        out["audit"] = [str(store.audit.head())]
    finally:
        store.close()
    return out


def test_release_commands_on_a_tabular_service(run_cli: Runner, project: Path) -> None:
    r = run_cli("release", "create", "tumour@2", "--json", "--as", "eve")
    assert r.code == 0, r.err
    created = r.json()
    rel = created["id"]
    assert created["policy"]["required"] == ["engineering", "product", "security"]
    assert created["author"] == "tester"  # registered the version

    r = run_cli("release", "show", rel)
    assert r.code == 3  # missing items, nothing failed
    for key in (
        "evaluation",
        "review_coverage",
        "fallback",
        "rollback_target",
        "alert_rules",
        "staging_smoke",
        "support_informed",
        "docs_updated",
        "launch_owner",
    ):
        assert key in r.out
    assert "configured (tumour@1)" in r.out  # the fallback is a version
    assert "not yet launchable" in r.out

    before = _tables(project)
    refused = run_cli("release", "approve", rel, "--json")  # LIVEOPS_USER=tester: the author
    assert refused.code == 4
    assert refused.json()["error"] == "conflict"
    assert "tester is an author" in refused.json()["message"]
    ticked = run_cli("release", "tick", rel, "evaluation")
    assert ticked.code == 4
    assert "computed by liveops" in ticked.err
    launch = run_cli("release", "decide", rel, "launch", "--reason", "go", "--json", "--as", "bo")
    assert launch.code == 4
    blockers = launch.json()["details"]["blockers"]
    assert "approval missing from security" in blockers
    assert any(b.startswith("staging_smoke:") for b in blockers)
    assert (
        run_cli("release", "decide", rel, "narrow_scope", "--reason", "x", "--scope", "clinic").code
        == 2
    )
    assert run_cli("release", "show", "rlnope").code == 4
    by_version = run_cli("release", "show", "tumour@2", "--json")  # the version's latest release
    assert by_version.json()["id"] == rel
    unreleased = run_cli("release", "show", "tumour@1")
    assert unreleased.code == 4
    assert "tumour@1 has no release" in unreleased.err
    assert _tables(project) == before  # every refusal above wrote nothing

    r = run_cli("release", "notes", rel, "--json")
    assert [f["code"] for f in r.json()["flags"]] == ["no_rollout"]
    assert "## Metrics" in r.json()["notes"]
    (project / "notes.md").write_text(
        "Accuracy 0.88 -> 0.90 [+0.00, +0.04] overall; scope: all clinics.\n"
        "Rollout plan: canary 10 % for a day, watched on the north slice.\n"
    )
    r = run_cli("release", "notes", rel, "--set-file", "notes.md", "--json")
    assert r.code == 0, r.err
    assert r.json()["edited"]
    assert r.json()["flags"] == []

    assert run_cli("release", "approve", rel, "--as", "dee").code == 0  # security
    r = run_cli("release", "approve", rel, "--as", "dee")
    assert "dee already approved" in r.err

    r = run_cli(
        "release",
        "decide",
        rel,
        "improve_first",
        "--reason",
        "north clinic first",
        "--scope",
        "clinic=north",
        "--json",
        "--as",
        "cy",
    )
    assert r.code == 0, r.err
    assert r.json()["decision"]["scope"] == {"clinic": ["north"]}
    listed = run_cli("release", "list", "tumour", "--json").json()
    assert [(x["id"], x["status"]) for x in listed] == [(rel, "decided")]
