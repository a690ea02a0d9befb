"""Demo stage: a small human review of each evaluated version, scored by two scripted reviewers.

After the evaluation stage, each version's latest run gets a review of :data:`SAMPLE` items.
Two scripted reviewers (``demo-reviewer-a`` and ``demo-reviewer-b``, clearly not people) answer
the suite's rubric from what the case shows: the route is right when the prediction matches the
label; a Spanish failure is a ``language`` problem caused by ``data``. The second reviewer reads
``needs_human`` and ``failure_type`` a little differently on some items, so agreement is high but
not perfect, as with real reviewers. Re-running the demo skips versions that already have a review.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from liveops.core.readiness import Readiness
from liveops.core.review.items import ReviewItemRecord
from liveops.services.readiness import readiness
from liveops.services.review import create_review, latest_review, submit
from liveops.store import Store

__all__ = ["REVIEWERS", "SAMPLE", "ReviewStageResult", "run_review_stage", "scripted_scores"]

SAMPLE = 10
REVIEWERS = ("demo-reviewer-a", "demo-reviewer-b")


@dataclass
class ReviewStageResult:
    reviews: dict[str, str] = field(default_factory=dict)  # version ref -> review id
    created: list[str] = field(default_factory=list)
    readiness: dict[str, Readiness] = field(default_factory=dict)


def scripted_scores(item: ReviewItemRecord, reviewer: str, threshold: float) -> dict[str, str]:
    """What a scripted reviewer answers for one item (deterministic).

    >>> item = ReviewItemRecord("r-1", "r", 1, "eval:x", "failure", {"text": "hola",
    ...     "language": "es"}, "billing", "technical", 0.55)
    >>> scores = scripted_scores(item, "demo-reviewer-a", 0.7)
    >>> scores["correct_route"], scores["failure_type"], scores["likely_cause"]
    ('no', 'language', 'data')
    """
    right = item.predicted is not None and item.predicted == item.expected
    low = item.confidence is None or item.confidence < threshold
    second = reviewer == REVIEWERS[1]
    scores = {"correct_route": "yes" if right else "no"}
    needs_human = low or not right
    if second and right and item.position % 5 == 0:
        needs_human = not needs_human  # the second reviewer judges some right answers differently
    scores["needs_human"] = "yes" if needs_human else "no"
    if not right:
        spanish = item.inputs.get("language") == "es"
        tags = item.inputs.get("tags") or []
        if spanish:
            kind = "language"
        elif "vague" in tags:
            kind = "ambiguous_message"
        else:
            kind = "wrong_team"
        if second and kind == "wrong_team" and item.position % 2 == 0:
            kind = "ambiguous_message"
        scores["failure_type"] = kind
        scores["likely_cause"] = "data" if spanish else ("threshold" if low else "model")
    return scores


def run_review_stage(
    store: Store,
    folder: Path,
    versions: list[str],
    *,
    actor: str,
    progress: Callable[[str, bool], None],
) -> ReviewStageResult:
    """Review the latest evaluation run of each version in ``versions`` (``svc@N``)."""
    result = ReviewStageResult()
    for ref in versions:
        service, _, number = ref.partition("@")
        existing = latest_review(store, service, int(number))
        if existing is not None:
            result.reviews[ref] = existing.id
            progress(f"review {existing.id} of {ref} with two scripted reviewers", False)
            continue
        runs = store.evaluation.list_runs(service, int(number), limit=1)
        if not runs:
            continue
        review, items = create_review(
            store, runs[0].id, sample=SAMPLE, seed=0, actor=actor, project_dir=folder
        )
        threshold = float(review.sample.get("low_confidence", 0.7))
        for reviewer in REVIEWERS:
            for item in items:
                submit(store, item.id, reviewer, _scores(item, reviewer, threshold))
        result.reviews[ref] = review.id
        result.created.append(review.id)
        progress(f"review {review.id} of {ref} with two scripted reviewers", True)
    for ref in versions:
        result.readiness[ref] = readiness(store, ref)
    return result


def _scores(item: ReviewItemRecord, reviewer: str, threshold: float) -> dict[str, Any]:
    return dict(scripted_scores(item, reviewer, threshold))
