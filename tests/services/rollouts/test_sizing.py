"""``size_ab_test`` on the wines service (tabular, not the demo's router): the traffic and the
label coverage come from the monitor's windows, the baseline rate from production's recent
live accuracy; with no windows it asks for --baseline."""

from __future__ import annotations

from pathlib import Path

import pytest

from liveops.core.clock import FixedClock
from liveops.core.rollout.power import plan_ab
from liveops.core.serving.prediction import PredictionRecord, new_prediction_id
from liveops.errors import ConflictError, ServiceNotFound
from liveops.services.monitoring import run_monitor
from liveops.services.predictions.feedback import record_feedback
from liveops.services.rollouts import size_ab_test
from liveops.store import Store
from tests.services.rollouts.conftest import T0
from tests.services.rollouts.wines import DirectSink, truth, wine

OTHER = {"red": "white", "white": "red"}


@pytest.mark.slow
def test_the_plan_reads_traffic_coverage_and_baseline_from_the_monitor(
    wines: tuple[Store, Path], clock: FixedClock
) -> None:
    store, folder = wines
    with pytest.raises(ConflictError) as err:
        size_ab_test(store, "wines", mde=0.02)
    assert "no recent live accuracy of wines@1 in the monitor's windows" in err.value.message
    assert "--baseline" in (err.value.hint or "")

    # Two days of production answers, 600 a day; v1 is right on 85 of every 100 answers; a
    # label for 3 answers in 10 (those labels: 51 right in 60 per 200 answers).
    sink = DirectSink(store)
    rows = []
    for i in range(1200):
        ts = T0.timestamp() + i * 144.0  # 1,200 answers over 48 hours
        record = wine(i) | {"customer": f"c{i}"}
        label = truth(record) if i % 100 < 85 else OTHER[truth(record)]
        rows.append(
            PredictionRecord(new_prediction_id(ts), "wines", 1, "production", ts, record, label)
        )
    sink.submit(rows)
    clock.advance(48 * 3600)
    labelled = [r for i, r in enumerate(rows) if i % 10 < 3]
    for r in labelled:
        record_feedback(store, sink, r.prediction_id, "qa", label=truth(r.inputs), clock=clock)
    run_monitor(store, folder, clock=clock)

    got = size_ab_test(store, "wines", mde=0.02, clock=clock)
    right = sum(1 for r in labelled if r.label == truth(r.inputs)) / len(labelled)
    assert got.plan.baseline == pytest.approx(right)
    assert got.baseline_source == "production v1, last 7 days"
    assert got.answers == 1200
    assert got.span_days == pytest.approx(2.0)
    assert got.plan.answers_per_day == pytest.approx(600)
    assert got.plan.coverage == pytest.approx(0.3)
    want = plan_ab(mde=0.02, baseline=right, answers_per_day=600, coverage=0.3)
    assert got.plan == want
    # 180 labelled answers a day, 90 per arm.
    assert got.plan.days == pytest.approx(want.candidate_n / 90)

    # A rate every answer has: coverage 1; a given baseline wins over production's.
    errors = size_ab_test(
        store, "wines", mde=0.01, metric="error_rate", baseline=0.05, split=0.1, clock=clock
    )
    assert (errors.labelled, errors.plan.coverage, errors.baseline_source) == (False, 1.0, "given")
    assert errors.plan.days == pytest.approx(errors.plan.candidate_n / 60)
    # production's error rate is 0 in the windows: nothing to size on, it says so.
    with pytest.raises(ConflictError) as zero:
        size_ab_test(store, "wines", mde=0.01, metric="error_rate", clock=clock)
    assert "recent live error_rate of wines@1 is 0" in zero.value.message
    with pytest.raises(ServiceNotFound):
        size_ab_test(store, "nowhere", mde=0.02, clock=clock)


def test_the_split_defaults_to_the_ab_plans(wines: tuple[Store, Path], clock: FixedClock) -> None:
    from tests.services.rollouts.wines import project

    store, folder = wines
    even = size_ab_test(store, "wines", mde=0.02, baseline=0.87, clock=clock)
    assert even.plan.split == 0.5  # a canary plan: the even split
    project(store, folder, plan=AB_TENTH)
    tenth = size_ab_test(store, "wines", mde=0.02, baseline=0.87, clock=clock)
    assert tenth.plan.split == 0.1
    assert (
        tenth.plan.to_dict() | {"answers_per_day": None, "days": None}
        == plan_ab(mde=0.02, baseline=0.87, split=0.1, coverage=tenth.plan.coverage).to_dict()
    )
    given = size_ab_test(store, "wines", mde=0.02, baseline=0.87, split=0.3, clock=clock)
    assert given.plan.split == 0.3


AB_TENTH = """
    rollout:
      mode: ab
      split: 10%
      duration: 7d
      goals: [{metric: accuracy}]
"""


def test_an_outcome_goal_is_sized_on_every_answer_from_its_live_rate(
    wines: tuple[Store, Path], clock: FixedClock
) -> None:
    """An A/B goal on an outcome event (``POST /v1/outcomes``): every answer counts (with the
    event or without), and production's recent rate is the baseline."""
    from liveops.core.serving.prediction import PredictionIds
    from liveops.services.predictions.outcomes import apply_outcome

    store, folder = wines
    ids = PredictionIds()
    sink = DirectSink(store)
    rows = []
    for i in range(400):  # 400 answers over 24 hours; 1 in 4 ends resolved
        ts = T0.timestamp() + i * 216.0
        rows.append(PredictionRecord(ids.new(ts), "wines", 1, "production", ts, wine(i), "red"))
    sink.submit(rows)
    clock.advance(24 * 3600)
    for r in rows[::4]:
        apply_outcome(
            store,
            {"id": ids.new(r.ts + 60), "prediction_id": r.prediction_id, "source": "crm",
             "outcome": "resolved", "value": None,
             "created_at": clock.now().isoformat()},
        )  # fmt: skip
    run_monitor(store, folder, clock=clock)

    got = size_ab_test(store, "wines", mde=0.05, metric="outcome.resolved.rate", clock=clock)
    assert got.labelled is False
    assert got.plan.baseline == pytest.approx(0.25)
    assert got.plan.coverage == 1.0
    assert got.plan.answers_per_day == pytest.approx(400)
    assert got.plan == plan_ab(mde=0.05, baseline=0.25, answers_per_day=400, coverage=1.0)
