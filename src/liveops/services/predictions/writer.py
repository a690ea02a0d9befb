"""The log writer: reads spooled records (redacted by the gateway), stores them in batches.

It runs beside a gateway process, in a process of its own by default: a gateway is one Python
process on one core, and storing a few thousand rows a second (redaction, encoding, the
database driver) in a thread there took a third of the gateway's throughput under load, mostly
by holding its GIL. A writer process takes that to the other core; only redaction and the
spool's append stay on the request path (redaction there, so that no personal data the
detectors find is ever written to disk; records spooled by older versions are redacted here).
An in-memory SQLite store (which another process cannot open) gets a writer thread instead;
both run :meth:`SpoolWriter.run`.

The writer reads frames from each folder's committed mark on (its own folder, and folders that
crashed or earlier processes left, which it deletes once drained), inserts up to ``batch_max``
records in one transaction that skips ids already stored, then moves the mark. When the
database is down or locked it keeps the batch, backs off up to ``retry_max_s`` and tries again;
the spool holds everything meanwhile. Deferred feedback is applied once the predictions before
it are stored. Raw inputs (of services that keep them) come from a raw spool folder whose
segments are deleted as soon as they are stored, the one being appended to included. When the
gateway stops, the writer stores what it can and deletes every segment it stored. Its counters
go to ``writer.json`` in the gateway's folder (a process) or stay in memory (a thread); the
gateway reads them for ``/metrics`` and ``flush``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from liveops.core.clock import Clock, SystemClock
from liveops.core.project import LoggingSpec
from liveops.core.serving.prediction import PredictionRecord
from liveops.errors import StoreUnavailableError
from liveops.services.predictions.redaction import InputRedactor
from liveops.services.predictions.rows import record_rows
from liveops.services.predictions.spool import Frame, SpoolReader
from liveops.store import Store

__all__ = ["SpoolWriter", "WriterSettings", "decode_record"]

log = logging.getLogger("liveops.predictions")

STATUS = "writer.json"
WRITER_LOCK = "writer.lock"  # held by the folder's writer process while it runs
_FIELDS = set(PredictionRecord.__dataclass_fields__)
COUNTERS = (
    "passes_total",  # rounds over the spool folders (the first one replays what was left)
    "written_total",
    "rejected_total",
    "skipped_total",
    "write_errors_total",
    "batches_total",
    "feedback_written_total",
    "feedback_dropped_total",
    "raw_purged_total",  # raw inputs deleted by the retention pass
    "raw_written_total",  # raw inputs stored from the raw spool
    "raw_skipped_total",  # unreadable raw spool frames
)


@dataclass(frozen=True)
class WriterSettings:
    """What the writer needs of :class:`~liveops.services.predictions.LogSettings`."""

    batch_max: int = 2000
    flush_interval_s: float = 0.2
    retry_max_s: float = 2.0
    busy_timeout_ms: int = 1000
    close_timeout_s: float = 5.0
    fsync_ms: int = 200
    retention_interval_s: float = 3600.0  # 0: no retention pass (run `predictions purge`)
    services: Mapping[str, LoggingSpec] = field(default_factory=dict)

    def to_json(self) -> bytes:
        data = asdict(self)
        data["services"] = {k: v.model_dump() for k, v in self.services.items()}
        return orjson.dumps(data)

    @classmethod
    def from_json(cls, raw: bytes) -> WriterSettings:
        data = orjson.loads(raw)
        data["services"] = {k: LoggingSpec(**v) for k, v in data["services"].items()}
        return cls(**data)


def decode_record(payload: bytes) -> PredictionRecord:
    return decode_spooled(payload)[0]


def decode_spooled(payload: bytes) -> tuple[PredictionRecord, int | None]:
    """The record and its redaction count; None when it was spooled unredacted (by a version
    that redacted in the writer)."""
    data = orjson.loads(payload)
    n = data.get("redactions")
    record = PredictionRecord(**{k: v for k, v in data.items() if k in _FIELDS})
    return record, n if isinstance(n, int) else None


@dataclass
class _Folder:
    reader: SpoolReader
    lock_fd: int | None  # held while a left-behind folder is drained; None for the own folder
    kind: str  # "predictions" | "feedback"


class SpoolWriter:
    """Drains spool folders into the database; :meth:`run` until ``stop`` is set."""

    def __init__(
        self,
        store: Store,
        settings: WriterSettings,
        own: Sequence[tuple[str, Path]],  # (kind, folder) of the gateway's own folders
        left: Sequence[tuple[str, Path, int]],  # (kind, folder, lock fd) to drain and delete
        *,
        clock: Clock | None = None,
        status_path: Path | None = None,
        token: str = "",
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock or SystemClock()
        self.status_path = status_path
        self.token = token  # names this writer in its status (another may have written there)
        self.redactor = InputRedactor({n: s.patterns() for n, s in settings.services.items()})
        self.folders = [
            _Folder(SpoolReader(p, live=True, shared_delete=kind == "raw"), None, kind)
            for kind, p in own
        ]
        self.folders += [_Folder(SpoolReader(p, live=False), fd, k) for k, p, fd in left]
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.database_ok = True
        self.appender_done = False  # set when the gateway closed its spool: nothing more comes
        self.gone = False  # the gateway process died
        self.deadline: float | None = None  # set at "stop": drain until then
        self._wait: Callable[[float], str | None] | None = None
        self._status_written = 0.0
        self._fsync_due = 0.0
        self._retention_due = time.monotonic() + min(60.0, settings.retention_interval_s)

    # --- the loop -----------------------------------------------------------------------

    def run(self, wait: Callable[[float], str | None]) -> None:
        """Write until ``wait(timeout)`` (which sleeps until woken or the timeout passes)
        says ``"stop"`` (drain for at most ``close_timeout_s``, then return) or ``"gone"``
        (the gateway died: return at once; its successor replays the folder)."""
        self._wait = wait
        while not self.gone:
            busy = self._pass()
            self._maybe_fsync()
            if not busy:
                self._maybe_purge()
            self._publish(force=not busy)
            if busy:
                self._on(wait(0))  # a long drain still hears a stop, or its gateway's death
            if self.deadline is not None and (not busy or time.monotonic() > self.deadline):
                break
            if not busy and self.deadline is None:
                timeout = self.settings.flush_interval_s
                if self.settings.fsync_ms > 0:
                    timeout = min(timeout, self.settings.fsync_ms / 1000)
                self._on(wait(timeout))
        if self.appender_done and not self.gone:
            for f in self.folders:  # the gateway stopped: no stored segment stays on disk
                f.reader.prune()
        self._publish(force=True)
        self._release()

    def _on(self, said: str | None) -> None:
        if said == "gone":
            self.gone = True
        elif said == "stop" and not self.appender_done:
            self.appender_done = True
            self.deadline = time.monotonic() + self.settings.close_timeout_s
            for f in self.folders:
                f.reader.live = False

    def _sleep(self, seconds: float) -> None:
        """Back off, still hearing the gateway (a stop or its death ends the wait)."""
        if self._wait is None:
            time.sleep(seconds)
        else:
            self._on(self._wait(seconds))
        self._maybe_fsync()

    def _maybe_fsync(self) -> None:
        if self.settings.fsync_ms > 0 and time.monotonic() >= self._fsync_due:
            self._fsync_own()
            self._fsync_due = time.monotonic() + self.settings.fsync_ms / 1000

    def _maybe_purge(self) -> None:
        """Enforce raw-input retention every ``retention_interval_s``, between batches, so a
        gateway left running needs no cron job. Several replicas purging is harmless (each
        delete is idempotent); a failure waits for the next round and never stops the log."""
        interval = self.settings.retention_interval_s
        if interval <= 0 or time.monotonic() < self._retention_due:
            return
        self._retention_due = time.monotonic() + interval
        from liveops.services.predictions.retention import purge_raw_inputs

        try:
            report = purge_raw_inputs(self.store, clock=self.clock)
        except StoreUnavailableError as exc:
            self._retention_due = time.monotonic() + min(interval, 60.0)
            log.warning("raw-input retention pass postponed: %s", exc)
            return
        except Exception:  # a bad service spec must not stop the prediction log
            log.exception("raw-input retention pass failed; the next one runs in %.0f s", interval)
            return
        self.counters["raw_purged_total"] += report.deleted
        if report.deleted:
            log.info("raw-input retention: deleted %d expired raw inputs", report.deleted)

    def _pass(self) -> bool:
        """One round over the folders; True if anything was read (more may be waiting)."""
        self.counters["passes_total"] += 1
        busy = False
        caught_up = True
        for f in self.folders:
            if f.kind == "raw":
                busy = self._store_raw(f) or busy
                continue
            if f.kind != "predictions":
                continue
            frames = f.reader.pending(limit_bytes=self.settings.batch_max * 1024)
            frames = frames[: self.settings.batch_max]
            if not frames:
                continue
            busy = True
            if not self._store_frames(f, frames):
                return False  # the database is away: back off (inside) and come back later
            caught_up = False
        if caught_up:
            for f in self.folders:
                if f.kind == "feedback" and self._feedback(f):
                    busy = True
        self._drop_drained()
        return busy

    def _store_raw(self, f: _Folder) -> bool:
        """Store a batch of the raw spool (its segments go as soon as they are stored)."""
        frames = f.reader.pending(limit_bytes=self.settings.batch_max * 1024)
        frames = frames[: self.settings.batch_max]
        if not frames:
            return False
        raw_rows: list[dict[str, Any]] = []
        for frame in frames:
            if not frame.payload:
                continue
            try:
                data = orjson.loads(frame.payload)
                raw_rows.append(
                    {
                        "prediction_id": str(data["prediction_id"]),
                        "service": str(data["service"]),
                        "inputs": dict(data["inputs"]),
                        "expires_at": datetime.fromtimestamp(float(data["expires_at"]), UTC),
                    }
                )
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                log.warning("skipping an unreadable spooled raw input: %s", exc)
                self.counters["raw_skipped_total"] += 1
        if not self._write_batch([], raw_rows):
            return False
        last = frames[-1]
        f.reader.commit(last.segment, last.end)
        self.counters["raw_written_total"] += len(raw_rows)
        return True

    def _write_batch(self, rows: list[dict[str, Any]], raw_rows: list[dict[str, Any]]) -> bool:
        """Insert, retrying while the database is away; False if the writer must stop first."""
        delay = 0.05
        while True:
            try:
                self._insert(rows, raw_rows)
                return True
            except StoreUnavailableError as exc:
                self._outage(exc)
            deadline = self.deadline
            if self.gone or (deadline is not None and time.monotonic() + delay > deadline):
                return False
            self._sleep(delay)
            delay = min(delay * 2, self.settings.retry_max_s)

    def _store_frames(self, f: _Folder, frames: list[Frame]) -> bool:
        records: list[tuple[PredictionRecord, int | None]] = []
        for frame in frames:
            if not frame.payload:
                continue  # a torn tail: skipped, the mark moves past it
            try:
                records.append(decode_spooled(frame.payload))
            except (orjson.JSONDecodeError, TypeError) as exc:
                log.warning("skipping an unreadable spooled record: %s", exc)
                self.counters["skipped_total"] += 1
        rows, raw_rows = self._rows(records)
        if not self._write_batch(rows, raw_rows):
            return False
        last = frames[-1]
        f.reader.commit(last.segment, last.end)
        self.database_ok = True
        self.counters["written_total"] += len(rows)
        self.counters["batches_total"] += 1
        return True

    def _insert(self, rows: list[dict[str, Any]], raw_rows: list[dict[str, Any]]) -> None:
        """Insert; a batch the database refuses for its content is split to find the bad
        rows, which go to ``rejected.jsonl`` beside the spool instead of blocking the log."""
        store = self.store.predictions
        try:
            store.insert_batch(rows, raw_rows, busy_timeout_ms=self.settings.busy_timeout_ms)
            return
        except StoreUnavailableError:
            raise
        except Exception as exc:
            if not store.ping():
                raise StoreUnavailableError(
                    f"the database failed during a log write: {exc}"
                ) from exc
            if len(rows) <= 1:
                self._reject(rows, exc)
                return
        half = len(rows) // 2
        for part in (rows[:half], rows[half:]):
            ids = {r["prediction_id"] for r in part}
            self._insert(part, [r for r in raw_rows if r["prediction_id"] in ids])

    def _reject(self, rows: list[dict[str, Any]], exc: Exception) -> None:
        log.error("the database refused a prediction record: %s", exc)
        folder = self.folders[0].reader.folder.parent.parent
        with (folder / "rejected.jsonl").open("ab") as fh:
            for row in rows:
                fh.write(orjson.dumps({"row": row, "error": str(exc)}, default=str) + b"\n")
        self.counters["rejected_total"] += len(rows)
        self.counters["written_total"] -= len(rows)  # counted as written by the caller

    def _outage(self, exc: Exception) -> None:
        if self.database_ok:
            log.warning("prediction log: database unavailable, spooling: %s", exc)
        self.database_ok = False
        self.counters["write_errors_total"] += 1
        self._publish(force=True)

    def _feedback(self, f: _Folder) -> bool:
        from liveops.services.predictions.feedback import apply_deferred_feedback

        frames = f.reader.pending(limit_bytes=1 << 20)[:100]
        for frame in frames:
            if frame.payload:
                try:
                    data = orjson.loads(frame.payload)
                except orjson.JSONDecodeError:
                    data = None
                if data is not None:
                    try:
                        # Every prediction spooled before this feedback is stored by now, so an
                        # unverified id that is not in the database was never issued.
                        stored = apply_deferred_feedback(self.store, data, lambda _pid: False)
                    except StoreUnavailableError as exc:
                        self._outage(exc)
                        if self.deadline is None:
                            self._sleep(0.2)
                        return False
                    key = "feedback_written_total" if stored else "feedback_dropped_total"
                    self.counters[key] += 1
            f.reader.commit(frame.segment, frame.end)
        return bool(frames)

    def _rows(
        self, records: Sequence[tuple[PredictionRecord, int | None]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return record_rows(records, self.redactor, self.settings.services, self.clock.now())

    # --- housekeeping -------------------------------------------------------------------

    def _fsync_own(self) -> None:
        """fsync the gateway's newest segments (any descriptor of a file syncs its data)."""
        for f in self.folders:
            if f.lock_fd is not None:
                continue
            seg = max((int(p.stem) for p in f.reader.folder.glob("*.seg")), default=None)
            if seg is None:
                continue
            with contextlib.suppress(OSError):
                fd = os.open(f.reader.folder / f"{seg:012d}.seg", os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)

    def _drop_drained(self) -> None:
        """Delete left-behind folders once everything in them is stored."""
        keep: list[_Folder] = []
        for f in self.folders:
            if f.lock_fd is not None and not f.reader.pending(limit_bytes=1):
                f.reader.remove()
                os.close(f.lock_fd)
                continue
            keep.append(f)
        self.folders = keep

    def _release(self) -> None:
        for f in self.folders:
            if f.lock_fd is not None:
                os.close(f.lock_fd)
                f.lock_fd = None

    def status(self) -> dict[str, Any]:
        return {**self.counters, "database_ok": self.database_ok, "token": self.token}

    def _publish(self, *, force: bool) -> None:
        if self.status_path is None:
            return
        now = time.monotonic()
        if not force and now - self._status_written < 0.05:
            return
        self._status_written = now
        tmp = self.status_path.with_suffix(".tmp")
        with contextlib.suppress(OSError):
            tmp.write_bytes(orjson.dumps(self.status()))
            os.replace(tmp, self.status_path)


def child_main() -> None:
    """The writer process: ``python -c '...child_main()' FD`` (see ``PredictionLog``)."""
    import fcntl
    import selectors
    import signal
    import socket
    import sys

    # A service manager stops the whole group (systemd's SIGTERM to every process of the
    # unit): the writer stops when its gateway says so, or dies, after storing what it can.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    from liveops.store import open_store

    logging.basicConfig(level=logging.INFO, format="liveops log writer: %(message)s")
    sock = socket.socket(fileno=int(sys.argv[1]))
    spec = _read_spec(sock)
    if spec is None:
        return  # the gateway died before it sent the spec
    # One writer per folder: a writer whose gateway died may still be finishing its batch.
    held = os.open(Path(spec["own"][0][1]) / WRITER_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(held, fcntl.LOCK_EX)
    if os.getppid() != spec["parent"]:
        return  # the gateway died while this started: its successor counts and replays all
    delay = 0.1
    while True:  # the database may be away when the gateway starts: the spool holds on
        try:
            store = open_store(spec["url"], artifacts_root=Path(spec["root"]), upgrade=False)
            break
        except StoreUnavailableError as exc:
            if os.getppid() != spec["parent"]:
                return
            log.warning("waiting for the database: %s", exc.message)
            status = {**dict.fromkeys(COUNTERS, 0), "database_ok": False, "token": spec["token"]}
            with contextlib.suppress(OSError):
                Path(spec["status"]).write_bytes(orjson.dumps(status))
            time.sleep(delay)
            delay = min(2 * delay, 5.0)
    writer = SpoolWriter(
        store,
        WriterSettings.from_json(spec["settings"].encode()),
        [(k, Path(p)) for k, p in spec["own"]],
        [(k, Path(p), int(fd)) for k, p, fd in spec["left"]],
        status_path=Path(spec["status"]),
        token=spec["token"],
    )
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ)

    parent = spec["parent"]

    def wait(timeout: float) -> str | None:
        """ "stop" when the gateway says so, "gone" when it died, else None (woken or timed
        out)."""
        for _ in sel.select(timeout):
            try:
                data = sock.recv(4096)
            except OSError:
                return "gone"
            if not data:
                return "gone"
            if b"s" in data:
                return "stop"
        return "gone" if os.getppid() != parent else None

    try:
        writer.run(wait)
    finally:
        store.close()


def _read_spec(sock: Any) -> dict[str, Any] | None:
    """The writer's spec, sent first on the socket as a length and a JSON object."""

    def exactly(n: int) -> bytes | None:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    head = exactly(4)
    body = exactly(int.from_bytes(head, "little")) if head is not None else None
    if body is None:
        return None
    spec: dict[str, Any] = orjson.loads(body)
    return spec
