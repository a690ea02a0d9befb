"""The review store contract on every backend: reviews, items, scores, next item, promotions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError as DbIntegrityError

from liveops.core.review.items import ReviewItemRecord, ReviewRecord
from liveops.store import Store

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
RUBRIC = [{"name": "correct_route", "scale": ["yes", "no"]}]


def _review(store: Store, n: int = 3) -> ReviewRecord:
    with store.write() as conn:
        store.registry.upsert_service(conn, "svc", {"name": "svc"}, "h", NOW)
        rid = store.reviews.new_id(conn)
        review = ReviewRecord(
            id=rid,
            service="svc",
            version=2,
            source_run="run1",
            rubric=RUBRIC,
            sample={"n": n, "seed": 0},
            created_at=NOW,
            actor="ann",
        )
        items = [
            ReviewItemRecord(
                id=f"{rid}-{i}",
                review_id=rid,
                position=i,
                case_ref=f"eval:{i}",
                stratum="failure" if i == 1 else "other",
                inputs={"text": f"message {i}", "n": i},
                expected="billing",
                predicted="technical" if i == 1 else "billing",
                confidence=0.4 + i / 10,
                extra={"slices": ["spanish"]},
            )
            for i in range(1, n + 1)
        ]
        store.reviews.insert(conn, review, items)
    return review


def test_a_review_and_its_items_round_trip(store: Store) -> None:
    review = _review(store)
    assert review.id.startswith("r")
    assert len(review.id) == 6
    got = store.reviews.get(review.id)
    assert got == review
    items = store.reviews.items(review.id)
    assert [i.position for i in items] == [1, 2, 3]
    assert items[0].inputs == {"text": "message 1", "n": 1}
    assert items[0].confidence == pytest.approx(0.5)
    assert items[0].extra == {"slices": ["spanish"]}
    assert store.reviews.item(f"{review.id}-2") == items[1]
    assert store.reviews.item("nope") is None
    assert store.reviews.get("nope") is None
    assert [r.id for r in store.reviews.list_reviews("svc", 2)] == [review.id]
    assert store.reviews.list_reviews("svc", 1) == []


def test_a_resubmission_replaces_the_answer_and_counts_revisions(store: Store) -> None:
    review = _review(store)
    item = f"{review.id}-1"
    with store.write() as conn:
        first = store.reviews.put_scores(
            conn, item, "ann", {"correct_route": "no"}, note="x", now=NOW
        )
    assert first == [("correct_route", None, "no", 1)]
    later = NOW + timedelta(minutes=5)
    with store.write() as conn:
        again = store.reviews.put_scores(
            conn, item, "ann", {"correct_route": "yes"}, note=None, now=later
        )
    assert again == [("correct_route", "no", "yes", 2)]
    (score,) = store.reviews.scores(item_id=item)
    assert (score.value, score.revision, score.note, score.created_at) == ("yes", 2, None, later)
    assert len(store.reviews.scores(review_id=review.id)) == 1


def test_next_item_skips_what_the_reviewer_did_and_prefers_unreviewed_items(store: Store) -> None:
    review = _review(store)
    rid = review.id
    first = store.reviews.next_item(rid, "ann")
    assert first is not None
    assert first.id == f"{rid}-1"
    with store.write() as conn:
        store.reviews.put_scores(
            conn, f"{rid}-1", "ann", {"correct_route": "yes"}, note=None, now=NOW
        )
    nxt = store.reviews.next_item(rid, "ann")
    assert nxt is not None
    assert nxt.id == f"{rid}-2"
    # bob starts with what nobody has reviewed yet, then comes back to ann's item
    bob = store.reviews.next_item(rid, "bob")
    assert bob is not None
    assert bob.id == f"{rid}-2"
    with store.write() as conn:
        for i in (2, 3):
            store.reviews.put_scores(
                conn, f"{rid}-{i}", "ann", {"correct_route": "no"}, note=None, now=NOW
            )
            store.reviews.put_scores(
                conn, f"{rid}-{i}", "bob", {"correct_route": "no"}, note=None, now=NOW
            )
    bob = store.reviews.next_item(rid, "bob")
    assert bob is not None
    assert bob.id == f"{rid}-1"
    assert store.reviews.next_item(rid, "ann") is None


def test_promotions_are_recorded_once_per_item_and_dataset(store: Store) -> None:
    review = _review(store)
    item = f"{review.id}-1"
    with store.write() as conn:
        store.reviews.add_promotion(conn, item, "svc-regression", 1, "ann", NOW)
    assert store.reviews.promotions(item_id=item)[0]["dataset_number"] == 1
    assert len(store.reviews.promotions(review_id=review.id)) == 1
    with pytest.raises(DbIntegrityError), store.write() as conn:
        store.reviews.add_promotion(conn, item, "svc-regression", 2, "ann", NOW)


def test_a_score_for_an_unknown_item_is_refused_by_the_database(store: Store) -> None:
    _review(store)
    with pytest.raises(DbIntegrityError), store.write() as conn:
        store.reviews.put_scores(
            conn, "r2222-9", "ann", {"correct_route": "no"}, note=None, now=NOW
        )
