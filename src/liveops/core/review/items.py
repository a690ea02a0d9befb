"""Human review: the records of a review and how its items are sampled from an evaluation run.

Sampling is stratified toward what a reviewer should see: the sample takes failures first (up to
half of it), then low-confidence answers (up to a quarter), then fills the rest from every other
case, each stratum drawn at random with a seed, so the same run and seed give the same sample.

>>> cases = [CaseForReview(f"c{i}", correct=i % 4 != 0, confidence=i / 20) for i in range(20)]
>>> picked = sample_for_review(cases, 8, seed=1, low_confidence=0.5)
>>> len(picked), sum(not c.correct for c in picked)
(8, 4)
>>> picked == sample_for_review(cases, 8, seed=1, low_confidence=0.5)
True
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "CaseForReview",
    "ReviewItemRecord",
    "ReviewRecord",
    "ScoreRecord",
    "sample_for_review",
    "stratum_of",
]


@dataclass(frozen=True)
class CaseForReview:
    """A case of an evaluation run, as review sampling sees it."""

    case_ref: str
    correct: bool | None
    confidence: float | None
    inputs: dict[str, Any] = field(default_factory=dict)
    expected: str | None = None
    predicted: str | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def stratum_of(case: CaseForReview, low_confidence: float) -> str:
    """``failure`` (wrong or raised), ``low_confidence`` (below the line) or ``other``."""
    if case.error or case.correct is False:
        return "failure"
    if case.confidence is not None and case.confidence < low_confidence:
        return "low_confidence"
    return "other"


def sample_for_review(
    cases: Sequence[CaseForReview], n: int, *, seed: int, low_confidence: float
) -> list[CaseForReview]:
    """``n`` cases (or all, when there are fewer), stratified toward failures and low confidence.

    Returned in the order they were drawn: failures, low confidence, others, then any top-up.
    """
    if n <= 0:
        raise ValueError("the sample size must be at least 1")
    rng = random.Random(seed)
    strata: dict[str, list[CaseForReview]] = {"failure": [], "low_confidence": [], "other": []}
    for case in cases:
        strata[stratum_of(case, low_confidence)].append(case)
    for members in strata.values():
        rng.shuffle(members)
    quota = {"failure": (n + 1) // 2, "low_confidence": (n + 3) // 4}
    quota["other"] = max(0, n - quota["failure"] - quota["low_confidence"])
    picked: list[CaseForReview] = []
    for name in ("failure", "low_confidence", "other"):
        take = strata[name][: quota[name]]
        picked.extend(take)
        del strata[name][: len(take)]
    # A stratum with fewer cases than its quota leaves room: fill it from what is left, in the
    # same preference order.
    for name in ("failure", "low_confidence", "other"):
        room = n - len(picked)
        if room <= 0:
            break
        picked.extend(strata[name][:room])
    return picked


@dataclass(frozen=True)
class ReviewRecord:
    """A review: a rubric and a queue of items sampled from one evaluation run."""

    id: str
    service: str
    version: int
    source_run: str
    rubric: list[dict[str, Any]]
    sample: dict[str, Any]
    created_at: datetime
    actor: str

    @property
    def subject(self) -> str:
        return f"{self.service}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["created_at"] = self.created_at.isoformat()
        out["subject"] = self.subject
        return out


@dataclass(frozen=True)
class ReviewItemRecord:
    """One case to review. ``id`` is global (``R7K2-3``: review id and position)."""

    id: str
    review_id: str
    position: int
    case_ref: str
    stratum: str
    inputs: dict[str, Any]
    expected: str | None
    predicted: str | None
    confidence: float | None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ScoreRecord:
    """One reviewer's current answer to one rubric item of one review item. ``revision`` counts
    submissions (1 for the first); earlier answers are in the audit log."""

    item_id: str
    reviewer: str
    rubric_item: str
    value: str
    note: str | None
    created_at: datetime
    revision: int = 1

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["created_at"] = self.created_at.isoformat()
        return out
