"""Prediction ids: sortable by time, unique, and honest about the time they carry."""

from __future__ import annotations

from liveops.core.prediction import PredictionIds, prediction_id_time


def test_ids_sort_by_time_and_count_up_within_a_millisecond() -> None:
    ids = PredictionIds()
    now = 1_800_000_000.0
    made = [ids.new(t) for t in (now, now, now + 0.0004, now + 0.002)]
    assert made == sorted(made) and len(set(made)) == len(made)
    assert [round(prediction_id_time(i) - now, 3) for i in made] == [0.0, 0.0, 0.0, 0.002]


def test_an_earlier_time_after_a_later_one_still_carries_its_own_time() -> None:
    ids = PredictionIds()
    later = ids.new(1_800_000_000.0)
    earlier = ids.new(1_550_000_000.0)
    assert round(prediction_id_time(earlier)) == 1_550_000_000
    assert earlier < later
