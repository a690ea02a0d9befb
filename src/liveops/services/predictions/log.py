"""The prediction log: spool on submit, a writer thread that stores batches, replay on start.

``submit`` frames each record (orjson, with a CRC-32), appends the batch to the spool in one
write and queues the records in memory; it never touches the database. The writer thread takes
up to ``batch_max`` records at a time (at least every ``flush_interval_s``), redacts their
inputs, inserts them in one transaction that skips ids already stored, then moves the spool's
committed mark so that fully stored segments are deleted. When the database is down or locked it
keeps the batch, backs off (up to ``retry_max_s``) and tries again; the spool holds everything
meanwhile, so a crash loses nothing either: the next start replays it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from liveops.core.clock import Clock, SystemClock
from liveops.core.prediction import PredictionRecord
from liveops.core.project import LoggingSpec, ServiceSpec
from liveops.errors import ConflictError, StoreUnavailableError
from liveops.services.predictions.redaction import InputRedactor
from liveops.services.predictions.spool import Spool, claim_spool, encode_frame, free_spools
from liveops.store import Store

__all__ = ["LogSettings", "PredictionLog", "open_prediction_log"]

log = logging.getLogger("liveops.predictions")

_FIELDS = {f.name for f in fields(PredictionRecord)}
_TYPED_SEGMENTS = ("channel", "plan", "language")


@dataclass(frozen=True)
class LogSettings:
    """How the log spools and writes. ``services`` holds each service's ``logging:`` block."""

    fsync_ms: int = 200  # 0: fsync every batch before submit returns
    segment_bytes: int = 16 * 1024 * 1024
    batch_max: int = 2000
    flush_interval_s: float = 0.2
    issued_cache: int = 200_000
    max_queue_records: int = 100_000  # beyond this the writer reads back from the spool
    retry_max_s: float = 2.0
    busy_timeout_ms: int = 1000
    close_timeout_s: float = 5.0
    services: Mapping[str, LoggingSpec] = field(default_factory=dict)

    @classmethod
    def for_services(cls, specs: Iterable[ServiceSpec], **overrides: Any) -> LogSettings:
        """Settings from the services' ``logging:`` blocks: the spool is shared, so it fsyncs
        as often as the strictest service asks."""
        by_name = {s.name: s.logging_settings() for s in specs}
        fsync = min((s.fsync_ms for s in by_name.values()), default=cls.fsync_ms)
        return replace(cls(fsync_ms=fsync, services=by_name), **overrides)


@dataclass
class _Item:
    spool: Spool
    segment: int
    end: int
    records: list[PredictionRecord]


def _json_default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _encode(record: PredictionRecord) -> bytes:
    return encode_frame(orjson.dumps(record, default=_json_default))


def _decode(payload: bytes) -> PredictionRecord:
    data = orjson.loads(payload)
    return PredictionRecord(**{k: v for k, v in data.items() if k in _FIELDS})


def _cut(value: str | None, n: int) -> str | None:
    return value if value is None or len(value) <= n else value[:n]


class PredictionLog:
    """The :class:`~liveops.core.prediction.PredictionSink` of a gateway process."""

    def __init__(
        self,
        store: Store,
        spool_root: Path,
        settings: LogSettings | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._store = store
        self._settings = settings or LogSettings()
        self._clock = clock or SystemClock()
        self._root = spool_root
        self._redactor = InputRedactor(
            {name: spec.patterns() for name, spec in self._settings.services.items()}
        )
        self._spool = claim_spool(
            spool_root / "predictions", segment_bytes=self._settings.segment_bytes
        )
        self._feedback_spool = claim_spool(spool_root / "feedback")
        self._queue: deque[_Item] = deque()
        self._feedback: deque[tuple[Spool, int, int, dict[str, Any]]] = deque()
        self._cond = threading.Condition()
        self._submit_lock = threading.Lock()
        self._issued: OrderedDict[str, None] = OrderedDict()
        self._stopping = False
        self._stop_event = threading.Event()
        self._closed = False
        self._backlog = 0  # records submitted (or replayed) and not yet stored
        self._in_memory = 0  # of which queued in memory
        self._spilled: tuple[int, int] | None = None  # where records only in the spool start
        self._feedback_backlog = 0
        self._counters = {
            "submitted_total": 0,
            "written_total": 0,
            "replayed_total": 0,
            "rejected_total": 0,
            "write_errors_total": 0,
            "batches_total": 0,
            "feedback_written_total": 0,
            "feedback_dropped_total": 0,
        }
        self._database_ok = True
        self._foreign: list[Spool] = []
        self._replay()
        self._writer = threading.Thread(target=self._run, name="liveops-log-writer", daemon=True)
        self._writer.start()
        self._fsyncer: threading.Thread | None = None
        if self._settings.fsync_ms > 0:
            self._fsyncer = threading.Thread(
                target=self._fsync_loop, name="liveops-log-fsync", daemon=True
            )
            self._fsyncer.start()

    # --- PredictionSink -----------------------------------------------------------------

    def submit(self, records: Sequence[PredictionRecord]) -> None:
        """Append ``records`` to the spool (one write) and queue them for the database."""
        if not records:
            return
        frames = b"".join([_encode(r) for r in records])
        with self._submit_lock:
            if self._closed:
                raise ConflictError(
                    "the prediction log is closed", hint="open a new log to submit records"
                )
            segment, end = self._spool.append(frames)
            with self._cond:
                n = len(records)
                if self._spilled is None and self._in_memory + n > self._settings.max_queue_records:
                    # Memory is full (a long outage): keep the rest in the spool only.
                    self._spilled = (segment, end - len(frames))
                if self._spilled is None:
                    self._queue.append(_Item(self._spool, segment, end, list(records)))
                    self._in_memory += n
                self._backlog += n
                self._counters["submitted_total"] += len(records)
                if self._backlog >= self._settings.batch_max:
                    self._cond.notify()
            self._remember(r.prediction_id for r in records)
        if self._settings.fsync_ms == 0:
            self._spool.fsync()

    def issued(self, prediction_id: str) -> bool:
        """Whether this process logged ``prediction_id`` recently, or the database has it.

        Raises :class:`~liveops.errors.StoreUnavailableError` when only the database could
        tell and it cannot be reached."""
        return self.issued_locally(prediction_id) or self._store.predictions.exists(prediction_id)

    def issued_locally(self, prediction_id: str) -> bool:
        """Whether this process logged (or replayed) ``prediction_id`` recently."""
        return prediction_id in self._issued

    def stats(self) -> dict[str, float]:
        """``backlog``, ``spool_bytes``, ``database_ok`` and counters, for /metrics."""
        with self._cond:
            out: dict[str, float] = {
                "backlog": float(self._backlog),
                "feedback_backlog": float(self._feedback_backlog),
                "database_ok": 1.0 if self._database_ok else 0.0,
            }
            out.update({k: float(v) for k, v in self._counters.items()})
        spools = [self._spool, self._feedback_spool, *self._foreign]
        out["spool_bytes"] = float(sum(s.bytes_on_disk() for s in spools))
        return out

    def close(self) -> None:
        """Store what can be stored within ``close_timeout_s``, then stop; the spool keeps the
        rest for the next start."""
        with self._submit_lock:
            if self._closed:
                return
            self._closed = True
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._writer.join(self._settings.close_timeout_s + self._settings.retry_max_s + 5)
        self._stop_event.set()
        if self._fsyncer is not None:
            self._fsyncer.join(5)
        for spool in (self._spool, self._feedback_spool, *self._foreign):
            spool.close()

    # --- beyond the protocol ------------------------------------------------------------

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Wait until everything submitted (and deferred feedback) is in the database; returns
        False if that did not happen within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            self._cond.notify_all()
            while self._backlog or self._feedback_backlog or self._spilled is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def spilled(self) -> bool:
        """Whether some records wait only in the spool (the in-memory queue was full)."""
        with self._cond:
            return self._spilled is not None

    def defer_feedback(self, payload: Mapping[str, Any]) -> None:
        """Spool feedback that the database cannot take now; the writer applies it later."""
        data = dict(payload)
        segment, end = self._feedback_spool.append(encode_frame(orjson.dumps(data)))
        self._feedback_spool.fsync()  # feedback is rare: make it durable before answering
        with self._cond:
            self._feedback.append((self._feedback_spool, segment, end, data))
            self._feedback_backlog += 1
            self._cond.notify()

    @property
    def spool_folder(self) -> Path:
        return self._spool.folder

    # --- internals ----------------------------------------------------------------------

    def _remember(self, ids: Iterable[str]) -> None:
        issued, cap = self._issued, self._settings.issued_cache
        for pid in ids:
            issued[pid] = None
        while len(issued) > cap:
            issued.popitem(last=False)

    def _replay(self) -> None:
        """Queue what earlier processes spooled and the database may not have."""
        spools = [self._spool, *free_spools(self._root / "predictions")]
        cap = self._settings.max_queue_records
        for spool in spools:
            count = 0
            start: tuple[int, int] | None = None
            for frame in spool.pending():
                if self._spilled is not None and spool is self._spool:
                    count += 1  # read back lazily by the writer; counted in the backlog now
                    continue
                if spool is self._spool and self._in_memory >= cap and start is not None:
                    # The rest is read back lazily, as after a spill (bounded memory).
                    self._spilled = start if start[0] == frame.segment else (frame.segment, 0)
                    count += 1
                    continue
                start = (frame.segment, frame.end)
                try:
                    record = _decode(frame.payload)
                except (orjson.JSONDecodeError, TypeError) as exc:
                    log.warning("skipping an unreadable spooled record: %s", exc)
                    continue
                self._queue.append(_Item(spool, frame.segment, frame.end, [record]))
                self._remember([record.prediction_id])
                self._in_memory += 1
                count += 1
            self._backlog += count
            self._counters["replayed_total"] += count
            if spool is not self._spool:
                self._foreign.append(spool)
            if spool.torn_bytes:
                log.warning(
                    "spool %s: skipped a torn tail of %d bytes (a write cut off by a crash)",
                    spool.folder,
                    spool.torn_bytes,
                )
        for spool in [self._feedback_spool, *free_spools(self._root / "feedback")]:
            for frame in spool.pending():
                with contextlib.suppress(orjson.JSONDecodeError):
                    data = orjson.loads(frame.payload)
                    self._feedback.append((spool, frame.segment, frame.end, data))
                    self._feedback_backlog += 1
            if spool is not self._feedback_spool:
                self._foreign.append(spool)

    def _take(self) -> list[_Item]:
        items: list[_Item] = []
        n = 0
        while self._queue and n < self._settings.batch_max:
            item = self._queue.popleft()
            items.append(item)
            n += len(item.records)
        self._in_memory -= n
        return items

    def _refill(self) -> None:
        """Read back records that only the spool holds, once the memory queue is empty."""
        with self._cond:
            if self._queue or self._spilled is None:
                return
            segment, offset = self._spilled
        frames = self._spool.read_from(segment, offset, 256 * self._settings.batch_max)
        items: list[_Item] = []
        for frame in frames:
            try:
                items.append(_Item(self._spool, frame.segment, frame.end, [_decode(frame.payload)]))
            except (orjson.JSONDecodeError, TypeError) as exc:
                log.warning("skipping an unreadable spooled record: %s", exc)
        with self._submit_lock, self._cond:
            if frames:
                self._spilled = (frames[-1].segment, frames[-1].end)
            self._queue.extend(items)
            self._in_memory += len(items)
            if self._spilled is not None and self._spilled >= self._spool.position():
                self._spilled = None  # caught up: submit queues in memory again
            elif self._spilled is not None and not frames:
                # Nothing readable where the spill started (e.g. a rotation): move on.
                active, _ = self._spool.position()
                if self._spilled[0] < active:
                    self._spilled = (self._spilled[0] + 1, 0)

    def _run(self) -> None:
        deadline: float | None = None
        while True:
            with self._cond:
                idle = not self._queue and not self._feedback and self._spilled is None
                if idle and not self._stopping:
                    self._cond.wait(self._settings.flush_interval_s)
                if self._stopping and deadline is None:
                    deadline = time.monotonic() + self._settings.close_timeout_s
                done = not self._queue and not self._feedback and self._spilled is None
                if self._stopping and (done or time.monotonic() > (deadline or 0)):
                    break
                items = self._take()
            if items and not self._write(items, deadline):
                with self._cond:
                    self._queue.extendleft(reversed(items))
                    self._in_memory += sum(len(i.records) for i in items)
                break
            if self._feedback:
                self._apply_feedback(deadline, limit=100)
            self._refill()
        self._release_foreign()

    def _write(self, items: list[_Item], deadline: float | None) -> bool:
        """Store ``items``; on an outage retry until it works (or the close deadline)."""
        rows, raw_rows = self._rows(items)
        delay = 0.05
        while True:
            try:
                self._insert(rows, raw_rows)
                break
            except StoreUnavailableError as exc:
                self._outage(exc)
            if deadline is not None and time.monotonic() + delay > deadline:
                return False
            self._stop_event.wait(delay)
            delay = min(delay * 2, self._settings.retry_max_s)
            if deadline is None and self._stopping:
                deadline = time.monotonic() + self._settings.close_timeout_s
        n = sum(len(i.records) for i in items)
        marks: dict[int, tuple[Spool, int, int]] = {}
        for item in items:
            marks[id(item.spool)] = (item.spool, item.segment, item.end)
        for spool, segment, end in marks.values():
            spool.commit(segment, end)
        with self._cond:
            self._database_ok = True
            self._backlog -= n
            self._counters["written_total"] += n
            self._counters["batches_total"] += 1
            self._cond.notify_all()
        return True

    def _insert(self, rows: list[dict[str, Any]], raw_rows: list[dict[str, Any]]) -> None:
        """Insert; a batch the database refuses for its content is split to find the bad
        rows, which go to ``rejected.jsonl`` beside the spool instead of blocking the log."""
        store = self._store.predictions
        try:
            store.insert_batch(rows, raw_rows, busy_timeout_ms=self._settings.busy_timeout_ms)
            return
        except StoreUnavailableError:
            raise
        except Exception as exc:
            if not store.ping():
                raise StoreUnavailableError(
                    f"the database failed during a log write: {exc}"
                ) from exc
            if len(rows) <= 1:
                self._reject(rows, raw_rows, exc)
                return
        half = len(rows) // 2
        for part in (rows[:half], rows[half:]):
            ids = {r["prediction_id"] for r in part}
            self._insert(part, [r for r in raw_rows if r["prediction_id"] in ids])

    def _reject(
        self, rows: list[dict[str, Any]], raw_rows: list[dict[str, Any]], exc: Exception
    ) -> None:
        log.error("the database refused a prediction record: %s", exc)
        path = self._root / "rejected.jsonl"
        with path.open("ab") as fh:
            for row in rows:
                fh.write(orjson.dumps({"row": row, "error": str(exc)}, default=str) + b"\n")
        with self._cond:
            self._counters["rejected_total"] += len(rows)

    def _outage(self, exc: Exception) -> None:
        with self._cond:
            if self._database_ok:
                log.warning("prediction log: database unavailable, spooling: %s", exc)
            self._database_ok = False
            self._counters["write_errors_total"] += 1

    def _rows(self, items: list[_Item]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        now = self._clock.now()
        rows: list[dict[str, Any]] = []
        raw_rows: list[dict[str, Any]] = []
        for item in items:
            for r in item.records:
                rows.append(self._row(r, now))
                spec = self._settings.services.get(r.service)
                if spec is not None and spec.raw_inputs:
                    ts = datetime.fromtimestamp(r.ts, UTC)
                    raw_rows.append(
                        {
                            "prediction_id": r.prediction_id,
                            "service": r.service,
                            "inputs": dict(r.inputs),
                            "expires_at": ts + timedelta(days=spec.raw_retention_days),
                        }
                    )
        return rows, raw_rows

    def _row(self, r: PredictionRecord, now: datetime) -> dict[str, Any]:
        inputs, redactions = self._redactor.redact(r.service, r.inputs)
        segments = dict(r.segments)
        extra = {k: v for k, v in segments.items() if k not in _TYPED_SEGMENTS}
        return {
            "prediction_id": r.prediction_id,
            "service": r.service,
            "version": r.version,
            "arm": _cut(r.arm, 32) or "",
            "ts": datetime.fromtimestamp(r.ts, UTC),
            "label": _cut(r.label, 200),
            "confidence": r.confidence,
            "decision": _cut(r.decision, 32) or "",
            "fallback": _cut(r.fallback, 200),
            "reason": r.reason,
            "latency_ms": float(r.latency_ms),
            "cost": r.cost,
            "tokens_in": r.tokens_in,
            "tokens_out": r.tokens_out,
            "error": _cut(r.error, 200),
            "caller": _cut(r.caller, 200),
            "channel": _cut(segments.get("channel"), 64),
            "plan": _cut(segments.get("plan"), 64),
            "language": _cut(segments.get("language"), 64),
            "segments": extra or None,
            "scores": dict(r.scores),
            "inputs": inputs,
            "redactions": redactions,
            "logged_at": now,
        }

    def _apply_feedback(self, deadline: float | None, limit: int) -> None:
        from liveops.services.predictions.feedback import apply_deferred_feedback

        for _ in range(limit):
            with self._cond:
                if not self._feedback:
                    return
                spool, segment, end, data = self._feedback[0]
            try:
                stored = apply_deferred_feedback(self._store, data, self.issued_locally)
            except StoreUnavailableError as exc:
                self._outage(exc)
                if deadline is None:
                    self._stop_event.wait(0.2)
                return
            spool.commit(segment, end)
            with self._cond:
                self._feedback.popleft()
                self._feedback_backlog -= 1
                key = "feedback_written_total" if stored else "feedback_dropped_total"
                self._counters[key] += 1
                self._cond.notify_all()

    def _release_foreign(self) -> None:
        for spool in self._foreign:
            if spool.all_committed():
                spool.remove()

    def _fsync_loop(self) -> None:
        interval = self._settings.fsync_ms / 1000
        while not self._stop_event.wait(interval):
            for spool in (self._spool, self._feedback_spool):
                with contextlib.suppress(OSError):
                    spool.fsync()


def open_prediction_log(
    store: Store,
    project_dir: Path,
    settings: LogSettings | None = None,
    *,
    clock: Clock | None = None,
) -> PredictionLog:
    """Open the prediction log of a gateway process: claim a spool folder under
    ``PROJECT/.liveops/spool/``, queue what earlier processes left there, start the writer.

    >>> import tempfile
    >>> from liveops.core.prediction import PredictionRecord, new_prediction_id
    >>> from liveops.store import open_store
    >>> folder = Path(tempfile.mkdtemp())
    >>> store = open_store("sqlite://", project_dir=folder)
    >>> plog = open_prediction_log(store, folder)
    >>> pid = new_prediction_id(time.time())
    >>> plog.submit([PredictionRecord(pid, "echo", 1, "production", time.time(),
    ...                               {"text": "mail me at ana@example.com"}, "a")])
    >>> plog.issued(pid), plog.flush(), store.predictions.get(pid)["inputs"]
    (True, True, {'text': 'mail me at [EMAIL]'})
    >>> plog.close()
    """
    return PredictionLog(store, project_dir / ".liveops" / "spool", settings, clock)
