"""``/metrics`` shows the monitor's latest complete window per service, version and arm: live
and estimated accuracy, label coverage and cost per request, read from the store by the
gateway's poller, for the demo-like router and a second, tabular service."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from liveops.core.monitoring.estimate import Calibrator
from liveops.core.monitoring.window import WindowStats
from liveops.store import open_store
from liveops.store.monitoring import WINDOW_S
from tests.server.conftest import Server, make_project


def _stats(right: int, wrong: int, volume: int, cost: float) -> WindowStats:
    ws = WindowStats(volume=volume, cost=cost)
    ws.confusion = Counter({("benign", "benign"): right, ("benign", "malignant"): wrong})
    return ws


def _gauge(text: str, name: str, **labels: str) -> float | None:
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + "{"):
            got = ",".join(sorted(line[len(name) + 1 : line.index("}")].split(",")))
            if got == want:
                return float(line.split()[-1])
    return None


def test_metrics_show_the_latest_complete_monitor_window(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    project = make_project(tmp_path / "proj")
    now = int(datetime.now(UTC).timestamp()) // WINDOW_S
    done, current = now - 2, now  # a complete window, and the one still filling
    rng = np.random.default_rng(0)
    scores = rng.dirichlet([1.0, 1.0], size=300)
    truth = (rng.random(300) < scores[:, 1]).astype(int)
    cal = Calibrator.fit(scores, truth, ("benign", "malignant"), replicates=5)
    router = _stats(80, 20, 400, 2.0)
    router.estimate = cal.sums(scores[:200], scores[:200].argmax(axis=1))
    est = router.value("estimated.accuracy")
    assert est is not None
    store = open_store(project_dir=project)
    try:
        store.monitoring.replace_windows(
            "router",
            [(done, current + 1)],
            [
                {
                    "version": 1,
                    "arm": "production",
                    "slice": "all",
                    "window": done,
                    "stats": router.to_dict(),
                },
                {
                    "version": 1,
                    "arm": "production",
                    "slice": "all",
                    "window": current,
                    "stats": _stats(1, 9, 10, 0.0).to_dict(),
                },
                {
                    "version": 1,
                    "arm": "production",
                    "slice": "spanish",
                    "window": done,
                    "stats": _stats(0, 5, 5, 0.0).to_dict(),
                },
            ],
            datetime.now(UTC),
        )
        # The tabular service: labels but no calibrator, so no estimated accuracy.
        store.monitoring.replace_windows(
            "tumours",
            [(done, done + 1)],
            [
                {
                    "version": 3,
                    "arm": "production",
                    "slice": "all",
                    "window": done,
                    "stats": _stats(45, 5, 100, 0.5).to_dict(),
                }
            ],
            datetime.now(UTC),
        )
    finally:
        store.close()
    server = serve(project=project)
    with server.client() as c:
        text = c.get("/metrics").text
    r = {"service": "router", "version": "1", "arm": "production"}
    t = {"service": "tumours", "version": "3", "arm": "production"}
    assert _gauge(text, "liveops_monitor_accuracy", **r) == pytest.approx(0.8)
    assert _gauge(text, "liveops_monitor_estimated_accuracy", **r) == pytest.approx(est)
    assert _gauge(text, "liveops_monitor_label_coverage", **r) == pytest.approx(100 / 400)
    assert _gauge(text, "liveops_monitor_cost_per_request", **r) == pytest.approx(2.0 / 400)
    assert _gauge(text, "liveops_monitor_accuracy", **t) == pytest.approx(0.9)
    assert _gauge(text, "liveops_monitor_cost_per_request", **t) == pytest.approx(0.005)
    assert _gauge(text, "liveops_monitor_estimated_accuracy", **t) is None
