"""`liveops serve` starting and stopping as a user sees it, with the real prediction log (its
writer is a child process): a port in use, what is served and what is not, and Ctrl-C or
SIGTERM ending it with no traceback and no writer started again."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from liveops.core.project import parse_project
from liveops.services.registry import apply_project, register_version, set_alias
from liveops.store import open_store
from tests.server.conftest import LIVEOPS, REPO, free_port
from tests.tabular import TABULAR_YAML, train_cancer

SERVICES_YAML = (
    TABULAR_YAML
    + TABULAR_YAML.replace("services:\n", "").replace("name: cancer", "name: broken")
    + TABULAR_YAML.replace("services:\n", "").replace("name: cancer", "name: idle")
)


def _project(folder: Path) -> Path:
    """cancer@1 in production; broken@1 in production but its stored artifact is damaged;
    idle without a production alias."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "liveops.yaml").write_text(SERVICES_YAML)
    store = open_store(project_dir=folder)
    try:
        apply_project(store, parse_project(SERVICES_YAML), actor="tester")
        for name, c in (("cancer", 1.0), ("broken", 0.3), ("idle", 1.0)):
            model = train_cancer(folder / f"{name}.skops", c=c)
            reg = register_version(store, name, actor="tester", artifact=model)
            if name != "idle":
                set_alias(store, name, "production", "1", actor="tester")
            if name == "broken":
                stored = store.artifacts.path_of(reg.version.artifact_hash)
                stored.chmod(0o644)
                stored.write_bytes(b"not a model any more")
    finally:
        store.close()
    return folder


def _env(mark: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "LIVEOPS_USER": "tester", "TEST_MARK": mark}
    for key in ("LIVEOPS_DATABASE_URL", "LIVEOPS_PREDICTION_SINK", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(key, None)
    return env


def _marked_pids(mark: str) -> set[int]:
    """Processes started by this test (the gateway and its writer inherit TEST_MARK)."""
    found: set[int] = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if f"TEST_MARK={mark}".encode() in (proc / "environ").read_bytes().split(b"\0"):
                found.add(int(proc.name))
        except OSError:
            continue
    return found


def _start(folder: Path, mark: str, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [str(LIVEOPS), "serve", "--port", str(port), "--poll-s", "0.2", "--no-auth", *extra],
        cwd=folder,
        env=_env(mark),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # a process group of its own, as a terminal gives it
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                ready = httpx.get(f"{url}/readyz", timeout=1).json()
                if ready["models"]:
                    return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"liveops serve did not load within 60 s: {proc.communicate()}")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return _project(tmp_path / "proj")


@pytest.mark.parametrize(
    ("how", "sig"),
    [("kill", signal.SIGTERM), ("ctrl-c", signal.SIGINT)],
    ids=["sigterm", "ctrl-c"],
)
def test_serve_stops_cleanly_without_restarting_the_writer(
    project: Path, how: str, sig: int
) -> None:
    mark = uuid.uuid4().hex
    proc, url = _start(project, mark)
    try:
        answer = httpx.post(
            f"{url}/v1/services/cancer/predict",
            json={"inputs": {"mean_radius": 20.0, "mean_texture": 25.0, "clinic": "north"}},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        before = _marked_pids(mark)
        writers = before - {proc.pid}
        assert len(writers) == 1  # the prediction log's writer process
        if how == "kill":
            os.kill(proc.pid, sig)  # what `kill PID` or a process manager sends
        else:
            os.killpg(proc.pid, sig)  # a terminal sends Ctrl-C to the whole foreground group
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = err.decode()
    assert proc.returncode == 0, text
    assert "Traceback" not in text, text
    assert "KeyboardInterrupt" not in text, text
    assert "starting it again" not in text, text
    assert f"liveops gateway stopped ({signal.Signals(sig).name})" in text
    time.sleep(0.5)  # a writer started during shutdown would still be starting now
    assert _marked_pids(mark) == set(), "a process outlived the gateway"
    # What was answered reached the database before the writer stopped.
    store = open_store(project_dir=project)
    try:
        assert store.predictions.count(service="cancer") == 1
    finally:
        store.close()


def test_serve_says_what_it_serves_and_what_it_cannot(project: Path) -> None:
    mark = uuid.uuid4().hex
    proc, _ = _start(project, mark)
    try:
        time.sleep(1.0)  # the worker announces once its first load is done (just before)
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    text = err.decode()
    lines = text.splitlines()
    listening = next(i for i, line in enumerate(lines) if "liveops gateway on http://" in line)
    head = "\n".join(lines[:listening])
    assert "loading cancer@1 (production)" in head
    assert "loading broken@1" in head
    assert "not serving idle: no production alias" in head
    assert "liveops alias set idle production N" in head
    ready = next(line for line in lines if line.startswith("ready (pid"))
    assert "serving cancer@1" in ready
    assert "broken" not in ready
    broken = next(line for line in lines if line.startswith("not serving broken: "))
    assert "was changed after it was stored" in broken, text


def test_serve_on_a_port_in_use_exits_4_before_saying_it_listens(project: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [str(LIVEOPS), "serve", "--port", str(port)],
            cwd=project,
            env=_env(uuid.uuid4().hex),
            capture_output=True,
            timeout=60,
        )
    err = done.stderr.decode()
    assert done.returncode == 4, err
    assert f"port {port} on 127.0.0.1 is already in use" in err
    assert f"--port {port + 1}" in err
    assert "liveops gateway on" not in err
    assert "Traceback" not in err


def test_serve_starts_while_the_database_is_away(tmp_path: Path) -> None:
    # The gateway is built to start before its database answers: the start-up report must not
    # turn that into an error.
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "liveops.yaml").write_text(TABULAR_YAML)
    port = free_port()
    env = {**_env(uuid.uuid4().hex), "LIVEOPS_DATABASE_URL": "postgresql://x@127.0.0.1:1/db"}
    proc = subprocess.Popen(
        [str(LIVEOPS), "serve", "--port", str(port)],
        cwd=folder,
        env=env,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        up = False
        while not up and time.monotonic() < deadline and proc.poll() is None:
            try:
                up = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                time.sleep(0.1)
        assert up, proc.poll()
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 503
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    text = err.decode()
    assert proc.returncode == 0, text
    assert "cannot list the services yet: cannot reach the database" in text
