"""Classification metrics, computed for a point estimate and for bootstrap resamples at once.

Every metric is a ratio of weighted sums over cases, so it takes a weight matrix ``w`` of
shape ``(k, n)``: one row of ones gives the plain value, a bootstrap matrix from
:func:`liveops.core.evaluation.stats.bootstrap_weights` gives ``k`` resampled values in one pass.

Definitions (the suite file's comments say the same):

- ``accuracy``, ``macro_f1``, ``per_class``: on the model's top label for every case, whatever
  the threshold. A case the model failed on (an error) counts as wrong. ``macro_f1`` averages
  over the labels that occur as expected or predicted, as scikit-learn does (in a bootstrap
  resample: the labels that occur in that resample).
- ``log_loss``: mean of ``-log p(expected label)``, clipped at machine epsilon, over cases
  with scores.
- ``ece``: top-label expected calibration error, 10 equal-width confidence bins
  ``[0, 0.1], (0.1, 0.2], ... (0.9, 1]``: the case-weighted mean gap between accuracy and
  mean confidence per bin.
- ``coverage``: share of cases answered automatically (at or above the decision threshold and
  not held back as sensitive input). ``selective_accuracy``: accuracy on those cases;
  fallbacks and abstentions never count as right.

>>> import numpy as np
>>> o = Outcomes.from_labels(["a", "a", "b", "b"], ["a", "b", "b", "b"],
...                          confidence=[0.9, 0.6, 0.8, 0.7], p_true=[0.9, 0.4, 0.8, 0.7],
...                          automatic=[True, False, True, True])
>>> point(o, "accuracy"), round(point(o, "macro_f1"), 4), point(o, "coverage")
(0.75, 0.7333, 0.75)
>>> point(o, "selective_accuracy"), round(point(o, "ece"), 4)
(1.0, 0.3)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["ECE_BINS", "Outcomes", "metric_table", "metric_values", "per_class_table", "point"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ECE_BINS = 10
_EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class Outcomes:
    """Per-case results of one model on n cases, as arrays.

    ``y_pred`` is -1 where the model raised (an error). ``confidence`` is the top label's
    score and ``p_true`` the expected label's score (NaN without scores or on errors).
    """

    labels: tuple[str, ...]
    y_true: IntArray
    y_pred: IntArray
    confidence: FloatArray
    p_true: FloatArray
    automatic: BoolArray

    def __len__(self) -> int:
        return int(self.y_true.size)

    @property
    def correct(self) -> BoolArray:
        return np.asarray(self.y_true == self.y_pred)

    @property
    def errors(self) -> BoolArray:
        return np.asarray(self.y_pred < 0)

    def take(self, idx: IntArray) -> Outcomes:
        """The cases ``idx``, in that order."""
        return Outcomes(
            self.labels,
            self.y_true[idx],
            self.y_pred[idx],
            self.confidence[idx],
            self.p_true[idx],
            self.automatic[idx],
        )

    @classmethod
    def from_labels(
        cls,
        expected: Sequence[str],
        predicted: Sequence[str | None],
        *,
        confidence: Sequence[float] | None = None,
        p_true: Sequence[float] | None = None,
        automatic: Sequence[bool] | None = None,
        labels: Sequence[str] = (),
    ) -> Outcomes:
        """Build from label lists; a None prediction is an error."""
        names = list(labels)
        for v in [*expected, *predicted]:
            if v is not None and v not in names:
                names.append(v)
        index = {n: i for i, n in enumerate(names)}
        n = len(expected)
        nan = np.full(n, np.nan)
        return cls(
            labels=tuple(names),
            y_true=np.array([index[v] for v in expected], dtype=np.int64),
            y_pred=np.array([-1 if v is None else index[v] for v in predicted], dtype=np.int64),
            confidence=nan.copy() if confidence is None else np.asarray(confidence, float),
            p_true=nan.copy() if p_true is None else np.asarray(p_true, float),
            automatic=np.ones(n, bool) if automatic is None else np.asarray(automatic, bool),
        )


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _present(o: Outcomes) -> list[int]:
    """Label indices that occur as expected or predicted (scikit-learn's default labels)."""
    return sorted(set(o.y_true.tolist()) | set(o.y_pred[o.y_pred >= 0].tolist()))


def metric_values(o: Outcomes, name: str, w: FloatArray) -> FloatArray:
    """``name`` for each row of weights ``w`` (shape ``(k, n)``); NaN where undefined."""
    return metric_table(o, [name], w)[name]


def metric_table(o: Outcomes, names: Sequence[str], w: FloatArray) -> dict[str, FloatArray]:
    """Several metrics for each row of ``w`` at once.

    Every metric is a ratio of weighted sums, so the per-case columns they need are stacked
    into one matrix and multiplied by ``w`` once (one matrix product instead of many).
    """
    cols: dict[str, FloatArray] = {"total": np.ones(len(o))}
    correct = o.correct.astype(np.float64)
    present = _present(o)
    wanted = set(names)
    if wanted & {"macro_f1"} or any(n.startswith("per_class.") for n in names):
        for c in present:
            is_true = (o.y_true == c).astype(np.float64)
            is_pred = (o.y_pred == c).astype(np.float64)
            cols[f"tp{c}"], cols[f"pp{c}"], cols[f"ap{c}"] = is_true * is_pred, is_pred, is_true
    cols["correct"] = correct
    if "log_loss" in wanted:
        has = np.isfinite(o.p_true)
        cols["nll"] = np.where(has, -np.log(np.clip(np.nan_to_num(o.p_true), _EPS, 1.0)), 0.0)
        cols["has_p"] = has.astype(np.float64)
    if "ece" in wanted:
        has = np.isfinite(o.confidence)
        conf = np.where(has, o.confidence, 0.0)
        # Bin b holds confidences in (b/10, (b+1)/10]; exactly 0 goes into the first bin.
        bins = np.clip(np.ceil(conf * ECE_BINS).astype(np.int64) - 1, 0, ECE_BINS - 1)
        cols["has_conf"] = has.astype(np.float64)
        for b in range(ECE_BINS):
            member = has & (bins == b)
            cols[f"bc{b}"] = member * correct
            cols[f"bf{b}"] = member * conf
    auto = o.automatic.astype(np.float64)
    cols["auto"] = auto
    cols["auto_correct"] = auto * correct
    keys = list(cols)
    sums_matrix = w @ np.column_stack([cols[k] for k in keys])
    sums = {k: sums_matrix[:, j] for j, k in enumerate(keys)}
    return {name: _from_sums(name, sums, o, present) for name in names}


def _from_sums(name: str, s: dict[str, FloatArray], o: Outcomes, present: list[int]) -> FloatArray:
    k = s["total"].shape[0]
    if name == "accuracy":
        return _ratio(s["correct"], s["total"])
    if name == "macro_f1":
        if not present:
            return np.full(k, np.nan)
        f1s = np.vstack([_f1(s[f"tp{c}"], s[f"pp{c}"], s[f"ap{c}"]) for c in present])
        # Per row of weights, average over the labels expected or predicted in that row, as
        # scikit-learn does on a resample: a label the resample never drew is left out, not 0.
        drawn = np.vstack([s[f"pp{c}"] + s[f"ap{c}"] > 0 for c in present])
        return _ratio((f1s * drawn).sum(axis=0), drawn.sum(axis=0).astype(np.float64))
    if name == "log_loss":
        return _ratio(s["nll"], s["has_p"])
    if name == "ece":
        gap = np.zeros(k)
        for b in range(ECE_BINS):
            # count_b * |acc_b - conf_b| = |sum of correct - sum of confidence| in the bin
            gap += np.abs(s[f"bc{b}"] - s[f"bf{b}"])
        return _ratio(gap, s["has_conf"])
    if name == "coverage":
        return _ratio(s["auto"], s["total"])
    if name == "selective_accuracy":
        return _ratio(s["auto_correct"], s["auto"])
    if name.startswith("per_class."):
        _, label, part = name.split(".")
        c = o.labels.index(label) if label in o.labels else -1
        if c not in present:
            return np.full(k, np.nan)
        tp, pp, ap = s[f"tp{c}"], s[f"pp{c}"], s[f"ap{c}"]
        if part == "precision":
            return _ratio(tp, pp)
        if part == "recall":
            return _ratio(tp, ap)
        return _f1(tp, pp, ap)
    raise KeyError(name)


def _f1(tp: FloatArray, pp: FloatArray, ap: FloatArray) -> FloatArray:
    # scikit-learn's zero_division default: a class never predicted nor expected scores 0.
    den = pp + ap
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, 2 * tp / np.where(den > 0, den, 1.0), 0.0)


def point(o: Outcomes, name: str) -> float:
    """The plain value of metric ``name`` (NaN where undefined)."""
    return float(metric_values(o, name, np.ones((1, len(o))))[0])


def per_class_table(o: Outcomes) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support per expected-or-predicted label."""
    out: dict[str, dict[str, float]] = {}
    for c in _present(o):
        is_true, is_pred = o.y_true == c, o.y_pred == c
        tp, pp, ap = float((is_true & is_pred).sum()), float(is_pred.sum()), float(is_true.sum())
        out[o.labels[c]] = {
            "precision": tp / pp if pp else 0.0,
            "recall": tp / ap if ap else 0.0,
            "f1": 2 * tp / (pp + ap) if pp + ap else 0.0,
            "support": ap,
        }
    return out
