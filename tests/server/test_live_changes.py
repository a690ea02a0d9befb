"""Changes while the gateway is under load: the kill switch and a version swap."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from liveops.services.registry import set_alias, set_service_enabled
from liveops.store import open_store
from tests.server.conftest import Server, logged
from tests.server.load import Load

PREDICT = "/v1/services/router/predict"
pytestmark = pytest.mark.slow


def _wait_until(load: Load, since: float, ok: Callable[[dict], bool], limit_s: float) -> float:  # type: ignore[type-arg]
    """Seconds from ``since`` until every answer after some point satisfies ``ok``."""
    deadline = since + limit_s
    while time.monotonic() < deadline:
        time.sleep(0.05)
        recent = [o for o in load.since(since) if o.status == 200]
        # The first answer from which on every answer is switched.
        for k, o in enumerate(recent):
            if all(ok(x.body) for x in recent[k:]) and len(recent) - k >= 20:
                return o.t - since
    raise AssertionError(f"not switched within {limit_s} s")


def test_kill_switch_under_load_sends_all_traffic_to_the_fallback(
    serve: Callable[..., Server],
) -> None:
    server = serve("--poll-s", "0.5")  # the default poll interval, for an honest figure
    body = {"inputs": {"text": "please refund"}}
    with Load(server.url + PREDICT, body, connections=4) as load:
        time.sleep(1.0)
        store = open_store(project_dir=server.project)
        t0 = time.monotonic()
        set_service_enabled(store, "router", enabled=False, actor="tester", reason="test")
        took = _wait_until(load, t0, lambda b: b["reason"] == "service_disabled;fallback:rules", 30)
        print(f"\nkill switch: all traffic on the fallback {took:.2f} s after disable (target 5 s)")
        t1 = time.monotonic()
        set_service_enabled(store, "router", enabled=True, actor="tester", reason="test")
        back = _wait_until(load, t1, lambda b: b["decision"] == "automatic", 30)
        print(f"enable: the model answers again after {back:.2f} s")
        store.close()
    assert not load.errors
    assert all(o.status == 200 for o in load.outcomes)
    disabled = [o.body for o in load.outcomes if o.body["reason"]]
    assert disabled
    assert all(b["version"] is None and b["fallback"] == "rules" for b in disabled)


def test_version_swap_under_load_fails_no_request(server: Server) -> None:
    body = {"inputs": {"text": "app crash"}}
    with Load(server.url + PREDICT, body, connections=4) as load:
        time.sleep(1.0)
        store = open_store(project_dir=server.project)
        t0 = time.monotonic()
        set_alias(store, "router", "production", "2", actor="tester")
        store.close()
        took = _wait_until(load, t0, lambda b: b["version"] == 2, 30)
        time.sleep(0.5)
    print(f"\nswap: every answer from router@2 {took:.2f} s after the alias moved")
    statuses = {o.status for o in load.outcomes}
    assert not load.errors, (load.errors[:3], statuses)
    assert statuses == {200}, (load.errors[:3], statuses)
    versions = [o.body["version"] for o in load.outcomes]
    assert versions[0] == 1
    assert versions[-1] == 2
    assert {o.body["confidence"] for o in load.outcomes if o.body["version"] == 2} == {0.95}
    answered = {o.body["prediction_id"] for o in load.outcomes}
    assert set(logged(server.project, answered)) == answered


def test_a_version_no_route_uses_is_unloaded_and_can_come_back(server: Server) -> None:
    def loaded() -> tuple[list[str], float]:
        with server.client() as c:
            models = c.get("/readyz").json()["models"]
            text = c.get("/metrics").text
        gauge = next(ln for ln in text.splitlines() if ln.startswith("liveops_loaded_versions"))
        return models, float(gauge.split()[-1])

    def wait_for(models: list[str]) -> None:
        deadline = time.monotonic() + 30
        while loaded() != (models, 1.0) and time.monotonic() < deadline:
            time.sleep(0.1)

    store = open_store(project_dir=server.project)
    assert loaded() == (["router@1"], 1.0)
    for target in ("2", "1", "2"):  # moved away, back before it was closed, away again
        set_alias(store, "router", "production", target, actor="tester")
        wait_for([f"router@{target}"])
        assert loaded() == ([f"router@{target}"], 1.0)
        with server.client() as c:
            answer = c.post(PREDICT, json={"inputs": {"text": "refund"}}).json()
        assert answer["version"] == int(target)
    store.close()
