"""Sensitive-input detectors: e-mail addresses, phone numbers, payment cards and IBANs.

Pure functions over one string. The decision layer sends a message that carries any of these to
the service's ``sensitive_input`` action; the prediction log redacts them with :func:`redact`.

>>> find_sensitive("Card 4111 1111 1111 1111, mail ana@example.com")
[Finding(kind='card', start=5, end=24), Finding(kind='email', start=31, end=46)]
>>> redact("Call me on +34 612 345 678 about order 88213")
'Call me on [PHONE] about order 88213'
>>> has_sensitive("Invoice of 2024-03-15: $1,299.99, order #A-12345, app v2.3.1")
False

What counts:

* **email**: ``local@domain.tld``; obfuscated forms (``ana at example dot com``) are not found.
* **card**: 13-19 digits, plain or in groups split by one or two spaces or a dash (groups of 3+
  digits; only the last may be shorter), not starting with 0, not named as an IMEI or ICCID,
  and passing the Luhn check. Failing Luhn, it is an order number or a typo.
* **iban**: a known country code, the country's exact length and the mod-97 checksum, plain or
  grouped by spaces (or dashes), in either case.
* **phone**: numbers starting with ``+`` or ``00`` (8-15 digits, E.164), and the common national
  layouts: North American ``(415) 555-0100``, trunk-0 European ``06 12 34 56 78``,
  ``020 7946 0958``, ``030 12345678``, Spanish ``612 345 678``. Shorter or unusual layouts
  (``555-0134``, ``4155550123``) count only right after a word such as *call*, *phone*, *tel*
  or *móvil*. A number right after *order*, *invoice*, *ticket*, *ref*, ``#`` ... is never a
  phone, nor one next to a currency, nor a date.

Overlaps are resolved by kind (email, iban, card, phone, then custom patterns), then length.
"""

from __future__ import annotations

import functools
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate, islice, repeat
from operator import add
from typing import Any

__all__ = [
    "KINDS",
    "Finding",
    "candidate_rows",
    "default_mask",
    "find_sensitive",
    "find_sensitive_column",
    "has_sensitive",
    "iban_ok",
    "luhn_ok",
    "masked",
    "redact",
]

KINDS = ("email", "phone", "card", "iban")
# Lower wins an overlap: an e-mail may hold digits, an IBAN holds digit groups that look like a
# card or a phone, and a card is more precise (checksummed) than a phone.
_PRIORITY = {"email": 0, "iban": 1, "card": 2, "phone": 3}
_CUSTOM_PRIORITY = len(_PRIORITY)


@dataclass(frozen=True)
class Finding:
    """One sensitive value in a text: its kind and its span ``text[start:end]``."""

    kind: str
    start: int
    end: int


# --- checksums ------------------------------------------------------------------------------


def luhn_ok(digits: str) -> bool:
    """True when ``digits`` (spaces and dashes allowed) pass the Luhn check used by card numbers.

    >>> luhn_ok("4111 1111 1111 1111"), luhn_ok("4111 1111 1111 1112"), luhn_ok("")
    (True, False, False)
    """
    compact = digits.replace(" ", "").replace("-", "")
    if not compact or not compact.isdecimal():
        return False
    total = 0
    for i, ch in enumerate(reversed(compact)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# Lengths from the SWIFT IBAN registry (release 98), plus RU which banks use in practice.
_IBAN_LENGTHS = {
    "AD": 24,
    "AE": 23,
    "AL": 28,
    "AT": 20,
    "AZ": 28,
    "BA": 20,
    "BE": 16,
    "BG": 22,
    "BH": 22,
    "BI": 27,
    "BR": 29,
    "BY": 28,
    "CH": 21,
    "CR": 22,
    "CY": 28,
    "CZ": 24,
    "DE": 22,
    "DJ": 27,
    "DK": 18,
    "DO": 28,
    "EE": 20,
    "EG": 29,
    "ES": 24,
    "FI": 18,
    "FK": 18,
    "FO": 18,
    "FR": 27,
    "GB": 22,
    "GE": 22,
    "GI": 23,
    "GL": 18,
    "GR": 27,
    "GT": 28,
    "HN": 28,
    "HR": 21,
    "HU": 28,
    "IE": 22,
    "IL": 23,
    "IQ": 23,
    "IS": 26,
    "IT": 27,
    "JO": 30,
    "KW": 30,
    "KZ": 20,
    "LB": 28,
    "LC": 32,
    "LI": 21,
    "LT": 20,
    "LU": 20,
    "LV": 21,
    "LY": 25,
    "MC": 27,
    "MD": 24,
    "ME": 22,
    "MK": 19,
    "MN": 20,
    "MR": 27,
    "MT": 31,
    "MU": 30,
    "NI": 28,
    "NL": 18,
    "NO": 15,
    "OM": 23,
    "PK": 24,
    "PL": 28,
    "PS": 29,
    "PT": 25,
    "QA": 29,
    "RO": 24,
    "RS": 22,
    "RU": 33,
    "SA": 24,
    "SC": 31,
    "SD": 18,
    "SE": 24,
    "SI": 19,
    "SK": 24,
    "SM": 27,
    "SO": 23,
    "ST": 25,
    "SV": 28,
    "TL": 23,
    "TN": 24,
    "TR": 26,
    "UA": 29,
    "VA": 22,
    "VG": 24,
    "XK": 20,
    "YE": 30,
}
_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def iban_ok(s: str) -> bool:
    """True when ``s`` (spaces or dashes allowed, any case) is an IBAN: country, length, mod 97.

    >>> iban_ok("DE89 3704 0044 0532 0130 00"), iban_ok("DE89 3704 0044 0532 0130 01")
    (True, False)
    """
    compact = s.replace(" ", "").replace("-", "").upper()
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact) or not set(compact) <= _ALNUM:
        return False
    if not compact[2:4].isdigit() or not compact[:2].isalpha():
        return False
    rearranged = compact[4:] + compact[:4]
    # Letters count as 10..35 (int(c, 36)); the number is taken mod 97 chunk-wise to stay small.
    remainder = 0
    for ch in rearranged:
        value = int(ch, 36)
        remainder = (remainder * (100 if value > 9 else 10) + value) % 97
    return remainder == 1


# --- patterns -------------------------------------------------------------------------------

_EMAIL = re.compile(
    # The look-behind keeps a scan linear: a local part starts only at a token boundary.
    r"(?<![\w.%+'-])[\w%+-](?:[\w.%+'-]*[\w%+-])?"
    r"@[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)*\.[^\W\d_]{2,}(?![\w-])"
)
_DIGIT = re.compile(r"\d")
_AT_OR_DIGIT = re.compile(r"[@\d]")  # what every built-in detector needs

# A maximal run of digit groups split by one or two spaces or a dash (a card typed with double
# spaces is still a card; Luhn keeps its false alarms down). It never starts inside a longer
# number or an amount (1,299), so finditer does not restart halfway through a run.
_NUMBER_RUN = re.compile(r"(?<!\d)(?<!\d[.,])\d+(?:(?: {1,2}|-)\d+)*")
_GROUP = re.compile(r"\d+")

_IBAN_START = re.compile(r"(?<![^\W_])[A-Za-z]{2}\d{2}")

# Phones must be a whole number: not glued to a word and not the head or tail of a longer
# digit sequence (a card, an IBAN, a date with a time), which removes most false alarms.
_PHONE_START = r"(?<![\w@#+$€£¥/])(?<!\d[ .,:/-])"
_PHONE_END = r"(?![\w@%€$£¥]|[ .,:/-]\d)"
_INTL = re.compile(
    rf"{_PHONE_START}(?:\(\+[1-9]\d{{0,2}}\)|(?:\+|00(?=[1-9]))[ ]?[1-9]\d{{0,2}})"
    rf"(?:[ .-]?(?:\(\d{{1,5}}\)|\d{{1,6}}))++"
    rf"(?![\w@])"
)


def _local(body: str) -> re.Pattern[str]:
    return re.compile(f"{_PHONE_START}(?:{body}){_PHONE_END}")


# Layouts common enough to count on their own; each is strict about grouping so that dates,
# amounts and versions do not fit.
_LOCAL_PHONES = (
    # North America: (415) 555-0100, 415-555-0100, 415.555.0100, 1-800-555-0199
    _local(r"(?:1[ .-]?)?(?:\(\d{3}\)[ ]?|\d{3}[ .-])\d{3}[ .-]\d{4}"),
    # trunk-0 numbers in pairs (FR, BE...): 06 12 34 56 78, 0612345678, 06.12.34.56.78
    _local(r"0[1-9]([ .-]?)\d{2}(?:\1\d{2}){3}"),
    # trunk-0 with an area code: 020 7946 0958, 0161 496 0000, 07700 900123, 030 12345678
    _local(r"0\d{1,4}[ /-]\d{3,4}[ -]\d{3,4}"),
    _local(r"0\d{1,4}[ /-]\d{4,8}"),
    # Spain: 612 345 678, 612-345-678, 612 34 56 78, 91 123 45 67, 612345678 (mobiles only)
    _local(r"[6-9]\d{2}([ .-])\d{3}\1\d{3}|[6-9]\d{2}([ .-])\d{2}\2\d{2}\2\d{2}"),
    _local(r"[89]\d \d{3} \d{2} \d{2}|[67]\d{8}"),
)
# Any grouping of 7-12 digits, accepted only right after a phone word.
_CONTEXT_PHONE = _local(r"\(?\d{1,4}\)?(?:[ .-]?\d{1,5}){0,5}+")

_PHONE_WORD = re.compile(
    r"(?:\b(?:phone|telephone|tel|tlf|tfno|mobile|cell|cellphone|call\w*|ring|whats ?app|sms|"
    r"text(?:\s+me)?|fax|landline|reach\s+me|contact\s+me|tel[eé]fono|m[oó]vil|celular|llam\w*|"
    r"portable|t[eé]l[eé]phone|appel\w*|telefon|handy|anrufen)\b"
    r"|\b(?:my|mi|mon|meine?)\s+(?:\w+\s+)?(?:number|n[uú]mero|num[eé]ro|nummer)\b)"
    r"[^\d]{0,24}$",
    re.IGNORECASE,
)
_NOT_A_PHONE_WORD = re.compile(
    r"(?:#|\b(?:order|ticket|invoice|inv|ref|reference|tracking|track|parcel|package|shipment|"
    r"case|claim|id|account|acct|customer|client|member|sku|item|product|part|model|serial|"
    r"imei|iccid|version|ver|build|release|pedido|factura|referencia|cliente|caso|incidencia|"
    r"seguimiento|env[ií]o|albar[aá]n|commande|facture|dossier|bestellung|rechnung|auftrag|"
    r"kunde|dni|nif|nie|ssn|passport|pasaporte|postcode|zip)\b"
    r"(?:\s*(?:number|num|no|nr|n[º°o]|id|code|n[uú]mero|num[eé]ro|nummer))?\.?)"
    r"\s*[:#=-]*\s*$",
    re.IGNORECASE,
)
# A device's IMEI or a SIM's ICCID passes Luhn too; named as such, it is not a card.
_NOT_A_CARD_WORD = re.compile(
    r"\b(?:imei|iccid|meid|sim(?:\s+card)?)(?:\s*(?:number|no|nr|#))?\.?\s*(?:is\s*)?[:#=-]*\s*$",
    re.IGNORECASE,
)
_CURRENCY_BEFORE = re.compile(r"(?:[$€£¥]|\b(?:eur|usd|gbp|cop|mxn))\s?$", re.IGNORECASE)
_CURRENCY_AFTER = re.compile(
    r"^\s?(?:[$€£¥%]|(?:eur|usd|gbp|cop|mxn|euros?|dollars?|pounds?|pesos?)\b)", re.IGNORECASE
)
_LOOKBACK = 40  # characters of context read before a number


# --- detectors ------------------------------------------------------------------------------


def _emails(text: str) -> Iterator[Finding]:
    if "@" in text:
        for m in _EMAIL.finditer(text):
            yield Finding("email", m.start(), m.end())


def _ibans(text: str) -> Iterator[Finding]:
    for m in _IBAN_START.finditer(text):
        length = _IBAN_LENGTHS.get(m.group()[:2].upper())
        if length is None:
            continue
        # Walk characters until the country's length: an IBAN may be followed by more words.
        start, i, count, n = m.start(), m.start(), 0, len(text)
        while i < n and count < length:
            ch = text[i]
            if ch.isascii() and ch.isalnum():
                count += 1
                i += 1
            elif ch in " -" and count >= 4 and i + 1 < n and text[i + 1].isalnum():
                i += 1  # single spaces (or dashes) split the groups
            else:
                break
        if count != length or (i < n and text[i].isalnum()):
            continue
        if iban_ok(text[start:i]):
            yield Finding("iban", start, i)


def _cards(text: str) -> Iterator[Finding]:
    for m in _NUMBER_RUN.finditer(text):
        groups = [(g.start(), g.end()) for g in _GROUP.finditer(text, m.start(), m.end())]
        head = text[m.start() - 1 : m.start()]
        if head.isalpha() or head == "_":
            continue  # the tail of a code such as an invalid IBAN "DE89 3704 ..." is no card
        if head == "+":
            groups.pop(0)  # a country code
        tail = text[m.end() : m.end() + 2]
        if groups and (
            tail[:1].isalpha() or tail[:1] == "_" or (tail[:1] in ".," and tail[1:2].isdigit())
        ):
            groups.pop()  # the last group belongs to a word or an amount
        i = 0
        while i < len(groups):
            found = _card_from(text, groups, i)
            if found is None:
                i += 1
                continue
            yield found
            i = next(k for k, g in enumerate(groups) if g[1] == found.end) + 1


def _card_from(text: str, groups: list[tuple[int, int]], i: int) -> Finding | None:
    """The longest card number made of whole groups starting at group ``i``."""
    ends: list[tuple[int, str]] = []
    digits = ""
    prev_len = 3
    for s, e in groups[i:]:
        # Cards are written in groups of 4 (or 4-6-5); a group of 1-2 digits may only close the
        # number ("3056 9309 0259 04"), so pairs such as "06 12 34 56 78" never make a card.
        if prev_len < 3:
            break
        prev_len = e - s
        digits += text[s:e]
        if len(digits) > 19:
            break
        if len(digits) >= 13:
            ends.append((e, digits))
    for end, candidate in reversed(ends):
        if candidate[0] != "0" and luhn_ok(candidate):
            before = text[max(0, groups[i][0] - _LOOKBACK) : groups[i][0]]
            return None if _NOT_A_CARD_WORD.search(before) else Finding("card", groups[i][0], end)
    return None


def _phones(text: str) -> Iterator[Finding]:
    for m in _INTL.finditer(text):
        end = _trim_intl(text, m.start(), m.end())
        if end is not None:
            yield Finding("phone", m.start(), end)
    for pattern in _LOCAL_PHONES:
        for m in pattern.finditer(text):
            if _local_ok(text, m.start(), m.end(), m.group()):
                yield Finding("phone", m.start(), m.end())
    for m in _CONTEXT_PHONE.finditer(text):
        value = m.group()
        if 7 <= sum(c.isdigit() for c in value) <= 12 and not _looks_like_date(value):
            before = text[max(0, m.start() - _LOOKBACK) : m.start()]
            if _PHONE_WORD.search(before) and _local_ok(text, m.start(), m.end(), value):
                yield Finding("phone", m.start(), m.end())


def _trim_intl(text: str, start: int, end: int) -> int | None:
    """End of an international number, dropping trailing groups that cannot belong to it."""
    groups = list(_GROUP.finditer(text, start, end))
    # The "00" of "0034 ..." is the dialling prefix, not part of the E.164 number.
    total = sum(len(g.group()) for g in groups) - (2 if text[start] == "0" else 0)
    # "+34 612 345 678 2 times": a lone trailing digit after a space is not part of the number.
    cut = False
    while len(groups) > 2 and (total > 15 or len(groups[-1].group()) == 1):
        if len(groups[-1].group()) == 1 and text[groups[-1].start() - 1] != " " and total <= 15:
            break
        total -= len(groups.pop().group())
        cut = True
    # After a cut, "2024" of "... 678 2024-03-15" is the head of something else: drop back to a
    # space so that the number ends where the writer put a gap.
    while cut and len(groups) > 2 and text[groups[-1].end()] != " ":
        total -= len(groups.pop().group())
    if not 8 <= total <= 15:
        return None
    last = groups[-1].end()
    return last + 1 if text[last : last + 1] == ")" else last


def _local_ok(text: str, start: int, end: int, value: str) -> bool:
    before = text[max(0, start - _LOOKBACK) : start]
    if _NOT_A_PHONE_WORD.search(before):
        return False
    # "612 345 678 €" or "$ 415 555 0100" is an amount written with thousands separators.
    if _CURRENCY_BEFORE.search(before) or _CURRENCY_AFTER.search(text[end : end + 10]):
        return False
    digits = sum(c.isdigit() for c in value)
    return 7 <= digits <= 12


def _looks_like_date(value: str) -> bool:
    """2024-03-15, 15.03.2024, 03 15 2024 and the like (a date right after *call* is a date)."""
    parts = [p for p in re.split(r"\D+", value) if p]
    if len(parts) != 3:
        return False
    lengths = [len(p) for p in parts]
    if lengths[0] == 4 and lengths[1] <= 2 and lengths[2] <= 2:
        month, day = int(parts[1]), int(parts[2])
    elif lengths[2] == 4 and lengths[0] <= 2 and lengths[1] <= 2:
        a, b = int(parts[0]), int(parts[1])
        month, day = (b, a) if b <= 12 else (a, b)
    else:
        return False
    return 1 <= month <= 12 and 1 <= day <= 31


def _has_enough_digits(text: str) -> bool:
    # Every number detector needs 7+ digits; stop counting as soon as there are enough.
    return sum(1 for _ in islice(_DIGIT.finditer(text), 7)) == 7


def _builtin_candidates(text: str) -> Iterator[Finding]:
    yield from _emails(text)
    if not _has_enough_digits(text):
        return
    yield from _ibans(text)
    yield from _cards(text)
    yield from _phones(text)


@functools.lru_cache(maxsize=512)
def _builtin_ranked(text: str) -> tuple[tuple[int, Finding], ...]:
    # Cached because the gateway scans the same message twice within one batch: the decision
    # layer (is it sensitive?) and then the log's redaction (mask it before the spool). A str
    # caches its own hash, so a hit costs a dictionary lookup, not a rescan.
    return tuple((_PRIORITY[f.kind], f) for f in _builtin_candidates(text))


def _resolve(candidates: list[tuple[int, Finding]]) -> list[Finding]:
    """Keep the best non-overlapping findings: by kind priority, then longest, then earliest."""
    chosen: list[Finding] = []
    for _, f in sorted(candidates, key=lambda c: (c[0], c[1].start - c[1].end, c[1].start)):
        if all(f.end <= g.start or g.end <= f.start for g in chosen):
            chosen.append(f)
    return sorted(chosen, key=lambda f: f.start)


# --- public API -----------------------------------------------------------------------------


def find_sensitive(
    text: str, *, extra_patterns: Mapping[str, re.Pattern[str]] | None = None
) -> list[Finding]:
    """Every sensitive value in ``text``, sorted by position and non-overlapping.

    ``extra_patterns`` adds named regular expressions (e.g. a customer-id format); their
    matches are findings of that name and lose overlaps to the built-in kinds.

    >>> import re
    >>> customer = {"customer": re.compile(r"CU-\\d+")}
    >>> find_sensitive("id CU-0042 and cu@example.com", extra_patterns=customer)
    [Finding(kind='customer', start=3, end=10), Finding(kind='email', start=15, end=29)]
    """
    candidates: list[tuple[int, Finding]] = []
    if "@" in text or _DIGIT.search(text) is not None:
        candidates = list(_builtin_ranked(text))
    for offset, (name, pattern) in enumerate((extra_patterns or {}).items()):
        for m in pattern.finditer(text):
            if m.end() > m.start():
                candidates.append((_CUSTOM_PRIORITY + offset, Finding(name, m.start(), m.end())))
    if len(candidates) < 2:
        return [f for _, f in candidates]
    return _resolve(candidates)


def candidate_rows(values: Sequence[Any]) -> list[int] | None:
    """The positions of the strings among ``values`` holding "@" or a digit (the only ones a
    built-in detector can match), or None unless every value is a string. All the values are
    joined into one text and scanned by one regular expression in C, not one call per value.

    >>> candidate_rows(["hi", "order 88213", "", "a@b"]), candidate_rows(["hi", None])
    ([1, 3], None)
    """
    try:
        joined = "\x00".join(values)  # "\x00": neither "@" nor a digit
    except TypeError:
        return None
    search = _AT_OR_DIGIT.search
    found = search(joined)
    if found is None:
        return []
    # ends[i]: where value i + 1 starts in the joined text.
    ends = list(accumulate(map(add, map(len, values), repeat(1))))
    rows: list[int] = []
    while found is not None:
        i = bisect_right(ends, found.start())
        rows.append(i)
        found = search(joined, ends[i])
    return rows


def find_sensitive_column(values: Sequence[Any]) -> dict[int, list[Finding]]:
    """:func:`find_sensitive` (built-in kinds) of every string among ``values`` (others are
    skipped), by position, for those with a finding: bulk scoring scans a column once and
    both the decision layer and the log's redaction use the result.

    >>> find_sensitive_column(["hi", "mail ana@example.com", None, "order 88213"])
    {1: [Finding(kind='email', start=5, end=20)]}
    """
    rows = candidate_rows(values)
    out: dict[int, list[Finding]] = {}
    for i in range(len(values)) if rows is None else rows:
        value = values[i]
        if isinstance(value, str):
            findings = find_sensitive(value)
            if findings:
                out[i] = findings
    return out


def has_sensitive(text: str) -> bool:
    """True when ``text`` holds any built-in kind (stops at the first one found).

    >>> has_sensitive("IBAN ES91 2100 0418 4502 0005 1332"), has_sensitive("order 88213")
    (True, False)
    """
    if "@" not in text and _DIGIT.search(text) is None:
        return False
    return next(_builtin_candidates(text), None) is not None


def default_mask(finding: Finding) -> str:
    """``[EMAIL]``, ``[PHONE]``, ``[CARD]``, ``[IBAN]`` or ``[NAME]`` of a custom pattern."""
    return f"[{finding.kind.upper()}]"


def redact(
    text: str,
    *,
    extra_patterns: Mapping[str, re.Pattern[str]] | None = None,
    mask: Callable[[Finding], str] = default_mask,
) -> str:
    """``text`` with every finding replaced by ``mask(finding)``.

    >>> redact("mail ana@example.com or card 4242-4242-4242-4242", mask=lambda f: "***")
    'mail *** or card ***'
    """
    return masked(text, find_sensitive(text, extra_patterns=extra_patterns), mask)


def masked(
    text: str, findings: Sequence[Finding], mask: Callable[[Finding], str] = default_mask
) -> str:
    """``text`` with ``findings`` (sorted, non-overlapping) replaced by ``mask(finding)``.

    >>> masked("call 612 345 678", [Finding("phone", 5, 16)])
    'call [PHONE]'
    """
    if not findings:
        return text
    parts: list[str] = []
    pos = 0
    for f in findings:
        parts += [text[pos : f.start], mask(f)]
        pos = f.end
    parts.append(text[pos:])
    return "".join(parts)
