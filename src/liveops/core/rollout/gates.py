"""Rollout gates on live arms: what a controller calls at every look, and nothing more.

A rollout gate is written as the suite's gates are (``metric``, ``not_worse_than: baseline``
with a ``margin``, or ``better_than: baseline``; a ``slice``; a ``kind``), plus ``require:
pass`` for a gate that must have passed before a step advances. :func:`evaluate_gates` is pure:
it takes the counts per arm at one look (:class:`RolloutState`) and returns every verdict with
its raw values, and :func:`step_action` turns them into abort, hold or advance. The counts may
be numpy arrays of any shape, so a replay evaluates every minute of a thousand rollouts in one
call of the same function the controller calls once a minute.

>>> gates = [RolloutGate.from_spec({"metric": "error_rate", "kind": "guardrail",
...                                 "not_worse_than": "baseline", "margin": 0.01})]
>>> state = RolloutState(counts={("error_rate", "overall"): ArmCounts(
...     n_candidate=2000, k_candidate=90, n_baseline=18000, k_baseline=180)})
>>> result = evaluate_gates(gates, state, planned_n=2000)
>>> [r["verdict"] for r in result.records()], int(step_action(result, duration_met=True))
(['fail'], -1)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from liveops.core import catalogue
from liveops.core.rollout.sequential import (
    DEFAULT_ALPHA,
    DEFAULT_MIN_SAMPLE,
    FAIL,
    PASS,
    IntArray,
    Interval,
    SrmResult,
    mean_difference,
    non_inferiority,
    rate_difference,
    srm,
    superiority,
    verdict_name,
)
from liveops.errors import UsageError

__all__ = [
    "ABORT",
    "ADVANCE",
    "HOLD",
    "MEAN_SCALES",
    "ArmCounts",
    "GateOutcome",
    "GateSetResult",
    "RolloutGate",
    "RolloutState",
    "SplitCounts",
    "evaluate_gates",
    "latency_thresholds",
    "metric_kind",
    "step_action",
]

ABORT, HOLD, ADVANCE = -1, 0, 1

# Metrics that are a share of answers (events among answers): their difference has the
# confidence sequence of sequential.rate_difference. macro_f1, estimates or drift are not.
RATE_PATTERNS = frozenset(
    {
        "accuracy",
        "coverage",
        "selective_accuracy",
        "label_coverage",
        "per_class.LABEL.precision",
        "per_class.LABEL.recall",
        "per_class.LABEL.fpr",
        "error_rate",
        "fallback_rate",
        "fallback_rate.REASON",
        "below_threshold_rate",
        "review_rate",
        "timeout_rate",
        "availability",
        "label_share.LABEL",
        "rating.unhelpful_rate",
        "correction_rate",
        "outcome.NAME.rate",
    }
)
LATENCY_QUANTILES = {"latency.p50_ms": 0.50, "latency.p95_ms": 0.95, "latency.p99_ms": 0.99}
# Means of a value per answer, and what each answer's value is multiplied by: a cost (unknown
# counts 0, as in the monitor's windows; cost.per_1k is the cost of 1,000 answers), or the
# calibrated probability that the answer is right (estimated.accuracy: its mean is the
# label-free estimate, CBPE, of the arm's accuracy).
MEAN_SCALES = {"cost.per_request": 1.0, "cost.per_1k": 1000.0, "estimated.accuracy": 1.0}
MetricKind = Literal["rate", "latency", "mean"]


def metric_kind(metric: str) -> MetricKind:
    """Which sequential test a live metric takes: ``rate``, ``latency`` or ``mean``.

    >>> metric_kind("fallback_rate.timeout"), metric_kind("latency.p95_ms")
    ('rate', 'latency')
    >>> metric_kind("cost.per_request")
    'mean'
    >>> try:
    ...     metric_kind("macro_f1")
    ... except UsageError as exc:
    ...     print(exc.message)
    metric 'macro_f1' has no sequential test for rollouts
    """
    catalogue.check(metric, "live")  # an unknown name is refused with a suggestion
    found = catalogue.lookup(metric)
    assert found is not None
    pattern = found.definition.pattern
    if pattern in RATE_PATTERNS:
        return "rate"
    if pattern in LATENCY_QUANTILES:
        return "latency"
    if pattern in MEAN_SCALES:
        return "mean"
    raise UsageError(
        f"metric {metric!r} has no sequential test for rollouts",
        hint="rollout gates take a share of answers ("
        + ", ".join(sorted(RATE_PATTERNS))
        + "), a latency quantile ("
        + ", ".join(LATENCY_QUANTILES)
        + ") or a mean per answer ("
        + ", ".join(MEAN_SCALES)
        + "); watch the others with the monitor",
    )


@dataclass(frozen=True)
class RolloutGate:
    """One gate of a rollout step, validated when built (see :meth:`from_spec`).

    ``planned_n`` (optional) is the effective sample (``sequential.effective_n``) the step
    expects for this metric; the confidence sequence is tightest there. Without it the
    caller's default for the step is used.
    """

    metric: str
    kind: Literal["blocker", "guardrail", "goal"]
    rule: Literal["not_worse_than", "better_than"]
    margin: float = 0.0
    slice: str | None = None
    require: Literal["pass"] | None = None
    alpha: float = DEFAULT_ALPHA
    min_sample: int = DEFAULT_MIN_SAMPLE
    planned_n: float | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        metric_kind(self.metric)
        if self.kind not in ("blocker", "guardrail", "goal"):
            raise UsageError(
                f"a rollout gate's kind is blocker, guardrail or goal, not {self.kind!r}"
            )
        if self.rule not in ("not_worse_than", "better_than"):
            raise UsageError(
                f"a rollout gate compares arms: not_worse_than or better_than, not {self.rule!r}",
                hint="min/max on a live metric belong to the monitor's alert rules",
            )
        if not (isinstance(self.margin, int | float) and self.margin >= 0):
            raise UsageError(
                f"gate on {self.metric}: a not_worse_than margin cannot be negative, "
                f"got {self.margin!r}",
                hint="margins are absolute and at least 0: 0.01 is one percentage point",
            )
        if self.rule == "better_than" and self.margin:
            raise UsageError("margin applies only to not_worse_than: baseline")
        if not 0.0 < self.alpha < 1.0:
            raise UsageError(f"alpha must be between 0 and 1, got {self.alpha!r}")
        if self.min_sample < 1:
            raise UsageError(f"min_sample must be at least 1, got {self.min_sample!r}")
        if self.planned_n is not None and not self.planned_n > 0:
            raise UsageError(f"planned_n must be positive, got {self.planned_n!r}")

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> RolloutGate:
        """A gate from its YAML form, as the suite writes gates.

        >>> RolloutGate.from_spec({"metric": "accuracy", "slice": "spanish", "kind": "guardrail",
        ...                        "not_worse_than": "baseline", "margin": 0.01}).label()
        'accuracy[spanish] not worse than baseline by 0.01'
        """
        known = {
            "metric", "kind", "not_worse_than", "better_than", "margin", "slice", "require",
            "alpha", "min_sample", "planned_n", "name",
        }  # fmt: skip
        fixed = [r for r in ("min", "max") if r in spec]
        if fixed:
            raise UsageError(
                f"a rollout gate compares arms (not_worse_than or better_than: baseline); "
                f"{fixed[0]} on a live metric is an alert rule, not a rollout gate",
                hint="e.g. {metric: error_rate, kind: guardrail, not_worse_than: baseline, "
                "margin: 0.005}",
            )
        unknown = sorted(set(spec) - known)
        if unknown:
            raise UsageError(
                f"unknown field(s) in a rollout gate: {', '.join(unknown)}",
                hint=f"a rollout gate has: {', '.join(sorted(known))}",
            )
        rules = [r for r in ("not_worse_than", "better_than") if spec.get(r) is not None]
        if len(rules) != 1 or spec[rules[0]] != "baseline":
            raise UsageError(
                "a rollout gate needs exactly one rule: not_worse_than: baseline or "
                f"better_than: baseline (got {spec.get('metric')!r} with {rules or 'none'})"
            )
        if "metric" not in spec or "kind" not in spec:
            raise UsageError("a rollout gate needs a metric and a kind")
        rule: Literal["not_worse_than", "better_than"] = (
            "not_worse_than" if rules[0] == "not_worse_than" else "better_than"
        )
        if spec.get("margin") is not None and rule != "not_worse_than":
            raise UsageError("margin applies only to not_worse_than: baseline")
        require = spec.get("require")
        if require not in (None, "pass"):
            raise UsageError(f"require takes only 'pass', got {require!r}")
        return cls(
            metric=str(spec["metric"]),
            kind=spec["kind"],
            rule=rule,
            margin=float(spec.get("margin") or 0.0),
            slice=spec.get("slice"),
            require=require,
            alpha=float(spec.get("alpha", DEFAULT_ALPHA)),
            min_sample=int(spec.get("min_sample", DEFAULT_MIN_SAMPLE)),
            planned_n=None if spec.get("planned_n") is None else float(spec["planned_n"]),
            name=spec.get("name"),
        )

    @property
    def scope(self) -> str:
        return f"slice:{self.slice}" if self.slice else "overall"

    @property
    def key(self) -> tuple[str, str]:
        """Where its counts are found in a :class:`RolloutState`."""
        return (self.metric, self.scope)

    @property
    def higher_is_better(self) -> bool:
        return catalogue.higher_is_better(self.metric)

    @property
    def guards(self) -> bool:
        """Whether a failure rolls back (blockers and guardrails; goals never do)."""
        return self.kind in ("blocker", "guardrail")

    def label(self) -> str:
        if self.name:
            return self.name
        where = f"[{self.slice}]" if self.slice else ""
        if self.rule == "not_worse_than":
            return f"{self.metric}{where} not worse than baseline by {self.margin:g}"
        return f"{self.metric}{where} better than baseline"


def latency_thresholds(gate: RolloutGate, baseline_quantile_ms: float) -> tuple[float, float]:
    """The latencies to count answers above, (candidate, baseline), for a latency gate.

    ``baseline_quantile_ms`` is the baseline's quantile named by the metric (its p95 for
    ``latency.p95_ms``), read from its window before the step. A guardrail with margin ``m``
    counts candidate answers slower than ``q + m`` against baseline answers slower than ``q``:
    the candidate's p95 is within ``m`` of the baseline's exactly when the first share is at
    most the second.

    >>> g = RolloutGate.from_spec({"metric": "latency.p95_ms", "kind": "guardrail",
    ...                            "not_worse_than": "baseline", "margin": 25})
    >>> latency_thresholds(g, 270.0)
    (295.0, 270.0)
    """
    if metric_kind(gate.metric) != "latency":
        raise UsageError(f"{gate.metric} is not a latency metric")
    if not baseline_quantile_ms > 0:
        raise UsageError(
            f"the baseline's latency quantile must be positive, got {baseline_quantile_ms!r}"
        )
    return baseline_quantile_ms + gate.margin, baseline_quantile_ms


@dataclass(frozen=True)
class ArmCounts:
    """Counts of one (metric, scope) at a look: ``k`` events among ``n`` answers per arm.

    For accuracy, ``n`` is the labelled answers and ``k`` the right ones; for a latency gate,
    ``k`` is the answers slower than the arm's threshold (:func:`latency_thresholds`); for a
    mean (a cost), ``k`` is the sum of the values and ``sq`` the sum of their squares.
    """

    n_candidate: npt.ArrayLike
    k_candidate: npt.ArrayLike
    n_baseline: npt.ArrayLike
    k_baseline: npt.ArrayLike
    sq_candidate: npt.ArrayLike | None = None
    sq_baseline: npt.ArrayLike | None = None


@dataclass(frozen=True)
class SplitCounts:
    """Sticky keys seen per arm (last axis: arms, in the order of ``weights``)."""

    keys: npt.ArrayLike
    weights: Sequence[float]


@dataclass(frozen=True)
class RolloutState:
    """What the gates are judged on at one look."""

    counts: Mapping[tuple[str, str], ArmCounts]
    split: SplitCounts | None = None


@dataclass(frozen=True)
class GateOutcome:
    gate: RolloutGate
    verdict: IntArray
    interval: Interval


@dataclass(frozen=True)
class GateSetResult:
    """Every gate's verdict at a look, the split check, and whether to roll back."""

    outcomes: tuple[GateOutcome, ...]
    split: SrmResult | None
    rollback: npt.NDArray[np.bool_]
    ready: npt.NDArray[np.bool_]  # every gate has its minimum sample per arm
    required_passed: npt.NDArray[np.bool_]

    def records(self) -> list[dict[str, Any]]:
        """The verdicts of a single look (scalar counts) with their raw values, as JSON data."""
        out: list[dict[str, Any]] = []
        for o in self.outcomes:
            g, cs = o.gate, o.interval
            out.append(
                {
                    "gate": g.label(),
                    "metric": g.metric,
                    "scope": g.scope,
                    "kind": g.kind,
                    "rule": g.rule,
                    "verdict": verdict_name(int(o.verdict)),
                    "estimate": _num(cs.estimate),
                    "lower": _num(cs.lower),
                    "upper": _num(cs.upper),
                    "n_candidate": int(cs.n_candidate),
                    "n_baseline": int(cs.n_baseline),
                    "margin": g.margin if g.rule == "not_worse_than" else None,
                    "alpha": g.alpha,
                }
            )
        if self.split is not None:
            out.append(
                {
                    "gate": "split",
                    "metric": "split",
                    "scope": "overall",
                    "kind": "guardrail",
                    "rule": "sample_ratio",
                    "verdict": verdict_name(int(self.split.verdict)),
                    "log_bayes_factor": float(self.split.log_bayes_factor),
                    "shares": [_num(s) for s in np.asarray(self.split.shares).ravel()],
                }
            )
        return out


def _num(x: Any) -> float | None:
    v = float(x)
    return v if np.isfinite(v) else None


def evaluate_gates(
    gates: Sequence[RolloutGate],
    state: RolloutState,
    *,
    planned_n: float,
    srm_alpha: float = 0.01,
) -> GateSetResult:
    """Judge every gate on the counts of one look (or of many, as arrays).

    ``planned_n`` is the effective sample the step expects, used by gates without their own.
    A gate whose counts are missing is refused: a controller that cannot count a gate must
    not advance past it silently.
    """
    outcomes: list[GateOutcome] = []
    for g in gates:
        c = state.counts.get(g.key)
        if c is None:
            raise UsageError(
                f"no counts for gate {g.label()!r} ({g.metric}, {g.scope})",
                hint="the rollout state must hold counts for every gate of the step",
            )
        kind = metric_kind(g.metric)
        if kind == "mean":
            if c.sq_candidate is None or c.sq_baseline is None:
                raise UsageError(f"gate {g.label()!r}: a mean needs each arm's sum of squares")
            cs = mean_difference(
                c.k_candidate, c.sq_candidate, c.n_candidate,
                c.k_baseline, c.sq_baseline, c.n_baseline,
                alpha=g.alpha, planned_n=g.planned_n or planned_n, min_sample=g.min_sample,
            )  # fmt: skip
        else:
            cs = rate_difference(
                c.k_candidate,
                c.n_candidate,
                c.k_baseline,
                c.n_baseline,
                alpha=g.alpha,
                planned_n=g.planned_n or planned_n,
                min_sample=g.min_sample,
            )
        if g.rule == "not_worse_than":
            # A latency gate compares shares slower than thresholds that already hold the
            # margin (latency_thresholds), so its margin on the shares is 0.
            margin = 0.0 if kind == "latency" else g.margin
            verdict = non_inferiority(cs, margin=margin, higher_is_better=g.higher_is_better)
        else:
            verdict = superiority(cs, higher_is_better=g.higher_is_better)
        outcomes.append(GateOutcome(g, verdict, cs))
    split = None
    if state.split is not None:
        split = srm(state.split.keys, state.split.weights, alpha=srm_alpha)
    shape = np.broadcast_shapes(
        *(np.shape(o.verdict) for o in outcomes),
        *(() if split is None else (np.shape(split.verdict),)),
    )
    rollback = np.zeros(shape, dtype=bool)
    ready = np.ones(shape, dtype=bool)
    required = np.ones(shape, dtype=bool)
    for o in outcomes:
        if o.gate.guards:
            rollback |= o.verdict == FAIL
        ready &= o.interval.ready
        if o.gate.require == "pass":
            required &= o.verdict == PASS
    if split is not None:
        rollback |= split.verdict == FAIL
    return GateSetResult(tuple(outcomes), split, rollback, ready, required)


def step_action(result: GateSetResult, *, duration_met: npt.ArrayLike) -> IntArray:
    """ABORT (roll back) when a guardrail or the split failed; ADVANCE when the step's minimum
    duration is met, every gate has its minimum sample and every ``require: pass`` gate
    passed; otherwise HOLD (wait, or ask a person)."""
    advance = np.asarray(duration_met, dtype=bool) & result.ready & result.required_passed
    out = np.where(result.rollback, ABORT, np.where(advance, ADVANCE, 0))
    return np.asarray(out, dtype=np.int8)
