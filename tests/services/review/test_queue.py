"""Review use cases on every backend: create, next, submit, agreement, promote."""

from __future__ import annotations

import pytest

from liveops.core.review.items import CaseForReview
from liveops.core.review.rubric import parse_rubric
from liveops.errors import ConflictError, InvalidInputError, ObjectNotFound, UsageError
from liveops.services import review as rv
from liveops.services.datasets import load_records
from liveops.services.review import promote
from liveops.store import Store

RUBRIC = parse_rubric(
    [
        {"name": "correct_route", "scale": [True, False]},
        {"name": "failure_type", "choices": ["wrong_team", "language", "other"]},
    ]
)


def _source(n: int = 12) -> rv.ReviewSource:
    cases = [
        CaseForReview(
            case_ref=f"eval:{i}",
            correct=i % 3 != 0,
            confidence=0.5 + (i % 5) / 10,
            inputs={"text": f"message number {i}", "channel": "chat"},
            expected="billing",
            predicted="billing" if i % 3 else "technical",
        )
        for i in range(n)
    ]
    return rv.ReviewSource("run1", "router", 1, RUBRIC, cases, low_confidence=0.75)


def test_create_samples_and_copies_the_rubric(applied: Store) -> None:
    review, items = rv.create_review_from(applied, _source(), sample=6, seed=1, actor="ann")
    assert len(items) == 6
    assert review.sample["strata"]["failure"] == 3
    assert review.rubric[0] == {"name": "correct_route", "scale": ["yes", "no"]}
    assert [i.id for i in items] == [f"{review.id}-{p}" for p in range(1, 7)]
    assert applied.audit.events(object_type="review")[0].action == "review.created"
    again, _ = rv.create_review_from(applied, _source(), sample=6, seed=1, actor="ann")
    assert [i.case_ref for i in applied.reviews.items(again.id)] == [i.case_ref for i in items]


def test_bad_sample_sizes_and_empty_runs_are_refused(applied: Store) -> None:
    with pytest.raises(UsageError, match="between 1 and"):
        rv.create_review_from(applied, _source(), sample=0, seed=0, actor="ann")
    with pytest.raises(ConflictError, match="no cases"):
        rv.create_review_from(applied, _source(0), sample=5, seed=0, actor="ann")


def test_two_reviewers_then_agreement(applied: Store) -> None:
    review, _items = rv.create_review_from(applied, _source(), sample=4, seed=0, actor="ann")
    ann = ["yes", "no", "no", "yes"]
    bob = ["yes", "no", "yes", "yes"]
    for reviewer, answers in (("ann", ann), ("bob", bob)):
        for answer in answers:
            _, item = rv.next_item(applied, reviewer, review.id)
            assert item is not None
            rv.submit(applied, item.id, reviewer, {"correct_route": answer})
        assert rv.next_item(applied, reviewer, review.id)[1] is None
    summary = rv.summarise(applied, review)
    assert (summary.items, summary.reviewed, summary.reviewed_twice) == (4, 4, 4)
    assert summary.complete
    assert summary.reviewers == ("ann", "bob")
    route = summary.agreement.item("correct_route")
    assert route.pairs[0].observed == pytest.approx(0.75)
    assert route.mean_kappa == pytest.approx(0.5)
    assert summary.agreement.item("failure_type").mean_kappa is None


def test_bad_scores_write_nothing(applied: Store) -> None:
    review, items = rv.create_review_from(applied, _source(), sample=2, seed=0, actor="ann")
    item = items[0].id
    with pytest.raises(InvalidInputError, match="'maybe' is not an answer"):
        rv.submit(applied, item, "ann", {"failure_type": "language", "correct_route": "maybe"})
    with pytest.raises(InvalidInputError, match="no item 'tone'"):
        rv.submit(applied, item, "ann", {"tone": "ok"})
    with pytest.raises(ObjectNotFound, match="review item 'zzz-1' does not exist"):
        rv.submit(applied, "zzz-1", "ann", {"correct_route": "yes"})
    assert applied.reviews.scores(review_id=review.id) == []


def test_a_resubmission_replaces_and_the_audit_log_keeps_the_old_answer(applied: Store) -> None:
    _, items = rv.create_review_from(applied, _source(), sample=2, seed=0, actor="ann")
    item = items[0].id
    rv.submit(applied, item, "ann", {"correct_route": "no"})
    (score,) = rv.submit(applied, item, "ann", {"correct_route": "yes"}, note="misread it")
    assert (score.value, score.revision) == ("yes", 2)
    last = applied.audit.events(object_type="review_item", object_id=item)[0]
    assert last.data == {"scores": {"correct_route": "yes"}, "replaced": {"correct_route": "no"}}
    assert last.reason == "misread it"
    assert applied.audit.verify().ok


def test_promote_makes_a_new_regression_dataset_version_each_time(applied: Store) -> None:
    _, items = rv.create_review_from(applied, _source(), sample=3, seed=0, actor="ann")
    with pytest.raises(ConflictError, match="no scores yet"):
        promote(applied, items[0].id, actor="ann")
    for item in items:
        rv.submit(applied, item.id, "ann", {"correct_route": "no"})
    first, created = promote(applied, items[0].id, actor="ann")
    assert created
    assert first.ref == "router-regression@1"
    assert first.rows == 1
    again, created = promote(applied, items[0].id, actor="ann")
    assert not created
    assert again.ref == first.ref
    second, _ = promote(applied, items[1].id, actor="ann", label="technical")
    assert second.ref == "router-regression@2"
    assert second.rows == 2
    rows = load_records(applied, second)
    assert [r["review_item"] for r in rows] == [items[0].id, items[1].id]
    assert rows[1]["label"] == "technical"
    assert rows[1]["text"] == items[1].inputs["text"]
    assert second.content_hash != first.content_hash
    with pytest.raises(InvalidInputError, match="'refunds' is not a label of router"):
        promote(applied, items[2].id, actor="ann", label="refunds")
    view = rv.item_view(applied, items[1].id)
    assert view["promotions"][0]["dataset_number"] == 2
    assert view["reviews"]["ann"]["scores"] == {"correct_route": "no"}
