"""A rollout gate on the label-free estimate (``estimated.accuracy``), on a real gateway and
with no label at all: each arm's answers are judged by its version's calibrator (fitted on the
service's calibration set, as the monitor fits it), so a candidate sure of itself but wrong in
the south rolls back before any label arrives, and a good one advances."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from liveops.core.clock import FixedClock
from liveops.services.datasets import add_dataset
from liveops.services.rollouts import look, start_rollout
from liveops.store import Store
from tests.services.rollouts.conftest import T0, wait_for
from tests.services.rollouts.test_controller import arms
from tests.services.rollouts.wines import project, truth, wine

ESTIMATED = """
    rollout:
      steps:
        - {shadow: 100%, min_duration: 10m, min_sample: 40}
        - {canary: 100%, min_duration: 10m, min_sample: 40}
      gates:
        - {metric: estimated.accuracy, kind: guardrail, not_worse_than: baseline,
           margin: 0.05, min_sample: 30}
"""
CALIBRATION = "    calibration: {dataset: wines-calibration}\n"


def _calibration_set(store: Store, folder: Path) -> None:
    """200 labelled wines the versions never saw (the suite's 60 are too few to calibrate)."""
    rows = [wine(i) for i in range(1000, 1200)]
    body = "".join(f"{r['alcohol']},{r['region']},{truth(r)}\n" for r in rows)
    path = folder / "calibration.csv"
    path.write_text("alcohol,region,label\n" + body)
    add_dataset(store, path, name="wines-calibration", actor="ann")


def _ask(client: TestClient, clock: FixedClock, n: int) -> None:
    """``n`` answers at the clock's time, and no feedback."""
    at = clock.now().timestamp()
    for i in range(n):
        record = wine(i) | {"customer": f"c{i}"}
        headers = {"X-Liveops-Time": str(at + i * 0.01)}
        r = client.post("/v1/services/wines/predict", json={"inputs": record}, headers=headers)
        assert r.status_code == 200, r.text


@pytest.mark.parametrize(("number", "action"), [(2, "abort"), (3, "advance")])
def test_the_estimate_rolls_back_a_candidate_wrong_in_the_south_before_any_label(
    wines: tuple[Store, Path],
    gateway: Callable[[], TestClient],
    clock: FixedClock,
    number: int,
    action: str,
) -> None:
    store, folder = wines  # v1 (good) production; v2 wrong in the south; v3 good
    project(store, folder, plan=ESTIMATED, serving=CALIBRATION)
    _calibration_set(store, folder)
    client = gateway()
    rec = start_rollout(store, folder, f"wines@{number}", actor="ann")
    wait_for(lambda: len(arms(client)) == 2, "the shadow arm")
    _ask(client, clock, 80)
    far = T0.replace(year=2027)
    copies = lambda: store.rollouts.arm_rows("wines", T0, far, [("shadow", number)])  # noqa: E731
    wait_for(lambda: len(copies()) >= 80, "the shadow copies")
    assert store.rollouts.labels_for([r["prediction_id"] for r in copies()]) == {}
    clock.advance(601)

    r = look(store, folder, rec, clock=clock)

    assert r.look.action == action, r.look.detail
    (gate,) = r.look.gates
    assert gate["metric"] == "estimated.accuracy"
    assert gate["n_candidate"] == 80
    assert gate["n_baseline"] == 80
    # v1 and v3 are always right, and the calibration set shows it: both estimate 1. v2 is
    # as sure of itself but wrong on every southern wine: its calibrator says about half.
    if number == 2:
        assert gate["verdict"] == "fail"
        assert -0.65 < gate["estimate"] < -0.35
    else:
        assert gate["verdict"] == "pass"
        assert gate["estimate"] == pytest.approx(0.0, abs=0.02)
