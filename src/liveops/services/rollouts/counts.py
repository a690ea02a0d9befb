"""What one look counts: per arm, the answers and events behind each gate, from the log.

The candidate's rows are those of the current step (its arm: ``shadow`` or ``canary``); the
baseline's are every ``production`` row of the baseline version since the rollout started
(the same version throughout, and at canary 100% it answers nothing new). Accuracy counts
answers with label feedback, each judged on the model's label as the monitor judges it
(:func:`judged_label`: the top of the scores of an answer sent to human review or answered by
a fallback); a shadow answer is judged by the feedback of the answer that was served (its
log row names it: ``shadow_of:ID`` at the end of its reason). A latency gate counts
answers slower than the baseline's quantile (plus the margin for the candidate), as
:func:`~liveops.core.rollout.gates.latency_thresholds` says. ``outcome.NAME.rate`` counts the
answers with a current ``NAME`` outcome event among all of the arm's answers (the monitor's
definition). An A/B plan's goals are counted as its gates are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import orjson

from liveops.core.rollout.ab import AbGoal
from liveops.core.rollout.gates import (
    LATENCY_QUANTILES,
    MEAN_SCALES,
    ArmCounts,
    RolloutGate,
    RolloutState,
    SplitCounts,
    latency_thresholds,
    metric_kind,
)
from liveops.core.rollout.state import RolloutRecord
from liveops.errors import InvalidInputError, UsageError
from liveops.services.monitoring import ALL_SLICE, Calibrators, Scopes, right_probabilities
from liveops.services.rollouts.shadow import Disagreement, pair_shadow, shadow_of
from liveops.store import Store
from liveops.store.registry import utc

__all__ = ["COUNTED", "Look", "check_countable", "count_look", "shadow_of"]

BASELINE_ARM = "production"
# The live metrics a look counts from the log (others are refused when a rollout starts).
COUNTED = (
    "error_rate",
    "fallback_rate",
    "fallback_rate.REASON",
    "timeout_rate",
    "below_threshold_rate",
    "review_rate",
    "accuracy",
    *LATENCY_QUANTILES,
    *MEAN_SCALES,
    "outcome.NAME.rate",
)
TYPED = ("channel", "plan", "language")
ESTIMATED = "estimated.accuracy"
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def _pattern(metric: str) -> str:
    if metric.startswith("fallback_rate."):
        return "fallback_rate.REASON"
    if _outcome(metric) is not None:
        return "outcome.NAME.rate"
    return metric


def _outcome(metric: str) -> str | None:
    """The outcome NAME of ``outcome.NAME.rate``, else None."""
    parts = metric.split(".")
    if len(parts) == 3 and parts[0] == "outcome" and parts[2] == "rate":
        return parts[1]
    return None


def check_countable(
    gates: Sequence[RolloutGate], scopes: Scopes, goals: Sequence[AbGoal] = ()
) -> None:
    """Refuse, before a rollout starts, a gate (or an A/B goal) the controller cannot count."""
    names = set(scopes.names())
    judged: list[RolloutGate | AbGoal] = [*gates, *goals]
    for g in judged:
        what = "goal" if isinstance(g, AbGoal) else "gate"
        if _pattern(g.metric) not in COUNTED:
            raise InvalidInputError(
                f"{what} {g.label()!r}: the rollout controller does not count {g.metric} yet",
                hint=f"rollout gates count: {', '.join(COUNTED)}",
            )
        if g.slice is not None and g.slice not in names:
            raise InvalidInputError(
                f"{what} {g.label()!r}: unknown slice {g.slice!r}",
                hint=f"slices of this service: {', '.join(sorted(names))}",
            )


@dataclass(frozen=True)
class Look:
    """The counts of one look, and what they came from."""

    state: RolloutState
    candidate_n: int  # answers of the candidate arm in this step (the step's minimum sample)
    baseline_n: int
    summary: dict[str, Any]
    disagreements: tuple[Disagreement, ...] = ()  # shadow steps: copies unlike the served


@dataclass(frozen=True)
class _Arm:
    n: int
    label: list[str | None]
    actual: list[str | None]
    error: list[str | None]
    fallback: BoolArray
    reason: list[str | None]
    decision: list[str]
    latency: np.ndarray[Any, np.dtype[np.float64]]
    cost: np.ndarray[Any, np.dtype[np.float64]]  # unknown: 0, as in the monitor's windows
    masks: dict[str, BoolArray]
    outcomes: dict[str, BoolArray]  # per outcome name: the answers that had it
    right: FloatArray  # per answer, the calibrated probability it is right (NaN: not estimated)


@dataclass(frozen=True)
class _Wanted:
    """What a look reads beyond the log rows: labels, outcome events, the estimate."""

    labels: bool
    outcomes: list[str]
    estimate: Calibrators | None


def count_look(
    store: Store,
    rec: RolloutRecord,
    scopes: Scopes,
    now: datetime,
    calibrators: Calibrators | None = None,
) -> Look:
    """Count every gate of ``rec``'s plan (and its goals) on each arm's rows up to ``now``.
    ``calibrators`` give each version's calibrated probabilities, for an
    ``estimated.accuracy`` gate (without them its arms count no answers)."""
    step = rec.current
    cand_arm = "shadow" if step.kind == "shadow" else "canary"
    shadow = step.kind == "shadow"
    judged: list[RolloutGate | AbGoal] = [*rec.plan.gates, *rec.plan.goals]
    if not shadow and not any(g.slice for g in judged):
        scopes = Scopes()  # the whole arm only: no slice to compute (shadow: agreement per slice)
    key = rec.plan.key
    split_check = step.kind == "canary" and step.share < 1.0 and (key is None or key.field)
    estimate = calibrators if any(g.metric == ESTIMATED for g in judged) else None
    # the estimate groups answers by their inputs when the calibration has groups
    needs_inputs = scopes.needs_inputs or bool(split_check and key is not None) or bool(estimate)
    cand_rows = store.rollouts.arm_rows(
        rec.service, rec.step_started_at, now, [(cand_arm, rec.version)], inputs=needs_inputs
    )
    base_rows = store.rollouts.arm_rows(
        rec.service, rec.started_at, now, [(BASELINE_ARM, rec.baseline)], inputs=needs_inputs
    )
    want = _Wanted(
        labels=any(g.metric == "accuracy" for g in judged),
        outcomes=sorted({n for g in judged if (n := _outcome(g.metric)) is not None}),
        estimate=estimate,
    )
    cand = _arm(store, cand_rows, scopes, want, rec.version, shadow=shadow)
    base = _arm(store, base_rows, scopes, want, rec.baseline, shadow=False)
    counts: dict[tuple[str, str], ArmCounts] = {}
    for g in judged:
        scope = g.slice or ALL_SLICE
        mc, mb = cand.masks[scope], base.masks[scope]
        counts[g.key] = _gate_counts(g, cand, mc, base, mb)
    split = None
    units: dict[str, int] = {}
    if split_check:
        step_base = [r for r in base_rows if utc(r["ts"]) >= rec.step_started_at]
        if key is None:  # no sticky key: requests are the unit of assignment
            units = {"unit": 0, "baseline": len(step_base), "candidate": cand.n}
        else:  # each key is assigned once: count the distinct keys each arm answered
            assert key.field is not None
            units = {
                "unit": 1,
                "baseline": _distinct_keys(step_base, key.field),
                "candidate": _distinct_keys(cand_rows, key.field),
            }
        split = SplitCounts(
            keys=np.array([units["baseline"], units["candidate"]]),
            weights=[1.0 - step.share, step.share],
        )
    summary = {
        "candidate": {"arm": cand_arm, "version": rec.version, "answers": cand.n},
        "baseline": {"arm": BASELINE_ARM, "version": rec.baseline, "answers": base.n},
        "since": {
            "candidate": rec.step_started_at.isoformat(),
            "baseline": rec.started_at.isoformat(),
        },
    }
    pairs = pair_shadow(cand_rows, cand.masks, base_rows) if shadow else None
    if pairs is not None:
        summary["shadow"] = pairs.summary
    if units:
        summary["split"] = {
            "unit": "requests" if units["unit"] == 0 else f"distinct {key.field if key else ''}",
            "baseline": units["baseline"],
            "candidate": units["candidate"],
            "weights": [1.0 - step.share, step.share],
        }
    found = pairs.disagreements if pairs is not None else ()
    return Look(RolloutState(counts, split), cand.n, base.n, summary, found)


def _distinct_keys(rows: Sequence[Mapping[str, Any]], field: str) -> int:
    """The distinct values of the sticky key ``field`` in the rows' logged inputs (requests
    without the key went to a random arm and are left out)."""
    seen = set()
    for r in rows:
        inputs = _json(r.get("inputs")) or {}
        value = inputs.get(field) if isinstance(inputs, dict) else None
        if value is not None and value != "":
            seen.add(str(value))
    return len(seen)


def _gate_counts(
    g: RolloutGate | AbGoal, cand: _Arm, mc: BoolArray, base: _Arm, mb: BoolArray
) -> ArmCounts:
    kind = metric_kind(g.metric)
    if kind == "latency":
        assert isinstance(g, RolloutGate)  # goals are rates
        q = LATENCY_QUANTILES[g.metric]
        lb = base.latency[mb]
        if lb.size == 0:
            return ArmCounts(int(mc.sum()), 0, 0, 0)
        t_cand, t_base = latency_thresholds(g, max(float(np.quantile(lb, q)), 1e-9))
        return ArmCounts(
            int(mc.sum()),
            int((cand.latency[mc] > t_cand).sum()),
            int(lb.size),
            int((lb > t_base).sum()),
        )
    if kind == "mean":  # a cost per answer (per 1,000 answers: times 1,000), or an estimate
        vc, vb = _values(g.metric, cand, mc), _values(g.metric, base, mb)
        return ArmCounts(
            vc.size, float(vc.sum()), vb.size, float(vb.sum()),
            float((vc**2).sum()), float((vb**2).sum()),
        )  # fmt: skip
    if g.metric == "accuracy":
        return ArmCounts(*_accuracy(cand, mc), *_accuracy(base, mb))
    return ArmCounts(
        int(mc.sum()), int((_events(g.metric, cand) & mc).sum()),
        int(mb.sum()), int((_events(g.metric, base) & mb).sum()),
    )  # fmt: skip


def _values(metric: str, arm: _Arm, mask: BoolArray) -> FloatArray:
    """Each answer's value of the mean ``metric``: its cost (scaled), or its calibrated
    probability of being right (answers that cannot be estimated are left out)."""
    if metric == ESTIMATED:
        p = arm.right[mask]
        return p[~np.isnan(p)]
    scaled: FloatArray = arm.cost[mask] * MEAN_SCALES[metric]
    return scaled


def _accuracy(arm: _Arm, mask: BoolArray) -> tuple[int, int]:
    n = k = 0
    for i in np.flatnonzero(mask):
        actual = arm.actual[i]
        if actual is None:
            continue
        n += 1
        k += arm.label[i] == actual
    return n, k


def _events(metric: str, arm: _Arm) -> BoolArray:
    if metric == "error_rate":
        return np.array([e is not None for e in arm.error], dtype=bool)
    if metric == "timeout_rate":
        return np.array([e == "model_timeout" for e in arm.error], dtype=bool)
    if metric == "fallback_rate":
        return arm.fallback
    if metric.startswith("fallback_rate."):
        want = metric.split(".", 1)[1]
        first = [(r or "unknown").split(";", 1)[0].split(":", 1)[0] for r in arm.reason]
        match: BoolArray = np.array([f == want for f in first], dtype=bool)
        return arm.fallback & match
    if metric == "below_threshold_rate":
        return np.array([r is not None and "below_threshold" in r for r in arm.reason], dtype=bool)
    if metric == "review_rate":
        return np.array([d == "human_review" for d in arm.decision], dtype=bool)
    name = _outcome(metric)
    if name is not None:
        return arm.outcomes[name]
    raise UsageError(f"the rollout controller does not count {metric}")


def _arm(
    store: Store,
    rows: Sequence[Mapping[str, Any]],
    scopes: Scopes,
    want: _Wanted,
    version: int,
    *,
    shadow: bool,
) -> _Arm:
    n = len(rows)
    reason = [r["reason"] for r in rows]
    actual: list[str | None] = [None] * n
    served = [
        (shadow_of(x) if shadow else r["prediction_id"]) or ""
        for r, x in zip(rows, reason, strict=True)
    ]
    if want.labels and n:
        found = store.rollouts.labels_for([s for s in served if s])
        actual = [found.get(s) for s in served]
    had: dict[str, BoolArray] = {}
    if want.outcomes:
        events = store.rollouts.outcomes_for([s for s in served if s]) if n else set()
        for name in want.outcomes:
            had[name] = np.array([(s, name) in events for s in served], dtype=bool)
    segs: dict[str, list[str | None]] = {}
    for seg in scopes.segments:
        if seg.name in TYPED:
            segs[seg.name] = [r[seg.name] for r in rows]
        else:
            segs[seg.name] = [_segment(r["segments"], seg.name) for r in rows]
    read_inputs = scopes.needs_inputs or want.estimate is not None
    inputs = [_json(r.get("inputs")) or {} for r in rows] if read_inputs else None
    masks = scopes.masks(inputs if scopes.needs_inputs else None, segs, n)
    label = [judged_label(r) for r in rows]
    right = np.full(n, np.nan)
    if want.estimate is not None and n:
        scores = [r["scores"] for r in rows]
        right = right_probabilities(want.estimate, version, label, scores, inputs)
    return _Arm(
        n=n,
        label=label,
        actual=actual,
        error=[r["error"] for r in rows],
        fallback=np.array([r["fallback"] is not None for r in rows], dtype=bool),
        reason=reason,
        decision=[r["decision"] for r in rows],
        latency=np.array([float(r["latency_ms"]) for r in rows], dtype=float),
        cost=np.array([float(r.get("cost") or 0.0) for r in rows], dtype=float),
        masks=masks,
        outcomes=had,
        right=right,
    )


def judged_label(row: Mapping[str, Any]) -> str | None:
    """The label a row's accuracy is judged on, as the monitor and offline evaluation judge
    it: the model's. An automatic answer is judged on its answered label; an answer that was
    not the model's (sent to human review, answered by a fallback, abstained) on the top label
    of its logged scores; a failed model call (no scores) on nothing, so never right.

    >>> row = {"decision": "human_review", "label": None, "fallback": None, "error": None,
    ...        "scores": '{"billing": 0.55, "technical": 0.45}'}
    >>> judged_label(row), judged_label({**row, "decision": "automatic", "label": "technical"})
    ('billing', 'technical')
    """
    label = row.get("label")
    automatic = (
        row.get("decision") == "automatic"
        and row.get("fallback") is None
        and row.get("error") is None
        and label is not None
    )
    scores = None if automatic else _json(row.get("scores"))
    if isinstance(scores, dict) and scores:
        return str(max(scores, key=lambda k: scores[k]))
    if row.get("error") is not None and not automatic:
        return None
    return None if label is None else str(label)


def _segment(raw: Any, name: str) -> str | None:
    seg = _json(raw) or {}
    v = seg.get(name) if isinstance(seg, dict) else None
    return None if v is None else str(v)


def _json(raw: Any) -> Any:
    if raw is None or isinstance(raw, dict | list):
        return raw
    return orjson.loads(raw)
