"""The pieces of the demo's incident stage that run without a week: its webhook, its clock and
the post-incident record it writes."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from liveops.demo.stage_incident import StoryClock, hook_server, review_record
from liveops.services.alerts import ROOT_CAUSES


def test_the_demo_webhook_keeps_the_json_it_receives_and_refuses_what_is_not() -> None:
    with hook_server() as (url, received):
        assert url.startswith("http://127.0.0.1:")
        ok = httpx.post(url, json={"alerts": [{"rule": "spanish quality"}]})
        bad = httpx.post(url, content=b"not json", headers={"content-type": "text/plain"})
    assert (ok.status_code, bad.status_code) == (200, 400)
    assert received == [{"alerts": [{"rule": "spanish quality"}]}]
    with pytest.raises(httpx.HTTPError):  # stopped with the stage
        httpx.post(url, json={}, timeout=2)


def test_the_story_clock_runs_on_the_simulated_time_then_on_the_wall_clock() -> None:
    clock = StoryClock()
    at = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert clock.advance_to(at) == at
    assert clock.advance_to(datetime(2026, 1, 1, 9, tzinfo=UTC)) == at  # never back
    clock.release()
    assert clock.now() > at


def test_the_review_record_names_a_known_root_cause_and_the_impact() -> None:
    record = review_record(
        {"requests_affected": 860, "requests_total": 1900, "share_affected": 0.45}
    )
    assert record["root_cause"] in ROOT_CAUSES
    assert "860 of 1,900 answers (45%)" in record["impact"]
    assert record["summary"].strip()
    assert record["actions"]
