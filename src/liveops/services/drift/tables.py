"""Reading the two sides of a drift check: a CSV, Parquet or JSONL file, or a stored dataset.

Everything goes through pyarrow (no pandas), and every row is read: the stored-dataset cap
applies to a dataset's kept reference sample, not here (a stored dataset is read in full).
Each column becomes what :mod:`liveops.core.drift` compares:

- integers, floats, decimals: a float64 array, missing (null, NaN, infinite) as NaN;
- booleans: value counts of ``true`` and ``false`` (a category);
- strings: value counts (a category) when the reference's values are short (at most 40
  characters, the stored profile's length limit, however many distinct values), else the
  texts themselves (text); the current side is read as the reference's kind;
- a column with no value at all (CSV's null type): empty; anything else (dates, lists): not
  compared.

A file that is empty, has no rows, or is not what its extension says is a
:class:`DatasetFileError` with the reason, never a traceback.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from liveops.core.drift.quality import AnalysisKind, Column, Family, Table
from liveops.core.drift.report import CategoryCounts
from liveops.errors import DatasetFileError, DatasetNotFound, ProjectNotFound, UsageError
from liveops.services.datasets import FORMATS, resolve_dataset

if TYPE_CHECKING:
    from liveops.store import Store

__all__ = ["SHORT_TEXT", "load_table", "parquet_table", "string_kind"]

SHORT_TEXT = 40  # the stored profile's length limit: longer strings are text, not categories
_PARQUET_MAGIC = b"PAR1"
_UNNAMED = re.compile(r"^(Unnamed: \d+|)$")
_INDEX_LEVEL = re.compile(r"^__index_level_\d+__$")


def load_table(
    spec: str,
    *,
    open_store: Callable[[], Store] | None = None,
    like: Table | None = None,
) -> Table:
    """The table ``spec`` names: a file path, or a stored dataset ``NAME`` / ``NAME@N``.

    ``like`` is the reference: string columns are read as the kind it gave them.
    """
    path = Path(spec)
    if path.suffix.lower() in FORMATS or path.exists():
        return _from_file(path, like)
    if open_store is None:
        raise UsageError(f"{spec} is neither a data file nor a dataset name")
    try:
        store = open_store()
    except ProjectNotFound as exc:
        raise DatasetNotFound(
            f"{spec} is not a file, and there is no project to find a dataset of that name in",
            hint="give a .csv, .parquet or .jsonl path, or run in a project (or pass -C FOLDER)",
        ) from exc
    record = resolve_dataset(store, spec)
    data = store.artifacts.read_bytes(record.data_artifact)
    return parquet_table(io.BytesIO(data), f"dataset {record.ref}", like)


def _from_file(path: Path, like: Table | None) -> Table:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DatasetFileError(
            f"cannot tell the format of {path.name}", hint="use a .csv, .parquet or .jsonl file"
        )
    if path.is_dir():
        raise DatasetFileError(f"{path} is a folder, not a {fmt.upper()} file")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise DatasetFileError(
            f"{path} does not exist", hint="check the path (or name a stored dataset)"
        ) from None
    if size == 0:
        raise DatasetFileError(f"{path} is empty", hint=f"a {fmt.upper()} file with rows")
    with path.open("rb") as fh:
        magic = fh.read(4)
    if (magic == _PARQUET_MAGIC) != (fmt == "parquet"):
        looks = "a Parquet file" if magic == _PARQUET_MAGIC else "not Parquet (no magic bytes)"
        raise DatasetFileError(
            f"{path.name} is not a {fmt.upper()} file: its content is {looks}",
            hint="rename it to the format it holds (.csv, .parquet or .jsonl)",
        )
    try:
        if fmt == "parquet":
            return parquet_table(path, str(path), like)
        table = _read(path, fmt)
    except (pa.ArrowException, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        first = "".join(ch if ch.isprintable() else "?" for ch in first[:200])
        raise DatasetFileError(
            f"{path.name} is not a readable {fmt.upper()} file: {first}",
            hint=f"check that the file really is {fmt.upper()} (the extension decides how it "
            "is read) and is UTF-8",
        ) from None
    if table.num_rows == 0 or table.num_columns == 0:
        raise DatasetFileError(f"{path} has no rows", hint="a drift check needs rows on each side")
    return _table(str(path), table, like)


def parquet_table(source: Path | io.BytesIO, label: str, like: Table | None) -> Table:
    """A Parquet file read one column at a time: only one column's Arrow data is alive next
    to the arrays kept. (ParquetFile, not read_table: the latter imports pandas.)"""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(source)
    names = [n for n in pf.schema_arrow.names if not _INDEX_LEVEL.match(n)]
    rows = pf.metadata.num_rows
    if rows == 0 or not names:
        raise DatasetFileError(f"{label} has no rows", hint="a drift check needs rows on each side")
    columns: dict[str, Column] = {}
    for name in names:
        ref = like.columns.get(name) if like is not None else None
        columns[name] = _column(pf.read(columns=[name]).column(0), ref)
    return Table(source=label, rows=rows, columns=columns)


def _read(path: Path, fmt: str) -> pa.Table:
    """A CSV or JSONL file as one table."""
    if fmt == "csv":
        import pyarrow.csv as pacsv

        # Every cell is read as text and each column typed as a whole afterwards: pyarrow's own
        # inference looks at the first block only, and a number column with "n/a" further down
        # (a type change, which the check reports) would fail the whole read.
        with pacsv.open_csv(path) as reader:
            names = reader.schema.names
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                # Only "NA" and empty cells are missing, as for datasets: "None" stays text.
                null_values=["", "NA"],
                strings_can_be_null=True,
            ),
        )
        typed = [_typed(table.column(n)) for n in table.column_names]
        table = pa.Table.from_arrays(typed, names=table.column_names)
        return _drop_index_column(table)
    import pyarrow.json as pajson

    return pajson.read_json(path)


def _typed(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """A CSV column of text typed as a whole: integers, floats, booleans, timestamps or text."""
    if col.null_count == len(col):
        return pa.chunked_array([pa.nulls(len(col))])
    for t in (pa.int64(), pa.float64(), pa.timestamp("us")):
        try:
            typed: pa.ChunkedArray = pc.cast(col, t)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return typed
    if (pc.max(pc.utf8_length(col)).as_py() or 0) <= len("false"):
        lower = pc.utf8_lower(col)
        seen = set(pc.value_counts(lower).field("values").to_pylist()) - {None}
        if seen <= {"true", "false"}:
            flags: pa.ChunkedArray = pc.starts_with(lower, pattern="t")
            return flags
    return col


def _drop_index_column(table: pa.Table) -> pa.Table:
    """Drop an unnamed leading column of unique integers (a saved pandas index), as datasets
    do; in Parquet the index is a ``__index_level_N__`` column, left out by the reader."""
    if not table.num_columns or not _UNNAMED.match(table.column_names[0]):
        return table
    first = table.column(0)
    if pa.types.is_integer(first.type) and pc.count_distinct(first).as_py() == table.num_rows:
        return table.drop_columns([table.column_names[0]])
    return table


def _table(source: str, table: pa.Table, like: Table | None) -> Table:
    columns: dict[str, Column] = {}
    for name in table.column_names:
        ref = like.columns.get(name) if like is not None else None
        columns[name] = _column(table.column(name), ref)
    return Table(source=source, rows=table.num_rows, columns=columns)


def _family(t: pa.DataType) -> Family:
    if pa.types.is_dictionary(t):
        return _family(t.value_type)
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "number"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_null(t):
        return "empty"
    return "other"


def _floats(col: pa.ChunkedArray) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The values as float64, nulls as NaN, read from the Arrow buffers.

    pyarrow's own ``to_numpy`` of an array with nulls imports pandas to fill them, which
    costs a cold command a second; the validity bitmap says the same.
    """
    parts = []
    for chunk in col.cast(pa.float64()).chunks:
        n, offset = len(chunk), chunk.offset
        validity, data = chunk.buffers()[:2]
        if data is None:
            parts.append(np.full(n, np.nan))
            continue
        values = np.frombuffer(data, dtype=np.float64, count=offset + n)[offset:].copy()
        if chunk.null_count and validity is not None:
            bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
            values[bits[offset : offset + n] == 0] = np.nan
        parts.append(values)
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.float64)


def _counts(col: pa.ChunkedArray) -> CategoryCounts:
    vc = pc.value_counts(col)
    values = vc.field("values").to_pylist()
    counts = vc.field("counts").to_pylist()
    return CategoryCounts(
        {str(v): int(c) for v, c in zip(values, counts, strict=True) if v is not None},
        missing=col.null_count,
    )


def string_kind(ref: Column | None, longest: Callable[[], int]) -> AnalysisKind:
    """How a string column is compared: as the reference's kind, as a category when the
    reference had another type, else by its longest value (``longest``, asked only then)."""
    if ref is not None and ref.family == "string" and ref.kind is not None:
        return ref.kind
    if ref is not None:
        return "category"  # a changed type: its most common values explain the finding
    return "category" if longest() <= SHORT_TEXT else "text"


def _column(col: pa.ChunkedArray, ref: Column | None) -> Column:
    storage = str(col.type)
    family = _family(col.type)
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    if family == "number":
        values = _floats(col)
        missing = int(values.size - np.count_nonzero(np.isfinite(values)))
        return Column("number", storage, values, missing, "number")
    if family == "boolean":
        counts = _counts(pc.cast(col, pa.string()))
        return Column("boolean", storage, counts, counts.missing, "category")
    if family == "string":
        kind = string_kind(ref, lambda: pc.max(pc.utf8_length(col)).as_py() or 0)
        if kind == "category":
            counts = _counts(col)
            return Column("string", storage, counts, counts.missing, "category")
        texts: list[Any] = col.to_pylist()
        return Column("string", storage, texts, col.null_count, "text")
    if family == "empty":
        return Column("empty", storage, None, len(col), None)
    return Column("other", storage, None, col.null_count, None)
