"""A tiny file-backed prediction sink: one JSON line per record, appended before ``submit``
returns. It exercises the gateway's ``LIVEOPS_PREDICTION_SINK`` hook in tests that do not
assert what was logged (those use the real prediction log).

Used through ``LIVEOPS_PREDICTION_SINK=tests.server.file_sink:open_file_sink``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson

from liveops.core.serving.prediction import PredictionRecord


class FileSink:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._lock = threading.Lock()
        self._ids: set[str] = set()
        self._count = 0

    def submit(self, records: Sequence[PredictionRecord]) -> None:
        data = b"".join(orjson.dumps(asdict(r)) + b"\n" for r in records)
        with self._lock:
            os.write(self._fd, data)
            self._ids.update(r.prediction_id for r in records)
            self._count += len(records)

    def issued(self, prediction_id: str) -> bool:
        return prediction_id in self._ids

    def stats(self) -> Mapping[str, float]:
        return {
            "backlog": 0.0,
            "spool_bytes": float(os.fstat(self._fd).st_size),
            "database_ok": 1.0,
        }

    def close(self) -> None:
        os.close(self._fd)


def open_file_sink(store: Any, project_dir: Path) -> FileSink:
    return FileSink(project_dir / ".liveops" / "test-sink" / f"{os.getpid()}.jsonl")
