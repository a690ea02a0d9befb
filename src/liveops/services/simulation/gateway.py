"""The gateway a simulation talks to: ``liveops serve --allow-time-override`` started on a
free loopback port (and stopped afterwards, which stores what its log still holds), or one
already running at a URL."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from liveops.errors import LiveopsError

__all__ = ["TICK_S", "started_gateway"]

# One heartbeat per 5 simulated minutes (one per monitor window): a gateway whose clock jumps
# a week writes every tick it passes, and 10 s ticks would be 60,000 rows a week.
TICK_S = 300.0
READY_S = 90.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def started_gateway(
    project_dir: Path, *, log_path: Path, alias: str | None = None
) -> Iterator[str]:
    """Start a gateway on ``project_dir`` that takes the request's time; yield its URL; stop it
    (SIGTERM: requests finish and the prediction log stores what is left) on the way out.
    ``alias``: serve that alias (``staging``) instead of production."""
    port = _free_port()
    code = "from liveops.cli.main import run; run()"
    args = [
        sys.executable,
        "-c",
        code,
        "-C",
        str(project_dir),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--allow-time-override",
        "--no-auth",  # loopback only, and the simulation is the only caller
        # Its alerts are judged on the simulated clock: the gateway's sender, on the wall
        # clock, would post them (and schedule retries) at the wrong time.
        "--no-send-alerts",
        "--tick-s",
        str(TICK_S),
        *(["--alias", alias] if alias else []),
    ]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            args,
            cwd=project_dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # stopped as a group, never by a terminal's Ctrl-C alone
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(proc, url, log_path)
        yield url
    finally:
        _stop(proc)


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + READY_S
    last = ""
    # One client for every poll: a new one builds an SSL context each time (0.2 s of CPU).
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise LiveopsError(
                    f"the simulation's gateway exited (code {proc.returncode}) before it was "
                    "ready: " + _tail(log_path),
                    hint=f"its output is in {log_path}",
                )
            try:
                r = client.get(url + "/readyz")
                if r.status_code == 200:
                    return
                last = r.text[:300]
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    raise LiveopsError(
        f"the simulation's gateway was not ready within {READY_S:.0f} s: {last or _tail(log_path)}",
        hint=f"its output is in {log_path}; does the service have a production alias?",
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no output)"
    return " | ".join(text[-lines:]) or "(no output)"
