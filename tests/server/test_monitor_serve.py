"""``liveops serve --monitor-every``: the serving process keeps the monitor's windows up to date
in the background."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from liveops.core.monitoring.window import WindowStats
from liveops.store import open_store
from tests.server.conftest import Server, logged

PREDICT = "/v1/services/router/predict"


def test_the_gateway_runs_the_monitor_in_the_background(serve: Callable[..., Server]) -> None:
    server = serve("--monitor-every", "0.5s")
    with server.client() as c:
        ids = [
            c.post(PREDICT, json={"inputs": {"text": f"refund {i}", "channel": "chat"}}).json()[
                "prediction_id"
            ]
            for i in range(12)
        ]
    assert len(logged(server.project, ids)) == 12
    store = open_store(project_dir=server.project)
    try:
        deadline = time.monotonic() + 60
        volume = 0
        while volume < 12 and time.monotonic() < deadline:
            windows = store.monitoring.windows("router", datetime.now(UTC) - timedelta(hours=1))
            volume = sum(
                WindowStats.from_dict(stats).volume
                for _, _, slice_, _, stats in windows
                if slice_ == "all"
            )
            time.sleep(0.2)
        assert volume == 12
        chat = [w for w in windows if w[2] == "channel=chat"]
        assert sum(WindowStats.from_dict(w[4]).volume for w in chat) == 12
        assert store.monitoring.state("router") is not None
    finally:
        store.close()
