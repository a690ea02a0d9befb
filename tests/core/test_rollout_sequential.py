"""Peek-safe rollout statistics: known cases, oracles, coverage when peeking, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats
from statsmodels.stats.proportion import samplesize_proportions_2indep_onetail

from liveops.core.rollout.gates import (
    ABORT,
    ADVANCE,
    HOLD,
    ArmCounts,
    RolloutGate,
    RolloutState,
    SplitCounts,
    evaluate_gates,
    latency_thresholds,
    step_action,
)
from liveops.core.rollout.sequential import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    boundary_multiplier,
    fixed_rate_difference,
    mixture_rho2,
    non_inferiority,
    rate_difference,
    required_sample,
    srm,
    superiority,
)
from liveops.errors import UsageError


def _paths(rng: np.random.Generator, reps: int, n: int, pc: float, pb: float) -> tuple:
    """Cumulative events of two arms answering one request each per step."""
    kc = np.cumsum(rng.random((reps, n)) < pc, axis=1)
    kb = np.cumsum(rng.random((reps, n)) < pb, axis=1)
    steps = np.arange(1, n + 1)
    return kc, steps, kb, steps


def test_the_boundary_is_where_the_normal_mixture_martingale_reaches_one_over_alpha() -> None:
    # Independent oracle: integrate the mixture of likelihood ratios numerically.
    alpha, planned, info = 0.05, 500.0, 300.0  # info = n_eff / variance, variance 1 per answer
    rho2 = mixture_rho2(alpha, planned)
    se = 1 / math.sqrt(info)
    z = float(boundary_multiplier(info, alpha=alpha, planned_n=planned))
    s = z * se * info  # the score at the boundary

    def integrand(theta: float) -> float:
        return math.exp(theta * s - theta**2 * info / 2) * stats.norm.pdf(theta, 0, math.sqrt(rho2))

    mixture, _ = integrate.quad(integrand, -2, 2, points=[0.0, s / info])
    assert mixture == pytest.approx(1 / alpha, rel=1e-6)


def test_a_huge_difference_fails_as_soon_as_the_minimum_sample_is_met() -> None:
    rng = np.random.default_rng(3)
    kc, nc, kb, nb = _paths(rng, 50, 600, pc=0.25, pb=0.01)  # error rate 25 % against 1 %
    cs = rate_difference(kc, nc, kb, nb, planned_n=300, min_sample=100)
    verdict = non_inferiority(cs, margin=0.01, higher_is_better=False)
    first_fail = (verdict == FAIL).argmax(axis=1)
    assert (verdict[:, :99] == INCONCLUSIVE).all()  # before the minimum: nothing decided
    assert (verdict[:, -1] == FAIL).all()
    assert np.median(first_fail) < 150


def test_identical_arms_never_fail_and_pass_once_the_sample_is_large() -> None:
    rng = np.random.default_rng(4)
    kc, nc, kb, nb = _paths(rng, 200, 8000, pc=0.05, pb=0.05)
    cs = rate_difference(kc, nc, kb, nb, planned_n=2000)
    verdict = non_inferiority(cs, margin=0.02, higher_is_better=False)
    assert ((verdict == FAIL).any(axis=1)).mean() <= 0.01
    assert (verdict[:, -1] == PASS).mean() >= 0.95


def test_the_sequence_covers_the_truth_at_every_look_at_the_stated_rate() -> None:
    rng = np.random.default_rng(5)
    pc, pb = 0.12, 0.10
    kc, nc, kb, nb = _paths(rng, 1000, 3000, pc=pc, pb=pb)
    seq = rate_difference(kc, nc, kb, nb, planned_n=1500, min_sample=100)
    fixed = fixed_rate_difference(kc, nc, kb, nb, min_sample=100)

    def ever_missed(cs) -> float:  # type: ignore[no-untyped-def]
        miss = (cs.lower > pc - pb) | (cs.upper < pc - pb)
        return float(miss.any(axis=1).mean())

    assert ever_missed(seq) <= 0.05
    # The fixed 95 % interval, looked at at every step, misses far more often.
    assert ever_missed(fixed) >= 3 * max(ever_missed(seq), 0.02)


def test_a_guardrail_at_its_margin_fails_at_most_alpha_of_the_time_when_peeked() -> None:
    rng = np.random.default_rng(6)
    kc, nc, kb, nb = _paths(rng, 1000, 3000, pc=0.85, pb=0.87)  # worse by exactly the margin
    seq = non_inferiority(rate_difference(kc, nc, kb, nb, planned_n=1500), margin=0.02,
                          higher_is_better=True)  # fmt: skip
    fixed = non_inferiority(fixed_rate_difference(kc, nc, kb, nb), margin=0.02,
                            higher_is_better=True)  # fmt: skip
    assert (seq == FAIL).any(axis=1).mean() <= 0.05
    assert (fixed == FAIL).any(axis=1).mean() > 0.10


def test_a_goal_is_two_sided() -> None:
    better = rate_difference(950, 2000, 850, 2000, planned_n=1000)
    worse = rate_difference(850, 2000, 950, 2000, planned_n=1000)
    same = rate_difference(900, 2000, 900, 2000, planned_n=1000)
    assert int(superiority(better, higher_is_better=True)) == PASS
    assert int(superiority(worse, higher_is_better=True)) == FAIL
    assert int(superiority(same, higher_is_better=True)) == INCONCLUSIVE
    assert int(superiority(better, higher_is_better=False)) == FAIL  # a rate of errors up


def test_the_split_check_matches_the_beta_binomial_bayes_factor() -> None:
    # Two arms: the Dirichlet-multinomial is a beta-binomial (oracle: scipy).
    w, c = np.array([0.9, 0.1]), 1000.0
    keys = np.array([9200, 800])
    r = srm(keys, w, concentration=c)
    n = int(keys.sum())
    expect = stats.betabinom.logpmf(800, n, c * 0.1, c * 0.9) - stats.binom.logpmf(800, n, 0.1)
    assert float(r.log_bayes_factor) == pytest.approx(expect, rel=1e-9)


def test_the_split_check_rarely_halts_a_correct_split_and_halts_a_wrong_one() -> None:
    rng = np.random.default_rng(7)
    looks, reps = 1440, 500
    new = rng.poisson(30, size=(reps, looks))

    def keys(share: float) -> np.ndarray:
        canary = rng.binomial(new, share)
        return np.stack([np.cumsum(new - canary, 1), np.cumsum(canary, 1)], axis=-1)

    correct = srm(keys(0.10), [0.9, 0.1], alpha=0.01).verdict
    wrong = srm(keys(0.09), [0.9, 0.1], alpha=0.01).verdict
    assert (correct == FAIL).any(axis=1).mean() <= 0.01
    assert (wrong == FAIL).any(axis=1).mean() >= 0.9


def test_sample_sizes_fixed_matches_statsmodels_and_sequential_costs_more() -> None:
    s = required_sample(0.02, 0.10, alpha=0.05, power=0.8)
    oracle = samplesize_proportions_2indep_onetail(0.02, 0.10, 0.8, alpha=0.05)
    assert s.fixed_per_arm == math.ceil(oracle)
    assert 1.5 < s.inflation < 2.5
    assert required_sample(0.01, 0.10).fixed_per_arm > 3 * s.fixed_per_arm


def test_sequential_sample_size_delivers_its_power() -> None:
    s = required_sample(0.04, 0.20, power=0.8)
    n = s.sequential_per_arm
    rng = np.random.default_rng(8)
    kc, nc, kb, nb = _paths(rng, 400, n, pc=0.24, pb=0.20)
    cs = rate_difference(kc, nc, kb, nb, planned_n=n / 2)
    detected = (superiority(cs, higher_is_better=True) == PASS).any(axis=1).mean()
    assert detected >= 0.8


def _gate(**spec: object) -> RolloutGate:
    return RolloutGate.from_spec({"kind": "guardrail", "not_worse_than": "baseline", **spec})


def test_evaluate_gates_keeps_the_raw_values_and_goals_never_roll_back() -> None:
    gates = [
        _gate(metric="accuracy", margin=0.01),
        RolloutGate.from_spec({"metric": "error_rate", "kind": "goal", "better_than": "baseline"}),
    ]
    counts = {
        ("accuracy", "overall"): ArmCounts(3000, 2610, 27000, 23490),
        ("error_rate", "overall"): ArmCounts(10000, 300, 90000, 900),  # worse: a goal fails
    }
    result = evaluate_gates(gates, RolloutState(counts), planned_n=3000)
    acc, err = result.records()
    assert acc["verdict"] == "inconclusive"
    assert acc["estimate"] == pytest.approx(0.0)
    assert acc["lower"] < 0 < acc["upper"]
    assert (acc["n_candidate"], acc["n_baseline"]) == (3000, 27000)
    assert err["verdict"] == "fail"
    assert not bool(result.rollback)
    assert int(step_action(result, duration_met=True)) == ADVANCE


def test_a_require_pass_gate_holds_the_step_until_it_passes() -> None:
    gate = _gate(metric="fallback_rate", margin=0.01, require="pass")
    few = RolloutState({gate.key: ArmCounts(200, 6, 1800, 54)})
    many = RolloutState({gate.key: ArmCounts(20000, 600, 180000, 5400)})
    assert int(step_action(evaluate_gates([gate], few, planned_n=2000), duration_met=True)) == HOLD
    assert int(step_action(evaluate_gates([gate], many, planned_n=2000), duration_met=True)) == (
        ADVANCE
    )
    assert int(step_action(evaluate_gates([gate], many, planned_n=2000), duration_met=False)) == (
        HOLD
    )


def test_a_wrong_split_aborts_whatever_the_gates_say() -> None:
    gate = _gate(metric="error_rate", margin=0.01)
    state = RolloutState(
        {gate.key: ArmCounts(2000, 20, 18000, 180)}, SplitCounts([9400, 600], [0.9, 0.1])
    )
    result = evaluate_gates([gate], state, planned_n=2000)
    assert result.records()[-1]["verdict"] == "fail"
    assert int(step_action(result, duration_met=True)) == ABORT


def test_a_latency_gate_counts_against_thresholds_that_hold_the_margin() -> None:
    gate = _gate(metric="latency.p95_ms", margin=25)
    assert latency_thresholds(gate, 270.0) == (295.0, 270.0)
    # 8 % of candidate answers slower than 295 ms against 5 % of baseline ones slower than 270.
    state = RolloutState({gate.key: ArmCounts(5000, 400, 45000, 2250)})
    assert evaluate_gates([gate], state, planned_n=5000).records()[0]["verdict"] == "fail"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"metric": "accuracy", "margin": -0.01}, "margin cannot be negative"),
        ({"metric": "acuracy", "margin": 0.01}, "did you mean 'accuracy'"),
        ({"metric": "macro_f1", "margin": 0.01}, "has no sequential test"),
        ({"metric": "must_pass", "margin": 0.01}, "not live"),
        ({"metric": "accuracy", "margin": 0.01, "require": "fail"}, "require takes only"),
        ({"metric": "accuracy", "margin": 0.01, "treshold": 1}, "unknown field"),
    ],
)
def test_bad_gates_are_refused_with_a_clear_message(spec: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        _gate(**spec)


def test_bad_rules_and_counts_are_refused() -> None:
    with pytest.raises(UsageError, match="compares arms"):
        RolloutGate.from_spec({"metric": "accuracy", "kind": "guardrail", "min": 0.8})
    with pytest.raises(UsageError, match="exactly one rule"):
        RolloutGate.from_spec({"metric": "accuracy", "kind": "guardrail"})
    with pytest.raises(UsageError, match="margin applies only"):
        RolloutGate.from_spec(
            {"metric": "accuracy", "kind": "goal", "better_than": "baseline", "margin": 0.1}
        )
    with pytest.raises(UsageError, match="more events than answers"):
        rate_difference(11, 10, 1, 10, planned_n=10)
    with pytest.raises(UsageError, match="cannot be negative"):
        rate_difference(-1, 10, 1, 10, planned_n=10)
    with pytest.raises(UsageError, match="margin cannot be negative"):
        non_inferiority(rate_difference(1, 10, 1, 10, planned_n=10), margin=-1,
                        higher_is_better=True)  # fmt: skip
    with pytest.raises(UsageError, match="no counts for gate"):
        evaluate_gates([_gate(metric="accuracy")], RolloutState({}), planned_n=10)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([0.9, 0.2], "must sum to 1"),
        ([1.0, 0.0], "above 0"),
        ([1.0], "at least two arms"),
        ([0.5, 0.25, 0.25], "3 weights for counts of 2 arms"),
    ],
)
def test_bad_splits_are_refused(weights: list[float], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        srm([900, 100], weights)


def test_bad_sample_size_questions_are_refused() -> None:
    with pytest.raises(UsageError, match="above 0"):
        required_sample(0.0, 0.1)
    with pytest.raises(UsageError, match="between 0 and 1"):
        required_sample(0.02, 1.2)
    with pytest.raises(UsageError, match="alpha"):
        required_sample(0.02, 0.1, alpha=1.5)
