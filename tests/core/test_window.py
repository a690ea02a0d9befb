"""Window statistics merge exactly and give the numbers scikit-learn and numpy give."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
)

from liveops.core.monitoring.window import (
    LATENCY_EDGES_MS,
    LatencyHistogram,
    WindowStats,
    bucket_of,
)

LABELS = ["benign", "malignant", "unsure.maybe"]


def _filled(rng: np.random.Generator, n: int) -> tuple[WindowStats, list[str], list[str]]:
    w = WindowStats()
    predicted = list(rng.choice(LABELS, n, p=[0.5, 0.4, 0.1]))
    actual = [p if rng.random() < 0.7 else str(rng.choice(LABELS)) for p in predicted]
    for p, a in zip(predicted, actual, strict=True):
        w.add_answer(latency_ms=float(rng.lognormal(3, 1)), label=p, confidence=0.8)
        w.add_label(predicted=p, actual=a)
    return w, predicted, actual


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_quality_equals_scikit_learn_on_the_same_rows(seed: int) -> None:
    w, y_pred, y_true = _filled(np.random.default_rng(seed), 500)
    assert w.value("accuracy") == pytest.approx(accuracy_score(y_true, y_pred))
    assert w.value("macro_f1") == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    for label in LABELS:
        kw = {"labels": [label], "average": None, "zero_division": 0}
        got_p = w.value(f"per_class.{label}.precision")
        got_r = w.value(f"per_class.{label}.recall")
        got_f = w.value(f"per_class.{label}.f1")
        assert got_p == pytest.approx(precision_score(y_true, y_pred, **kw)[0])
        assert got_r == pytest.approx(recall_score(y_true, y_pred, **kw)[0])
        assert got_f == pytest.approx(f1_score(y_true, y_pred, **kw)[0])
        cm = confusion_matrix([t == label for t in y_true], [p == label for p in y_pred])
        (tn, fp), (_fn, _tp) = cm
        assert w.value(f"per_class.{label}.fpr") == pytest.approx(fp / (fp + tn))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0.01, max_value=200_000), min_size=1, max_size=400))
def test_latency_quantiles_lie_in_the_bucket_of_numpys(values: list[float]) -> None:
    h = LatencyHistogram()
    for v in values:
        h.add(v)
    for q in (0.5, 0.95, 0.99):
        exact = float(np.quantile(values, q, method="inverted_cdf"))
        got = h.quantile(q)
        assert got is not None
        assert bucket_of(got) == bucket_of(exact)  # the same bucket: its upper edge


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=1, max_value=300))
def test_merging_windows_equals_counting_once(seed: int, cut: int) -> None:
    rng = np.random.default_rng(seed)
    rows = [
        (
            float(rng.lognormal(2, 1)),
            str(rng.choice(LABELS)),
            float(rng.random()),
            rng.random() < 0.1,
        )
        for _ in range(300)
    ]
    whole, first, second = WindowStats(), WindowStats(), WindowStats()
    for i, (ms, label, conf, fell_back) in enumerate(rows):
        kw = {"latency_ms": ms, "label": label, "confidence": conf, "cost": 0.002}
        kw["fallback"] = "timeout" if fell_back else None
        whole.add_answer(**kw)  # type: ignore[arg-type]
        (first if i < cut else second).add_answer(**kw)  # type: ignore[arg-type]
    merged = first.merged(second)
    assert merged.volume == whole.volume
    assert merged.latency == whole.latency
    assert merged.labels == whole.labels
    assert merged.fallbacks == whole.fallbacks
    assert merged.value("latency.p95_ms") == whole.value("latency.p95_ms")
    assert merged.value("cost.total") == pytest.approx(whole.value("cost.total"))
    assert WindowStats.from_dict(merged.to_dict()) == merged


def test_an_empty_window_has_no_values_rather_than_zeros() -> None:
    w = WindowStats()
    assert w.value("accuracy") is None
    assert w.value("latency.p99_ms") is None
    assert w.rate("error_rate") is None
    assert w.value("confidence.mean") is None


def test_one_answer_and_a_slow_outlier() -> None:
    w = WindowStats()
    w.add_answer(latency_ms=3e6, label="benign", confidence=None, error=True)
    assert w.value("latency.p50_ms") == float("inf")  # beyond the last edge: said, not hidden
    assert w.rate("error_rate") == 1.0
    assert len(LATENCY_EDGES_MS) == 145


def _concrete(pattern: str) -> str:
    params = {"LABEL": "benign", "REASON": "timeout", "BIN": "20", "COLUMN": "age"}
    params |= {"STATUS": "429", "NAME": "refund"}
    return ".".join(params.get(part, part) for part in pattern.split("."))


def test_the_windows_compute_exactly_what_the_catalogue_says_they_keep() -> None:
    """``windowed`` in the catalogue is the one list: series, dashboards and alert rules read
    it, so a metric marked there must be computed here, and one not marked must not be."""
    from liveops.core import catalogue

    w, _, _ = _filled(np.random.default_rng(3), 200)
    for d in catalogue.CATALOGUE:
        name = _concrete(d.pattern)
        if d.windowed:
            assert d.valid("live"), name
            w.value(name)  # a number, or None without evidence (no ratings, no estimate)
        elif d.valid("live"):
            with pytest.raises(KeyError):
                w.value(name)


def test_alert_rules_know_which_metrics_the_heartbeat_keeps() -> None:
    """Rules on these are judged on the service's gateway rows (no version, arm or slice)."""
    from liveops.core import catalogue
    from liveops.core.alerting.rules import PER_GATEWAY
    from liveops.core.monitoring.window import gateway_value

    sums = {"uptime.covered_s": 1.0, "uptime.expected_s": 2.0, "requests": 3.0}
    computed = set()
    for d in catalogue.CATALOGUE:
        try:
            gateway_value(sums, _concrete(d.pattern))
        except KeyError:
            continue
        computed.add(d.pattern)
    assert computed == PER_GATEWAY
