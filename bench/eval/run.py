"""Benchmark: the cold ``liveops eval`` CLI on the demo suite, model loading included.

In a folder made by ``liveops demo`` (created under bench/results/ if missing) it runs, each
``--runs`` times as a new process (2,400 cases, all nine perturbation families on every case,
consistency on 100 cases, 1,000 bootstrap resamples, the HTML report):

- ``eval support-router@1 --html r1.html``: the issue's case (one version; v1 is production,
  so its baseline gates are skipped). Target: under 10 s.
- ``eval support-router@2 --baseline 1 --html r2.html``: the heavier model against a baseline.

It prints each wall time, the medians, and the machine (cores and load average), and writes
them to ``bench/results/eval-<UTC time>.json``.

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
    cases: list[tuple[str, list[str], dict[str, str]]] = [
        ("v1 alone", ["eval", "support-router@1", "--html", "r1.html"], {}),
        ("v2 vs v1", ["eval", "support-router@2", "--baseline", "1", "--html", "r2.html"], {}),
    ]
    results: list[dict[str, object]] = []
    first_times: list[float] = []
    for name, command, extra in cases:
        env = {**os.environ, "COLUMNS": "120", **extra}
        times: list[float] = []
        codes: list[int] = []
        for i in range(args.runs):
            load_before = os.getloadavg()[0]
            t0 = time.perf_counter()
            proc = subprocess.run(
                [liveops, *command], cwd=folder, env=env, capture_output=True, text=True
            )
            elapsed = time.perf_counter() - t0
            times.append(elapsed)
            codes.append(proc.returncode)
            print(
                f"{name}, run {i + 1}: {elapsed:.2f} s  exit {proc.returncode}  "
                f"(load average before: {load_before:.2f})",
                flush=True,
            )
            if proc.returncode not in (0, 1, 3):
                print(proc.stderr)
                return 1
        if not first_times:
            first_times = list(times)
        results.append(
            {
                "case": name,
                "command": " ".join(command) + "".join(f" ({k}={v})" for k, v in extra.items()),
                "runs_s": [round(t, 2) for t in times],
                "median_s": round(statistics.median(times), 2),
                "exit_codes": codes,
            }
        )
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "folder": str(folder),
        "target_s": TARGET_S,
        "nproc": os.cpu_count(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "cases": results,
    }
    out = ROOT / "bench" / "results" / f"eval-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    for r in results:
        print(f"{r['case']:22s} median {r['median_s']:6.2f} s")
    first = statistics.median(first_times)
    verdict = "under" if first < TARGET_S else "OVER"
    print(f"{results[0]['case']}: median {first:.2f} s ({verdict} the {TARGET_S:g} s target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
