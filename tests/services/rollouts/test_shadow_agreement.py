"""Shadow pairs on a real gateway: the agreement of the candidate's shadow answers with the
served ones, overall, per slice and per hour, shown by `rollout status`; the disagreements
sampled, a bounded number per look and per step, into a review a person can score."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from liveops.core.clock import FixedClock
from liveops.services.review import latest_review, submit
from liveops.services.rollouts import look, start_rollout
from liveops.services.rollouts.shadow import PER_LOOK, SAMPLE_CAP
from liveops.store import Store
from tests.cli_runner import Runner
from tests.services.rollouts.conftest import T0, wait_for
from tests.services.rollouts.test_controller import arms, send, shadow_rows
from tests.services.rollouts.wines import project

# error_rate only: the candidate wrong in the south keeps its shadow step, so looks go on.
LENIENT = """
    rollout:
      key: {field: customer}
      steps:
        - {shadow: 100%, min_duration: 2h, min_sample: 40}
        - {canary: 100%, min_duration: 10m, min_sample: 40}
      gates:
        - {metric: error_rate, kind: guardrail, not_worse_than: baseline, margin: 0.02}
"""


def test_agreement_per_slice_and_disagreements_sampled_into_a_bounded_review(
    wines: tuple[Store, Path],
    gateway: Callable[[], TestClient],
    clock: FixedClock,
    run_cli: Runner,
    durable_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store, folder = wines
    project(store, folder, plan=LENIENT)
    client = gateway()
    rec = start_rollout(store, folder, "wines@2", actor="ann")  # wrong in the south
    wait_for(lambda: len(arms(client)) == 2, "the shadow arm")
    send(client, clock, 160)  # 80 north (agree), 80 south (disagree)
    wait_for(lambda: len(shadow_rows(store, T0)) >= 160, "the shadow copies")

    clock.advance(60)
    first = look(store, folder, rec, clock=clock)
    assert first.look.action == "hold"
    shadow = first.look.counts["shadow"]
    assert (shadow["pairs"], shadow["agree"], shadow["agreement"]) == (160, 80, 0.5)
    assert shadow["unpaired"] == 0
    assert shadow["slices"]["south"] == {"pairs": 80, "agree": 0, "agreement": 0.0}
    [window] = shadow["windows"]
    assert (window["start"], window["pairs"]) == (T0.isoformat(), 160)
    sampled = shadow["review"]
    assert (sampled["items"], sampled["cap"], sampled["disagreements"]) == (PER_LOOK, 50, 80)
    rid = sampled["review"]

    # Each look adds at most PER_LOOK new disagreements; the step stops at SAMPLE_CAP.
    last = first
    for _ in range(SAMPLE_CAP // PER_LOOK + 1):
        clock.advance(60)
        last = look(store, folder, last.rollout, clock=clock)
    assert last.look.counts["shadow"]["review"]["items"] == SAMPLE_CAP
    items = store.reviews.items(rid)
    assert len(items) == SAMPLE_CAP
    assert len({i.case_ref for i in items}) == SAMPLE_CAP  # never the same pair twice
    item = items[0]
    assert item.stratum == "disagreement"
    assert item.inputs["region"] == "south"
    assert item.predicted != item.extra["served"].split(": ")[1]
    assert item.expected == item.extra["served"].split(": ")[1]  # v1 is right: its label
    review = store.reviews.get(rid)
    assert review is not None
    assert (review.subject, review.source_run) == ("wines@2", f"rollout:{rec.id}:0")
    # A person judges who was right; the rollout's review is not the version's evaluation
    # review that readiness counts.
    submit(store, item.id, "cy", {"right_answer": "served"})
    assert latest_review(store, "wines", 2) is None

    monkeypatch.setenv("LIVEOPS_DATABASE_URL", durable_url)
    status = run_cli("rollout", "status", "wines", cwd=folder)
    assert status.code == 0, status.err
    assert "shadow agreement: 50.0% of 160 pairs (south 0.0% of 80" in status.out
    assert f"disagreements for review: {rid} (50 of at most 50 sampled)" in status.out
    data = run_cli("rollout", "status", "wines", "--json", cwd=folder).json()
    assert data["shadow"]["agreement"] == 0.5
    assert data["shadow"]["review"]["review"] == rid
    shown = run_cli("review", "show", rid, cwd=folder)
    assert shown.code == 0, shown.err
    assert f"shadow disagreements of rollout {rec.id}" in shown.out
    events = [e.action for e in store.audit.events(object_type="review", object_id=rid)]
    assert events.count("review.created") == 1
    assert events.count("review.items_added") == SAMPLE_CAP // PER_LOOK - 1
    assert store.audit.verify().ok
