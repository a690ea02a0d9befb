"""Launch readiness: one view of everything that says whether a version may go live.

Each :class:`ReadinessCheck` is ``pass``, ``fail``, ``missing`` (the evidence does not exist
yet, or is inconclusive) or ``not_applicable`` (the check does not concern this service, e.g.
text typos for a model on numeric columns: it counts for nothing, so it never holds a version
back) with a reason. The view's status and the CLI's exit code follow the rule of
docs/conventions.md: any failure gives 1; otherwise anything missing gives 3; otherwise 0.

>>> view = Readiness("support-router@2", (
...     ReadinessCheck("gates", "gate macro_f1 >= 0.8", "pass", "0.86"),
...     ReadinessCheck("review", "review coverage", "missing", "no review yet"),
... ))
>>> view.status, view.exit_code
('missing', 3)
>>> Readiness("x@1", (ReadinessCheck("probes", "p", "fail", "answered general"),)).exit_code
1
>>> Readiness("x@1", (
...     ReadinessCheck("gates", "gate accuracy >= 0.9", "pass", "0.95"),
...     ReadinessCheck("robustness", "family typos", "not_applicable", "no text field"),
... )).status
'pass'
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from liveops.core.exits import exit_code

__all__ = ["Readiness", "ReadinessCheck", "ReadinessStatus", "status_of"]

ReadinessStatus = Literal["pass", "fail", "missing", "not_applicable"]


@dataclass(frozen=True)
class ReadinessCheck:
    """One line of the readiness view: its group (gates, robustness, probes, review), what is
    checked, the status, why, and the value behind it when there is one."""

    group: str
    name: str
    status: ReadinessStatus
    reason: str
    value: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "name": self.name,
            "status": self.status,
            "reason": self.reason,
            "value": self.value,
        }


def status_of(statuses: list[ReadinessStatus]) -> Literal["pass", "fail", "missing"]:
    """Failure wins over missing; an empty list is missing (nothing was checked); checks that
    are not applicable count for nothing (only such checks: pass, nothing holds it back).

    >>> status_of(["pass", "missing", "fail"]), status_of(["pass"]), status_of([])
    ('fail', 'pass', 'missing')
    >>> status_of(["not_applicable", "pass"]), status_of(["not_applicable"])
    ('pass', 'pass')
    """
    if not statuses:
        return "missing"
    statuses = [s for s in statuses if s != "not_applicable"]
    if not statuses:
        return "pass"
    if "fail" in statuses:
        return "fail"
    return "missing" if "missing" in statuses else "pass"


@dataclass(frozen=True)
class Readiness:
    """The readiness of one version: every check and what they add up to."""

    subject: str
    checks: tuple[ReadinessCheck, ...]
    sources: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> Literal["pass", "fail", "missing"]:
        return status_of([c.status for c in self.checks])

    @property
    def exit_code(self) -> int:
        return exit_code(c.status for c in self.checks)

    def counts(self) -> dict[str, int]:
        c = Counter(ch.status for ch in self.checks)
        return {s: c.get(s, 0) for s in ("pass", "fail", "missing", "not_applicable")}

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "status": self.status,
            "exit_code": self.exit_code,
            "counts": self.counts(),
            "checks": [c.to_dict() for c in self.checks],
            "sources": self.sources,
        }
