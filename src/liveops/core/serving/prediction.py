"""One answered prediction, as the gateway hands it to the prediction log.

The gateway builds a :class:`PredictionRecord` per answered instance and gives a batch of them to
a :class:`PredictionSink` *before* it sends the response; the sink makes them durable (a local
spool) and stores them later in batches, redacting inputs first. Feedback asks the sink whether
an id was issued, so an id still queued is accepted.

Prediction ids are ULIDs (encoded and parsed by ``python-ulid``): 26 Crockford base-32
characters, time-ordered (the first 10 encode the millisecond), so sorting ids sorts by time.

>>> import time
>>> now = time.time()
>>> pid = new_prediction_id(now)
>>> len(pid), abs(prediction_id_time(pid) - now) < 0.001
(26, True)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ulid import ULID

__all__ = [
    "SOURCES",
    "PredictionIds",
    "PredictionRecord",
    "PredictionSink",
    "batch_prediction_id",
    "batch_prediction_ids",
    "new_prediction_id",
    "prediction_id_time",
]


class PredictionIds:
    """Makes ULIDs. Ids from one generator for the same or a later millisecond are strictly
    increasing (within a millisecond the random part counts up); an id for an earlier time (a
    replay, an injected clock) gets fresh randomness and leaves that ordering alone.
    python-ulid encodes them; its own generator draws fresh randomness for every id, so two ids
    of one millisecond would sort at random.

    >>> ids = PredictionIds()
    >>> a, b = ids.new(1_700_000_000.0), ids.new(1_700_000_000.0)
    >>> len(a), a < b, a[:10] == b[:10]
    (26, True, True)
    >>> round(prediction_id_time(a))
    1700000000
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_rand = 0

    def new(self, now: float) -> str:
        """An id for time ``now`` (seconds since the epoch)."""
        ms = int(now * 1000)
        with self._lock:
            if ms < self._last_ms:
                rand = int.from_bytes(os.urandom(10), "big")
            else:
                if ms == self._last_ms:
                    self._last_rand += 1
                else:
                    self._last_rand = int.from_bytes(os.urandom(10), "big") >> 1  # room to count
                self._last_ms = ms
                rand = self._last_rand
        return str(ULID.from_int((ms << 80) | (rand & ((1 << 80) - 1))))


_DEFAULT_IDS = PredictionIds()
SOURCES = ("live", "batch")
_INDEX_BITS = 40  # row indices below 2**40 (about 10**12 rows per run)
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]  # 10 bits as two characters


def batch_prediction_id(run_id: str, index: int) -> str:
    """The id of row ``index`` of batch run ``run_id`` (itself a ULID): the same every time, so
    a resumed run logs the same ids and the log's insert skips the ones already stored.

    The run's millisecond and the top 40 bits of its randomness, then the row index: still a
    ULID (feedback and :func:`prediction_id_time` accept it), sorted by run, then by row.

    >>> run = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    >>> a, b = batch_prediction_id(run, 0), batch_prediction_id(run, 1)
    >>> a == batch_prediction_id(run, 0), a < b, prediction_id_time(b) == prediction_id_time(run)
    (True, True, True)
    """
    return batch_prediction_ids(run_id, index, 1)[0]


def batch_prediction_ids(run_id: str, start: int, n: int) -> list[str]:
    """The ids of rows ``start`` to ``start + n - 1`` of run ``run_id`` (see
    :func:`batch_prediction_id`). The row index fills the last 40 bits, which are exactly the
    id's last 8 characters, so the rest is encoded once.

    >>> ids = batch_prediction_ids("01ARZ3NDEKTSV4RRFFQ69G5FAV", 31, 2)
    >>> [i[-8:] for i in ids], ids[0][:18]
    (['0000000Z', '00000010'], '01ARZ3NDEKTSV4RRFF')
    """
    if start < 0 or start + n > (1 << _INDEX_BITS):
        raise ValueError(f"row indices {start}..{start + n} are outside 0..2**{_INDEX_BITS}")
    prefix = str(ULID.from_str(run_id.upper()))[:18]
    pair = _PAIRS
    return [
        prefix + pair[i >> 30] + pair[(i >> 20) & 1023] + pair[(i >> 10) & 1023] + pair[i & 1023]
        for i in range(start, start + n)
    ]


def new_prediction_id(now: float) -> str:
    """A ULID for time ``now`` from this process's generator (see :class:`PredictionIds`)."""
    return _DEFAULT_IDS.new(now)


def prediction_id_time(prediction_id: str) -> float:
    """The time (seconds since the epoch) encoded in a prediction id.

    Raises :class:`ValueError` when ``prediction_id`` is not a ULID (wrong length or
    characters), so a truncated or made-up id is never taken for a recent one.

    >>> prediction_id_time("01ARZ3NDEKTSV4RRFFQ69G5FAV")
    1469922850.259
    >>> prediction_id_time("01ARZ3NDEK")
    Traceback (most recent call last):
    ...
    ValueError: not a prediction id (a 26-character ULID): '01ARZ3NDEK'
    """
    try:
        ms = ULID.from_str(prediction_id.upper()).milliseconds
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a prediction id (a 26-character ULID): {prediction_id!r}") from exc
    return ms / 1000.0


@dataclass(frozen=True)
class PredictionRecord:
    """Everything the log keeps about one answer. ``inputs`` is the raw, unredacted request
    instance: the sink redacts it before it is stored anywhere but the local spool."""

    prediction_id: str
    service: str
    version: int | None  # None when no version answered (kill switch, rules only)
    arm: str  # "production", or a rollout's "canary" / "shadow" (docs/rollouts.md)
    ts: float  # seconds since the epoch, when the request arrived
    inputs: Mapping[str, Any]
    label: str | None
    scores: Mapping[str, float] = field(default_factory=dict)
    confidence: float | None = None
    decision: str = "automatic"  # one of liveops.core.serving.decision.DECISIONS
    fallback: str | None = None  # what answered instead: "rules", "support-router@1", None
    reason: str | None = None  # the decision layer's reason string
    latency_ms: float = 0.0
    cost: float | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    error: str | None = None  # error code when the model failed (the answer came from fallback)
    caller: str | None = None
    segments: Mapping[str, str | None] = field(default_factory=dict)  # channel, plan, language...
    source: str = "live"  # "live" (the gateway) or "batch" (`liveops batch`): kept apart


class PredictionSink(Protocol):
    """Where the gateway puts answered predictions (implemented by the prediction log)."""

    def submit(self, records: Sequence[PredictionRecord]) -> None:
        """Make ``records`` durable on local disk and queue them for the database.

        Returns once they are in the spool (written, not necessarily fsynced: see the log's
        ``fsync_ms`` setting); never blocks on the database."""
        ...

    def issued(self, prediction_id: str) -> bool:
        """Whether this gateway (or the database) knows ``prediction_id``."""
        ...

    def stats(self) -> Mapping[str, float]:
        """Gauges for /metrics and /readyz: ``backlog`` (records not yet in the database),
        ``spool_bytes``, ``database_ok`` (1.0 or 0.0)."""
        ...

    def close(self) -> None:
        """Flush what can be flushed and stop the writer; the spool keeps the rest."""
        ...
