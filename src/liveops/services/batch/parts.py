"""A run's work folder: its state, one part per finished chunk, and the final assembly.

``OUTPUT.liveops-batch/`` beside the output holds ``run.json`` (what the run is: run id,
version, input fingerprint, chunk size, logging) and, per chunk ``k``:

- ``part-k.malformed.jsonl``: rows of the input that could not be read (written by the driver);
- ``part-k.rejects.jsonl``: rows that failed the service's input checks;
- ``part-k.arrow``: the chunk's outputs (Arrow IPC, its counts in the schema metadata), renamed
  into place last, so that a chunk with a part is finished (its answers logged too);
- ``part-k.empty``: a chunk with no readable row.

When every chunk is finished the parts are concatenated, in chunk order, into the output (and
the rejects file), each written to a temporary name and renamed, and the folder is removed. A
resumed run therefore produces the same bytes as one that was never interrupted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

__all__ = [
    "OUTPUT_FORMATS",
    "assemble",
    "done_chunks",
    "output_format",
    "read_state",
    "write_empty",
    "write_malformed",
    "write_part",
    "write_state",
]

OUTPUT_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "jsonl"}
STATE = "run.json"
_STATS_KEY = b"liveops.batch.stats"


def work_dir_of(output: Path) -> Path:
    return output.with_name(output.name + ".liveops-batch")


def output_format(output: Path) -> str | None:
    return OUTPUT_FORMATS.get(output.suffix.lower())


def _part(work: Path, index: int, kind: str) -> Path:
    return work / f"part-{index:06d}.{kind}"


def _atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _lines(rows: Iterable[Mapping[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(r, default=str) + b"\n" for r in rows)


def write_state(work: Path, state: Mapping[str, Any]) -> None:
    work.mkdir(parents=True, exist_ok=True)
    _atomic(work / STATE, orjson.dumps(dict(state), option=orjson.OPT_INDENT_2))


def read_state(work: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = orjson.loads((work / STATE).read_bytes())
    except FileNotFoundError:
        return None
    return data


def write_malformed(work: Path, index: int, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        _atomic(_part(work, index, "malformed.jsonl"), _lines(rows))


def write_empty(work: Path, index: int, malformed: int) -> dict[str, Any]:
    stats: dict[str, Any] = {"chunk": index, "rows": 0, "scored": 0, "rejected": 0, "logged": 0}
    stats |= {"malformed": malformed, "decisions": {}, "seconds": 0.0}
    _atomic(_part(work, index, "empty"), orjson.dumps(stats))
    return stats


def write_part(
    work: Path,
    index: int,
    table: pa.Table,
    rejects: Sequence[Mapping[str, Any]],
    stats: Mapping[str, Any],
) -> None:
    """The chunk's rejects, then its outputs: the part file's rename marks the chunk done."""
    rejects_path = _part(work, index, "rejects.jsonl")
    if rejects:
        _atomic(rejects_path, _lines(rejects))
    else:
        with contextlib.suppress(FileNotFoundError):
            rejects_path.unlink()
    meta = dict(table.schema.metadata or {})
    meta[_STATS_KEY] = orjson.dumps(dict(stats))
    table = table.replace_schema_metadata(meta)
    path = _part(work, index, "arrow")
    tmp = path.with_name(path.name + ".tmp")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def malformed_count(work: Path, index: int) -> int:
    """How many unreadable rows chunk ``index`` reported."""
    try:
        return _part(work, index, "malformed.jsonl").read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def done_chunks(work: Path) -> dict[int, dict[str, Any]]:
    """Finished chunks and their counts."""
    out: dict[int, dict[str, Any]] = {}
    if not work.exists():
        return out
    for p in work.iterdir():
        name = p.name
        if not name.startswith("part-") or not name.endswith((".arrow", ".empty")):
            continue
        index = int(name[5:11])
        if name.endswith(".empty"):
            out[index] = orjson.loads(p.read_bytes())
        else:
            with pa.memory_map(str(p)) as source:
                meta = pa.ipc.open_file(source).schema.metadata or {}
            out[index] = orjson.loads(meta.get(_STATS_KEY, b"{}"))
            out[index]["malformed"] = malformed_count(work, index)
    return out


def assemble(
    work: Path, chunks: int, output: Path, rejects: Path, schema: pa.Schema
) -> tuple[int, int]:
    """Concatenate the parts into ``output`` and the rejects into ``rejects``; returns the
    rows written to each. Memory: one part at a time."""
    fmt = output_format(output)
    tmp = output.with_name(output.name + ".tmp")
    rows = 0
    writer = _Writer(fmt or "parquet", tmp, schema)
    try:
        for k in range(chunks):
            path = _part(work, k, "arrow")
            if not path.exists():
                continue
            with pa.memory_map(str(path)) as source:
                table = pa.ipc.open_file(source).read_all()
            table = table.replace_schema_metadata(None)
            writer.write(table)
            rows += table.num_rows
    finally:
        writer.close()
    os.replace(tmp, output)
    n_rejects = 0
    tmp_rejects = rejects.with_name(rejects.name + ".tmp")
    with tmp_rejects.open("wb") as out:
        for k in range(chunks):
            for kind in ("malformed.jsonl", "rejects.jsonl"):
                path = _part(work, k, kind)
                if path.exists():
                    data = path.read_bytes()
                    n_rejects += data.count(b"\n")
                    out.write(data)
    if n_rejects:
        os.replace(tmp_rejects, rejects)
    else:
        tmp_rejects.unlink()
        with contextlib.suppress(FileNotFoundError):
            rejects.unlink()  # an earlier run's rejects would be taken for this one's
    shutil.rmtree(work)
    return rows, n_rejects


class _Writer:
    """Streams tables into a Parquet, CSV or JSONL file."""

    def __init__(self, fmt: str, path: Path, schema: pa.Schema) -> None:
        self.fmt = fmt
        self.path = path
        self.schema = schema.remove_metadata()
        self._pq: Any = None
        self._csv: Any = None
        self._fh: Any = None
        if fmt == "parquet":
            import pyarrow.parquet as pq

            self._pq = pq.ParquetWriter(str(path), self.schema)
        elif fmt == "csv":
            import pyarrow.csv as pacsv

            self._csv = pacsv.CSVWriter(str(path), self.schema)
        else:
            self._fh = path.open("wb")

    def write(self, table: pa.Table) -> None:
        table = table.cast(self.schema)
        if self._pq is not None:
            self._pq.write_table(table)
        elif self._csv is not None:
            self._csv.write_table(table)
        else:
            self._fh.write(_lines(table.to_pylist()))

    def close(self) -> None:
        for w in (self._pq, self._csv, self._fh):
            if w is not None:
                w.close()
