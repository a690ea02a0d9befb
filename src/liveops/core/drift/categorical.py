"""Drift of a categorical column: Jensen-Shannon distance (default), chi-square, PSI.

Categories are first grouped to the reference's ``top_k`` most frequent values plus ``other``
(everything else, including values the reference never had), so a column with thousands of
values compares a few dozen well-estimated shares instead of many noisy ones.

The Jensen-Shannon distance (base 2, between 0 and 1) is judged against the larger of 0.1 and
what sampling alone gives: its 99th percentile over seeded simulations of both samples drawn
from the reference's shares at the two sample sizes and grouped the same way
(:func:`js_null_quantile`). A plain 0.1 flags unchanged columns whenever the samples are small
next to the number of categories.

The chi-square test is the two-sample test of homogeneity on the 2 x k contingency table
(scipy's ``chi2_contingency``): both samples are samples. A goodness-of-fit test against the
reference's shares treats them as exact and flags unchanged columns at large sizes.

>>> ref = {"a": 500, "b": 300, "c": 200}
>>> categorical_drift("plan", ref, {"a": 480, "b": 310, "c": 210}).drifted
False
>>> d = categorical_drift("plan", ref, {"a": 200, "b": 300, "c": 200, "new": 300})
>>> d.drifted, d.histogram.labels
(True, ('a', 'b', 'c', 'other'))
>>> categorical_drift("plan", ref, {"a": 200, "b": 300, "c": 500}, method="chi2").p_value < 0.05
True
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from scipy import stats

from liveops.core.drift.numeric import psi
from liveops.core.drift.result import (
    JS_THRESHOLD,
    PSI_THRESHOLD,
    ColumnDrift,
    Histogram,
    Kind,
    Method,
    Role,
)
from liveops.core.profile import is_missing
from liveops.errors import UsageError

__all__ = [
    "NULL_MAX_VALUES",
    "NULL_QUANTILE",
    "NULL_SIMULATIONS",
    "OTHER",
    "TOP_K",
    "categorical_drift",
    "count_values",
    "group_top_k",
    "js_distance",
    "js_null_quantile",
]

Counts = np.ndarray[Any, np.dtype[np.int64]]

TOP_K = 50  # as many as the stored profile's frequencies keep
OTHER = "other"
NULL_QUANTILE = 0.99
NULL_SIMULATIONS = 1000
# Values the sampling-noise simulation draws separately; the rarer rest is drawn as one value.
# Only the top ``top_k`` are compared one by one, so the tail's split barely moves the noise,
# and 100,000 distinct values would otherwise cost 100,000 draws per simulated sample.
NULL_MAX_VALUES = 10_000
CATEGORY_METHODS: frozenset[str] = frozenset({"jensenshannon", "chi2", "psi"})


def count_values(values: Iterable[Any]) -> tuple[dict[str, int], int]:
    """Counts of each value (as text) and the number missing (None or NaN).

    >>> count_values(["a", "b", "a", None, float("nan"), 1])
    ({'a': 2, 'b': 1, '1': 1}, 2)
    """
    raw = Counter(values)
    counts: dict[str, int] = {}
    missing = 0
    for value, n in raw.items():
        if is_missing(value):
            missing += n
            continue
        key = str(value)
        counts[key] = counts.get(key, 0) + n
    return counts, missing


def group_top_k(
    reference: Mapping[str, int], current: Mapping[str, int], top_k: int = TOP_K
) -> tuple[tuple[str, ...], Counts, Counts]:
    """Labels and the two count vectors over the reference's top ``top_k`` values + ``other``.

    Ties in the reference are broken by the label, so the grouping is the same on every run.
    ``other`` is present only when some value falls into it (on either side).

    >>> group_top_k({"a": 5, "b": 3, "c": 1}, {"a": 4, "d": 2}, top_k=2)
    (('a', 'b', 'other'), array([5, 3, 1]), array([4, 0, 2]))
    """
    ranked = sorted(reference.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = [k for k, _ in ranked[:top_k]]
    labels = list(kept)
    ref = [reference[k] for k in kept]
    cur = [current.get(k, 0) for k in kept]
    kept_set = set(kept)
    ref_other = sum(n for k, n in reference.items() if k not in kept_set)
    cur_other = sum(n for k, n in current.items() if k not in kept_set)
    if ref_other or cur_other:
        # A reference value literally named "other" must not be confused with the group.
        labels.append(OTHER if OTHER not in kept_set else f"({OTHER})")
        ref.append(ref_other)
        cur.append(cur_other)
    return tuple(labels), np.asarray(ref, dtype=np.int64), np.asarray(cur, dtype=np.int64)


def _js_rows(p: np.ndarray[Any, Any], q: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Jensen-Shannon distance (base 2) of each row pair of two share matrices."""
    m = (p + q) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(p > 0, p * np.log2(p / m), 0.0)
        b = np.where(q > 0, q * np.log2(q / m), 0.0)
    js = (a.sum(axis=-1) + b.sum(axis=-1)) / 2.0
    out: np.ndarray[Any, Any] = np.sqrt(np.clip(js, 0.0, None))
    return out


def js_distance(reference_counts: Any, current_counts: Any) -> float:
    """Jensen-Shannon distance, base 2, of two count vectors (as scipy's, with ``base=2``).

    >>> js_distance([1, 0], [0, 1]), js_distance([3, 1], [6, 2])
    (1.0, 0.0)
    """
    p = np.asarray(reference_counts, dtype=np.float64)
    q = np.asarray(current_counts, dtype=np.float64)
    return float(_js_rows(p / p.sum(), q / q.sum()))


def js_null_quantile(
    reference_counts: Any,
    n_reference: int,
    n_current: int,
    *,
    top_k: int = TOP_K,
    quantile: float = NULL_QUANTILE,
    simulations: int = NULL_SIMULATIONS,
    seed: int = 0,
) -> float:
    """The ``quantile`` of the JS distance between two samples of one world, grouped as a
    report groups them.

    ``reference_counts`` are the reference's counts of every value (not grouped). Both samples
    are drawn (seeded; Poisson counts per value) at their real sizes from the reference's
    shares, each simulated reference picks its own top ``top_k`` (so the simulation sees the
    same selection effect as the real grouping), and the rest goes to ``other``. Values the
    reference never saw still turn up in a sample of the same world: the Good-Turing share of
    them (the share of values seen once) is spread over Chao's estimate of their number.

    >>> round(js_null_quantile([10] * 1000, 10_000, 10_000, top_k=1000), 2) > 0.1
    True
    >>> js_null_quantile([5000, 5000], 100_000, 100_000) < 0.01
    True
    """
    counts = np.asarray(reference_counts, dtype=np.float64)
    counts = counts[counts > 0]
    f1, f2 = int((counts == 1).sum()), int((counts == 2).sum())
    if counts.size > NULL_MAX_VALUES:
        counts = -np.sort(-counts)
        counts = np.append(counts[: NULL_MAX_VALUES - 1], counts[NULL_MAX_VALUES - 1 :].sum())
    n = counts.sum()
    p = counts / n
    if f1:
        unseen = f1 / n
        f0 = int(min(max(round(f1 * (f1 - 1) / (2 * (f2 + 1))), 1), 10_000))
        p = np.concatenate([p * (1 - unseen), np.full(f0, unseen / f0)])
    # Many values make each simulation dearer: fewer, never under 200.
    sims = max(200, min(simulations, 2_000_000 // p.size))
    rng = np.random.default_rng(seed)
    # Independent Poisson counts per value: the multinomial's law given its total, and much
    # cheaper to draw than sequential binomials.
    a = rng.poisson(n_reference * p, size=(sims, p.size))
    b = rng.poisson(n_current * p, size=(sims, p.size))
    if p.size > top_k:
        top = np.argpartition(-a, top_k - 1, axis=1)[:, :top_k]
        at, bt = np.take_along_axis(a, top, 1), np.take_along_axis(b, top, 1)
        a = np.hstack([at, (a.sum(axis=1) - at.sum(axis=1))[:, None]])
        b = np.hstack([bt, (b.sum(axis=1) - bt.sum(axis=1))[:, None]])
    a_total = np.maximum(a.sum(axis=1, keepdims=True), 1)
    b_total = np.maximum(b.sum(axis=1, keepdims=True), 1)
    d = _js_rows(a / a_total, b / b_total)
    return float(np.quantile(d, quantile))


def _null_noise(
    reference: Mapping[str, int],
    labels: tuple[str, ...],
    n_ref: int,
    n_cur: int,
    top_k: int,
    seed: int,
) -> float:
    # With large samples the noise is far below any threshold: the chi-square approximation
    # (JS^2 * 8 ln2 * n_eff ~ chi2 with k-1 degrees of freedom) says so without simulating.
    n_eff = n_ref * n_cur / (n_ref + n_cur)
    if min(n_ref, n_cur) >= 100 * len(labels):
        approx = math.sqrt(stats.chi2.ppf(NULL_QUANTILE, len(labels)) / (8 * math.log(2) * n_eff))
        if approx < JS_THRESHOLD / 2:
            return approx
    return js_null_quantile(list(reference.values()), n_ref, n_cur, top_k=top_k, seed=seed)


def _chi2(ref: Counts, cur: Counts) -> tuple[float, float]:
    keep = (ref + cur) > 0
    table = np.vstack([ref[keep], cur[keep]])
    if table.shape[1] < 2:
        return 0.0, 1.0  # one category on both sides: nothing can differ
    res = stats.chi2_contingency(table)
    return float(res.statistic), float(res.pvalue)


def categorical_drift(
    column: str,
    reference: Mapping[str, int],
    current: Mapping[str, int],
    *,
    method: Method = "jensenshannon",
    threshold: float | None = None,
    top_k: int = TOP_K,
    seed: int = 0,
    reference_missing: int = 0,
    current_missing: int = 0,
    role: Role = "input",
    kind: Kind = "category",
) -> ColumnDrift:
    """One categorical column's drift from the two samples' value counts.

    ``method`` is ``jensenshannon`` (default; threshold max(0.1, sampling noise) unless
    ``threshold`` is given), ``chi2`` (contingency test, p < 0.05 until a report adjusts it) or
    ``psi`` (0.2), all on the grouped counts. Counts come from :func:`count_values`, or
    straight from a columnar reader's value counts.
    """
    if method not in CATEGORY_METHODS:
        raise UsageError(
            f"drift method {method!r} is not for categories",
            hint=f"choose one of: {', '.join(sorted(CATEGORY_METHODS))}",
        )
    labels, ref, cur = group_top_k(reference, current, top_k)
    n_ref, n_cur = int(ref.sum()), int(cur.sum())
    distinct = len(reference)
    notes = []
    if distinct > top_k:
        notes.append(f"{distinct:,} reference values grouped to the top {top_k} + {OTHER}")
    if distinct > NULL_MAX_VALUES:
        notes.append(
            f"capped: the sampling-noise simulation draws the {NULL_MAX_VALUES:,} most common "
            "values one by one and the rest as one"
        )
    base: dict[str, Any] = {
        "column": column,
        "kind": kind,
        "role": role,
        "method": method,
        "reference_size": n_ref,
        "current_size": n_cur,
        "reference_missing": reference_missing,
        "current_missing": current_missing,
        "histogram": Histogram(
            reference=tuple(int(c) for c in ref),
            current=tuple(int(c) for c in cur),
            labels=labels,
        ),
    }
    limit = {"jensenshannon": JS_THRESHOLD, "psi": PSI_THRESHOLD, "chi2": 0.05}[method]
    if n_ref == 0 or n_cur == 0:
        side = "reference" if n_ref == 0 else "current sample"
        return ColumnDrift(
            statistic=float("nan"),
            threshold=limit if threshold is None else threshold,
            drifted=None,
            note=f"not judged: the {side} has no values in this column",
            **base,
        )
    p_value: float | None = None
    if method == "jensenshannon":
        statistic = js_distance(ref, cur)
        if threshold is None:
            noise = _null_noise(reference, labels, n_ref, n_cur, top_k, seed)
            if noise > limit:
                notes.append(
                    f"threshold raised from {limit} to {noise:.3f}: the 99th percentile of "
                    f"the distance under no drift at {n_ref:,} and {n_cur:,} values"
                )
                limit = noise
        else:
            limit = threshold
        drifted = statistic >= limit
    elif method == "psi":
        limit = limit if threshold is None else threshold
        statistic = psi(ref, cur)
        drifted = statistic >= limit
    else:
        limit = limit if threshold is None else threshold
        statistic, p_value = _chi2(ref, cur)
        drifted = p_value < limit
    return ColumnDrift(
        statistic=statistic,
        threshold=float(limit),
        drifted=bool(drifted),
        p_value=p_value,
        note="; ".join(notes),
        **base,
    )
