"""Live quality is judged as offline evaluation judges it: on the model's top label for every
labelled answer, whatever the decision did with it, so a gate or an estimate means the same
thing on both sides."""

from __future__ import annotations

import pytest
from sklearn.metrics import accuracy_score

from liveops.core.clock import FixedClock
from liveops.services.monitoring import run_monitor
from liveops.store import Store
from tests.services.monitoring.logrows import at, give, log_row, store_rows
from tests.services.monitoring.test_numbers import windows_of
from tests.services.tabular import apply_tabular

MALIGNANT = {"malignant": 0.6, "benign": 0.4}
BENIGN = {"malignant": 0.2, "benign": 0.8}


@pytest.fixture
def tumours(store: Store) -> Store:
    return apply_tabular(store)


def _row(minute: float, label: str | None, decision: str, scores: dict[str, float], **kw: object):
    row = log_row(at(minute), label=label, decision=decision, **kw)  # type: ignore[arg-type]
    row["scores"] = scores
    return row


def test_review_and_fallback_answers_are_judged_on_the_models_top_label(tumours: Store) -> None:
    store = tumours
    rows = [
        _row(1, "benign", "automatic", BENIGN),  # right
        _row(2, None, "human_review", MALIGNANT, reason="below_threshold:0.60"),  # right
        _row(3, "benign", "fallback", MALIGNANT, fallback="rules", reason="below_threshold"),
        _row(4, "benign", "fallback", {}, fallback="rules", error="model_error"),  # model failed
        _row(4.5, "malignant", "automatic", MALIGNANT),  # wrong
    ]
    truth = ["benign", "malignant", "malignant", "benign", "benign"]
    judged = ["benign", "malignant", "malignant", "(error)", "malignant"]
    store_rows(store, rows)
    for row, label in zip(rows, truth, strict=True):
        give(store, row["prediction_id"], at(6), label=label)
    run_monitor(store, clock=FixedClock(at(10)))
    w = windows_of(store)[(1, "production", "all", 0)]
    assert w.labelled == 5
    assert w.value("label_coverage") == 1.0
    assert w.value("accuracy") == pytest.approx(accuracy_score(truth, judged))  # 0.6
    # what the service answered is still what the label mix shows
    assert dict(w.labels) == {"benign": 3, "malignant": 1}
