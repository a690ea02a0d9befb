"""Shadow pairs: how often the candidate's shadow answer agrees with the answer that was served,
and the disagreements a person should judge.

During a shadow step every shadow answer's log row names the served answer it copies
(``shadow_of:ID`` at the end of its reason), so each copy pairs with one served answer. A look
counts, over the step so far, the pairs where both gave a label, and the share of them with the
same label: overall, per slice of the service, and per hour (:data:`WINDOW_S`) of the step. A
copy that failed or gave no label, or whose served answer is not in the look's rows, is
*unpaired* and counted apart.

Disagreements go to a review for the service (one per rollout and shadow step, its source
``rollout:ID:STEP``, with the rubric :data:`RUBRIC`): each look adds at most
:data:`PER_LOOK` of the disagreements it has not sampled yet, drawn at random (seeded by the
rollout and the look), and a step holds at most :data:`SAMPLE_CAP`, so the sample spreads over
the step instead of being its first minutes.

>>> shadow_of("below_threshold;shadow_of:01J0ABC"), shadow_of(None)
('01J0ABC', None)
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np

from liveops.core.review.items import ReviewItemRecord, ReviewRecord
from liveops.core.rollout.state import RolloutRecord
from liveops.services.monitoring import ALL_SLICE
from liveops.store import Store
from liveops.store.registry import utc

__all__ = [
    "PER_LOOK",
    "RUBRIC",
    "SAMPLE_CAP",
    "SHADOW_TAG",
    "WINDOW_S",
    "Disagreement",
    "ShadowPairs",
    "pair_shadow",
    "review_source",
    "sample_disagreements",
    "shadow_of",
]

SHADOW_TAG = "shadow_of:"
SAMPLE_CAP = 50  # disagreements sampled into review per shadow step
PER_LOOK = 10  # at most this many new ones per look
WINDOW_S = 3600  # the agreement's windows: hours of the step
RUBRIC: list[dict[str, Any]] = [
    {"name": "right_answer", "choices": ["served", "shadow", "both", "neither"]}
]
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]


def shadow_of(reason: str | None) -> str | None:
    """The served prediction a shadow answer was a copy of (None: not a shadow answer)."""
    if not reason or SHADOW_TAG not in reason:
        return None
    return reason.rsplit(SHADOW_TAG, 1)[1].split(";", 1)[0]


@dataclass(frozen=True)
class Disagreement:
    """A shadow answer whose label differs from the served answer's."""

    served_id: str
    shadow_id: str
    served: str
    shadow: str
    at: datetime


@dataclass(frozen=True)
class ShadowPairs:
    summary: dict[str, Any]
    disagreements: tuple[Disagreement, ...]


def _rate(agree: int, pairs: int) -> dict[str, Any]:
    return {"pairs": pairs, "agree": agree, "agreement": agree / pairs if pairs else None}


def pair_shadow(
    shadow_rows: Sequence[Mapping[str, Any]],
    masks: Mapping[str, BoolArray],
    served_rows: Sequence[Mapping[str, Any]],
) -> ShadowPairs:
    """Agreement of the shadow rows with the served rows they copy, per slice and per hour.

    >>> served = [{"prediction_id": "a", "label": "red"}, {"prediction_id": "b", "label": "red"}]
    >>> t = datetime(2026, 1, 1)
    >>> copies = [
    ...     {"prediction_id": "s1", "reason": "shadow_of:a", "label": "red", "ts": t},
    ...     {"prediction_id": "s2", "reason": "shadow_of:b", "label": "white", "ts": t},
    ...     {"prediction_id": "s3", "reason": "shadow_of:c", "label": "red", "ts": t},
    ... ]
    >>> got = pair_shadow(copies, {"all": np.array([True, True, True])}, served)
    >>> got.summary["pairs"], got.summary["agreement"], got.summary["unpaired"]
    (2, 0.5, 1)
    >>> [(d.served, d.shadow) for d in got.disagreements]
    [('red', 'white')]
    """
    served = {r["prediction_id"]: r["label"] for r in served_rows}
    n = len(shadow_rows)
    paired = np.zeros(n, dtype=bool)
    agree = np.zeros(n, dtype=bool)
    found: list[Disagreement] = []
    windows: Counter[tuple[str, bool]] = Counter()
    for i, r in enumerate(shadow_rows):
        of = shadow_of(r["reason"])
        label = served.get(of) if of else None
        if of is None or label is None or r["label"] is None:
            continue
        paired[i] = True
        agree[i] = r["label"] == label
        at = utc(r["ts"])
        start = datetime.fromtimestamp(at.timestamp() // WINDOW_S * WINDOW_S, tz=at.tzinfo)
        windows[(start.isoformat(), bool(agree[i]))] += 1
        if not agree[i]:
            found.append(Disagreement(of, r["prediction_id"], str(label), str(r["label"]), at))
    total = int(paired.sum())
    summary: dict[str, Any] = {
        **_rate(int(agree.sum()), total),
        "unpaired": n - total,
        "slices": {
            name: _rate(int((agree & m).sum()), int((paired & m).sum()))
            for name, m in masks.items()
            if name != ALL_SLICE
        },
        "windows": [
            {"start": w, **_rate(windows[(w, True)], windows[(w, True)] + windows[(w, False)])}
            for w in sorted({w for w, _ in windows})[-24:]
        ],
    }
    return ShadowPairs(summary, tuple(found))


def review_source(rec: RolloutRecord) -> str:
    """The source a rollout step's review of disagreements is known by."""
    return f"rollout:{rec.id}:{rec.step}"


def sample_disagreements(
    store: Store,
    rec: RolloutRecord,
    found: Sequence[Disagreement],
    *,
    now: datetime,
    actor: str,
) -> dict[str, Any] | None:
    """Add up to :data:`PER_LOOK` new disagreements to the step's review (made on the first);
    return the review's id and size, or None when the step has none yet."""
    source = review_source(rec)
    review = store.reviews.by_source(source)
    done = set(store.reviews.case_refs(review.id)) if review else set()
    room = SAMPLE_CAP - len(done)
    fresh = [d for d in found if _ref(d) not in done]
    if room > 0 and fresh:
        picked = random.Random(f"{rec.id}:{rec.step}:{now.isoformat()}").sample(
            fresh, min(room, PER_LOOK, len(fresh))
        )
        # Read the served answers' inputs before the write: a reader inside it would wait on it.
        logged = {d.served_id: store.predictions.get(d.served_id) for d in picked}
        review = _write(store, rec, review, picked, logged, now=now, actor=actor)
    if review is None:
        return None
    return {
        "review": review.id,
        "items": int(review.sample.get("size", 0)),
        "cap": SAMPLE_CAP,
        "disagreements": len(found),
    }


def _ref(d: Disagreement) -> str:
    return f"prediction:{d.served_id}"


def _write(
    store: Store,
    rec: RolloutRecord,
    review: ReviewRecord | None,
    picked: Sequence[Disagreement],
    logged: Mapping[str, Mapping[str, Any] | None],
    *,
    now: datetime,
    actor: str,
) -> ReviewRecord:
    source = review_source(rec)
    step = rec.current.label()
    with store.write() as conn:
        review = store.reviews.by_source(source, conn)  # another controller may have added
        done = set(store.reviews.case_refs(review.id, conn)) if review else set()
        todo = [d for d in picked if _ref(d) not in done][: SAMPLE_CAP - len(done)]
        rid = review.id if review else store.reviews.new_id(conn)
        start = len(done) + 1
        items = [
            _item(rid, pos, d, logged.get(d.served_id), rec, step)
            for pos, d in enumerate(todo, start=start)
        ]
        size = len(done) + len(items)
        sample = {
            "requested": SAMPLE_CAP,
            "size": size,
            "seed": f"{rec.id}:{rec.step}",
            "strata": {"disagreement": size},
            "rollout": rec.id,
            "step": step,
            "served_version": rec.baseline,
            "shadow_version": rec.version,
            "expected_column": "label",
        }
        if review is None:
            review = ReviewRecord(
                id=rid, service=rec.service, version=rec.version, source_run=source,
                rubric=RUBRIC, sample=sample, created_at=now, actor=actor,
            )  # fmt: skip
            store.reviews.insert(conn, review, items)
            action = "review.created"
        else:
            store.reviews.add_items(conn, rid, items, sample)
            review = replace(review, sample=sample)
            action = "review.items_added"
        if items:
            store.audit.append(
                conn, actor=actor, action=action, object_type="review", object_id=rid,
                data={"subject": review.subject, "source_run": source, "added": len(items),
                      **sample},
            )  # fmt: skip
    return review


def _item(
    rid: str,
    pos: int,
    d: Disagreement,
    row: Mapping[str, Any] | None,
    rec: RolloutRecord,
    step: str,
) -> ReviewItemRecord:
    inputs = dict(row["inputs"]) if row and isinstance(row.get("inputs"), dict) else {}
    labels = [f for f in (row or {}).get("feedback", []) if _get(f, "kind") == "label"]
    current = [f for f in labels if _get(f, "superseded_by") is None]
    truth = _get(current[-1], "value") if current else None
    return ReviewItemRecord(
        id=f"{rid}-{pos}",
        review_id=rid,
        position=pos,
        case_ref=_ref(d),
        stratum="disagreement",
        inputs=inputs,
        expected=None if truth is None else str(truth),
        predicted=d.shadow,
        confidence=None,
        extra={
            "served": f"{rec.service}@{rec.baseline}: {d.served}",
            "shadow": f"{rec.service}@{rec.version}: {d.shadow}",
            "served_prediction": d.served_id,
            "shadow_prediction": d.shadow_id,
            "step": step,
            "at": d.at.isoformat(),
        },
    )


def _get(row: Any, key: str) -> Any:
    return row.get(key) if isinstance(row, Mapping) else getattr(row, key, None)
