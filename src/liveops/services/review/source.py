"""The adapter between evaluation runs and reviews: a stored run as a :class:`ReviewSource`.

It reads the run and its cases from the evaluation store, the rubric from the service's suite
file, and the version's decision threshold as the line below which an answer counts as low
confidence. Probe cases are not reviewed (they are synthetic); evaluation and must-pass cases
are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from liveops.core.review.items import CaseForReview, ReviewItemRecord, ReviewRecord
from liveops.core.review.rubric import parse_rubric
from liveops.errors import InvalidInputError
from liveops.services.evaluation import get_run, load_suite
from liveops.services.registry import get_service_spec
from liveops.services.review.queue import ReviewSource, create_review_from
from liveops.store import Store

__all__ = ["DEFAULT_LOW_CONFIDENCE", "create_review", "load_review_source"]

DEFAULT_LOW_CONFIDENCE = 0.7  # when the version has no decision threshold


def load_review_source(
    store: Store, run_id: str, *, project_dir: Path | None = None
) -> ReviewSource:
    """The cases of evaluation run ``run_id`` and the rubric of its service's suite."""
    run = get_run(store, run_id.strip())
    spec = get_service_spec(store, run.service)
    suite, path = load_suite(spec, project_dir or Path.cwd())
    rubric_items = (suite.review or {}).get("rubric")
    if not rubric_items:
        raise InvalidInputError(
            f"the suite {path.name} of {run.service} declares no review rubric",
            hint="add review: {rubric: [{name: correct_route, scale: [yes, no]}]} to the suite",
        )
    try:
        rubric = parse_rubric(rubric_items)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{path.name}: {exc.message}", hint=exc.hint) from None
    version = store.registry.get_version(run.service, run.version)
    decision = (version.config.get("decision") or {}) if version else {}
    threshold = decision.get("threshold")
    low = float(threshold) if isinstance(threshold, int | float) else DEFAULT_LOW_CONFIDENCE
    cases = [
        CaseForReview(
            case_ref=f"{c.source}:{c.case_id}",
            correct=c.correct,
            confidence=c.confidence,
            inputs=dict(c.inputs),
            expected=c.expected,
            predicted=c.predicted,
            error=c.error,
            extra={"source": c.source, "decision": c.decision, "groups": list(c.groups)},
        )
        for c in store.evaluation.cases(run.id)
        if c.source != "probe"
    ]
    return ReviewSource(
        run_id=run.id,
        service=run.service,
        version=run.version,
        rubric=rubric,
        cases=cases,
        low_confidence=low,
        expected_column=suite.cases.expected,
    )


def create_review(
    store: Store,
    run_id: str,
    *,
    sample: int = 50,
    seed: int = 0,
    actor: str,
    project_dir: Any = None,
) -> tuple[ReviewRecord, list[ReviewItemRecord]]:
    """Create a review of ``sample`` items from evaluation run ``run_id`` (the suite's rubric)."""
    source = load_review_source(store, run_id, project_dir=project_dir)
    return create_review_from(store, source, sample=sample, seed=seed, actor=actor)
