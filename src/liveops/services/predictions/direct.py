"""Storing prediction records at once, in the caller's transaction time: for bulk scoring.

The gateway must answer before the database has its records, so it spools them and a writer
stores them later. ``liveops batch`` has no caller waiting: it marks a chunk done only once the
chunk's records are in the database, so an interrupted run knows exactly what is logged. The
rows are built, and redacted, by the same code as the spool writer's
(:func:`~liveops.services.predictions.rows.record_rows`); ids already stored are skipped, so
scoring a chunk again never logs an answer twice. A chunk's answers can also come column-wise
(:class:`~liveops.services.predictions.columns.RecordColumns`, :meth:`DirectLog.store_columns`):
the same rows without a record object or row dictionary per answer, which is what keeps
logging cheap in bulk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from liveops.core.clock import Clock, SystemClock
from liveops.core.project import LoggingSpec
from liveops.core.serving.prediction import PredictionRecord
from liveops.services.predictions.columns import RecordColumns, column_rows
from liveops.services.predictions.redaction import InputRedactor
from liveops.services.predictions.rows import record_rows
from liveops.store import Store

__all__ = ["DirectLog"]


class DirectLog:
    """Redacts and inserts records in one transaction per call.

    >>> import tempfile, time
    >>> from pathlib import Path
    >>> from liveops.store import open_store
    >>> store = open_store("sqlite://", project_dir=Path(tempfile.mkdtemp()))
    >>> log = DirectLog(store)
    >>> rec = PredictionRecord("01ARZ3NDEKTSV4RRFFQ69G5FAV", "echo", 1, "production",
    ...                        time.time(), {"text": "mail ana@example.com"}, "a", source="batch")
    >>> log.store([rec]), log.store([rec])  # the second time: already stored, skipped
    (1, 1)
    >>> row = store.predictions.get(rec.prediction_id)
    >>> row["inputs"], row["source"], store.predictions.count()
    ({'text': 'mail [EMAIL]'}, 'batch', 1)
    """

    def __init__(
        self,
        store: Store,
        services: Mapping[str, LoggingSpec] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._store = store
        self._services = dict(services or {})
        self._redactor = InputRedactor({n: s.patterns() for n, s in self._services.items()})
        self._clock = clock or SystemClock()

    def store(self, records: Sequence[PredictionRecord]) -> int:
        """Store ``records`` (those already stored are skipped); returns how many were given.

        Raises :class:`~liveops.errors.StoreUnavailableError` when the database cannot take
        them (nothing of the call is stored then)."""
        rows, raw_rows = record_rows(
            [(r, None) for r in records], self._redactor, self._services, self._clock.now()
        )
        self._store.predictions.insert_batch(rows, raw_rows)
        return len(rows)

    def store_columns(self, batch: RecordColumns) -> int:
        """:meth:`store` for answers given column-wise; returns how many were given.

        >>> import tempfile
        >>> from pathlib import Path
        >>> from liveops.store import open_store
        >>> store = open_store("sqlite://", project_dir=Path(tempfile.mkdtemp()))
        >>> batch = RecordColumns(
        ...     "echo", 1, "batch", "batch", 1.7e9, 0.5, ["01ARZ3NDEKTSV4RRFFQ69G5FAV"],
        ...     {"text": ["mail ana@example.com"]}, ["a"], ["automatic"], [None], [None])
        >>> log = DirectLog(store)
        >>> log.store_columns(batch), log.store_columns(batch)  # the second: skipped
        (1, 1)
        >>> row = store.predictions.get("01ARZ3NDEKTSV4RRFFQ69G5FAV")
        >>> row["inputs"], row["redactions"], store.predictions.count()
        ({'text': 'mail [EMAIL]'}, 1, 1)
        """
        if len(batch) == 0:
            return 0
        columns, constants, raw_rows = column_rows(
            batch, self._redactor, self._services, self._clock.now()
        )
        return self._store.predictions.insert_columns(columns, constants, raw_rows)
