"""``liveops serve`` delivers the alert outbox in the background: a notification a monitor pass
wrote reaches a real local webhook (which checks the HMAC) while the gateway serves; a receiver
that is down delays it (retried after the backoff) but never loses it, and the gateway keeps
answering meanwhile; two gateways on one project deliver it once. The alerting service is the
tabular ``tumours``, next to the router the gateway serves."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from liveops.core.clock import FixedClock
from liveops.core.project import parse_project
from liveops.services.alerts.sender import LEASE
from liveops.services.monitoring import run_monitor
from liveops.services.registry import apply_project
from liveops.store import Store, open_store
from liveops.store.alerts import OutboxRow
from tests.server.conftest import PROJECT_YAML, Server, make_project
from tests.services.alerts.receivers import SECRET, Hook
from tests.services.monitoring.logrows import T0, at, log_row, store_rows

pytestmark = pytest.mark.slow

PREDICT = "/v1/services/router/predict"

TUMOURS = """
  - name: tumours
    owner: onc@example.com
    inputs:
      mean_radius: {type: number, required: true}
      clinic: {type: enum, values: [north, south]}
    output: {labels: [benign, malignant]}
    alerts:
      - {name: errors, metric: error_rate, above: 0.5, severity: ticket, receivers: [hook]}
receivers:
  hook: {webhook: {url: URL, secret_env: HOOK_SECRET}, timeout_s: 2}
"""


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch) -> Iterator[Hook]:
    monkeypatch.setenv("HOOK_SECRET", SECRET)  # the gateway's process reads it when sending
    h = Hook()
    yield h
    h.close()


@pytest.fixture
def alerting(tmp_path: Path, hook: Hook) -> Path:
    """The router project plus a tabular service whose rule posts to ``hook``."""
    folder = make_project(tmp_path / "proj")
    text = PROJECT_YAML + TUMOURS.replace("URL", hook.url)
    (folder / "liveops.yaml").write_text(text)
    store = open_store(project_dir=folder)
    try:
        apply_project(store, parse_project(text, env={"HOOK_SECRET": SECRET}), actor="tester")
    finally:
        store.close()
    return folder


def fire(folder: Path) -> Store:
    """Errors in two windows and two monitor passes on a fake clock: the rule fires and the
    pass queues one notification (the sender of the gateway, on the wall clock, finds it due)."""
    clock = FixedClock(T0)
    store = open_store(project_dir=folder, clock=clock)
    store_rows(store, [log_row(at(m * 0.5), error="model_error") for m in range(20)])
    for minute in (5, 10):
        clock.advance((at(minute) - clock.now()).total_seconds())
        run_monitor(store, folder, clock=clock)
    assert [s["state"] for s in store.alerts.states("tumours").values()] == ["firing"]
    return store


def wait_for(check: Callable[[], bool], limit_s: float) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def notifications(store: Store) -> list[OutboxRow]:
    return [r for r in store.alerts.outbox(receiver="hook") if r.kind == "notify"]


def answers(server: Server) -> bool:
    with server.client() as c:
        r = c.post(PREDICT, json={"inputs": {"text": "refund please", "channel": "chat"}})
    return r.status_code == 200


def test_the_gateway_delivers_what_the_monitor_queued(
    serve: Callable[..., Server], alerting: Path, hook: Hook
) -> None:
    server = serve("--send-alerts-every", "0.2s", project=alerting)
    store = fire(alerting)
    try:
        assert wait_for(lambda: len(hook.accepted) == 1, 30), server.project
        assert hook.bad_signatures == 0
        (notice,) = hook.notices()
        assert (notice["rule"], notice["status"], notice["service"]) == (
            "errors",
            "firing",
            "tumours",
        )
        assert wait_for(lambda: notifications(store)[0].status == "delivered", 10)
        time.sleep(1)  # a few more rounds: nothing is sent twice
        assert len(hook.accepted) == 1
        assert answers(server)
        holder = store.monitoring.lease_holder(LEASE)
        assert holder is not None
        assert f":{server.proc.pid}:" in holder[0]  # this gateway's sender sent
        server.stop()
        # Stopping gave the lease back: another gateway's sender takes over at once.
        assert store.monitoring.lease_holder(LEASE) is None
    finally:
        store.close()
    log = next(alerting.glob("server-*.log")).read_text()
    assert "alert notifications sent every 0.2 s" in log


def test_two_gateways_deliver_a_notification_once(
    serve: Callable[..., Server], alerting: Path, hook: Hook
) -> None:
    first = serve("--send-alerts-every", "0.2s", project=alerting)
    second = serve("--send-alerts-every", "0.2s", project=alerting)
    store = fire(alerting)
    try:
        assert wait_for(lambda: len(hook.accepted) == 1, 30)
        time.sleep(1.5)  # both senders keep looking: nothing is sent twice
        assert len(hook.accepted) == 1
        assert notifications(store)[0].attempts == 1
        holder = store.monitoring.lease_holder(LEASE)
        assert holder is not None
        pids = {int(holder[0].split(":")[1])}
        assert pids <= {first.proc.pid, second.proc.pid}
    finally:
        store.close()


def test_a_receiver_that_is_down_delays_a_notification_but_never_loses_it(
    serve: Callable[..., Server], alerting: Path, hook: Hook
) -> None:
    hook.mode = "down"
    server = serve("--send-alerts-every", "0.2s", project=alerting)
    store = fire(alerting)
    try:
        assert wait_for(lambda: hook.refused >= 1, 30)
        (row,) = notifications(store)
        assert (row.status, row.attempts) == ("pending", 1)
        assert "answered 500" in (row.last_error or "")
        assert answers(server)  # the gateway serves on while the receiver is down
        time.sleep(2)  # ten rounds of the sender: the row waits out its backoff (30 s)
        assert hook.refused == 1
        hook.mode = "up"
        # Delivered once its backoff has passed, by the same gateway.
        assert wait_for(lambda: len(hook.accepted) == 1, 60)
        assert wait_for(lambda: notifications(store)[0].status == "delivered", 10)
        assert notifications(store)[0].attempts == 2
        assert hook.notices()[0]["status"] == "firing"
        assert len(set(hook.keys())) == len(hook.keys()) == 1
    finally:
        store.close()


def test_a_gateway_started_without_the_sender_leaves_the_outbox_alone(
    serve: Callable[..., Server], alerting: Path, hook: Hook
) -> None:
    serve("--no-send-alerts", project=alerting)
    store = fire(alerting)
    try:
        time.sleep(1.5)
        assert hook.accepted == []
        assert notifications(store)[0].status == "pending"
    finally:
        store.close()
    log = next(alerting.glob("server-*.log")).read_text()
    assert "not sent by this gateway (--no-send-alerts)" in log
