"""Benchmark: rollouts under load (issue 12). A real ``liveops serve --rollouts`` (one worker,
SQLite file, the tabular ``wines`` service of the rollout tests) measured three ways:

(a) capacity: wrk, 32 connections, req/s with no rollout;
(b) shadow's cost: an open-loop generator (``openloop.py``, its own process, a fixed arrival
    schedule at half the capacity, latency from each request's scheduled time) for
    ``--seconds`` each, three alternations of no rollout / shadow 100 %: p50/p95/p99 of the
    served answers, the p99 ratio (median of the three pairs) and the shadow copies answered
    and dropped, by reason (``liveops_shadow_copies_total``), and the load average before and
    after each window;
(c) rollback under load: a rollout at canary 50 %, wrk at 32 connections, ``liveops rollback
    wines`` after 2 s, wrk stopped 3 s after the gateway answered with the restored version;
    every answer wrk read must be in the log, every row's arm one of the rollout's, every row
    after the gateway answered with the restored version must be it.

Prints a table with the machine and its load average; writes
``bench/results/rollout-load-<UTC time>.json``.

    python bench/run.py rollout-load [--seconds 25] [--capacity-seconds 10] [--rounds 3]
                                     [--no-rollback]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script: `bench` and `tests` import from the repository
    sys.path.insert(0, str(ROOT))

from bench.serving import load  # noqa: E402
from bench.serving.servers import (  # noqa: E402
    Server,
    Target,
    cpu_seconds,
    free_port,
    stop,
    wait_ready,
)

SERVICE = "wines"
TARGET = Target("liveops-rollouts", f"/v1/services/{SERVICE}/predict", "liveops", "/readyz", True)
# Steps the controller never finishes during a run (a day, a million answers) and one gate it
# cannot judge before then: the rollout stays at its first step until someone acts.
GATES = """      gates:
        - {metric: error_rate, kind: guardrail, not_worse_than: baseline, margin: 0.5,
           min_sample: 1000000}
"""
CANARY_PLAN = (
    """
    rollout:
      steps:
        - {canary: 50%, min_duration: 1d, min_sample: 1000000}
        - {canary: 100%, min_duration: 1d, min_sample: 1000000}
"""
    + GATES
)
SHADOW_PLAN = CANARY_PLAN.replace("canary: 50%", "shadow: 100%")
N_BODIES = 2000


def say(message: str) -> None:
    print(f"[rollout-load] {message}", file=sys.stderr, flush=True)


def make_project(folder: Path, plan: str) -> Path:
    """wines with v1 (production) and v2 (evaluated, passing): ready for ``rollout start``."""
    from tests.services.rollouts.wines import production, project, register

    from liveops.store import open_store

    store = open_store(project_dir=folder)
    try:
        project(store, folder, plan=plan)
        production(store, register(store, "good", folder=folder, evaluate=False))
        register(store, "good_too", folder=folder)
    finally:
        store.close()
    return folder


def write_bodies(folder: Path) -> Path:
    """One request body a line: varied wines, one customer each (the plan's key is random)."""
    from tests.services.rollouts.wines import wine

    path = folder / "bodies.jsonl"
    lines = [json.dumps({"inputs": {**wine(i), "customer": f"c{i}"}}) for i in range(N_BODIES)]
    path.write_text("\n".join(lines) + "\n")
    return path


def start_gateway(folder: Path) -> Server:
    """``liveops serve --rollouts`` on ``folder`` (one worker, no keys on loopback)."""
    port = free_port()
    liveops = Path(sys.executable).parent / "liveops"
    cmd = [str(liveops), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    cmd += ["--no-auth", "--poll-s", "0.2", "--rollouts", "--rollout-every", "3600s"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    env.pop("LIVEOPS_DATABASE_URL", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log_path = folder / f"serve-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            cmd, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(TARGET, process, port, log_path, time.monotonic())
    wait_ready(server, timeout=90)
    return server


def liveops_cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    liveops = Path(sys.executable).parent / "liveops"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    env.pop("LIVEOPS_DATABASE_URL", None)
    return subprocess.run(
        [str(liveops), *args], cwd=folder, env=env, capture_output=True, text=True, timeout=120
    )


def ask(server: Server, body: str) -> dict[str, Any]:
    """One answer (the first instance's) to ``body``."""
    request = urllib.request.Request(
        server.url + TARGET.path, data=body.encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as r:
        answer: dict[str, Any] = json.loads(r.read())
    return answer


def rows(folder: Path) -> dict[str, tuple[int | None, str]]:
    """Every logged answer of the service: prediction id -> (version, arm)."""
    con = sqlite3.connect(folder / ".liveops" / "liveops.db", timeout=30)
    try:
        query = "SELECT prediction_id, version, arm FROM predictions WHERE service = ?"
        return {str(r[0]): (r[1], str(r[2])) for r in con.execute(query, (SERVICE,))}
    finally:
        con.close()


def shadow_copies(server: Server) -> dict[str, float]:
    """``liveops_shadow_copies_total`` by outcome (summed over versions and reasons), and by
    ``outcome:reason`` (e.g. ``dropped:loop_lag``)."""
    with urllib.request.urlopen(server.url + "/metrics", timeout=10) as r:
        text = r.read().decode()
    out: dict[str, float] = {}
    for m in re.finditer(r"^liveops_shadow_copies_total\{([^}]*)\} (\S+)$", text, re.M):
        outcome = re.search(r'outcome="([^"]*)"', m.group(1))
        reason = re.search(r'reason="([^"]*)"', m.group(1))
        if outcome:
            value = float(m.group(2))
            out[outcome.group(1)] = out.get(outcome.group(1), 0.0) + value
            if reason and reason.group(1):
                key = f"{outcome.group(1)}:{reason.group(1)}"
                out[key] = out.get(key, 0.0) + value
    return out


@dataclass
class RollbackRun:
    """Rollback under load: wrk's counts against the log's rows."""

    connections: int
    seconds: float
    wrk_requests: int  # completed, any status
    wrk_answered: int  # 2xx
    wrk_errors: int  # non-2xx + socket errors
    error_detail: dict[str, int]
    requests_per_s: float
    p99_ms: float
    probes: int  # the single requests that watched for the restored version (logged too)
    log_rows: int  # rows the run added (after the writer drained)
    missing: int  # answered ids not in the log: must be 0
    in_flight: int  # rows whose answer wrk never read (sent as it stopped): 0..connections
    arms: dict[str, int]  # rows by arm
    versions_by_arm: dict[str, list[int | None]]
    rollback_exit: int
    rollback_s: float  # `liveops rollback` from its start to its exit (a process of its own)
    restore_s: float | None  # from its exit to the gateway's first answer with the baseline
    after_rows: int  # rows after the gateway answered with the baseline
    after_not_baseline: int  # of them, not the baseline version on arm production: must be 0
    drained: bool
    checks: dict[str, bool] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(self.checks.values())


def canary_body(server: Server, bodies: list[str], candidate: int, asked: list[str]) -> str:
    """A body whose answer comes from the candidate (the canary arm); ``asked`` gets the
    prediction id of every answer."""
    for body in bodies[:200]:
        answer = ask(server, body)
        asked.append(str(answer["prediction_id"]))
        if answer.get("version") == candidate:
            return body
    raise RuntimeError(f"no answer from {SERVICE}@{candidate} in 200 requests at canary 50 %")


def rollback_under_load(
    folder: Path,
    server: Server,
    bodies_path: Path,
    *,
    before_s: float = 2.0,
    after_s: float = 3.0,
    connections: int = 32,
    limit_s: float = 120.0,
) -> RollbackRun:
    """A canary 50 % rollout; wrk with ``connections`` connections; ``liveops rollback wines``
    after ``before_s``; wrk stops ``after_s`` after the gateway first answered with the
    restored version (at most ``limit_s`` in all). The rollback command is a Python process
    starting on a machine wrk and the gateway keep busy: it takes seconds, so wrk's run is
    as long as it needs, not fixed."""
    started = liveops_cli(folder, "rollout", "start", f"{SERVICE}@2", "--as", "bench")
    if started.returncode != 0:
        raise RuntimeError(f"rollout start failed: {started.stderr}")
    bodies = bodies_path.read_text().splitlines()
    deadline = time.monotonic() + 30
    asked: list[str] = []
    while True:  # the gateway picks the rollout up at its next poll
        try:
            probe = canary_body(server, bodies, 2, asked)
            break
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    before = set(rows(folder))
    while not set(asked) <= before:  # the writer stores answers a moment after they were sent
        if time.monotonic() > deadline + 60:
            raise RuntimeError("the answers before the run never reached the log")
        time.sleep(0.1)
        before = set(rows(folder))
    ids_prefix = folder / "wrk-ids"
    for old in folder.glob("wrk-ids.*"):
        old.unlink()
    result: dict[str, load.LoadResult] = {}
    stop_wrk = threading.Event()
    wrk = threading.Thread(
        target=lambda: result.update(
            r=load.run_wrk(server, bodies_path, connections, limit_s, ids_prefix, stop_wrk)
        )
    )
    wrk.start()
    time.sleep(before_s)
    t0 = time.monotonic()
    rolled = liveops_cli(folder, "rollback", SERVICE, "--as", "bench", "--reason", "bench")
    t1 = time.monotonic()
    probe_ids: list[str] = []
    switch_id, restore_s = None, None
    while time.monotonic() - t1 < 30:
        answer = ask(server, probe)
        probe_ids.append(str(answer["prediction_id"]))
        if answer.get("version") == 1:
            switch_id, restore_s = str(answer["prediction_id"]), time.monotonic() - t1
            break
        time.sleep(0.02)
    time.sleep(after_s)
    stop_wrk.set()
    wrk.join()
    measured = result["r"]
    answered_ids = load.read_ids(ids_prefix)
    wanted = set(answered_ids) | set(probe_ids)
    drained, logged = False, rows(folder)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        logged = rows(folder)
        if wanted <= set(logged):
            drained = True
            time.sleep(2)  # let the rows of requests in flight at wrk's end land too
            logged = rows(folder)
            break
        time.sleep(0.25)
    added = {pid: row for pid, row in logged.items() if pid not in before}
    arms: dict[str, int] = {}
    versions: dict[str, set[int | None]] = {}
    for version, arm in added.values():
        arms[arm] = arms.get(arm, 0) + 1
        versions.setdefault(arm, set()).add(version)
    after = [row for pid, row in added.items() if switch_id is not None and pid > switch_id]
    after_bad = sum(1 for version, arm in after if (version, arm) != (1, "production"))
    missing = len(set(answered_ids) - set(logged))
    in_flight = len(added) - len(set(answered_ids) & set(added)) - len(set(probe_ids) & set(added))
    run = RollbackRun(
        connections=connections,
        seconds=measured.seconds,
        wrk_requests=measured.requests,
        wrk_answered=measured.answered,
        wrk_errors=measured.errors,
        error_detail=measured.error_detail,
        requests_per_s=measured.requests_per_s,
        p99_ms=measured.p99_ms,
        probes=len(probe_ids),
        log_rows=len(added),
        missing=missing,
        in_flight=in_flight,
        arms=arms,
        versions_by_arm={a: sorted(v, key=lambda x: x or 0) for a, v in versions.items()},
        rollback_exit=rolled.returncode,
        rollback_s=round(t1 - t0, 3),
        restore_s=None if restore_s is None else round(restore_s, 3),
        after_rows=len(after),
        after_not_baseline=after_bad,
        drained=drained,
    )
    run.checks = {
        "no socket errors, no non-2xx": measured.errors == 0,
        "every answer wrk read is logged": drained and missing == 0,
        "ids: one per answered request": len(answered_ids)
        == len(set(answered_ids))
        == measured.answered,
        "rows = answered + probes + in flight (0..connections)": 0 <= in_flight <= connections,
        "arms are the rollout's (production v1, canary v2)": set(versions)
        <= {"production", "canary"}
        and versions.get("production", {1}) == {1}
        and versions.get("canary", {2}) == {2},
        "both arms answered before the rollback": arms.get("canary", 0) > 0,
        "rollback exit 0": rolled.returncode == 0,
        "gateway answered with v1 after the rollback": switch_id is not None,
        "every row after that is v1 on production": after_bad == 0 and len(after) > 0,
    }
    return run


def capacity(
    server: Server, bodies: Path, seconds: float, connections: int = 32
) -> load.LoadResult:
    """req/s at ``connections`` wrk connections, no rollout (after a 3 s warm-up)."""
    load.run_wrk(server, bodies, connections, 3)
    return load.run_wrk(server, bodies, connections, seconds)


def open_loop(
    server: Server, bodies: Path, rate: float, seconds: float, out: Path
) -> dict[str, Any]:
    """``openloop.py`` in its own process at ``rate`` req/s for ``seconds``."""
    script = Path(__file__).resolve().parent / "openloop.py"
    cmd = [sys.executable, str(script), server.url + TARGET.path, str(bodies), str(rate)]
    subprocess.run([*cmd, str(seconds), str(out)], check=True, timeout=seconds + 300)
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def shadow_cost(
    folder: Path, server: Server, bodies: Path, rate: float, seconds: float, rounds: int = 3
) -> list[dict[str, Any]]:
    """``rounds`` alternations of no rollout / shadow 100 %, each measured open-loop."""
    from liveops.services.rollouts.controller import abort_rollout, start_rollout
    from liveops.store import open_store

    windows: list[dict[str, Any]] = []
    for i in range(rounds):
        for mode in ("none", "shadow"):
            store = open_store(project_dir=folder)
            try:
                if mode == "shadow":
                    start_rollout(store, folder, f"{SERVICE}@2", actor="bench")
                elif store.rollouts.active_for(SERVICE) is not None:
                    abort_rollout(store, SERVICE, actor="bench", reason="bench: next window")
            finally:
                store.close()
            time.sleep(1.5)  # the gateway re-reads rollouts every 0.2 s
            copies0 = shadow_copies(server)
            load_before = os.getloadavg()  # = the first three fields of /proc/loadavg
            cpu0 = cpu_seconds(server.process.pid)
            say(f"round {i + 1}/{rounds}: {mode}, {rate:.0f} req/s open-loop for {seconds:g} s")
            result = open_loop(server, bodies, rate, seconds, folder / f"openloop-{i}-{mode}.json")
            # CPU time of the gateway and its log writer per request sent: what the shadow costs,
            # steadier than latency on a shared machine (it does not count waiting for a core).
            cpu = cpu_seconds(server.process.pid) - cpu0
            result["cpu_ms_per_request"] = round(cpu * 1000 / max(result["scheduled"], 1), 4)
            copies1 = shadow_copies(server)
            result["mode"], result["round"] = mode, i + 1
            result["shadow"] = {k: v - copies0.get(k, 0.0) for k, v in copies1.items()}
            result["load_avg_before"] = load_before
            result["load_avg"] = os.getloadavg()
            windows.append(result)
    return windows


def summarise(windows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per mode the median p50/p95/p99 over rounds; the p99 ratio shadow / none per round and
    its median; the shadow copies answered and dropped (tests/bench/test_rollout_load.py)."""
    out: dict[str, Any] = {}
    for mode in ("none", "shadow"):
        mine = [w for w in windows if w["mode"] == mode]
        out[mode] = {q: median(w[q] for w in mine) for q in ("p50_ms", "p95_ms", "p99_ms")}
    ratios = []
    for w in windows:
        if w["mode"] == "shadow":
            base = [b for b in windows if b["mode"] == "none" and b["round"] == w["round"]]
            if base and base[0]["p99_ms"]:
                ratios.append(round(w["p99_ms"] / base[0]["p99_ms"], 3))
    cpu = {
        mode: [
            w["cpu_ms_per_request"]
            for w in windows
            if w["mode"] == mode and "cpu_ms_per_request" in w
        ]
        for mode in ("none", "shadow")
    }
    out["cpu_ms_per_request"] = {m: median(v) if v else None for m, v in cpu.items()}
    out["p99_ratios"] = ratios
    out["p99_ratio_median"] = median(ratios) if ratios else None
    # The noise floor: how far apart the windows without a rollout are among themselves.
    p99s: list[float] = [w["p99_ms"] for w in windows if w["mode"] == "none"]
    low, high = (min(p99s), max(p99s)) if p99s else (0.0, 0.0)
    out["none_p99_range"] = [low, high] if p99s else None
    out["none_p99_spread"] = round(high / low, 3) if low > 0 else None
    shadow = [w.get("shadow", {}) for w in windows if w["mode"] == "shadow"]
    out["shadow_answered"] = sum(s.get("answered", 0.0) for s in shadow)
    out["shadow_dropped"] = sum(s.get("dropped", 0.0) for s in shadow)
    out["shadow_failed"] = sum(s.get("failed", 0.0) for s in shadow)
    by: dict[str, float] = {}
    for s in shadow:
        for key, n in s.items():
            if key.startswith("dropped:"):
                by[key.split(":", 1)[1]] = by.get(key.split(":", 1)[1], 0.0) + n
    out["shadow_dropped_by_reason"] = dict(sorted(by.items(), key=lambda kv: -kv[1]))
    return out


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_avg_start": os.getloadavg(),
        "wrk": load.wrk_version(),
    }


def table(info: dict[str, Any]) -> str:
    m, cap = info["machine"], info["capacity"]
    lines = [
        f"machine: {m['cpus']} CPUs, {m['platform']}, Python {m['python']}, {m['wrk']}",
        f"load average at start {fmt_load(m['load_avg_start'])}, at end "
        f"{fmt_load(m['load_avg_end'])} (other work shares this machine)",
        "",
        f"(a) capacity, wrk {cap['connections']} connections, no rollout: "
        f"{cap['requests_per_s']:.0f} req/s (p99 {cap['p99_ms']:.1f} ms, errors {cap['errors']})",
        "",
        f"(b) open-loop at {info['rate']:.0f} req/s (half of it), {info['seconds']:g} s a window",
        "latency from each request's scheduled time; 'late p99': how late the generator itself "
        "sent; CPU ms/req: CPU time of the gateway and its log writer per request sent; load: "
        "1-minute load average before -> after the window",
        f"{'round':>5} {'mode':8} {'sent':>7} {'2xx':>7} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8} {'late p99':>8} {'shadow ans.':>11} {'dropped':>8} {'CPU ms/req':>10} "
        f"{'load':>14}",
    ]
    for w in info["windows"]:
        s = w.get("shadow", {})
        before = w.get("load_avg_before", [float("nan")])[0]
        lines.append(
            f"{w['round']:>5} {w['mode']:8} {w['scheduled']:>7} {w['answered_2xx']:>7} "
            f"{w['p50_ms']:>8.1f} {w['p95_ms']:>8.1f} {w['p99_ms']:>8.1f} "
            f"{w['late_ms_p99']:>8.1f} {s.get('answered', 0):>11.0f} {s.get('dropped', 0):>8.0f} "
            f"{w.get('cpu_ms_per_request', float('nan')):>10.3f} "
            f"{before:>5.2f} -> {w['load_avg'][0]:.2f}"
        )
    s = info["summary"]
    ratio = s["p99_ratio_median"]
    copies = s["shadow_answered"] + s["shadow_dropped"] + s["shadow_failed"]
    share = s["shadow_answered"] / copies if copies else 0.0
    reasons = ", ".join(f"{k} {v:.0f}" for k, v in s["shadow_dropped_by_reason"].items())
    lines += [
        f"median p99: none {s['none']['p99_ms']:.1f} ms, shadow 100 % {s['shadow']['p99_ms']:.1f}"
        f" ms; p99 ratio per round {s['p99_ratios']}, median "
        f"{'-' if ratio is None else f'{ratio:.2f}'} (issue: <= 1.1: "
        f"{'met' if ratio is not None and ratio <= 1.1 else 'MISSED'})",
        f"CPU per request (median): none {fmt_ms(s['cpu_ms_per_request']['none'])}, shadow "
        f"{fmt_ms(s['cpu_ms_per_request']['shadow'])} ms",
        f"noise floor: the no-rollout windows' p99 ranged {fmt_range(s['none_p99_range'])} ms "
        f"({s['none_p99_spread']}x between the lowest and the highest, no shadow in either)",
        f"shadow copies: {s['shadow_answered']:.0f} answered ({share:.0%} of the requests), "
        f"{s['shadow_dropped']:.0f} dropped because served work waited or the candidate could "
        f"not take them, {s['shadow_failed']:.0f} failed",
        f"dropped by reason: {reasons or 'none'} (served_queue: served records queued or in a "
        "model call; loop_lag: the event loop late while served requests were out; "
        "log_backlog: the log's writer behind)",
        "",
    ]
    if "rollback" not in info:
        return "\n".join(lines)
    r = info["rollback"]
    lines += [
        f"(c) rollback under load: canary 50 %, wrk {r['connections']} connections "
        f"{r['seconds']:.1f} s (until 3 s after the switch), `liveops rollback wines` after 2 s",
        f"wrk: {r['wrk_requests']} requests, {r['wrk_answered']} 2xx, {r['wrk_errors']} errors "
        f"({r['requests_per_s']:.0f} req/s, p99 {r['p99_ms']:.1f} ms)",
        f"log: {r['log_rows']} rows = {r['wrk_answered']} answered + {r['probes']} probe + "
        f"{r['in_flight']} in flight at wrk's end; missing {r['missing']}; by arm {r['arms']}",
        f"rollback command {r['rollback_s']:.1f} s; gateway on v1 {r['restore_s']} s after it "
        f"returned; {r['after_rows']} rows after, {r['after_not_baseline']} not v1/production",
    ]
    lines += [f"  [{'ok' if v else 'FAILED'}] {k}" for k, v in r["checks"].items()]
    return "\n".join(lines)


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def fmt_range(values: list[float] | None) -> str:
    return "-" if not values else f"{values[0]:.1f} to {values[1]:.1f}"


def fmt_load(values: Any) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="bench/run.py rollout-load", description=__doc__)
    p.add_argument("--seconds", type=float, default=25, help="each open-loop window (20-30)")
    p.add_argument("--capacity-seconds", type=float, default=10)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument(
        "--no-rollback", action="store_true", help="skip (c), the rollback under load (iterating)"
    )
    args = p.parse_args(argv)
    info: dict[str, Any] = {"machine": machine(), "seconds": args.seconds}
    with tempfile.TemporaryDirectory(prefix="rollout-load-") as tmp:
        folder = make_project(Path(tmp) / "shadow", SHADOW_PLAN)
        bodies = write_bodies(folder)
        server = start_gateway(folder)
        try:
            say(f"capacity: wrk 32 connections, {args.capacity_seconds:g} s")
            cap = capacity(server, bodies, args.capacity_seconds)
            info["capacity"] = cap.to_dict()
            info["rate"] = round(cap.requests_per_s / 2)
            info["windows"] = shadow_cost(
                folder, server, bodies, info["rate"], args.seconds, args.rounds
            )
            info["summary"] = summarise(info["windows"])
        finally:
            stop(server)
        run = None
        if not args.no_rollback:
            folder = make_project(Path(tmp) / "canary", CANARY_PLAN)
            bodies = write_bodies(folder)
            server = start_gateway(folder)
            try:
                say("rollback under load: wrk 32 connections")
                run = rollback_under_load(folder, server, bodies)
            finally:
                stop(server)
            info["rollback"] = {**asdict(run), "ok": run.ok}
    info["machine"]["load_avg_end"] = os.getloadavg()
    print(table(info))
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = results / f"rollout-load-{stamp}.json"
    path.write_text(json.dumps(info, indent=2, default=str))
    print(f"\nwritten: {path.relative_to(ROOT)}")
    return 0 if run is None or run.ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
