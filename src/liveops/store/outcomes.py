"""The outcomes aggregate: named events about an answer (resolved, escalated, refunded).

Writes go through the prediction store's per-prediction feedback transaction, so an outcome and
feedback for the same answer are serialised the same way (see ``gateway_tables`` for why
outcomes have a table of their own).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, insert, select, update

from liveops.core.clock import Clock, SystemClock
from liveops.store.db import connect
from liveops.store.gateway_tables import outcomes
from liveops.store.predictions import PredictionStore
from liveops.store.registry import utc

__all__ = ["OutcomeStore"]

Row = dict[str, Any]


class OutcomeStore:
    """Reads and writes of ``outcomes``."""

    def __init__(
        self, engine: Engine, predictions: PredictionStore, clock: Clock | None = None
    ) -> None:
        self._engine = engine
        self._predictions = predictions
        self._clock = clock or SystemClock()  # stamps ``stored_at``

    def tx(self, prediction_id: str) -> AbstractContextManager[Connection]:
        """A write transaction in which nobody else writes feedback or outcomes of this id."""
        return self._predictions.feedback_tx(prediction_id)

    def current(
        self, conn: Connection, prediction_id: str, source: str, outcome: str
    ) -> Row | None:
        """The row not yet superseded for (prediction, source, outcome name)."""
        q = select(outcomes).where(
            outcomes.c.prediction_id == prediction_id,
            outcomes.c.source == source,
            outcomes.c.outcome == outcome,
            outcomes.c.superseded_by.is_(None),
        )
        row = conn.execute(q).mappings().first()
        return _row(row) if row else None

    def by_id(self, conn: Connection, outcome_id: str) -> Row | None:
        row = conn.execute(select(outcomes).where(outcomes.c.id == outcome_id)).mappings().first()
        return _row(row) if row else None

    def insert(self, conn: Connection, row: Mapping[str, Any]) -> None:
        """Insert one outcome event, stamped ``stored_at`` now unless it carries one."""
        conn.execute(insert(outcomes).values(**{"stored_at": self._clock.now(), **row}))

    def supersede(self, conn: Connection, old_id: str, new_id: str) -> None:
        conn.execute(update(outcomes).where(outcomes.c.id == old_id).values(superseded_by=new_id))

    def for_prediction(self, prediction_id: str) -> list[Row]:
        """Every outcome of a prediction, oldest first (superseded ones included)."""
        q = (
            select(outcomes)
            .where(outcomes.c.prediction_id == prediction_id)
            .order_by(outcomes.c.id)
        )
        with connect(self._engine, write=False) as conn:
            return [_row(r) for r in conn.execute(q).mappings()]


def _row(r: RowMapping) -> Row:
    out = {str(k): v for k, v in r.items()}
    out["created_at"] = utc(r["created_at"]).isoformat()
    out["stored_at"] = utc(r["stored_at"]).isoformat()
    return out
