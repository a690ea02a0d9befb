"""The metric catalogue: every metric name a suite, the monitor, a rollout gate, an alert rule or
``/metrics`` may use, written once.

A name is a dotted path. Some parts are parameters written in capitals in the catalogue
(``per_class.LABEL.recall``, ``drift.COLUMN``); slices, versions and arms are never part of a
name, they are labels beside it. Each entry says where the metric can be computed (``offline``:
on a suite's cases; ``live``: from the prediction log and feedback; ``both``), its unit, whether a
larger value is better, and how values of two windows merge (the monitor keeps mergeable
statistics, so an hour is built from its 5-minute windows without rereading rows):

- ``ratio``: numerator and denominator are summed (accuracy = correct / labelled);
- ``quantile``: from a merged latency histogram (p95 of an hour from its windows' buckets);
- ``sum``: values add (volume, total cost);
- ``distance``: recomputed from merged counts against the reference (drift);
- ``none``: meaningful only for the run that produced it (offline checks).

Live metrics that every 5-minute window of the monitor keeps (``windowed``) can be read over any
span and judged by alert rules (``uptime``, ``availability`` and ``rejected.STATUS`` from the
window's gateway row, which the heartbeat fills); the others are computed elsewhere (drift by a
pass against the reference) or not yet kept; ``DRIFT_PASS`` lists what the drift pass stores.

>>> "latency.p95_ms" in WINDOWED, "drift.COLUMN" in WINDOWED, "uptime" in WINDOWED
(True, False, True)

>>> lookup("per_class.billing.recall").definition.pattern
'per_class.LABEL.recall'
>>> lookup("per_class.billing.recall").params
{'LABEL': 'billing'}
>>> check("latency.p95_ms", "live").unit
'ms'
>>> check("accuracy", "offline").higher_is_better
True
>>> try:
...     check("acuracy", "offline")
... except UsageError as exc:
...     print(exc.message)
unknown metric 'acuracy'; did you mean 'accuracy'?
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Literal

from liveops.errors import UsageError

__all__ = [
    "CATALOGUE",
    "DRIFT_PASS",
    "WINDOWED",
    "Merge",
    "MetricDef",
    "MetricName",
    "Where",
    "check",
    "higher_is_better",
    "lookup",
    "names_for",
    "stored_by_drift_pass",
]

Where = Literal["offline", "live", "both"]
Merge = Literal["ratio", "quantile", "sum", "distance", "none"]


@dataclass(frozen=True)
class MetricDef:
    """One entry of the catalogue. ``pattern`` may hold parameters in capitals."""

    pattern: str
    where: Where
    unit: str
    merge: Merge
    higher_is_better: bool
    summary: str
    windowed: bool = False  # kept in every window of the monitor (see WINDOWED)

    def valid(self, where: Literal["offline", "live"]) -> bool:
        """Whether the metric can be computed ``where``."""
        return self.where in ("both", where)


@dataclass(frozen=True)
class MetricName:
    """A concrete name matched against a catalogue entry, with its parameters."""

    name: str
    definition: MetricDef
    params: dict[str, str] = field(default_factory=dict)


def _m(
    pattern: str,
    where: Where,
    unit: str,
    merge: Merge,
    summary: str,
    *,
    higher: bool = True,
    windowed: bool = False,
) -> MetricDef:
    return MetricDef(pattern, where, unit, merge, higher, summary, windowed)


CATALOGUE: tuple[MetricDef, ...] = (
    # Quality with labels: on a suite's cases offline, on labelled answers live.
    _m(
        "accuracy", "both", "ratio", "ratio", "share of answers whose label is right", windowed=True
    ),
    _m("macro_f1", "both", "ratio", "ratio", "F1 averaged over the labels present", windowed=True),
    _m(
        "per_class.LABEL.precision",
        "both",
        "ratio",
        "ratio",
        "precision of one label",
        windowed=True,
    ),
    _m("per_class.LABEL.recall", "both", "ratio", "ratio", "recall of one label", windowed=True),
    _m("per_class.LABEL.f1", "both", "ratio", "ratio", "F1 of one label", windowed=True),
    _m(
        "per_class.LABEL.fpr",
        "live",
        "ratio",
        "ratio",
        "false-positive rate of one label",
        higher=False,
        windowed=True,
    ),
    _m("log_loss", "both", "nats", "ratio", "mean negative log-likelihood", higher=False),
    _m("ece", "both", "ratio", "ratio", "expected calibration error (10 bins)", higher=False),
    _m("coverage", "both", "ratio", "ratio", "share of answers decided automatically"),
    _m("selective_accuracy", "both", "ratio", "ratio", "accuracy of the automatic answers"),
    _m(
        "label_coverage",
        "live",
        "ratio",
        "ratio",
        "share of answers that have a label",
        windowed=True,
    ),
    # Quality without labels.
    _m(
        "estimated.accuracy",
        "live",
        "ratio",
        "ratio",
        "accuracy estimated from confidences",
        windowed=True,
    ),
    _m(
        "estimated.macro_f1",
        "live",
        "ratio",
        "ratio",
        "macro-F1 estimated from confidences",
        windowed=True,
    ),
    # Offline checks of a suite.
    _m("must_pass", "offline", "ratio", "none", "share of must-pass cases that hold"),
    _m("probes", "offline", "ratio", "none", "share of behaviour probes that hold"),
    _m("robustness.invariance", "offline", "ratio", "none", "answers unchanged by perturbations"),
    _m("robustness.accuracy", "offline", "ratio", "none", "accuracy on perturbed copies"),
    _m("consistency", "offline", "ratio", "none", "agreement of repeated answers"),
    # Speed and cost.
    _m("latency.p50_ms", "both", "ms", "quantile", "median latency", higher=False, windowed=True),
    _m(
        "latency.p95_ms",
        "both",
        "ms",
        "quantile",
        "95th percentile latency",
        higher=False,
        windowed=True,
    ),
    _m(
        "latency.p99_ms",
        "both",
        "ms",
        "quantile",
        "99th percentile latency",
        higher=False,
        windowed=True,
    ),
    _m(
        "cost.per_1k",
        "both",
        "currency",
        "ratio",
        "cost of 1,000 answers",
        higher=False,
        windowed=True,
    ),
    _m(
        "cost.per_request",
        "live",
        "currency",
        "ratio",
        "mean cost of a request",
        higher=False,
        windowed=True,
    ),
    _m(
        "cost.per_success",
        "live",
        "currency",
        "ratio",
        "cost per answer that was not an error",
        higher=False,
        windowed=True,
    ),
    _m("cost.total", "live", "currency", "sum", "total cost", higher=False, windowed=True),
    # Traffic and health.
    _m("volume", "live", "count", "sum", "answers given", windowed=True),
    _m("requests", "live", "count", "sum", "requests received, answered or refused"),
    _m(
        "error_rate",
        "live",
        "ratio",
        "ratio",
        "share of requests that failed",
        higher=False,
        windowed=True,
    ),
    _m(
        "fallback_rate",
        "live",
        "ratio",
        "ratio",
        "share answered by a fallback",
        higher=False,
        windowed=True,
    ),
    _m(
        "fallback_rate.REASON",
        "live",
        "ratio",
        "ratio",
        "share answered by a fallback for one reason",
        higher=False,
        windowed=True,
    ),
    _m(
        "below_threshold_rate",
        "live",
        "ratio",
        "ratio",
        "share below the decision threshold",
        higher=False,
        windowed=True,
    ),
    _m(
        "review_rate",
        "live",
        "ratio",
        "ratio",
        "share sent to human review",
        higher=False,
        windowed=True,
    ),
    _m(
        "timeout_rate",
        "live",
        "ratio",
        "ratio",
        "share that timed out",
        higher=False,
        windowed=True,
    ),
    _m(
        "rejected.STATUS",
        "live",
        "count",
        "sum",
        "requests refused with a status",
        higher=False,
        windowed=True,
    ),
    _m(
        "uptime",
        "live",
        "ratio",
        "ratio",
        "ticks with a gateway heartbeat / ticks expected",
        windowed=True,
    ),
    _m(
        "availability",
        "live",
        "ratio",
        "ratio",
        "requests not answered with a 5xx / requests",
        windowed=True,
    ),
    # What the model answers.
    _m(
        "label_share.LABEL",
        "live",
        "ratio",
        "ratio",
        "share of answers with one label",
        windowed=True,
    ),
    _m(
        "confidence.mean", "live", "ratio", "ratio", "mean confidence of the answers", windowed=True
    ),
    _m(
        "confidence_share.BIN",
        "live",
        "ratio",
        "ratio",
        "share of answers whose confidence is in a tenth (BIN 0, 10, ..., 90: its lower edge in %)",
        windowed=True,
    ),
    # User impact.
    _m("rating.mean", "live", "score", "ratio", "mean user rating", windowed=True),
    _m(
        "rating.unhelpful_rate",
        "live",
        "ratio",
        "ratio",
        "share of unhelpful ratings",
        higher=False,
        windowed=True,
    ),
    _m(
        "correction_rate",
        "live",
        "ratio",
        "ratio",
        "share corrected or overridden",
        higher=False,
        windowed=True,
    ),
    _m(
        "outcome.NAME.rate",
        "live",
        "ratio",
        "ratio",
        "share of answers with a named outcome",
        windowed=True,
    ),
    # Data.
    _m("drift.COLUMN", "live", "distance", "distance", "drift of a column", higher=False),
    _m(
        "drift_pvalue.COLUMN",
        "live",
        "p-value",
        "distance",
        "p-value of a column's drift test (KS, chi-square)",
    ),
    _m(
        "oov_rate.COLUMN",
        "live",
        "ratio",
        "ratio",
        "share of a text column's tokens not in the reference",
        higher=False,
    ),
    _m("missing.COLUMN", "live", "ratio", "ratio", "share of missing values", higher=False),
)

_BY_PATTERN = {d.pattern: d for d in CATALOGUE}
# The patterns the monitor's drift pass stores per version, slice and drift window (a day by
# default) from the logged inputs against the reference: series and alert rules read them.
DRIFT_PASS: frozenset[str] = frozenset(
    {"drift.COLUMN", "drift_pvalue.COLUMN", "oov_rate.COLUMN", "missing.COLUMN"}
)
# The patterns the monitor's windows keep: what series, dashboards and alert rules may read.
WINDOWED: frozenset[str] = frozenset(d.pattern for d in CATALOGUE if d.windowed)


def _match(pattern: str, name: str) -> dict[str, str] | None:
    want = pattern.split(".")
    got = name.split(".")
    # A trailing parameter (drift.COLUMN) takes the rest: column names may hold dots.
    if want[-1].isupper() and len(got) >= len(want):
        got = [*got[: len(want) - 1], ".".join(got[len(want) - 1 :])]
    if len(want) != len(got):
        return None
    params: dict[str, str] = {}
    for w, g in zip(want, got, strict=True):
        if w.isupper() and w.isalpha():
            if not g:
                return None
            params[w] = g
        elif w != g:
            return None
    return params


def lookup(name: str) -> MetricName | None:
    """The catalogue entry ``name`` matches, with its parameters; None for an unknown name.

    Exact entries win over patterns (``latency.p95_ms`` is never a parameter).

    >>> lookup("drift.customer.age").params
    {'COLUMN': 'customer.age'}
    >>> lookup("per_class..recall") is None
    True
    """
    exact = _BY_PATTERN.get(name)
    if exact is not None:
        return MetricName(name, exact)
    for d in CATALOGUE:
        if not any(p.isupper() for p in d.pattern.split(".")):
            continue
        params = _match(d.pattern, name)
        if params is not None:
            return MetricName(name, d, params)
    return None


def stored_by_drift_pass(name: str) -> bool:
    """Whether ``name`` is one of the drift pass's metrics (``drift.COLUMN``, ...).

    >>> stored_by_drift_pass("missing.age"), stored_by_drift_pass("accuracy")
    (True, False)
    """
    found = lookup(name)
    return found is not None and found.definition.pattern in DRIFT_PASS


def names_for(where: Literal["offline", "live"]) -> list[str]:
    """Every pattern valid ``where``, in catalogue order."""
    return [d.pattern for d in CATALOGUE if d.valid(where)]


def check(name: str, where: Literal["offline", "live"]) -> MetricDef:
    """The definition of ``name``; a :class:`UsageError` when it is unknown or not valid there.

    >>> try:
    ...     check("estimated.accuracy", "offline")
    ... except UsageError as exc:
    ...     print(exc.message)
    metric 'estimated.accuracy' is computed live only, not on a suite's cases
    """
    found = lookup(name)
    if found is None:
        close = difflib.get_close_matches(name, [d.pattern for d in CATALOGUE], n=1)
        guess = f"; did you mean {close[0]!r}?" if close else ""
        raise UsageError(
            f"unknown metric {name!r}{guess}",
            hint=f"metrics valid {where}: {', '.join(names_for(where))}",
        )
    d = found.definition
    if not d.valid(where):
        other = "on a suite's cases only" if d.where == "offline" else "live only"
        place = "on a suite's cases" if where == "offline" else "live"
        raise UsageError(
            f"metric {name!r} is computed {other}, not {place}",
            hint=f"metrics valid {where}: {', '.join(names_for(where))}",
        )
    return d


def higher_is_better(name: str) -> bool:
    """Whether a larger value of ``name`` is better; unknown names count as higher-is-better.

    >>> higher_is_better("latency.p99_ms"), higher_is_better("per_class.a.recall")
    (False, True)
    """
    found = lookup(name)
    return True if found is None else found.definition.higher_is_better
