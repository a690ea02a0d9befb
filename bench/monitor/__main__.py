"""Monitor benchmark: the monitor's passes over a week of logged predictions, on each backend.

    python bench/run.py monitor [--rows 1000000] [--feedback 300000] [--backends sqlite,postgres]

Generates a seeded week (``bench/monitor/generate.py``: 1M predictions, 300k feedback rows,
3 versions, 12 segment slices), loads it straight into the store's tables in bulk (not through
the gateway), then per backend (a SQLite file under ``--dir``; PostgreSQL at
``--postgres-url`` in a schema of its own, dropped afterwards):

- a full recompute (``run_monitor(full=True)``), target under 30 s;
- an incremental pass after ``--incremental`` new rows (the next hour), target under 1 s;
- each pass runs in a process of its own: its time is the pass's (imports excluded) and its
  peak memory is that process's ``ru_maxrss``;
- the number of window rows (metric points) written, and a random sample of them checked
  against numpy on the generated rows (``bench/monitor/check.py``): pass or fail.

Prints the machine (CPU model, cores, load average before and after) and writes everything to
``bench/results/monitor-<UTC time>.json``. Exit code 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.monitor.check import check_sample, concat
from bench.monitor.generate import SERVICE, apply_service, generate, load, more_rows
from liveops.store import open_store

REPO = Path(__file__).resolve().parents[2]
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
FULL_TARGET_S = 30.0
INCREMENTAL_TARGET_S = 1.0


def say(message: str) -> None:
    print(message, flush=True)


def machine() -> dict[str, Any]:
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version()}


@contextmanager
def backend_url(name: str, folder: Path, pg_url: str) -> Iterator[str]:
    """A fresh database for ``name``; removed afterwards (the SQLite file is kept for a look)."""
    if name == "sqlite":
        path = folder / "monitor-bench.db"
        for p in folder.glob("monitor-bench.db*"):
            p.unlink()
        yield f"sqlite:///{path}"
        return
    import psycopg

    schema = f"bench_monitor_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in pg_url else "?"
    try:
        yield f"{pg_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def one_pass(url: str, *, full: bool) -> dict[str, Any]:
    """Run a monitor pass in its own process; its JSON report."""
    cmd = [sys.executable, "-m", "bench.monitor.one_pass", url, "--service", SERVICE]
    if full:
        cmd.append("--full")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "src")])}
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"the monitor pass failed:\n{proc.stderr}")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def run_backend(
    name: str, url: str, args: argparse.Namespace, data: tuple[Any, Any, Any]
) -> dict[str, Any]:
    log, fb, extra = data
    result: dict[str, Any] = {"backend": name}
    store = open_store(url, project_dir=args.dir)
    try:
        apply_service(store)
        t0 = time.perf_counter()
        load(store, log, fb)
        result["load_s"] = time.perf_counter() - t0
        say(
            f"[{name}] loaded {log.n:,} rows and {fb.n:,} feedback rows in {result['load_s']:.1f} s"
        )
        for label, full in (("full", True), ("full again", True)):
            before = os.getloadavg()[0]
            r = one_pass(url, full=full)
            s = r["services"][0]
            result[label] = {**r, "load_before": before}
            say(
                f"[{name}] {label} recompute: {r['seconds']:.2f} s "
                f"(CPU in the pass's process {r['cpu_seconds']:.2f} s) "
                f"(target < {FULL_TARGET_S:.0f} s), {s['windows_recomputed']:,} windows, "
                f"{s['points_written']:,} points written, peak RSS {r['maxrss_mib']:.0f} MiB "
                f"(after imports {r['baseline_mib']:.0f} MiB), load average before {before:.2f}"
            )
        load(store, extra)
        before = os.getloadavg()[0]
        r = one_pass(url, full=False)
        s = r["services"][0]
        result["incremental"] = {**r, "load_before": before}
        say(
            f"[{name}] incremental pass over {s['rows_read']:,} new rows and "
            f"{s['feedback_read']:,} feedback rows: {r['seconds']:.3f} s "
            f"(CPU {r['cpu_seconds']:.2f} s) "
            f"(target < {INCREMENTAL_TARGET_S:.0f} s), {s['windows_recomputed']} windows, "
            f"{s['points_written']:,} points, peak RSS {r['maxrss_mib']:.0f} MiB, "
            f"load average before {before:.2f}"
        )
        check = check_sample(store, concat(log, extra), fb, sample=args.sample, seed=args.seed)
        result["check"] = {
            "checked": check.checked,
            "windows_stored": check.windows_stored,
            "failures": check.failures[:20],
            "ok": check.ok,
        }
        verdict = "PASS" if check.ok else "FAIL"
        say(
            f"[{name}] check: {verdict}: {check.checked} of {check.windows_stored:,} stored "
            f"windows against numpy ({len(check.failures)} differences)"
        )
        for f in check.failures[:10]:
            say(f"    {f}")
    finally:
        store.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--feedback", type=int, default=300_000)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--incremental", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("LIVEOPS_BENCH_POSTGRES_URL", PG_URL)
    )
    parser.add_argument("--dir", type=Path, default=REPO / "bench" / "results" / "monitor-work")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    info = machine()
    load_before = os.getloadavg()
    say(f"machine: {info['cpu']}, {info['cores']} cores, Python {info['python']}")
    say("load average before: " + " ".join(f"{x:.2f}" for x in load_before))
    t0 = time.perf_counter()
    log, fb = generate(args.rows, args.feedback, days=args.days, seed=args.seed)
    extra = more_rows(log, args.incremental, minutes=60, seed=args.seed + 1)
    say(
        f"generated {log.n:,} rows over {args.days:g} days, {fb.n:,} feedback rows, "
        f"{extra.n:,} more rows for the incremental pass ({time.perf_counter() - t0:.1f} s)"
    )
    results = []
    for name in args.backends.split(","):
        with backend_url(name, args.dir, args.postgres_url) as url:
            results.append(run_backend(name, url, args, (log, fb, extra)))
    load_after = os.getloadavg()
    say("load average after: " + " ".join(f"{x:.2f}" for x in load_after))
    out = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": info,
        "load_before": load_before,
        "load_after": load_after,
        "args": {k: str(v) for k, v in vars(args).items()},
        "results": results,
    }
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = REPO / "bench" / "results" / f"monitor-{stamp}.json"
    path.write_text(json.dumps(out, indent=2, default=str))
    say(f"results: {path}")
    return 0 if all(r["check"]["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
