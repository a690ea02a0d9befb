"""The monitor's drift pass on one day of logged traffic, timed (docs/drift.md, "On live traffic").

    python -m bench.monitor.drift_day [--rows 20000] [--backends sqlite,postgres]

A tabular service (three numbers and a category as model inputs, a ``clinic`` segment field:
slices ``all``, ``clinic=north``, ``clinic=south``; ``clinic=other`` has no rows), a
2,000-row reference, and ``--rows`` answers of two versions over one UTC day, stored in bulk
with the log writer's insert. Then, per backend: the monitor's first pass (its 5-minute
windows and the drift pass, timed apart), a second pass with nothing new, and
``liveops drift --service``'s check of the same day. Prints the seconds and points written.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from liveops.core.clock import FixedClock
from liveops.core.project import parse_project
from liveops.core.serving.prediction import PredictionIds
from liveops.services.datasets import add_dataset
from liveops.services.monitoring import live_drift, run_monitor
from liveops.services.registry import apply_project
from liveops.store import Store, open_store

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
DAY = datetime(2026, 3, 2, tzinfo=UTC)
YAML = """
services:
  - name: tumours
    owner: onc@example.com
    inputs:
      mean_radius: {type: number, required: true}
      mean_texture: {type: number, required: true}
      mean_area: {type: number, required: true}
      tissue: {type: enum, values: [a, b, c, d]}
      clinic: {type: enum, values: [north, south]}
    model_inputs: [mean_radius, mean_texture, mean_area, tissue]
    reference: tumours-ref
    output: {labels: [benign, malignant]}
"""


def _inputs(rng: np.random.Generator, n: int, shift: float) -> list[dict[str, Any]]:
    radius = rng.normal(14.0 + shift, 3.5, n)
    texture = rng.normal(19.0, 4.0, n)
    area = rng.normal(650.0, 300.0, n)
    tissue = rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1])
    clinic = rng.choice(["north", "south"], n)
    return [
        {
            "mean_radius": float(radius[i]),
            "mean_texture": float(texture[i]),
            "mean_area": float(area[i]),
            "tissue": str(tissue[i]),
            "clinic": str(clinic[i]),
        }
        for i in range(n)
    ]


def _rows(n: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(1)
    ids = PredictionIds()
    out = []
    for i, inputs in enumerate(_inputs(rng, n, 3.0)):
        ts = DAY + timedelta(seconds=(i + 0.5) * 86400 / n)
        out.append(
            {
                "prediction_id": ids.new(ts.timestamp()),
                "service": "tumours",
                "version": 1 + i % 2,
                "arm": "production",
                "ts": ts,
                "label": "benign",
                "confidence": 0.9,
                "decision": "automatic",
                "fallback": None,
                "reason": None,
                "latency_ms": 10.0,
                "cost": None,
                "tokens_in": None,
                "tokens_out": None,
                "error": None,
                "caller": None,
                "channel": None,
                "plan": None,
                "language": None,
                "segments": {"clinic": inputs["clinic"]},
                "scores": {},
                "inputs": inputs,
                "redactions": 0,
                "logged_at": ts + timedelta(seconds=1),
            }
        )
    return out


def _setup(store: Store, folder: Path, rows: int) -> None:
    ref = _inputs(np.random.default_rng(0), 2000, 0.0)
    cols = list(ref[0])
    path = folder / "ref.csv"
    lines = [",".join(cols)] + [",".join(str(r[c]) for c in cols) for r in ref]
    path.write_text("\n".join(lines) + "\n")
    apply_project(store, parse_project(YAML), actor="bench")
    add_dataset(store, path, name="tumours-ref", actor="bench")
    log = _rows(rows)
    for lo in range(0, len(log), 5000):
        store.predictions.insert_batch(log[lo : lo + 5000])


def one(backend: str, rows: int, folder: Path) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'bench.db'}"
        schema = None
    else:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        from sqlalchemy import create_engine, text

        with create_engine(PG_URL).begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    store = open_store(url, project_dir=folder)
    try:
        _setup(store, folder, rows)
        clock = FixedClock(DAY + timedelta(days=1, minutes=10))
        started = time.perf_counter()
        report = run_monitor(store, clock=clock, service="tumours").services[0]
        total = time.perf_counter() - started
        print(
            f"{backend}: {rows:,} rows in one day; monitor pass {total:.2f} s, of which the "
            f"drift pass {report.drift_seconds:.2f} s ({report.drift_windows} window, "
            f"{report.drift_points} points: 2 versions x 3 slices with rows x 5 columns x "
            "drift and missing)"
        )
        started = time.perf_counter()
        again = run_monitor(store, clock=clock, service="tumours").services[0]
        print(
            f"{backend}: next pass, nothing new: drift pass {again.drift_seconds:.3f} s "
            f"({again.drift_windows} windows)"
        )
        started = time.perf_counter()
        live = live_drift(store, "tumours", clock=clock)
        print(
            f"{backend}: liveops drift --service's check {time.perf_counter() - started:.2f} s "
            f"(drifted: {', '.join(c.column for c in live.check.drift.drifted)})"
        )
    finally:
        store.close()
        if schema is not None:
            from sqlalchemy import create_engine, text

            with create_engine(PG_URL).begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory() as folder:
            one(backend.strip(), args.rows, Path(folder))


if __name__ == "__main__":
    main()
