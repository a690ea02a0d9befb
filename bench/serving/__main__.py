"""Serving benchmark: liveops against its peers, one script, one run.

    python bench/run.py serving [--quick] [--targets liveops,microbatch,...]

Starts every server (one worker each, 127.0.0.1) and checks each answers v1's scores; then,
level by level (1, 8 and 32 connections), drives each server in turn with wrk (a warm-up, then
a measured window); for liveops matches the answered prediction ids against the log; stops
them. Prints a table and the targets of issue 4; writes everything to
bench/results/serving-<UTC time>.json (and .md). See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.serving import load, prepare, report, runner
from bench.serving.servers import STANDIN, TARGETS, Target, Workspace

REPO = Path(__file__).resolve().parents[2]
DEFAULT_ORDER = ("liveops", "microbatch", "bare", "noop", "bentoml", "mlflow")


def say(message: str) -> None:
    print(f"[serving] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/run.py serving", description=__doc__)
    p.add_argument("--quick", action="store_true", help="2 s warm-up, 5 s windows")
    p.add_argument("--warmup", type=int, default=None, help="warm-up seconds (default 5)")
    p.add_argument("--duration", type=int, default=None, help="measured seconds (default 15)")
    p.add_argument("--connections", default="1,8,32", help="comma-separated levels")
    p.add_argument(
        "--rounds", type=int, default=1, help="measure each level N times in turns; report medians"
    )
    p.add_argument("--targets", default=",".join(DEFAULT_ORDER), help="comma-separated servers")
    p.add_argument(
        "--standin",
        action="store_true",
        help="drive the stand-in instead of `liveops serve` (automatic when serve is missing)",
    )
    p.add_argument(
        "--liveops-sink",
        choices=("log", "file"),
        default="log",
        help="log: the prediction log (default); file: the gateway tests' file sink, to "
        "measure the gateway without the database log",
    )
    p.add_argument(
        "--liveops-auth",
        choices=("on", "off"),
        default="on",
        help="on: `liveops serve` requires keys and wrk sends one (the default, as served); "
        "off: --no-auth, to measure what checking keys costs",
    )
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = p.parse_args(argv)
    args.warmup = args.warmup if args.warmup is not None else (2 if args.quick else 5)
    args.duration = args.duration if args.duration is not None else (5 if args.quick else 15)
    return args


def serve_exists(ws: Workspace) -> bool:
    liveops = ws.python.parent / "liveops"
    out = subprocess.run([str(liveops), "serve", "--help"], capture_output=True, cwd=ws.work)
    return out.returncode == 0


def choose_targets(names: list[str], ws: Workspace, standin: bool) -> list[Target]:
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        raise SystemExit(f"unknown target(s) {', '.join(unknown)}; known: {', '.join(TARGETS)}")
    chosen = []
    for name in names:
        if name == "liveops" and (standin or not serve_exists(ws)):
            if not standin:
                say("`liveops serve` is not available here: driving the stand-in instead")
            chosen.append(STANDIN)
        else:
            chosen.append(TARGETS[name])
    return chosen


def _server_json(run: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in run.items() if k not in ("results", "rounds", "log")}
    out["results"] = [r.to_dict() for r in run["results"]]
    out["rounds"] = {str(c): [w.to_dict() for w in ws] for c, ws in run["rounds"].items()}
    if "log" in run:
        out["log"] = run["log"].to_dict()
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    load.wrk_path()
    work = REPO / "bench" / "results" / "work"
    work.mkdir(parents=True, exist_ok=True)
    ws = Workspace(
        work=work,
        demo=work / "demo",
        venvs=REPO / "bench" / ".venvs",
        python=Path(sys.executable),
        liveops_sink=args.liveops_sink,
    )
    names = [n for n in args.targets.split(",") if n]
    prepare.ensure_demo(ws, say)
    if args.liveops_auth == "on" and "liveops" in names and not args.standin:
        ws.liveops_key = prepare.liveops_key(ws, say)
    targets = choose_targets(names, ws, args.standin)
    if "mlflow" in names:
        prepare.ensure_venv(ws, "mlflow", say)
        prepare.ensure_mlflow_model(ws, say)
    if "bentoml" in names:
        prepare.ensure_venv(ws, "bentoml", say)

    v1 = prepare.load_v1(ws)
    records = prepare.request_records()
    classes = [str(c) for c in v1.classes_]
    ctx = runner.Context(
        records=records,
        classes=classes,
        reference=[float(x) for x in v1.predict_proba([records[0]["text"]])[0]],
        bodies={f: prepare.write_bodies(ws, f, records) for f in ("liveops", "bentoml", "mlflow")},
    )
    levels = [int(c) for c in args.connections.split(",") if c]
    started = datetime.now(UTC)
    load_before = report.load_average()
    runs = runner.session(targets, ws, ctx, levels, args.rounds, args.warmup, args.duration, say)
    load_after = report.load_average()

    results = [r for run in runs for r in run.get("results", [])]
    subject = next((t.name for t in targets if t.logged), "liveops")
    log = next((run["log"] for run in runs if "log" in run), None)
    ratios, verdicts = report.verdicts(results, subject, log)
    versions = report.project_versions(REPO)
    versions["wrk"] = load.wrk_version()
    if "mlflow" in names:
        versions.update(prepare.venv_versions(ws, "mlflow", ["mlflow"]))
    if "bentoml" in names:
        versions.update(prepare.venv_versions(ws, "bentoml", ["bentoml"]))

    print()
    print(report.table(results))
    if log is not None:
        print(report.log_line(log))
    sink = "" if subject != "liveops" else f", answers to the {args.liveops_sink}"
    sink = sink.replace("the file", "the gateway tests' file sink, NOT the prediction log")
    print(f"\ntargets (issue 4, {subject}{sink}):")
    print(report.verdict_lines(verdicts))
    machine = {**report.machine_info(), "load_before": load_before, "load_after": load_after}
    out = {
        "benchmark": "serving",
        "date": started.isoformat(timespec="seconds"),
        "command": "python bench/run.py serving "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "liveops_sink": args.liveops_sink if subject == "liveops" else "stand-in",
        "liveops_auth": args.liveops_auth,
        "settings": {
            "warmup_s": args.warmup,
            "duration_s": args.duration,
            "connections": levels,
            "rounds": args.rounds,
            "order": "all servers up; per level and round, each server in turn",
            "wrk_threads": 1,
            "request_bodies": len(records),
        },
        "machine": machine,
        "versions": versions,
        "servers": [_server_json(run) for run in runs],
        "results": [r.to_dict() for r in results],
        "ratios": ratios,
        "targets": [v.to_dict() for v in verdicts],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"serving-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(out, indent=2, default=str) + "\n")
    path.with_suffix(".md").write_text(report.markdown(json.loads(json.dumps(out, default=str))))
    shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
    print(f"\nwrote {shown} and {shown.with_suffix('.md')} (for docs/benchmarks.md)")
    print(f"load average before {load_before}, after {load_after}; nproc {machine['nproc']}")
    return 0


if __name__ == "__main__":
    started_at = time.monotonic()
    code = main()
    say(f"done in {time.monotonic() - started_at:.0f} s")
    raise SystemExit(code)
