"""A real gateway: ``liveops serve`` as a subprocess on a free port, over a small project.

The project's models are entry points in :mod:`tests.server.models`; answers go to the real
prediction log (its spool, its writer process, the database), and :func:`logged` reads back
what reached the database. ``sink="file"`` swaps in the file sink of
:mod:`tests.server.file_sink`, for tests that do not assert what was logged.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from liveops.core.project import parse_project
from liveops.services.registry import apply_project, register_version, set_alias
from liveops.store import open_store

REPO = Path(__file__).resolve().parents[2]
LIVEOPS = Path(sys.executable).parent / "liveops"

PROJECT_YAML = """
services:
  - name: router
    owner: team@example.com
    inputs:
      text: {type: string, required: true, max_length: 200}
      channel: {type: enum, values: [email, chat]}
      plan: {type: enum, values: [free, pro]}
      count: {type: integer, min: 0, max: 10}
    model_inputs: [text]
    output: {labels: [billing, technical]}
    decision:
      threshold: 0.7
      below_threshold: human_review
      fallback: rules
      rules: "tests.server.models:rules"
      timeout_ms: 300
    serving: {max_batch_size: 16, max_wait_ms: 1, breaker_failures: 3, breaker_reset_s: 60}
  - name: unrouted
    owner: team@example.com
    inputs: {text: {type: string, required: true}}
    output: {labels: [a]}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_project(folder: Path, database_url: str | None = None) -> Path:
    """The project with router@1 (production) and router@2 registered."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "liveops.yaml").write_text(PROJECT_YAML)
    store = open_store(database_url, project_dir=folder)
    try:
        apply_project(store, parse_project(PROJECT_YAML), actor="tester")
        for name in ("v1", "v2"):
            register_version(
                store, "router", actor="tester", entrypoint=f"tests.server.models:{name}"
            )
        set_alias(store, "router", "production", "1", actor="tester")
    finally:
        store.close()
    return folder


@dataclass
class Server:
    url: str
    project: Path
    proc: subprocess.Popen[bytes]
    args: list[str] = field(default_factory=list)

    def client(self, **kw: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10, **kw)  # type: ignore[arg-type]

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def logged(
    project: Path, ids: Iterable[str], database_url: str | None = None, limit_s: float = 60
) -> dict[str, dict[str, Any]]:
    """The stored rows of ``ids`` (by id), once all of them reached the database or
    ``limit_s`` passed: the log's writer stores answers a moment after they were sent."""
    wanted = set(ids)
    store = open_store(database_url, project_dir=project)
    try:
        deadline = time.monotonic() + limit_s
        while True:
            found = set(store.predictions.existing_ids(list(wanted)))
            if found == wanted or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        rows = {pid: store.predictions.get(pid) for pid in found}
    finally:
        store.close()
    return {pid: row for pid, row in rows.items() if row is not None}


def start_server(
    project: Path,
    *extra: str,
    sink: str | None = None,
    database_url: str | None = None,
    ready: bool = True,
    auth: bool = False,
) -> Server:
    """``liveops serve`` on ``project``, once /readyz says ready (``ready=False``: once it
    reports on the services, ready or not). Without keys (``--no-auth``, on loopback) unless
    ``auth``: the tests of keys and roles ask for them."""
    port = free_port()
    # src first: a git worktree's code, not the editable install's (which may be another tree)
    path = os.pathsep.join([str(REPO / "src"), str(REPO)])
    env = {**os.environ, "PYTHONPATH": path, "LIVEOPS_USER": "tester"}
    env.pop("LIVEOPS_DATABASE_URL", None)
    if database_url is not None:
        env["LIVEOPS_DATABASE_URL"] = database_url
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if sink == "file":
        env["LIVEOPS_PREDICTION_SINK"] = "tests.server.file_sink:open_file_sink"
    args = [str(LIVEOPS), "serve", "--port", str(port), "--poll-s", "0.2", *extra]
    if not auth:
        args.append("--no-auth")
    log = open(project / f"server-{port}.log", "wb")  # noqa: SIM115 - kept open for the child
    proc = subprocess.Popen(
        args, cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    server = Server(f"http://127.0.0.1:{port}", project, proc, args)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"liveops serve exited: {(project / log.name).read_text()}")
        try:
            r = httpx.get(server.url + "/readyz", timeout=1)
            if r.status_code == 200 or (not ready and r.json().get("services")):
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError("liveops serve did not become ready within 60 s")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start gateways (stopped after the test): on the default project, or ``project=``."""
    started: list[Server] = []

    def _start(*extra: str, project: Path | None = None, **kw: Any) -> Server:
        if project is None:
            project = tmp_path / "proj"
            if not project.exists():
                make_project(project)
        s = start_server(project, *extra, **kw)
        started.append(s)
        return s

    yield _start
    for s in started:
        s.stop()


@pytest.fixture
def server(serve: Callable[..., Server]) -> Server:
    return serve()
