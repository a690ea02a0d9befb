"""Benchmark: ``liveops batch`` on the demo's messages against a plain scikit-learn script.

In a work folder (``--dir``, default bench/results/batch-work) it generates ``--rows`` demo
messages (default 1,000,000) into Parquet, trains and registers the demo's v1 pipeline, then
runs, once each, as new processes:

- ``plain``: bench/batch/plain.py (read, ``predict_proba`` on the whole column, write);
- ``liveops batch`` with the local engine (2 workers, and 1) and with Ray, logging off and on.

For each: wall time, rows/s, CPU seconds of every process of the run (the command, its
workers, the log's inserts, Ray's raylet, GCS and workers: every descendant, sampled from /proc
every 0.2 s and, for those the command waited for, from getrusage), rows per CPU-second, the
ratio to the plain script's, and the peak of the summed resident memory of those processes. It
prints a table and writes ``bench/results/batch-<UTC time>.json``.

    python bench/run.py batch [--rows 1000000] [--chunk-rows 50000] [--skip-ray]
        [--variants local-1-off,local-1-on] [--store-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")


def _liveops() -> str:
    exe = Path(sys.executable).with_name("liveops")
    return str(exe) if exe.exists() else (shutil.which("liveops") or "liveops")


def _proc_table() -> dict[int, tuple[int, float, int]]:
    """pid -> (parent pid, CPU seconds so far, resident bytes), for every process."""
    out: dict[int, tuple[int, float, int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        ppid, utime, stime, rss = int(fields[1]), int(fields[11]), int(fields[12]), int(fields[21])
        out[int(entry)] = (ppid, (utime + stime) / TICK, rss * PAGE)
    return out


class Sampler:
    """CPU and memory of a process and all its descendants, sampled while it runs."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.cpu: dict[int, float] = {}
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            table = _proc_table()
            tree = {self.root}
            changed = True
            while changed:
                changed = False
                for pid, (ppid, _, _) in table.items():
                    if ppid in tree and pid not in tree:
                        tree.add(pid)
                        changed = True
            rss = 0
            for pid in tree:
                if pid in table:
                    _, cpu, r = table[pid]
                    self.cpu[pid] = max(self.cpu.get(pid, 0.0), cpu)
                    rss += r
            self.peak_rss = max(self.peak_rss, rss)
            self._stop.wait(0.2)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def measure(name: str, cmd: list[str], cwd: Path, rows: int) -> dict[str, Any]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sampler = Sampler(proc.pid)
    out, err = proc.communicate()
    wall = time.monotonic() - t0
    sampler.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed ({proc.returncode}): {err.decode()[-2000:]}")
    waited = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # getrusage counts the command and what it waited for exactly; the sampler also sees
    # processes it never waits for (Ray's), to within one sample of their last CPU time.
    cpu = max(waited, sum(sampler.cpu.values()))
    result = {
        "name": name,
        "wall_s": round(wall, 2),
        "rows_per_s": round(rows / wall, 1),
        "cpu_s": round(cpu, 2),
        "rows_per_cpu_s": round(rows / cpu, 1),
        "peak_rss_mb": round(sampler.peak_rss / 2**20, 1),
        "processes": len(sampler.cpu),
    }
    if out.strip().startswith(b"{"):
        result["summary"] = json.loads(out)
    print(json.dumps({k: v for k, v in result.items() if k != "summary"}), flush=True)
    return result


def prepare(folder: Path, rows: int, seed: int, url: str | None = None) -> tuple[Path, Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from liveops.core.project import parse_project
    from liveops.demo import training
    from liveops.demo.data import generate_records
    from liveops.services.registry import apply_project, register_version, set_alias
    from liveops.store import open_store

    folder.mkdir(parents=True, exist_ok=True)
    data = folder / f"messages-{rows}.parquet"
    model = folder / "support-router-v1.skops"
    spec = yaml.safe_load((ROOT / "src/liveops/demo/liveops.yaml").read_text())
    for svc in spec["services"]:
        for key in ("suite", "reference", "calibration"):
            svc.pop(key, None)
    spec.pop("approvals", None)
    text = yaml.safe_dump(spec)
    (folder / "liveops.yaml").write_text(text)
    if not model.exists():
        train = generate_records(20_000, seed=seed + 1)
        training.save_skops(training.train_v1(train, seed), model)
    if not data.exists():
        records = generate_records(rows, seed=seed)
        fields = ("text", "channel", "plan", "language")
        columns: dict[str, Any] = {"id": pa.array([f"m{i}" for i in range(rows)])}
        for f in fields:
            columns[f] = pa.array([r.get(f) for r in records], pa.string())
        pq.write_table(pa.table(columns), data, row_group_size=100_000)
    store = open_store(url, project_dir=folder)
    try:
        if not store.registry.list_versions("support-router"):  # a new database
            apply_project(store, parse_project(text, "liveops.yaml"), actor="bench")
            register_version(store, "support-router", actor="bench", artifact=model)
            set_alias(store, "support-router", "production", "1", actor="bench")
    finally:
        store.close()
    return data, model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk-rows", type=int, default=50_000)
    parser.add_argument("--dir", type=Path, default=ROOT / "bench/results/batch-work")
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--store-url",
        help="the database of the liveops runs (default: SQLite in --dir); a PostgreSQL "
        "server's own CPU is not counted in the CPU seconds",
    )
    parser.add_argument(
        "--variants",
        help="only these liveops runs, comma-separated, e.g. local-1-off,local-1-on "
        "(ENGINE-WORKERS-LOG)",
    )
    args = parser.parse_args()
    folder = args.dir.resolve()
    if args.store_url:
        os.environ["LIVEOPS_DATABASE_URL"] = args.store_url  # the liveops runs inherit it
    data, model = prepare(folder, args.rows, args.seed, args.store_url)
    rows = args.rows
    plain_cmd = [sys.executable, str(ROOT / "bench/batch/plain.py"), str(data), str(model)]
    runs = [measure("plain", [*plain_cmd, str(folder / "plain.parquet")], folder, rows)]
    variants = [("local", "2", False), ("local", "2", True), ("local", "1", False)]
    variants += [("local", "1", True)]
    if not args.skip_ray:
        variants += [("ray", "2", False), ("ray", "2", True)]
    if args.variants:
        wanted = set(args.variants.split(","))
        variants = [v for v in variants if f"{v[0]}-{v[1]}-{'on' if v[2] else 'off'}" in wanted]
    for engine, workers, log in variants:
        name = f"liveops {engine} x{workers} log {'on' if log else 'off'}"
        out = folder / f"out-{engine}-{workers}-{int(log)}.parquet"
        cmd = [_liveops(), "batch", "support-router", "-i", str(data), "-o", str(out),
               "--engine", engine, "--workers", workers, "--chunk-rows", str(args.chunk_rows),
               "--overwrite", "--json"]  # fmt: skip
        if not log:
            cmd.append("--no-log")
        runs.append(measure(name, cmd, folder, rows))
    plain = runs[0]["rows_per_cpu_s"]
    for r in runs:
        r["vs_plain_per_cpu_s"] = round(r["rows_per_cpu_s"] / plain, 3)
    print(f"\n{'run':32} {'wall s':>8} {'rows/s':>9} {'CPU s':>8} {'rows/CPU-s':>11} "
          f"{'x plain':>8} {'peak MB':>8}")  # fmt: skip
    for r in runs:
        print(f"{r['name']:32} {r['wall_s']:8.1f} {r['rows_per_s']:9.0f} {r['cpu_s']:8.1f} "
              f"{r['rows_per_cpu_s']:11.0f} {r['vs_plain_per_cpu_s']:8.2f} "
              f"{r['peak_rss_mb']:8.0f}")  # fmt: skip
    machine = {"cores": os.cpu_count(), "load_avg": os.getloadavg(), "rows": rows}
    machine["store"] = "postgresql" if (args.store_url or "").startswith("postgres") else "sqlite"
    machine["chunk_rows"] = args.chunk_rows
    results = ROOT / "bench/results"
    results.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    (results / f"batch-{stamp}.json").write_text(
        json.dumps({"machine": machine, "runs": runs}, indent=2)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
