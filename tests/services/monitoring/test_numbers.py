"""The monitor's numbers equal scikit-learn's and numpy's on the same joined rows, on every
backend: quality by prediction time from the newest current label, speed within one latency
bucket, rates, cost and user impact."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
)

from liveops.core.clock import FixedClock
from liveops.core.monitoring.window import LATENCY_EDGES_MS, WindowStats, bucket_of
from liveops.services.monitoring import run_monitor
from liveops.store import Store
from tests.services.monitoring.logrows import T0, at, give, log_row, store_rows
from tests.services.tabular import apply_tabular

LABELS = ["benign", "malignant"]


def windows_of(
    store: Store, service: str = "tumours"
) -> dict[tuple[int, str, str, int], WindowStats]:
    out = {}
    for version, arm, slice_, start, stats in store.monitoring.windows(
        service, T0 - timedelta(days=30)
    ):
        out[(version, arm, slice_, int((start - T0).total_seconds()) // 300)] = (
            WindowStats.from_dict(stats)
        )
    return out


def _traffic(store: Store, seed: int) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """~360 answers over three windows and two versions, labels for most (some corrected by a
    second label), ratings and corrections for a few."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(360):
        minute = float(rng.uniform(0, 15))
        kind = rng.choice(["ok", "review", "timeout", "below"], p=[0.8, 0.08, 0.06, 0.06])
        label = None if kind == "review" else str(rng.choice(LABELS, p=[0.6, 0.4]))
        rows.append(
            log_row(
                at(minute),
                version=int(rng.integers(1, 3)),
                label=label,
                confidence=float(rng.uniform(0.3, 1.0)),
                decision="human_review"
                if kind == "review"
                else "fallback"
                if kind != "ok"
                else "automatic",
                fallback="rules" if kind in ("timeout", "below") else None,
                reason="model_timeout;fallback:rules"
                if kind == "timeout"
                else "below_threshold:0.41;fallback:rules"
                if kind == "below"
                else None,
                error="model_timeout" if kind == "timeout" else None,
                latency_ms=float(rng.lognormal(3, 0.8)),
                cost=float(rng.uniform(0, 0.01)) if i % 4 else None,
                clinic=str(rng.choice(["north", "south"])),
            )
        )
    store_rows(store, rows)
    truth: dict[str, str] = {}
    for r in rows:
        if rng.random() < 0.75:
            pred = r["label"] or "benign"
            first = pred if rng.random() < 0.7 else str(rng.choice(LABELS))
            give(store, r["prediction_id"], at(20), label=first)
            truth[r["prediction_id"]] = first
            if rng.random() < 0.15:  # the same source corrects its label: the newer one counts
                second = "malignant" if first == "benign" else "benign"
                give(store, r["prediction_id"], at(25), label=second)
                truth[r["prediction_id"]] = second
        if rng.random() < 0.2:
            give(store, r["prediction_id"], at(21), rating=float(rng.integers(1, 6)), source="csat")
        if rng.random() < 0.05:
            give(store, r["prediction_id"], at(22), correction="it was billing", source="agent")
    return rows, truth


def _judged(r: dict[str, Any]) -> str | None:
    """What quality judges an answer on (as offline evaluation): the model's top label; a
    failed model call is "(error)"; no scores (none here but errors): the answered label."""
    if r["scores"]:
        return str(max(r["scores"], key=r["scores"].get))
    if r["error"] is not None:
        return "(error)"
    return r["label"]


def _fpr(y_true: list[str], y_pred: list[str], label: str) -> float:
    labels = sorted(set(y_true) | set(y_pred))
    cm = confusion_matrix(y_true, y_pred, labels=labels)
    k = labels.index(label)
    fp = cm[:, k].sum() - cm[k, k]
    negatives = cm.sum() - cm[k, :].sum()
    return float(fp / negatives) if negatives else 0.0


@pytest.mark.parametrize("seed", [0, 1])
def test_every_number_equals_sklearn_and_numpy_on_the_joined_rows(store: Store, seed: int) -> None:
    apply_tabular(store)
    rows, truth = _traffic(store, seed)
    report = run_monitor(store, clock=FixedClock(at(60)))
    assert report.ran
    got = windows_of(store)
    ratings: dict[str, list[float]] = defaultdict(list)
    corrected: set[str] = set()
    for r in rows:
        for f in store.predictions.feedback_for(r["prediction_id"]):
            if f["superseded_by"] is None and f["kind"] == "rating":
                ratings[r["prediction_id"]].append(float(f["rating"]))
            if f["superseded_by"] is None and f["kind"] == "correction":
                corrected.add(r["prediction_id"])
    checked = 0
    for (version, _arm, slice_, window), stats in got.items():
        mine = [
            r
            for r in rows
            if r["version"] == version
            and int((r["ts"] - T0).total_seconds()) // 300 == window
            and (slice_ == "all" or slice_ == f"clinic={r['segments']['clinic']}")
        ]
        assert stats.volume == len(mine)
        joined = [r for r in mine if _judged(r) is not None and r["prediction_id"] in truth]
        y_pred = [_judged(r) for r in joined]
        y_true = [truth[r["prediction_id"]] for r in joined]
        assert stats.value("label_coverage") == pytest.approx(len(joined) / len(mine))
        if joined:
            assert stats.value("accuracy") == pytest.approx(accuracy_score(y_true, y_pred))
            assert stats.value("macro_f1") == pytest.approx(
                f1_score(y_true, y_pred, average="macro")
            )
            for label in LABELS:
                kw = {"labels": [label], "average": "macro", "zero_division": 0}
                assert stats.value(f"per_class.{label}.precision") == pytest.approx(
                    precision_score(y_true, y_pred, **kw)
                )
                assert stats.value(f"per_class.{label}.recall") == pytest.approx(
                    recall_score(y_true, y_pred, **kw)
                )
                assert stats.value(f"per_class.{label}.fpr") == pytest.approx(
                    _fpr(y_true, y_pred, label)
                )
        lat = np.array([r["latency_ms"] for r in mine])
        for q in (50, 95, 99):
            exact = float(np.quantile(lat, q / 100, method="inverted_cdf"))
            # the upper edge of the bucket that holds numpy's value
            assert stats.value(f"latency.p{q}_ms") == LATENCY_EDGES_MS[bucket_of(exact)]
            got_q = stats.value(f"latency.p{q}_ms")
            assert got_q is not None
            assert exact <= got_q < exact * 1.101  # one bucket: 10.1 % wide
        n = len(mine)
        assert stats.value("error_rate") == pytest.approx(
            sum(r["error"] is not None for r in mine) / n
        )
        assert stats.value("timeout_rate") == pytest.approx(
            sum(r["error"] == "model_timeout" for r in mine) / n
        )
        assert stats.value("fallback_rate.model_timeout") == pytest.approx(
            sum((r["reason"] or "").startswith("model_timeout") for r in mine) / n
        )
        assert stats.value("below_threshold_rate") == pytest.approx(
            sum("below_threshold" in (r["reason"] or "") for r in mine) / n
        )
        assert stats.value("review_rate") == pytest.approx(
            sum(r["decision"] == "human_review" for r in mine) / n
        )
        cost = sum(r["cost"] or 0.0 for r in mine)
        assert stats.value("cost.total") == pytest.approx(cost)
        assert stats.value("cost.per_request") == pytest.approx(cost / n)
        ok = sum(r["error"] is None for r in mine)
        assert stats.value("cost.per_success") == pytest.approx(cost / ok)
        assert stats.value("label_share.benign") == pytest.approx(
            sum(r["label"] == "benign" for r in mine) / n
        )
        conf = np.array([r["confidence"] for r in mine])
        assert stats.value("confidence.mean") == pytest.approx(conf.mean())
        assert stats.value("confidence_share.90") == pytest.approx(float(np.mean(conf >= 0.9)))
        given = [x for r in mine for x in ratings.get(r["prediction_id"], [])]
        if given:
            assert stats.value("rating.mean") == pytest.approx(np.mean(given))
            assert stats.value("rating.unhelpful_rate") == pytest.approx(
                np.mean(np.array(given) <= 2)
            )
        else:
            assert stats.value("rating.mean") is None
        assert stats.value("correction_rate") == pytest.approx(
            sum(r["prediction_id"] in corrected for r in mine) / n
        )
        checked += 1
    # 3 windows x 2 versions x (all + 2 clinics): every combination had answers
    assert checked == 18


def test_rolled_up_windows_equal_the_numbers_of_all_their_rows(store: Store) -> None:
    apply_tabular(store)
    rows, truth = _traffic(store, 3)
    run_monitor(store, clock=FixedClock(at(60)))
    merged = WindowStats()
    for (_, _, slice_, _), stats in windows_of(store).items():
        if slice_ == "all":
            merged = merged.merged(stats)
    joined = [r for r in rows if _judged(r) is not None and r["prediction_id"] in truth]
    y_pred = [_judged(r) for r in joined]
    y_true = [truth[r["prediction_id"]] for r in joined]
    assert merged.volume == len(rows)
    assert merged.value("macro_f1") == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    lat = np.array([r["latency_ms"] for r in rows])
    exact = float(np.quantile(lat, 0.95, method="inverted_cdf"))
    assert merged.value("latency.p95_ms") == LATENCY_EDGES_MS[bucket_of(exact)]
