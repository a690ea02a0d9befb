"""Where a simulation's records come from when they are not generated: a file (CSV, JSONL,
Parquet) or a stored dataset, one per phase, each simulated day a seeded draw from it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from liveops.errors import DatasetFileError
from liveops.services.datasets import (
    FORMATS,
    frame_columns,
    load_records,
    read_table,
    resolve_dataset,
)
from liveops.services.simulation.engine import RecordSource
from liveops.store import Store

__all__ = ["file_source"]


def file_source(store: Store, *, seed: int = 0, cwd: Path | None = None) -> RecordSource:
    """A source whose phase names are files (a path that exists) or dataset refs
    (``NAME`` or ``NAME@N``); each day draws its records from the phase's rows, without
    replacement while there are enough rows, with replacement otherwise."""
    loaded: dict[str, list[dict[str, Any]]] = {}

    def draw(name: str, n: int, day: int) -> Sequence[Mapping[str, Any]]:
        rows = loaded.get(name)
        if rows is None:
            rows = loaded[name] = _read(store, name, cwd)
        rng = np.random.default_rng([seed, day, 7])
        idx = rng.choice(len(rows), size=n, replace=len(rows) < n)
        return [rows[i] for i in idx]

    return draw


def _read(store: Store, name: str, cwd: Path | None) -> list[dict[str, Any]]:
    path = Path(name) if cwd is None or Path(name).is_absolute() else cwd / name
    if path.exists():
        frame, _, _ = read_table(path)
        columns = frame_columns(frame)
        n = len(frame)
        return [{k: v[i] for k, v in columns.items()} for i in range(n)]
    if "/" in name or path.suffix.lower() in FORMATS:
        raise DatasetFileError(
            f"records file {name} does not exist",
            hint="give a CSV, JSONL or Parquet file, or a stored dataset name (NAME or NAME@N)",
        )
    rows = load_records(store, resolve_dataset(store, name))
    if not rows:
        raise DatasetFileError(f"dataset {name} has no rows")
    return [dict(r) for r in rows]
