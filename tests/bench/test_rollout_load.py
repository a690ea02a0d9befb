"""Rollouts under load (issue 12): a real ``liveops serve --rollouts`` (subprocess, SQLite
file, the tabular wines service) at canary 50 %, wrk at 32 connections, and ``liveops
rollback wines`` in the middle. No request is lost, every answer is logged once with the arm
that served it, and once the gateway answers with the restored version every later answer is
it. The benchmark ``bench/run.py rollout-load`` runs the same function (its part c).

In the ``wrk`` group (``xdist_group``) with the serving harness's wrk tests: under ``pytest -n 2
--dist loadgroup`` they run on one worker, one after another, so two load tests never share the
machine's two cores.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.rollout import load as rollout_load
from bench.rollout import openloop
from bench.serving.servers import Server, process_tree, stop

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("wrk"),
    pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed"),
]


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[Path, Server]]:
    folder = rollout_load.make_project(tmp_path / "wines", rollout_load.CANARY_PLAN)
    server = rollout_load.start_gateway(folder)
    try:
        yield folder, server
    finally:
        stop(server)
    assert process_tree(server.process.pid) == []


def test_a_rollback_under_load_loses_no_request_and_logs_every_arm(
    gateway: tuple[Path, Server],
) -> None:
    folder, server = gateway
    bodies = rollout_load.write_bodies(folder)
    run = rollout_load.rollback_under_load(folder, server, bodies, connections=32)
    assert run.rollback_exit == 0
    assert (run.wrk_errors, run.error_detail) == (0, {})
    assert run.wrk_answered == run.wrk_requests > 0
    # One row per answered request: wrk's answers, the probe that watched for the switch, and
    # at most one request per connection that was in flight when wrk stopped counting.
    assert run.drained
    assert run.missing == 0
    assert 0 <= run.in_flight <= run.connections
    assert run.log_rows == run.wrk_answered + run.probes + run.in_flight
    # Every row names the arm that served it, with that arm's version.
    assert set(run.arms) == {"production", "canary"}
    assert run.versions_by_arm == {"production": [1], "canary": [2]}
    # Once the gateway answered with v1, every later answer is v1 on arm production.
    assert run.restore_s is not None
    assert run.after_rows > 0
    assert run.after_not_baseline == 0
    assert run.ok, run.checks
    # The rollout ended as rolled back and production stayed on the baseline.
    status = rollout_load.liveops_cli(folder, "rollout", "status", "wines", "--json")
    assert status.returncode == 0, status.stderr
    assert '"rolled_back"' in status.stdout


def test_open_loop_latency_counts_from_the_scheduled_time(
    gateway: tuple[Path, Server], tmp_path: Path
) -> None:
    folder, server = gateway
    bodies = rollout_load.write_bodies(folder)
    result = rollout_load.open_loop(server, bodies, 50, 2, tmp_path / "ol.json")
    assert result["scheduled"] == 100
    assert result["answered_2xx"] == 100
    assert result["errors"] == {}
    assert 0 < result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"] <= result["max_ms"]


def test_shadow_summary_pairs_rounds_and_sums_drops() -> None:
    windows = [
        {"mode": "none", "round": 1, "p50_ms": 1, "p95_ms": 2, "p99_ms": 10, "shadow": {}},
        {"mode": "shadow", "round": 1, "p50_ms": 1, "p95_ms": 2, "p99_ms": 12,
         "shadow": {"answered": 90.0, "dropped": 10.0, "dropped:served_queue": 7.0,
                    "dropped:loop_lag": 3.0}},
        {"mode": "none", "round": 2, "p50_ms": 1, "p95_ms": 3, "p99_ms": 20, "shadow": {}},
        {"mode": "shadow", "round": 2, "p50_ms": 2, "p95_ms": 3, "p99_ms": 21,
         "shadow": {"answered": 100.0}},
    ]  # fmt: skip
    s = rollout_load.summarise(windows)
    assert s["p99_ratios"] == [1.2, 1.05]
    assert s["p99_ratio_median"] == pytest.approx(1.125)
    assert (s["shadow_answered"], s["shadow_dropped"]) == (190.0, 10.0)
    assert s["shadow"]["p99_ms"] == 16.5
    assert s["shadow_dropped_by_reason"] == {"served_queue": 7.0, "loop_lag": 3.0}
    assert (s["none_p99_range"], s["none_p99_spread"]) == ([10, 20], 2.0)


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert openloop.percentile(values, 99) == 99.0
    assert openloop.percentile(values, 50) == 50.0
    assert openloop.percentile([], 99) == 0.0
