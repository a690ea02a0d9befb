"""CBPE in core: the calibrator, mergeable window sums and the estimate's interval, checked
against scikit-learn and against simulation (labels drawn from the calibrated probabilities)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from liveops.core.monitoring.estimate import Calibrator, EstimateSums, estimate
from liveops.errors import InvalidInputError

LABELS = ("a", "b", "c")


def _calibrated(n: int, seed: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Scores and labels drawn from them: the scores are calibrated by construction."""
    rng = np.random.default_rng(seed)
    scores = rng.dirichlet([0.6, 0.6, 0.6], size=n)
    truth = np.array([rng.choice(3, p=p) for p in scores])
    return scores, truth


def test_the_top_label_gets_its_own_isotonic_map_the_others_share_the_rest() -> None:
    scores, truth = _calibrated(600, seed=1)
    cal = Calibrator.fit(scores, truth, LABELS, replicates=0)
    new = np.random.default_rng(2).dirichlet([1, 1, 1], size=50)
    raw = np.column_stack(
        [
            IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip")
            .fit(scores[:, k], truth == k)
            .predict(new[:, k])
            for k in range(3)
        ]
    )
    right = (
        IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip")
        .fit(scores.max(axis=1), scores.argmax(axis=1) == truth)
        .predict(new.max(axis=1))
    )
    top = new.argmax(axis=1)
    rows = np.arange(len(new))
    others = raw.copy()
    others[rows, top] = 0.0
    shared = others.sum(axis=1) > 0  # else the rest goes by the model's own scores
    assert shared.mean() > 0.8
    want = others[shared] * ((1 - right[shared]) / others[shared].sum(axis=1))[:, None]
    want[np.arange(len(want)), top[shared]] = right[shared]
    got = cal.apply(new)
    np.testing.assert_allclose(got[shared], want, atol=1e-12)
    np.testing.assert_allclose(got[rows, top], right, atol=1e-12)
    np.testing.assert_allclose(got.sum(axis=1), 1.0)


def test_a_stored_calibrator_answers_the_same() -> None:
    scores, truth = _calibrated(400, seed=3)
    groups = ["x" if s[0] > 0.3 else "y" for s in scores]
    cal = Calibrator.fit(scores, truth, LABELS, groups=groups, replicates=5)
    back = Calibrator.from_dict(json.loads(json.dumps(cal.to_dict())))
    assert back.group_cases == cal.group_cases
    np.testing.assert_allclose(back.apply(scores, groups), cal.apply(scores, groups))
    np.testing.assert_allclose(back.apply_replicates(scores), cal.apply_replicates(scores))


@pytest.mark.parametrize(
    ("n", "missing", "message"),
    [
        (80, None, "the calibration set has 80 cases; at least 100 are needed"),
        (300, 2, "too few cases of c (0)"),
    ],
)
def test_a_small_or_incomplete_calibration_set_is_refused(
    n: int, missing: int | None, message: str
) -> None:
    scores, truth = _calibrated(n, seed=4)
    if missing is not None:
        truth = np.where(truth == missing, 0, truth)
    with pytest.raises(InvalidInputError) as err:
        Calibrator.fit(scores, truth, LABELS)
    assert message in err.value.message
    assert err.value.hint


def test_window_sums_merge_by_addition() -> None:
    scores, truth = _calibrated(500, seed=5)
    cal = Calibrator.fit(scores, truth, LABELS, replicates=4)
    pred = scores.argmax(axis=1)
    whole = cal.sums(scores, pred)
    parts = [cal.sums(scores[i : i + 100], pred[i : i + 100]) for i in range(0, 500, 100)]
    merged = parts[0]
    for p in parts[1:]:
        merged = merged.merged(p)
    back = EstimateSums.from_dict(json.loads(json.dumps(merged.to_dict())))
    for name in ("tp", "fp", "fn", "cross", "cross_pred", "rep_tp", "rep_actual"):
        np.testing.assert_allclose(getattr(back, name), getattr(whole, name))
    assert (back.count, round(back.sum_pq, 9)) == (whole.count, round(whole.sum_pq, 9))
    a, b = estimate(back), estimate(whole)
    assert a is not None
    assert b is not None
    for x, y in ((a.accuracy, b.accuracy), (a.macro_f1, b.macro_f1)):
        assert (x.value, x.lower, x.upper) == pytest.approx((y.value, y.lower, y.upper), abs=1e-12)
    assert estimate(EstimateSums.empty(LABELS, 4)) is None
    with pytest.raises(InvalidInputError, match="different calibrators"):
        whole.merged(EstimateSums.empty(("a", "b", "z"), 4))


def test_the_sampling_interval_matches_labels_drawn_from_the_probabilities() -> None:
    # Oracle: draw every answer's true label from its probabilities many times; the realised
    # accuracy and macro-F1 (scikit-learn) must centre on the estimate with the stated spread.
    rng = np.random.default_rng(6)
    probs = rng.dirichlet([0.5, 0.5, 0.5], size=800)
    pred = probs.argmax(axis=1)
    sums = EstimateSums.empty(LABELS)
    sums.add(probs, pred)
    est = estimate(sums)
    assert est is not None
    cum = probs.cumsum(axis=1)
    acc, f1 = [], []
    for _ in range(2000):
        y = (rng.random((800, 1)) > cum).sum(axis=1)
        acc.append(np.mean(y == pred))
        f1.append(f1_score(y, pred, average="macro", labels=[0, 1, 2]))
    assert est.accuracy.value == pytest.approx(np.mean(acc), abs=0.002)
    assert est.accuracy.se_sampling == pytest.approx(np.std(acc), rel=0.08)
    assert est.macro_f1.value == pytest.approx(np.mean(f1), abs=0.004)
    assert est.macro_f1.se_sampling == pytest.approx(np.std(f1), rel=0.1)
    assert est.accuracy.se_calibration == 0.0  # no replicates, no calibration part


def test_a_smaller_calibration_set_gives_a_wider_interval() -> None:
    window, _ = _calibrated(2000, seed=7)
    pred = window.argmax(axis=1)
    widths = []
    for n in (150, 3000):
        scores, truth = _calibrated(n, seed=8)
        est = estimate(Calibrator.fit(scores, truth, LABELS, replicates=30).sums(window, pred))
        assert est is not None
        widths.append(est.accuracy.upper - est.accuracy.lower)
    assert widths[0] > 1.3 * widths[1]


def test_a_tabular_model_under_covariate_shift_is_estimated_within_two_points() -> None:
    # Not only text: numeric features, a logistic model of all three columns, the
    # relation between inputs and labels fixed, the inputs' distribution moved.
    rng = np.random.default_rng(9)
    w = np.array([[2.0, -1.0, 0.5], [-1.0, 2.0, 0.5], [0.0, 0.0, -1.0]])

    def draw(n: int, shift: float) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        x = rng.normal(0, 1, (n, 3)) + np.array([shift, -shift / 2, shift / 2])
        logits = x @ w.T
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        return x, (rng.random((n, 1)) > p.cumsum(axis=1)).sum(axis=1)

    x_train, y_train = draw(3000, 0.0)
    model = LogisticRegression(C=0.05).fit(x_train, y_train)
    x_cal, y_cal = draw(2000, 0.0)
    cal = Calibrator.fit(model.predict_proba(x_cal), y_cal, LABELS, replicates=30)
    errors, covered, truths = [], [], []
    for _ in range(20):
        x, y = draw(2000, 0.8)
        scores = model.predict_proba(x)
        pred = scores.argmax(axis=1)
        est = estimate(cal.sums(scores, pred))
        assert est is not None
        true = float(np.mean(pred == y))
        truths.append(true)
        errors.append(abs(est.accuracy.value - true))
        covered.append(est.accuracy.lower <= true <= est.accuracy.upper)
    assert np.mean(errors) <= 0.02
    assert np.mean(covered) >= 0.9
    # The shift moved the truth (so tracking it means something).
    assert abs(np.mean(truths) - np.mean(model.predict(x_cal) == y_cal)) > 0.02
