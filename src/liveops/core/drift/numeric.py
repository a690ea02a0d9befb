"""Drift of a numeric column: normalised Wasserstein distance (default), PSI and KS.

Each sample is sorted once; the Wasserstein distance, the PSI bins and the histogram pair are
all read from the two sorted arrays, so a column of a million rows costs two sorts and a merge.

The Wasserstein distance is divided by the reference's standard deviation (population, ``ddof=0``,
floored at 0.001): the same normalisation as Evidently's default numeric method, so the two
tools' values compare directly. 0.1 then means the current distribution moved, in total, a tenth
of a reference standard deviation. Small samples are that far apart by chance alone, so the
default threshold is the larger of 0.1 and the distance's 99th percentile under no drift at
these sample sizes (:func:`wasserstein_null_quantile`).

>>> rng = np.random.default_rng(0)
>>> ref, cur = rng.normal(0, 1, 5000), rng.normal(0.5, 1, 5000)
>>> d = numeric_drift("x", ref, cur)
>>> d.method, d.drifted, round(d.statistic, 1)
('wasserstein', True, 0.5)
>>> numeric_drift("x", ref, rng.normal(0, 1, 5000)).drifted
False
>>> numeric_drift("x", ref, cur, method="ks").p_value < 0.05
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from liveops.core.drift.result import (
    PSI_THRESHOLD,
    WASSERSTEIN_THRESHOLD,
    ColumnDrift,
    Histogram,
    Method,
    Role,
)
from liveops.errors import UsageError

__all__ = [
    "N_BINS",
    "PSI_FLOOR",
    "SPREAD_FLOOR",
    "numeric_drift",
    "psi",
    "quantile_edges",
    "sorted_finite",
    "wasserstein_null_quantile",
    "wasserstein_sorted",
]

Floats = np.ndarray[Any, np.dtype[np.float64]]

N_BINS = 10  # reference deciles, as the stored profile's bin edges
SPREAD_FLOOR = 0.001  # Evidently's floor: a constant reference does not divide by zero
PSI_FLOOR = 1e-4  # an empty bin counts as this share, so PSI stays finite
NULL_QUANTILE = 0.99
NULL_SIMULATIONS = 200
NULL_SIZE = 1000
WASSERSTEIN_SLICE = 1 << 18  # merged values per step of the distance's sum
NUMBER_METHODS: frozenset[str] = frozenset({"wasserstein", "psi", "ks"})


def sorted_finite(values: Any) -> tuple[Floats, int]:
    """The finite values sorted, and how many were missing (None, NaN or infinite)."""
    x = np.asarray(values, dtype=np.float64).ravel()
    keep = np.isfinite(x)
    kept = x[keep]
    kept.sort()
    return kept, int(x.size - kept.size)


def wasserstein_sorted(u: Floats, v: Floats) -> float:
    """The first Wasserstein distance between two sorted samples.

    The integral of |F_u - F_v| over the merged sample, as scipy's ``wasserstein_distance``
    computes it, without its argsort of the concatenation: the two sorted runs merge in linear
    time, and the sum is taken in slices of :data:`WASSERSTEIN_SLICE` values, so the working
    memory stays about three times the merged sample whatever its size.

    >>> wasserstein_sorted(np.array([0.0, 1.0]), np.array([1.0, 2.0]))
    1.0
    """
    both = np.concatenate([u, v])
    # Two sorted runs: the stable sort (timsort) merges them in linear time. Counting, in merged
    # order, how many of each sample came so far gives both CDFs without a search; within a run
    # of ties the counts differ from scipy's, but there the gap to the next value is 0.
    order = np.argsort(both, kind="stable")
    merged = both[order]
    del both
    from_u = order[:-1] < u.size
    del order
    total, seen_u = 0.0, 0
    for start in range(0, from_u.size, WASSERSTEIN_SLICE):
        step = from_u[start : start + WASSERSTEIN_SLICE]
        count_u = seen_u + np.cumsum(step)
        count_v = np.arange(start + 1, start + 1 + step.size) - count_u
        gaps = np.diff(merged[start : start + step.size + 1])
        total += float(np.dot(np.abs(count_u / u.size - count_v / v.size), gaps))
        seen_u = int(count_u[-1])
    return total


def wasserstein_null_quantile(
    pooled: Floats,
    n_reference: int,
    n_current: int,
    *,
    quantile: float = NULL_QUANTILE,
    simulations: int = NULL_SIMULATIONS,
    seed: int = 0,
) -> float:
    """The ``quantile`` of the normalised Wasserstein distance between two samples of one world
    at sizes ``n_reference`` and ``n_current``, by a seeded bootstrap from ``pooled`` (both
    samples' values: under no drift they are one sample, and a heavy tail that only the current
    sample happened to reach is part of that world).

    The distance between two samples shrinks as 1 / sqrt(n m / (n + m)); each simulation draws
    two samples of one size s (at most 1,000), where the distance is the mean gap of the sorted
    samples, and scales it to the real sizes. Above an effective size of 100,000 the noise is
    negligible next to any threshold and 0 is returned.

    >>> x = np.random.default_rng(0).normal(0, 1, 400)
    >>> 0.1 < wasserstein_null_quantile(x, 200, 200) < 0.3
    True
    """
    n_eff = n_reference * n_current / (n_reference + n_current)
    if n_eff >= 100_000:
        return 0.0
    s = int(min(NULL_SIZE, max(2, round(2 * n_eff))))
    rng = np.random.default_rng(seed)
    x = np.sort(pooled[rng.integers(0, pooled.size, (simulations, s))], axis=1)
    y = np.sort(pooled[rng.integers(0, pooled.size, (simulations, s))], axis=1)
    # Each simulated reference divides by its own spread, as the real one does: a reference
    # that happened to miss its tail has a small spread and makes any current look far.
    spread = np.maximum(x.std(axis=1), SPREAD_FLOOR)
    w = np.abs(x - y).mean(axis=1) / spread * math.sqrt((s / 2) / n_eff)
    return float(np.quantile(w, quantile))


def quantile_edges(reference: Floats, current: Floats, n_bins: int = N_BINS) -> Floats:
    """Bin edges at the reference's quantiles (ties merged).

    A reference with fewer than two distinct values has no deciles to speak of; the current
    sample's quantiles are added so a change can still show.
    """
    qs = np.linspace(0.0, 1.0, n_bins + 1)
    edges = np.unique(np.quantile(reference, qs))
    if edges.size < 3 and current.size:
        edges = np.unique(np.concatenate([edges, np.quantile(current, qs)]))
    if edges.size < 2:
        edges = np.array([edges[0], edges[0]])
    return edges.astype(np.float64)


def _counts(sorted_values: Floats, edges: Floats) -> np.ndarray[Any, np.dtype[np.int64]]:
    # Bins [e_i, e_i+1); the first and last also hold what lies beyond the edges.
    inner = np.searchsorted(sorted_values, edges[1:-1], side="left")
    bounds = np.concatenate([[0], inner, [sorted_values.size]])
    return np.diff(bounds).astype(np.int64)


def psi(reference_counts: Any, current_counts: Any) -> float:
    """Population stability index of two count vectors over the same bins.

    Sum over bins of (c - r) * ln(c / r) on shares, an empty bin counted as 0.0001.

    >>> round(psi([50, 50], [50, 50]), 6), round(psi([80, 20], [50, 50]), 3)
    (0.0, 0.416)
    """
    r = np.asarray(reference_counts, dtype=np.float64)
    c = np.asarray(current_counts, dtype=np.float64)
    r = np.maximum(r / r.sum(), PSI_FLOOR)
    c = np.maximum(c / c.sum(), PSI_FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def numeric_drift(
    column: str,
    reference: Any,
    current: Any,
    *,
    method: Method = "wasserstein",
    threshold: float | None = None,
    role: Role = "input",
) -> ColumnDrift:
    """One numeric column's drift; ``method`` is ``wasserstein`` (default), ``psi`` or ``ks``.

    Missing values (None, NaN, infinities) are left out and counted. ``ks`` is scipy's
    two-sample test (exact below 10,000 values a side, asymptotic above); its verdict is its
    p-value against 0.05 until a report adjusts it across columns.
    """
    if method not in NUMBER_METHODS:
        raise UsageError(
            f"drift method {method!r} is not for numbers",
            hint=f"choose one of: {', '.join(sorted(NUMBER_METHODS))}",
        )
    u, u_missing = sorted_finite(reference)
    v, v_missing = sorted_finite(current)
    base: dict[str, Any] = {
        "column": column,
        "kind": "number",
        "role": role,
        "method": method,
        "reference_size": int(u.size),
        "current_size": int(v.size),
        "reference_missing": u_missing,
        "current_missing": v_missing,
    }
    limit = {"wasserstein": WASSERSTEIN_THRESHOLD, "psi": PSI_THRESHOLD, "ks": 0.05}[method]
    limit = limit if threshold is None else threshold
    if u.size == 0 or v.size == 0:
        side = "reference" if u.size == 0 else "current sample"
        return ColumnDrift(
            statistic=float("nan"),
            threshold=limit,
            drifted=None,
            note=f"not judged: the {side} has no values in this column",
            **base,
        )
    edges = quantile_edges(u, v)
    ref_counts, cur_counts = _counts(u, edges), _counts(v, edges)
    hist = Histogram(
        reference=tuple(int(c) for c in ref_counts),
        current=tuple(int(c) for c in cur_counts),
        edges=tuple(float(e) for e in edges),
    )
    p_value: float | None = None
    note = ""
    if method == "wasserstein":
        spread = max(float(np.std(u)), SPREAD_FLOOR)
        statistic = wasserstein_sorted(u, v) / spread
        if threshold is None:
            noise = wasserstein_null_quantile(np.concatenate([u, v]), u.size, v.size)
            if noise > limit:
                note = (
                    f"threshold raised from {limit} to {noise:.3f}: the 99th percentile of "
                    f"the distance under no drift at {u.size:,} and {v.size:,} values"
                )
                limit = noise
        drifted = statistic >= limit
    elif method == "psi":
        statistic = psi(ref_counts, cur_counts)
        drifted = statistic >= limit
    else:
        res = stats.ks_2samp(u, v)
        statistic, p_value = float(res.statistic), float(res.pvalue)
        drifted = p_value < limit
    return ColumnDrift(
        statistic=float(statistic),
        threshold=limit,
        drifted=bool(drifted),
        p_value=p_value,
        histogram=hist,
        note=note,
        **base,
    )
