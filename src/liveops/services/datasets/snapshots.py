"""Datasets: read a file (CSV, Parquet, JSONL), hash it, profile it, keep its columns.

The dataset's rows are stored as Parquet in the artifact store; a uniform sample of at most
``reference_cap`` rows is stored beside them as the drift reference (the cap is recorded).
"""

from __future__ import annotations

import hashlib
import io
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from liveops.core.names import check_name, parse_dataset_ref
from liveops.core.profile import profile_columns, sample_indices
from liveops.core.records import DatasetRecord
from liveops.errors import DatasetFileError, DatasetNotFound, InvalidInputError
from liveops.store import Store

__all__ = [
    "DEFAULT_REFERENCE_CAP",
    "FORMATS",
    "add_dataset",
    "frame_columns",
    "load_frame",
    "load_records",
    "read_table",
    "resolve_dataset",
]

if TYPE_CHECKING:
    import pandas as pd

FORMATS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
DEFAULT_REFERENCE_CAP = 100_000
_UNNAMED = re.compile(r"^(Unnamed: \d+|)$")


def read_table(path: Path) -> tuple[pd.DataFrame, str, str]:
    """Read ``path``; returns (frame, format, sha256 of the file's bytes)."""
    import pandas as pd

    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DatasetFileError(
            f"cannot tell the format of {path.name}",
            hint="use a .csv, .parquet or .jsonl file",
        )
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DatasetFileError(f"dataset file {path} does not exist") from None
    except OSError as exc:
        raise DatasetFileError(f"cannot read {path}: {exc.strerror}") from None
    try:
        if fmt == "csv":
            # Only "NA" and empty cells are missing: a message reading "None" stays text.
            frame = pd.read_csv(
                io.BytesIO(data), keep_default_na=False, na_values=["NA", ""], low_memory=False
            )
        elif fmt == "parquet":
            frame = pd.read_parquet(io.BytesIO(data))
        else:
            frame = pd.read_json(io.BytesIO(data), lines=True, dtype=False)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatasetFileError(
            f"{path.name} is not a readable {fmt.upper()} file: {first}",
            hint="check the file's format and encoding (UTF-8)",
        ) from None
    frame = _drop_index_column(frame)
    if len(frame) == 0 or len(frame.columns) == 0:
        raise DatasetFileError(f"{path.name} has no rows", hint="a dataset needs at least one row")
    return frame, fmt, hashlib.sha256(data).hexdigest()


def _drop_index_column(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop an unnamed leading column of unique integers (a saved pandas index).

    ``df.to_csv()`` writes the index with an empty header; after filtering or sampling it is
    no longer 0..n-1, but it is still the index, not data.
    """
    from pandas.api.types import is_integer_dtype

    if len(frame.columns) and _UNNAMED.match(str(frame.columns[0])):
        col = frame[frame.columns[0]]
        if is_integer_dtype(col.dtype) and col.is_unique:
            return frame.drop(columns=frame.columns[0])
    return frame


def frame_columns(frame: pd.DataFrame) -> dict[str, list[Any]]:
    """Columns as Python lists, missing values as None."""
    out: dict[str, list[Any]] = {}
    for name in frame.columns:
        values = frame[name].tolist()
        out[str(name)] = [None if _missing(v) else _plain(v) for v in values]
    return out


def _missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float):
        return math.isnan(v)
    try:
        import pandas as pd

        return bool(v is pd.NA or v is pd.NaT)
    except (TypeError, ValueError):
        return False


def _plain(v: Any) -> Any:
    import numpy as np

    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


def add_dataset(
    store: Store,
    path: Path,
    *,
    name: str,
    actor: str,
    reference_cap: int = DEFAULT_REFERENCE_CAP,
    source: str | None = None,
) -> tuple[DatasetRecord, bool]:
    """Register a dataset file as ``name``; returns (record, created). Same content: no-op.

    ``source`` describes where the rows came from (default: the file's path).
    """
    import pandas as pd

    check_name(name, "dataset")
    if reference_cap < 1:
        raise InvalidInputError(
            f"the reference cap must be at least 1 row, not {reference_cap}",
            hint=f"leave it out for the default of {DEFAULT_REFERENCE_CAP:,} rows",
        )
    frame, fmt, digest = read_table(path)
    columns = frame_columns(frame)
    profile = profile_columns(columns)
    idx = sample_indices(len(frame), reference_cap)
    profile["reference"] = {
        "cap": reference_cap,
        "rows": int(idx.size),
        "sampled": idx.size < len(frame),
    }
    clean = pd.DataFrame(columns)
    data_hash = store.artifacts.put_bytes(_parquet(clean))
    ref_hash = (
        store.artifacts.put_bytes(_parquet(clean.iloc[idx])) if idx.size < len(frame) else data_hash
    )
    with store.write() as conn:
        existing = store.datasets.find_by_content(conn, name, digest)
        if existing is not None:
            found = store.datasets.get(name, existing, conn)
            assert found is not None
            return found, False
        record = DatasetRecord(
            name=name,
            number=store.datasets.next_number(conn, name),
            content_hash=digest,
            format=fmt,
            source=source or str(path),
            rows=len(frame),
            profile=profile,
            data_artifact=data_hash,
            reference_artifact=ref_hash,
            reference_rows=int(idx.size),
            reference_cap=reference_cap,
            created_by=actor,
            created_at=store.clock.now(),
        )
        store.datasets.insert(conn, record)
        store.audit.append(
            conn,
            actor=actor,
            action="dataset.added",
            object_type="dataset",
            object_id=record.ref,
            data={"content_hash": digest, "rows": record.rows},
        )
    return record, True


def _parquet(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    try:
        frame.to_parquet(buf, index=False)
    except Exception:
        # Columns that mix types (numbers and text) are stored as text.
        mixed = frame.copy()
        for col in mixed.columns:
            if mixed[col].dtype == object:
                mixed[col] = mixed[col].map(
                    lambda v: v if v is None or isinstance(v, list) else str(v)
                )
        buf = io.BytesIO()
        mixed.to_parquet(buf, index=False)
    return buf.getvalue()


def resolve_dataset(store: Store, ref: str) -> DatasetRecord:
    """The dataset ``NAME`` (latest) or ``NAME@N``."""
    dref = parse_dataset_ref(ref)
    record = store.datasets.get(dref.name, dref.number)
    if record is None and dref.number is not None:
        latest = store.datasets.get(dref.name)
        if latest is not None:
            has = f"versions 1 to {latest.number}" if latest.number > 1 else "only version 1"
            raise DatasetNotFound(
                f"dataset {dref} does not exist: {dref.name} has {has}",
                hint=f"use {dref.name} (the latest) or {dref.name}@N with N up to {latest.number}",
            )
    if record is None:
        known = sorted({d.name for d in store.datasets.list()})
        raise DatasetNotFound(
            f"dataset {dref} does not exist (datasets: {', '.join(known) or 'none yet'})",
            hint="add it with `liveops dataset add FILE --name NAME`",
        )
    return record


def load_frame(store: Store, record: DatasetRecord, *, reference: bool = False) -> pd.DataFrame:
    """The stored rows of a dataset (or its reference sample), verified against their hash."""
    import pandas as pd

    digest = record.reference_artifact if reference else record.data_artifact
    return pd.read_parquet(io.BytesIO(store.artifacts.read_bytes(digest)))


def load_records(store: Store, record: DatasetRecord) -> list[dict[str, Any]]:
    """The stored rows as dicts (missing values as None), verified against their hash.

    Read with pyarrow alone: evaluation and training need rows, not a DataFrame, and pandas
    would add about a second to every cold command that reads a dataset."""
    import pyarrow.parquet as pq

    table = pq.ParquetFile(io.BytesIO(store.artifacts.read_bytes(record.data_artifact))).read()
    rows: list[dict[str, Any]] = table.to_pylist()
    for row in rows:
        for key, value in row.items():
            if isinstance(value, float) and math.isnan(value):
                row[key] = None
    return rows
