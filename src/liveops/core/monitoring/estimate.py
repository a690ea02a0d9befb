"""Quality without labels: confidence-based performance estimation (CBPE, as NannyML does it).

A version's scores are calibrated on a labelled calibration set (never its training set), so
that a calibrated probability ``p`` of the answered label is the chance that the answer is
right. A window's realised accuracy is then a sum of independent Bernoulli draws with those
chances: its expected value is the mean of ``p`` and its variance ``sum p(1-p) / n²`` (a
Poisson-binomial). Expected true and false positives and false negatives per label give an
expected macro-F1 the same way.

- :class:`Calibrator`: an isotonic map of the top label's score to the chance that it is right
  (top-label calibration), the other labels sharing the rest by one-vs-rest isotonic maps
  (optionally one set of maps per *group* of inputs, e.g. short messages, where calibration
  differs), plus bootstrap refits that carry the calibration set's own uncertainty into the
  interval.
- :class:`EstimateSums`: what the monitor keeps per window; merges by addition.
- :func:`estimate`: ``estimated.accuracy`` and ``estimated.macro_f1`` with 95 % intervals.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> scores = rng.dirichlet([1.0, 1.0], size=400)
>>> truth = (rng.random(400) < scores[:, 1]).astype(int)   # scores are calibrated here
>>> cal = Calibrator.fit(scores, truth, ("no", "yes"), replicates=10)
>>> window = cal.sums(scores[:200], scores[:200].argmax(axis=1))
>>> later = cal.sums(scores[200:], scores[200:].argmax(axis=1))
>>> est = estimate(window.merged(later))
>>> est.count, 0.6 < est.accuracy.value < 0.9, est.accuracy.lower < est.accuracy.value
(400, True, True)
>>> Calibrator.from_dict(cal.to_dict()).apply(scores[:3]).round(6).tolist() == \\
...     cal.apply(scores[:3]).round(6).tolist()
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from liveops.errors import InvalidInputError

__all__ = [
    "METHOD",
    "MIN_CASES",
    "MIN_GROUP_CASES",
    "MIN_PER_LABEL",
    "Calibrator",
    "Estimate",
    "EstimateSums",
    "Interval",
    "estimate",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Below these, one-vs-rest isotonic maps are mostly noise: refuse rather than estimate.
MIN_CASES = 100
MIN_PER_LABEL = 10
# A group gets maps of its own from this many cases (with MIN_PER_LABEL of every label);
# smaller groups use the pooled maps.
MIN_GROUP_CASES = 150
REPLICATES = 30
# The maps' kind, stored with them: one-vs-rest isotonic per label plus a top-label isotonic
# map. ("isotonic-ovr", before it, renormalised the one-vs-rest maps only: refit those.)
METHOD = "isotonic-top"
Z95 = 1.959963984540054


@dataclass(frozen=True)
class _Maps:
    """Increasing piecewise-linear maps: per label, score of that label -> P(label) (``xs``,
    ``ys``); and ``top``: the top label's score -> P(the top label is right)."""

    xs: tuple[FloatArray, ...]
    ys: tuple[FloatArray, ...]
    top: tuple[FloatArray, FloatArray]

    @classmethod
    def fit(cls, scores: FloatArray, truth: IntArray, k: int) -> _Maps:
        xs: list[FloatArray] = []
        ys: list[FloatArray] = []
        for j in range(k):
            x, y = _isotonic(scores[:, j], (truth == j).astype(np.float64))
            xs.append(x)
            ys.append(y)
        top = scores.argmax(axis=1)
        right = (top == truth).astype(np.float64)
        return cls(tuple(xs), tuple(ys), _isotonic(scores.max(axis=1), right))

    def apply(self, scores: FloatArray) -> FloatArray:
        # np.interp clips outside the thresholds, as the fitted IsotonicRegression does.
        out = np.column_stack(
            [
                np.interp(scores[:, j], x, y)
                for j, (x, y) in enumerate(zip(self.xs, self.ys, strict=False))
            ]
        )
        # The top label's probability is its own map's (top-label calibration): renormalising
        # the one-vs-rest maps pulled it about half a point low on the demo (docs/monitoring.md).
        # The other labels share the rest in proportion to their one-vs-rest maps.
        rows = np.arange(len(scores))
        top = scores.argmax(axis=1)
        right = np.interp(scores[rows, top], *self.top)
        out[rows, top] = 0.0
        rest = out.sum(axis=1)
        # No other label with a chance: share the rest by the model's own scores, or evenly.
        for fallback in (scores, np.ones_like(scores)):
            none = rest <= 0
            if not none.any():
                break
            out[none] = fallback[none]
            out[rows[none], top[none]] = 0.0
            rest[none] = out[none].sum(axis=1)
        out *= ((1.0 - right) / np.where(rest > 0, rest, 1.0))[:, None]
        out[rows, top] = np.where(rest > 0, right, 1.0)
        return np.asarray(out, dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": [[x.tolist(), y.tolist()] for x, y in zip(self.xs, self.ys, strict=False)],
            "top": [self.top[0].tolist(), self.top[1].tolist()],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> _Maps:
        def arr(v: Sequence[float]) -> FloatArray:
            return np.asarray(v, dtype=np.float64)

        pairs = d["labels"]
        return cls(
            tuple(arr(p[0]) for p in pairs),
            tuple(arr(p[1]) for p in pairs),
            (arr(d["top"][0]), arr(d["top"][1])),
        )


def _isotonic(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """scikit-learn's isotonic regression of ``y`` on ``x``, as its thresholds."""
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(x, y)
    return (
        np.asarray(iso.X_thresholds_, dtype=np.float64),
        np.asarray(iso.y_thresholds_, dtype=np.float64),
    )


@dataclass(frozen=True)
class _Fit:
    """Pooled maps plus the maps of groups large enough to have their own."""

    pooled: _Maps
    groups: dict[str, _Maps]

    def apply(self, scores: FloatArray, groups: Sequence[str] | None) -> FloatArray:
        out = self.pooled.apply(scores)
        if groups is None or not self.groups:
            return out
        keys = np.asarray(groups, dtype=object)
        for name, maps in self.groups.items():
            rows = np.nonzero(keys == name)[0]
            if len(rows):
                out[rows] = maps.apply(scores[rows])
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "pooled": self.pooled.to_dict(),
            "groups": {g: m.to_dict() for g, m in sorted(self.groups.items())},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> _Fit:
        return cls(
            _Maps.from_dict(d["pooled"]),
            {str(g): _Maps.from_dict(m) for g, m in d["groups"].items()},
        )


def _fit_all(scores: FloatArray, truth: IntArray, k: int, groups: npt.NDArray[Any] | None) -> _Fit:
    pooled = _Maps.fit(scores, truth, k)
    own: dict[str, _Maps] = {}
    if groups is not None:
        for name in sorted(set(groups.tolist())):
            rows = np.nonzero(groups == name)[0]
            counts = np.bincount(truth[rows], minlength=k)
            if len(rows) >= MIN_GROUP_CASES and counts.min() >= MIN_PER_LABEL:
                own[str(name)] = _Maps.fit(scores[rows], truth[rows], k)
    return _Fit(pooled, own)


@dataclass(frozen=True)
class Calibrator:
    """Calibrated probabilities for one version's scores, fitted on a calibration set.

    The top label's probability comes from one isotonic regression of the top score on
    whether the top label was right (top-label calibration: the accuracy estimate's own
    quantity); the other labels share the rest in proportion to their one-vs-rest isotonic
    maps (for macro-F1). Renormalising one-vs-rest maps alone (NannyML's multiclass CBPE, this
    class's first method) moved the top label's probability: half a point low on the demo.
    Isotonic: it assumes only that a higher score means a higher chance, not a shape
    (temperature or Platt scaling assume one), and it needs no more than a few hundred cases.
    ``replicates`` refits on bootstrap resamples of the calibration set: the spread of their
    estimates is the calibration's own uncertainty.
    """

    labels: tuple[str, ...]
    fit_: _Fit
    replicates: tuple[_Fit, ...] = ()
    cases: int = 0
    group_cases: dict[str, int] = field(default_factory=dict)

    @classmethod
    def fit(
        cls,
        scores: npt.ArrayLike,
        truth: npt.ArrayLike,
        labels: Sequence[str],
        *,
        groups: Sequence[str] | None = None,
        replicates: int = REPLICATES,
        seed: int = 0,
    ) -> Calibrator:
        """Fit on ``scores`` (n x k, columns in ``labels``' order) and ``truth`` (the index
        of each case's true label in ``labels``). ``groups``: a group name per case (a group
        with at least :data:`MIN_GROUP_CASES` cases gets maps of its own).

        >>> try:
        ...     Calibrator.fit(np.full((50, 2), 0.5), np.zeros(50, dtype=int), ("a", "b"))
        ... except InvalidInputError as exc:
        ...     print(exc.message)
        the calibration set has 50 cases; at least 100 are needed
        """
        s = np.asarray(scores, dtype=np.float64)
        y = np.asarray(truth, dtype=np.int64)
        k = len(labels)
        if s.ndim != 2 or s.shape[1] != k or y.shape != (s.shape[0],):
            raise InvalidInputError(
                f"calibration scores of shape {s.shape} and {y.shape[0]} labels do not fit "
                f"{k} labels",
                hint="pass one score column per label and one true label per case",
            )
        if not np.isfinite(s).all() or (y < 0).any() or (y >= k).any():
            raise InvalidInputError(
                "the calibration set holds a missing score or a label outside the version's",
                hint="drop the cases the model could not answer before calibrating",
            )
        n = len(y)
        if n < MIN_CASES:
            raise InvalidInputError(
                f"the calibration set has {n} cases; at least {MIN_CASES} are needed",
                hint=f"name a larger labelled dataset (at least {MIN_PER_LABEL} cases per label)",
            )
        counts = np.bincount(y, minlength=k)
        few = [f"{labels[j]} ({counts[j]})" for j in range(k) if counts[j] < MIN_PER_LABEL]
        if few:
            raise InvalidInputError(
                f"the calibration set has too few cases of {', '.join(few)}; each of the "
                f"version's labels needs at least {MIN_PER_LABEL}",
                hint="add labelled cases of those labels to the calibration set",
            )
        g = None if groups is None else np.asarray(list(groups), dtype=object)
        if g is not None and len(g) != n:
            raise InvalidInputError(
                f"{len(g)} group names for {n} calibration cases", hint="pass one per case"
            )
        rng = np.random.default_rng(seed)
        reps: list[_Fit] = []
        for _ in range(replicates):
            idx = rng.integers(0, n, n)
            if np.bincount(y[idx], minlength=k).min() == 0:
                continue  # a resample without some label cannot be calibrated: skip it
            reps.append(_fit_all(s[idx], y[idx], k, None if g is None else g[idx]))
        main = _fit_all(s, y, k, g)
        sizes = {} if g is None else {str(n_): int((g == n_).sum()) for n_ in sorted(set(g))}
        return cls(tuple(labels), main, tuple(reps), n, sizes)

    def _check(self, scores: npt.ArrayLike) -> FloatArray:
        s = np.asarray(scores, dtype=np.float64)
        if s.ndim != 2 or s.shape[1] != len(self.labels):
            raise InvalidInputError(
                f"scores of shape {s.shape} for a calibrator of {len(self.labels)} labels",
                hint=f"pass one column per label, in this order: {', '.join(self.labels)}",
            )
        return s

    def apply(self, scores: npt.ArrayLike, groups: Sequence[str] | None = None) -> FloatArray:
        """Calibrated probabilities (n x k, rows sum to 1); an unknown group uses the pooled
        maps."""
        return self.fit_.apply(self._check(scores), groups)

    def apply_replicates(
        self, scores: npt.ArrayLike, groups: Sequence[str] | None = None
    ) -> FloatArray:
        """The bootstrap refits' probabilities, shape (replicates, n, k)."""
        s = self._check(scores)
        if not self.replicates:
            return np.zeros((0, *s.shape))
        return np.stack([r.apply(s, groups) for r in self.replicates])

    def sums(
        self,
        scores: npt.ArrayLike,
        predicted: npt.ArrayLike,
        groups: Sequence[str] | None = None,
    ) -> EstimateSums:
        """A window's :class:`EstimateSums` from raw scores and the answered labels' indices."""
        out = EstimateSums.empty(self.labels, len(self.replicates))
        out.add(self.apply(scores, groups), predicted, self.apply_replicates(scores, groups))
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (lists of floats), for storage."""
        return {
            "method": METHOD,
            "labels": list(self.labels),
            "cases": self.cases,
            "group_cases": dict(self.group_cases),
            "fit": self.fit_.to_dict(),
            "replicates": [r.to_dict() for r in self.replicates],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Calibrator:
        if d.get("method") != METHOD:
            raise InvalidInputError(
                f"unknown calibration method {d.get('method')!r}",
                hint="refit the calibrator with this version of liveops",
            )
        return cls(
            tuple(str(x) for x in d["labels"]),
            _Fit.from_dict(d["fit"]),
            tuple(_Fit.from_dict(r) for r in d["replicates"]),
            int(d["cases"]),
            {str(g): int(c) for g, c in d.get("group_cases", {}).items()},
        )


@dataclass
class EstimateSums:
    """A window's sums for the estimate; two windows merge by adding every field.

    ``tp``, ``fp``, ``fn``: per label, the expected true positives, false positives and false
    negatives. ``cross`` (sum of p pᵀ over answers) and ``cross_pred`` (row c: the sum of
    p_c p over answers of label c) give the sampling variance of macro-F1. ``rep_tp`` and
    ``rep_actual`` are the expected true positives and true-label counts under each bootstrap
    refit of the calibrator.
    """

    labels: tuple[str, ...]
    count: int
    sum_p: float
    sum_pq: float
    tp: FloatArray
    fp: FloatArray
    fn: FloatArray
    cross: FloatArray
    cross_pred: FloatArray
    rep_tp: FloatArray
    rep_actual: FloatArray

    @classmethod
    def empty(cls, labels: Sequence[str], replicates: int = 0) -> EstimateSums:
        k = len(labels)
        z = np.zeros
        return cls(
            tuple(labels), 0, 0.0, 0.0, z(k), z(k), z(k), z((k, k)), z((k, k)),
            z((replicates, k)), z((replicates, k)),
        )  # fmt: skip

    def add(
        self,
        probs: npt.ArrayLike,
        predicted: npt.ArrayLike,
        replicate_probs: npt.ArrayLike | None = None,
    ) -> None:
        """Count answers: calibrated probabilities (n x k) and the answered labels' indices."""
        p = np.asarray(probs, dtype=np.float64)
        c = np.asarray(predicted, dtype=np.int64)
        k = len(self.labels)
        if p.ndim != 2 or p.shape[1] != k or c.shape != (p.shape[0],):
            raise InvalidInputError(
                f"probabilities of shape {p.shape} and {c.shape} predictions for {k} labels",
                hint="pass one row of calibrated probabilities per answer",
            )
        if len(c) and (c.min() < 0 or c.max() >= k):
            raise InvalidInputError(
                "a predicted label index is outside the calibrator's labels",
                hint="count only answers with one of the version's labels",
            )
        rows = np.arange(len(c))
        pc = p[rows, c]
        onehot = np.zeros_like(p)
        onehot[rows, c] = 1.0
        self.count += len(c)
        self.sum_p += float(pc.sum())
        self.sum_pq += float((pc * (1.0 - pc)).sum())
        tp = (onehot * p).sum(axis=0)
        self.tp += tp
        self.fp += onehot.sum(axis=0) - tp
        self.fn += p.sum(axis=0) - tp
        self.cross += p.T @ p
        self.cross_pred += (onehot * pc[:, None]).T @ p
        b = self.rep_tp.shape[0]
        if b:
            if replicate_probs is None:
                raise InvalidInputError(
                    f"these sums keep {b} calibration replicates; pass their probabilities",
                    hint="use Calibrator.sums(scores, predicted)",
                )
            r = np.asarray(replicate_probs, dtype=np.float64)
            if r.shape != (b, *p.shape):
                raise InvalidInputError(
                    f"replicate probabilities of shape {r.shape}, expected {(b, *p.shape)}"
                )
            self.rep_tp += (r * onehot[None]).sum(axis=1)
            self.rep_actual += r.sum(axis=1)

    def merged(self, other: EstimateSums) -> EstimateSums:
        """Both windows' sums (same labels and replicates: the same calibrator)."""
        if other.labels != self.labels or other.rep_tp.shape != self.rep_tp.shape:
            raise InvalidInputError(
                "estimate sums of two different calibrators cannot be merged",
                hint="merge windows of one version's calibrator only",
            )
        return EstimateSums(
            self.labels,
            self.count + other.count,
            self.sum_p + other.sum_p,
            self.sum_pq + other.sum_pq,
            self.tp + other.tp,
            self.fp + other.fp,
            self.fn + other.fn,
            self.cross + other.cross,
            self.cross_pred + other.cross_pred,
            self.rep_tp + other.rep_tp,
            self.rep_actual + other.rep_actual,
        )

    def __eq__(self, other: object) -> bool:
        # Field by field, arrays by value (the generated __eq__ would compare arrays as tuples).
        return isinstance(other, EstimateSums) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable sums

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels),
            "count": self.count,
            "sum_p": self.sum_p,
            "sum_pq": self.sum_pq,
            **{
                name: getattr(self, name).tolist()
                for name in ("tp", "fp", "fn", "cross", "cross_pred", "rep_tp", "rep_actual")
            },
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> EstimateSums:
        k = len(d["labels"])

        def arr(name: str, shape: tuple[int, ...]) -> FloatArray:
            return np.asarray(d[name], dtype=np.float64).reshape(shape)

        b = len(d["rep_tp"])
        return cls(
            tuple(str(x) for x in d["labels"]),
            int(d["count"]),
            float(d["sum_p"]),
            float(d["sum_pq"]),
            arr("tp", (k,)),
            arr("fp", (k,)),
            arr("fn", (k,)),
            arr("cross", (k, k)),
            arr("cross_pred", (k, k)),
            arr("rep_tp", (b, k)),
            arr("rep_actual", (b, k)),
        )


@dataclass(frozen=True)
class Interval:
    """An estimate with its 95 % interval and the two parts of its standard error."""

    value: float
    lower: float
    upper: float
    se_sampling: float
    se_calibration: float


@dataclass(frozen=True)
class Estimate:
    """``estimated.accuracy`` and ``estimated.macro_f1`` of a window's answers."""

    count: int
    accuracy: Interval
    macro_f1: Interval

    def metrics(self) -> dict[str, float]:
        """The catalogue's names and values."""
        return {
            "estimated.accuracy": self.accuracy.value,
            "estimated.macro_f1": self.macro_f1.value,
        }


def _macro_f1(tp: FloatArray, predicted: FloatArray, actual: FloatArray) -> float:
    # scikit-learn's macro average: over the labels predicted or (expected) present.
    present = (predicted + actual) > 0
    if not present.any():
        return 0.0
    return float(np.mean(2 * tp[present] / (predicted[present] + actual[present])))


def _interval(value: float, var_s: float, se_c: float, z: float) -> Interval:
    se_s = math.sqrt(max(var_s, 0.0))
    half = z * math.sqrt(se_s**2 + se_c**2)
    return Interval(value, max(0.0, value - half), min(1.0, value + half), se_s, se_c)


def estimate(sums: EstimateSums, *, z: float = Z95) -> Estimate | None:
    """Estimated accuracy and macro-F1 of the answers in ``sums``, with intervals.

    The interval is ``value ± z·sqrt(se_sampling² + se_calibration²)``: the sampling part is
    the spread of the realised value of *these* answers if the calibrated probabilities are
    right (exact Poisson-binomial variance for accuracy, a delta-method variance for macro-F1);
    the calibration part is the spread of the estimate over the calibrator's bootstrap refits.
    A changed relation between inputs and labels (concept shift, a new label) is in neither.
    """
    n = sums.count
    if n == 0:
        return None
    acc = sums.sum_p / n
    predicted = sums.tp + sums.fp
    actual = sums.tp + sums.fn
    f1 = _macro_f1(sums.tp, predicted, actual)

    # Delta method for F = mean_k 2·TP_k / (P_k + A_k), P_k fixed, TP_k and A_k random: each
    # answer's true label is one multinomial draw, so F moves by v[i, y_i] with
    # v[i, k] = a_k + [k = c_i]·b_k, and Var = Σ_i (Σ_k p_ik v_ik² − (Σ_k p_ik v_ik)²).
    present = (predicted + actual) > 0
    m = max(int(present.sum()), 1)
    denom = np.where(present, predicted + actual, 1.0)
    b = np.where(present, 2.0 / (m * denom), 0.0)
    a = np.where(present, -2.0 * sums.tp / (m * denom**2), 0.0)
    first = float(actual @ a**2 + sums.tp @ (2 * a * b + b**2))
    diag = np.diag(sums.cross_pred)
    second = float(a @ sums.cross @ a + 2 * b @ (sums.cross_pred @ a) + diag @ b**2)
    var_f1 = first - second

    se_acc_c = se_f1_c = 0.0
    if sums.rep_tp.shape[0] >= 2:
        rep_acc = sums.rep_tp.sum(axis=1) / n
        rep_f1 = [
            _macro_f1(t, predicted, act)
            for t, act in zip(sums.rep_tp, sums.rep_actual, strict=True)
        ]
        se_acc_c = float(np.std(rep_acc, ddof=1))
        se_f1_c = float(np.std(rep_f1, ddof=1))
    return Estimate(
        n,
        _interval(acc, sums.sum_pq / n**2, se_acc_c, z),
        _interval(f1, var_f1, se_f1_c, z),
    )
