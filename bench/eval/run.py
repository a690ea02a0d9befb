"""Benchmark: the cold ``liveops eval`` CLI on the demo suite, model loading included.

In a folder made by ``liveops demo`` (created under bench/results/ if missing) it runs
``liveops eval support-router@2 --baseline 1 --html r.html`` three times as a new process
(2,400 cases, all nine perturbation families on every case, consistency on 100 cases, 1,000
bootstrap resamples, the HTML report) and prints each wall time, the median, and the machine
(cores and load average). Target: under 10 s.

    python bench/eval/run.py [--runs 3] [--dir bench/results/eval-demo]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET_S = 10.0


def _liveops() -> str:
    exe = Path(sys.executable).with_name("liveops")
    return str(exe) if exe.exists() else (shutil.which("liveops") or "liveops")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=ROOT / "bench" / "results" / "eval-demo")
    args = parser.parse_args()
    folder: Path = args.dir.resolve()
    liveops = _liveops()
    if not (folder / ".liveops").exists():
        print(f"making the demo in {folder} ...", flush=True)
        subprocess.run(
            [liveops, "demo", "--dir", str(folder)], check=True, stdout=subprocess.DEVNULL
        )
    command = [liveops, "eval", "support-router@2", "--baseline", "1", "--html", "r.html"]
    env = {**os.environ, "COLUMNS": "120"}
    times: list[float] = []
    codes: list[int] = []
    for i in range(args.runs):
        load_before = os.getloadavg()[0]
        t0 = time.perf_counter()
        proc = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - t0
        times.append(elapsed)
        codes.append(proc.returncode)
        print(
            f"run {i + 1}: {elapsed:.2f} s  exit {proc.returncode}  "
            f"(load average before: {load_before:.2f})",
            flush=True,
        )
        if proc.returncode not in (0, 1, 3):
            print(proc.stderr)
            return 1
    median = statistics.median(times)
    result = {
        "command": " ".join(command[1:]),
        "folder": str(folder),
        "runs_s": [round(t, 2) for t in times],
        "median_s": round(median, 2),
        "target_s": TARGET_S,
        "exit_codes": codes,
        "nproc": os.cpu_count(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "report_bytes": (folder / "r.html").stat().st_size,
    }
    print(json.dumps(result, indent=2))
    verdict = "under" if median < TARGET_S else "OVER"
    print(f"median {median:.2f} s ({verdict} the {TARGET_S:g} s target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
