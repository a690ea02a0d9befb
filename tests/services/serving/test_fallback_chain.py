"""The fallback chain: every step that cannot answer is counted (by step and reason) and
logged once, never swallowed; the answers say what answered and why."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from liveops.services.registry import register_version, set_alias
from liveops.services.serving import Gateway
from tests.services.serving.conftest import apply, ask, metric, with_gateway

PROJECT = """
services:
  - name: tickets
    owner: team@example.com
    inputs: {text: {type: string, required: true}}
    output: {labels: [billing, technical]}
    decision:
      threshold: 0.7
      below_threshold: fallback
      fallback: tickets@1
      rules: "tests.services.serving.models:rules"
"""
FAILURES = "liveops_fallback_chain_failures_total"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """tickets@1 (a model that always raises) is the fallback of tickets@2 (production)."""
    project = tmp_path / "proj"
    store = apply(project, PROJECT)
    for name in ("broken", "good"):
        ep = f"tests.services.serving.models:{name}"
        register_version(store, "tickets", actor="tester", entrypoint=ep)
    set_alias(store, "tickets", "production", "2", actor="tester")
    store.close()
    return project


def test_a_failing_fallback_version_behind_the_decision_is_counted_and_logged(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="liveops.gateway")

    async def body(gw: Gateway) -> None:
        for _ in range(3):  # below the threshold: the decision asks tickets@1, which raises
            answer = await ask(gw, "tickets", {"text": "unsure"})
            assert answer["decision"] == "human_review"
            assert answer["reason"].startswith("fallback_no_answer;below_threshold:0.55")
        labels = {"service": "tickets", "version": "2", "step": "fallback_version"}
        assert metric(gw, FAILURES, **labels, reason="model_error") == 3.0

    with_gateway(project, body)
    said = [r.getMessage() for r in caplog.records if "fallback version" in r.getMessage()]
    assert len(said) == 1, said  # logged once, with the reason, for three failures
    assert "tickets@1" in said[0]
    assert "model_error:RuntimeError" in said[0]
    assert "the fallback model is broken" in said[0]


def test_a_model_error_goes_down_the_chain_and_each_failed_step_is_counted(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="liveops.gateway")

    async def body(gw: Gateway) -> None:
        # "boom": tickets@2 raises, tickets@1 raises too, then the rules answer
        answer = await ask(gw, "tickets", {"text": "boom refund"})
        assert answer["decision"] == "fallback"
        assert answer["fallback"] == "rules"
        assert (
            answer["reason"] == "model_error:RuntimeError;fallback_failed:tickets@1;fallback:rules"
        )
        # and with no rule for the text, the rules' "no answer" holds it for review
        answer = await ask(gw, "tickets", {"text": "boom hello"})
        assert answer["decision"] == "human_review"
        assert answer["label"] is None
        model = {"service": "tickets", "version": "2", "step": "model"}
        assert metric(gw, FAILURES, **model, reason="model_error") == 2.0
        fallback = {"service": "tickets", "version": "2", "step": "fallback_version"}
        assert metric(gw, FAILURES, **fallback, reason="model_error") == 2.0
        rules = {"service": "tickets", "version": "2", "step": "rules"}
        assert metric(gw, FAILURES, **rules, reason="fallback_no_answer") == 1.0

    with_gateway(project, body)
    steps = [r.getMessage() for r in caplog.records if "could not answer" in r.getMessage()]
    assert len(steps) == 3, steps  # model, fallback version, rules: each once
