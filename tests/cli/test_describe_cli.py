"""``liveops describe SERVICE``: the map of a tabular service (not the demo's router) read from
the store, on SQLite and PostgreSQL, as Rich and as JSON; a rollout's shares; an unknown
service. The HTTP route is tested in tests/server/test_describe_route.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from liveops.store import open_store
from tests.cli_runner import Runner
from tests.services.rollouts.wines import PLAN, production, project, register
from tests.tabular import TABULAR_YAML, train_cancer

PASSWORD = "s3cret-pw"
YAML = (
    TABULAR_YAML.replace(
        "    risk: high\n",
        "    risk: high\n    job:\n      input: a tumour's measurements\n"
        "      output: malignant or benign\n      success: no malignant tumour missed\n",
    )
    .replace(
        "      clinic: {type: enum, values: [north, south]}\n",
        "      clinic: {type: enum, values: [north, south]}\n"
        "      referrer: {type: string, max_length: 40}\n"
        "    model_inputs: [mean_radius, mean_texture, clinic]\n",
    )
    .replace(
        "      below_threshold: human_review\n",
        "      below_threshold: human_review\n      timeout_ms: 250\n"
        "    logging: {retention_days: 90, redact: [{patient: 'PT-\\d+'}]}\n"
        "    alerts:\n"
        "      - {name: errors, metric: error_rate, above: 0.05, severity: page}\n",
    )
)


@pytest.fixture(params=["sqlite-file", "postgres"])
def cancer(
    request: pytest.FixtureRequest, run_cli: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """cancer@1 (staging, and the fallback of @2) and cancer@2 (production, cost 0.4 per 1k)."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_schema_url")
        # PostgreSQL here trusts any password: one in the URL must not be shown.
        monkeypatch.setenv(
            "LIVEOPS_DATABASE_URL", url.replace("postgres@", f"postgres:{PASSWORD}@")
        )
    (tmp_path / "liveops.yaml").write_text(YAML)
    assert run_cli("service", "apply").code == 0
    one = train_cancer(tmp_path / "m1.skops")
    two = train_cancer(tmp_path / "m2.skops", c=0.5)
    assert run_cli("register", "cancer", "--artifact", str(one), "--as", "ann").code == 0
    r = run_cli(
        "register", "cancer", "--artifact", str(two), "-c", "fallback=cancer@1",
        "-c", "cost.per_1k=0.4", "-c", "threshold=0.7", "--as", "bo",
    )  # fmt: skip
    assert r.code == 0, r.err
    assert run_cli("alias", "set", "cancer", "production", "2", "--as", "cy").code == 0
    assert run_cli("alias", "set", "cancer", "staging", "1", "--as", "cy").code == 0
    return tmp_path


def test_describe_json_is_the_service_map(run_cli: Runner, cancer: Path) -> None:
    r = run_cli("describe", "cancer", "--json")
    assert r.code == 0, r.err
    m = r.json()
    assert (m["owner"], m["risk"], m["enabled"]) == ("oncology@example.com", "high", True)
    assert m["disabled_fallback"] == "cancer@1"  # what the kill switch would send traffic to
    assert m["job"]["success"] == "no malignant tumour missed"
    assert m["model_inputs"] == ["mean_radius", "mean_texture", "clinic"]
    assert m["segment_fields"] == ["referrer"]
    assert m["labels"] == ["malignant", "benign"]
    assert m["aliases"] == {"production": 2, "staging": 1}
    assert m["traffic"] == [{"arm": "production", "version": 2, "share": 1.0, "role": "live"}]
    assert m["rollout"] is None
    assert m["version_count"] == 2
    v1, v2 = m["versions"]
    assert (v1["ref"], v1["arms"], v1["threshold"]) == ("cancer@1", ["staging", "fallback"], 0.8)
    assert v1["fallback_chain"] == ["cancer@1", "503"]
    assert (v2["ref"], v2["arms"], v2["threshold"]) == ("cancer@2", ["production"], 0.7)
    assert v2["fallback_chain"] == ["cancer@2", "cancer@1", "503"]
    assert (v2["below_threshold"], v2["sensitive_input"], v2["timeout_ms"]) == (
        "human_review",
        "allow",
        250,
    )
    assert (v2["cost_per_1k"], v1["cost_per_1k"]) == (0.4, None)
    assert (v2["artifact_format"], v2["registered_by"], v1["registered_by"]) == (
        "skops",
        "bo",
        "ann",
    )
    logs = m["logs"]
    assert (logs["redaction"], logs["raw_inputs"], logs["retention_days"]) == ("on", False, 90)
    assert "patient" in logs["redaction_detectors"]
    assert PASSWORD not in r.out
    if logs["backend"] == "postgresql":
        assert "postgres:***@" in logs["database"]
    else:
        assert logs["database"].endswith(".liveops/liveops.db")
    assert m["reference"] is None
    assert m["alert_rules"] == [
        {
            "name": "errors",
            "metric": "error_rate",
            "condition": "error_rate > 0.05",
            "window": "5m",
            "for": None,
            "severity": "page",
            "receivers": [],
            "action": None,
        }
    ]
    assert (m["alerts_firing"], m["open_incidents"], m["release"]) == ([], [], None)
    changes = [(c["actor"], c["action"], c["object"]) for c in m["changes"]]
    assert changes == [
        ("cy", "alias.set", "cancer@staging"),
        ("cy", "alias.set", "cancer@production"),
        ("bo", "version.registered", "cancer@2"),
        ("ann", "version.registered", "cancer@1"),
        ("tester", "service.created", "cancer"),
    ]


def test_describe_prints_one_screen_for_people(run_cli: Runner, cancer: Path) -> None:
    r = run_cli("describe", "cancer")
    assert r.code == 0, r.err
    out = r.out
    assert "owner oncology@example.com · risk high · enabled" in out
    assert "segments referrer" in out
    assert "traffic  production cancer@2 100 %" in out
    assert "production → @2, staging → @1" in out
    assert "cancer@2 → cancer@1 → 503" in out
    assert "error_rate > 0.05" in out
    assert "redaction on" in out
    assert PASSWORD not in out
    assert len(out.splitlines()) <= 40  # one screen


def test_a_kill_switch_shows_no_traffic(run_cli: Runner, cancer: Path) -> None:
    assert run_cli("service", "disable", "cancer", "--as", "dee", "-m", "bad data").code == 0
    m = run_cli("describe", "cancer", "--json").json()
    assert (m["enabled"], m["traffic"], m["disabled_fallback"]) == (False, [], "cancer@1")
    assert m["changes"][0]["action"] == "service.disabled"
    out = run_cli("describe", "cancer").out
    assert "disabled (kill switch on)" in out
    assert "every request goes to the fallback (cancer@1)" in out


def test_an_unknown_service_names_the_known_ones(run_cli: Runner, cancer: Path) -> None:
    r = run_cli("describe", "nope")
    assert r.code == 4
    assert "unknown service 'nope' (applied services: cancer)" in r.err
    assert "liveops service apply" in r.err
    r = run_cli("describe", "nope", "--json")
    assert r.code == 4
    assert r.json()["error"] == "service_not_found"


def test_an_active_rollout_shows_its_candidate_step_and_shares(
    run_cli: Runner, tmp_path: Path
) -> None:
    folder = tmp_path / "wines"
    store = open_store(project_dir=folder)
    try:
        project(store, folder, plan=PLAN.replace("{shadow: 100%", "{canary: 25%"))
        production(store, register(store, "good", folder=folder, evaluate=False))
        register(store, "good_too", folder=folder)
    finally:
        store.close()
    assert run_cli("rollout", "start", "wines@2", "--as", "ann", cwd=folder).code == 0
    m = run_cli("describe", "wines", "--json").json()
    rollout = m["rollout"]
    assert (rollout["candidate"], rollout["baseline"], rollout["state"]) == (
        "wines@2",
        "wines@1",
        "running",
    )
    assert (rollout["step"], rollout["steps"], rollout["current_step"]) == (1, 3, "canary 25%")
    assert rollout["shares"] == {"production": 0.75, "canary": 0.25, "shadow": 0.0}
    assert m["traffic"] == [
        {"arm": "production", "version": 1, "share": 0.75, "role": "live"},
        {"arm": "canary", "version": 2, "share": 0.25, "role": "live"},
    ]
    assert [v["arms"] for v in m["versions"]] == [["production"], ["canary"]]
    assert m["changes"][0]["action"] == "rollout.started"
    out = run_cli("describe", "wines").out
    assert "step 1 of 3 (canary 25%)" in out
    assert "production 75 %, canary 25 %, shadow 0 %" in out
    assert run_cli("service", "disable", "wines", "--yes").code == 0
    assert "every request gets 503 (no fallback)" in run_cli("describe", "wines").out


def test_release_incident_reference_and_a_neighbour_service(run_cli: Runner, cancer: Path) -> None:
    # A neighbour whose name is a LIKE pattern matching "cancer": none of its events are
    # cancer's, and none of cancer's are its.
    neighbour = (
        "  - name: can_er\n    owner: other@example.com\n"
        "    inputs: {x: {type: number, required: true}}\n    output: {labels: [a, b]}\n"
    )
    yaml = YAML.replace("    risk: high\n", "    risk: high\n    reference: cancer-ref\n")
    (cancer / "liveops.yaml").write_text(yaml + neighbour)
    assert run_cli("service", "apply", "--as", "ann").code == 0
    missing = run_cli("describe", "cancer", "--json").json()["reference"]
    assert missing == {"name": "cancer-ref", "found": False}
    (cancer / "ref.csv").write_text(
        "mean_radius,mean_texture,clinic\n"
        + "".join(f"{10 + i},{20 - i},north\n" for i in range(8))
    )
    assert run_cli("dataset", "add", "ref.csv", "--name", "cancer-ref").code == 0
    created = run_cli("release", "create", "cancer@2", "--as", "bo", "--json")
    assert created.code in (0, 3), created.err
    release_id = created.json()["id"]
    opened = run_cli("incident", "open", "cancer", "--title", "wrong answers", "--json")
    assert opened.code == 0, opened.err

    m = run_cli("describe", "cancer", "--json").json()
    assert (m["reference"]["found"], m["reference"]["ref"], m["reference"]["rows"]) == (
        True,
        "cancer-ref@1",
        8,
    )
    release = m["release"]
    assert (release["id"], release["version"], release["status"]) == (
        release_id,
        "cancer@2",
        "draft",
    )
    assert release["blockers"]  # not evaluated, not approved: a draft says what blocks it
    assert [(i["title"], i["status"]) for i in m["open_incidents"]] == [("wrong answers", "open")]
    objects = {c["object"] for c in m["changes"]}
    assert release_id in objects
    assert str(opened.json()["id"]) in objects
    assert not any(o.startswith("can_er") for o in objects)
    out = run_cli("describe", "cancer").out
    assert f"release {release_id}  cancer@2 · draft" in out
    assert "wrong answers" in out

    other = run_cli("describe", "can_er", "--json").json()
    assert [c["object"] for c in other["changes"]] == ["can_er"]
    assert (other["traffic"], other["versions"], other["release"]) == ([], [], None)
    assert "no production version: not served" in run_cli("describe", "can_er").out
