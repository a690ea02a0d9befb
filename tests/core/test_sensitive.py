from __future__ import annotations

import doctest
import itertools
import re
import time

import pytest

from liveops.core import sensitive
from liveops.core.sensitive import Finding, find_sensitive, has_sensitive, iban_ok, luhn_ok, redact
from tests.core.sensitive_cases import CASES, spans


def found(text: str) -> list[tuple[str, str]]:
    return [(f.kind, text[f.start : f.end]) for f in find_sensitive(text)]


# --- e-mail


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("write to ana.garcia@example.com today", "ana.garcia@example.com"),
        ("billing+eu@acme-corp.co.uk", "billing+eu@acme-corp.co.uk"),
        ("Soy josé.pérez@dominio.es.", "josé.pérez@dominio.es"),
        ("<JOHN@EXAMPLE.ORG>", "JOHN@EXAMPLE.ORG"),
    ],
)
def test_finds_email(text: str, value: str) -> None:
    assert found(text) == [("email", value)]


@pytest.mark.parametrize(
    "text", ["@support the app is down", "ana at example dot com", "a@b.c", "user@localhost"]
)
def test_ignores_what_is_not_an_email(text: str) -> None:
    assert found(text) == []


# --- phone


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("call +34 612 345 678 please", "+34 612 345 678"),
        ("my number is +1 (415) 555-0100.", "+1 (415) 555-0100"),
        ("office +44 20 7946 0958", "+44 20 7946 0958"),
        ("+44 (0)20 7946 0321 ext 4", "+44 (0)20 7946 0321"),
        ("(+34) 612 345 678", "(+34) 612 345 678"),
        ("0034 612 345 679", "0034 612 345 679"),
        ("415-555-0100", "415-555-0100"),
        ("(415) 555 0100", "(415) 555 0100"),
        ("612 34 56 78", "612 34 56 78"),
        ("0612345678", "0612345678"),
        ("06 12 34 56 78", "06 12 34 56 78"),
        ("020 7946 0958", "020 7946 0958"),
        ("reach me at 555-0134", "555-0134"),
        ("phone number 4155550123", "4155550123"),
    ],
)
def test_finds_phone(text: str, value: str) -> None:
    assert found(text) == [("phone", value)]


def test_international_number_ends_where_the_writer_left_a_gap() -> None:
    assert found("+34 612 345 678 2 times") == [("phone", "+34 612 345 678")]
    assert found("+34 612 345 678 2024-03-15") == [("phone", "+34 612 345 678")]


@pytest.mark.parametrize(
    "text",
    [
        "order #A-12345",
        "order 88213",
        "order number 1234567890",
        "Pedido 612345678 no ha llegado",
        "2024-03-15",
        "15/03/2024",
        "I called on 2024-03-15",
        "v2.3.1 on 10.0.19045",
        "$1,299.99",
        "49,99 €",
        "612 345 678 €",
        "at 10:30 or 17:45",
        "IP 192.168.100.200",
        "SKU 100-200-3000",
        "the code 123456",
        "phone 12345",
    ],
)
def test_ignores_what_is_not_a_phone(text: str) -> None:
    assert found(text) == []


# --- card


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("card 4111 1111 1111 1111 charged", "4111 1111 1111 1111"),
        ("4242424242424242", "4242424242424242"),
        ("5555-5555-5555-4444 exp 12/26", "5555-5555-5555-4444"),
        ("amex 3782 822463 10005", "3782 822463 10005"),
        ("diners 3056 9309 0259 04", "3056 9309 0259 04"),
        ("19 digits 4917 6100 0000 0000 003", "4917 6100 0000 0000 003"),
        ("card:4111111111111111.", "4111111111111111"),
        ("card 4111  1111  1111  1111 charged", "4111  1111  1111  1111"),  # double spaces
        ("4111  1111-1111 1111", "4111  1111-1111 1111"),
    ],
)
def test_finds_card_passing_luhn(text: str, value: str) -> None:
    assert found(text) == [("card", value)]


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112",  # fails Luhn
        "4111  1111  1111  1112",  # fails Luhn, double spaces
        "4111   1111   1111   1111",  # three spaces: separate numbers
        "1234 5678 9012 3456",  # fails Luhn
        "4111 1111 1111",  # too short
        "0000 0000 0000 0000",  # passes Luhn, but no issuer starts with 0
        "41111111111111111111111",  # too long, no group boundary to cut at
        "4111111111111111abc",  # glued to a word
        "IMEI 490154203237518",  # passes Luhn, named as a device id
        "06 12 34 56 78 06 98 76 54 32",  # two phones in pairs
    ],
)
def test_ignores_what_is_not_a_card(text: str) -> None:
    assert "card" not in {kind for kind, _ in found(text)}


# --- IBAN


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("IBAN DE89 3704 0044 0532 0130 00 thanks", "DE89 3704 0044 0532 0130 00"),
        ("ES9121000418450200051332", "ES9121000418450200051332"),
        ("gb29 nwbk 6016 1331 9268 19", "gb29 nwbk 6016 1331 9268 19"),
        ("FR14 2004 1010 0505 0001 3M02 606.", "FR14 2004 1010 0505 0001 3M02 606"),
        ("NO93 8601 1117 947 OK", "NO93 8601 1117 947"),
        ("ES91-2100-0418-4502-0005-1332", "ES91-2100-0418-4502-0005-1332"),
    ],
)
def test_finds_iban(text: str, value: str) -> None:
    assert found(text) == [("iban", value)]


@pytest.mark.parametrize(
    "text",
    [
        "DE89 3704 0044 0532 0130 01",  # checksum
        "DE89 3704 0044 0532 0130 0",  # length
        "XX89 3704 0044 0532 0130 00",  # country
        "DE89370400440532013000123",  # glued to more characters
    ],
)
def test_ignores_what_is_not_an_iban(text: str) -> None:
    assert found(text) == []  # nor are its digit groups taken for a card or a phone


def test_checksums() -> None:
    assert luhn_ok("4111-1111-1111-1111")
    assert not luhn_ok("4111 1111 1111 1112")
    assert not luhn_ok("")
    assert not luhn_ok("4111a")
    assert iban_ok("nl91 abna 0417 1643 00")
    assert not iban_ok("NL91 ABNA 0417 1643 01")
    assert not iban_ok("NL")
    assert not iban_ok("NLAB ABNA 0417 1643 00")


# --- API


def test_findings_are_sorted_and_do_not_overlap() -> None:
    text = "ana@example.com +34 612 345 678 ES91 2100 0418 4502 0005 1332, 4111 1111 1111 1111"
    findings = find_sensitive(text)
    assert [f.kind for f in findings] == ["email", "phone", "iban", "card"]
    assert all(a.end <= b.start for a, b in itertools.pairwise(findings))


def test_digits_in_an_email_are_part_of_the_email() -> None:
    assert found("0612345678@sms.example.com") == [("email", "0612345678@sms.example.com")]


def test_extra_patterns_add_kinds_and_lose_overlaps_to_builtins() -> None:
    extra = {"customer": re.compile(r"CU-\d+"), "anything": re.compile(r"ana@\w+")}
    text = "CU-00042 wrote from ana@example.com"
    assert find_sensitive(text, extra_patterns=extra) == [
        Finding("customer", 0, 8),
        Finding("email", 20, 35),
    ]
    assert find_sensitive("no digits here", extra_patterns={"x": re.compile("here")}) == [
        Finding("x", 10, 14)
    ]


def test_redact() -> None:
    text = "Card 4111 1111 1111 1111, mail ana@example.com, order 88213"
    assert redact(text) == "Card [CARD], mail [EMAIL], order 88213"
    assert redact(text, mask=lambda f: "#" * (f.end - f.start)).startswith("Card " + "#" * 19)
    assert redact("CU-7 here", extra_patterns={"customer": re.compile(r"CU-\d")}) == (
        "[CUSTOMER] here"
    )
    assert redact("nothing to hide") == "nothing to hide"


def test_has_sensitive_agrees_with_find_sensitive() -> None:
    for case in CASES:
        assert has_sensitive(case.text) == bool(find_sensitive(case.text)), case.text


def test_docstring_examples() -> None:
    assert doctest.testmod(sensitive, raise_on_error=False).failed == 0


@pytest.mark.parametrize(
    "text",
    [
        "1" * 5000,
        "a" * 4999 + "@",
        " ".join(["1234"] * 1000),
        "+1" + "2" * 4998 + "x",
        "a@" + "b." * 2499,
        "call " + "1-" * 2500,
        "+1 (2) " * 700,
    ],
)
def test_adversarial_input_does_not_hang(text: str) -> None:
    # A hang guard, not a speed test: linear scans take milliseconds, catastrophic
    # backtracking on these inputs takes minutes.
    start = time.perf_counter()
    find_sensitive(text)
    assert time.perf_counter() - start < 20.0


# --- the labelled set


def test_labelled_set_is_large_and_well_formed() -> None:
    assert len(CASES) >= 150
    positives = sum(1 for c in CASES if c.expected)
    assert 60 <= positives <= len(CASES) - 60  # both sides well represented
    for case in CASES:
        spans(case)  # every expected value occurs exactly once


def test_precision_and_recall_on_labelled_set() -> None:
    tp = fp = fn = 0
    per_kind: dict[str, list[int]] = {k: [0, 0, 0] for k in sensitive.KINDS}
    mistakes = []
    for case in CASES:
        expected = spans(case)
        got = {(f.kind, f.start, f.end) for f in find_sensitive(case.text)}
        tp, fp, fn = tp + len(expected & got), fp + len(got - expected), fn + len(expected - got)
        for kind, *_ in expected & got:
            per_kind[kind][0] += 1
        for kind, *_ in got - expected:
            per_kind[kind][1] += 1
        for kind, *_ in expected - got:
            per_kind[kind][2] += 1
        if expected != got:
            mistakes.append(case.text)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(
        f"\nsensitive detectors on {len(CASES)} messages ({tp + fn} labelled values, exact spans):"
        f" precision {precision:.3f}, recall {recall:.3f}"
    )
    for kind, (k_tp, k_fp, k_fn) in per_kind.items():
        print(f"  {kind:5}  tp {k_tp:3}  fp {k_fp}  fn {k_fn}")
    for text in mistakes:
        print(f"  mismatch: {text!r}")
    assert precision >= 0.95
    assert recall >= 0.95
