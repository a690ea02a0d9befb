"""The dataset aggregate: content-hashed snapshots with their profile."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, RowMapping, func, select

from liveops.core.records import DatasetRecord
from liveops.store.db import connect
from liveops.store.registry import utc
from liveops.store.tables import datasets


class DatasetStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def find_by_content(self, conn: Connection, name: str, content_hash: str) -> int | None:
        q = select(datasets.c.number).where(
            datasets.c.name == name, datasets.c.content_hash == content_hash
        )
        n = conn.execute(q).scalar_one_or_none()
        return int(n) if n is not None else None

    def next_number(self, conn: Connection, name: str) -> int:
        q = select(func.max(datasets.c.number)).where(datasets.c.name == name)
        return int(conn.execute(q).scalar_one() or 0) + 1

    def insert(self, conn: Connection, record: DatasetRecord) -> None:
        values = record.to_dict()
        values.pop("ref")
        values["created_at"] = record.created_at
        conn.execute(datasets.insert().values(**values))

    def get(
        self, name: str, number: int | None = None, conn: Connection | None = None
    ) -> DatasetRecord | None:
        """Version ``number`` of dataset ``name``, or its latest version."""
        q = select(datasets).where(datasets.c.name == name)
        q = q.where(datasets.c.number == number) if number else q.order_by(datasets.c.number.desc())
        if conn is not None:
            row = conn.execute(q.limit(1)).mappings().first()
        else:
            with connect(self._engine, write=False) as c:
                row = c.execute(q.limit(1)).mappings().first()
        return _dataset(row) if row else None

    def list(self, name: str | None = None) -> list[DatasetRecord]:
        q = select(datasets).order_by(datasets.c.name, datasets.c.number)
        if name:
            q = q.where(datasets.c.name == name)
        with connect(self._engine, write=False) as conn:
            return [_dataset(r) for r in conn.execute(q).mappings()]


def _dataset(r: RowMapping) -> DatasetRecord:
    return DatasetRecord(
        name=r["name"],
        number=int(r["number"]),
        content_hash=r["content_hash"],
        format=r["format"],
        source=r["source"],
        rows=int(r["rows"]),
        profile=dict(r["profile"]),
        data_artifact=r["data_artifact"],
        reference_artifact=r["reference_artifact"],
        reference_rows=int(r["reference_rows"]),
        reference_cap=int(r["reference_cap"]),
        created_by=r["created_by"],
        created_at=utc(r["created_at"]),
    )
