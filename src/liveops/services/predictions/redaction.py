"""Redaction of logged inputs: the built-in detectors plus each service's own patterns.

Every string in an input (nested lists and mappings included) is scanned; e-mail addresses,
phone numbers, Luhn-valid card numbers, IBANs and matches of the service's ``logging.redact``
patterns are replaced by ``[EMAIL]``, ``[PHONE]``, ``[CARD]``, ``[IBAN]``, ``[NAME]``. Integers of
13 digits or more are checked as card numbers too (a form field typed as a number).

>>> r = InputRedactor()
>>> r.redact("any", {"text": "card 4111 1111 1111 1111, order 88213", "n": 3})
({'text': 'card [CARD], order 88213', 'n': 3}, 1)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from liveops.core.sensitive import Finding, candidate_rows, find_sensitive, masked

_DIGIT = re.compile(r"\d")
_AT_OR_DIGIT = re.compile(r"[@\d]")  # what every built-in detector needs (one scan)

__all__ = ["InputRedactor"]

Patterns = Mapping[str, re.Pattern[str]]


class InputRedactor:
    """Redacts inputs per service; ``patterns`` maps a service to its extra named patterns.

    Short strings (segment values, enum fields, codes: at most :data:`MEMO_CHARS` characters)
    repeat from one record to the next, so their redaction is remembered per service, up to
    :data:`MEMO_SIZE` distinct values (then forgotten and learnt again).

    >>> r = InputRedactor()
    >>> [r.redact("s", {"to": "ana@example.com"}) for _ in range(2)]
    [({'to': '[EMAIL]'}, 1), ({'to': '[EMAIL]'}, 1)]
    """

    def __init__(self, patterns: Mapping[str, Patterns] | None = None) -> None:
        self._patterns = dict(patterns or {})
        self._memo: dict[str, dict[str, tuple[str, int]]] = {}

    def findings(self, service: str, text: str) -> list[Finding]:
        """What redaction masks in ``text`` for ``service``."""
        return find_sensitive(text, extra_patterns=self._patterns.get(service))

    def redact(self, service: str, inputs: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
        """The redacted copy of ``inputs`` and how many values were masked.

        This runs on the request path (before the spool), so it does no work for a value
        that cannot hold anything: a string with neither "@" nor a digit, when the service
        has no patterns of its own, is returned as it is.
        """
        walk = self._walk(service)
        return {k: walk(v) for k, v in inputs.items()}, walk.found

    def redact_column(
        self,
        service: str,
        values: Sequence[Any],
        skip: object = None,
        known: Mapping[int, Sequence[Finding]] | None = None,
    ) -> tuple[Sequence[Any], dict[int, int]]:
        """:meth:`redact` of one field's values at once (bulk scoring): the masked values (the
        same sequence when nothing was masked) and, by position, how many each had masked.
        Values that are ``skip`` (a field a record does not have) are left alone. ``known``:
        the built-in findings of the strings, by position, when already found
        (:func:`~liveops.core.sensitive.find_sensitive_column`): they are not searched again
        (unless the service has patterns of its own).

        >>> r = InputRedactor()
        >>> r.redact_column("s", ["hi", "mail ana@example.com", None, "card 4111111111111111"])
        (['hi', 'mail [EMAIL]', None, 'card [CARD]'], {1: 1, 3: 1})
        """
        walk = self._walk(service)
        quick = _AT_OR_DIGIT.search if walk.extra is None else None
        out: list[Any] | None = None
        counts: dict[int, int] = {}
        rows: Iterable[int] = range(len(values))
        if quick is not None and known is not None:
            for i, findings in known.items():
                out = list(values) if out is None else out
                out[i], counts[i] = masked(values[i], findings), len(findings)
            rows = [i for i, v in enumerate(values) if type(v) is not str]  # numbers, lists...
        elif quick is not None:
            candidates = candidate_rows(values)
            if candidates is not None:
                rows = candidates
        for i in rows:
            value = values[i]
            if type(value) is str:
                if quick is not None and quick(value) is None:
                    continue  # nothing any built-in detector looks for
            elif value is None or value is skip or isinstance(value, float | bool):
                continue
            before = walk.found
            masked_ = walk(value)
            if walk.found != before:
                counts[i] = walk.found - before
                if out is None:
                    out = list(values)
                out[i] = masked_
        return (values if out is None else out), counts

    def _walk(self, service: str) -> _Walk:
        memo = self._memo.get(service)
        if memo is None:
            memo = self._memo[service] = {}
        return _Walk(self._patterns.get(service), memo)


MEMO_CHARS = 64
MEMO_SIZE = 4096


class _Walk:
    """One redaction of one input: the masked copy of each value, counting what was masked."""

    __slots__ = ("extra", "found", "memo")

    def __init__(self, extra: Patterns | None, memo: dict[str, tuple[str, int]]) -> None:
        self.extra, self.memo, self.found = extra or None, memo, 0

    def text(self, value: str) -> str:
        if self.extra is None and "@" not in value and _DIGIT.search(value) is None:
            return value  # nothing any built-in detector looks for
        short = len(value) <= MEMO_CHARS
        hit = self.memo.get(value) if short else None
        if hit is None:
            findings = find_sensitive(value, extra_patterns=self.extra)
            hit = (masked(value, findings), len(findings))
            if short:
                if len(self.memo) >= MEMO_SIZE:
                    self.memo.clear()
                self.memo[value] = hit
        self.found += hit[1]
        return hit[0]

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if value is None or isinstance(value, float | bool):
            return value
        if isinstance(value, Mapping):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self(v) for v in value]
        if isinstance(value, int) and abs(value) >= 10**12:
            text = str(value)
            masked_ = self.text(text)
            return value if masked_ == text else masked_
        return value
