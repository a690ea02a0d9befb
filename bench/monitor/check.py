"""The written windows against numpy on the generated rows: a random sample, and the totals.

The oracle is the generator's own columns (what was loaded), not the database: for each sampled
(version, arm, slice, window) it selects the rows with numpy and compares the window's volume,
errors, labelled count, accuracy (from the newest current label of each row), cost and rating
sums, and latency p50/p95/p99: the exact quantile (numpy's ``inverted_cdf``, the rank-th
smallest value) must lie in the bucket whose upper edge the window reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np

from bench.monitor.generate import (
    ARMS,
    CHANNEL_LOGGED,
    KINDS,
    LABELS,
    LANGUAGE_LOGGED,
    PLAN_LOGGED,
    SERVICE,
    START,
    Feedback,
    Log,
)
from liveops.core.monitoring.window import LATENCY_EDGES_MS, WindowStats, bucket_of
from liveops.store import Store

__all__ = ["CheckResult", "check_sample", "concat"]

Array = np.ndarray[Any, Any]
_FIELDS = {"channel": CHANNEL_LOGGED, "plan": PLAN_LOGGED, "language": LANGUAGE_LOGGED}
_DECLARED = {"channel": 3, "plan": 3, "language": 3}  # the first three logged values


@dataclass
class CheckResult:
    checked: int = 0
    windows_stored: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.checked > 0 and not self.failures


def concat(a: Log, b: Log) -> Log:
    """Both logs' rows as one."""
    arrays = {
        k: np.concatenate([getattr(a, k), getattr(b, k)])
        for k in a.__dataclass_fields__
        if k != "ids"
    }
    return Log(**arrays, ids=a.ids + b.ids)


def _actual(log: Log, fb: Feedback) -> Array:
    """Per row: the newest current label (index into LABELS), -1 without one."""
    actual = np.full(log.n, -1, dtype=np.int64)
    cur = (fb.kind == 0) & ~fb.superseded
    order = np.argsort(fb.created_at[cur], kind="stable")  # newest last: it wins
    actual[fb.row[cur][order]] = fb.value[cur][order]
    return actual


def _slice_mask(log: Log, name: str) -> Array:
    if name == "all":
        return np.ones(log.n, dtype=bool)
    fld, value = name.split("=", 1)
    codes: Array = getattr(log, fld)
    logged = [v for v, _ in _FIELDS[fld]]
    if value == "other":
        declared = _DECLARED[fld]
        return np.asarray(codes >= declared)
    return np.asarray(codes == logged.index(value))


def check_sample(
    store: Store, log: Log, fb: Feedback, *, sample: int = 200, seed: int = 0
) -> CheckResult:
    """Compare ``sample`` random stored windows (and the total volume) with numpy."""
    stored = store.monitoring.windows(SERVICE, START - timedelta(days=1))
    result = CheckResult(windows_stored=len(stored))
    window = log.window()
    actual = _actual(log, fb)
    errors = np.isin(log.kind, [KINDS.index("timeout"), KINDS.index("error")])
    # every row is in exactly one 'all' window
    total = sum(int(s["volume"]) for _, _, sl, _, s in stored if sl == "all")
    if total != log.n:
        result.failures.append(f"the 'all' windows hold {total} answers, the log {log.n}")
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(stored), size=min(sample, len(stored)), replace=False)
    rating_rows = fb.row[(fb.kind == 1) & ~fb.superseded]
    rating_vals = fb.value[(fb.kind == 1) & ~fb.superseded].astype(float)
    for j in picks.tolist():
        version, arm, slice_, start, d = stored[j]
        w = int(start.timestamp()) // 300
        m = (
            (window == w)
            & (log.version == version)
            & (log.arm == ARMS.index(arm))
            & _slice_mask(log, slice_)
        )
        stats = WindowStats.from_dict(d)
        where = f"v{version}/{arm}/{slice_}/{start:%m-%d %H:%M}"
        result.checked += 1
        _compare(result, where, stats, log, m, actual, errors, rating_rows, rating_vals)
    return result


def _compare(
    result: CheckResult,
    where: str,
    stats: WindowStats,
    log: Log,
    m: Array,
    actual: Array,
    errors: Array,
    rating_rows: Array,
    rating_vals: Array,
) -> None:
    def fail(what: str, got: Any, want: Any) -> None:
        result.failures.append(f"{where}: {what} {got!r}, numpy {want!r}")

    n = int(m.sum())
    if stats.volume != n:
        fail("volume", stats.volume, n)
        return
    if stats.errors != int(errors[m].sum()):
        fail("errors", stats.errors, int(errors[m].sum()))
    pairs = m & (log.label >= 0) & (actual >= 0)
    if stats.labelled != int(pairs.sum()):
        fail("labelled", stats.labelled, int(pairs.sum()))
    # judged as the monitor judges (docs/monitoring.md): a failed model call is never right,
    # whatever its fallback answered; otherwise on the model's top label, here the answered one
    judged = np.where(errors, -2, log.label)
    acc = float(np.mean(judged[pairs] == actual[pairs])) if pairs.any() else None
    got = stats.value("accuracy")
    if (acc is None) != (got is None) or (acc is not None and abs(acc - (got or 0)) > 1e-12):
        fail("accuracy", got, acc)
    cost = float(np.nansum(log.cost[m]))
    if not math.isclose(stats.cost, cost, rel_tol=1e-9, abs_tol=1e-12):
        fail("cost", stats.cost, cost)
    in_m = m[rating_rows]
    if stats.ratings != int(in_m.sum()) or not math.isclose(
        stats.rating_sum, float(rating_vals[in_m].sum())
    ):
        fail(
            "ratings", (stats.ratings, stats.rating_sum), (int(in_m.sum()), rating_vals[in_m].sum())
        )
    lat = log.latency_ms[m]
    for q in (0.5, 0.95, 0.99):
        exact = float(np.quantile(lat, q, method="inverted_cdf"))
        edge = (
            LATENCY_EDGES_MS[bucket_of(exact)]
            if bucket_of(exact) < len(LATENCY_EDGES_MS)
            else math.inf
        )
        value = stats.latency.quantile(q)
        if value != edge:
            fail(f"latency p{round(q * 100)}", value, f"{exact} (bucket edge {edge})")
    for lab in LABELS:
        want = int((m & (log.label == LABELS.index(lab))).sum())
        if stats.labels[lab] != want:
            fail(f"label {lab}", stats.labels[lab], want)
