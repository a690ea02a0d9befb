"""A release end to end against a real gateway (``liveops serve --alias staging`` as a
subprocess): the smoke test fails while staging serves another version, passes once it serves
the release's, and then the whole checklist, two approvals and the launch decision go through
the CLI; the audit log shows every step with its actor."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from liveops.core.project import parse_project
from liveops.services.datasets import add_dataset
from liveops.services.evaluation import run_eval
from liveops.services.registry import apply_project, register_version, set_alias
from liveops.services.review import create_review, submit
from liveops.store import open_store
from tests.cli_runner import Runner
from tests.server.conftest import start_server

pytestmark = pytest.mark.slow

PROJECT = """
services:
  - name: router
    owner: team@example.com
    risk: medium
    inputs:
      text: {type: string, required: true, max_length: 200}
      channel: {type: enum, values: [email, chat]}
    model_inputs: [text]
    output: {labels: [billing, technical]}
    decision:
      threshold: 0.7
      below_threshold: human_review
      fallback: rules
      rules: "tests.server.models:rules"
      timeout_ms: 300
    serving: {p95_target_ms: 250}
    suite: suite.yaml
    alerts:
      - {name: errors, metric: error_rate, above: 0.05, for: 15m, severity: page,
         receivers: [oncall]}
receivers:
  oncall: {webhook: {url: "http://127.0.0.1:9/liveops"}}
approvals:
  groups: {engineering: [ann, bo], product: [cy]}
  medium: [engineering, product]
"""

SUITE = """
cases: {dataset: router-eval, expected: label, must_pass: {dataset: router-must}}
metrics: [accuracy]
gates:
  - {metric: accuracy, min: 0.6, kind: blocker}
latency_calls: 3
review:
  rubric:
    - {name: correct_route, scale: [yes, no]}
"""

ROWS = [
    ("please refund me", "billing", "email"),
    ("app crash on login", "technical", "chat"),
    ("charged twice", "billing", "email"),
    ("crash when saving", "technical", "email"),
    ("unsure what this is", "billing", "chat"),
]


def _project(folder: Path) -> Path:
    folder.mkdir()
    (folder / "liveops.yaml").write_text(PROJECT)
    (folder / "suite.yaml").write_text(SUITE)
    csv = "text,label,channel\n" + "".join(f"{t},{y},{c}\n" for t, y, c in ROWS * 4)
    (folder / "eval.csv").write_text(csv)
    (folder / "must.csv").write_text(
        "text,label,channel\nplease refund me,billing,email\napp crash on login,technical,chat\n"
    )
    store = open_store(project_dir=folder)
    try:
        apply_project(store, parse_project(PROJECT), actor="ann")
        add_dataset(store, folder / "eval.csv", name="router-eval", actor="ann")
        add_dataset(store, folder / "must.csv", name="router-must", actor="ann")
        for name in ("v1", "v2"):
            register_version(store, "router", actor="ann", entrypoint=f"tests.server.models:{name}")
        set_alias(store, "router", "production", "1", actor="ann")
        set_alias(store, "router", "staging", "1", actor="ann")  # not yet the candidate
        run = run_eval(store, "router@2", actor="ci", project_dir=folder, resamples=100).run
        _, items = create_review(store, run.id, sample=5, actor="cy", project_dir=folder)
        for reviewer in ("cy", "dee"):
            for item in items:
                submit(store, item.id, reviewer, {"correct_route": "yes"})
    finally:
        store.close()
    return folder


def _wait_for_version(url: str, number: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        r = httpx.post(f"{url}/v1/services/router/predict", json={"inputs": {"text": "x"}})
        if r.status_code == 200 and r.json()["version"] == number:
            return
        time.sleep(0.1)
    raise AssertionError(f"the gateway never served router@{number}")


def test_a_release_is_smoke_tested_approved_and_launched(run_cli: Runner, tmp_path: Path) -> None:
    folder = _project(tmp_path / "proj")
    r = run_cli("release", "create", "router@2", "--json", "--as", "eve", cwd=folder)
    assert r.code == 0, r.err
    rel = r.json()["id"]
    server = start_server(folder, "--alias", "staging")
    try:
        r = run_cli("release", "smoke", rel, "--url", server.url, "--requests", "60", "--json")
        assert r.code == 1, r.err  # staging still serves router@1
        smoke = r.json()
        assert not smoke["passed"]
        assert "answered by version 1, not 2" in smoke["problems"][0]

        store = open_store(project_dir=folder)
        set_alias(store, "router", "staging", "2", actor="ann")
        store.close()
        _wait_for_version(server.url, 2)
        r = run_cli("release", "smoke", rel, "--url", server.url, "--requests", "60", "--json")
        assert r.code == 0, r.out
        smoke = r.json()
        assert smoke["passed"], smoke["problems"]
        assert (smoke["cases"], smoke["equal"], smoke["cases_from"]) == (2, 2, "must_pass")
        assert smoke["logged"] == smoke["answers"] == 62
        assert smoke["target_ms"] == 250
        assert smoke["target_from"] == "serving.p95_target_ms"
        assert smoke["p95_ms"] < 250
        assert smoke["fallback"]["passed"]
    finally:
        server.stop()

    r = run_cli("release", "show", rel, "--json")
    checklist = {i["key"]: i["state"] for i in r.json()["checklist"]}
    assert checklist["staging_smoke"] == checklist["fallback"] == "pass"
    assert checklist["alert_rules"] == "pass"
    assert checklist["review_coverage"] == "pass"
    assert r.code == 3  # manual items and approvals are still missing

    for item in ("support_informed", "docs_updated", "launch_owner"):
        assert run_cli("release", "tick", rel, item, "--as", "bo", "--note", "done").code == 0
    refused = run_cli("release", "approve", rel, "--as", "ann")  # registered the version
    assert refused.code == 4
    assert "ann is an author" in refused.err
    assert run_cli("release", "decide", rel, "launch", "--reason", "go", "--as", "bo").code == 4
    assert run_cli("release", "approve", rel, "--as", "bo").code == 0
    assert run_cli("release", "approve", rel, "--as", "cy", "-m", "product ok").code == 0

    r = run_cli("release", "decide", rel, "launch", "--reason", "smoke and gates pass", "--json")
    assert r.code == 0, r.err
    decision = r.json()["decision"]
    assert decision["kind"] == "launch"
    assert decision["evidence"]["smoke"].startswith("sm")
    assert decision["evidence"]["approvals"] == ["bo (engineering)", "cy (product)"]
    r = run_cli("release", "show", rel)
    assert r.code == 0, r.out
    assert "decision: launch" in r.out
    assert "release notes" in r.out

    log = run_cli("audit", "log", rel, "--json").json()
    steps = [(e["action"], e["actor"]) for e in reversed(log)]
    assert steps[0] == ("release.created", "eve")
    assert ("release.smoke", "tester") in steps
    assert ("release.approved", "bo") in steps
    assert ("release.approved", "cy") in steps
    assert steps[-1] == ("release.decided", "tester")
