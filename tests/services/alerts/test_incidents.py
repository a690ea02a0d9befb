"""A page alert opens an incident whose scope, evidence and recent changes come from the store;
it moves forward only, each step audited; bad rules are refused naming the line."""

from __future__ import annotations

import pytest

from liveops.core.clock import FixedClock
from liveops.core.project import parse_project
from liveops.errors import ConflictError, ProjectFileError
from liveops.services.alerts import get_incident, move_incident, review_incident
from liveops.services.monitoring import run_monitor
from liveops.store import Store
from tests.services.alerts.conftest import alert_yaml
from tests.services.monitoring.logrows import at, give, log_row, store_rows


def test_a_page_alert_opens_an_incident_scoped_to_its_slice(
    alerted: Store, clock: FixedClock
) -> None:
    store = alerted
    for minute in range(0, 10, 5):
        rows = [log_row(at(minute + 0.1 * i), clinic="south", label="benign") for i in range(20)]
        rows += [log_row(at(minute + 0.1 * i + 0.05), clinic="north") for i in range(20)]
        store_rows(store, rows)
        for r in rows:
            truth = "malignant" if r["segments"]["clinic"] == "south" else "benign"
            give(store, r["prediction_id"], at(minute + 4), label=truth)
    for minute in (5, 10):
        clock.advance(at(minute).timestamp() - clock.now().timestamp())
        run_monitor(store, clock=clock)
    [incident] = [get_incident(store, i.id) for i in store_incidents(store)]
    assert incident.scope["slices"] == ["clinic=south"]
    assert incident.scope["versions"] == [1]
    assert incident.scope["requests_affected"] == 40
    assert incident.scope["share_affected"] == pytest.approx(0.5)
    assert incident.evidence
    assert {e["inputs"]["clinic"] for e in incident.evidence} == {"south"}
    assert any(c["action"] == "service.created" for c in incident.changes)
    assert incident.timeline[0]["kind"] == "opened"

    move_incident(store, incident.id, "acknowledged", actor="bo")
    with pytest.raises(ConflictError):
        move_incident(store, incident.id, "acknowledged", actor="bo")
    with pytest.raises(ConflictError):  # a review needs the incident resolved
        review_incident(
            store, incident.id, actor="bo", summary="s", impact="i", root_cause="data", actions=[]
        )
    move_incident(store, incident.id, "resolved", actor="bo")
    review_incident(
        store,
        incident.id,
        actor="bo",
        summary="south clinic's new scanner",
        impact="20 answers wrong",
        root_cause="data",
        actions=["calibrate per clinic"],
    )
    actions = [e.action for e in store.audit.events(object_type="incident")]
    assert actions[:3] == ["incident.reviewed", "incident.resolved", "incident.acknowledged"]
    assert store.alerts.episodes(at(0))[0]["acked_at"] is not None


def store_incidents(store: Store) -> list[object]:
    from liveops.services.alerts import list_incidents

    return list(list_incidents(store))


@pytest.mark.parametrize(
    ("rule", "says", "line"),
    [
        ("{name: a, metric: acuracy, above: 1}", "unknown metric 'acuracy'", 13),
        ("{name: a, metric: error_rate, above: 0.1, window: 1h, for: 15m}", "shorter than", 13),
        ("{name: a, metric: error_rate, above: 0.1, receivers: [pager]}", "unknown receiver", 13),
        ("{name: a, metric: log_loss, above: 0.1}", "not kept in the monitor's windows", 13),
        ("{name: a, metric: uptime, below: 0.9, version: 1}", "per service from the gateways", 13),
    ],
)
def test_bad_rules_are_refused_naming_the_line(rule: str, says: str, line: int) -> None:
    text = alert_yaml("http://127.0.0.1:9/x", f"    alerts:\n      - {rule}\n")
    with pytest.raises(ProjectFileError) as err:
        parse_project(text, "liveops.yaml", env={"HOOK_SECRET": "s"})
    assert says in err.value.message
    assert err.value.message.startswith(f"liveops.yaml:{line}:")


def test_a_missing_secret_variable_is_refused_naming_the_line() -> None:
    text = alert_yaml("http://127.0.0.1:9/x")
    parse_project(text, "liveops.yaml")  # reading the file needs no secret
    with pytest.raises(ProjectFileError) as err:
        parse_project(text, "liveops.yaml", env={})
    assert "HOOK_SECRET is not set" in err.value.message
    assert err.value.message.startswith("liveops.yaml:26:")
