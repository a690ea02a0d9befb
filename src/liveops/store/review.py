"""The review aggregate: reviews, their items, reviewers' scores and promotions.

Methods that change state take the caller's write :class:`Connection` (so the change and its
audit event commit together); readers open their own short transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, func, select, update

from liveops.core.review.items import ReviewItemRecord, ReviewRecord, ScoreRecord
from liveops.store.db import connect
from liveops.store.registry import utc
from liveops.store.review_tables import review_items, review_promotions, review_scores, reviews

__all__ = ["ReviewStore", "ScoreChange"]

_ID_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: ids are read and typed


ScoreChange = tuple[str, str | None, str, int]  # rubric item, previous value, new value, revision


class ReviewStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # --- writes ---------------------------------------------------------------------------

    def new_id(self, conn: Connection) -> str:
        """A fresh short review id such as ``r7k2qx``."""
        while True:
            rid = "r" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(5))
            if conn.execute(select(reviews.c.id).where(reviews.c.id == rid)).first() is None:
                return rid

    def insert(self, conn: Connection, review: ReviewRecord, items: list[ReviewItemRecord]) -> None:
        values = review.to_dict()
        values.pop("subject")
        values["created_at"] = review.created_at
        conn.execute(reviews.insert().values(**values))
        if items:
            conn.execute(review_items.insert(), [i.to_dict() for i in items])

    def add_items(
        self,
        conn: Connection,
        review_id: str,
        items: list[ReviewItemRecord],
        sample: Mapping[str, Any],
    ) -> None:
        """Append ``items`` to an existing review and store its new ``sample`` description
        (a rollout's review of shadow disagreements grows look by look)."""
        if items:
            conn.execute(review_items.insert(), [i.to_dict() for i in items])
        conn.execute(update(reviews).where(reviews.c.id == review_id).values(sample=dict(sample)))

    def put_scores(
        self,
        conn: Connection,
        item_id: str,
        reviewer: str,
        scores: Mapping[str, str],
        *,
        note: str | None,
        now: datetime,
    ) -> list[ScoreChange]:
        """Record a reviewer's answers; an answer given before is replaced (revision + 1)."""
        changes: list[ScoreChange] = []
        for rubric_item, value in scores.items():
            key = (
                (review_scores.c.item_id == item_id)
                & (review_scores.c.reviewer == reviewer)
                & (review_scores.c.rubric_item == rubric_item)
            )
            old = conn.execute(select(review_scores.c.value, review_scores.c.revision).where(key))
            row = old.first()
            if row is None:
                conn.execute(
                    review_scores.insert().values(
                        item_id=item_id,
                        reviewer=reviewer,
                        rubric_item=rubric_item,
                        value=value,
                        note=note,
                        revision=1,
                        created_at=now,
                    )
                )
                changes.append((rubric_item, None, value, 1))
            else:
                revision = int(row.revision) + 1
                conn.execute(
                    update(review_scores)
                    .where(key)
                    .values(value=value, note=note, revision=revision, created_at=now)
                )
                changes.append((rubric_item, str(row.value), value, revision))
        return changes

    def add_promotion(
        self, conn: Connection, item_id: str, dataset: str, number: int, actor: str, now: datetime
    ) -> None:
        conn.execute(
            review_promotions.insert().values(
                item_id=item_id,
                dataset=dataset,
                dataset_number=number,
                promoted_by=actor,
                promoted_at=now,
            )
        )

    # --- reads ----------------------------------------------------------------------------

    def get(self, review_id: str, conn: Connection | None = None) -> ReviewRecord | None:
        q = select(reviews).where(reviews.c.id == review_id)
        row = self._first(q, conn)
        return _review(row) if row else None

    def by_source(self, source_run: str, conn: Connection | None = None) -> ReviewRecord | None:
        """The review made from ``source_run`` (an evaluation run, or ``rollout:ID:STEP``)."""
        q = select(reviews).where(reviews.c.source_run == source_run).order_by(reviews.c.id)
        row = self._first(q.limit(1), conn)
        return _review(row) if row else None

    def case_refs(self, review_id: str, conn: Connection | None = None) -> list[str]:
        """The case references of a review's items, in position order."""
        q = (
            select(review_items.c.case_ref)
            .where(review_items.c.review_id == review_id)
            .order_by(review_items.c.position)
        )
        if conn is not None:
            return [r[0] for r in conn.execute(q)]
        with connect(self._engine, write=False) as c:
            return [r[0] for r in c.execute(q)]

    def list_reviews(
        self, service: str | None = None, version: int | None = None
    ) -> list[ReviewRecord]:
        """Reviews, newest first, optionally of one service (and version)."""
        q = select(reviews).order_by(reviews.c.created_at.desc(), reviews.c.id)
        if service:
            q = q.where(reviews.c.service == service)
        if version is not None:
            q = q.where(reviews.c.version == version)
        with connect(self._engine, write=False) as conn:
            return [_review(r) for r in conn.execute(q).mappings()]

    def items(self, review_id: str) -> list[ReviewItemRecord]:
        q = (
            select(review_items)
            .where(review_items.c.review_id == review_id)
            .order_by(review_items.c.position)
        )
        with connect(self._engine, write=False) as conn:
            return [_item(r) for r in conn.execute(q).mappings()]

    def item(self, item_id: str, conn: Connection | None = None) -> ReviewItemRecord | None:
        row = self._first(select(review_items).where(review_items.c.id == item_id), conn)
        return _item(row) if row else None

    def scores(
        self, *, review_id: str | None = None, item_id: str | None = None
    ) -> list[ScoreRecord]:
        """Current scores of one review or one item, in item, reviewer, rubric order."""
        q = select(review_scores).order_by(
            review_scores.c.item_id, review_scores.c.reviewer, review_scores.c.rubric_item
        )
        if item_id:
            q = q.where(review_scores.c.item_id == item_id)
        if review_id:
            ids = select(review_items.c.id).where(review_items.c.review_id == review_id)
            q = q.where(review_scores.c.item_id.in_(ids))
        with connect(self._engine, write=False) as conn:
            return [_score(r) for r in conn.execute(q).mappings()]

    def next_item(self, review_id: str, reviewer: str) -> ReviewItemRecord | None:
        """The next item ``reviewer`` has not answered: fewest reviewers so far, then position."""
        mine = select(review_scores.c.item_id).where(review_scores.c.reviewer == reviewer)
        reviewers = (
            select(
                review_scores.c.item_id,
                func.count(func.distinct(review_scores.c.reviewer)).label("n"),
            )
            .group_by(review_scores.c.item_id)
            .subquery()
        )
        q = (
            select(review_items)
            .outerjoin(reviewers, reviewers.c.item_id == review_items.c.id)
            .where(review_items.c.review_id == review_id, review_items.c.id.not_in(mine))
            .order_by(func.coalesce(reviewers.c.n, 0), review_items.c.position)
            .limit(1)
        )
        row = self._first(q, None)
        return _item(row) if row else None

    def promotions(
        self, *, item_id: str | None = None, review_id: str | None = None
    ) -> list[dict[str, Any]]:
        q = select(review_promotions).order_by(
            review_promotions.c.dataset, review_promotions.c.dataset_number
        )
        if item_id:
            q = q.where(review_promotions.c.item_id == item_id)
        if review_id:
            ids = select(review_items.c.id).where(review_items.c.review_id == review_id)
            q = q.where(review_promotions.c.item_id.in_(ids))
        with connect(self._engine, write=False) as conn:
            return [
                {
                    "item_id": r["item_id"],
                    "dataset": r["dataset"],
                    "dataset_number": int(r["dataset_number"]),
                    "promoted_by": r["promoted_by"],
                    "promoted_at": utc(r["promoted_at"]).isoformat(),
                }
                for r in conn.execute(q).mappings()
            ]

    def _first(self, q: Any, conn: Connection | None) -> RowMapping | None:
        if conn is not None:
            row: RowMapping | None = conn.execute(q).mappings().first()
            return row
        with connect(self._engine, write=False) as c:
            row = c.execute(q).mappings().first()
            return row


def _review(r: RowMapping) -> ReviewRecord:
    return ReviewRecord(
        id=r["id"],
        service=r["service"],
        version=int(r["version"]),
        source_run=r["source_run"],
        rubric=list(r["rubric"]),
        sample=dict(r["sample"]),
        created_at=utc(r["created_at"]),
        actor=r["actor"],
    )


def _item(r: RowMapping) -> ReviewItemRecord:
    return ReviewItemRecord(
        id=r["id"],
        review_id=r["review_id"],
        position=int(r["position"]),
        case_ref=r["case_ref"],
        stratum=r["stratum"],
        inputs=dict(r["inputs"]),
        expected=r["expected"],
        predicted=r["predicted"],
        confidence=None if r["confidence"] is None else float(r["confidence"]),
        extra=dict(r["extra"] or {}),
    )


def _score(r: RowMapping) -> ScoreRecord:
    return ScoreRecord(
        item_id=r["item_id"],
        reviewer=r["reviewer"],
        rubric_item=r["rubric_item"],
        value=r["value"],
        note=r["note"],
        created_at=utc(r["created_at"]),
        revision=int(r["revision"]),
    )
