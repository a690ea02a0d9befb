"""An in-process gateway (no HTTP) over a small project on SQLite, for the serving domain."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from liveops.core.project import parse_project
from liveops.services.registry import apply_project
from liveops.services.serving import Gateway, ServeOptions
from liveops.store import Store, open_store
from tests.server.file_sink import open_file_sink

T = TypeVar("T")


def apply(project: Path, yaml: str) -> Store:
    """The project in ``project`` (SQLite file) with ``yaml`` applied; the caller closes it."""
    project.mkdir(parents=True, exist_ok=True)
    (project / "liveops.yaml").write_text(yaml)
    store = open_store(project_dir=project)
    apply_project(store, parse_project(yaml), actor="tester")
    return store


def with_gateway(project: Path, body: Callable[[Gateway], Awaitable[T]]) -> T:
    """Run ``body`` against a started gateway (on an event loop, as under uvicorn)."""

    async def main() -> T:
        gw = Gateway(
            lambda: open_store(project_dir=project),
            open_file_sink,
            project,
            ServeOptions(poll_s=0.05),
        )
        gw.start()
        try:
            deadline = time.monotonic() + 30
            while not gw.ready and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert gw.ready, "the gateway did not load within 30 s"
            return await body(gw)
        finally:
            await asyncio.to_thread(gw.stop)

    return asyncio.run(main())


async def ask(gw: Gateway, service: str, inputs: dict[str, Any]) -> dict[str, Any]:
    svc, instances, _ = gw.check(service, {"inputs": inputs})
    answers = await gw.predict(svc, instances, "tester")
    return answers[0]


def metric(gw: Gateway, name: str, **labels: str) -> float:
    """The value of one sample of the gateway's metrics (0.0 when it was never counted)."""
    from prometheus_client import generate_latest

    assert gw.metrics.registry is not None
    want = [f'{k}="{v}"' for k, v in labels.items()]
    for line in generate_latest(gw.metrics.registry).decode().splitlines():
        if line.startswith(f"{name}{{") and all(p in line for p in want):
            return float(line.split()[-1])
    return 0.0
