"""``liveops rollout plan SERVICE --mde 0.02``: the answers a fixed-split A/B test needs, and
the days it takes at the service's recent traffic.

The arithmetic is core's :func:`~liveops.core.rollout.power.plan_ab`; this module reads what it
needs from the monitor's windows over the last ``days``: the service's live answers a day (every
arm but shadow copies, which are duplicates), the share of them that got a label (for a quality
metric), and the production version's recent value of the metric as the baseline rate unless
one is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from liveops.core.clock import Clock
from liveops.core.rollout.plan import parse_plan
from liveops.core.rollout.power import AbPlan, check_metric, plan_ab
from liveops.errors import ConflictError, UsageError
from liveops.services.monitoring import metric_series
from liveops.services.registry import get_service_spec
from liveops.store import Store

__all__ = ["AbSizing", "size_ab_test"]

NOT_SERVED = ("shadow", "gateway")  # copies and the heartbeat's rows: no answers to users


@dataclass(frozen=True)
class AbSizing:
    service: str
    metric: str
    labelled: bool  # the metric counts labelled answers only
    production: int | None
    baseline_source: str  # "given" or "production vN over the last D days"
    answers: int  # live answers in the look-back
    span_days: float  # from the first window with answers to now
    plan: AbPlan

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "metric": self.metric,
            "labelled": self.labelled,
            "production": self.production,
            "baseline_source": self.baseline_source,
            "answers": self.answers,
            "span_days": self.span_days,
            **self.plan.to_dict(),
        }


def size_ab_test(
    store: Store,
    service: str,
    *,
    mde: float,
    metric: str = "accuracy",
    baseline: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    split: float | None = None,
    days: float = 7.0,
    clock: Clock | None = None,
) -> AbSizing:
    """``split`` defaults to the service's A/B plan's (``rollout: {mode: ab}``), else 0.5."""
    clock = clock or store.clock
    labelled = check_metric(metric)
    if not days > 0:
        raise UsageError(f"--days must be above 0, got {days!r}")
    spec = get_service_spec(store, service)  # an unknown service names the known ones
    if split is None:
        split = 0.5
        if spec.rollout is not None:
            planned = parse_plan(spec.rollout)
            split = planned.steps[0].share if planned.ab else split
    now = clock.now()
    since = now - timedelta(days=days)
    names = ["volume", "label_coverage", metric]
    by_arm = metric_series(store, service, metrics=names, by="arm", window="1h", since=since,
                           clock=clock)  # fmt: skip
    answers = 0
    labelled_answers = 0.0
    first: int | None = None
    for row in by_arm.rows:
        if row.key in NOT_SERVED or row.metric != "label_coverage":
            continue
        answers += row.volume
        labelled_answers += (row.total or 0.0) * row.volume
    for row in by_arm.rows:
        if row.key in NOT_SERVED or row.metric != "volume":
            continue
        hit = next((i for i, v in enumerate(row.values) if v), None)
        if hit is not None:
            first = hit if first is None else min(first, hit)
    span_days = 0.0
    if first is not None:
        start = datetime.fromisoformat(by_arm.buckets[first])
        span_days = max((now - start).total_seconds() / 86400, 1 / 24)
    per_day = answers / span_days if span_days > 0 else None
    coverage = (labelled_answers / answers if answers else 0.0) if labelled else 1.0
    production = store.registry.get_alias(service, "production")
    if baseline is None:
        baseline = _production_value(store, service, metric, production, since, clock)
        if baseline is None:
            where = f"{service}@{production}" if production is not None else service
            raise ConflictError(
                f"no recent live {metric} of {where} in the monitor's windows "
                f"(last {days:g} days) to take as the baseline rate",
                hint="give it: --baseline 0.87 (e.g. from the version's evaluation)",
            )
        if not 0.0 < baseline < 1.0:
            raise ConflictError(
                f"the recent live {metric} of {service}@{production} is {baseline:g}: a rate of "
                "0 or 1 leaves nothing to size a test on",
                hint="give the rate you expect: --baseline 0.01",
            )
        source = f"production v{production}, last {days:g} days"
    else:
        source = "given"
    plan = plan_ab(mde=mde, baseline=baseline, alpha=alpha, power=power, split=split,
                   answers_per_day=per_day, coverage=coverage)  # fmt: skip
    return AbSizing(service, metric, labelled, production, source, answers, span_days, plan)


def _production_value(
    store: Store, service: str, metric: str, production: int | None, since: Any, clock: Clock
) -> float | None:
    if production is None:
        return None
    series = metric_series(store, service, metrics=[metric], by="version", window="1d",
                           since=since, clock=clock)  # fmt: skip
    for row in series.rows:
        if row.key == f"v{production}" and row.metric == metric and row.total is not None:
            return float(row.total)
    return None
