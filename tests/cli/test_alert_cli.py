"""``liveops alerts ...`` and ``liveops incident ...`` as a user runs them, on a real store
(SQLite file and PostgreSQL) with a tabular service whose rules fired in the monitor's passes
of the last hours, and a real webhook that checks the HMAC. Every refusal names what is wrong
and what to do, exits with the documented code and writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from liveops.core.clock import FixedClock
from liveops.core.project import parse_project
from liveops.services.monitoring import run_monitor
from liveops.services.registry import apply_project
from liveops.store import Store, open_store
from liveops.store.alert_tables import alert_silences, incidents
from tests.cli_runner import Runner
from tests.services.alerts.conftest import alert_yaml
from tests.services.alerts.receivers import SECRET, Hook
from tests.services.monitoring.logrows import give, log_row, store_rows

pytestmark = pytest.mark.slow

WINES_RULE = """    alerts:
      - {name: errors, metric: error_rate, above: 0.5, severity: info}
"""


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.close()


@pytest.fixture
def project(
    run_cli: Runner,
    tmp_path: Path,
    durable_url: str,
    hook: Hook,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """tumours: ``errors`` flapped for three hours (a noisy rule), ``south quality`` (page)
    fired once and opened an incident; wines has a rule also called ``errors``. (``run_cli``
    first: it clears LIVEOPS_DATABASE_URL, which this fixture then sets.)"""
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    monkeypatch.setenv("LIVEOPS_DATABASE_URL", durable_url)
    text = alert_yaml(hook.url)
    text = text.replace(
        "    output: {labels: [red, white]}\n", "    output: {labels: [red, white]}\n" + WINES_RULE
    )
    (tmp_path / "liveops.yaml").write_text(text)
    now = datetime.now(UTC)
    start = datetime.fromtimestamp((int(now.timestamp()) // 300 - 40) * 300, UTC)
    clock = FixedClock(start - timedelta(minutes=30))  # applied half an hour before the traffic
    store = open_store(durable_url, project_dir=tmp_path, clock=clock)
    try:
        project = parse_project(text, "liveops.yaml", env={"HOOK_SECRET": SECRET})
        apply_project(store, project, actor="ann")
        _history(store, clock, start)
    finally:
        store.close()
    return tmp_path


def _history(store: Store, clock: FixedClock, start: datetime) -> None:
    def minute(m: float) -> datetime:
        return start + timedelta(minutes=m)

    rows = []
    for k in range(36):  # four bad windows, one good, again and again
        bad = k % 5 != 4
        rows += [
            log_row(minute(5 * k + 0.2 * i), error="model_error" if bad else None)
            for i in range(10)
        ]
    # Two windows of wrong answers in the south clinic: pending at the first pass, firing at
    # the second.
    south = [
        log_row(minute(w + 0.1 * i), clinic="south", label="benign")
        for w in (0, 5)
        for i in range(20)
    ]
    store_rows(store, rows + south)
    for r in south:
        give(store, r["prediction_id"], r["ts"] + timedelta(minutes=2), label="malignant")
    for k in range(1, 37):
        clock.advance((minute(5 * k) - clock.now()).total_seconds())
        run_monitor(store, clock=clock)


def _count(url: str, table: sa.Table) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)
    finally:
        engine.dispose()


def _audit_head(run_cli: Runner) -> Any:
    r = run_cli("audit", "log", "--json", "--limit", "1")
    assert r.code == 0, r.err
    return r.json()


def _events(run_cli: Runner, object_id: str, action: str) -> list[dict[str, Any]]:
    r = run_cli("audit", "log", object_id, "--json")
    assert r.code == 0, r.err
    return [e for e in r.json() if e["action"] == action]


def test_alerts_list_and_noise(run_cli: Runner, project: Path) -> None:
    r = run_cli("alerts", "list", "--json")
    assert r.code == 0, r.err
    states = {(s["service"], s["rule"]): s for s in r.json()}
    assert ("tumours", "errors") in states
    assert ("tumours", "south quality") in states
    assert states[("tumours", "south quality")]["scope"]["slice"] == "clinic=south"
    human = run_cli("alerts", "list", "--service", "tumours")
    assert human.code == 0
    assert "south quality" in human.out
    assert "wines" not in human.out

    r = run_cli("alerts", "list", "--noisy", "--json")
    assert r.code == 0, r.err
    noise = {(n["service"], n["rule"]): n for n in r.json()}
    errors = noise[("tumours", "errors")]
    assert errors["fired"] >= 3
    assert errors["acknowledged"] == 0
    assert errors["noisy"] is True
    assert r.json()[0]["rule"] == "errors"  # noisiest first
    human = run_cli("alerts", "list", "--noisy", "--days", "1")
    assert human.code == 0
    assert "alert noise" in human.out
    assert "yes" in human.out


def test_silence_is_audited_and_bad_input_is_refused(
    run_cli: Runner, project: Path, durable_url: str
) -> None:
    r = run_cli(
        "alerts",
        "silence",
        "south quality",
        "--for",
        "2h",
        "--reason",
        "new scanner",
        "--as",
        "ann",
        "--json",
    )
    assert r.code == 0, r.err
    got = r.json()
    assert (got["service"], got["rule"], got["reason"]) == (
        "tumours",
        "south quality",
        "new scanner",
    )
    ends = datetime.fromisoformat(got["ends_at"])
    assert timedelta(minutes=119) < ends - datetime.now(UTC) <= timedelta(hours=2)
    [event] = _events(run_cli, "tumours:south quality", "alert.silenced")
    assert (event["actor"], event["reason"]) == ("ann", "new scanner")
    assert event["object_id"] == "tumours:south quality"
    human = run_cli("alerts", "silence", "errors", "-s", "wines", "--for", "30m", "-m", "deploy")
    assert human.code == 0, human.err
    assert "wines: rule 'errors' silenced until" in human.out

    silences = _count(durable_url, alert_silences)
    head = _audit_head(run_cli)
    refusals = [
        (["nope", "--for", "2h", "--reason", "x"], 4, "no alert rule 'nope'", "alerts list"),
        (["errors", "--for", "2h", "--reason", "x"], 2, "exists in tumours, wines", "--service"),
        (["errors", "-s", "tumours", "--for", "2 hours", "--reason", "x"], 2, "not a duration", ""),
        (["errors", "-s", "tumours", "--for", "0m", "--reason", "x"], 2, "positive duration", ""),
        (["errors", "-s", "tumours", "--for", "2h", "--reason", "  "], 2, "needs a reason", ""),
        (["errors", "-s", "tumours", "--for", "2h"], 2, "Missing option '--reason'", ""),
        (["errors", "-s", "tumours", "--reason", "x"], 2, "Missing option '--for'", ""),
    ]
    for args, code, says, hint in refusals:
        r = run_cli("alerts", "silence", *args)
        assert r.code == code, (args, r.err)
        assert says in " ".join(r.err.split()), (args, r.err)
        if hint:
            assert "next:" in r.err
            assert hint in r.err
    r = run_cli("alerts", "silence", "nope", "--for", "2h", "--reason", "x", "--json")
    assert r.json()["error"] == "object_not_found"
    assert _count(durable_url, alert_silences) == silences
    assert _audit_head(run_cli) == head


def test_ack_counts_for_noise_and_is_audited(
    run_cli: Runner, project: Path, durable_url: str
) -> None:
    # errors flapped: pending again at the end, nothing firing to acknowledge.
    head = _audit_head(run_cli)
    r = run_cli("alerts", "ack", "errors", "-s", "tumours")
    assert r.code == 4
    assert "rule 'errors' of tumours has no firing alert" in r.err
    assert "alerts list" in r.err
    assert run_cli("alerts", "ack", "nope").code == 4
    assert _audit_head(run_cli) == head

    r = run_cli("alerts", "ack", "south quality", "-m", "looking", "--as", "bo", "--json")
    assert r.code == 0, r.err
    assert r.json() == {
        "service": "tumours",
        "rule": "south quality",
        "acknowledged": 1,
        "by": "bo",
    }
    [event] = _events(run_cli, "tumours:south quality", "alert.acknowledged")
    assert (event["actor"], event["reason"]) == ("bo", "looking")
    noise = run_cli("alerts", "list", "--noisy", "--json").json()
    south = next(n for n in noise if n["rule"] == "south quality")
    assert south["acknowledged"] == south["fired"] == 1
    r = run_cli("alerts", "ack", "south quality")
    assert r.code == 4
    assert "acknowledged already" in r.err
    assert len(_events(run_cli, "tumours:south quality", "alert.acknowledged")) == 1


def test_test_send_outbox_and_export(run_cli: Runner, project: Path, hook: Hook) -> None:
    r = run_cli("alerts", "send", "--json")
    assert r.code == 0, r.err
    sent = r.json()
    assert sent["delivered"]
    assert sent["failed"] == {}
    assert hook.bad_signatures == 0
    assert {n["service"] for n in hook.notices()} == {"tumours"}
    assert len(hook.keys()) == len(set(hook.keys())) == len(sent["delivered"])
    assert run_cli("alerts", "send", "--json").json()["delivered"] == []  # nothing twice

    r = run_cli("alerts", "test", "hook", "--json")
    assert r.code == 0, r.err
    assert r.json()["delivered"] is True
    assert hook.keys()[-1] == r.json()["key"]

    hook.mode = "down"
    r = run_cli("alerts", "test", "hook")
    assert r.code == 4
    assert "the test message to hook was not delivered" in r.err
    assert "answered 500" in r.err
    assert "stays in the outbox and is retried" in r.err
    r = run_cli("alerts", "test", "pager")
    assert r.code == 4
    assert "unknown receiver 'pager' (applied: hook)" in r.err

    r = run_cli("alerts", "outbox", "--json")
    assert r.code == 0, r.err
    rows = r.json()
    waiting = [o for o in rows if o["status"] != "delivered"]
    assert len(waiting) == 1
    assert waiting[0]["kind"] == "test"
    assert waiting[0]["attempts"] == 1
    assert "answered 500" in waiting[0]["last_error"]
    assert {o["kind"] for o in rows if o["status"] == "delivered"} == {"notify", "test"}
    human = run_cli("alerts", "outbox", "--receiver", "hook")
    assert human.code == 0
    assert "answered 500" in human.out
    r = run_cli("alerts", "outbox", "--receiver", "pager")
    assert r.code == 4
    assert "unknown receiver 'pager'" in r.err

    r = run_cli("alerts", "export", "tumours")
    assert r.code == 0, r.err
    assert "alert: Errors" in r.out
    assert "south quality" in r.out  # a slice: left to the monitor, and said so
    out = project / "rules.yml"
    assert run_cli("alerts", "export", "tumours", "-o", str(out)).code == 0
    assert "groups:" in out.read_text()
    r = run_cli("alerts", "export", "tumours", "--format", "nagios")
    assert r.code == 2
    assert "--format prometheus" in r.err
    r = run_cli("alerts", "export", "tumor")
    assert r.code == 4
    assert "tumor" in r.err


def test_an_incident_from_open_to_reviewed(
    run_cli: Runner, project: Path, durable_url: str
) -> None:
    r = run_cli("incident", "list", "--json")
    assert r.code == 0, r.err
    [opened] = r.json()
    assert (opened["service"], opened["status"], opened["severity"]) == ("tumours", "open", "page")
    iid = str(opened["id"])
    assert run_cli("incident", "list", "--status", "resolved", "--json").json() == []
    r = run_cli("incident", "list", "--status", "closed")
    assert r.code == 2
    assert "is not one of" in r.err

    r = run_cli("incident", "show", iid)
    assert r.code == 0, r.err
    text = " ".join(r.out.split())
    assert f"incident {iid}" in text
    assert "slices clinic=south" in text
    assert "evidence" in text
    assert "recent changes" in text
    assert "service.created" in text  # `service apply` in the 48 hours before
    assert "timeline" in text
    shown = run_cli("incident", "show", iid, "--json").json()
    assert shown["scope"]["slices"] == ["clinic=south"]
    assert {e["inputs"]["clinic"] for e in shown["evidence"]} == {"south"}

    r = run_cli("incident", "ack", iid, "--note", "on it", "--as", "bo")
    assert r.code == 0, r.err
    assert f"incident {iid}: open -> acknowledged" in r.out
    r = run_cli("incident", "ack", iid)
    assert r.code == 4
    assert "is acknowledged: it cannot become acknowledged" in r.err
    noise = run_cli("alerts", "list", "--noisy", "--json").json()
    south = next(n for n in noise if n["rule"] == "south quality")
    assert south["acknowledged"] == south["fired"] == 1

    # tumours has no fallback: the kill switch is refused without --yes, nothing changes.
    r = run_cli("incident", "mitigate", iid, "--action", "kill_switch")
    assert r.code == 2
    assert "no fallback" in r.err
    assert "--yes" in r.err
    assert run_cli("incident", "show", iid, "--json").json()["status"] == "acknowledged"
    r = run_cli("incident", "mitigate", iid, "--action", "rollback")
    assert r.code == 4
    assert "never moved" in r.err
    r = run_cli("incident", "mitigate", iid, "--action", "pray")
    assert r.code == 2
    assert "unknown action 'pray'" in r.err
    r = run_cli("incident", "mitigate", iid, "--action", "kill_switch", "--yes", "--json")
    assert r.code == 0, r.err
    assert r.json()["status"] == "mitigated"
    assert "tumours disabled" in r.json()["action"]
    services = {s["name"]: s for s in run_cli("service", "list", "--json").json()}
    assert services["tumours"]["state"] == "disabled"
    [event] = _events(run_cli, iid, "incident.action")
    assert event["data"]["action"] == "kill_switch"

    review = ["incident", "review", iid, "--impact", "i"]
    r = run_cli(*review, "--summary", "s", "--root-cause", "data")
    assert r.code == 4
    assert "review it once it is resolved" in r.err
    assert f"liveops incident resolve {iid}" in r.err
    assert run_cli("incident", "resolve", iid, "-m", "scanner recalibrated").code == 0
    head = _audit_head(run_cli)
    r = run_cli(*review, "--summary", "s", "--root-cause", "luck")
    assert r.code == 2
    assert "root cause 'luck' is not one of" in r.err
    r = run_cli(
        "incident", "review", iid, "--summary", " ", "--impact", "i", "--root-cause", "data"
    )
    assert r.code == 2
    assert "needs a summary" in r.err
    assert _audit_head(run_cli) == head
    r = run_cli(
        "incident",
        "review",
        iid,
        "--summary",
        "the south clinic's new scanner",
        "--impact",
        "20 answers wrong",
        "--root-cause",
        "data",
        "--action",
        "calibrate per clinic",
        "--action",
        "alert on clinic drift",
        "--as",
        "cy",
    )
    assert r.code == 0, r.err
    shown = run_cli("incident", "show", iid)
    text = " ".join(shown.out.split())
    assert "reviewed" in text
    assert "root cause: data" in text
    assert "calibrate per clinic; alert on clinic drift" in text
    kinds = [t["kind"] for t in run_cli("incident", "show", iid, "--json").json()["timeline"]]
    assert kinds[0] == "opened"
    assert {"acknowledged", "action", "mitigated", "resolved", "reviewed"} <= set(kinds)
    [event] = _events(run_cli, iid, "incident.reviewed")
    assert event["actor"] == "cy"
    assert event["data"]["root_cause"] == "data"
    assert _count(durable_url, incidents) == 1


def test_an_incident_opened_by_hand_and_unknown_ids(run_cli: Runner, project: Path) -> None:
    r = run_cli("incident", "open", "wines", "--title", "users report red as white", "--json")
    assert r.code == 0, r.err
    iid = r.json()["id"]
    listed = run_cli("incident", "list", "--service", "wines", "--json").json()
    assert [(i["id"], i["opened_by"], i["title"]) for i in listed] == [
        (iid, "tester", "users report red as white")
    ]
    r = run_cli("incident", "open", "beers", "--title", "x")
    assert r.code == 4
    assert "beers" in r.err
    r = run_cli("incident", "open", "wines", "--title", " ")
    assert r.code == 2
    assert "needs a title" in r.err
    assert run_cli("incident", "resolve", str(iid)).code == 0
    # A resolved incident cannot be mitigated: refused before its action runs.
    r = run_cli("incident", "mitigate", str(iid), "--action", "kill_switch", "--yes")
    assert r.code == 4
    assert "is resolved: it cannot become mitigated" in r.err
    services = {s["name"]: s for s in run_cli("service", "list", "--json").json()}
    assert services["wines"]["state"] == "enabled"
    r = run_cli("incident", "show", "999")
    assert r.code == 4
    assert "no incident 999" in r.err
    assert "liveops incident list" in r.err
    r = run_cli("incident", "ack", "abc")
    assert r.code == 2
    assert len(run_cli("incident", "list", "--json").json()) == 2


def test_serve_refuses_a_bad_sender_interval_before_it_starts(
    run_cli: Runner, tmp_path: Path
) -> None:
    (tmp_path / "liveops.yaml").write_text(alert_yaml("http://127.0.0.1:9/x"))
    for every in ("soon", "0s"):
        r = run_cli("serve", "--no-auth", "--send-alerts-every", every)
        assert r.code == 2, r.err
        assert f"--send-alerts-every {every!r} is not a positive duration" in r.err
        assert "liveops gateway on" not in r.err
