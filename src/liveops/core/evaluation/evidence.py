"""From per-case answers to evidence: metric values with intervals per scope, paired
comparisons with a baseline, failure analysis, and the data behind the report's charts.

Pure and vectorised: the service layer predicts and hands over arrays; nothing here does I/O.

>>> import numpy as np
>>> from liveops.core.evaluation.metrics import Outcomes
>>> o = Outcomes.from_labels(["a", "b", "a", "b"], ["a", "b", "b", "b"])
>>> run = RunData(o, scopes={"overall": np.arange(4)})
>>> table = scope_metrics(run, None, ["accuracy"], seed=0, resamples=200)
>>> table["overall"]["accuracy"]["value"]
0.75
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from liveops.core.evaluation.gates import Evidence, MetricEvidence
from liveops.core.evaluation.metrics import ECE_BINS, Outcomes, metric_table
from liveops.core.evaluation.stats import RESAMPLES, bootstrap_weights, mcnemar, percentile_interval
from liveops.core.evaluation.summary import ERROR_COLUMN

__all__ = [
    "BootstrapDraws",
    "RunData",
    "builtin_metrics",
    "confusion",
    "evidence_from",
    "failure_groups",
    "reliability",
    "scope_metrics",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
LATENCY_QUANTILES = {"latency.p50_ms": 50.0, "latency.p95_ms": 95.0, "latency.p99_ms": 99.0}


@dataclass(frozen=True)
class RunData:
    """One version's answers on a suite.

    ``scopes`` maps ``overall``, ``slice:NAME``, ``scenario:NAME`` to case indices.
    ``per_item`` maps built-in metrics (must_pass, probes, robustness.*, consistency,
    cost.per_1k) to one value per item; the metric is their mean. ``latency_ms`` holds the
    single-call latencies.
    """

    outcomes: Outcomes
    scopes: Mapping[str, IntArray]
    per_item: Mapping[str, FloatArray] = field(default_factory=dict)
    latency_ms: FloatArray | None = None


def _seed(seed: int, key: str) -> int:
    # Stable per scope and metric, so adding a slice does not change another's interval.
    return (seed * 1_000_003 + sum(ord(ch) * (i + 1) for i, ch in enumerate(key))) % 2**32


def _fmt_interval(samples: FloatArray) -> list[float] | None:
    ci = percentile_interval(samples)
    return None if ci is None else [ci[0], ci[1]]


class BootstrapDraws:
    """The bootstrap weight matrices of one run, each drawn once: per scope, seeded by the
    scope's name (adding a slice never changes another's interval). Building one for 2,400
    cases takes about a tenth of a second here, so the built-in per-case metrics reuse the
    overall scope's draws instead of drawing their own (their intervals are then also paired
    with accuracy's)."""

    def __init__(self, seed: int = 0, resamples: int = RESAMPLES) -> None:
        self.seed, self.resamples = seed, resamples
        self._drawn: dict[tuple[str, int], FloatArray] = {}

    def weights(self, key: str, n: int) -> FloatArray:
        found = self._drawn.get((key, n))
        if found is None:
            found = bootstrap_weights(n, resamples=self.resamples, seed=_seed(self.seed, key))
            self._drawn[(key, n)] = found
        return found


def scope_metrics(
    cand: RunData,
    base: RunData | None,
    metrics: Sequence[str],
    *,
    seed: int = 0,
    resamples: int = RESAMPLES,
    draws: BootstrapDraws | None = None,
) -> dict[str, dict[str, dict[str, Any]]]:
    """``{scope: {metric: {value, interval, n, baseline_value, diff_interval, mcnemar}}}``.

    Candidate and baseline answered the same cases in the same order; one weight matrix per
    scope serves both, so differences are paired.
    """
    draws = draws or BootstrapDraws(seed, resamples)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for scope, idx in cand.scopes.items():
        o = cand.outcomes.take(idx)
        b = base.outcomes.take(idx) if base is not None else None
        w = draws.weights(scope, len(idx))
        ones = np.ones((1, len(idx)))
        row: dict[str, dict[str, Any]] = {}
        if len(idx):
            cv, cs = metric_table(o, metrics, ones), metric_table(o, metrics, w)
            if b is not None:
                bv, bs = metric_table(b, metrics, ones), metric_table(b, metrics, w)
        for name in metrics:
            entry: dict[str, Any] = {"n": len(idx)}
            if len(idx) == 0:
                entry.update(value=None, problem=f"{scope} has no cases")
                row[name] = entry
                continue
            value = float(cv[name][0])
            samples = cs[name]
            entry.update(value=_finite(value), interval=_fmt_interval(samples))
            if entry["value"] is None:
                entry["problem"] = f"{name} is undefined on {scope} (no scores or no cases)"
            if b is not None:
                entry["baseline_value"] = _finite(float(bv[name][0]))
                entry["diff_interval"] = _fmt_interval(samples - bs[name])
                if name == "accuracy":
                    bc, cc = b.correct, o.correct
                    entry["mcnemar"] = mcnemar(
                        int((bc & ~cc).sum()), int((~bc & cc).sum())
                    ).to_dict()
            row[name] = entry
        out[scope] = row
    return out


def builtin_metrics(
    cand: RunData,
    base: RunData | None,
    *,
    seed: int = 0,
    resamples: int = RESAMPLES,
    draws: BootstrapDraws | None = None,
) -> dict[str, dict[str, Any]]:
    """The built-in gate metrics (overall scope): value, interval, and paired differences.

    A metric with one value per case (robustness, cost) is resampled with the overall scope's
    draws; one over other items (must-pass cases, probes, consistency) with its own."""
    draws = draws or BootstrapDraws(seed, resamples)
    cases = len(cand.outcomes)
    out: dict[str, dict[str, Any]] = {}
    for name, values in cand.per_item.items():
        n = int(values.size)
        entry: dict[str, Any] = {"n": n}
        if n == 0:
            entry.update(value=None, problem=f"no items for {name}")
            out[name] = entry
            continue
        w = draws.weights("overall" if n == cases else name, n)
        samples = (w @ values) / n
        entry.update(value=float(values.mean()), interval=_fmt_interval(samples))
        other = None if base is None else base.per_item.get(name)
        if other is not None and other.size == n:
            entry["baseline_value"] = float(other.mean())
            entry["diff_interval"] = _fmt_interval(samples - (w @ other) / n)
        elif base is not None:
            entry["problem"] = f"the baseline has no paired values for {name}"
        out[name] = entry
    if cand.latency_ms is not None and cand.latency_ms.size:
        lat = cand.latency_ms
        rng = np.random.default_rng(_seed(seed, "latency"))
        picks = lat[rng.integers(0, lat.size, size=(resamples, lat.size))]
        blat = None if base is None else base.latency_ms
        bpicks = None
        if blat is not None and blat.size:
            bpicks = blat[rng.integers(0, blat.size, size=(resamples, blat.size))]
        for name, q in LATENCY_QUANTILES.items():
            samples = np.percentile(picks, q, axis=1)
            entry = {
                "n": int(lat.size),
                "value": float(np.percentile(lat, q)),
                "interval": _fmt_interval(samples),
            }
            if bpicks is not None and blat is not None:
                # Latency calls are not paired cases: independent resamples of each version.
                entry["baseline_value"] = float(np.percentile(blat, q))
                entry["diff_interval"] = _fmt_interval(samples - np.percentile(bpicks, q, axis=1))
            out[name] = entry
    return out


def evidence_from(
    table: Mapping[str, Mapping[str, Mapping[str, Any]]],
    builtins: Mapping[str, Mapping[str, Any]],
    *,
    baseline: str | None,
    baseline_reason: str | None,
) -> Evidence:
    """Gate evidence from :func:`scope_metrics` and :func:`builtin_metrics` tables."""
    found: dict[tuple[str, str], MetricEvidence] = {}
    for scope, row in table.items():
        for name, e in row.items():
            found[(name, scope)] = _evidence(e)
    for name, e in builtins.items():
        found[(name, "overall")] = _evidence(e)
    return Evidence(found, baseline=baseline, baseline_reason=baseline_reason)


def _evidence(e: Mapping[str, Any]) -> MetricEvidence:
    def pair(v: Any) -> tuple[float, float] | None:
        return None if v is None else (float(v[0]), float(v[1]))

    return MetricEvidence(
        value=e.get("value"),
        interval=pair(e.get("interval")),
        n=e.get("n"),
        baseline_value=e.get("baseline_value"),
        diff_interval=pair(e.get("diff_interval")),
        mcnemar=e.get("mcnemar"),
        problem=e.get("problem"),
    )


def _finite(x: float) -> float | None:
    return x if np.isfinite(x) else None


def confusion(o: Outcomes) -> dict[str, Any]:
    """The confusion matrix: rows expected, columns predicted, then the :data:`ERROR_COLUMN`
    (answers that were model errors), named in ``columns``."""
    k = len(o.labels)
    pred = np.where(o.y_pred < 0, k, o.y_pred)
    matrix = np.zeros((k, k + 1), dtype=np.int64)
    np.add.at(matrix, (o.y_true, pred), 1)
    labels = list(o.labels)
    return {"labels": labels, "columns": [*labels, ERROR_COLUMN], "matrix": matrix.tolist()}


def reliability(o: Outcomes) -> list[dict[str, float | int]]:
    """Per confidence bin (10 equal-width): count, accuracy and mean confidence."""
    has = np.isfinite(o.confidence)
    conf = o.confidence[has]
    correct = o.correct[has]
    bins = np.clip(np.ceil(conf * ECE_BINS).astype(np.int64) - 1, 0, ECE_BINS - 1)
    out: list[dict[str, float | int]] = []
    for b in range(ECE_BINS):
        member = bins == b
        count = int(member.sum())
        out.append(
            {
                "low": b / ECE_BINS,
                "high": (b + 1) / ECE_BINS,
                "count": count,
                "accuracy": float(correct[member].mean()) if count else 0.0,
                "confidence": float(conf[member].mean()) if count else 0.0,
            }
        )
    return out


def failure_groups(
    o: Outcomes,
    case_ids: Sequence[str],
    texts: Sequence[str],
    scopes: Mapping[str, IntArray],
    *,
    examples: int = 3,
) -> dict[str, list[dict[str, Any]]]:
    """Failures grouped by (expected, predicted), by slice and by scenario, most first."""
    wrong = ~o.correct
    pairs: dict[tuple[int, int], list[int]] = {}
    for i in np.flatnonzero(wrong).tolist():
        pairs.setdefault((int(o.y_true[i]), int(o.y_pred[i])), []).append(i)

    def example(i: int) -> dict[str, Any]:
        p = int(o.y_pred[i])
        conf = float(o.confidence[i])
        return {
            "case": case_ids[i],
            "text": texts[i],
            "expected": o.labels[int(o.y_true[i])],
            "predicted": o.labels[p] if p >= 0 else None,
            "confidence": conf if np.isfinite(conf) else None,
        }

    by_pair = [
        {
            "expected": o.labels[t],
            "predicted": o.labels[p] if p >= 0 else ERROR_COLUMN,
            "count": len(idx),
            "examples": [example(i) for i in idx[:examples]],
        }
        for (t, p), idx in sorted(pairs.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    ]
    grouped: dict[str, list[dict[str, Any]]] = {"by_pair": by_pair, "slice": [], "scenario": []}
    for scope, idx in scopes.items():
        kind, _, name = scope.partition(":")
        if kind not in ("slice", "scenario"):
            continue
        bad = idx[wrong[idx]]
        grouped[kind].append(
            {
                "name": name,
                "cases": int(idx.size),
                "count": int(bad.size),
                "rate": float(bad.size / idx.size) if idx.size else None,
                "examples": [example(int(i)) for i in bad[:examples]],
            }
        )
    for kind in ("slice", "scenario"):
        grouped[kind].sort(key=lambda g: -int(g["count"]))
    return grouped
