"""How many answers a fixed-split A/B test needs (``liveops rollout plan --mde``), and for how long.

A fixed split sends a share ``split`` of the traffic to the candidate and the rest to the
baseline for a planned duration, then compares the two rates once, two-sided. The answers each
arm needs to detect an absolute difference ``mde`` from a baseline rate, at ``alpha`` and
``power``, come from the two-proportion formula on Cohen's effect size
``h = 2 asin(sqrt(p2)) - 2 asin(sqrt(p1))`` (the variance-stabilised difference):
``n_candidate = (z_{1-alpha/2} + z_power)^2 (1 + 1/r) / h^2`` with ``r`` the baseline answers per
candidate answer, ``(1 - split) / split``. It is what statsmodels' ``NormalIndPower`` with
``proportion_effectsize`` computes (the test checks it against both that and a simulation);
statsmodels is only a development dependency, so the normal quantiles come from scipy. The
change is taken in the harder direction (towards 0.5, where a rate varies most), so either
direction is detected with at least that power.

At the service's recent traffic (answers per day, and for a quality metric the share of answers
that get a label), :func:`plan_ab` also says how many days that takes: the needed labelled
answers of both arms over the labelled answers a day brings.

>>> p = plan_ab(mde=0.02, baseline=0.87, answers_per_day=10_000, coverage=0.3)
>>> p.per_arm, p.candidate_n, p.baseline_n, round(p.days, 1)
(4720, 4720, 4720, 3.1)
"""

from __future__ import annotations

import difflib
import math
from dataclasses import asdict, dataclass
from typing import Any

from scipy import stats

from liveops.errors import UsageError

__all__ = ["EVERY_ANSWER", "LABELLED", "PLANNABLE", "AbPlan", "check_metric", "plan_ab"]

# Shares of answers the plan can size: quality from labels (only labelled answers count), and
# the rates every answer has.
LABELLED = ("accuracy",)
EVERY_ANSWER = (
    "error_rate",
    "fallback_rate",
    "timeout_rate",
    "below_threshold_rate",
    "review_rate",
    "coverage",
)
PLANNABLE = (*LABELLED, *EVERY_ANSWER)


@dataclass(frozen=True)
class AbPlan:
    """Answers per arm for a fixed-split A/B test, and the days at the given traffic."""

    mde: float
    baseline: float
    alpha: float
    power: float
    split: float  # the candidate's share of traffic
    candidate_n: int  # answers the candidate arm needs (labelled ones for a quality metric)
    baseline_n: int
    answers_per_day: float | None  # every answer of the service, both arms
    coverage: float  # share of answers that count (labelled ones for a quality metric)
    days: float | None  # None when the traffic is unknown or zero

    @property
    def per_arm(self) -> int:
        """The larger arm's need (equal to both at an even split)."""
        return max(self.candidate_n, self.baseline_n)

    @property
    def total(self) -> int:
        return self.candidate_n + self.baseline_n

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"per_arm": self.per_arm, "total": self.total}


def check_metric(metric: str) -> bool:
    """Whether ``metric`` needs labelled answers; a :class:`UsageError` when the plan cannot
    size it."""
    if metric in LABELLED:
        return True
    if metric in EVERY_ANSWER:
        return False
    parts = metric.split(".")
    if len(parts) == 3 and parts[0] == "outcome" and parts[2] == "rate" and parts[1]:
        return False  # the share of every answer that had the outcome event
    close = difflib.get_close_matches(metric, PLANNABLE, n=1)
    guess = f"; did you mean {close[0]!r}?" if close else ""
    raise UsageError(
        f"unknown metric {metric!r} for an A/B plan{guess}",
        hint=f"a plan sizes a share of answers: {', '.join(PLANNABLE)}, outcome.NAME.rate",
    )


def _check(mde: float, baseline: float, alpha: float, power: float, split: float) -> None:
    if not (isinstance(mde, int | float) and math.isfinite(mde) and mde > 0):
        raise UsageError(
            f"--mde must be above 0, got {mde!r}",
            hint="the minimum detectable effect is absolute: 0.02 is two percentage points",
        )
    if not 0.0 < alpha < 1.0:
        raise UsageError(f"--alpha must be between 0 and 1 (exclusive), got {alpha!r}")
    if not 0.0 < power < 1.0:
        raise UsageError(f"--power must be between 0 and 1 (exclusive), got {power!r}")
    if not 0.0 < split < 1.0:
        raise UsageError(
            f"--split must be between 0 and 1 (exclusive), got {split!r}",
            hint="the candidate's share of traffic: 0.5 is an even split",
        )
    if not 0.0 < baseline < 1.0:
        raise UsageError(f"the baseline rate must be between 0 and 1 (exclusive), got {baseline!r}")
    if baseline - mde <= 0.0 and baseline + mde >= 1.0:
        raise UsageError(f"no rate differs from {baseline:g} by {mde:g}")


def _other(baseline: float, mde: float) -> float:
    """The alternative rate in the harder direction (towards 0.5), if it is a rate."""
    towards = baseline + mde if baseline < 0.5 else baseline - mde
    if 0.0 < towards < 1.0:
        return towards
    return baseline - mde if baseline < 0.5 else baseline + mde


def plan_ab(
    *,
    mde: float,
    baseline: float,
    alpha: float = 0.05,
    power: float = 0.8,
    split: float = 0.5,
    answers_per_day: float | None = None,
    coverage: float = 1.0,
) -> AbPlan:
    """Answers per arm to detect ``mde`` two-sided with a fixed split, and the days it takes."""
    _check(mde, baseline, alpha, power, split)
    if not 0.0 <= coverage <= 1.0:
        raise UsageError(f"the label coverage must be between 0 and 1, got {coverage!r}")
    p2 = _other(baseline, mde)
    h = abs(2 * math.asin(math.sqrt(p2)) - 2 * math.asin(math.sqrt(baseline)))
    ratio = (1.0 - split) / split  # baseline answers per candidate answer
    z = float(stats.norm.ppf(1 - alpha / 2)) + float(stats.norm.ppf(power))
    n1 = z**2 * (1 + 1 / ratio) / h**2
    candidate_n = math.ceil(n1)
    baseline_n = math.ceil(n1 * ratio)
    days = None
    counted_per_day = (answers_per_day or 0.0) * coverage
    if counted_per_day > 0:
        # Each arm fills at its share of the counted answers; the slower one sets the time.
        days = max(
            candidate_n / (counted_per_day * split), baseline_n / (counted_per_day * (1 - split))
        )
    return AbPlan(
        mde, baseline, alpha, power, split, candidate_n, baseline_n, answers_per_day,
        coverage, days,
    )  # fmt: skip
