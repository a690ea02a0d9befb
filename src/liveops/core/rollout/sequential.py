"""Peek-safe statistics for live arms: confidence sequences and a sequential split check.

A rollout looks at its gates every minute. A fixed-horizon interval (the suite's 95 % interval)
is valid at one look chosen in advance; checked at every look, a healthy candidate crosses it
by chance sooner or later, and the rollout rolls back for nothing. The statistics here stay
valid at every look at once, whenever the controller peeks and whenever it stops.

**Differences of rates** (error, fallback, below-threshold rates, accuracy from labels: any
metric that is a share of answers): a two-sided *asymptotic confidence sequence* for the
difference of two means, with the normal-mixture boundary (Robbins 1970; Howard, Ramdas,
McAuliffe and Sekhon 2021, "Time-uniform, nonparametric, nonasymptotic confidence sequences",
Ann. Statist. 49(2), eq. (14); made asymptotic, with the variance estimated, by Waudby-Smith,
Arnold, Wu, McAuliffe and Ramdas 2024, "Time-uniform central limit theory and asymptotic
confidence sequences", Ann. Statist. 52(6)). For an estimate with variance ``V`` and effective
sample ``t`` its half-width is::

    sqrt(V) * sqrt((1 + x) / x * (log(1 + x) + 2 log(1 / alpha))),   x = rho2 * t

which is the mixture SPRT of Johari, Koomen, Pekelis and Walsh (2017/2022, "Always valid
inference") read as an interval. ``rho2`` sets where the sequence is tightest; it is tuned for
the sample the plan expects (``planned_n``) as Waudby-Smith et al. suggest. Why this one: it
needs only counts per arm (``n`` and the number of events), which is what the monitor's
mergeable windows keep, so it is closed-form, vectorises over a thousand replays, and one form
serves guardrails, goals and latency. Betting confidence sequences are tighter with a few
dozen answers but need the answers in order, one by one. The price of peeking: at its planned
sample the half-width is about 3.04 standard errors instead of 1.96 (``required_sample`` says
what that costs in answers).

**Latency** becomes a share too: a guardrail ``latency.p95_ms not_worse_than: baseline,
margin: m`` holds when the candidate's p95 is at most the baseline's plus ``m``, that is when
the share of candidate answers slower than ``q + m`` is at most the share of baseline answers
slower than ``q``, where ``q`` is the baseline's p95 (from its window before the step; the
baseline's own share above ``q`` absorbs an error in ``q`` and load that slows both arms).
So the gate compares two shares, with margin 0, and reuses the test above.

**Split** (sample-ratio mismatch): the Dirichlet-multinomial mixture SPRT of Lindon and Malek
(2022, "Anytime-valid inference for multinomial count data", NeurIPS), on the counts of
sticky keys per arm against the planned weights; it fails (the rollout halts) when its Bayes
factor reaches ``1 / alpha``, which by Ville's inequality happens with probability at most
``alpha`` on a correct split, however often it is checked.

Everything takes numpy arrays of any shape (one rollout now, or every minute of a thousand
replays) and returns verdict codes: :data:`PASS`, :data:`INCONCLUSIVE`, :data:`FAIL`.

>>> cs = rate_difference(k_candidate=60, n_candidate=1000, k_baseline=20, n_baseline=1000,
...                      planned_n=500)
>>> round(float(cs.estimate), 3), bool(cs.lower > 0)
(0.04, True)
>>> int(non_inferiority(cs, margin=0.01, higher_is_better=False))  # 4 points more errors
-1
>>> ok, off = srm([900, 100], weights=[0.9, 0.1]), srm([500, 500], weights=[0.9, 0.1])
>>> int(ok.verdict), int(off.verdict)
(0, -1)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from liveops.errors import UsageError

__all__ = [
    "FAIL",
    "INCONCLUSIVE",
    "PASS",
    "VERDICT_NAMES",
    "Interval",
    "SampleSize",
    "SrmResult",
    "boundary_multiplier",
    "check_weights",
    "effective_n",
    "fixed_rate_difference",
    "mean_difference",
    "non_inferiority",
    "rate_difference",
    "required_sample",
    "srm",
    "superiority",
    "verdict_name",
]

PASS, INCONCLUSIVE, FAIL = 1, 0, -1
VERDICT_NAMES = {PASS: "pass", INCONCLUSIVE: "inconclusive", FAIL: "fail"}
DEFAULT_ALPHA = 0.05
DEFAULT_MIN_SAMPLE = 100
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int8]
ArrayLike = npt.ArrayLike


def verdict_name(code: int) -> str:
    """``'pass'``, ``'inconclusive'`` or ``'fail'`` for a verdict code.

    >>> verdict_name(FAIL)
    'fail'
    """
    return VERDICT_NAMES[int(code)]


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise UsageError(
            f"alpha must be between 0 and 1 (exclusive), got {alpha!r}",
            hint="0.05 gives 95 % confidence sequences, like the suite's 95 % intervals",
        )


def mixture_rho2(alpha: float, planned_n: float) -> float:
    """The mixture's variance per answer that makes the sequence tightest at ``planned_n``.

    Waudby-Smith et al. (2024, section 3.3): ``rho2 * planned_n = -2 log a + log(1 - 2 log a)``.

    >>> round(mixture_rho2(0.05, 1.0), 2)
    7.94
    """
    _check_alpha(alpha)
    if not planned_n > 0:
        raise UsageError(f"planned_n must be positive, got {planned_n!r}")
    two_log = -2.0 * math.log(alpha)
    return (two_log + math.log(1.0 + two_log)) / planned_n


def boundary_multiplier(
    n_eff: ArrayLike, *, alpha: float = DEFAULT_ALPHA, planned_n: float
) -> FloatArray:
    """Half-width of the confidence sequence in standard errors at effective sample ``n_eff``.

    At ``planned_n`` it is about 3.0 for alpha 0.05 (a fixed interval: 1.96); it grows slowly
    on either side.

    >>> round(float(boundary_multiplier(1000, planned_n=1000)), 2)
    3.04
    >>> bool(boundary_multiplier(10, planned_n=1000) > boundary_multiplier(1000, planned_n=1000))
    True
    """
    x = mixture_rho2(alpha, planned_n) * np.asarray(n_eff, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.sqrt((1.0 + x) / x * (np.log1p(x) + 2.0 * math.log(1.0 / alpha)))
    return np.where(x > 0, m, np.inf)


def effective_n(n_candidate: ArrayLike, n_baseline: ArrayLike) -> FloatArray:
    """The sample of one arm that would be as informative as the two: ``1/(1/nc + 1/nb)``.

    >>> float(effective_n(100, 100)), round(float(effective_n(100, 900)), 1)
    (50.0, 90.0)
    """
    nc = np.asarray(n_candidate, dtype=np.float64)
    nb = np.asarray(n_baseline, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = nc * nb / (nc + nb)
    return np.where((nc > 0) & (nb > 0), out, 0.0)


@dataclass(frozen=True)
class Interval:
    """An estimate of candidate - baseline with its bounds and the sample behind it.

    ``ready`` is False where an arm has fewer answers than the minimum: its verdict is
    inconclusive whatever the bounds say.
    """

    estimate: FloatArray
    lower: FloatArray
    upper: FloatArray
    n_candidate: FloatArray
    n_baseline: FloatArray
    ready: npt.NDArray[np.bool_]


def _rates(
    k_candidate: ArrayLike, n_candidate: ArrayLike, k_baseline: ArrayLike, n_baseline: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    kc, nc, kb, nb = (
        np.asarray(a, dtype=np.float64) for a in (k_candidate, n_candidate, k_baseline, n_baseline)
    )
    if np.any(nc < 0) or np.any(nb < 0) or np.any(kc < 0) or np.any(kb < 0):
        raise UsageError("counts of answers and events cannot be negative")
    if np.any(kc > nc) or np.any(kb > nb):
        raise UsageError("an arm has more events than answers", hint="k counts events among n")
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = np.where((nc > 0) & (nb > 0), kc / nc - kb / nb, np.nan)
    # The variance uses (k + 1) / (n + 2): with no event yet an arm's rate is not known to
    # be exactly 0, and a zero variance would make the sequence collapse onto the estimate.
    vc = (kc + 1) / (nc + 2) * (1 - (kc + 1) / (nc + 2))
    vb = (kb + 1) / (nb + 2) * (1 - (kb + 1) / (nb + 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = vc / nc + vb / nb
    return estimate, variance, nc, nb, np.asarray(kc + kb, dtype=np.float64)


def rate_difference(
    k_candidate: ArrayLike,
    n_candidate: ArrayLike,
    k_baseline: ArrayLike,
    n_baseline: ArrayLike,
    *,
    alpha: float = DEFAULT_ALPHA,
    planned_n: float,
    min_sample: int = DEFAULT_MIN_SAMPLE,
) -> Interval:
    """The confidence sequence of (candidate rate - baseline rate), valid at every look.

    ``k`` events among ``n`` answers per arm; ``planned_n`` is the effective sample
    (:func:`effective_n`) where the sequence should be tightest, usually the one the step is
    expected to reach.

    >>> cs = rate_difference(5, 100, 5, 100, planned_n=1000)
    >>> float(cs.estimate), bool(cs.lower < 0 < cs.upper)
    (0.0, True)
    """
    estimate, variance, nc, nb, _ = _rates(k_candidate, n_candidate, k_baseline, n_baseline)
    half = np.sqrt(variance) * boundary_multiplier(
        effective_n(nc, nb), alpha=alpha, planned_n=planned_n
    )
    return _interval(estimate, half, nc, nb, min_sample)


def mean_difference(
    sum_candidate: ArrayLike,
    sq_candidate: ArrayLike,
    n_candidate: ArrayLike,
    sum_baseline: ArrayLike,
    sq_baseline: ArrayLike,
    n_baseline: ArrayLike,
    *,
    alpha: float = DEFAULT_ALPHA,
    planned_n: float,
    min_sample: int = DEFAULT_MIN_SAMPLE,
) -> Interval:
    """The confidence sequence of (candidate mean - baseline mean) of a per-answer value (a
    cost), from each arm's sum, sum of squares and answers: the boundary of
    :func:`rate_difference` with each arm's sample variance in place of ``p(1-p)``.

    A value that never varies (a fixed price per answer) has no variance: the interval is
    then the difference itself, which is known exactly.

    >>> cs = mean_difference(2.0, 0.05, 100, 1.0, 0.0125, 100, planned_n=100)
    >>> round(float(cs.estimate), 4), bool(cs.lower > 0)
    (0.01, True)
    >>> cs = mean_difference(1.0, 0.02, 100, 1.0, 0.02, 100, planned_n=100)
    >>> bool(cs.lower < 0 < cs.upper)
    True
    """
    sc, qc, nc, sb, qb, nb = (
        np.asarray(a, dtype=np.float64)
        for a in (sum_candidate, sq_candidate, n_candidate, sum_baseline, sq_baseline, n_baseline)
    )
    if np.any(nc < 0) or np.any(nb < 0):
        raise UsageError("counts of answers cannot be negative")
    with np.errstate(divide="ignore", invalid="ignore"):
        mc, mb = sc / nc, sb / nb
        estimate = np.where((nc > 0) & (nb > 0), mc - mb, np.nan)
        # Sample variances (n - 1), never below 0 from rounding.
        vc = np.maximum(qc - nc * mc**2, 0.0) / np.maximum(nc - 1, 1)
        vb = np.maximum(qb - nb * mb**2, 0.0) / np.maximum(nb - 1, 1)
        variance = vc / nc + vb / nb
    half = np.sqrt(variance) * boundary_multiplier(
        effective_n(nc, nb), alpha=alpha, planned_n=planned_n
    )
    half = np.where(variance > 0, half, 0.0)
    return _interval(estimate, half, nc, nb, min_sample)


def fixed_rate_difference(
    k_candidate: ArrayLike,
    n_candidate: ArrayLike,
    k_baseline: ArrayLike,
    n_baseline: ArrayLike,
    *,
    alpha: float = DEFAULT_ALPHA,
    min_sample: int = DEFAULT_MIN_SAMPLE,
) -> Interval:
    """The fixed-horizon (Wald) interval of the same difference: valid at ONE look only.

    Kept to show what peeking does to it (``bench/rollout``); gates never use it.

    >>> cs = fixed_rate_difference(5, 100, 5, 100)
    >>> bool(cs.upper - cs.lower < (rate_difference(5, 100, 5, 100, planned_n=100).upper
    ...                             - rate_difference(5, 100, 5, 100, planned_n=100).lower))
    True
    """
    _check_alpha(alpha)
    estimate, variance, nc, nb, _ = _rates(k_candidate, n_candidate, k_baseline, n_baseline)
    half = np.sqrt(variance) * float(stats.norm.ppf(1 - alpha / 2))
    return _interval(estimate, half, nc, nb, min_sample)


def _interval(
    estimate: FloatArray, half: FloatArray, nc: FloatArray, nb: FloatArray, min_sample: int
) -> Interval:
    if min_sample < 1:
        raise UsageError(f"min_sample must be at least 1, got {min_sample!r}")
    shape = np.broadcast_shapes(np.shape(estimate), np.shape(nc), np.shape(nb))
    estimate, half, nc, nb = (np.broadcast_to(a, shape) for a in (estimate, half, nc, nb))
    ready = (nc >= min_sample) & (nb >= min_sample)
    with np.errstate(invalid="ignore"):
        lower = np.where(ready, estimate - half, -np.inf)
        upper = np.where(ready, estimate + half, np.inf)
    return Interval(estimate, lower, upper, nc, nb, ready)


def non_inferiority(cs: Interval, *, margin: float, higher_is_better: bool) -> IntArray:
    """A guardrail ``not_worse_than: baseline, margin: m`` on a sequence of candidate - baseline.

    As the suite's gates do (docs/conventions.md, "Gates"): how much worse the candidate is
    has an interval; pass when its upper bound is below ``m``, fail when its lower bound is
    above ``m``, otherwise (or before the minimum sample) inconclusive.

    >>> cs = rate_difference(900, 1000, 895, 1000, planned_n=1000)  # accuracy, same
    >>> int(non_inferiority(cs, margin=0.05, higher_is_better=True))
    1
    """
    if not margin >= 0:
        raise UsageError(
            f"a not_worse_than margin cannot be negative, got {margin!r}",
            hint="margins are absolute and at least 0: 0.01 is one percentage point",
        )
    if higher_is_better:
        worse_lo, worse_hi = -cs.upper, -cs.lower
    else:
        worse_lo, worse_hi = cs.lower, cs.upper
    return _verdicts(cs, pass_=worse_hi < margin, fail=worse_lo > margin)


def superiority(cs: Interval, *, higher_is_better: bool) -> IntArray:
    """A goal ``better_than: baseline`` (two-sided): pass when the improvement's interval lies
    above 0, fail when it lies below 0, otherwise inconclusive.

    >>> cs = rate_difference(950, 1000, 850, 1000, planned_n=1000)
    >>> int(superiority(cs, higher_is_better=True))
    1
    """
    if higher_is_better:
        better_lo, better_hi = cs.lower, cs.upper
    else:
        better_lo, better_hi = -cs.upper, -cs.lower
    return _verdicts(cs, pass_=better_lo > 0, fail=better_hi < 0)


def _verdicts(cs: Interval, *, pass_: npt.ArrayLike, fail: npt.ArrayLike) -> IntArray:
    """Verdict codes; inconclusive wherever an arm is below the minimum sample."""
    out = np.where(fail, FAIL, np.where(pass_, PASS, INCONCLUSIVE))
    return np.asarray(np.where(cs.ready, out, INCONCLUSIVE), dtype=np.int8)


@dataclass(frozen=True)
class SrmResult:
    """The split check: verdict (FAIL halts the rollout, else INCONCLUSIVE), the log Bayes
    factor against the planned split, and the observed share of each arm."""

    verdict: IntArray
    log_bayes_factor: FloatArray
    shares: FloatArray


def check_weights(weights: Sequence[float] | FloatArray) -> FloatArray:
    """Planned weights as an array: each above 0, summing to 1.

    >>> try:
    ...     check_weights([0.9, 0.2])
    ... except UsageError as exc:
    ...     print(exc.message)
    the arms' weights must sum to 1, got 1.1
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.size < 2:
        raise UsageError("a split needs a weight for each of at least two arms")
    if np.any(~np.isfinite(w)) or np.any(w <= 0):
        raise UsageError(
            f"every arm's weight must be above 0, got {w.tolist()}",
            hint="an arm with weight 0 receives nothing: leave it out of the split",
        )
    if abs(float(w.sum()) - 1.0) > 1e-9:
        raise UsageError(
            f"the arms' weights must sum to 1, got {float(w.sum()):g}",
            hint="e.g. 0.9 for the baseline and 0.1 for a 10 % canary",
        )
    return w


def srm(
    counts: ArrayLike,
    weights: Sequence[float] | FloatArray,
    *,
    alpha: float = 0.01,
    concentration: float = 1000.0,
) -> SrmResult:
    """Sequential sample-ratio-mismatch check on sticky keys per arm (last axis = arms).

    Lindon and Malek's Bayes factor of a Dirichlet(``concentration`` * weights) mixture
    against the planned multinomial. The prior is centred on the plan; a concentration of
    1,000 gives a 10 % arm a prior spread of about one point, the size of split error worth
    halting for. ``alpha`` defaults to 0.01: a halt stops every arm, so it should be rare on a
    correct split.

    >>> r = srm([9000, 1000], [0.9, 0.1])
    >>> int(r.verdict), bool(r.log_bayes_factor < 0)
    (0, True)
    >>> int(srm([9300, 700], [0.9, 0.1]).verdict)
    -1
    """
    _check_alpha(alpha)
    w = check_weights(weights)
    x = np.asarray(counts, dtype=np.float64)
    if x.shape[-1:] != w.shape:
        raise UsageError(f"{w.size} weights for counts of {x.shape[-1] if x.ndim else 0} arms")
    if np.any(x < 0):
        raise UsageError("counts of sticky keys cannot be negative")
    if not concentration > 0:
        raise UsageError(f"concentration must be positive, got {concentration!r}")
    a = concentration * w
    log_bf = (
        special.gammaln(a.sum())
        - special.gammaln(a.sum() + x.sum(axis=-1))
        + (special.gammaln(a + x) - special.gammaln(a)).sum(axis=-1)
        - (x * np.log(w)).sum(axis=-1)
    )
    verdict = np.where(log_bf >= math.log(1.0 / alpha), FAIL, INCONCLUSIVE).astype(np.int8)
    total = x.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = np.where(total > 0, x / total, np.nan)
    return SrmResult(verdict, np.asarray(log_bf, dtype=np.float64), shares)


@dataclass(frozen=True)
class SampleSize:
    """Answers needed per arm: fixed-horizon, peek-safe, and the ratio of the two."""

    mde: float
    baseline_rate: float
    alpha: float
    power: float
    fixed_per_arm: int
    sequential_per_arm: int

    @property
    def inflation(self) -> float:
        return self.sequential_per_arm / self.fixed_per_arm


def required_sample(
    mde: float, baseline_rate: float, alpha: float = DEFAULT_ALPHA, power: float = 0.8
) -> SampleSize:
    """Answers per arm (equal split) to detect a change of ``mde`` in a rate near ``baseline_rate``.

    *Fixed horizon*: the two-proportion z-test (two-sided ``alpha``) looked at once, at the end.
    *Sequential*: the confidence sequence above, tuned for that sample and checked at every
    look, has its bound beyond 0 at that sample with probability ``power`` (it may cross
    earlier, so this is an upper bound). The inflation is about 1.9 at alpha 0.05 and power
    0.8: the price of peeking every minute.

    >>> s = required_sample(0.02, 0.10)
    >>> s.fixed_per_arm, s.sequential_per_arm, round(s.inflation, 2)
    (3841, 7350, 1.91)
    """
    _check_alpha(alpha)
    if not 0.0 < power < 1.0:
        raise UsageError(f"power must be between 0 and 1 (exclusive), got {power!r}")
    if not 0.0 < baseline_rate < 1.0:
        raise UsageError(f"the baseline rate must be between 0 and 1, got {baseline_rate!r}")
    if not mde > 0:
        raise UsageError(
            f"the minimum detectable effect must be above 0, got {mde!r}",
            hint="mde is absolute: 0.02 is two percentage points",
        )
    p1, p2 = baseline_rate, baseline_rate + mde
    if not p2 < 1.0:
        p2 = baseline_rate - mde
        if not p2 > 0.0:
            raise UsageError(f"no rate differs from {baseline_rate:g} by {mde:g}")
    z_a = float(stats.norm.ppf(1 - alpha / 2))
    z_b = float(stats.norm.ppf(power))
    pbar = (p1 + p2) / 2
    var_sum = p1 * (1 - p1) + p2 * (1 - p2)
    fixed = (z_a * math.sqrt(2 * pbar * (1 - pbar)) + z_b * math.sqrt(var_sum)) ** 2 / mde**2
    # Sequential: n per arm with mde >= (boundary multiplier at n, tuned for n + z_b) * se(n).
    # With the sequence tuned for the sample it is read at, the multiplier is a constant.
    mult = float(boundary_multiplier(1.0, alpha=alpha, planned_n=1.0))
    sequential = (mult + z_b) ** 2 * var_sum / mde**2
    return SampleSize(
        mde, baseline_rate, alpha, power, math.ceil(fixed), max(math.ceil(sequential), 1)
    )
