"""Statistics for comparing versions: seeded paired bootstrap and McNemar's test.

The bootstrap draws case *counts* (how often each case is picked in a resample) as a matrix,
so that any metric written as weighted sums is computed for all resamples at once. Drawing the
same matrix for a candidate and its baseline on the same cases makes the comparison paired.

>>> w = bootstrap_weights(5, resamples=3, seed=1)
>>> w.shape, w.sum(axis=1).tolist()
((3, 5), [5.0, 5.0, 5.0])
>>> r = mcnemar(3, 9)
>>> r.exact, round(r.pvalue, 4)
(True, 0.146)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "RESAMPLES",
    "McNemarResult",
    "bootstrap_weights",
    "mcnemar",
    "percentile_interval",
]

RESAMPLES = 1000
FloatArray = npt.NDArray[np.float64]


def bootstrap_weights(n: int, *, resamples: int = RESAMPLES, seed: int = 0) -> FloatArray:
    """How often each of ``n`` cases is drawn in each resample: shape ``(resamples, n)``."""
    if n == 0:
        return np.zeros((resamples, 0), dtype=np.float64)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, size=(resamples, n))
    flat = picks + (np.arange(resamples, dtype=np.int64) * n)[:, None]
    counts = np.bincount(flat.ravel(), minlength=resamples * n)
    return counts.reshape(resamples, n).astype(np.float64, copy=False)


def percentile_interval(samples: FloatArray, level: float = 0.95) -> tuple[float, float] | None:
    """The two-sided percentile interval of bootstrap ``samples`` (NaNs ignored).

    >>> [round(x, 6) for x in percentile_interval(np.arange(101, dtype=float))]
    [2.5, 97.5]
    """
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return None
    tail = (1.0 - level) / 2 * 100
    lo, hi = np.percentile(finite, [tail, 100 - tail])
    return float(lo), float(hi)


@dataclass(frozen=True)
class McNemarResult:
    """McNemar's test on paired right/wrong outcomes, computed with scipy as statsmodels does.

    ``b``: cases only the baseline got right; ``c``: cases only the candidate got right.
    Exact (binomial) below 25 discordant pairs, else chi-square with continuity correction.
    """

    b: int
    c: int
    statistic: float
    pvalue: float
    exact: bool

    def to_dict(self) -> dict[str, float | int | bool]:
        return {
            "b": self.b,
            "c": self.c,
            "statistic": self.statistic,
            "pvalue": self.pvalue,
            "exact": self.exact,
        }


def mcnemar(b: int, c: int, *, exact: bool | None = None) -> McNemarResult:
    """McNemar's test for the discordant counts ``b`` and ``c``.

    ``exact=None`` chooses: exact when ``b + c < 25``.

    >>> r = mcnemar(10, 30)
    >>> r.exact, r.statistic, round(r.pvalue, 6)
    (False, 9.025, 0.002663)
    """
    # Imported here: scipy.stats costs far more start-up time than the rest of liveops.
    from scipy.stats import binomtest, chi2

    n = b + c
    use_exact = n < 25 if exact is None else exact
    if use_exact:
        k = min(b, c)
        # Two-sided binomial test with p = 1/2 (symmetric, so min(1, 2 * P(X <= k)) as in
        # statsmodels); with no discordant pair there is no evidence either way.
        pvalue = float(binomtest(k, n, 0.5).pvalue) if n else 1.0
        return McNemarResult(b, c, float(k), min(1.0, pvalue), True)
    # Chi-square with continuity correction, one degree of freedom.
    stat = (abs(b - c) - 1.0) ** 2 / n if n else 0.0
    return McNemarResult(b, c, stat, float(chi2.sf(stat, 1)), False)
