"""Column-wise inserts into the prediction log, on the driver's own connection (bulk scoring).

A chunk of ``liveops batch`` answers arrives as columns: those that vary by row and those with
one value for every row (service, version, arm, request time, logged_at, source, and any
column that is empty throughout). No row dictionary is built and nothing goes through
SQLAlchemy's per-row parameter handling:

- SQLite: one prepared ``INSERT ... ON CONFLICT DO NOTHING`` that the driver's ``executemany``
  runs over tuples zipped from the columns. The constant columns are written into the
  statement as literals (NULL, integers, text); each bound parameter costs the driver about
  0.2 µs a row and a batch chunk has about fifteen constant columns. Floats stay bound: SQLite's
  own parsing of a decimal literal is not guaranteed to give Python's double.
- PostgreSQL: ``COPY`` straight into the table inside a savepoint. When an id is already
  stored (a chunk scored again after an interruption) the COPY fails on the primary key; the
  savepoint is rolled back and the rows are copied into a temporary table and moved with
  ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``. A new chunk pays no existence check at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import repeat
from typing import Any

from sqlalchemy import JSON, Column, Table

__all__ = ["copy_columns", "execute_columns", "sqlite_literal"]

Encode = Callable[[Any], Any]


def sqlite_literal(value: Any) -> str | None:
    """``value`` as an SQLite literal, or None when it must be bound instead.

    >>> [sqlite_literal(v) for v in (None, 3, "it's", 0.5, True, "a\\x00b")]
    ['NULL', '3', "'it''s'", None, None, None]
    """
    kind = type(value)
    if value is None:
        return "NULL"
    if kind is int:
        return str(value)
    if kind is str and "\x00" not in value:
        text: str = value
        return "'" + text.replace("'", "''") + "'"
    return None


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _layout(
    table: Table,
    columns: Mapping[str, Sequence[Any]],
    constants: Mapping[str, Any],
) -> tuple[list[Column[Any]], list[Column[Any]], int]:
    """The table's columns given per row and given once (in table order), and the row count;
    a column given neither way must have a server default."""
    unknown = (set(columns) | set(constants)) - set(table.columns.keys())
    if unknown:
        raise ValueError(f"{table.name} has no column(s) {', '.join(sorted(unknown))}")
    both = set(columns) & set(constants)
    if both:
        raise ValueError(f"column(s) {', '.join(sorted(both))} given per row and once")
    per_row = [c for c in table.columns if c.name in columns]
    once = [c for c in table.columns if c.name in constants]
    missing = [
        c.name
        for c in table.columns
        if c.name not in columns and c.name not in constants and c.server_default is None
    ]
    if missing:
        raise ValueError(f"no value for column(s) {', '.join(missing)} of {table.name}")
    sizes = {len(v) for v in columns.values()}
    if len(sizes) > 1:
        raise ValueError(f"the columns have different lengths: {sorted(sizes)}")
    return per_row, once, sizes.pop() if sizes else 0


def execute_columns(
    run: Callable[[str, Iterator[tuple[Any, ...]]], None],
    table: Table,
    columns: Mapping[str, Sequence[Any]],
    constants: Mapping[str, Any],
    encoder: Callable[[Any], Encode | None],
) -> int:
    """SQLite: ``run(sql, rows)`` once with the prepared INSERT and its parameter rows;
    returns the number of rows. ``encoder(column_type)`` gives the encoding of a value of
    that type (None: stored as it is); per-row JSON columns are JSON text already."""
    per_row, once, n = _layout(table, columns, constants)
    if n == 0:
        return 0
    names: list[str] = []
    marks: list[str] = []
    iterables: list[Any] = []
    for c in per_row:
        enc = None if isinstance(c.type, JSON) else encoder(c.type)
        values = columns[c.name]
        names.append(_quoted(c.name))
        marks.append("?")
        iterables.append(values if enc is None else map(enc, values))
    for c in once:
        enc = encoder(c.type)
        value = constants[c.name]
        value = value if enc is None else enc(value)
        literal = sqlite_literal(value)
        names.append(_quoted(c.name))
        marks.append("?" if literal is None else literal)
        if literal is None:
            iterables.append(repeat(value, n))
    sql = (
        f"INSERT INTO {_quoted(table.name)} ({', '.join(names)}) "
        f"VALUES ({', '.join(marks)}) ON CONFLICT DO NOTHING"
    )
    run(sql, zip(*iterables, strict=True))
    return n


def copy_columns(
    cursor: Any,
    table: Table,
    columns: Mapping[str, Sequence[Any]],
    constants: Mapping[str, Any],
    encoder: Callable[[Any], Encode | None],
    conflict: type[BaseException],
) -> int:
    """PostgreSQL (a psycopg cursor in an open transaction): COPY the rows in, skipping ids
    already stored (see the module); returns the number of rows given."""
    per_row, once, n = _layout(table, columns, constants)
    if n == 0:
        return 0
    cols = [*per_row, *once]
    names = ", ".join(_quoted(c.name) for c in cols)
    fixed = []
    for c in once:
        enc = encoder(c.type)
        value = constants[c.name]
        fixed.append(value if enc is None or value is None else enc(value))
    per_row_values = [columns[c.name] for c in per_row]

    def rows() -> Iterator[tuple[Any, ...]]:
        return zip(*per_row_values, *(repeat(v, n) for v in fixed), strict=True)

    def copy_into(target: str) -> None:
        with cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
            write = copy.write_row
            for row in rows():
                write(row)

    name = _quoted(table.name)
    cursor.execute("SAVEPOINT liveops_copy")
    try:
        copy_into(name)
    except conflict:
        # Some ids are stored already: this chunk was scored before. Only the others go in.
        cursor.execute("ROLLBACK TO SAVEPOINT liveops_copy")
        cursor.execute(
            f"CREATE TEMPORARY TABLE liveops_copy (LIKE {name} INCLUDING DEFAULTS) ON COMMIT DROP"
        )
        copy_into("liveops_copy")
        cursor.execute(
            f"INSERT INTO {name} ({names}) SELECT {names} FROM liveops_copy ON CONFLICT DO NOTHING"
        )
        cursor.execute("DROP TABLE liveops_copy")
    else:
        cursor.execute("RELEASE SAVEPOINT liveops_copy")
    return n
