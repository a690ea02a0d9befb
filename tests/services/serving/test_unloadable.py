"""Fallback means fallback: a version that cannot load (its artifact changed on disk, its rules
raise on import) is answered for by its configured fallback, and readiness says the service is
degraded and why; with no fallback, a clear 503. A failing load is logged once per change.

The service is a tabular wine classifier (numbers and a category, saved with skops)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from liveops.core.project import parse_project
from liveops.errors import ModelUnavailableError
from liveops.services.registry import apply_project, set_alias, set_service_enabled
from liveops.services.serving import Gateway
from liveops.store import open_store
from tests.services.serving.conftest import ask, with_gateway
from tests.services.serving.wine import SAMPLE, corrupt, make_wine


def test_a_changed_artifact_is_answered_by_the_rules_and_the_service_is_degraded(
    tmp_path: Path,
) -> None:
    project = tmp_path / "proj"
    make_wine(project, '{fallback: rules, rules: "wine_rules:classify"}')
    corrupt(project, "wine@1")

    async def body(gw: Gateway) -> None:
        answer = await ask(gw, "wine", {**SAMPLE, "color_intensity": 9.0})
        assert answer["label"] == "cultivar_c"
        assert answer["decision"] == "fallback"
        assert answer["fallback"] == "rules"
        assert answer["reason"] == "version_unavailable;fallback:rules"
        assert answer["version"] == 1
        ready = gw.readiness()
        state = ready["services"]["wine"]
        assert ready["ready"] is True
        assert state["status"] == "degraded"
        assert "wine@1 cannot load its model" in state["reason"]
        assert "was changed after it was stored" in state["reason"]
        assert "the fallback answers (rules wine_rules_" in state["reason"]
        assert ready["models"] == []  # nothing loaded that answers

    with_gateway(project, body)


def test_rules_that_raise_on_import_are_answered_for_by_the_fallback_version(
    tmp_path: Path,
) -> None:
    project = tmp_path / "proj"
    # wine@2 falls back to wine@1; its rules module is then broken (after registration)
    module = make_wine(project, '{fallback: wine@1, rules: "wine_rules:classify"}', versions=2)
    (project / f"{module}.py").write_text("raise ImportError('rules moved to wine.rules')\n")

    async def body(gw: Gateway) -> None:
        answer = await ask(gw, "wine", SAMPLE)
        assert answer["decision"] == "fallback"
        assert answer["fallback"] == "wine@1"
        assert answer["reason"] == "version_unavailable;fallback:wine@1"
        assert answer["label"] in ("cultivar_a", "cultivar_b", "cultivar_c")
        state = gw.readiness()["services"]["wine"]
        assert state["status"] == "degraded"
        assert state["version"] == 2
        assert "cannot load its rules" in state["reason"]
        assert "rules moved" in state["reason"]
        assert "the fallback answers (wine@1)" in state["reason"]

    with_gateway(project, body)


def test_without_a_fallback_a_version_that_cannot_load_gets_a_clear_503(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    make_wine(project, "{}")
    corrupt(project, "wine@1")

    async def body(gw: Gateway) -> None:
        with pytest.raises(ModelUnavailableError) as caught:
            await ask(gw, "wine", SAMPLE)
        assert caught.value.status == 503
        assert "wine@1 cannot load its model" in caught.value.message
        assert "no fallback" in caught.value.message
        assert "liveops alias set wine production" in (caught.value.hint or "")
        ready = gw.readiness()
        state = ready["services"]["wine"]
        assert ready["ready"] is False
        assert state["status"] == "unavailable"
        assert "was changed after it was stored" in state["reason"]
        assert "requests get 503" in state["reason"]

    with_gateway(project, body)


def test_a_load_failure_is_logged_once_per_distinct_error_not_at_every_poll(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    project = tmp_path / "proj"
    make_wine(project, '{fallback: rules, rules: "wine_rules:classify"}')
    corrupt(project, "wine@1")
    caplog.set_level(logging.INFO, logger="liveops.gateway")

    def load_errors() -> list[str]:
        return [r.getMessage() for r in caplog.records if "cannot load" in r.getMessage()]

    async def body(gw: Gateway) -> None:
        for _ in range(5):
            gw.refresh()  # what the poller does every poll_s
        assert len(load_errors()) == 1, load_errors()
        assert "its fallback answers: rules wine_rules_" in load_errors()[0]
        corrupt(project, "wine@1", b"changed again")  # a different error: said again, once
        for _ in range(5):
            gw.refresh()
        assert len(load_errors()) == 2, load_errors()
        assert (await ask(gw, "wine", SAMPLE))["fallback"] == "rules"

    with_gateway(project, body)


def test_moving_production_to_a_version_that_cannot_load_keeps_the_one_that_answers(
    tmp_path: Path,
) -> None:
    project = tmp_path / "proj"
    make_wine(project, "{}", versions=2)
    store = open_store(project_dir=project)
    set_alias(store, "wine", "production", "1", actor="tester")
    corrupt(project, "wine@2")

    async def body(gw: Gateway) -> None:
        assert (await ask(gw, "wine", SAMPLE))["version"] == 1
        set_alias(store, "wine", "production", "2", actor="tester")
        gw.refresh()
        answer = await ask(gw, "wine", SAMPLE)
        assert answer["version"] == 1
        assert answer["decision"] == "automatic"
        state = gw.readiness()["services"]["wine"]
        assert state["status"] == "degraded"
        assert state["version"] == 1
        assert "wine@2 cannot load its model" in state["reason"]
        assert "wine@1 still answers" in state["reason"]
        # the kill switch still works on the route that was kept
        set_service_enabled(store, "wine", enabled=False, actor="tester", reason="test")
        gw.refresh()
        with pytest.raises(ModelUnavailableError, match="wine is disabled"):
            await ask(gw, "wine", SAMPLE)

    try:
        with_gateway(project, body)
    finally:
        store.close()


def test_a_running_gateway_stops_routing_to_a_version_whose_labels_the_service_dropped(
    tmp_path: Path,
) -> None:
    project = tmp_path / "proj"
    make_wine(project, '{fallback: rules, rules: "wine_rules:classify"}')
    store = open_store(project_dir=project)

    async def body(gw: Gateway) -> None:
        assert (await ask(gw, "wine", SAMPLE))["decision"] == "automatic"
        # `service apply` renames a label the model answers: wine@1 no longer fits the service
        yaml = (project / "liveops.yaml").read_text().replace("cultivar_b,", "cultivar_x,")
        (project / "liveops.yaml").write_text(yaml)
        apply_project(store, parse_project(yaml), actor="tester")
        gw.refresh()
        answer = await ask(gw, "wine", SAMPLE)
        assert answer["decision"] == "fallback"
        assert answer["reason"] == "version_unavailable;fallback:rules"
        state = gw.readiness()["services"]["wine"]
        assert state["status"] == "degraded"
        assert "cultivar_b" in state["reason"]

    try:
        with_gateway(project, body)
    finally:
        store.close()
