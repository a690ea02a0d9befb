"""What the prediction log costs the request path, and how fast its writer stores records.

    .venv/bin/python bench/prediction_log/submit_cost.py [--postgres URL]

Prints, per micro-batch size, the time ``PredictionLog.submit`` takes per record (frame with
orjson + CRC-32, one spool write, queue), and the writer's sustained rate (records stored per
second, redaction included) on SQLite (file, WAL) and optionally PostgreSQL.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from liveops.core.serving.prediction import PredictionRecord, new_prediction_id
from liveops.services.predictions import LogSettings, open_prediction_log
from liveops.store import open_store

TEXTS = [
    "I was charged twice for order 88213, please refund to my card",
    "The app crashes when I open settings since version 5.12.0",
    "Mi correo es ana@example.com y no puedo entrar desde ayer",
    "Please cancel my subscription at the end of the month",
]


def record(i: int) -> PredictionRecord:
    now = time.time()
    return PredictionRecord(
        prediction_id=new_prediction_id(now),
        service="support-router",
        version=2,
        arm="production",
        ts=now,
        inputs={"text": TEXTS[i % len(TEXTS)], "channel": "email"},
        label="billing",
        scores={"billing": 0.81, "technical": 0.12, "account": 0.04, "other": 0.03},
        confidence=0.81,
        decision="automatic",
        latency_ms=1.9,
        caller="web",
        segments={"channel": "email", "plan": "pro", "language": "en"},
    )


def submit_cost(folder: Path, batch: int, n: int = 20_000) -> float:
    """Median microseconds per record of submit() with micro-batches of ``batch``."""
    store = open_store(f"sqlite:///{folder / f'cost{batch}.db'}", project_dir=folder)
    plog = open_prediction_log(store, folder / f"p{batch}", LogSettings())
    batches = [[record(i) for i in range(batch)] for _ in range(n // batch)]
    per_record = []
    for b in batches:
        start = time.perf_counter()
        plog.submit(b)
        per_record.append((time.perf_counter() - start) / batch * 1e6)
    plog.flush(120)
    plog.close()
    store.close()
    return statistics.median(per_record)


def writer_rate(url: str, folder: Path, n: int = 50_000) -> float:
    """Records per second from submit of ``n`` records until all are in the database."""
    store = open_store(url, project_dir=folder)
    plog = open_prediction_log(store, folder, LogSettings(flush_interval_s=0.05))
    records = [record(i) for i in range(n)]
    start = time.perf_counter()
    for i in range(0, n, 32):
        plog.submit(records[i : i + 32])
    assert plog.flush(600)
    elapsed = time.perf_counter() - start
    assert store.predictions.count() >= n
    plog.close()
    store.close()
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", help="a PostgreSQL URL (use an empty database or schema)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for batch in (1, 8, 32, 64):
            print(f"submit, micro-batch {batch:3}: {submit_cost(folder, batch):6.1f} µs per record")
        sqlite_rate = writer_rate(f"sqlite:///{folder / 'rate.db'}", folder / "rate")
        print(f"writer, SQLite file (WAL): {sqlite_rate:,.0f} records/s stored")
        if args.postgres:
            pg_rate = writer_rate(args.postgres, folder / "pg")
            print(f"writer, PostgreSQL: {pg_rate:,.0f} records/s stored")


if __name__ == "__main__":
    main()
