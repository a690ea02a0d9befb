"""The load: ``wrk`` with ``post.lua``, a closed loop of N keep-alive connections.

One wrk thread drives every level (the machine has few cores; one thread sends tens of
thousands of requests per second, far above what any server here answers). The load
generator's CPU is its user + system time as the kernel accounts it (the ``utime``/``stime``
of ``/proc/PID/stat``, read at exit through ``wait4``), divided by the wall time.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.serving.servers import HERE, Server, cpu_seconds

LUA = HERE / "post.lua"


class WrkMissingError(RuntimeError):
    pass


@dataclass
class LoadResult:
    """One measured window against one server at one connection count."""

    target: str
    connections: int
    seconds: float
    requests: int  # completed (any status)
    answered: int  # 2xx
    requests_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # non-2xx + socket errors (connect, read, write, timeout)
    error_detail: dict[str, int] = field(default_factory=dict)
    wrk_cpu_cores: float = 0.0  # load generator CPU seconds per wall second
    server_cpu_cores: float = 0.0  # the server's process group, same measure

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise WrkMissingError(
            "wrk is not installed; install it with `make bench-tools` "
            "(runs `apt-get install -y wrk`)"
        )
    return found


def wrk_version() -> str:
    out = subprocess.run([wrk_path(), "-v"], capture_output=True, text=True)
    return (out.stdout + out.stderr).strip().splitlines()[0] if out.stdout + out.stderr else "?"


def run_wrk(
    server: Server,
    bodies: Path,
    connections: int,
    seconds: float,
    ids_prefix: Path | None = None,
    stop: threading.Event | None = None,
) -> LoadResult:
    """Drive ``server`` for ``seconds`` with ``connections`` connections; parse wrk's summary.

    With ``stop``, wrk is interrupted (SIGINT: it stops and prints its summary as at the end
    of its duration) once the event is set, if that comes first.
    """
    url = server.url + server.target.path
    # wrk takes whole seconds.
    whole = max(1, round(seconds))
    cmd = [wrk_path(), "-t", "1", "-c", str(connections), "-d", f"{whole}s", "--latency"]
    cmd += ["--timeout", "10s", "-s", str(LUA), url, "--", str(bodies)]
    cmd += [str(ids_prefix) if ids_prefix else ""]
    cmd += [str(server.extra.get("authorization") or "")]  # every target gets the argument
    session = server.process.pid
    with tempfile.TemporaryFile() as out:
        server_cpu0 = cpu_seconds(session)
        t0 = time.monotonic()
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        finished = threading.Event()
        if stop is not None:
            threading.Thread(target=_interrupt, args=(process, stop, finished)).start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            finished.set()
        wall = time.monotonic() - t0
        server_cpu = cpu_seconds(session) - server_cpu0
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}): {' '.join(cmd)}\n{text}")
    summary = parse_summary(text)
    e = summary["errors"]
    lat = summary["latency_us"]
    duration = summary["duration_us"] / 1e6
    return LoadResult(
        target=server.target.name,
        connections=connections,
        seconds=round(duration, 3),
        requests=summary["requests"],
        answered=summary["answered"],
        requests_per_s=round(summary["requests"] / duration, 1) if duration else 0.0,
        p50_ms=lat["p50"] / 1000,
        p90_ms=lat["p90"] / 1000,
        p99_ms=lat["p99"] / 1000,
        max_ms=lat["max"] / 1000,
        errors=sum(e.values()),
        error_detail={k: v for k, v in e.items() if v},
        wrk_cpu_cores=round((usage.ru_utime + usage.ru_stime) / wall, 3),
        server_cpu_cores=round(server_cpu / wall, 3),
    )


def _interrupt(
    process: subprocess.Popen[bytes], stop: threading.Event, finished: threading.Event
) -> None:
    while not finished.is_set():
        if stop.wait(0.05):
            if not finished.is_set():
                process.send_signal(signal.SIGINT)
            return


def parse_summary(text: str) -> dict[str, Any]:
    """The ``BENCH_JSON`` line that post.lua's ``done()`` prints.

    >>> parse_summary('noise\\nBENCH_JSON {"requests": 3}\\n')
    {'requests': 3}
    """
    for line in text.splitlines():
        if line.startswith("BENCH_JSON "):
            parsed: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
            return parsed
    raise RuntimeError(f"wrk printed no BENCH_JSON line:\n{text}")


def read_ids(prefix: Path) -> list[str]:
    """Every prediction id post.lua recorded under ``prefix`` (one file per wrk thread)."""
    ids: list[str] = []
    for path in sorted(prefix.parent.glob(prefix.name + ".*")):
        ids.extend(line for line in path.read_text().splitlines() if line)
    return ids
