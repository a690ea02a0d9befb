"""The gateway ticks aggregate: heartbeats with refused-request counts, per gateway instance.

Ticks are written by the gateway's tick thread, never on the request path, and like the
prediction log they do not take the project-wide audit lock: a heartbeat is not a state change.
A tick replayed after a failed write (same instance and time) is ignored, not an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from liveops.store.db import connect, is_sqlite, unavailable
from liveops.store.gateway_tables import gateway_ticks
from liveops.store.registry import utc

__all__ = ["TickStore"]


class TickStore:
    """Reads and writes of ``gateway_ticks``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def insert(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Store ticks (``instance_id``, ``tick_at``, ``interval_s``, ``counts``, optionally
        ``stopped``) in one transaction, skipping any already stored. Raises
        :class:`~liveops.errors.StoreUnavailableError` when the database cannot take them."""
        if not rows:
            return
        dialect = sqlite if is_sqlite(self._engine) else postgresql
        stmt = dialect.insert(gateway_ticks).on_conflict_do_nothing()
        try:
            with self._engine.connect() as conn:
                wconn = conn.execution_options(write=True)  # SQLite: BEGIN IMMEDIATE
                with wconn.begin():
                    wconn.execute(stmt, [dict(r) for r in rows])
        except DBAPIError as exc:
            raise unavailable(self._engine, exc) from exc

    def between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Ticks with ``start <= tick_at < end`` of every instance, oldest first."""
        q = (
            select(gateway_ticks)
            .where(gateway_ticks.c.tick_at >= start, gateway_ticks.c.tick_at < end)
            .order_by(gateway_ticks.c.tick_at, gateway_ticks.c.instance_id)
        )
        with connect(self._engine, write=False) as conn:
            return [{**dict(r), "tick_at": utc(r["tick_at"])} for r in conn.execute(q).mappings()]

    def newest(self) -> list[dict[str, Any]]:
        """The ticks at the newest ``tick_at`` (one per instance that ticked then); empty
        without ticks."""
        top = select(func.max(gateway_ticks.c.tick_at)).scalar_subquery()
        q = select(gateway_ticks).where(gateway_ticks.c.tick_at == top)
        with connect(self._engine, write=False) as conn:
            return [{**dict(r), "tick_at": utc(r["tick_at"])} for r in conn.execute(q).mappings()]

    def span(self) -> tuple[datetime, datetime] | None:
        """The oldest and newest ``tick_at`` of every instance; None without ticks."""
        q = select(func.min(gateway_ticks.c.tick_at), func.max(gateway_ticks.c.tick_at))
        with connect(self._engine, write=False) as conn:
            lo, hi = conn.execute(q).one()
        return None if lo is None else (utc(lo), utc(hi))
