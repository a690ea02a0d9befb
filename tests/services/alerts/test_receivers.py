"""Real receivers beside the webhook: an SMTP server (aiosmtpd), Prometheus Alertmanager (the
Debian binary, started on a free port) and promtool checking the exported rules. A missing
binary skips with the reason; `.ci/run` installs them."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from liveops.core.clock import FixedClock
from liveops.core.project import parse_project
from liveops.services.alerts import export_rules, queue_test, send_outbox
from liveops.services.monitoring import run_monitor
from liveops.services.registry import apply_project
from liveops.store import Store, open_store
from tests.services.alerts.conftest import alert_yaml
from tests.services.alerts.test_alerts import pass_at, traffic
from tests.services.monitoring.logrows import T0, at

ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
PROMTOOL = shutil.which("promtool")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _store(tmp_path: Path, receivers: str, rules: str | None = None) -> Store:
    store = open_store("sqlite://", artifacts_root=tmp_path / "a", clock=FixedClock(T0))
    text = alert_yaml("http://127.0.0.1:9/unused", *([rules] if rules else []))
    text = text.rsplit("\nreceivers:", 1)[0] + "\nreceivers:\n" + receivers
    apply_project(store, parse_project(text, env={"HOOK_SECRET": "x"}), actor="ann")
    return store


def test_email_reaches_a_real_smtp_server(tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller

    got: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            got.append(envelope)
            return "250 OK"

    port = _free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        store = _store(
            tmp_path,
            f"  hook: {{smtp: {{host: 127.0.0.1, port: {port}, to: [oncall@example.com]}}}}\n",
        )
        clock = store.clock
        assert isinstance(clock, FixedClock)
        for minute in range(0, 25, 5):
            traffic(store, minute, errors=True)
        for k in range(1, 5):
            pass_at(store, clock, at(5 * k))
        sent = send_outbox(store, clock=clock)
    finally:
        controller.stop()
    assert len(sent.delivered) == 1
    message = got[0].content.decode()
    assert got[0].rcpt_tos == ["oncall@example.com"]
    assert "errors" in message
    assert sent.delivered[0] in message  # the idempotency key


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    if ALERTMANAGER is None:
        pytest.skip(
            "prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)"
        )
    port, cluster = _free_port(), _free_port()
    config = tmp_path / "am.yml"
    config.write_text("route: {receiver: none}\nreceivers: [{name: none}]\n")
    proc = subprocess.Popen(
        [
            ALERTMANAGER,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--cluster.listen-address=127.0.0.1:{cluster}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            pytest.fail("alertmanager did not become ready")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_firing_alert_shows_in_alertmanagers_own_api(tmp_path: Path, alertmanager: str) -> None:
    store = _store(tmp_path, f"  hook: {{alertmanager: '{alertmanager}'}}\n")
    clock = store.clock
    assert isinstance(clock, FixedClock)
    # Alertmanager drops alerts that ended: give this test's clock the wall time.
    clock.advance(time.time() - clock.now().timestamp() - 20 * 60)
    start = clock.now()
    for minute in range(0, 25, 5):
        traffic(store, (start - T0).total_seconds() / 60 + minute, errors=True)
    for _ in range(4):
        clock.advance(300)
        run_monitor(store, clock=clock)
    assert send_outbox(store, clock=clock).delivered
    shown = httpx.get(f"{alertmanager}/api/v2/alerts", timeout=5).json()
    names = {a["labels"]["alertname"]: a for a in shown}
    assert "errors" in names
    assert names["errors"]["labels"]["service"] == "tumours"
    assert names["errors"]["status"]["state"] == "active"


def test_alerts_test_reaches_alertmanager(tmp_path: Path, alertmanager: str) -> None:
    store = _store(tmp_path, f"  hook: {{alertmanager: '{alertmanager}'}}\n")
    store.clock = FixedClock(T0.fromtimestamp(time.time(), T0.tzinfo))
    key = queue_test(store, "hook", actor="ann")
    assert key in send_outbox(store, clock=store.clock).delivered


def test_exported_rules_pass_promtool(tmp_path: Path) -> None:
    if PROMTOOL is None:
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    rules = """
    alerts:
      - {name: slow answers, metric: latency.p95_ms, above: 400, for: 15m, severity: page,
         receivers: [hook], runbook: https://wiki.example.com/slow}
      - {name: errors, metric: error_rate, above: 0.05, for: 10m, receivers: [hook]}
      - {name: estimate low, metric: estimated.accuracy, below: 0.8, for: 1h, receivers: [hook]}
      - {name: south quality, metric: accuracy, slice: clinic=south, below: 0.6, receivers: [hook]}
"""
    store = _store(tmp_path, "  hook: {alertmanager: 'http://127.0.0.1:9093'}\n", rules)
    text, skipped = export_rules(store, "tumours")
    path = tmp_path / "rules.yml"
    path.write_text(text)
    checked = subprocess.run(
        [PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 7 rules found" in checked.stdout
    assert skipped == ["south quality"]


def test_a_webhook_variable_beside_a_url_overrides_it_only_when_set(tmp_path: Path) -> None:
    from tests.services.alerts.receivers import SECRET, Hook

    default, override = Hook(), Hook()
    try:
        store = _store(
            tmp_path,
            f"  hook: {{webhook: {{url: '{default.url}', url_env: HOOK_URL,"
            " secret_env: HOOK_SECRET}}\n",
        )
        store.clock = FixedClock(T0.fromtimestamp(time.time(), T0.tzinfo))
        env = {"HOOK_SECRET": SECRET}
        first = queue_test(store, "hook", actor="ann")
        assert first in send_outbox(store, clock=store.clock, env=env).delivered
        second = queue_test(store, "hook", actor="bo")
        sent = send_outbox(store, clock=store.clock, env={**env, "HOOK_URL": override.url})
        assert second in sent.delivered
        assert default.keys() == [first]
        assert override.keys() == [second]
    finally:
        default.close()
        override.close()
