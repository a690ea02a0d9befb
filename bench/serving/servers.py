"""The servers under test: how each one starts, when it is ready, what it answers, its CPU.

Each server runs as its own process group (``start_new_session``), with one worker, on
127.0.0.1 and a free port; stopping it signals only that group. Its output goes to
``WORK/logs/NAME.log``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PREDICT_PATH = "/v1/services/support-router/predict"


@dataclass(frozen=True)
class Target:
    """One server under test: its name, request shape and readiness check."""

    name: str
    path: str  # the predict route
    body_format: str  # "liveops" | "bentoml" | "mlflow"
    health: str  # GET this until it answers 200
    logged: bool = False  # answers carry prediction ids that must reach a log
    description: str = ""


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("liveops", PREDICT_PATH, "liveops", "/readyz", True, "liveops serve, logged"),
        Target("microbatch", PREDICT_PATH, "liveops", "/healthz", False, "1 ms micro-batching"),
        Target("bare", PREDICT_PATH, "liveops", "/healthz", False, "Starlette, unbatched"),
        Target("noop", PREDICT_PATH, "liveops", "/healthz", False, "no work: HTTP ceiling"),
        Target("mlflow", "/invocations", "mlflow", "/ping", False, "mlflow models serve"),
        Target("bentoml", "/predict", "bentoml", "/readyz", False, "adaptive batching"),
    )
}
STANDIN = Target(
    "liveops-standin", PREDICT_PATH, "liveops", "/healthz", True, "stand-in for liveops serve"
)


@dataclass
class Workspace:
    """Where the run keeps its files (all under the git-ignored bench/results/)."""

    work: Path  # bench/results/work
    demo: Path  # a folder made by `liveops demo`
    venvs: Path  # bench/.venvs
    python: Path  # the project venv's python
    # "log": liveops' prediction log (the default). "file": the gateway tests' file sink
    # (tests/server/file_sink.py, one JSON line per answer), which measures the gateway
    # without the database log.
    liveops_sink: str = "log"
    # The key `liveops serve` requires (a predictor key made in the demo folder); None: the
    # gateway runs with --no-auth (loopback), to measure what checking keys costs.
    liveops_key: str | None = None

    @property
    def file_sink_dir(self) -> Path:
        return self.demo / ".liveops" / "test-sink"

    @property
    def model(self) -> Path:
        return self.demo / "models" / "support-router-v1.skops"

    @property
    def mlflow_model(self) -> Path:
        return self.work / "mlflow-model"

    @property
    def standin_log(self) -> Path:
        return self.work / "standin-log.db"

    @property
    def logs(self) -> Path:
        return self.work / "logs"


@dataclass
class Server:
    target: Target
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    started: float
    ready_after: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def command(target: Target, ws: Workspace, port: int) -> tuple[list[str], Path, dict[str, str]]:
    """The command line, working folder and extra environment that start ``target``."""
    bin_dir = ws.python.parent
    host, p = "127.0.0.1", str(port)
    starlette = [str(ws.python), str(HERE / "peer_starlette.py")]
    if target.name == "liveops":
        cmd = [str(bin_dir / "liveops"), "serve", "--host", host, "--port", p, "--workers", "1"]
        if ws.liveops_key is None:
            cmd.append("--no-auth")
        if ws.liveops_sink == "file":
            env = {
                "LIVEOPS_PREDICTION_SINK": "tests.server.file_sink:open_file_sink",
                "PYTHONPATH": str(HERE.parents[1]),
            }
            return cmd, ws.demo, env
        return cmd, ws.demo, {}
    if target.name == "liveops-standin":
        args = ["standin", "--model", str(ws.model), "--log-db", str(ws.standin_log)]
        return [*starlette, *args, "--port", p], ws.work, {}
    if target.name in ("bare", "microbatch", "noop"):
        return [*starlette, target.name, "--model", str(ws.model), "--port", p], ws.work, {}
    if target.name == "mlflow":
        venv_bin = ws.venvs / "mlflow" / "bin"
        cmd = [str(venv_bin / "mlflow"), "models", "serve", "-m", str(ws.mlflow_model)]
        cmd += ["-h", host, "-p", p, "--env-manager", "local", "-w", "1"]
        # mlflow shells out to `uvicorn`: its venv's bin must come first on PATH.
        env = {
            "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
            # No access log line per request, like every other server here (uvicorn's
            # command line reads UVICORN_* variables).
            "UVICORN_ACCESS_LOG": "false",
        }
        return cmd, ws.work, env
    if target.name == "bentoml":
        venv_bin = ws.venvs / "bentoml" / "bin"
        cmd = [str(venv_bin / "bentoml"), "serve", "peer_bentoml:SupportRouter"]
        cmd += ["--host", host, "--port", p]
        env = {
            "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
            "BENTOML_DO_NOT_TRACK": "true",
            "BENTOML_HOME": str(ws.work / "bentoml-home"),
            "BENCH_MODEL_PATH": str(ws.model),
        }
        return cmd, HERE, env
    raise ValueError(f"unknown target {target.name!r}")


def start(target: Target, ws: Workspace, extra_env: Mapping[str, str] | None = None) -> Server:
    """Start ``target``'s server in a new process group; do not wait for it."""
    port = free_port()
    cmd, cwd, env_add = command(target, ws, port)
    env = {**os.environ, **env_add, **(extra_env or {})}
    ws.logs.mkdir(parents=True, exist_ok=True)
    log_path = ws.logs / f"{target.name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(target, process, port, log_path, time.monotonic())
    if target.name == "liveops" and ws.liveops_key is not None:
        server.extra["authorization"] = f"Bearer {ws.liveops_key}"
    return server


def wait_ready(server: Server, timeout: float = 120.0) -> float:
    """Poll the health route until it answers 200; return the seconds since start."""
    deadline = server.started + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.target.name} exited with code {server.process.returncode} before it "
                f"was ready; see {server.log_path}:\n{tail(server.log_path)}"
            )
        try:
            with urllib.request.urlopen(server.url + server.target.health, timeout=2) as r:
                if r.status == 200:
                    server.ready_after = time.monotonic() - server.started
                    return server.ready_after
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(
        f"{server.target.name} was not ready after {timeout:.0f} s; see {server.log_path}:\n"
        f"{tail(server.log_path)}"
    )


def auth_header(server: Server) -> dict[str, str]:
    """The Authorization header the target needs (liveops with keys), else none."""
    value = server.extra.get("authorization")
    return {"Authorization": str(value)} if value else {}


def post(server: Server, body: bytes, timeout: float = 30.0) -> tuple[int, Any]:
    """POST ``body`` to the target's predict route; the status and the decoded JSON answer."""
    request = urllib.request.Request(
        server.url + server.target.path,
        data=body,
        headers={"Content-Type": "application/json", **auth_header(server)},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def scores_in(payload: Any, classes: Sequence[str]) -> list[float] | None:
    """The first score vector in an answer, in ``classes`` order (any server's shape)."""
    if isinstance(payload, dict):
        scores = payload.get("scores")
        if isinstance(scores, dict) and set(scores) == set(classes):
            return [float(scores[c]) for c in classes]
        if "predictions" in payload:  # mlflow: {"predictions": [[p1, p2, ...]]}
            preds = payload["predictions"]
            if isinstance(preds, list) and preds and isinstance(preds[0], list):
                return [float(v) for v in preds[0]]
        values: Any = payload.values()
    elif isinstance(payload, list):
        values = payload
    else:
        return None
    for value in values:
        found = scores_in(value, classes)
        if found is not None:
            return found
    return None


def stop(server: Server, grace: float = 30.0) -> int | None:
    """SIGTERM the server's process group, then SIGKILL it after ``grace`` seconds; then
    SIGKILL any process of its tree that is still alive (BentoML starts its worker in a
    session of its own)."""
    pgid = server.process.pid
    tree = process_tree(pgid)
    if server.process.poll() is None:
        _signal_group(pgid, signal.SIGTERM)
        try:
            server.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal_group(pgid, signal.SIGKILL)
            server.process.wait(timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in tree):
        time.sleep(0.2)
    for pid, started in tree:
        if _alive((pid, started)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    return server.process.returncode


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _stat_fields(pid: int | str) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state is [0], ppid [1])."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def _alive(process: tuple[int, int]) -> bool:
    """Whether (pid, start time) is still the same, unreaped-or-running process."""
    fields = _stat_fields(process[0])
    return fields is not None and int(fields[19]) == process[1] and fields[0] != "Z"


def process_tree(root: int) -> list[tuple[int, int]]:
    """(pid, start time) of ``root`` and every live descendant."""
    children: dict[int, list[int]] = {}
    started: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            fields = _stat_fields(name)
            if fields:
                children.setdefault(int(fields[1]), []).append(int(name))
                started[int(name)] = int(fields[19])
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in started:
            tree.append((pid, started[pid]))
        todo.extend(children.get(pid, []))
    return tree


def cpu_seconds(root: int) -> float:
    """CPU time (user + system, from /proc/PID/stat) of ``root`` and its live descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid, _ in process_tree(root):
        fields = _stat_fields(pid)
        if fields:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
