"""The two sides of a drift check read from Ray datasets (``liveops drift --engine ray``).

:func:`ray_table` builds the same :class:`~liveops.core.drift.quality.Table` as
:func:`~liveops.services.drift.tables.load_table` does from a file, so the check on it is the
same, to the last digit, without collecting the dataset on the driver:

- categories and booleans are counted on the workers, block by block (``map_batches``); only
  each block's value counts come back, merged in block order, so the counts' order is the
  values' first appearance, as a local read gives (the category test's simulation reads it);
- a string column's longest value (which decides category or text), the rows and the missing
  values of a column that is not compared are computed there too, in the same pass;
- numbers and texts need every value (a Wasserstein distance, a KS test and a vocabulary are
  exact only on them): a second pass streams them to the driver in the dataset's order, and
  each column is converted on its own. A number costs 8 bytes a row, so the driver holds the
  numeric and text columns of both sides, never the categories' values.

Ray is an optional extra (``pip install 'liveops[ray]'``), imported only here.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from liveops.core.drift.quality import AnalysisKind, Column, Table
from liveops.core.drift.report import CategoryCounts
from liveops.errors import DatasetFileError
from liveops.services.drift.tables import (
    _INDEX_LEVEL,
    SHORT_TEXT,
    _column,
    _family,
    string_kind,
)

__all__ = ["ray_table"]


def _schema(ds: Any) -> pa.Schema:
    schema = ds.schema(fetch_if_missing=True)
    base = getattr(schema, "base_schema", None)
    if isinstance(base, pa.Schema):
        return base
    raise DatasetFileError(
        "the Ray dataset's schema is not Arrow's", hint="read it with ray.data.read_parquet"
    )


def _decoded(col: pa.ChunkedArray) -> pa.ChunkedArray:
    return col.cast(col.type.value_type) if pa.types.is_dictionary(col.type) else col


def _block_stats(
    batch: pa.Table, *, strings: list[str], counts: list[str], nulls: list[str]
) -> pa.Table:
    """One block's mergeable facts: its rows, value counts, missing values. ``strings`` are
    string columns whose kind is not known yet: their longest value, and their counts while
    every value is short (a longer one makes the column text, whose counts are not needed)."""
    import orjson

    out: dict[str, Any] = {"rows": batch.num_rows, "longest": {}, "counts": {}, "nulls": {}}
    for name in strings:
        longest = pc.max(pc.utf8_length(_decoded(batch.column(name)))).as_py() or 0
        out["longest"][name] = longest
        if longest <= SHORT_TEXT:
            out["counts"][name] = _value_counts(batch.column(name))
    for name in counts:
        out["counts"][name] = _value_counts(batch.column(name))
    for name in nulls:
        out["nulls"][name] = batch.column(name).null_count
    return pa.table({"stats": pa.array([orjson.dumps(out)], pa.binary())})


def _value_counts(col: pa.ChunkedArray) -> list[Any]:
    """[[value, count] in first-appearance order, missing], as a local read counts them."""
    col = _decoded(col)
    if pa.types.is_boolean(col.type):
        col = pc.cast(col, pa.string())
    vc = pc.value_counts(col)
    values, counts = vc.field("values").to_pylist(), vc.field("counts").to_pylist()
    pairs = [[str(v), int(c)] for v, c in zip(values, counts, strict=True) if v is not None]
    return [pairs, col.null_count]


def _stats(
    ds: Any, names: list[str], strings: list[str], counts: list[str], nulls: list[str]
) -> list[dict[str, Any]]:
    """Every block's facts, in the dataset's order (one pass, on the workers)."""
    import orjson

    read = [*strings, *counts, *nulls] or names[:1]  # the rows need one column at least
    out = ds.select_columns(read).map_batches(
        _block_stats,
        fn_kwargs={"strings": strings, "counts": counts, "nulls": nulls},
        batch_size=None,  # a whole block per call
        batch_format="pyarrow",
    )
    return [orjson.loads(row["stats"]) for row in out.take_all()]


def _pulled(ds: Any, names: list[str]) -> dict[str, list[pa.Array]]:
    """The columns ``names``' every value on the driver, in order (one pass)."""
    chunks: dict[str, list[pa.Array]] = {n: [] for n in names}
    if not names:
        return chunks
    for batch in ds.select_columns(names).iter_batches(batch_format="pyarrow", batch_size=None):
        for name in names:
            chunks[name].extend(batch.column(name).chunks)
    return chunks


def _kind_by_length(longest: int) -> AnalysisKind:
    """A string column's kind, no reference given, by its longest value."""
    return string_kind(None, lambda: longest)


def _merged(blocks: list[dict[str, Any]], name: str) -> CategoryCounts:
    """The blocks' counts added in block order: the values' order is their first appearance."""
    merged: dict[str, int] = {}
    missing = 0
    for b in blocks:
        pairs, nulls = b["counts"][name]
        missing += nulls
        for value, n in pairs:
            merged[value] = merged.get(value, 0) + n
    return CategoryCounts(merged, missing=missing)


def ray_table(ds: Any, label: str, like: Table | None = None) -> Table:
    """The table of the Ray dataset ``ds`` (``label`` names it in the report).

    ``like`` is the reference: string columns are read as the kind it gave them. Two passes
    over the data: the counts on the workers, then the numbers and texts to the driver.
    ``ds`` is set to keep its order (``preserve_order``), which its derived datasets share.
    """
    # The exact results depend on the rows' order (the counts' order feeds the category
    # test's simulation, a text column's halves its expected vocabulary): a dataset keeps its
    # context from its creation, so it is told here, whoever made it.
    ds.context.execution_options.preserve_order = True
    schema = _schema(ds)
    names = [n for n in schema.names if not _INDEX_LEVEL.match(n)]
    if not names:
        raise DatasetFileError(f"{label} has no columns", hint="a drift check needs columns")
    types = {n: schema.field(n).type for n in names}
    family = {n: _family(types[n]) for n in names}
    refs = {n: like.columns.get(n) if like is not None else None for n in names}

    strings = [n for n in names if family[n] == "string"]
    unknown = [n for n in strings if refs[n] is None]  # the longest value decides
    known = {n: string_kind(refs[n], lambda: 0) for n in strings if n not in unknown}
    counts = [n for n in names if family[n] == "boolean" or known.get(n) == "category"]
    others = [n for n in names if family[n] == "other"]
    blocks = _stats(ds, names, unknown, counts, others)
    rows = sum(b["rows"] for b in blocks)
    if rows == 0:
        raise DatasetFileError(f"{label} has no rows", hint="a drift check needs rows on each side")
    kinds = dict(known)
    for n in unknown:
        kinds[n] = _kind_by_length(max(b["longest"][n] for b in blocks))
    counted = set(counts) | {n for n in unknown if kinds[n] == "category"}
    pulled = [n for n in names if family[n] == "number" or kinds.get(n) == "text"]
    chunks = _pulled(ds, pulled)

    columns: dict[str, Column] = {}
    for name in names:
        storage, fam = str(types[name]), family[name]
        if name in counted:
            values = _merged(blocks, name)
            columns[name] = Column(fam, storage, values, values.missing, "category")
        elif name in chunks:  # numbers and texts, converted one column at a time
            col = pa.chunked_array(chunks.pop(name), type=types[name])
            columns[name] = _column(col, refs[name])
        elif fam == "other":
            columns[name] = Column("other", storage, None, sum(b["nulls"][name] for b in blocks))
        else:  # a column with no value at all
            columns[name] = Column("empty", storage, None, rows, None)
    return Table(source=label, rows=rows, columns=columns)
