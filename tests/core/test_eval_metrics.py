"""Metrics and statistics equal the reference implementations (scikit-learn, fairlearn,
statsmodels), and ECE equals a worked example computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_score, recall_score

from liveops.core.evaluation.evidence import RunData, scope_metrics
from liveops.core.evaluation.metrics import Outcomes, metric_values, per_class_table, point
from liveops.core.evaluation.stats import bootstrap_weights, mcnemar, percentile_interval

LABELS = ["billing", "cancellation", "general", "technical"]  # sorted, as log_loss expects


def _random_case(seed: int, n: int = 400) -> tuple[list[str], list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    y_true = rng.choice(LABELS, size=n, p=[0.4, 0.3, 0.2, 0.1])
    scores = rng.dirichlet(np.ones(len(LABELS)), size=n)
    # Make the model mostly right so the numbers are not all near chance.
    right = rng.random(n) < 0.7
    for i in np.flatnonzero(right):
        scores[i, LABELS.index(y_true[i])] += 1.5
    scores /= scores.sum(axis=1, keepdims=True)
    y_pred = [LABELS[j] for j in scores.argmax(axis=1)]
    return list(y_true), y_pred, scores


def _outcomes(y_true: list[str], y_pred: list[str], scores: np.ndarray) -> Outcomes:
    index = {c: i for i, c in enumerate(LABELS)}
    return Outcomes(
        labels=tuple(LABELS),
        y_true=np.array([index[v] for v in y_true]),
        y_pred=np.array([index[v] for v in y_pred]),
        confidence=scores.max(axis=1),
        p_true=scores[np.arange(len(y_true)), [index[v] for v in y_true]],
        automatic=np.ones(len(y_true), dtype=bool),
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_accuracy_f1_precision_recall_log_loss_equal_scikit_learn(seed: int) -> None:
    y_true, y_pred, scores = _random_case(seed)
    o = _outcomes(y_true, y_pred, scores)
    assert point(o, "accuracy") == pytest.approx(accuracy_score(y_true, y_pred))
    assert point(o, "macro_f1") == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert point(o, "log_loss") == pytest.approx(log_loss(y_true, scores, labels=LABELS))
    table = per_class_table(o)
    for label in LABELS:
        p = precision_score(y_true, y_pred, labels=[label], average="macro", zero_division=0)
        r = recall_score(y_true, y_pred, labels=[label], average="macro", zero_division=0)
        f = f1_score(y_true, y_pred, labels=[label], average="macro", zero_division=0)
        assert table[label]["precision"] == pytest.approx(p)
        assert table[label]["recall"] == pytest.approx(r)
        assert table[label]["f1"] == pytest.approx(f)
        assert point(o, f"per_class.{label}.recall") == pytest.approx(r)


def test_macro_f1_uses_the_labels_that_occur_like_scikit_learn() -> None:
    # "general" never occurs: scikit-learn averages over the three that do.
    y_true = ["billing", "technical", "technical", "cancellation"]
    y_pred = ["billing", "technical", "billing", "technical"]
    o = Outcomes.from_labels(y_true, y_pred, labels=LABELS)
    assert point(o, "macro_f1") == pytest.approx(f1_score(y_true, y_pred, average="macro"))


def test_macro_f1_of_each_resample_uses_the_labels_in_that_resample_like_scikit_learn() -> None:
    # One "general" case in 40: many resamples miss it entirely. scikit-learn's macro-F1 of such
    # a resample averages over the labels that are in it, not scoring the absent one 0.
    y_true = ["billing"] * 20 + ["technical"] * 19 + ["general"]
    y_pred = ["billing"] * 17 + ["technical"] * 3 + ["technical"] * 16 + ["billing"] * 3
    y_pred += ["general"]
    o = Outcomes.from_labels(y_true, y_pred, labels=LABELS)
    w = bootstrap_weights(len(y_true), resamples=40, seed=2)
    ours = metric_values(o, "macro_f1", w)
    truth, pred = np.array(y_true), np.array(y_pred)
    missing = 0
    for row, value in zip(w, ours, strict=True):
        drawn = np.repeat(np.arange(len(y_true)), row.astype(np.int64))
        missing += "general" not in truth[drawn]
        assert value == pytest.approx(f1_score(truth[drawn], pred[drawn], average="macro"))
    assert missing >= 5  # the case in question really happens


def test_per_slice_values_equal_fairlearn_metric_frame() -> None:
    from fairlearn.metrics import MetricFrame

    y_true, y_pred, scores = _random_case(3, n=600)
    rng = np.random.default_rng(9)
    language = rng.choice(["en", "es", "fr"], size=600, p=[0.6, 0.3, 0.1])
    o = _outcomes(y_true, y_pred, scores)
    scopes = {"overall": np.arange(600)}
    for lang in ("en", "es", "fr"):
        scopes[f"slice:{lang}"] = np.flatnonzero(language == lang)
    table = scope_metrics(RunData(o, scopes), None, ["accuracy", "macro_f1"], resamples=50)
    frame = MetricFrame(
        metrics={
            "accuracy": accuracy_score,
            "macro_f1": lambda t, p: f1_score(t, p, average="macro"),
        },
        y_true=np.array(y_true),
        y_pred=np.array(y_pred),
        sensitive_features=language,
    )
    for lang in ("en", "es", "fr"):
        row = table[f"slice:{lang}"]
        assert row["accuracy"]["value"] == pytest.approx(frame.by_group.loc[lang, "accuracy"])
        assert row["macro_f1"]["value"] == pytest.approx(frame.by_group.loc[lang, "macro_f1"])
    assert table["overall"]["accuracy"]["value"] == pytest.approx(frame.overall["accuracy"])


@pytest.mark.parametrize(("b", "c"), [(3, 9), (0, 5), (12, 12), (7, 17), (10, 30), (40, 22)])
def test_mcnemar_equals_statsmodels_exact_and_chi_square(b: int, c: int) -> None:
    from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

    table = [[50, b], [c, 50]]
    ours = mcnemar(b, c)
    exact = b + c < 25
    theirs = sm_mcnemar(table, exact=exact, correction=True)
    assert ours.exact is exact
    assert ours.statistic == pytest.approx(theirs.statistic)
    assert ours.pvalue == pytest.approx(theirs.pvalue)
    forced = mcnemar(b, c, exact=not exact)
    other = sm_mcnemar(table, exact=not exact, correction=True)
    assert forced.pvalue == pytest.approx(other.pvalue)


def test_ece_equals_a_worked_example() -> None:
    # Six cases, 10 equal-width bins on the top-label confidence:
    #   0.95 right, 0.92 wrong   -> bin (0.9, 1.0]: accuracy 1/2, confidence 0.935, gap 0.435
    #   0.75 right, 0.72 right   -> bin (0.7, 0.8]: accuracy 1,   confidence 0.735, gap 0.265
    #   0.55 wrong               -> bin (0.5, 0.6]: accuracy 0,   confidence 0.55,  gap 0.55
    #   0.30 right               -> bin (0.2, 0.3]: accuracy 1,   confidence 0.30,  gap 0.70
    # ECE = (2*0.435 + 2*0.265 + 1*0.55 + 1*0.70) / 6 = 2.65 / 6
    o = Outcomes.from_labels(
        ["a", "a", "a", "a", "a", "a"],
        ["a", "b", "a", "a", "b", "a"],
        confidence=[0.95, 0.92, 0.75, 0.72, 0.55, 0.30],
    )
    assert point(o, "ece") == pytest.approx(2.65 / 6)


def test_bootstrap_is_seeded_and_resamples_whole_cases() -> None:
    w1 = bootstrap_weights(50, resamples=200, seed=4)
    w2 = bootstrap_weights(50, resamples=200, seed=4)
    assert np.array_equal(w1, w2)
    assert (w1.sum(axis=1) == 50).all()
    o = Outcomes.from_labels(["a"] * 40 + ["b"] * 10, ["a"] * 45 + ["b"] * 5)
    samples = metric_values(o, "accuracy", w1)
    lo, hi = percentile_interval(samples) or (0, 0)
    assert lo < point(o, "accuracy") < hi


def test_a_case_the_model_failed_on_counts_as_wrong() -> None:
    o = Outcomes.from_labels(["a", "b", "a"], ["a", None, "a"])
    assert o.errors.tolist() == [False, True, False]
    assert point(o, "accuracy") == pytest.approx(2 / 3)
