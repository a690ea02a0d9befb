"""Mergeable statistics of a window of answers: what the monitor keeps per 5 minutes.

Everything here merges by addition (counts and sums), so an hour is the sum of its twelve
windows and a day the sum of its hours, without rereading a logged row. Quality metrics come
from confusion counts; latency quantiles from a fixed log-scale histogram whose buckets are
the same in every window (:data:`LATENCY_EDGES_MS`), so merged histograms stay exact.

>>> a, b = WindowStats(), WindowStats()
>>> a.add_answer(latency_ms=12.0, label="billing", confidence=0.9)
>>> b.add_answer(latency_ms=40.0, label="refund", confidence=0.6, fallback="timeout")
>>> b.add_label(predicted="refund", actual="billing")
>>> day = a.merged(b)
>>> day.volume, day.rate("fallback_rate"), day.value("accuracy")
(2, 0.5, 0.0)
>>> WindowStats.from_dict(day.to_dict()) == day
True
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from liveops.core.catalogue import WINDOWED, lookup
from liveops.core.monitoring.estimate import Estimate, EstimateSums, Interval, estimate

__all__ = [
    "CONFIDENCE_BINS",
    "LATENCY_EDGES_MS",
    "WINDOW_METRICS",
    "LatencyHistogram",
    "WindowStats",
    "bucket_of",
    "computes",
    "confidence_bin",
]

# 0.1 ms to 10^5 ms (100 s), 24 buckets a decade: a bucket's upper edge is 10.1 % above its
# lower one, so a quantile read from the histogram is within 10.1 % of the exact one. One more
# bucket above catches anything slower.
_PER_DECADE = 24
LATENCY_EDGES_MS: tuple[float, ...] = tuple(
    10 ** (-1 + k / _PER_DECADE) for k in range(6 * _PER_DECADE + 1)
)


# Catalogue patterns a window's statistics give (see WindowStats.value): the catalogue says
# which (``windowed``); tests/core/test_window.py checks that each is computed.
WINDOW_METRICS = WINDOWED


def gateway_value(extra: Mapping[str, float], name: str) -> float | None:
    """``uptime``, ``availability`` or ``rejected.STATUS`` from the sums the gateway's
    heartbeat adds to a window (:data:`GATEWAY_SUMS`); None where no heartbeat was read.

    >>> sums = {"uptime.covered_s": 240.0, "uptime.expected_s": 300.0, "requests": 50.0,
    ...         "status.5xx": 5.0, "rejected.422": 3.0}
    >>> [gateway_value(sums, m) for m in ("uptime", "availability", "rejected.422", "rejected.429")]
    [0.8, 0.9, 3.0, 0.0]
    >>> gateway_value({}, "uptime") is None
    True
    """
    if "requests" not in extra:
        return None  # no heartbeat read into this window
    if name == "uptime":
        expected = extra.get("uptime.expected_s", 0.0)
        return extra.get("uptime.covered_s", 0.0) / expected if expected > 0 else None
    requests = extra.get("requests", 0.0)
    if name == "availability":
        return (requests - extra.get("status.5xx", 0.0)) / requests if requests else None
    if name.startswith("rejected."):
        return extra.get(name, 0.0)
    raise KeyError(name)


# The sums a gateway row of a window carries (services.monitoring.gateway writes them).
GATEWAY_SUMS = ("uptime.covered_s", "uptime.expected_s", "requests", "status.5xx")


def computes(name: str) -> bool:
    """Whether :meth:`WindowStats.value` gives metric ``name`` (a catalogue name).

    >>> computes("per_class.billing.recall"), computes("estimated.accuracy")
    (True, True)
    """
    found = lookup(name)
    return found is not None and found.definition.pattern in WINDOW_METRICS


# The confidence histogram: ten bins of width 0.1; bin 9 holds [0.9, 1.0].
CONFIDENCE_BINS = 10


def confidence_bin(confidence: float) -> int:
    """The bin of a confidence: ``int(10 * c)``, clipped to 0..9 (so 1.0 is in bin 9).

    >>> confidence_bin(0.0), confidence_bin(0.95), confidence_bin(1.0)
    (0, 9, 9)
    """
    return min(CONFIDENCE_BINS - 1, max(0, int(confidence * CONFIDENCE_BINS)))


def bucket_of(latency_ms: float) -> int:
    """The bucket of a latency: bucket i holds (edge[i-1], edge[i]]; 0 holds up to 0.1 ms.

    >>> bucket_of(0.05), bucket_of(0.1), bucket_of(1e9) == len(LATENCY_EDGES_MS)
    (0, 0, True)
    """
    return bisect.bisect_left(LATENCY_EDGES_MS, latency_ms)


@dataclass
class LatencyHistogram:
    """Counts per bucket of :data:`LATENCY_EDGES_MS` (sparse: only buckets that were hit)."""

    counts: Counter[int] = field(default_factory=Counter)

    def add(self, latency_ms: float, n: int = 1) -> None:
        self.counts[bucket_of(latency_ms)] += n

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def merged(self, other: LatencyHistogram) -> LatencyHistogram:
        return LatencyHistogram(self.counts + other.counts)

    def quantile(self, q: float) -> float | None:
        """The q-quantile (0..1): the upper edge of the bucket that holds it; None when empty.

        The exact quantile lies in the same bucket, so it is at most one bucket lower.

        >>> h = LatencyHistogram()
        >>> for ms in (1.0, 2.0, 3.0, 50.0):
        ...     h.add(ms)
        >>> 3.0 <= h.quantile(0.75) < 3.0 * 1.101
        True
        """
        n = self.total
        if n == 0:
            return None
        rank = max(1, math.ceil(q * n))  # the rank-th smallest value, 1-based
        seen = 0
        for b in sorted(self.counts):
            seen += self.counts[b]
            if seen >= rank:
                return LATENCY_EDGES_MS[b] if b < len(LATENCY_EDGES_MS) else math.inf
        raise AssertionError("unreachable: counts add up to n")


@dataclass
class WindowStats:
    """Counts and sums of one window (one service, version, arm and slice).

    Answers are counted by the time they were given; labels (feedback) by the time of the
    prediction they belong to, so a window's quality fills in as its labels arrive.
    """

    volume: int = 0
    errors: int = 0
    fallbacks: Counter[str] = field(default_factory=Counter)  # by reason
    below_threshold: int = 0
    reviews: int = 0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    cost: float = 0.0
    labels: Counter[str] = field(default_factory=Counter)  # answered label mix
    confidence_sum: float = 0.0
    confidences: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)  # (predicted, actual)
    timeouts: int = 0
    confidence_bins: Counter[int] = field(default_factory=Counter)  # see confidence_bin
    rating_sum: float = 0.0
    ratings: int = 0
    unhelpful: int = 0  # ratings at or below the service's unhelpful_at_most
    corrections: int = 0  # answers with a current correction
    # Sums other signals add (estimated quality, outcome events): merged by addition, kept
    # and read back as they are, so a later signal needs no change here.
    extra: dict[str, float] = field(default_factory=dict)
    # The label-free estimate's sums (CBPE) of the answers the version's calibrator could
    # read; None when the version has no calibrator (or no such answer in the window).
    estimate: EstimateSums | None = None

    def add_answer(
        self,
        *,
        latency_ms: float,
        label: str | None,
        confidence: float | None,
        error: bool = False,
        fallback: str | None = None,
        below_threshold: bool = False,
        review: bool = False,
        cost: float = 0.0,
        timeout: bool = False,
    ) -> None:
        """Count one answered request."""
        self.volume += 1
        self.errors += int(error)
        self.timeouts += int(timeout)
        if fallback:
            self.fallbacks[fallback] += 1
        self.below_threshold += int(below_threshold)
        self.reviews += int(review)
        self.latency.add(latency_ms)
        self.cost += cost
        if label is not None:
            self.labels[label] += 1
        if confidence is not None:
            self.confidence_sum += confidence
            self.confidences += 1
            self.confidence_bins[confidence_bin(confidence)] += 1

    def add_label(self, *, predicted: str, actual: str) -> None:
        """Count one label that arrived for an answer of this window."""
        self.confusion[(predicted, actual)] += 1

    def add_rating(self, rating: float, *, unhelpful: bool) -> None:
        """Count one current rating of an answer of this window."""
        self.rating_sum += rating
        self.ratings += 1
        self.unhelpful += int(unhelpful)

    def merged(self, other: WindowStats) -> WindowStats:
        """The statistics of both windows together."""
        return WindowStats(
            volume=self.volume + other.volume,
            errors=self.errors + other.errors,
            fallbacks=self.fallbacks + other.fallbacks,
            below_threshold=self.below_threshold + other.below_threshold,
            reviews=self.reviews + other.reviews,
            latency=self.latency.merged(other.latency),
            cost=self.cost + other.cost,
            labels=self.labels + other.labels,
            confidence_sum=self.confidence_sum + other.confidence_sum,
            confidences=self.confidences + other.confidences,
            confusion=self.confusion + other.confusion,
            timeouts=self.timeouts + other.timeouts,
            confidence_bins=self.confidence_bins + other.confidence_bins,
            rating_sum=self.rating_sum + other.rating_sum,
            ratings=self.ratings + other.ratings,
            unhelpful=self.unhelpful + other.unhelpful,
            corrections=self.corrections + other.corrections,
            extra=_add(self.extra, other.extra),
            estimate=_merge_estimates(self.estimate, other.estimate),
        )

    @property
    def labelled(self) -> int:
        return sum(self.confusion.values())

    def rate(self, name: str) -> float | None:
        """A share of the window's answers: ``error_rate``, ``fallback_rate``,
        ``fallback_rate.REASON``, ``below_threshold_rate``, ``review_rate``, ``label_coverage``,
        ``label_share.LABEL``; None for an empty window."""
        if self.volume == 0:
            return None
        if name.startswith("fallback_rate."):
            return self.fallbacks[name.split(".", 1)[1]] / self.volume
        if name.startswith("label_share."):
            return self.labels[name.split(".", 1)[1]] / self.volume
        if name.startswith("confidence_share."):
            low = name.split(".", 1)[1]
            if not low.isdigit() or int(low) % 10 or int(low) > 90:
                raise KeyError(name)
            return self.confidence_bins[int(low) // 10] / self.volume
        count = {
            "error_rate": self.errors,
            "fallback_rate": sum(self.fallbacks.values()),
            "below_threshold_rate": self.below_threshold,
            "review_rate": self.reviews,
            "timeout_rate": self.timeouts,
            "label_coverage": self.labelled,
            "correction_rate": self.corrections,
        }.get(name)
        if count is None:
            raise KeyError(name)
        return count / self.volume

    def estimated(self) -> Estimate | None:
        """The label-free estimate of this window's answers, with intervals; None without
        calibrated answers."""
        return None if self.estimate is None else estimate(self.estimate)

    def interval(self, name: str) -> Interval | None:
        """The 95 % interval of an ``estimated.*`` metric; None for other metrics."""
        found = self.estimated() if name.startswith("estimated.") else None
        if found is None:
            return None
        if name == "estimated.accuracy":
            return found.accuracy
        if name == "estimated.macro_f1":
            return found.macro_f1
        raise KeyError(name)

    def value(self, name: str) -> float | None:
        """A metric of the catalogue computed from these statistics; None without evidence."""
        if name.startswith("estimated."):
            iv = self.interval(name)
            return None if iv is None else iv.value
        if name in ("accuracy", "macro_f1") or name.startswith("per_class."):
            return _quality(self.confusion, name)
        if name.startswith("latency.p") and name.endswith("_ms"):
            return self.latency.quantile(float(name[len("latency.p") : -len("_ms")]) / 100)
        if name == "volume":
            return float(self.volume)
        if name == "cost.total":
            return self.cost
        if name in ("cost.per_request", "cost.per_1k"):
            per = self.cost / self.volume if self.volume else None
            return None if per is None else per * (1000 if name == "cost.per_1k" else 1)
        if name == "cost.per_success":
            ok = self.volume - self.errors
            return self.cost / ok if ok else None
        if name == "confidence.mean":
            return self.confidence_sum / self.confidences if self.confidences else None
        if name == "rating.mean":
            return self.rating_sum / self.ratings if self.ratings else None
        if name == "rating.unhelpful_rate":
            return self.unhelpful / self.ratings if self.ratings else None
        if name.startswith("outcome.") and name.endswith(".rate"):
            answered = self.extra.get(f"outcome.{name[len('outcome.') : -len('.rate')]}", 0.0)
            return answered / self.volume if self.volume else None
        if name in ("uptime", "availability") or name.startswith("rejected."):
            return gateway_value(self.extra, name)
        return self.rate(name)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, for storage."""
        return {
            "volume": self.volume,
            "errors": self.errors,
            "fallbacks": dict(self.fallbacks),
            "below_threshold": self.below_threshold,
            "reviews": self.reviews,
            "latency": {str(b): n for b, n in sorted(self.latency.counts.items())},
            "cost": self.cost,
            "labels": dict(self.labels),
            "confidence_sum": self.confidence_sum,
            "confidences": self.confidences,
            "confusion": [[p, a, n] for (p, a), n in sorted(self.confusion.items())],
            "timeouts": self.timeouts,
            "confidence_bins": {str(b): n for b, n in sorted(self.confidence_bins.items())},
            "rating_sum": self.rating_sum,
            "ratings": self.ratings,
            "unhelpful": self.unhelpful,
            "corrections": self.corrections,
            "extra": dict(sorted(self.extra.items())),
            **({} if self.estimate is None else {"estimate": self.estimate.to_dict()}),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> WindowStats:
        return cls(
            volume=int(d["volume"]),
            errors=int(d["errors"]),
            fallbacks=Counter({str(k): int(v) for k, v in d["fallbacks"].items()}),
            below_threshold=int(d["below_threshold"]),
            reviews=int(d["reviews"]),
            latency=LatencyHistogram(Counter({int(k): int(v) for k, v in d["latency"].items()})),
            cost=float(d["cost"]),
            labels=Counter({str(k): int(v) for k, v in d["labels"].items()}),
            confidence_sum=float(d["confidence_sum"]),
            confidences=int(d["confidences"]),
            confusion=Counter({(str(p), str(a)): int(n) for p, a, n in d["confusion"]}),
            # Fields added after the first stored windows read as empty when absent.
            timeouts=int(d.get("timeouts", 0)),
            confidence_bins=Counter(
                {int(k): int(v) for k, v in d.get("confidence_bins", {}).items()}
            ),
            rating_sum=float(d.get("rating_sum", 0.0)),
            ratings=int(d.get("ratings", 0)),
            unhelpful=int(d.get("unhelpful", 0)),
            corrections=int(d.get("corrections", 0)),
            extra={str(k): float(v) for k, v in d.get("extra", {}).items()},
            estimate=EstimateSums.from_dict(d["estimate"]) if d.get("estimate") else None,
        )


def _add(a: Mapping[str, float], b: Mapping[str, float]) -> dict[str, float]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0.0) + v
    return out


def _merge_estimates(a: EstimateSums | None, b: EstimateSums | None) -> EstimateSums | None:
    if a is None or b is None:
        return a or b
    if a.labels != b.labels or a.rep_tp.shape != b.rep_tp.shape:
        # Versions with different labels (or calibrators of another form) answer different
        # questions: no single estimate covers both.
        return None
    return a.merged(b)


def _quality(confusion: Counter[tuple[str, str]], name: str) -> float | None:
    n = sum(confusion.values())
    if n == 0:
        return None
    if name == "accuracy":
        return sum(c for (p, a), c in confusion.items() if p == a) / n
    predicted: Counter[str] = Counter()
    actual: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for (p, a), c in confusion.items():
        predicted[p] += c
        actual[a] += c
        if p == a:
            right[p] += c
    if name == "macro_f1":
        # scikit-learn's macro average: over labels seen predicted or actual; 0 where undefined.
        present = set(predicted) | set(actual)
        return sum(_f1(right[k], predicted[k], actual[k]) for k in present) / len(present)
    head, part = name.rsplit(".", 1)
    label = head.split(".", 1)[1]  # a label may hold dots
    if part == "precision":
        return right[label] / predicted[label] if predicted[label] else 0.0
    if part == "recall":
        return right[label] / actual[label] if actual[label] else 0.0
    if part == "f1":
        return _f1(right[label], predicted[label], actual[label])
    if part == "fpr":
        negatives = n - actual[label]
        return (predicted[label] - right[label]) / negatives if negatives else 0.0
    raise KeyError(name)


def _f1(tp: int, predicted: int, actual: int) -> float:
    return 2 * tp / (predicted + actual) if predicted + actual else 0.0
