"""The run's report: the machine, the table, the ratios against the issue's targets, JSON."""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.serving.load import LoadResult
from bench.serving.logcheck import LogCheck

# (peer, connections, minimum requests/s ratio liveops/peer): issue 4, "Done means".
RPS_TARGETS: tuple[tuple[str, float], ...] = (
    ("microbatch", 0.8),
    ("mlflow", 5.0),
    ("bentoml", 2.5),
)
RPS_LEVELS = (8, 32)
P99_TARGET = ("microbatch", 32, 1.5)  # liveops p99 at 32 connections <= 1.5x microbatch's


@dataclass
class Verdict:
    name: str
    value: float | None
    target: str
    met: bool | None  # None: not measured in this run

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "target": self.target, "met": self.met}


def machine_info() -> dict[str, Any]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def project_versions(repo: Path) -> dict[str, str]:
    names = ("liveops", "starlette", "uvicorn", "uvloop", "httptools", "scikit-learn", "numpy")
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    commit = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
    )
    versions["liveops_commit"] = commit.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    return versions


def find(results: Sequence[LoadResult], target: str, connections: int) -> LoadResult | None:
    for r in results:
        if r.target == target and r.connections == connections:
            return r
    return None


def verdicts(
    results: Sequence[LoadResult], subject: str, log: LogCheck | None
) -> tuple[dict[str, float], list[Verdict]]:
    """Ratios of ``subject`` (liveops) against each peer, and the issue's targets."""
    ratios: dict[str, float] = {}
    out: list[Verdict] = []
    for peer, minimum in RPS_TARGETS:
        for c in RPS_LEVELS:
            mine, theirs = find(results, subject, c), find(results, peer, c)
            name = f"req/s {subject}/{peer} at {c}"
            if mine is None or theirs is None or theirs.requests_per_s == 0:
                out.append(Verdict(name, None, f">= {minimum}", None))
                continue
            ratio = round(mine.requests_per_s / theirs.requests_per_s, 2)
            ratios[f"rps_{peer}_{c}"] = ratio
            out.append(Verdict(name, ratio, f">= {minimum}", ratio >= minimum))
    peer, c, maximum = P99_TARGET
    mine, theirs = find(results, subject, c), find(results, peer, c)
    name = f"p99 {subject}/{peer} at {c}"
    if mine is None or theirs is None or theirs.p99_ms == 0:
        out.append(Verdict(name, None, f"<= {maximum}", None))
    else:
        ratio = round(mine.p99_ms / theirs.p99_ms, 2)
        ratios[f"p99_{peer}_{c}"] = ratio
        out.append(Verdict(name, ratio, f"<= {maximum}", ratio <= maximum))
    own = [r for r in results if r.target == subject]
    errors = sum(r.errors for r in own) if own else None
    out.append(
        Verdict(f"errors ({subject}, all levels)", errors, "== 0", errors == 0 if own else None)
    )
    if log is None:
        out.append(Verdict("log rows == answered", None, "every answered id logged", None))
    else:
        out.append(
            Verdict(
                "log rows == answered",
                log.missing,
                "0 answered ids missing from the log",
                log.ok,
            )
        )
    return ratios, out


def table(results: Sequence[LoadResult]) -> str:
    head = f"{'server':<16}{'conns':>6}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
    head += f"{'wrk CPU':>9}{'srv CPU':>9}"
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{r.target:<16}{r.connections:>6}{r.requests_per_s:>10.0f}{r.p50_ms:>9.2f}"
            f"{r.p99_ms:>9.2f}{r.errors:>8}{r.wrk_cpu_cores:>9.2f}{r.server_cpu_cores:>9.2f}"
        )
    return "\n".join(lines)


def verdict_lines(items: Sequence[Verdict]) -> str:
    lines = []
    for v in items:
        mark = {True: "met", False: "MISSED", None: "not measured"}[v.met]
        value = "-" if v.value is None else f"{v.value:g}"
        lines.append(f"  {v.name:<42}{value:>8}   target {v.target:<38}{mark}")
    return "\n".join(lines)


def log_line(log: LogCheck) -> str:
    return (
        f"log: {log.answered} answered ({log.answered_ids} distinct ids), {log.log_rows} rows "
        f"added, {log.missing} answered ids missing, {log.extra_rows} extra rows (in flight "
        f"when a window ended; bound {log.in_flight_bound}), drained in {log.drain_seconds} s"
    )


def markdown(run: dict[str, Any]) -> str:
    """The run as a markdown section for docs/benchmarks.md: settings, table, targets."""
    m, s, v = run["machine"], run["settings"], run["versions"]
    wrk = " ".join(str(v.get("wrk", "wrk ?")).split()[:2])  # "wrk debian/4.1.0-3+b2"
    lines = [
        f"Run {run['date']} with `{run['command']}` (liveops {v.get('liveops_commit', '?')}); "
        f"{m['nproc']} cores ({m['cpu_model']}), load average {m['load_before']} before and "
        f"{m['load_after']} after; {s['warmup_s']} s warm-up and {s['duration_s']} s measured "
        f"per level; {wrk}, "
        f"mlflow {v.get('mlflow', '-')}, bentoml {v.get('bentoml', '-')}.",
        "",
        "| server | connections | req/s | p50 ms | p99 ms | errors | wrk CPU | server CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in run["results"]:
        lines.append(
            f"| {r['target']} | {r['connections']} | {r['requests_per_s']:.0f} | "
            f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} | "
            f"{r['wrk_cpu_cores']:.2f} | {r['server_cpu_cores']:.2f} |"
        )
    log = next((srv["log"] for srv in run["servers"] if "log" in srv), None)
    if log is not None:
        lines += [
            "",
            f"Log: {log['answered']} answers read by wrk, {log['log_rows']} rows added to the "
            f"log, {log['missing']} answered ids missing from it, {log['extra_rows']} rows for "
            f"requests in flight when a window closed (bound {log['in_flight_bound']}); the log "
            f"held every answered id {log['drain_seconds']} s after the load stopped.",
        ]
    lines += ["", "| target | value | wanted | verdict |", "|---|---:|---|---|"]
    for t in run["targets"]:
        verdict = {True: "met", False: "**missed**", None: "not measured"}[t["met"]]
        value = "-" if t["value"] is None else f"{t['value']:g}"
        lines.append(f"| {t['name']} | {value} | {t['target']} | {verdict} |")
    return "\n".join(lines) + "\n"
