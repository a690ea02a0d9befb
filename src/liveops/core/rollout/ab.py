"""A/B mode: goal metrics compared once, at the end of a fixed split held for a planned duration.

An A/B rollout (``mode: ab`` in a plan) sends a fixed share of traffic to the candidate for a
planned duration; its guardrails are judged at every look with the peek-safe confidence
sequences of the canary gates (a failing one rolls back early), and its *goals* are compared
with a **fixed-horizon two-sided interval** (Wald, 95 % by default) of candidate - baseline:
the suite's kind of interval, valid at the one look planned in advance, the end of the
duration. Interim looks show it too, marked as interim; only the final look decides. The
planned sample per arm is :func:`~liveops.core.rollout.power.plan_ab`'s at the plan's ``mde``,
sized from the baseline arm's observed rate.

>>> goal = AbGoal.from_spec({"metric": "accuracy"})
>>> r = compare_goal(goal, k_candidate=930, n_candidate=1000, k_baseline=870, n_baseline=1000,
...                  mde=0.02, split=0.5)
>>> r["result"], round(r["difference"], 3), r["lower"] > 0, r["planned_per_arm"]
('candidate better', 0.06, True, 4720)
>>> compare_goal(goal, k_candidate=50, n_candidate=100, k_baseline=50, n_baseline=100,
...              mde=0.02, split=0.5)["result"]
'no detectable difference'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from liveops.core import catalogue
from liveops.core.rollout.gates import metric_kind
from liveops.core.rollout.power import plan_ab
from liveops.core.rollout.sequential import fixed_rate_difference
from liveops.errors import UsageError

__all__ = ["AB_ALPHA", "RESULTS", "AbGoal", "compare_goal"]

AB_ALPHA = 0.05  # two-sided: a 95 % interval
RESULTS = ("candidate better", "candidate worse", "no detectable difference")


@dataclass(frozen=True)
class AbGoal:
    """A goal of an A/B rollout: a share of answers (accuracy from labels, an outcome's rate
    from outcome events, an error or fallback rate...), overall or on a slice."""

    metric: str
    slice: str | None = None

    def __post_init__(self) -> None:
        if metric_kind(self.metric) != "rate":  # unknown names are refused there
            raise UsageError(
                f"goal metric {self.metric!r} is not a share of answers",
                hint="an A/B goal compares rates: accuracy, outcome.NAME.rate, error_rate, ...",
            )

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> AbGoal:
        unknown = sorted(set(spec) - {"metric", "slice"})
        if unknown:
            raise UsageError(
                f"unknown field(s) in a goal: {', '.join(map(str, unknown))}",
                hint="a goal has: metric, slice",
            )
        if not isinstance(spec.get("metric"), str):
            raise UsageError("a goal needs a metric, e.g. {metric: accuracy}")
        where = spec.get("slice")
        return cls(str(spec["metric"]), None if where is None else str(where))

    @property
    def scope(self) -> str:
        return f"slice:{self.slice}" if self.slice else "overall"

    @property
    def key(self) -> tuple[str, str]:
        return (self.metric, self.scope)

    def label(self) -> str:
        return f"{self.metric}[{self.slice}]" if self.slice else self.metric

    def to_dict(self) -> dict[str, str]:
        return {"metric": self.metric} | ({"slice": self.slice} if self.slice else {})


def compare_goal(
    goal: AbGoal,
    *,
    k_candidate: int,
    n_candidate: int,
    k_baseline: int,
    n_baseline: int,
    mde: float,
    split: float,
    alpha: float = AB_ALPHA,
) -> dict[str, Any]:
    """One row of the A/B table: both arms' rates, the difference (candidate - baseline) with
    its fixed-horizon two-sided interval, the result, and the planned answers per arm."""
    cs = fixed_rate_difference(k_candidate, n_candidate, k_baseline, n_baseline, alpha=alpha,
                               min_sample=1)  # fmt: skip
    lo, hi, est = float(cs.lower), float(cs.upper), float(cs.estimate)
    higher = catalogue.higher_is_better(goal.metric)
    result = RESULTS[2]
    if np.isfinite(lo) and lo > 0:
        result = RESULTS[0] if higher else RESULTS[1]
    elif np.isfinite(hi) and hi < 0:
        result = RESULTS[1] if higher else RESULTS[0]
    control = k_baseline / n_baseline if n_baseline else None
    planned: int | None = None
    planned_c = planned_b = 0
    if control is not None and 0.0 < control < 1.0:
        try:
            sized = plan_ab(mde=mde, baseline=control, alpha=alpha, split=split)
            planned = sized.per_arm
            planned_c, planned_b = sized.candidate_n, sized.baseline_n
        except UsageError:  # no rate differs from it by mde
            planned = None
    reached = planned is not None and n_candidate >= planned_c and n_baseline >= planned_b
    return {
        "goal": goal.label(),
        "metric": goal.metric,
        "scope": goal.scope,
        "control": control,
        "candidate": k_candidate / n_candidate if n_candidate else None,
        "difference": est if np.isfinite(est) else None,
        "lower": lo if np.isfinite(lo) else None,
        "upper": hi if np.isfinite(hi) else None,
        "confidence": 1 - alpha,
        "n_candidate": int(n_candidate),
        "n_baseline": int(n_baseline),
        "planned_per_arm": planned,
        "planned_candidate": planned_c if planned is not None else None,
        "planned_baseline": planned_b if planned is not None else None,
        "sample_reached": reached,
        "result": result,
    }
