"""Replays of a canary, vectorised: does checking the gates every minute roll back by chance?

A replay draws what a canary would see, minute by minute, for many rollouts at once, and
judges every minute of every replay with :func:`liveops.core.rollout.gates.evaluate_gates`,
the function the controller calls at each look. The default plan (:class:`ReplayPlan`) is
issue 12's: a 24-hour canary at 10 % of 3 requests/s, labels for 30 % of answers arriving
after an exponential delay (mean 2 hours), the gates on accuracy (from labels), error rate,
fallback rate and p95 latency, plus the split check, looked at every minute.

How a minute is drawn (per arm, independently across minutes, so that cumulative counts are
sums): answers are Poisson; errors and fallbacks binomial among them; latency is log-normal
and the answers slower than the gate's thresholds are binomial; labelled answers arrive as a
thinned, delayed Poisson process (rate ``lambda * share * F(t)`` at time ``t`` for a delay
distribution ``F``), split into right and wrong; new sticky keys are Poisson and each is
assigned to the canary with the share the split really sends. The latency threshold ``q`` is
the p95 of the baseline's hour before the step (an order statistic, drawn exactly). Each
gate's counts have exactly their distribution; the slight dependence between an arm's
labelled answers and its answers of the same minute is not modelled.

>>> r = replay(ReplayPlan(hours=2), Scenario("same"), replays=20, seed=1)
>>> r.replays, r.rolled_back.shape
(20, (20,))
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
from scipy import stats

from liveops.core.clock import FixedClock
from liveops.core.rollout.gates import (
    ABORT,
    ArmCounts,
    GateSetResult,
    RolloutGate,
    RolloutState,
    SplitCounts,
    evaluate_gates,
    step_action,
)
from liveops.core.rollout.sequential import (
    FAIL,
    effective_n,
    fixed_rate_difference,
    non_inferiority,
    rate_difference,
    srm,
)

__all__ = [
    "Arm",
    "PeekingRow",
    "ReplayPlan",
    "ReplayResult",
    "Scenario",
    "peeking_comparison",
    "plan_gates",
    "replay",
    "replay_one",
    "rollback_looks",
    "simulate",
]

IntArray = npt.NDArray[np.int64]
OVERALL = "overall"


@dataclass(frozen=True)
class Arm:
    """What one arm really does."""

    accuracy: float = 0.87
    error_rate: float = 0.01
    fallback_rate: float = 0.03
    latency_scale: float = 1.0  # 1.3: every answer 30 % slower, so its p95 too


@dataclass(frozen=True)
class Scenario:
    """The truth of one replay set: the arms, and the canary share the split really sends."""

    name: str
    candidate: Arm = field(default_factory=Arm)
    baseline: Arm = field(default_factory=Arm)
    canary_share: float | None = None  # None: as planned


@dataclass(frozen=True)
class ReplayPlan:
    """The canary and its gates (margins as a rollout plan would write them)."""

    hours: float = 24.0
    requests_per_s: float = 3.0
    canary_weight: float = 0.10
    label_share: float = 0.30
    label_delay_mean_s: float = 2 * 3600.0
    look_every_s: float = 60.0
    keys_per_s: float = 0.5  # new sticky keys (users): each sends 6 requests on average
    latency_median_ms: float = 120.0
    latency_sigma: float = 0.5  # log-normal: p95 = 273 ms
    reference_answers: int = 10_800  # the baseline's hour before the step, for its p95
    accuracy_margin: float = 0.01
    error_margin: float = 0.005
    fallback_margin: float = 0.01
    latency_margin_ms: float = 25.0
    min_sample: int = 100
    alpha: float = 0.05
    srm_alpha: float = 0.01

    @property
    def looks(self) -> int:
        return round(self.hours * 3600 / self.look_every_s)

    @property
    def weights(self) -> tuple[float, float]:
        return (1.0 - self.canary_weight, self.canary_weight)

    def planned_n(self, labelled: bool) -> float:
        """The effective sample a gate expects at the end of the step."""
        total = self.requests_per_s * self.hours * 3600 * (self.label_share if labelled else 1.0)
        return float(effective_n(total * self.canary_weight, total * (1 - self.canary_weight)))


def plan_gates(plan: ReplayPlan, *, margin_scale: float = 1.0) -> list[RolloutGate]:
    """The plan's gates; ``margin_scale=0`` gives the strictest ones (margin 0)."""

    def gate(metric: str, margin: float, labelled: bool = False) -> RolloutGate:
        return RolloutGate(
            metric=metric,
            kind="guardrail",
            rule="not_worse_than",
            margin=margin * margin_scale,
            alpha=plan.alpha,
            min_sample=plan.min_sample,
            planned_n=plan.planned_n(labelled),
        )

    return [
        gate("accuracy", plan.accuracy_margin, labelled=True),
        gate("error_rate", plan.error_margin),
        gate("fallback_rate", plan.fallback_margin),
        gate("latency.p95_ms", plan.latency_margin_ms),
    ]


def _cum(
    rng: np.random.Generator, lam: npt.NDArray[np.float64], shape: tuple[int, int]
) -> IntArray:
    return np.cumsum(rng.poisson(lam, size=shape), axis=1)


def simulate(
    plan: ReplayPlan, scenario: Scenario, replays: int, rng: np.random.Generator
) -> Simulated:
    """Cumulative counts at every look of ``replays`` canaries: arrays of shape (replays, looks)."""
    shape = (replays, plan.looks)
    share = plan.canary_weight if scenario.canary_share is None else scenario.canary_share
    per_look = plan.requests_per_s * plan.look_every_s
    # The baseline's p95 before the step: the order statistic of a uniform sample is Beta.
    n_ref = plan.reference_answers
    k_ref = math.ceil(0.95 * n_ref)
    u = rng.beta(k_ref, n_ref + 1 - k_ref, size=replays)
    mu, sigma = math.log(plan.latency_median_ms), plan.latency_sigma
    q = np.exp(mu + sigma * stats.norm.ppf(u))
    # Labels: arrivals by time t number lambda * share * integral_0^t F, F exponential.
    t = np.arange(plan.looks + 1) * plan.look_every_s
    m = plan.label_delay_mean_s
    arrived = plan.label_share * (t - m * (1.0 - np.exp(-t / m))) / plan.look_every_s
    label_rate = np.diff(arrived)  # labelled answers per look, per answer per look sent

    counts: dict[tuple[str, str], ArmCounts] = {}
    arms: dict[str, dict[str, IntArray]] = {}
    for side, arm, w in (
        ("c", scenario.candidate, share),
        ("b", scenario.baseline, 1.0 - share),
    ):
        lam = per_look * w
        n_step = rng.poisson(lam, size=shape)
        # Answers slower than q, and among them those slower than q + margin (the candidate's
        # threshold; the margin-0 count is kept for the peeking comparison).
        slow_q = stats.norm.sf((np.log(q / arm.latency_scale) - mu) / sigma)
        above = q + plan.latency_margin_ms
        slow_m = stats.norm.sf((np.log(above / arm.latency_scale) - mu) / sigma)
        slow_step = rng.binomial(n_step, slow_q[:, None])
        arms[side] = {
            "n": np.cumsum(n_step, axis=1),
            "errors": np.cumsum(rng.binomial(n_step, arm.error_rate), axis=1),
            "fallbacks": np.cumsum(rng.binomial(n_step, arm.fallback_rate), axis=1),
            "slow": np.cumsum(slow_step, axis=1),
            "slow_m": np.cumsum(rng.binomial(slow_step, (slow_m / slow_q)[:, None]), axis=1),
            "right": _cum(rng, lam * label_rate * arm.accuracy, shape),
            "wrong": _cum(rng, lam * label_rate * (1 - arm.accuracy), shape),
        }
    c, b = arms["c"], arms["b"]
    counts[("accuracy", OVERALL)] = ArmCounts(
        c["right"] + c["wrong"], c["right"], b["right"] + b["wrong"], b["right"]
    )
    counts[("error_rate", OVERALL)] = ArmCounts(c["n"], c["errors"], b["n"], b["errors"])
    counts[("fallback_rate", OVERALL)] = ArmCounts(c["n"], c["fallbacks"], b["n"], b["fallbacks"])
    counts[("latency.p95_ms", OVERALL)] = ArmCounts(c["n"], c["slow_m"], b["n"], b["slow"])
    new_keys = rng.poisson(plan.keys_per_s * plan.look_every_s, size=shape)
    canary_keys = rng.binomial(new_keys, share)
    keys = np.stack([np.cumsum(new_keys - canary_keys, 1), np.cumsum(canary_keys, 1)], axis=-1)
    state = RolloutState(counts, SplitCounts(keys, plan.weights))
    return Simulated(state, ArmCounts(c["n"], c["slow"], b["n"], b["slow"]))


@dataclass(frozen=True)
class Simulated:
    """The counts of a replay set, and the candidate's answers slower than ``q`` itself (for
    a latency check with margin 0)."""

    state: RolloutState
    latency_no_margin: ArmCounts


def judge(plan: ReplayPlan, gates: list[RolloutGate], state: RolloutState) -> GateSetResult:
    """The controller's call at a look (or at every look at once)."""
    return evaluate_gates(gates, state, planned_n=plan.planned_n(False), srm_alpha=plan.srm_alpha)


def rollback_looks(plan: ReplayPlan, state: RolloutState) -> IntArray:
    """Vectorised: the look at which each replay of ``state`` rolls back, -1 never."""
    result = judge(plan, plan_gates(plan), state)
    return _first(step_action(result, duration_met=False) == ABORT)


def _first(mask: npt.NDArray[np.bool_]) -> IntArray:
    """The first look (index) where ``mask`` holds in each replay, -1 where it never does."""
    return np.where(mask.any(axis=1), mask.argmax(axis=1), -1).astype(np.int64)


@dataclass(frozen=True)
class ReplayResult:
    """Per replay: when it rolled back (look index, -1 never) and what each gate did."""

    scenario: str
    replays: int
    rollback_look: IntArray
    first_fail: dict[str, IntArray]  # per gate (and "split"): first failing look, -1 never
    n_at_fail: dict[str, IntArray]  # the candidate's sample for that gate at its first fail

    @property
    def rolled_back(self) -> npt.NDArray[np.bool_]:
        return self.rollback_look >= 0

    def caught_by(self, gate: str) -> npt.NDArray[np.bool_]:
        """Replays rolled back with ``gate`` failing at the rollback's look."""
        first = self.first_fail[gate]
        return np.asarray((first >= 0) & (first == self.rollback_look), dtype=bool)


def _gate_name(g: RolloutGate) -> str:
    return g.metric


def replay(
    plan: ReplayPlan,
    scenario: Scenario,
    *,
    replays: int,
    seed: int = 0,
    chunk: int = 250,
    margin_scale: float = 1.0,
) -> ReplayResult:
    """Replay ``replays`` canaries of ``scenario`` under ``plan``; every look judged by
    :func:`evaluate_gates` and :func:`step_action` (vectorised over replays and looks)."""
    rng = np.random.default_rng(seed)
    gates = plan_gates(plan, margin_scale=margin_scale)
    looks: list[IntArray] = []
    first: dict[str, list[IntArray]] = {}
    n_at: dict[str, list[IntArray]] = {}
    for start in range(0, replays, chunk):
        size = min(chunk, replays - start)
        state = simulate(plan, scenario, size, rng).state
        result = judge(plan, gates, state)
        looks.append(_first(step_action(result, duration_met=False) == ABORT))
        for name, fails, n in _fails(result):
            f = _first(fails)
            first.setdefault(name, []).append(f)
            picked = np.take_along_axis(n, np.maximum(f, 0)[:, None], axis=1)[:, 0]
            n_at.setdefault(name, []).append(np.where(f >= 0, picked, -1).astype(np.int64))
    return ReplayResult(
        scenario.name,
        replays,
        np.concatenate(looks),
        {k: np.concatenate(v) for k, v in first.items()},
        {k: np.concatenate(v) for k, v in n_at.items()},
    )


def _fails(
    result: GateSetResult,
) -> list[tuple[str, npt.NDArray[np.bool_], npt.NDArray[np.float64]]]:
    out = [
        (_gate_name(o.gate), o.verdict == FAIL, np.asarray(o.interval.n_candidate))
        for o in result.outcomes
    ]
    if result.split is not None:
        keys = np.asarray(result.split.shares)
        out.append(("split", result.split.verdict == FAIL, np.zeros(keys.shape[:-1])))
    return out


def replay_one(plan: ReplayPlan, state: RolloutState, replay_index: int = 0) -> int:
    """The controller's loop for one replay: a fake clock moves a look at a time, the gates are
    judged on that look's counts alone, and the first ABORT ends it. Returns its look, or -1.

    It must agree with :func:`replay`'s vectorised verdicts (a test checks it)."""
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    start = clock.now()
    gates = plan_gates(plan)
    assert state.split is not None
    for look in range(plan.looks):
        clock.advance(plan.look_every_s)
        counts = {key: _at(c, replay_index, look) for key, c in state.counts.items()}
        keys = np.asarray(state.split.keys)[replay_index, look]
        now = RolloutState(counts, SplitCounts(keys, state.split.weights))
        result = judge(plan, gates, now)
        elapsed = (clock.now() - start).total_seconds()
        if int(step_action(result, duration_met=elapsed >= plan.hours * 3600)) == ABORT:
            return look
    return -1


def _at(c: ArmCounts, replay_index: int, look: int) -> ArmCounts:
    """One replay's counts at one look: what a controller reads from the monitor then."""
    parts = (c.n_candidate, c.k_candidate, c.n_baseline, c.k_baseline)
    return ArmCounts(*(np.asarray(a)[replay_index, look] for a in parts))


@dataclass(frozen=True)
class PeekingRow:
    """Share of replays a check flags at some look, per gate and for any gate."""

    check: str
    per_gate: dict[str, float]
    any_gate: float


def peeking_comparison(
    plan: ReplayPlan, scenario: Scenario, *, replays: int, seed: int = 0, chunk: int = 250
) -> list[PeekingRow]:
    """The same replays judged by the sequential gates and by checks that are not peek-safe:
    the fixed 95 % interval looked at every minute (with the plan's margins, and with margin
    0), the point estimate being worse than the baseline's at any look, and a chi-square split
    test (p < 0.01) at every look. All after the same minimum sample per arm."""
    rng = np.random.default_rng(seed)
    names = [g.metric for g in plan_gates(plan)]
    checks = [
        "sequential gates (plan margins)",
        "sequential, margin 0",
        "fixed 95 % interval peeked every minute (plan margins)",
        "fixed 95 % interval peeked every minute, margin 0",
        "point estimate worse than baseline at any look",
    ]
    flagged = {c: {n: 0 for n in [*names, "split", "any"]} for c in checks}
    for start in range(0, replays, chunk):
        size = min(chunk, replays - start)
        sim = simulate(plan, scenario, size, rng)
        state = sim.state
        assert state.split is not None
        seq_split = srm(state.split.keys, plan.weights, alpha=plan.srm_alpha).verdict == FAIL
        fixed_split = _chi_square_split(np.asarray(state.split.keys), plan.weights, 0.01)
        for check in checks:
            scale = 0.0 if "margin 0" in check or check.startswith("point") else 1.0
            anyflag = np.zeros(size, dtype=bool)
            for g in plan_gates(plan, margin_scale=scale):
                counts = state.counts[g.key]
                if g.metric.startswith("latency.") and scale == 0.0:
                    counts = sim.latency_no_margin
                hit = _check_flags(check, g, counts).any(axis=1)
                flagged[check][g.metric] += int(hit.sum())
                anyflag |= hit
            split_hit = (seq_split if check.startswith("sequential") else fixed_split).any(axis=1)
            flagged[check]["split"] += int(split_hit.sum())
            flagged[check]["any"] += int((anyflag | split_hit).sum())
    return [
        PeekingRow(
            c,
            {n: flagged[c][n] / replays for n in [*names, "split"]},
            flagged[c]["any"] / replays,
        )
        for c in checks
    ]


def _check_flags(check: str, g: RolloutGate, c: ArmCounts) -> npt.NDArray[np.bool_]:
    args = (c.k_candidate, c.n_candidate, c.k_baseline, c.n_baseline)
    latency = g.metric.startswith("latency.")
    margin = 0.0 if latency else g.margin
    if check.startswith("sequential"):
        assert g.planned_n is not None
        cs = rate_difference(*args, alpha=g.alpha, planned_n=g.planned_n, min_sample=g.min_sample)
    elif check.startswith("fixed"):
        cs = fixed_rate_difference(*args, alpha=g.alpha, min_sample=g.min_sample)
    else:  # the point estimate alone: worse by more than nothing
        cs = fixed_rate_difference(*args, alpha=g.alpha, min_sample=g.min_sample)
        worse = -cs.estimate if g.higher_is_better else cs.estimate
        return np.asarray(cs.ready & (worse > 0))
    return np.asarray(
        non_inferiority(cs, margin=margin, higher_is_better=g.higher_is_better) == FAIL
    )


def _chi_square_split(
    keys: npt.NDArray[np.int64], weights: tuple[float, float], p: float
) -> npt.NDArray[np.bool_]:
    total = keys.sum(axis=-1, keepdims=True)
    expected = total * np.asarray(weights)
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = np.where(expected > 0, (keys - expected) ** 2 / expected, 0.0).sum(axis=-1)
    return np.asarray(chi2 > stats.chi2.isf(p, df=len(weights) - 1))
