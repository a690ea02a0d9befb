"""Human review as use cases: create from an evaluation run, next item, submit, show, list,
agreement, promote. The CLI calls these; the dashboard will call the same functions.

A review samples items from one evaluation run (stratified toward failures and low confidence,
seeded) and copies the suite's rubric, so later edits of the suite never change what an
existing review asked. Scores are one per (item, reviewer, rubric item); resubmitting replaces
the answer, and the audit log keeps every earlier one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from liveops.core.review.agreement import AgreementReport, ScoreRow, agreement
from liveops.core.review.items import (
    CaseForReview,
    ReviewItemRecord,
    ReviewRecord,
    ScoreRecord,
    sample_for_review,
    stratum_of,
)
from liveops.core.review.rubric import Rubric, parse_rubric
from liveops.errors import ConflictError, InvalidInputError, ObjectNotFound, UsageError
from liveops.store import Store

__all__ = [
    "ReviewSource",
    "ReviewSummary",
    "agreement_of",
    "create_review_from",
    "get_item",
    "get_review",
    "item_view",
    "latest_review",
    "list_reviews",
    "next_item",
    "submit",
    "summarise",
]

MAX_SAMPLE = 10_000


@dataclass(frozen=True)
class ReviewSource:
    """What a review is made from: an evaluation run's cases and its suite's rubric."""

    run_id: str
    service: str
    version: int
    rubric: Rubric
    cases: list[CaseForReview]
    low_confidence: float
    expected_column: str = "label"


def create_review_from(
    store: Store, source: ReviewSource, *, sample: int, seed: int, actor: str
) -> tuple[ReviewRecord, list[ReviewItemRecord]]:
    """Create a review from an already loaded :class:`ReviewSource`."""
    if not 1 <= sample <= MAX_SAMPLE:
        raise UsageError(
            f"--sample must be between 1 and {MAX_SAMPLE}, got {sample}",
            hint="a review is read by people: 20 to 100 items is typical",
        )
    if not source.cases:
        raise ConflictError(
            f"evaluation run {source.run_id} has no cases to review",
            hint="run `liveops eval SERVICE@N` on a suite with cases first",
        )
    picked = sample_for_review(
        source.cases, sample, seed=seed, low_confidence=source.low_confidence
    )
    strata = Counter(_stratum(c, source.low_confidence) for c in picked)
    with store.write() as conn:
        rid = store.reviews.new_id(conn)
        review = ReviewRecord(
            id=rid,
            service=source.service,
            version=source.version,
            source_run=source.run_id,
            rubric=source.rubric.to_list(),
            sample={
                "requested": sample,
                "size": len(picked),
                "seed": seed,
                "low_confidence": source.low_confidence,
                "strata": dict(sorted(strata.items())),
                "run_cases": len(source.cases),
                "expected_column": source.expected_column,
            },
            created_at=store.clock.now(),
            actor=actor,
        )
        items = [
            ReviewItemRecord(
                id=f"{rid}-{pos}",
                review_id=rid,
                position=pos,
                case_ref=case.case_ref,
                stratum=_stratum(case, source.low_confidence),
                inputs=dict(case.inputs),
                expected=case.expected,
                predicted=case.predicted,
                confidence=case.confidence,
                extra={**case.extra, **({"error": case.error} if case.error else {})},
            )
            for pos, case in enumerate(picked, start=1)
        ]
        store.reviews.insert(conn, review, items)
        store.audit.append(
            conn,
            actor=actor,
            action="review.created",
            object_type="review",
            object_id=rid,
            data={"subject": review.subject, "source_run": source.run_id, **review.sample},
        )
    return review, items


def _stratum(case: CaseForReview, low_confidence: float) -> str:
    return stratum_of(case, low_confidence)


def get_review(store: Store, review_id: str) -> ReviewRecord:
    review = store.reviews.get(review_id.strip())
    if review is None:
        known = [r.id for r in store.reviews.list_reviews()[:5]]
        raise ObjectNotFound(
            f"review {review_id!r} does not exist"
            + (f" (recent reviews: {', '.join(known)})" if known else " (no reviews yet)"),
            hint="list them with `liveops review list`",
        )
    return review


def get_item(store: Store, item_id: str) -> ReviewItemRecord:
    item = store.reviews.item(item_id.strip())
    if item is None:
        raise ObjectNotFound(
            f"review item {item_id!r} does not exist",
            hint="item ids look like r7k2qx-3 (review id, dash, position); "
            "`liveops review show REVIEW` lists them",
        )
    return item


def list_reviews(
    store: Store, service: str | None = None, version: int | None = None
) -> list[ReviewRecord]:
    return store.reviews.list_reviews(service, version)


def latest_review(store: Store, service: str, version: int) -> ReviewRecord | None:
    """The newest review of an evaluation run of the version (what readiness counts); a
    rollout's review of shadow disagreements (source ``rollout:...``) is not one."""
    found = [
        r for r in store.reviews.list_reviews(service, version)
        if not r.source_run.startswith("rollout:")
    ]  # fmt: skip
    return found[0] if found else None


def _only_review(store: Store, review_id: str | None) -> ReviewRecord:
    if review_id:
        return get_review(store, review_id)
    reviews = store.reviews.list_reviews()
    if not reviews:
        raise ObjectNotFound(
            "there is no review yet",
            hint="create one with `liveops review create --from-eval RUN --sample 50`",
        )
    return reviews[0]


def next_item(
    store: Store, reviewer: str, review_id: str | None = None
) -> tuple[ReviewRecord, ReviewItemRecord | None]:
    """The next item for ``reviewer`` in ``review_id`` (default: the newest review)."""
    review = _only_review(store, review_id)
    return review, store.reviews.next_item(review.id, reviewer)


def submit(
    store: Store,
    item_id: str,
    reviewer: str,
    scores: dict[str, Any],
    *,
    note: str | None = None,
) -> list[ScoreRecord]:
    """Record ``reviewer``'s answers for one item; every answer is checked against the rubric
    before anything is written (one bad answer writes nothing)."""
    item = get_item(store, item_id)
    review = get_review(store, item.review_id)
    checked = parse_rubric(review.rubric).check_scores(scores)
    if not reviewer.strip():
        raise InvalidInputError("a reviewer needs a name", hint="pass --as NAME")
    with store.write() as conn:
        changes = store.reviews.put_scores(
            conn, item.id, reviewer, checked, note=note, now=store.clock.now()
        )
        store.audit.append(
            conn,
            actor=reviewer,
            action="review.scored",
            object_type="review_item",
            object_id=item.id,
            reason=note,
            data={
                "scores": {name: new for name, _old, new, _rev in changes},
                "replaced": {name: old for name, old, _new, _rev in changes if old is not None},
            },
        )
    return store.reviews.scores(item_id=item.id)


def agreement_of(store: Store, review: ReviewRecord) -> AgreementReport:
    rows = [
        ScoreRow(s.item_id, s.reviewer, s.rubric_item, s.value)
        for s in store.reviews.scores(review_id=review.id)
    ]
    return agreement(rows, [r["name"] for r in review.rubric])


@dataclass(frozen=True)
class ReviewSummary:
    """A review at a glance: progress, answers per rubric item, agreement, promotions."""

    review: ReviewRecord
    items: int
    reviewed: int
    reviewed_twice: int
    reviewers: tuple[str, ...]
    agreement: AgreementReport
    promotions: list[dict[str, Any]] = field(default_factory=list)
    item_ids: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.items > 0 and self.reviewed == self.items

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.review.to_dict(),
            "items": self.items,
            "reviewed": self.reviewed,
            "reviewed_twice": self.reviewed_twice,
            "complete": self.complete,
            "reviewers": list(self.reviewers),
            "agreement": self.agreement.to_dict(),
            "promotions": self.promotions,
            "item_ids": self.item_ids,
        }


def summarise(store: Store, review: ReviewRecord) -> ReviewSummary:
    items = store.reviews.items(review.id)
    scores = store.reviews.scores(review_id=review.id)
    by_item: dict[str, set[str]] = {}
    for s in scores:
        by_item.setdefault(s.item_id, set()).add(s.reviewer)
    return ReviewSummary(
        review=review,
        items=len(items),
        reviewed=len(by_item),
        reviewed_twice=sum(len(r) >= 2 for r in by_item.values()),
        reviewers=tuple(sorted({s.reviewer for s in scores})),
        agreement=agreement_of(store, review),
        promotions=store.reviews.promotions(review_id=review.id),
        item_ids=[i.id for i in items],
    )


def item_view(store: Store, item_id: str) -> dict[str, Any]:
    """One item with every reviewer's current answers and where it was promoted."""
    item = get_item(store, item_id)
    review = get_review(store, item.review_id)
    scores = store.reviews.scores(item_id=item.id)
    by_reviewer: dict[str, dict[str, Any]] = {}
    for s in scores:
        entry = by_reviewer.setdefault(s.reviewer, {"scores": {}, "note": s.note})
        entry["scores"][s.rubric_item] = s.value
        entry["revision"] = max(int(entry.get("revision", 0)), s.revision)
        entry["at"] = s.created_at.isoformat()
    return {
        **item.to_dict(),
        "subject": review.subject,
        "rubric": review.rubric,
        "reviews": by_reviewer,
        "promotions": store.reviews.promotions(item_id=item.id),
    }
