"""Robustness perturbations: each family is a realistic, label-preserving change."""

from __future__ import annotations

import doctest
import random
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liveops.core.evaluation import perturb as perturb_module
from liveops.core.evaluation.perturb import FAMILIES, TEXT_FAMILIES, perturb, perturb_all
from liveops.errors import UsageError

SUITE_FAMILIES = (
    "typos",
    "casing",
    "punctuation",
    "whitespace",
    "truncation",
    "long_input",
    "emoji",
    "mixed_language",
    "drop_optional",
    "numeric_noise",
    "missing_value",
    "out_of_range",
    "unit_mistake",
    "unseen_category",
)

RECORD: dict[str, Any] = {
    "text": "Hello, I was charged twice for my pro subscription this month and I need a refund.",
    "channel": "email",
    "plan": "pro",
    "language": "en",
    "tags": ["angry"],
    "label": "billing",
}
RECORDS = [
    RECORD,
    {**RECORD, "text": "la aplicación se cierra cada vez que intento subir un archivo"},
    {**RECORD, "text": "app crashing"},
    {**RECORD, "text": "¿Cuál es su horario de atención? Gracias."},
]


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def test_the_suite_families_exist() -> None:
    assert FAMILIES == SUITE_FAMILIES


def test_unknown_family_is_a_usage_error_that_lists_the_valid_ones() -> None:
    with pytest.raises(UsageError) as info:
        perturb(RECORD, "sarcasm", random.Random(0))
    for family in FAMILIES:
        assert family in info.value.message
    with pytest.raises(UsageError):
        perturb_all([RECORD], ["typos", "sarcasm"], seed=7)


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_keeps_the_label_and_leaves_the_input_alone(family: str) -> None:
    before = {**RECORD, "tags": list(RECORD["tags"])}
    out = perturb(RECORD, family, random.Random(1), optional_fields=["channel", "plan"])
    assert before == RECORD
    assert out is not RECORD
    if "tags" in out:
        assert out["tags"] is not RECORD["tags"]
    assert out["label"] == "billing"
    assert isinstance(out["text"], str)
    assert out["text"].strip()


@pytest.mark.parametrize("family", TEXT_FAMILIES)
def test_text_families_change_only_the_text(family: str) -> None:
    out = perturb(RECORD, family, random.Random(2))
    assert {k: v for k, v in out.items() if k != "text"} == {
        k: v for k, v in RECORD.items() if k != "text"
    }


def test_typos_misspell_about_one_word_in_ten_and_keep_the_rest() -> None:
    rng = random.Random(3)
    for rec in RECORDS:
        original = rec["text"].split()
        changed = perturb(rec, "typos", rng)["text"].split()
        assert len(changed) == len(original)
        diff = sum(a != b for a, b in zip(original, changed, strict=True))
        assert 1 <= diff <= max(1, round(len(original) * 0.1)) + 1
        for a, b in zip(original, changed, strict=True):
            if a != b:
                assert a[0] == b[0]
                assert abs(len(a) - len(b)) <= 1


def test_casing_changes_only_case() -> None:
    seen = set()
    for seed in range(12):
        text = perturb(RECORD, "casing", random.Random(seed))["text"]
        assert text.lower() == RECORD["text"].lower()
        seen.add(text)
    assert len(seen) >= 3  # upper, lower and random casing all occur


def test_punctuation_and_whitespace_keep_the_words() -> None:
    for seed in range(10):
        for rec in RECORDS:
            punct = perturb(rec, "punctuation", random.Random(seed))["text"]
            assert words(punct) == words(rec["text"])
            spaced = perturb(rec, "whitespace", random.Random(seed))["text"]
            assert spaced.split() == rec["text"].split()


def test_truncation_keeps_the_first_seventy_percent_and_at_least_three_words() -> None:
    original = RECORD["text"].split()
    cut = perturb(RECORD, "truncation", random.Random(0))["text"].split()
    assert cut == original[: len(cut)]
    assert 0.6 * len(original) <= len(cut) <= 0.8 * len(original)
    assert perturb({"text": "app crashing"}, "truncation", random.Random(0))["text"] == (
        "app crashing"
    )
    four = perturb({"text": "please cancel my plan"}, "truncation", random.Random(0))["text"]
    assert len(four.split()) >= 3


def test_long_input_pads_with_neutral_text_to_several_times_the_length() -> None:
    for rec in RECORDS:
        out = perturb(rec, "long_input", random.Random(4))["text"]
        assert rec["text"].rstrip(".") in out
        assert len(out) >= 3 * len(rec["text"])
        # None of the padding names a team's topic.
        added = set(words(out)) - set(words(rec["text"]))
        assert not added & {"charge", "refund", "cancel", "error", "crash", "invoice", "app"}


def test_emoji_and_mixed_language_only_insert_neutral_words() -> None:
    for seed in range(10):
        for rec in RECORDS:
            emoji = perturb(rec, "emoji", random.Random(seed))["text"]
            assert words(emoji) == words(rec["text"])
            assert emoji != rec["text"]
            mixed = perturb(rec, "mixed_language", random.Random(seed))["text"]
            extra = words(mixed)
            for w in words(rec["text"]):  # the original words, in order
                extra.remove(w)
            assert extra
            assert set(extra) <= {
                "hola",
                "gracias",
                "por",
                "favor",
                "bueno",
                "vale",
                "pues",
                "thanks",
                "please",
                "hello",
                "ok",
            }


def test_drop_optional_removes_the_named_fields_but_never_the_text() -> None:
    out = perturb(
        RECORD, "drop_optional", random.Random(0), optional_fields=["channel", "plan", "text"]
    )
    assert "channel" not in out
    assert "plan" not in out
    assert out["text"] == RECORD["text"]
    assert out["language"] == "en"
    assert out["label"] == "billing"


def test_a_record_without_text_is_copied_not_crashed_on() -> None:
    for family in FAMILIES:
        assert perturb({"text": None, "label": "x"}, family, random.Random(0)) == {
            "text": None,
            "label": "x",
        }
        assert perturb({"label": "x"}, family, random.Random(0)) == {"label": "x"}


def test_a_custom_text_field_is_perturbed() -> None:
    out = perturb(
        {"message": "hello there", "text": "keep"}, "casing", random.Random(0), text_field="message"
    )
    assert out["text"] == "keep"
    assert out["message"].lower() == "hello there"


def test_perturb_all_is_deterministic_and_each_family_stands_alone() -> None:
    first = perturb_all(RECORDS, FAMILIES, seed=7, optional_fields=["channel"])
    assert first == perturb_all(RECORDS, FAMILIES, seed=7, optional_fields=["channel"])
    assert list(first) == list(FAMILIES)
    assert all(len(copies) == len(RECORDS) for copies in first.values())
    assert perturb_all(RECORDS, ["emoji"], seed=7)["emoji"] == first["emoji"]
    other = perturb_all(RECORDS, FAMILIES, seed=8, optional_fields=["channel"])
    assert other["typos"] != first["typos"]


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=200), family=st.sampled_from(FAMILIES), seed=st.integers(0, 99))
def test_any_text_is_handled_and_keeps_its_words_where_promised(
    text: str, family: str, seed: int
) -> None:
    out = perturb({"text": text, "label": "general"}, family, random.Random(seed))
    assert isinstance(out["text"], str)
    assert out["label"] == "general"
    if family == "whitespace":
        assert out["text"].split() == text.split()


def test_the_docstring_examples_run() -> None:
    result = doctest.testmod(perturb_module)
    assert result.attempted > 0
    assert result.failed == 0
