"""Estimated quality without labels is honest on the demo's v1 (issue 10, "Estimate honest").

v1 is trained on normal-mode data and calibrated on the demo's calibration set (20,000
normal-mode messages it never trained on, ``calibration_records``), grouped as the demo's
``liveops.yaml`` says: ``by: [spanish, short, mid]``, the suite's slices, so each language and
length band gets maps of its own. It then answers live traffic in windows of 2,000 answers.
Under ``covariate_shift`` (more Spanish, shorter messages, more chat; the right label for a
text unchanged) the estimate must track the true accuracy of every answer: mean absolute error
at most 2 points, interval covering the truth in at least 90 % of windows, over three training
seeds and six traffic seeds each (36 windows per mode). Under ``new_world`` (a new product and
a label v1 does not know) the estimate cannot see the change and diverges.

Why the groups: at equal scores v1 is right less often on short messages and on vague Spanish
ones, and covariate shift triples the share of short messages and multiplies the Spanish share
by 3.5. Under a pure covariate shift P(right | score, group) stays put when the group captures
what shifted. With the 2,400 evaluation cases as the calibration set the Spanish groups were
too small for maps of their own (coverage 78 %); pooled calibration misses by more still.

Why 20,000 messages and a top-label map (measured, docs/monitoring.md): short Spanish messages
are under 2 % of normal traffic and over 20 % of shifted traffic, so with 10,000 messages
their group's 190 cases made the calibration draw the estimate's largest error under the shift
(coverage 86 %); and renormalising the one-vs-rest maps pulled the answered label's
probability about half a point low (seen with 40,000 calibration messages on normal traffic),
which happened to offset part of that draw's error.

Measured (this file; ``pytest -s tests/demo/test_estimate_honesty.py`` prints them), 36
windows per mode: normal MAE 0.43 points (bias +0.04), coverage 94 %, half-width 1.22 points;
covariate_shift MAE 0.66 points (bias +0.43), coverage 94 %, half-width 1.46 points (it was
0.73 / +0.53 / 86 % / 1.65 with 10,000 messages and renormalised maps); pooled calibration
MAE 2.61 points; new_world bias +8.1 points, coverage 0 %.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from liveops.core.evaluation.suite import parse_suite
from liveops.core.monitoring.estimate import Calibrator, estimate
from liveops.core.project import parse_project
from liveops.demo.data import Mode, calibration_records, generate, generate_records
from liveops.demo.training import train_v1
from liveops.services.evaluation import calibration_groups

TRAIN_SEEDS = (0, 1, 2)
TRAFFIC_SEEDS = (101, 102, 103, 104, 105, 106)
WINDOW = 2000
WINDOWS_PER_SEED = 2


def demo_groups() -> Callable[[dict[str, Any]], str]:
    """Each record's calibration group, as the demo project's calibration.by makes them."""
    package = resources.files("liveops.demo")
    project = parse_project(package.joinpath("liveops.yaml").read_text(encoding="utf-8"))
    spec = project.services[0]
    assert spec.calibration is not None
    suite = parse_suite(package.joinpath("suites/support.yaml").read_text(encoding="utf-8"))
    slices = [s for s in suite.slices if s.name in spec.calibration.by]
    assert [s.name for s in slices] == spec.calibration.by == ["spanish", "short", "mid"]
    # The suite names no text field: the cases' "text" column is it (as load_cases decides).
    text_field = suite.cases.text_field or "text"
    return lambda r: calibration_groups([r], slices, text_field)[0]


@dataclass(frozen=True)
class Trained:
    model: Any
    labels: tuple[str, ...]
    grouped: Calibrator
    pooled: Calibrator
    group: Callable[[dict[str, Any]], str]

    def scores(self, records: Sequence[dict[str, Any]]) -> np.ndarray[Any, Any]:
        return np.asarray(self.model.predict_proba([r["text"] for r in records]))


@pytest.fixture(scope="session")
def trained() -> list[Trained]:
    return fit_models(demo_groups())


def fit_models(group: Callable[[dict[str, Any]], str]) -> list[Trained]:
    out = []
    for seed in TRAIN_SEEDS:
        data = generate(seed=seed)
        model = train_v1(data.train, seed=seed)
        labels = tuple(str(c) for c in model.classes_)
        cal = calibration_records(seed)
        scores = np.asarray(model.predict_proba([r["text"] for r in cal]))
        truth = np.array([labels.index(r["label"]) for r in cal])
        groups = [group(r) for r in cal]
        grouped = Calibrator.fit(scores, truth, labels, groups=groups, seed=seed)
        pooled = Calibrator.fit(scores, truth, labels, seed=seed)
        out.append(Trained(model, labels, grouped, pooled, group))
    return out


@dataclass(frozen=True)
class Window:
    true_accuracy: float
    true_macro_f1: float
    accuracy: float
    lower: float
    upper: float
    macro_f1: float
    f1_lower: float
    f1_upper: float
    pooled_accuracy: float


_seen: dict[tuple[int, str], list[Window]] = {}


def windows(model: Trained, mode: Mode) -> list[Window]:
    # Several tests read the same windows; the trained models live for the session.
    key = (id(model), mode)
    if key not in _seen:
        _seen[key] = _windows(model, mode)
    return _seen[key]


def _windows(model: Trained, mode: Mode) -> list[Window]:
    out = []
    for seed in TRAFFIC_SEEDS:
        records = generate_records(WINDOW * WINDOWS_PER_SEED, seed=seed, mode=mode)
        scores = model.scores(records)
        predicted = scores.argmax(axis=1)
        for w in range(WINDOWS_PER_SEED):
            rows = slice(w * WINDOW, (w + 1) * WINDOW)
            recs = records[rows]
            groups = [model.group(r) for r in recs]
            est = estimate(model.grouped.sums(scores[rows], predicted[rows], groups))
            pooled = estimate(model.pooled.sums(scores[rows], predicted[rows]))
            assert est is not None
            assert pooled is not None
            said = [model.labels[i] for i in predicted[rows]]
            truth = [r["label"] for r in recs]
            out.append(
                Window(
                    true_accuracy=float(accuracy_score(truth, said)),
                    true_macro_f1=float(f1_score(truth, said, average="macro")),
                    accuracy=est.accuracy.value,
                    lower=est.accuracy.lower,
                    upper=est.accuracy.upper,
                    macro_f1=est.macro_f1.value,
                    f1_lower=est.macro_f1.lower,
                    f1_upper=est.macro_f1.upper,
                    pooled_accuracy=pooled.accuracy.value,
                )
            )
    return out


def summary(ws: list[Window]) -> dict[str, float]:
    err = np.array([w.accuracy - w.true_accuracy for w in ws])
    f1_err = np.array([w.macro_f1 - w.true_macro_f1 for w in ws])
    return {
        "windows": len(ws),
        "mae": float(np.abs(err).mean()),
        "bias": float(err.mean()),
        "coverage": float(np.mean([w.lower <= w.true_accuracy <= w.upper for w in ws])),
        "f1_mae": float(np.abs(f1_err).mean()),
        "f1_coverage": float(np.mean([w.f1_lower <= w.true_macro_f1 <= w.f1_upper for w in ws])),
        "pooled_mae": float(np.mean([abs(w.pooled_accuracy - w.true_accuracy) for w in ws])),
        "half_width": float(np.mean([(w.upper - w.lower) / 2 for w in ws])),
    }


@pytest.mark.parametrize("mode", ["normal", "covariate_shift"])
def test_the_estimate_tracks_the_true_accuracy_when_only_the_inputs_shift(
    trained: list[Trained], mode: Mode
) -> None:
    ws = [w for model in trained for w in windows(model, mode)]
    got = summary(ws)
    print(mode, {k: round(v, 4) for k, v in got.items()})
    assert got["windows"] == len(TRAIN_SEEDS) * len(TRAFFIC_SEEDS) * WINDOWS_PER_SEED
    assert got["mae"] <= 0.02
    assert got["f1_mae"] <= 0.02
    assert got["coverage"] >= (0.90 if mode == "normal" else 0.80)
    # The interval is not vacuous: narrower than 3 points either side.
    assert got["half_width"] < 0.03


def test_the_interval_covers_the_truth_in_90_percent_of_shifted_windows(
    trained: list[Trained],
) -> None:
    ws = [w for model in trained for w in windows(model, "covariate_shift")]
    got = summary(ws)
    assert got["coverage"] >= 0.90
    assert got["mae"] <= 0.02


def test_the_truth_did_move_under_covariate_shift(trained: list[Trained]) -> None:
    # Otherwise tracking it would prove nothing: accuracy falls by several points.
    normal = np.mean([w.true_accuracy for w in windows(trained[0], "normal")])
    shifted = np.mean([w.true_accuracy for w in windows(trained[0], "covariate_shift")])
    assert normal - shifted > 0.03


def test_pooled_calibration_misses_short_messages_under_covariate_shift(
    trained: list[Trained],
) -> None:
    # Why the calibration is grouped: ignoring length, the estimate is too high.
    ws = [w for model in trained for w in windows(model, "covariate_shift")]
    got = summary(ws)
    assert got["pooled_mae"] > got["mae"]
    assert got["pooled_mae"] > 0.02


def test_the_estimate_diverges_when_the_right_answer_changes(trained: list[Trained]) -> None:
    # new_world: a label v1 never saw takes a share of traffic. Every such answer is wrong,
    # but v1 answers it with the same confidence as before: the estimate stays high.
    ws = [w for model in trained for w in windows(model, "new_world")]
    got = summary(ws)
    print("new_world", {k: round(v, 4) for k, v in got.items()})
    assert got["bias"] > 0.05
    assert got["coverage"] < 0.2
