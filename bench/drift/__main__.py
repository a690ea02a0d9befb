"""Drift benchmark: liveops against Evidently and NannyML on the same Parquet files.

``python bench/run.py drift [--rows N] [--tools liveops,evidently,nannyml] [--trials N]``

1. Writes a reference and a current Parquet file (``bench/drift/data.py``, seeded; reused when
   present) under ``bench/results/drift-data/``.
2. Runs each tool in a fresh process on them (the peers in their own venv, created on first
   use with the pinned versions): end to end is the process's wall time (imports, reading the
   files, the report), compute only is the tool's own timing with the data in memory, peak
   memory the process's maximum resident set. Counts shifted columns found and unchanged
   columns flagged per tool.
3. ``--trials N``: liveops alone, N comparisons at 10,000 rows with no drift and N/5 with the
   shifts: how often each p-value test and the defaults flag an unchanged column, and how often
   the defaults find each shifted one.

Prints tables and writes everything, with the machine, to ``bench/results/drift-<time>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.drift import data

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent / "results"
PEERS = {"evidently": "evidently==0.7.23", "nannyml": "nannyml==0.13.1"}
PEER_EXTRAS = ["pandas<3", "statsmodels", "pyarrow"]


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "load_avg_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }


def peers_python(venv: Path) -> Path:
    """The peers' interpreter; the venv is created with the pinned versions on first use."""
    py = venv / "bin" / "python"
    if not py.exists():
        print(f"creating {venv} (evidently, nannyml: a few minutes, once)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(py), "-m", "pip", "install", "--quiet", *PEERS.values(), *PEER_EXTRAS],
            check=True,
        )
    return py


def run_tool(tool: str, ref: Path, cur: Path, peers_venv: Path) -> dict[str, Any]:
    py = Path(sys.executable) if tool == "liveops" else peers_python(peers_venv)
    env = {**os.environ, "NML_DISABLE_USAGE_LOGGING": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(py), str(HERE / f"tool_{tool}.py"), str(ref), str(cur)],
        capture_output=True,
        text=True,
        env=env,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"{tool} failed (exit {proc.returncode})")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    out["end_to_end_s"] = wall
    out["cpu_s"] = cpu  # user + system of the tool's process, imports and reading included
    return out


def verdicts(result: dict[str, Any], key: str = "drifted") -> dict[str, Any]:
    cols = result["columns"]
    flagged = {c for c, v in cols.items() if v[key]}
    shifted = set(data.SHIFTED_BY_DRIFT)
    unchanged = set(cols) - shifted - set(data.SHIFTED_MISSING)
    return {
        "shifted_found": sorted(flagged & shifted),
        "shifted_missed": sorted(shifted - flagged),
        "unchanged_flagged": sorted(flagged & unchanged),
        "missing_column_flagged_as_drift": sorted(flagged & set(data.SHIFTED_MISSING)),
        "unchanged_total": len(unchanged),
    }


def in_memory_mb(paths: list[Path]) -> float:
    import pyarrow.parquet as pq

    return float(sum(pq.read_table(p).nbytes for p in paths)) / 2**20


def compare(args: argparse.Namespace) -> dict[str, Any]:
    folder = RESULTS / "drift-data"
    folder.mkdir(parents=True, exist_ok=True)
    ref = folder / f"reference-{args.rows}.parquet"
    cur = folder / f"current-{args.rows}.parquet"
    if not ref.exists() or not cur.exists():
        print(f"writing {ref.name} and {cur.name}", file=sys.stderr)
        data.write(str(ref), args.rows, 1, shifted=False)
        data.write(str(cur), args.rows, 2, shifted=True)
    results: dict[str, Any] = {}
    for tool in args.tools.split(","):
        print(f"running {tool} ...", file=sys.stderr, flush=True)
        res = run_tool(tool, ref, cur, Path(args.peers_venv))
        res.update(verdicts(res))
        results[tool] = res
        if tool == "nannyml":
            # The same run judged at JS >= 0.1 (its own thresholds need several reference chunks).
            results["nannyml@0.1"] = {**res, **verdicts(res, "drifted_at_0.1")}
    memory = in_memory_mb([ref, cur])
    print(f"\n1 reference + 1 current file, {args.rows:,} rows x 20 columns each; "
          f"columns in memory (Arrow): {memory:,.0f} MB")  # fmt: skip
    head = (
        f"{'tool':<12}{'version':>9}{'end to end s':>14}{'compute s':>11}{'CPU s':>8}{'peak MB':>9}"
        f"{'e2e ratio':>11}{'CPU ratio':>11}{'found':>7}{'false flags':>13}"
    )
    print(head)
    base = results.get("liveops")
    for tool, r in results.items():
        ratio = r["end_to_end_s"] / base["end_to_end_s"] if base else float("nan")
        cpu_ratio = r["cpu_s"] / base["cpu_s"] if base else float("nan")
        print(
            f"{tool:<12}{r['version']:>9}{r['end_to_end_s']:>14.2f}{r['compute_s']:>11.2f}"
            f"{r['cpu_s']:>8.1f}{r['peak_rss_mb']:>9.0f}{ratio:>10.1f}x{cpu_ratio:>10.1f}x"
            f"{len(r['shifted_found']):>4}/{len(data.SHIFTED_BY_DRIFT)}"
            f"{len(r['unchanged_flagged']):>9}/{r['unchanged_total']}"
        )
    for tool, r in results.items():
        if r["shifted_missed"] or r["unchanged_flagged"]:
            print(f"  {tool}: missed {r['shifted_missed']}, flagged {r['unchanged_flagged']}")
    if base:
        miss = base["columns"]["num_missing"]["missing"]
        print(f"  num_missing: missing share {miss[0]:.1%} -> {miss[1]:.1%} (values not drifted:"
              f" {not base['columns']['num_missing']['drifted']})")  # fmt: skip
    return {"rows": args.rows, "in_memory_mb": memory, "tools": results}


def trials(n_trials: int, rows: int) -> dict[str, Any]:
    """False-flag rates under no drift and detection rates under the shifts (liveops only)."""
    import numpy as np
    from scipy import stats

    from liveops.core.drift.report import drift_report

    def tables(seed: int, shifted: bool) -> tuple[dict[str, Any], dict[str, Any]]:
        return data.table(rows, 2 * seed, shifted=False), data.table(
            rows, 2 * seed + 1, shifted=shifted
        )

    numeric = [c for c in data.table(10, 0, shifted=False) if not c.startswith("cat_")]
    flags: dict[str, list[int]] = {"default": [0, 0], "ks": [0, 0], "chi2": [0, 0]}
    flags_bh = {"ks": [0, 0], "chi2": [0, 0]}
    gof = [0, 0]  # the goodness-of-fit chi-square other tools use, for comparison
    per_col: dict[str, int] = {}
    for t in range(n_trials):
        ref, cur = tables(10_000 + t, False)
        d = drift_report(ref, cur)
        p = drift_report(ref, cur, tests=True)
        for c in d.columns:
            flags["default"][0] += bool(c.drifted)
            flags["default"][1] += 1
            per_col[c.column] = per_col.get(c.column, 0) + bool(c.drifted)
        for c in p.columns:
            key = "ks" if c.method == "ks" else "chi2"
            flags[key][0] += bool(c.p_value is not None and c.p_value < 0.05)
            flags[key][1] += 1
            flags_bh[key][0] += bool(c.drifted)
            flags_bh[key][1] += 1
            if c.kind == "category" and c.histogram is not None:
                r = np.asarray(c.histogram.reference, dtype=float)
                k = np.asarray(c.histogram.current, dtype=float)
                expected = r / r.sum() * k.sum()
                keep = expected > 0
                k = k[keep] * expected.sum() / k[keep].sum()
                gof[0] += bool(stats.chisquare(k, expected[keep]).pvalue < 0.05)
                gof[1] += 1
    found = dict.fromkeys(data.SHIFTED_BY_DRIFT, 0)
    n_shift = max(n_trials // 5, 1)
    for t in range(n_shift):
        ref, cur = tables(50_000 + t, True)
        d = drift_report(ref, cur)
        for name in found:
            found[name] += bool(d.column(name).drifted)
    rate = {k: v[0] / v[1] for k, v in flags.items()}
    rate_bh = {k: v[0] / v[1] for k, v in flags_bh.items()}
    detect = {k: v / n_shift for k, v in found.items()}
    print(f"\n{n_trials} trials at {rows:,} rows with no drift ({len(numeric)} numeric, "
          f"{20 - len(numeric)} categorical columns each):")  # fmt: skip
    worst = max(per_col, key=per_col.__getitem__)
    print(f"  defaults flag {rate['default']:.2%} of columns (worst column: "
          f"{worst} {per_col[worst] / n_trials:.2%})")  # fmt: skip
    print(f"  KS p < 0.05: {rate['ks']:.2%} of numeric columns ({rate_bh['ks']:.2%} after BH)")
    print(f"  chi-square p < 0.05: {rate['chi2']:.2%} of categorical columns "
          f"({rate_bh['chi2']:.2%} after BH); goodness-of-fit chi-square against the "
          f"reference's shares: {gof[0] / max(gof[1], 1):.2%}")  # fmt: skip
    print(f"{n_shift} trials with the shifts: defaults find "
          + ", ".join(f"{k} {v:.0%}" for k, v in detect.items()))  # fmt: skip
    return {
        "trials": n_trials,
        "rows": rows,
        "false_flag_rate": rate,
        "false_flag_rate_bh": rate_bh,
        "goodness_of_fit_false_flag_rate": gof[0] / max(gof[1], 1),
        "per_column_false_flags": per_col,
        "detection_rate": detect,
    }


def main() -> int:
    ap = argparse.ArgumentParser(prog="bench/run.py drift", description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--tools", default="liveops,nannyml,evidently")
    ap.add_argument("--peers-venv", default="/tmp/peers-venv")
    ap.add_argument("--trials", type=int, default=0, help="10k-row trials (0: none)")
    ap.add_argument("--trial-rows", type=int, default=10_000)
    args = ap.parse_args()
    out: dict[str, Any] = {"machine": machine(), "time": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                           time.gmtime())}  # fmt: skip
    m = out["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}")
    if args.tools:
        out["compare"] = compare(args)
    if args.trials:
        out["trials"] = trials(args.trials, args.trial_rows)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"drift-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps(out, indent=2))
    print(f"\nwritten: {path.relative_to(HERE.parent.parent)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
