"""Benchmark: are the rollout gates peek-safe? 1,000 replays of issue 12's canary per scenario.

A 24-hour canary at 10 % of 3 requests/s, labels for 30 % of answers arriving after an
exponential delay (mean 2 hours), the gates on accuracy (from labels, margin 0.01), error rate
(0.005), fallback rate (0.01) and p95 latency (25 ms) plus the split check, judged every minute
by the function the controller calls (``liveops.core.rollout``). It prints two tables:

1. per scenario, how many canaries rolled back, how many the intended gate caught, the sample
   the canary had when it was caught, and when;
2. on the same replays, the sequential gates beside checks that are not peek-safe (a fixed
   95 % interval looked at every minute, the point estimate being worse than the baseline's at
   any look, a chi-square split test at every look).

Results go to ``bench/results/rollout-<UTC time>.json``.

    python bench/rollout/run.py [--replays 1000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from liveops.core.rollout.replay import (
    Arm,
    ReplayPlan,
    Scenario,
    peeking_comparison,
    replay,
)

ROOT = Path(__file__).resolve().parents[2]


def scenarios(plan: ReplayPlan) -> list[tuple[Scenario, str | None, str]]:
    """(scenario, the gate meant to catch it, what its sample counts)."""
    p95 = plan.latency_median_ms * math.exp(1.6448536 * plan.latency_sigma)
    at_margin = Arm(
        accuracy=0.87 - plan.accuracy_margin,
        error_rate=0.01 + plan.error_margin,
        fallback_rate=0.03 + plan.fallback_margin,
        latency_scale=(p95 + plan.latency_margin_ms) / p95,
    )
    return [
        (Scenario("no real difference"), None, ""),
        (Scenario("accuracy 0.87 -> 0.84", Arm(accuracy=0.84)), "accuracy", "labelled answers"),
        (Scenario("p95 latency +30 %", Arm(latency_scale=1.3)), "latency.p95_ms", "answers"),
        (Scenario("error rate 1 % -> 2 %", Arm(error_rate=0.02)), "error_rate", "answers"),
        (Scenario("split 10 % -> 9 %", canary_share=0.09), "split", ""),
        (Scenario("every gate exactly at its margin", at_margin), None, ""),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--replays", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    plan = ReplayPlan()
    t0 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    print(
        f"{args.replays} replays each: {plan.hours:g} h canary at {plan.canary_weight:.0%} of "
        f"{plan.requests_per_s:g} req/s, labels {plan.label_share:.0%} "
        f"(delay mean {plan.label_delay_mean_s / 3600:g} h), a look every "
        f"{plan.look_every_s:g} s\n"
    )
    head = f"{'scenario':34s} {'rolled back':>11s} {'caught':>7s} {'median sample':>22s}"
    head += f" {'median h':>8s}"
    print(head)
    print("-" * len(head))
    for i, (scenario, gate, unit) in enumerate(scenarios(plan)):
        r = replay(plan, scenario, replays=args.replays, seed=args.seed + i)
        back = float(r.rolled_back.mean())
        row: dict[str, Any] = {"scenario": scenario.name, "rolled_back": back}
        row["rolled_back_by"] = {k: float(r.caught_by(k).mean()) for k in r.first_fail}
        caught_s = sample_s = hours_s = ""
        if gate is not None:
            caught = r.caught_by(gate)
            row["caught"] = float(caught.mean())
            caught_s = f"{caught.mean():.1%}"
            looks = r.rollback_look[caught]
            if looks.size:
                row["median_hours"] = float(np.median(looks + 1) * plan.look_every_s / 3600)
                hours_s = f"{row['median_hours']:.1f}"
                if unit:
                    row["median_sample"] = float(np.median(r.n_at_fail[gate][caught]))
                    row["sample_unit"] = f"canary {unit}"
                    sample_s = f"{row['median_sample']:,.0f} {unit}"
        print(f"{scenario.name:34s} {back:>11.1%} {caught_s:>7s} {sample_s:>22s} {hours_s:>8s}")
        rows.append(row)

    peeking: dict[str, Any] = {}
    for i, (scenario, _, _) in enumerate(s for s in scenarios(plan) if s[1] is None):
        print(f"\n{scenario.name}: share of replays flagged at some look")
        table = peeking_comparison(plan, scenario, replays=args.replays, seed=args.seed + 100 + i)
        names = list(table[0].per_gate)
        print(f"{'check':56s} " + " ".join(f"{n[:10]:>10s}" for n in names) + f" {'any':>7s}")
        for t in table:
            cells = " ".join(f"{t.per_gate[n]:>10.1%}" for n in names)
            print(f"{t.check:56s} {cells} {t.any_gate:>7.1%}")
        peeking[scenario.name] = [
            {"check": t.check, "per_gate": t.per_gate, "any": t.any_gate} for t in table
        ]
    elapsed = time.perf_counter() - t0
    print(f"\n{elapsed:.1f} s on {os.cpu_count()} cores")
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out = ROOT / "bench" / "results" / f"rollout-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "when": stamp,
        "replays": args.replays,
        "seed": args.seed,
        "plan": asdict(plan),
        "scenarios": rows,
        "peeking": peeking,
        "seconds": round(elapsed, 1),
        "nproc": os.cpu_count(),
    }
    out.write_text(json.dumps(report, indent=2))
    print(f"written to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
