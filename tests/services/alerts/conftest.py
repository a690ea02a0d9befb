"""A tabular service with alert rules, a store on one fake clock, and a real webhook."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from liveops.core.clock import FixedClock
from liveops.core.project import parse_project
from liveops.services.registry import apply_project
from liveops.store import Store, open_store
from tests.services.alerts.receivers import SECRET, Hook
from tests.services.monitoring.logrows import T0
from tests.services.tabular import tabular_yaml

RULES = """
    alerts:
      - {name: errors, metric: error_rate, above: 0.5, for: 15m, severity: ticket,
         receivers: [hook], cooldown: 1h}
      - {name: south quality, metric: accuracy, slice: clinic=south, below: 0.6,
         min_count: 5, severity: page, receivers: [hook], runbook: https://wiki.example.com/t}
"""
RECEIVERS = """
receivers:
  hook: {webhook: {url: URL, secret_env: HOOK_SECRET}, timeout_s: 0.5}
"""


def alert_yaml(url: str, rules: str = RULES) -> str:
    text = tabular_yaml()
    head, rest = text.split("  - name: wines", 1)
    return (
        head.rstrip("\n")
        + "\n"
        + rules.rstrip()
        + "\n  - name: wines"
        + rest
        + RECEIVERS.replace("URL", url)
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.close()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    return {"HOOK_SECRET": SECRET}


@pytest.fixture
def alerted(
    db_url: str, tmp_path: Path, clock: FixedClock, hook: Hook, env: dict[str, str]
) -> Iterator[Store]:
    store = open_store(db_url, artifacts_root=tmp_path / "a", project_dir=tmp_path, clock=clock)
    project = parse_project(alert_yaml(hook.url), "liveops.yaml", env=env)
    apply_project(store, project, actor="ann")
    try:
        yield store
    finally:
        store.close()
