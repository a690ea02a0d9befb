"""One benchmark session: start every server, measure them in turns, check the log, stop.

All servers run side by side for the whole session and are measured in turns, level by
level (and round by round with ``--rounds``): on a machine whose background load drifts, the
servers compared at a level are measured within minutes of each other, not a quarter of an
hour apart. An idle server costs next to nothing. With several rounds a figure is the median
over the rounds.
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.serving import load, logcheck, prepare, report, servers
from bench.serving.load import LoadResult
from bench.serving.servers import Server, Target, Workspace

SCORE_TOLERANCE = 1e-6
Say = Callable[[str], None]


@dataclass
class Contender:
    """A running server and what was measured on it."""

    target: Target
    server: Server
    record: dict[str, Any]
    bodies: Path
    reader: logcheck.IdReader | None = None
    before: set[str] = field(default_factory=set)
    ids_prefix: Path | None = None
    answered: int = 0
    in_flight_bound: int = 0
    windows: dict[int, list[LoadResult]] = field(default_factory=dict)  # connections -> rounds


@dataclass
class Context:
    """What every server is checked against and driven with."""

    records: list[dict[str, Any]]
    classes: list[str]
    reference: list[float]  # v1's scores for records[0]
    bodies: dict[str, Path]  # body format -> bodies file


def smoke(server: Server, ctx: Context) -> Any:
    """One request: a 200 whose scores are v1's (noop: any 200)."""
    body = prepare.body(server.target.body_format, ctx.records[0])
    status, payload = servers.post(server, json.dumps(body).encode())
    if status != 200:
        raise RuntimeError(f"{server.target.name} answered {status} to a valid request: {payload}")
    if server.target.name == "noop":
        return payload
    got = servers.scores_in(payload, ctx.classes)
    worst = (
        None if got is None else max(abs(a - b) for a, b in zip(got, ctx.reference, strict=True))
    )
    if worst is None or worst > SCORE_TOLERANCE:
        raise RuntimeError(
            f"{server.target.name} does not answer v1's scores: got {got}, want {ctx.reference}"
        )
    return payload


def start(target: Target, ws: Workspace, ctx: Context, say: Say) -> Contender:
    """Start ``target``, wait until it is ready, check its answer; note the log's state."""
    say(f"{target.name}: starting ({target.description})")
    if target.name == "liveops-standin" and ws.standin_log.exists():
        ws.standin_log.unlink()
    if target.name == "liveops" and ws.liveops_sink == "file":
        shutil.rmtree(ws.file_sink_dir, ignore_errors=True)
        say("liveops: answers go to the gateway tests' file sink, not the prediction log")
    reader = logcheck.id_reader(target, ws) if target.logged else None
    before = reader() if reader else set()
    record: dict[str, Any] = {"target": target.name, "description": target.description}
    if target.name == "liveops":
        record["sink"] = ws.liveops_sink
    server = servers.start(target, ws)
    contender = Contender(target, server, record, ctx.bodies[target.body_format], reader, before)
    try:
        record["ready_seconds"] = round(servers.wait_ready(server), 2)
        say(f"{target.name}: ready after {record['ready_seconds']} s on port {server.port}")
        payload = smoke(server, ctx)
    except BaseException:
        servers.stop(server)
        raise
    record["sample_answer"] = payload
    if target.logged:
        contender.ids_prefix = ws.work / f"ids-{target.name}"
        for old in contender.ids_prefix.parent.glob(contender.ids_prefix.name + ".*"):
            old.unlink()
        contender.answered = 1
        record["smoke_ids"] = re.findall(r'"prediction_id": "(\w+)"', json.dumps(payload))
    return contender


def measure(
    contender: Contender, connections: int, warmup: float, seconds: float, say: Say
) -> None:
    """A warm-up window, then a measured one, at ``connections``."""
    server, prefix = contender.server, contender.ids_prefix
    warm = load.run_wrk(server, contender.bodies, connections, warmup, prefix)
    measured = load.run_wrk(server, contender.bodies, connections, seconds, prefix)
    contender.answered += warm.answered + measured.answered
    contender.in_flight_bound += 2 * connections
    contender.windows.setdefault(connections, []).append(measured)
    say(
        f"{server.target.name} c={connections}: {measured.requests_per_s:.0f} req/s, "
        f"p50 {measured.p50_ms:.2f} ms, p99 {measured.p99_ms:.2f} ms, {measured.errors} errors"
    )


def finish(contender: Contender, say: Say) -> dict[str, Any]:
    """Check the log (liveops), stop the server, and return its record."""
    record = contender.record
    try:
        if contender.reader is not None and contender.ids_prefix is not None:
            ids = [*load.read_ids(contender.ids_prefix), *record.get("smoke_ids", [])]
            say(f"{contender.target.name}: waiting for the log to hold {len(set(ids))} ids")
            after, took, drained = logcheck.wait_drained(contender.reader, ids)
            record["log"] = logcheck.check(
                contender.answered,
                ids,
                contender.before,
                after,
                contender.in_flight_bound,
                took,
                drained,
            )
            say(report.log_line(record["log"]))
    finally:
        record["exit_code"] = servers.stop(contender.server)
    record["rounds"] = {c: windows for c, windows in contender.windows.items()}
    record["results"] = [combine(windows) for windows in contender.windows.values()]
    return record


def combine(windows: Sequence[LoadResult]) -> LoadResult:
    """One figure per measure from several rounds: the median (errors: the sum)."""
    if len(windows) == 1:
        return windows[0]

    def med(name: str) -> float:
        return round(statistics.median(float(getattr(w, name)) for w in windows), 3)

    detail: dict[str, int] = {}
    for w in windows:
        for k, v in w.error_detail.items():
            detail[k] = detail.get(k, 0) + v
    return replace(
        windows[0],
        seconds=sum(w.seconds for w in windows),
        requests=sum(w.requests for w in windows),
        answered=sum(w.answered for w in windows),
        requests_per_s=med("requests_per_s"),
        p50_ms=med("p50_ms"),
        p90_ms=med("p90_ms"),
        p99_ms=med("p99_ms"),
        max_ms=max(w.max_ms for w in windows),
        errors=sum(w.errors for w in windows),
        error_detail=detail,
        wrk_cpu_cores=med("wrk_cpu_cores"),
        server_cpu_cores=med("server_cpu_cores"),
    )


def session(
    targets: Sequence[Target],
    ws: Workspace,
    ctx: Context,
    levels: Sequence[int],
    rounds: int,
    warmup: float,
    seconds: float,
    say: Say,
) -> list[dict[str, Any]]:
    """Start all servers, measure them in turns per level and round, finish each."""
    contenders: list[Contender] = []
    try:
        for target in targets:
            contenders.append(start(target, ws, ctx, say))
        for c in levels:
            for r in range(rounds):
                if rounds > 1:
                    say(f"connections {c}, round {r + 1} of {rounds}")
                for contender in contenders:
                    measure(contender, c, warmup, seconds, say)
        return [finish(contender, say) for contender in contenders]
    finally:
        for contender in contenders:
            if contender.server.process.poll() is None:
                servers.stop(contender.server)
