"""The registry aggregate: services, versions and aliases.

Methods that change state take the caller's write :class:`Connection`, so a state change and
its audit event commit together; readers open their own short transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Connection, Engine, RowMapping, func, select, update

from liveops.core.records import ServiceRecord, VersionRecord
from liveops.store.db import connect
from liveops.store.tables import aliases, services, versions

ApplyOutcome = Literal["created", "updated", "unchanged"]


def utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything liveops stores is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class RegistryStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # --- services -----------------------------------------------------------------------

    def upsert_service(
        self, conn: Connection, name: str, spec: dict[str, Any], spec_hash: str, now: datetime
    ) -> ApplyOutcome:
        row = conn.execute(select(services.c.spec_hash).where(services.c.name == name)).first()
        if row is None:
            conn.execute(
                services.insert().values(
                    name=name,
                    spec=spec,
                    spec_hash=spec_hash,
                    disabled=False,
                    created_at=now,
                    updated_at=now,
                )
            )
            return "created"
        if row.spec_hash == spec_hash:
            return "unchanged"
        conn.execute(
            update(services)
            .where(services.c.name == name)
            .values(spec=spec, spec_hash=spec_hash, updated_at=now)
        )
        return "updated"

    def set_disabled(self, conn: Connection, name: str, disabled: bool, now: datetime) -> bool:
        """Set the kill switch; returns the previous value."""
        prev = conn.execute(select(services.c.disabled).where(services.c.name == name)).scalar_one()
        conn.execute(
            update(services)
            .where(services.c.name == name)
            .values(disabled=disabled, updated_at=now)
        )
        return bool(prev)

    def get_service(self, name: str, conn: Connection | None = None) -> ServiceRecord | None:
        q = select(services).where(services.c.name == name)
        if conn is not None:
            row = conn.execute(q).mappings().first()
        else:
            with connect(self._engine, write=False) as c:
                row = c.execute(q).mappings().first()
        return _service(row) if row else None

    def list_services(self) -> list[ServiceRecord]:
        with connect(self._engine, write=False) as conn:
            rows = conn.execute(select(services).order_by(services.c.name)).mappings().all()
        return [_service(r) for r in rows]

    def alias_snapshot(self, alias: str) -> list[tuple[str, str, bool, int | None]]:
        """``(service, spec_hash, disabled, number)`` for every service and ``alias``: one
        small query, cheap enough for the gateway to poll every half second."""
        j = services.outerjoin(
            aliases, (aliases.c.service == services.c.name) & (aliases.c.alias == alias)
        )
        q = select(services.c.name, services.c.spec_hash, services.c.disabled, aliases.c.number)
        with connect(self._engine, write=False) as conn:
            rows = conn.execute(q.select_from(j).order_by(services.c.name)).all()
        return [(r[0], r[1], bool(r[2]), None if r[3] is None else int(r[3])) for r in rows]

    # --- versions -----------------------------------------------------------------------

    def find_by_content(self, conn: Connection, service: str, content_hash: str) -> int | None:
        q = select(versions.c.number).where(
            versions.c.service == service, versions.c.content_hash == content_hash
        )
        n = conn.execute(q).scalar_one_or_none()
        return int(n) if n is not None else None

    def next_number(self, conn: Connection, service: str) -> int:
        q = select(func.max(versions.c.number)).where(versions.c.service == service)
        return int(conn.execute(q).scalar_one() or 0) + 1

    def insert_version(self, conn: Connection, record: VersionRecord) -> None:
        conn.execute(
            versions.insert().values(
                service=record.service,
                number=record.number,
                content_hash=record.content_hash,
                artifact_hash=record.artifact_hash,
                artifact_format=record.artifact_format,
                config=record.config,
                lineage=record.lineage,
                metrics=record.metrics,
                message=record.message,
                owner=record.owner,
                created_at=record.created_at,
            )
        )

    def get_version(
        self, service: str, number: int, conn: Connection | None = None
    ) -> VersionRecord | None:
        q = select(versions).where(versions.c.service == service, versions.c.number == number)
        if conn is not None:
            row = conn.execute(q).mappings().first()
            names = self._alias_names(conn, service, number) if row else ()
        else:
            with connect(self._engine, write=False) as c:
                row = c.execute(q).mappings().first()
                names = self._alias_names(c, service, number) if row else ()
        return _version(row, names) if row else None

    def list_versions(self, service: str) -> list[VersionRecord]:
        with connect(self._engine, write=False) as conn:
            rows = (
                conn.execute(
                    select(versions)
                    .where(versions.c.service == service)
                    .order_by(versions.c.number)
                )
                .mappings()
                .all()
            )
            by_number = self._aliases_by_number(conn, service)
        return [_version(r, tuple(by_number.get(int(r["number"]), ()))) for r in rows]

    # --- aliases ------------------------------------------------------------------------

    def set_alias(
        self, conn: Connection, service: str, alias: str, number: int, by: str, now: datetime
    ) -> int | None:
        """Point ``alias`` at version ``number``; returns the number it pointed at before."""
        prev = self.get_alias(service, alias, conn)
        if prev is None:
            conn.execute(
                aliases.insert().values(
                    service=service, alias=alias, number=number, updated_at=now, updated_by=by
                )
            )
        else:
            conn.execute(
                update(aliases)
                .where(aliases.c.service == service, aliases.c.alias == alias)
                .values(number=number, updated_at=now, updated_by=by)
            )
        return prev

    def get_alias(self, service: str, alias: str, conn: Connection | None = None) -> int | None:
        q = select(aliases.c.number).where(aliases.c.service == service, aliases.c.alias == alias)
        if conn is not None:
            n = conn.execute(q).scalar_one_or_none()
        else:
            with connect(self._engine, write=False) as c:
                n = c.execute(q).scalar_one_or_none()
        return int(n) if n is not None else None

    def aliases_of(self, service: str) -> dict[str, int]:
        with connect(self._engine, write=False) as conn:
            rows = conn.execute(
                select(aliases.c.alias, aliases.c.number).where(aliases.c.service == service)
            ).all()
        return {r.alias: int(r.number) for r in rows}

    def _alias_names(self, conn: Connection, service: str, number: int) -> tuple[str, ...]:
        q = select(aliases.c.alias).where(aliases.c.service == service, aliases.c.number == number)
        return tuple(sorted(conn.execute(q).scalars()))

    def _aliases_by_number(self, conn: Connection, service: str) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        q = select(aliases.c.alias, aliases.c.number).where(aliases.c.service == service)
        for r in conn.execute(q):
            out.setdefault(int(r.number), []).append(r.alias)
        return {k: sorted(v) for k, v in out.items()}


def _service(r: RowMapping) -> ServiceRecord:
    return ServiceRecord(
        name=r["name"],
        spec=dict(r["spec"]),
        spec_hash=r["spec_hash"],
        disabled=bool(r["disabled"]),
        created_at=utc(r["created_at"]),
        updated_at=utc(r["updated_at"]),
    )


def _version(r: RowMapping, alias_names: tuple[str, ...]) -> VersionRecord:
    return VersionRecord(
        service=r["service"],
        number=int(r["number"]),
        content_hash=r["content_hash"],
        artifact_hash=r["artifact_hash"],
        artifact_format=r["artifact_format"],
        config=dict(r["config"]),
        lineage=dict(r["lineage"]),
        metrics=dict(r["metrics"]),
        message=r["message"],
        owner=r["owner"],
        created_at=utc(r["created_at"]),
        aliases=alias_names,
    )
