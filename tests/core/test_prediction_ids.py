"""Prediction ids: sortable by time, unique, and honest about the time they carry."""

from __future__ import annotations

import time

import pytest

from liveops.core.serving.prediction import PredictionIds, prediction_id_time


def test_ids_sort_by_time_and_count_up_within_a_millisecond() -> None:
    ids = PredictionIds()
    now = 1_800_000_000.0
    made = [ids.new(t) for t in (now, now, now + 0.0004, now + 0.002)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert [round(prediction_id_time(i) - now, 3) for i in made] == [0.0, 0.0, 0.0, 0.002]


def test_an_earlier_time_after_a_later_one_still_carries_its_own_time() -> None:
    ids = PredictionIds()
    later = ids.new(1_800_000_000.0)
    earlier = ids.new(1_550_000_000.0)
    assert round(prediction_id_time(earlier)) == 1_550_000_000
    assert earlier < later


def test_ids_are_ulids_that_python_ulid_reads_back() -> None:
    from ulid import ULID

    pid = PredictionIds().new(1_800_000_000.123)
    assert len(pid) == 26
    assert str(ULID.from_str(pid)) == pid
    assert ULID.from_str(pid).milliseconds == 1_800_000_000_123


def test_a_truncated_or_made_up_id_is_not_read_as_a_time() -> None:
    """Feedback waits for a sibling gateway only for a recent id: a prefix of a real id (or any
    string of base-32 letters) must not pass for one."""
    pid = PredictionIds().new(time.time())
    for bad in (pid[:10], pid + "0", "not-an-id", ""):
        with pytest.raises(ValueError, match="not a prediction id"):
            prediction_id_time(bad)
