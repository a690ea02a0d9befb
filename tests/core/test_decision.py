from __future__ import annotations

import doctest
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from liveops.core.model import BatchOutput
from liveops.core.serving import decision
from liveops.core.serving.decision import DecidedBatch, DecisionSettings, decide
from liveops.errors import InvalidInputError, ModelError

CLASSES = ("billing", "technical", "general")


def output(*rows: tuple[str, float]) -> BatchOutput:
    """A batch whose record i has label rows[i][0] with confidence rows[i][1]."""
    scores = np.zeros((len(rows), len(CLASSES)))
    for i, (label, conf) in enumerate(rows):
        scores[i] = (1 - conf) / (len(CLASSES) - 1)
        scores[i, CLASSES.index(label)] = conf
    return BatchOutput(labels=[r[0] for r in rows], classes=CLASSES, scores=scores)


def texts(*values: str) -> list[dict[str, Any]]:
    return [{"text": v, "channel": "email"} for v in values]


def settings(**kw: Any) -> DecisionSettings:
    return DecisionSettings.from_config(kw)


def keyword_rules(record: Mapping[str, Any]) -> str | None:
    text = str(record.get("text", "")).lower()
    return "billing" if "refund" in text else None


# --- thresholds


def test_without_threshold_everything_is_automatic() -> None:
    out = output(("billing", 0.2), ("general", 0.9))
    d = decide(texts("a", "b"), out, DecisionSettings())
    assert d.decisions == ["automatic", "automatic"]
    assert d.labels == ["billing", "general"]
    assert d.reasons == [None, None]
    assert d.fallback_used == [False, False]
    assert d.needs_fallback_version == []


def test_threshold_boundary_is_automatic_and_below_goes_to_review() -> None:
    out = output(("billing", 0.7), ("general", 0.69), ("technical", 0.95))
    d = decide(texts("a", "b", "c"), out, settings(threshold=0.7))
    assert d.decisions == ["automatic", "human_review", "automatic"]
    assert d.labels == ["billing", None, "technical"]
    assert d.model_labels == ["billing", "general", "technical"]
    assert d.reasons == [None, "below_threshold:0.69", None]
    assert d.counts() == {"automatic": 2, "human_review": 1, "fallback": 0, "abstain": 0}


def test_reason_never_shows_a_confidence_at_the_threshold() -> None:
    out = output(("billing", 0.69996))
    d = decide(texts("a"), out, settings(threshold=0.7))
    assert d.reasons == ["below_threshold:0.6999"]


def test_nan_confidence_counts_as_below_threshold() -> None:
    out = BatchOutput(labels=["billing"], classes=CLASSES, scores=np.array([[np.nan, 0, 0]]))
    d = decide(texts("a"), out, settings(threshold=0.5))
    assert d.decisions == ["human_review"]
    assert d.reasons == ["below_threshold:nan"]


def test_model_without_scores_is_never_stopped_by_threshold() -> None:
    out = BatchOutput(labels=["billing", "general"])
    d = decide(texts("a", "b"), out, settings(threshold=0.99))
    assert d.decisions == ["automatic", "automatic"]


def test_abstain_leaves_no_answer() -> None:
    out = output(("billing", 0.4))
    d = decide(texts("a"), out, settings(threshold=0.5, below_threshold="abstain"))
    assert d.decisions == ["abstain"]
    assert d.labels == [None]
    assert d.model_labels == ["billing"]


# --- sensitive input


def test_sensitive_input_takes_precedence_over_threshold() -> None:
    out = output(("billing", 0.99), ("billing", 0.1), ("general", 0.99))
    records = texts("card 4111 1111 1111 1111", "mail me: ana@example.com", "order 88213")
    s = settings(threshold=0.5, below_threshold="abstain", sensitive_input="human_review")
    d = decide(records, out, s)
    assert d.decisions == ["human_review", "human_review", "automatic"]
    assert d.reasons == ["sensitive_input:card", "sensitive_input:email", None]
    assert d.labels == [None, None, "general"]


def test_sensitive_kinds_are_listed_sorted_across_text_fields() -> None:
    records = [{"text": "call +34 612 345 678", "subject": "ana@example.com", "n": 4111}]
    out = output(("billing", 0.9))
    s = settings(sensitive_input="abstain")
    assert decide(records, out, s).decisions == ["abstain"]
    assert decide(records, out, s).reasons == ["sensitive_input:phone"]
    d = decide(records, out, s, text_fields=("text", "subject", "n", "missing"))
    assert d.reasons == ["sensitive_input:email,phone"]


def test_allow_ignores_sensitive_input() -> None:
    out = output(("billing", 0.9))
    d = decide(texts("card 4111 1111 1111 1111"), out, settings(sensitive_input="allow"))
    assert d.decisions == ["automatic"]


# --- fallbacks


def test_rules_fallback_answers_below_threshold() -> None:
    out = output(("general", 0.3), ("general", 0.3), ("technical", 0.9))
    s = settings(threshold=0.5, below_threshold="fallback", fallback="rules", rules="m:route")
    d = decide(texts("I want a refund", "hello?", "crash"), out, s, rules=keyword_rules)
    assert d.decisions == ["fallback", "human_review", "automatic"]
    assert d.labels == ["billing", None, "technical"]
    assert d.fallback_used == [True, False, False]
    assert d.reasons == [
        "below_threshold:0.3;fallback:rules",
        "fallback_no_answer;below_threshold:0.3",
        None,
    ]


def test_rules_fallback_for_sensitive_input() -> None:
    out = output(("general", 0.99))
    s = settings(sensitive_input="fallback", fallback="rules", rules="m:route")
    d = decide(texts("refund to ES91 2100 0418 4502 0005 1332"), out, s, rules=keyword_rules)
    assert (d.decisions, d.labels) == (["fallback"], ["billing"])
    assert d.reasons == ["sensitive_input:iban;fallback:rules"]


def test_rules_are_only_called_when_needed() -> None:
    calls: list[Mapping[str, Any]] = []

    def rules(record: Mapping[str, Any]) -> str | None:
        calls.append(record)
        return "general"

    out = output(("billing", 0.9), ("billing", 0.1))
    s = settings(threshold=0.5, below_threshold="fallback", fallback="rules", rules="m:f")
    decide(texts("a", "b"), out, s, rules=rules)
    assert [r["text"] for r in calls] == ["b"]


def test_failing_rules_send_the_record_to_review_not_the_batch_to_ruin() -> None:
    def broken(record: Mapping[str, Any]) -> str | None:
        raise KeyError("subject")

    def wrong_type(record: Mapping[str, Any]) -> Any:
        return 3

    out = output(("billing", 0.1))
    s = settings(threshold=0.5, below_threshold="fallback", fallback="rules", rules="m:f")
    d = decide(texts("a"), out, s, rules=broken)
    assert (d.decisions, d.labels, d.fallback_used) == (["human_review"], [None], [False])
    assert d.reasons == ["fallback_error:KeyError;below_threshold:0.1"]
    d = decide(texts("a"), out, s, rules=wrong_type)
    assert d.reasons == ["fallback_error:returned int;below_threshold:0.1"]


def test_rules_fallback_without_a_rules_function_is_refused() -> None:
    s = settings(threshold=0.5, below_threshold="fallback", fallback="rules", rules="m:f")
    with pytest.raises(InvalidInputError, match="no rules function"):
        decide(texts("a"), output(("billing", 0.9)), s)


def test_version_fallback_is_marked_for_the_caller() -> None:
    out = output(("billing", 0.9), ("general", 0.2), ("general", 0.3))
    s = settings(threshold=0.5, below_threshold="fallback", fallback="support-router@1")
    d = decide(texts("a", "b", "c"), out, s)
    assert d.decisions == ["automatic", "fallback", "fallback"]
    assert d.labels == ["billing", None, None]
    assert d.fallback_used == [False, True, True]
    assert d.needs_fallback_version == [1, 2]
    assert d.fallback_target == "support-router@1"
    assert d.reasons[1] == "below_threshold:0.2;fallback:support-router@1"

    resolved = d.resolve_fallback(["technical", None])
    assert resolved.labels == ["billing", "technical", None]
    assert resolved.decisions == ["automatic", "fallback", "human_review"]
    assert resolved.fallback_used == [False, True, False]
    assert resolved.reasons[2] == "fallback_no_answer;below_threshold:0.3;fallback:support-router@1"
    assert resolved.needs_fallback_version == []
    assert d.labels == ["billing", None, None]  # the original is unchanged

    with pytest.raises(ModelError, match="answered 1 labels for 2 records"):
        d.resolve_fallback(["technical"])


def test_mismatched_output_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="answered 1 labels for 2 records"):
        decide(texts("a", "b"), output(("billing", 0.9)), DecisionSettings())


def test_empty_batch() -> None:
    out = BatchOutput(labels=[], classes=CLASSES, scores=np.zeros((0, 3)))
    d = decide([], out, settings(threshold=0.5, sensitive_input="abstain"))
    assert isinstance(d, DecidedBatch)
    assert len(d) == 0


# --- settings


def test_settings_round_trip_and_show_every_key() -> None:
    s = settings(
        threshold=0.7,
        below_threshold="fallback",
        fallback="rules",
        rules="liveops.demo.rules:route",
        timeout_ms=200,
        sensitive_input="human_review",
    )
    config = s.to_config()
    assert list(config) == [
        "threshold",
        "below_threshold",
        "fallback",
        "rules",
        "timeout_ms",
        "sensitive_input",
    ]
    assert DecisionSettings.from_config(config) == s
    assert DecisionSettings().to_config() == {
        "threshold": None,
        "below_threshold": "human_review",
        "fallback": None,
        "rules": None,
        "timeout_ms": None,
        "sensitive_input": "allow",
    }
    assert DecisionSettings.from_config(DecisionSettings().to_config()) == DecisionSettings()
    assert DecisionSettings.from_config(None) == DecisionSettings()


def test_integer_threshold_is_stored_as_float() -> None:
    assert settings(threshold=1).to_config()["threshold"] == 1.0
    assert isinstance(settings(threshold=1).threshold, float)


def test_the_shipped_example_block_is_valid() -> None:
    s = settings(
        threshold=0.70,
        below_threshold="human_review",
        fallback="rules",
        rules="liveops.demo.rules:route",
        timeout_ms=200,
        sensitive_input="human_review",
    )
    assert s.fallback_version is None
    assert settings(fallback="support-router@1").fallback_version == "support-router@1"
    with pytest.raises(InvalidInputError, match="numbered version"):
        settings(fallback="support-router@production")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"treshold": 0.7}, "unknown decision setting 'treshold' (allowed: below_threshold,"),
        ({"threshold": 1.5}, "threshold=1.5 is invalid: expected a number from 0 to 1"),
        ({"threshold": -0.1}, "threshold=-0.1 is invalid"),
        ({"threshold": "high"}, "threshold='high' is invalid"),
        ({"threshold": True}, "threshold=True is invalid"),
        ({"below_threshold": "escalate"}, "below_threshold='escalate' is invalid: expected one of"),
        ({"below_threshold": "allow"}, "below_threshold='allow' is invalid"),
        ({"sensitive_input": "redact"}, "sensitive_input='redact' is invalid"),
        ({"timeout_ms": 0}, "timeout_ms=0 is invalid"),
        ({"timeout_ms": -5}, "timeout_ms=-5 is invalid"),
        ({"timeout_ms": 1.5}, "timeout_ms=1.5 is invalid"),
        ({"fallback": "support router"}, "fallback='support router' is invalid"),
        ({"fallback": "rules"}, "fallback is 'rules' but no rules entry point is set"),
        ({"rules": "liveops.demo.rules"}, "rules='liveops.demo.rules' is invalid"),
        ({"below_threshold": "fallback"}, "a decision action is 'fallback' but no fallback"),
        ({"sensitive_input": "fallback"}, "a decision action is 'fallback' but no fallback"),
    ],
)
def test_invalid_settings_say_what_is_wrong(config: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        DecisionSettings.from_config(config)
    assert message in info.value.message
    assert info.value.status == 422


def test_unknown_key_suggests_the_closest() -> None:
    with pytest.raises(InvalidInputError) as info:
        DecisionSettings.from_config({"sensitive": "abstain"})
    assert info.value.hint == "did you mean 'sensitive_input'?"
    assert "timeout_ms" in info.value.message


def test_settings_must_be_a_mapping() -> None:
    with pytest.raises(InvalidInputError, match="must be a mapping"):
        DecisionSettings.from_config([("threshold", 0.5)])  # type: ignore[arg-type]


def test_docstring_examples() -> None:
    assert doctest.testmod(decision, raise_on_error=False).failed == 0


# --- sensitive kinds found by the caller (bulk scoring scans a column once)


def test_kinds_found_by_the_caller_give_the_same_decisions() -> None:
    """On the labelled set (every kind, hard negatives, texts missing or not text), deciding
    with the kinds of one column scan equals deciding with the per-record scan."""
    from liveops.core.sensitive import find_sensitive, find_sensitive_column
    from liveops.core.serving.decision import sensitive_kinds
    from tests.core.sensitive_cases import CASES

    values: list[Any] = [c.text for c in CASES] + [None, 4111111111111111]
    records = [{"text": v} if v is not None else {} for v in values]
    found = find_sensitive_column(values)
    assert found == {
        i: find_sensitive(v)
        for i, v in enumerate(values)
        if isinstance(v, str) and find_sensitive(v)
    }
    confidences = [0.95 if i % 3 else 0.4 for i in range(len(records))]
    out = output(*(("billing", c) for c in confidences))
    for action in ("human_review", "fallback", "allow"):
        s = settings(threshold=0.7, sensitive_input=action, fallback="rules", rules="m:f")
        alone = decide(records, out, s, rules=keyword_rules)
        given = decide(records, out, s, rules=keyword_rules, sensitive=sensitive_kinds([found]))
        assert given == alone
        if action == "human_review":  # the set holds sensitive input: the rule was exercised
            held = [r for r in alone.reasons if r and r.startswith("sensitive_input:")]
            assert len(held) >= len(found) // 2
