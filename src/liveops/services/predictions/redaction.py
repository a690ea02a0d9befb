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
from collections.abc import Mapping
from typing import Any

from liveops.core.sensitive import Finding, find_sensitive, masked

__all__ = ["InputRedactor"]

Patterns = Mapping[str, re.Pattern[str]]


class InputRedactor:
    """Redacts inputs per service; ``patterns`` maps a service to its extra named patterns."""

    def __init__(self, patterns: Mapping[str, Patterns] | None = None) -> None:
        self._patterns = dict(patterns or {})

    def findings(self, service: str, text: str) -> list[Finding]:
        """What redaction masks in ``text`` for ``service``."""
        return find_sensitive(text, extra_patterns=self._patterns.get(service))

    def redact(self, service: str, inputs: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
        """The redacted copy of ``inputs`` and how many values were masked.

        This runs on the request path (before the spool), so it does no work for a value
        that cannot hold anything: a string with neither "@" nor a digit, when the service
        has no patterns of its own, is returned as it is.
        """
        found = [0]
        extra = self._patterns.get(service)
        return {k: _walk(v, extra, found) for k, v in inputs.items()}, found[0]


def _text(value: str, extra: Patterns | None, found: list[int]) -> str:
    findings = find_sensitive(value, extra_patterns=extra)
    found[0] += len(findings)
    return masked(value, findings)


def _walk(value: Any, extra: Patterns | None, found: list[int]) -> Any:
    if isinstance(value, str):
        return _text(value, extra, found)
    if isinstance(value, Mapping):
        return {k: _walk(v, extra, found) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_walk(v, extra, found) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**12:
        masked = _text(str(value), extra, found)
        return value if masked == str(value) else masked
    return value
