"""Two processes registering at once: no lost or duplicate numbers, the audit chain intact."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import pytest

from liveops.core.project import parse_project
from liveops.services.registry import apply_project, register_version
from liveops.store import open_store
from tests.services.conftest import PROJECT_YAML

PER_WORKER = 15


def _worker(url: str, artifacts: str, worker: int, start: mp.synchronize.Event) -> None:  # type: ignore[name-defined]
    store = open_store(url, artifacts_root=Path(artifacts))
    folder = Path(artifacts).parent  # holds concurrent_models.py
    start.wait(30)
    for i in range(PER_WORKER):
        register_version(
            store,
            "router",
            actor=f"w{worker}",
            entrypoint=f"concurrent_models:model_{worker}_{i}",
            cwd=folder,
        )
    store.close()


@pytest.mark.slow
def test_concurrent_registration(durable_url: str, tmp_path: Path) -> None:
    url = durable_url
    factories = (f"model_{w}_{i}" for w in range(2) for i in range(PER_WORKER))
    (tmp_path / "concurrent_models.py").write_text(
        "".join(f"def {name}() -> None: ...\n" for name in factories)
    )
    store = open_store(url, artifacts_root=tmp_path / "a")
    apply_project(store, parse_project(PROJECT_YAML), actor="setup")
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    procs = [
        ctx.Process(target=_worker, args=(url, str(tmp_path / "a"), w, start)) for w in range(2)
    ]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    versions = store.registry.list_versions("router")
    assert [v.number for v in versions] == list(range(1, 2 * PER_WORKER + 1))
    assert len({v.content_hash for v in versions}) == 2 * PER_WORKER
    owners = {v.owner for v in versions}
    assert owners == {"w0", "w1"}
    report = store.audit.verify()
    assert report.ok
    assert report.events == 1 + 2 * PER_WORKER
    store.close()
