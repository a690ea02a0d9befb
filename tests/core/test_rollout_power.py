"""``plan_ab`` (the fixed-split A/B sample size) against independent oracles: a simulation of
the test a user runs at the end (the pooled two-proportion z-test, two-sided) reaches the power
asked at the sample given, and not at half of it; statsmodels' NormalIndPower; the textbook
closed form (Cohen's h); the days at a traffic; and bad input refused with a message."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from liveops.core.rollout.power import check_metric, plan_ab
from liveops.errors import UsageError


def simulated_power(
    p_base: float, p_cand: float, n_cand: int, n_base: int, alpha: float, reps: int = 40_000
) -> float:
    """Share of replays in which the two-sided pooled z-test at the end rejects."""
    rng = np.random.default_rng(7)
    k_c = rng.binomial(n_cand, p_cand, reps)
    k_b = rng.binomial(n_base, p_base, reps)
    pooled = (k_c + k_b) / (n_cand + n_base)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n_cand + 1 / n_base))
    z = (k_c / n_cand - k_b / n_base) / se
    return float(np.mean(np.abs(z) > stats.norm.ppf(1 - alpha / 2)))


@pytest.mark.parametrize(
    ("baseline", "mde", "split", "alpha", "power"),
    [
        (0.87, 0.02, 0.5, 0.05, 0.8),  # accuracy, even split
        (0.10, 0.02, 0.5, 0.05, 0.8),  # a rate near 0
        (0.87, 0.03, 0.2, 0.05, 0.9),  # a 20 % canary, more power
        (0.50, 0.05, 0.5, 0.01, 0.8),  # stricter alpha
    ],
)
def test_the_sample_reaches_the_power_asked_in_a_simulation(
    baseline: float, mde: float, split: float, alpha: float, power: float
) -> None:
    plan = plan_ab(mde=mde, baseline=baseline, alpha=alpha, power=power, split=split)
    # The harder direction (towards 0.5) and the other one: both detected at least as asked.
    towards = baseline - mde if baseline >= 0.5 else baseline + mde
    away = baseline + mde if baseline >= 0.5 else baseline - mde
    got = simulated_power(baseline, towards, plan.candidate_n, plan.baseline_n, alpha)
    assert got == pytest.approx(power, abs=0.015)
    assert simulated_power(baseline, away, plan.candidate_n, plan.baseline_n, alpha) >= power - 0.01
    # Half the answers fall well short; with no difference it rejects at about alpha.
    half = simulated_power(baseline, towards, plan.candidate_n // 2, plan.baseline_n // 2, alpha)
    assert half < power - 0.2
    null = simulated_power(baseline, baseline, plan.candidate_n, plan.baseline_n, alpha)
    assert null == pytest.approx(alpha, abs=0.006)
    # The split holds: the baseline arm gets (1 - split) / split answers per candidate answer.
    assert plan.baseline_n / plan.candidate_n == pytest.approx((1 - split) / split, rel=1e-3)


@pytest.mark.parametrize(
    ("baseline", "mde", "split", "alpha", "power"),
    [(0.87, 0.02, 0.5, 0.05, 0.8), (0.10, 0.02, 0.3, 0.05, 0.9), (0.5, 0.1, 0.1, 0.01, 0.8)],
)
def test_equals_statsmodels_normal_ind_power(
    baseline: float, mde: float, split: float, alpha: float, power: float
) -> None:
    """The independent oracle: statsmodels' NormalIndPower on proportion_effectsize (it also
    counts the far tail's tiny power, so it may need one answer fewer)."""
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    plan = plan_ab(mde=mde, baseline=baseline, alpha=alpha, power=power, split=split)
    towards = baseline - mde if baseline >= 0.5 else baseline + mde
    h = abs(proportion_effectsize(towards, baseline))
    ratio = (1 - split) / split
    n1 = NormalIndPower().solve_power(h, alpha=alpha, power=power, ratio=ratio)
    assert plan.candidate_n - math.ceil(n1) in (0, 1)
    assert 0 <= plan.baseline_n - math.ceil(n1 * ratio) <= math.ceil(ratio)


def test_the_closed_form_of_the_textbook() -> None:
    """Cohen's h with an even split: n = (z_{1-alpha/2} + z_{power})^2 * 2 / h^2 per arm."""
    h = 2 * math.asin(math.sqrt(0.87)) - 2 * math.asin(math.sqrt(0.85))
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    n = math.ceil(z**2 * 2 / h**2)
    plan = plan_ab(mde=0.02, baseline=0.87)
    assert (plan.candidate_n, plan.baseline_n, plan.per_arm, plan.total) == (n, n, n, 2 * n)
    assert n == 4720
    # An uneven split needs more in all, and the candidate's share fewer of its own.
    tenth = plan_ab(mde=0.02, baseline=0.87, split=0.1)
    assert tenth.total > plan.total
    assert tenth.candidate_n < plan.candidate_n < tenth.baseline_n


def test_days_at_the_traffic_count_labelled_answers_for_accuracy() -> None:
    plan = plan_ab(mde=0.02, baseline=0.87, answers_per_day=3_000, coverage=0.3)
    # 900 labelled answers a day, 450 per arm: 4,720 per arm take 10.5 days.
    assert plan.days == pytest.approx(4720 / 450)
    uneven = plan_ab(mde=0.02, baseline=0.87, answers_per_day=3_000, coverage=0.3, split=0.2)
    assert uneven.days == pytest.approx(uneven.candidate_n / (900 * 0.2), rel=1e-3)
    assert uneven.days > plan.days
    assert plan_ab(mde=0.02, baseline=0.87, answers_per_day=0).days is None
    assert plan_ab(mde=0.02, baseline=0.87).days is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mde": 0.0}, "--mde must be above 0, got 0.0"),
        ({"mde": -0.02}, "--mde must be above 0"),
        ({"mde": float("nan")}, "--mde must be above 0"),
        ({"alpha": 0.0}, "--alpha must be between 0 and 1"),
        ({"alpha": 1.5}, "--alpha must be between 0 and 1"),
        ({"power": 1.0}, "--power must be between 0 and 1"),
        ({"split": 1.0}, "--split must be between 0 and 1"),
        ({"split": 0.0}, "--split must be between 0 and 1"),
        ({"baseline": 1.0}, "the baseline rate must be between 0 and 1"),
        ({"baseline": 0.5, "mde": 0.6}, "no rate differs from 0.5 by 0.6"),
    ],
)
def test_bad_input_is_refused_with_a_message(kwargs: dict[str, float], message: str) -> None:
    args = {"mde": 0.02, "baseline": 0.87} | kwargs
    with pytest.raises(UsageError) as err:
        plan_ab(**args)
    assert message in err.value.message


def test_metrics_it_can_size() -> None:
    assert check_metric("accuracy") is True  # labelled answers
    assert check_metric("error_rate") is False  # every answer
    assert check_metric("outcome.resolved.rate") is False  # every answer, with the event or not
    with pytest.raises(UsageError) as err:
        check_metric("acuracy")
    assert err.value.message == "unknown metric 'acuracy' for an A/B plan; did you mean 'accuracy'?"
    with pytest.raises(UsageError):
        check_metric("latency.p95_ms")
    with pytest.raises(UsageError):
        check_metric("outcome..rate")
