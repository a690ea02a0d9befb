"""Agreement between reviewers: Cohen's kappa per rubric item for each pair of reviewers.

Kappa is unweighted (every disagreement counts the same, also on ordered scales) and computed on
the items both reviewers answered. It is undefined when chance agreement is 1 (both reviewers
gave one and the same answer to every item); then ``kappa`` is ``None`` and the observed
agreement still tells the story.

>>> round(cohen_kappa(["yes", "yes", "no", "no"], ["yes", "no", "no", "no"]) or 0, 3)
0.5
>>> scores = [
...     ScoreRow("i1", "ann", "route", "yes"), ScoreRow("i1", "bob", "route", "yes"),
...     ScoreRow("i2", "ann", "route", "no"),  ScoreRow("i2", "bob", "route", "no"),
... ]
>>> report = agreement(scores, ["route"])
>>> report.items[0].pairs[0].kappa, report.items[0].pairs[0].observed
(1.0, 1.0)
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

__all__ = [
    "AgreementReport",
    "ItemAgreement",
    "PairAgreement",
    "ScoreRow",
    "agreement",
    "cohen_kappa",
    "kappa_label",
]


@dataclass(frozen=True)
class ScoreRow:
    """One answer: reviewer ``reviewer`` gave ``value`` to rubric item ``rubric_item`` of
    review item ``item``."""

    item: str
    reviewer: str
    rubric_item: str
    value: str


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float | None:
    """Unweighted Cohen's kappa of two raters' answers to the same items (None if undefined),
    from scikit-learn's ``cohen_kappa_score``."""
    if len(a) != len(b):
        raise ValueError("both raters must answer the same items")
    if not a or len(set(a) | set(b)) == 1:
        # One answer from both: chance agreement is 1 and kappa is 0/0.
        return None
    # Imported here: scikit-learn costs far more start-up time than the rest of liveops.
    from sklearn.metrics import cohen_kappa_score

    kappa = float(cohen_kappa_score(list(a), list(b)))
    return None if math.isnan(kappa) else kappa


def kappa_label(kappa: float | None) -> str:
    """Landis and Koch's words for a kappa value.

    >>> kappa_label(0.7), kappa_label(0.1), kappa_label(None)
    ('substantial', 'slight', 'undefined')
    """
    if kappa is None:
        return "undefined"
    if kappa < 0.0:
        return "poor"
    for bound, word in ((0.2, "slight"), (0.4, "fair"), (0.6, "moderate")):
        if kappa <= bound:
            return word
    return "substantial" if kappa <= 0.8 else "almost perfect"


@dataclass(frozen=True)
class PairAgreement:
    """Two reviewers on one rubric item: how many items both answered and how they agree."""

    reviewers: tuple[str, str]
    n: int
    observed: float
    kappa: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "reviewers": list(self.reviewers),
            "n": self.n,
            "observed": self.observed,
            "kappa": self.kappa,
            "label": kappa_label(self.kappa),
        }


@dataclass(frozen=True)
class ItemAgreement:
    """One rubric item: each pair's agreement and the answers given overall."""

    rubric_item: str
    pairs: tuple[PairAgreement, ...]
    answers: dict[str, int] = field(default_factory=dict)

    @property
    def mean_kappa(self) -> float | None:
        """The mean kappa over pairs that share at least one item and have a defined kappa."""
        ks = [p.kappa for p in self.pairs if p.kappa is not None]
        return sum(ks) / len(ks) if ks else None

    @property
    def overlap(self) -> int:
        """How many items at least two reviewers answered (pairs summed)."""
        return sum(p.n for p in self.pairs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rubric_item": self.rubric_item,
            "mean_kappa": self.mean_kappa,
            "label": kappa_label(self.mean_kappa),
            "overlap": self.overlap,
            "answers": dict(self.answers),
            "pairs": [p.to_dict() for p in self.pairs],
        }


@dataclass(frozen=True)
class AgreementReport:
    """Agreement for every rubric item of a review."""

    reviewers: tuple[str, ...]
    items: tuple[ItemAgreement, ...]

    def item(self, name: str) -> ItemAgreement:
        return next(i for i in self.items if i.rubric_item == name)

    def to_dict(self) -> dict[str, Any]:
        return {"reviewers": list(self.reviewers), "items": [i.to_dict() for i in self.items]}


def agreement(scores: Iterable[ScoreRow], rubric_items: Sequence[str]) -> AgreementReport:
    """Pairwise Cohen's kappa per rubric item, over the items both reviewers of a pair answered."""
    by: dict[str, dict[str, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    reviewers: set[str] = set()
    for s in scores:
        by[s.rubric_item][s.reviewer][s.item] = s.value
        reviewers.add(s.reviewer)
    out: list[ItemAgreement] = []
    for name in rubric_items:
        answers = by.get(name, {})
        pairs: list[PairAgreement] = []
        for ra, rb in combinations(sorted(answers), 2):
            common = sorted(set(answers[ra]) & set(answers[rb]))
            if not common:
                continue
            a = [answers[ra][i] for i in common]
            b = [answers[rb][i] for i in common]
            observed = sum(x == y for x, y in zip(a, b, strict=True)) / len(common)
            pairs.append(PairAgreement((ra, rb), len(common), observed, cohen_kappa(a, b)))
        counts = Counter(v for per in answers.values() for v in per.values())
        out.append(ItemAgreement(name, tuple(pairs), dict(sorted(counts.items()))))
    return AgreementReport(tuple(sorted(reviewers)), tuple(out))
