"""The label-free estimate in the monitor: each window and slice of a version carries the CBPE
sums of its answers, ``metrics show --metric estimated.accuracy`` reads them with an interval
beside ``accuracy`` and ``label_coverage``, the calibrator is fitted once and stored, and a
version that cannot be calibrated gets no estimate and a status that says why, on every
backend."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from liveops.core.clock import FixedClock
from liveops.core.monitoring.estimate import estimate
from liveops.core.monitoring.window import WindowStats
from liveops.demo.data import generate_records
from liveops.services.evaluation import fit_calibrator, load_suite
from liveops.services.evaluation.calibration import calibration_groups
from liveops.services.evaluation.predict import predict
from liveops.services.monitoring import metric_series, monitor_status, run_monitor
from liveops.services.registry import get_service_spec, load_model, resolve_version
from liveops.store import Store
from tests.services.evaluation.test_calibration import _setup
from tests.services.monitoring.logrows import T0, at, give, log_row, store_rows

N = 600  # answers over two 5-minute windows


def _log_answers(store: Store, root: Path, threshold: float = 0.0) -> list[dict[str, Any]]:
    """``N`` answers of router@1 with its real scores, half in each of two windows; those less
    sure than ``threshold`` are sent to human review (no answered label, scores kept)."""
    model = load_model(store, resolve_version(store, "router@1"), project_dir=root)
    records = generate_records(N, seed=7, mode="covariate_shift")
    answers = predict(model, [{"text": r["text"]} for r in records])
    assert answers.scores is not None
    proba, labels = answers.scores, list(answers.classes or ())
    rows = []
    for i, (r, p) in enumerate(zip(records, proba, strict=True)):
        held = float(np.max(p)) < threshold
        row = log_row(
            at(1 + 5 * (i * 2 // N)),
            service="router",
            label=None if held else labels[int(np.argmax(p))],
            confidence=float(np.max(p)),
            decision="human_review" if held else "automatic",
            reason="below_threshold" if held else None,
            clinic=None,
            language=r["language"],
            inputs={"text": r["text"], "language": r["language"]},
        )
        row["scores"] = {c: float(x) for c, x in zip(labels, p, strict=True)}
        row["true"] = r["label"]
        row["top"] = labels[int(np.argmax(p))]
        rows.append(row)
    store_rows(store, [{k: v for k, v in row.items() if k not in ("true", "top")} for row in rows])
    return rows


def _windows(store: Store, slice_: str = "all") -> list[WindowStats]:
    return [
        WindowStats.from_dict(stats)
        for _, _, s, _, stats in store.monitoring.windows("router", T0 - timedelta(days=1))
        if s == slice_
    ]


def test_each_window_and_slice_carries_the_estimate_of_its_answers(
    store: Store, tmp_path: Path
) -> None:
    _setup(store, tmp_path, "    calibration: {by: [short, spanish]}")
    rows = _log_answers(store, tmp_path)
    for row in rows[:100]:  # a few labels arrive: accuracy and coverage sit beside
        give(store, row["prediction_id"], at(20), label=row["true"])
    clock = FixedClock(at(60))
    report = run_monitor(store, tmp_path, "router", clock=clock)
    assert not [n for n in report.services[0].notes if "estimated" in n]

    # The same numbers as the calibrator fitted by hand on the same set, for these answers.
    cal = fit_calibrator(store, "router@1", project_dir=tmp_path)
    suite = load_suite(get_service_spec(store, "router"), tmp_path)[0]
    slices = [s for s in suite.slices if s.name in ("short", "spanish")]
    first = rows[: N // 2]
    groups = calibration_groups([r["inputs"] for r in first], slices, "text")
    labels = cal.calibrator.labels
    scores = np.array([[r["scores"][c] for c in labels] for r in first])
    predicted = np.array([labels.index(r["label"]) for r in first])
    want = estimate(cal.calibrator.sums(scores, predicted, groups))
    assert want is not None
    got = _windows(store)[0].estimated()
    assert got is not None
    assert got.count == N // 2
    assert got.accuracy.value == pytest.approx(want.accuracy.value, abs=1e-9)
    assert got.accuracy.upper == pytest.approx(want.accuracy.upper, abs=1e-9)

    # A slice's estimate covers the slice's answers only.
    spanish = _windows(store, "spanish")[0].estimated()
    assert spanish is not None
    assert spanish.count == sum(r["language"] == "es" for r in first)

    series = metric_series(
        store,
        "router",
        metrics=["estimated.accuracy", "accuracy", "label_coverage"],
        by="slice",
        window="1h",
        since=T0,
        clock=clock,
    )
    row = {(r.key, r.metric): r for r in series.rows}
    est = row[("all", "estimated.accuracy")]
    assert est.total is not None
    assert est.total_interval is not None
    assert est.total_interval[0] < est.total < est.total_interval[1]
    truth = np.mean([r["label"] == r["true"] for r in rows])
    assert abs(est.total - truth) < 0.06  # 600 answers: a few points of sampling error
    assert row[("all", "label_coverage")].total == pytest.approx(100 / N)
    assert row[("all", "accuracy")].total is not None
    assert ("spanish", "estimated.accuracy") in row


def test_the_calibrator_is_fitted_once_and_kept(store: Store, tmp_path: Path) -> None:
    _setup(store, tmp_path, "")
    _log_answers(store, tmp_path)
    run_monitor(store, tmp_path, "router", clock=FixedClock(at(60)))
    [kept] = store.monitoring.calibrations("router")
    assert kept.error is None
    assert kept.artifact is not None
    assert kept.dataset == "router-eval@1"
    # A full recompute uses the stored calibrator: the same row, the same numbers.
    before = _windows(store)[0].value("estimated.accuracy")
    run_monitor(store, tmp_path, "router", clock=FixedClock(at(90)), full=True)
    assert store.monitoring.calibrations("router") == [kept]
    assert _windows(store)[0].value("estimated.accuracy") == before
    status = monitor_status(store).services[0]
    assert status.estimates == {"v1": "calibrated on router-eval@1 (900 cases)"}


def test_a_version_that_cannot_be_calibrated_gets_no_estimate_and_status_says_why_once(
    store: Store, tmp_path: Path
) -> None:
    _setup(store, tmp_path, "    calibration: router-train")  # the training set: refused
    _log_answers(store, tmp_path)
    first = run_monitor(store, tmp_path, "router", clock=FixedClock(at(60)))
    said = [n for n in first.services[0].notes if "no estimated quality" in n]
    assert len(said) == 1
    assert "training set" in said[0]
    assert all(w.estimate is None for w in _windows(store))
    assert _windows(store)[0].value("estimated.accuracy") is None
    # The other signals are there all the same.
    assert _windows(store)[0].volume == N // 2
    again = run_monitor(store, tmp_path, "router", clock=FixedClock(at(90)), full=True)
    assert not [n for n in again.services[0].notes if "no estimated quality" in n]
    status = monitor_status(store).services[0]
    assert list(status.estimates) == ["v1"]
    assert "training set" in status.estimates["v1"]


def test_answers_sent_to_review_are_estimated_on_their_top_label_as_accuracy_judges_them(
    store: Store, tmp_path: Path
) -> None:
    """The estimate covers the answers the realised accuracy judges: an answer held for human
    review (no answered label) counts with the top label of its scores, so the two measure the
    same answers (a low-confidence answer is right less often, and both see it)."""
    _setup(store, tmp_path, "    calibration: {by: [short, spanish]}")
    rows = _log_answers(store, tmp_path, threshold=0.7)
    first = rows[: N // 2]
    held = [r for r in first if r["decision"] == "human_review"]
    assert 10 < len(held) < len(first)  # some of each
    for row in rows:  # every answer labelled: realised accuracy is the truth on these answers
        give(store, row["prediction_id"], at(20), label=row["true"])
    run_monitor(store, tmp_path, "router", clock=FixedClock(at(60)))

    cal = fit_calibrator(store, "router@1", project_dir=tmp_path)
    suite = load_suite(get_service_spec(store, "router"), tmp_path)[0]
    slices = [s for s in suite.slices if s.name in ("short", "spanish")]
    labels = cal.calibrator.labels
    groups = calibration_groups([r["inputs"] for r in first], slices, "text")
    scores = np.array([[r["scores"][c] for c in labels] for r in first])
    predicted = np.array([labels.index(r["top"]) for r in first])
    want = estimate(cal.calibrator.sums(scores, predicted, groups))
    assert want is not None
    window = _windows(store)[0]
    got = window.estimated()
    assert got is not None
    assert got.count == len(first)  # the held answers too
    assert got.accuracy.value == pytest.approx(want.accuracy.value, abs=1e-9)
    realised = np.mean([r["top"] == r["true"] for r in first])
    assert window.value("accuracy") == pytest.approx(realised)
