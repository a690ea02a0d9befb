"""Metrics with several workers: a worker that is gone no longer counts in live gauges."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

WORKER = """
import sys
from liveops.server.metrics import render_metrics
from liveops.services.serving import GatewayMetrics
m = GatewayMetrics()
m.loaded_versions.set(float(sys.argv[1]))
m.child(m.requests, "router", "1", "production", "200").inc()
if sys.argv[2] == "render":
    print(render_metrics(m).decode())
"""


def _worker(folder: Path, loaded: int, render: bool) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    args = [sys.executable, "-c", WORKER, str(loaded), "render" if render else "-"]
    return subprocess.run(args, env=env, check=True, capture_output=True, text=True).stdout


def _value(text: str, name: str) -> float:
    line = next(ln for ln in text.splitlines() if ln.startswith(name))
    return float(line.split()[-1])


def test_a_restarted_worker_is_not_summed_twice_but_its_counts_stay(tmp_path: Path) -> None:
    _worker(tmp_path, 5, render=False)  # a worker that loaded 5 versions, then died
    text = _worker(tmp_path, 1, render=True)  # the worker started in its place
    assert _value(text, "liveops_loaded_versions") == 1.0
    assert _value(text, "liveops_requests_total") == 2.0  # both workers' requests happened
