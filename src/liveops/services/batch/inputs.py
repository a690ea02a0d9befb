"""Reading a batch input in fixed-size chunks, and turning a chunk's rows into request records.

Formats, by the path: a ``.csv`` file, a ``.parquet`` (or ``.pq``) file, a ``.jsonl`` (or
``.ndjson``) file, or a directory of Parquet files (read in name order). Everything streams
through pyarrow, one chunk at a time, so a file larger than memory is read with memory bounded
by the chunk size. Chunk ``k`` holds rows ``k * chunk_rows`` up to the next chunk's first row,
the same on every run: that is what lets an interrupted run resume chunk by chunk.

- CSV is read with every column as text (only ``NA`` and empty cells are missing, as for
  datasets) and each declared input is converted to its type here, row by row where a column
  does not convert as a whole, so one bad value rejects its row, not the file. A row with the
  wrong number of cells cannot be read at all: it is reported with its line number and takes no
  row index.
- JSONL lines are parsed by the scorer: a line that is not a JSON object is rejected there, with
  its row index (every non-empty line has one).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from liveops.core.project import FieldSpec
from liveops.errors import InvalidInputError, UsageError

__all__ = ["FORMATS", "JSON_COLUMN", "Chunk", "InputFile", "open_input", "records_of"]

FORMATS = ("csv", "parquet", "jsonl")
JSON_COLUMN = "__liveops_json"  # a JSONL chunk: one column of the lines' text
_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl"}
_SUFFIXES[".ndjson"] = "jsonl"
_CSV_BLOCK = 1 << 22  # 4 MiB of text per parse: small next to any sensible chunk


@dataclass
class Chunk:
    """Rows ``first_row`` to ``first_row + len(table) - 1`` of the input, and the rows of its
    stretch of the file that could not be read (CSV only: each with ``line`` and ``reason``)."""

    index: int
    first_row: int
    table: pa.Table
    malformed: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class InputFile:
    """An input file (or directory of Parquet files): its format, columns and files."""

    path: Path
    format: str
    columns: tuple[str, ...]
    files: tuple[Path, ...]

    def fingerprint(self) -> list[list[Any]]:
        """Name, size and modification time of each file: a resumed run checks that the input
        did not change since it started."""
        out: list[list[Any]] = []
        for f in self.files:
            st = f.stat()
            out.append([f.name, st.st_size, st.st_mtime_ns])
        return out

    def chunks(self, chunk_rows: int, skip: frozenset[int] = frozenset()) -> Iterator[Chunk]:
        """The chunks in order, except those in ``skip`` (done by an earlier run)."""
        if chunk_rows < 1:
            raise UsageError(f"--chunk-rows must be at least 1, got {chunk_rows}")
        if self.format == "parquet":
            yield from self._parquet_chunks(chunk_rows, skip)
        elif self.format == "csv":
            yield from self._csv_chunks(chunk_rows, skip)
        else:
            yield from self._jsonl_chunks(chunk_rows, skip)

    # --- per format -------------------------------------------------------------------

    def _parquet_chunks(self, chunk_rows: int, skip: frozenset[int]) -> Iterator[Chunk]:
        import pyarrow.parquet as pq

        def batches() -> Iterator[pa.RecordBatch | int]:
            for f in self.files:
                pf = pq.ParquetFile(f)
                names = [n for n in self.columns if n in pf.schema_arrow.names]
                for g in range(pf.num_row_groups):
                    yield from _row_group(pf, g, names, chunk_rows)

        yield from _rechunk(batches(), chunk_rows, skip)

    def _csv_chunks(self, chunk_rows: int, skip: frozenset[int]) -> Iterator[Chunk]:
        import pyarrow.csv as pacsv

        malformed: list[dict[str, Any]] = []

        def bad_row(row: Any) -> str:
            line = row.number
            malformed.append(
                {
                    "line": line,
                    "reason": f"expected {row.expected_columns} cells, got {row.actual_columns}",
                    "text": row.text[:2000],
                }
            )
            return "skip"

        reader = pacsv.open_csv(
            self.path,
            read_options=pacsv.ReadOptions(block_size=_CSV_BLOCK, use_threads=False),
            parse_options=pacsv.ParseOptions(invalid_row_handler=bad_row),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in self.columns},
                null_values=["", "NA"],
                strings_can_be_null=True,
            ),
        )

        def batches() -> Iterator[pa.RecordBatch]:
            while True:
                try:
                    yield reader.read_next_batch()
                except StopIteration:
                    return
                except pa.ArrowInvalid as exc:
                    raise InvalidInputError(
                        f"{self.path} cannot be read as CSV past row {len(malformed)}: {exc}",
                        hint="check the file's quoting and encoding (UTF-8)",
                    ) from None

        def taken() -> list[dict[str, Any]]:
            out = list(malformed)
            malformed.clear()
            return out

        yield from _rechunk(batches(), chunk_rows, skip, taken)

    def _jsonl_chunks(self, chunk_rows: int, skip: frozenset[int]) -> Iterator[Chunk]:
        def batches() -> Iterator[pa.RecordBatch]:
            lines: list[str] = []
            with self.path.open("rb") as fh:
                for raw in fh:
                    text = raw.strip()
                    if not text:
                        continue
                    lines.append(text.decode("utf-8", errors="replace"))
                    if len(lines) >= chunk_rows:
                        yield pa.record_batch([pa.array(lines, pa.string())], [JSON_COLUMN])
                        lines = []
            if lines:
                yield pa.record_batch([pa.array(lines, pa.string())], [JSON_COLUMN])

        yield from _rechunk(batches(), chunk_rows, skip)


def _row_group(pf: Any, g: int, names: list[str], chunk_rows: int) -> Iterator[Any]:
    """A row group, read only if some of its rows are needed (a resumed run skips the row
    groups it finished without reading them)."""
    n = pf.metadata.row_group(g).num_rows
    yield _Lazy(n, lambda: pf.iter_batches(batch_size=chunk_rows, row_groups=[g], columns=names))


class _Lazy:
    """``n`` rows that are read only when needed."""

    def __init__(self, n: int, read: Any) -> None:
        self.num_rows = n
        self.read = read


def _rechunk(
    batches: Iterator[Any],
    chunk_rows: int,
    skip: frozenset[int],
    on_edge: Callable[[], list[dict[str, Any]]] | None = None,
) -> Iterator[Chunk]:
    """Exact chunks of ``chunk_rows`` rows from batches of any size. A chunk in ``skip`` is
    counted past without being assembled, and a lazy batch (a Parquet row group) that lies
    wholly in skipped chunks is never read. ``on_edge`` gives, at each chunk's end, the rows
    that could not be read meanwhile (they go with that chunk; after the last row they come
    in one more, empty chunk)."""
    state = _Chunker(chunk_rows, skip, on_edge or list)
    for b in batches:
        if isinstance(b, _Lazy):
            if state.skips(b.num_rows):
                continue
            inner: Iterator[Any] = b.read()
        else:
            inner = iter([b])
        for rb in inner:
            yield from state.add(rb)
    yield from state.finish()


class _Chunker:
    def __init__(
        self, chunk_rows: int, skip: frozenset[int], on_edge: Callable[[], list[dict[str, Any]]]
    ) -> None:
        self.size, self.skip, self.on_edge = chunk_rows, skip, on_edge
        self.pending: list[pa.RecordBatch] = []  # rows of the current chunk, kept
        self.kept = 0
        self.phantom = 0  # rows of the current chunk counted but not read (it is skipped)
        self.row = self.index = 0  # the current chunk's first row and index

    def skips(self, n: int) -> bool:
        """Count ``n`` rows unread if every chunk they touch is done."""
        last = (self.row + self.phantom + self.kept + n - 1) // self.size
        if not all(k in self.skip for k in range(self.index, last + 1)):
            return False
        self.phantom += self.kept + n
        self.pending, self.kept = [], 0
        while self.phantom >= self.size:
            self.phantom -= self.size
            self.on_edge()
            self.row, self.index = self.row + self.size, self.index + 1
        return True

    def add(self, rb: pa.RecordBatch) -> Iterator[Chunk]:
        if rb.num_rows:
            self.pending.append(rb)
            self.kept += rb.num_rows
        while self.phantom + self.kept >= self.size:
            chunk = self.emit()
            if chunk is not None:
                yield chunk

    def finish(self) -> Iterator[Chunk]:
        if self.phantom + self.kept:
            chunk = self.emit()
            if chunk is not None:
                yield chunk
        tail = self.on_edge()
        if tail and self.index not in self.skip:
            yield Chunk(self.index, self.row, pa.table({}), tail)

    def emit(self) -> Chunk | None:
        take, rest, n = [], [], self.size - self.phantom
        for b in self.pending:
            if n >= b.num_rows:
                take.append(b)
                n -= b.num_rows
            elif n > 0:
                take.append(b.slice(0, n))
                rest.append(b.slice(n))
                n = 0
            else:
                rest.append(b)
        got = sum(b.num_rows for b in take)
        bad = self.on_edge()
        chunk = None
        if self.index not in self.skip:
            table = pa.Table.from_batches(take) if take else pa.table({})
            chunk = Chunk(self.index, self.row, table, bad)
        self.row, self.index = self.row + self.phantom + got, self.index + 1
        self.pending, self.kept, self.phantom = rest, self.kept - got, 0
        return chunk


def open_input(path: Path, id_column: str | None, fields: Mapping[str, FieldSpec]) -> InputFile:
    """The input at ``path``; refuses, before any work, an unknown format, an empty directory,
    a missing required input column or a missing ``id_column``."""
    if not path.exists():
        raise InvalidInputError(
            f"input {path} does not exist", hint="check the path (CSV, Parquet, JSONL or a folder)"
        )
    if path.is_dir():
        files = tuple(sorted(p for p in path.iterdir() if p.suffix in (".parquet", ".pq")))
        if not files:
            raise InvalidInputError(
                f"input folder {path} holds no Parquet files",
                hint="a folder input is a set of .parquet files; give a file path otherwise",
            )
        fmt = "parquet"
    else:
        fmt_of = _SUFFIXES.get(path.suffix.lower())
        if fmt_of is None:
            raise UsageError(
                f"cannot tell the format of {path.name}",
                hint="name the input .csv, .parquet, .jsonl (or give a folder of .parquet)",
            )
        fmt, files = fmt_of, (path,)
    columns = _columns(fmt, files)
    missing = [n for n, s in fields.items() if s.required and n not in columns]
    if id_column is not None and id_column not in columns:
        raise InvalidInputError(
            f"the id column {id_column!r} is not in {path.name} (columns: {_list(columns)})",
            hint="name one of its columns with --id-column, or leave it out",
        )
    if missing:
        raise InvalidInputError(
            f"{path.name} has no column {_list(missing)}, required by the service's inputs "
            f"(columns: {_list(columns)})",
            hint="add the column, or rename it to the input's name",
        )
    if fmt == "parquet":
        _check_same_columns(files, columns)
    return InputFile(path, fmt, columns, files)


def _columns(fmt: str, files: Sequence[Path]) -> tuple[str, ...]:
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return tuple(pq.read_schema(files[0]).names)
        if fmt == "csv":
            import pyarrow.csv as pacsv

            reader = pacsv.open_csv(  # only the header matters: bad rows are reported later
                files[0],
                read_options=pacsv.ReadOptions(block_size=1 << 16, use_threads=False),
                parse_options=pacsv.ParseOptions(invalid_row_handler=lambda _row: "skip"),
            )
            names = tuple(reader.schema.names)
            reader.close()
            return names
        with files[0].open("rb") as fh:  # JSONL: the first object's keys
            for raw in fh:
                if raw.strip():
                    first = orjson.loads(raw)
                    return tuple(first) if isinstance(first, dict) else ()
        return ()
    except (OSError, pa.ArrowException, orjson.JSONDecodeError) as exc:
        raise InvalidInputError(
            f"cannot read {files[0]} as {fmt}: {exc}",
            hint=f"check that the file is {fmt} (its name says so)",
        ) from None


def _check_same_columns(files: Sequence[Path], columns: Sequence[str]) -> None:
    import pyarrow.parquet as pq

    for f in files[1:]:
        names = pq.read_schema(f).names
        lacking = [c for c in columns if c not in names]
        if lacking:
            raise InvalidInputError(
                f"{f.name} lacks column {_list(lacking)}, which {files[0].name} has",
                hint="every Parquet file of a folder input must have the same columns",
            )


def _list(names: Sequence[str]) -> str:
    shown = ", ".join(names[:20])
    return shown + (f" and {len(names) - 20} more" if len(names) > 20 else "")


# --- rows to records --------------------------------------------------------------------


def records_of(
    table: pa.Table, fields: Mapping[str, FieldSpec], fmt: str, id_column: str | None
) -> tuple[list[dict[str, Any]], list[Any], dict[int, str]]:
    """The request records of a chunk (the declared inputs only), the id of each row (None
    without an id column) and, by position, why a row could not even be made into a record
    (a CSV value that is not of its field's type, a JSONL line that is not an object)."""
    if fmt == "jsonl":
        return _json_records(table, fields, id_column)
    bad: dict[int, str] = {}
    names = [n for n in fields if n in table.column_names]
    cols: dict[str, list[Any]] = {}
    for name in names:
        col = table.column(name)
        if fmt == "csv" and fields[name].type in ("integer", "number", "boolean"):
            cols[name] = _convert(col.to_pylist(), fields[name], name, bad)
        else:
            cols[name] = col.to_pylist()
    n = table.num_rows
    if names:
        values = [cols[k] for k in names]
        records = [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]
    else:
        records = [{} for _ in range(n)]
    ids = table.column(id_column).to_pylist() if id_column else [None] * n
    return records, ids, bad


def _json_records(
    table: pa.Table, fields: Mapping[str, FieldSpec], id_column: str | None
) -> tuple[list[dict[str, Any]], list[Any], dict[int, str]]:
    records: list[dict[str, Any]] = []
    ids: list[Any] = []
    bad: dict[int, str] = {}
    for i, line in enumerate(table.column(JSON_COLUMN).to_pylist()):
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            obj, why = None, f"not valid JSON ({exc})"
        else:
            why = f"not a JSON object, got {type(obj).__name__}"
        if not isinstance(obj, dict):
            bad[i] = why
            records.append({})
            ids.append(None)
            continue
        records.append({k: obj[k] for k in fields if k in obj})
        value = obj.get(id_column) if id_column else None
        ids.append(None if value is None else str(value))
    return records, ids, bad


_TRUE = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _convert(values: list[Any], spec: FieldSpec, name: str, bad: dict[int, str]) -> list[Any]:
    """CSV text to the field's type; a value that does not convert rejects its row."""
    out: list[Any] = []
    for i, v in enumerate(values):
        if v is None:
            out.append(None)
            continue
        if spec.type == "boolean":
            b = _TRUE.get(v.strip().lower())
            if b is None:
                bad.setdefault(i, f"{name}: must be true or false, got {v!r}")
            out.append(b)
            continue
        try:
            number = float(v)
        except ValueError:
            bad.setdefault(i, f"{name}: must be a number, got {v!r}"[:300])
            out.append(None)
            continue
        if spec.type == "integer" and math.isfinite(number) and number == int(number):
            out.append(int(number))
        else:
            out.append(number)  # check_instance says what is wrong with it, if anything
    return out


def surely_valid(table: pa.Table, fields: Mapping[str, FieldSpec], fmt: str) -> list[bool] | None:
    """Rows that certainly pass the gateway's checks, found column by column with pyarrow;
    None when a column's type does not allow that (every row is then checked one by one).
    Rows not marked are checked one by one, which also says what is wrong with them."""
    import pyarrow.compute as pc

    if fmt == "jsonl":
        return None
    n = table.num_rows
    ok = pa.array([True] * n, pa.bool_())
    for name, spec in fields.items():
        if name not in table.column_names:
            if spec.required:
                return [False] * n
            continue
        conds = _column_conditions(table.column(name), spec, fmt)
        if conds is None:
            return None
        col = table.column(name)
        fits = pa.array([True] * n, pa.bool_())
        for c in conds:  # about the values only
            fits = pc.and_(fits, pc.fill_null(c, True))
        # A missing value: wrong when required, fine otherwise (whatever the checks said).
        missing_ok = pc.is_null(col) if not spec.required else None
        fits = (
            pc.or_(fits, missing_ok) if missing_ok is not None else pc.and_(fits, pc.is_valid(col))
        )
        ok = pc.and_(ok, fits)
    result: list[bool] = ok.to_pylist()
    return result


def _column_conditions(col: Any, spec: FieldSpec, fmt: str) -> list[Any] | None:
    import pyarrow.compute as pc

    t = col.type
    conds: list[Any] = []
    if spec.type in ("string", "enum"):
        if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
            return None
        if spec.max_length is not None:
            conds.append(pc.less_equal(pc.utf8_length(col), spec.max_length))
        if spec.type == "enum":
            conds.append(pc.is_in(col, value_set=pa.array(spec.values or [], pa.string())))
        return conds
    if spec.type == "boolean":
        return [] if pa.types.is_boolean(t) and fmt != "csv" else None
    if fmt == "csv" or not (pa.types.is_integer(t) or pa.types.is_floating(t)):
        return None
    if pa.types.is_floating(t):
        conds.append(pc.is_finite(col))
        if spec.type == "integer":
            conds.append(pc.equal(pc.floor(col), col))
    if spec.min is not None:
        conds.append(pc.greater_equal(col, spec.min))
    if spec.max is not None:
        conds.append(pc.less_equal(col, spec.max))
    return conds
