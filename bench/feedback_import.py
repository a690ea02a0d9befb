"""How fast ``liveops feedback import`` stores labels: N logged answers, a CSV of N labels.

    .venv/bin/python bench/feedback_import.py sqlite 20000
    .venv/bin/python bench/feedback_import.py postgresql://postgres@127.0.0.1:5432/test 20000

On PostgreSQL it works in a schema of its own, dropped afterwards. Prints rows per second for
the first import and for a second one in which every row is already stored.
"""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from pathlib import Path

from liveops.core.project import parse_project
from liveops.core.serving.prediction import PredictionRecord, new_prediction_id
from liveops.services.predictions import LogSettings, open_prediction_log
from liveops.services.predictions.feedback_import import import_feedback
from liveops.services.registry import apply_project

PROJECT = """
services:
  - name: router
    owner: team@example.com
    inputs: {text: {type: string, required: true}}
    output: {labels: [billing, technical]}
"""


def run(url: str, n: int, folder: Path) -> None:
    from liveops.store import open_store

    store = open_store(url, project_dir=folder)
    apply_project(store, parse_project(PROJECT), actor="bench")
    plog = open_prediction_log(store, folder / "spool", LogSettings(batch_max=5000))
    ids: list[str] = []
    for _ in range(0, n, 5000):
        now = time.time()
        recs = [
            PredictionRecord(new_prediction_id(now), "router", 1, "production", now, {}, "billing")
            for _ in range(min(5000, n - len(ids)))
        ]
        plog.submit(recs)
        ids += [r.prediction_id for r in recs]
    assert plog.flush(300)
    plog.close()
    path = folder / "labels.csv"
    labels = ("billing", "technical")
    path.write_text(
        "prediction_id,label,source\n"
        + "".join(f"{p},{labels[i % 2]},zendesk\n" for i, p in enumerate(ids))
    )
    for what in ("first import", "again (all stored)"):
        t = time.perf_counter()
        report = import_feedback(store, path)
        dt = time.perf_counter() - t
        print(
            f"{store.backend} {what}: {n} rows in {dt:.2f} s = {n / dt:,.0f} rows/s "
            f"(accepted {report.accepted}, unchanged {report.unchanged})"
        )
    store.close()


def main() -> None:
    target, n = sys.argv[1], int(sys.argv[2])
    folder = Path(tempfile.mkdtemp())
    if target == "sqlite":
        run(f"sqlite:///{folder / 'liveops.db'}", n, folder)
        return
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        sep = "&" if "?" in target else "?"
        run(f"{target}{sep}options=-csearch_path%3D{schema}", n, folder)
    finally:
        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
