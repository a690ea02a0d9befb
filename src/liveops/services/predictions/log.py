"""The prediction log of a gateway process: spool on submit, a writer that stores batches.

``submit`` redacts each record (so no personal data the detectors find reaches the disk), frames
it (orjson, with a CRC-32) and appends the batch to the spool in one write; it never touches the
database. The unredacted input of a service that keeps raw inputs goes to a separate raw spool,
written only then, whose segments the writer deletes as soon as they are stored. A
:class:`~liveops.services.predictions.writer.SpoolWriter` reads the spool from its committed
mark, stores batches and moves the mark: in a process of its own (the default), or in a thread
when the store is an in-memory SQLite database that another process cannot open. A crash loses
nothing: the next start replays the spool.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import orjson

from liveops.core.clock import Clock, SystemClock
from liveops.core.project import LoggingSpec, ServiceSpec
from liveops.core.serving.prediction import PredictionRecord, prediction_id_time
from liveops.errors import ConflictError
from liveops.services.predictions.redaction import InputRedactor
from liveops.services.predictions.spool import (
    SpoolReader,
    claim_spool,
    encode_frame,
    free_spools,
)
from liveops.services.predictions.writer import (
    COUNTERS,
    STATUS,
    WRITER_LOCK,
    SpoolWriter,
    WriterSettings,
    decode_record,
)
from liveops.store import Store

__all__ = ["LogSettings", "PredictionLog", "open_prediction_log"]

log = logging.getLogger("liveops.predictions")
_KINDS = ("predictions", "feedback", "raw")


@dataclass(frozen=True)
class LogSettings:
    """How the log spools and writes. ``services`` holds each service's ``logging:`` block."""

    fsync_ms: int = 200  # 0: fsync every batch before submit returns
    segment_bytes: int = 16 * 1024 * 1024
    batch_max: int = 2000
    flush_interval_s: float = 0.2
    issued_cache: int = 200_000
    retry_max_s: float = 2.0
    busy_timeout_ms: int = 1000
    close_timeout_s: float = 5.0
    retention_interval_s: float = 3600.0  # the writer's raw-input retention pass; 0: off
    # Feedback on a recent id another gateway process issued: how long to wait for its row.
    sibling_wait_s: float = 5.0
    sibling_wait_recent_s: float = 60.0
    writer: Literal["auto", "process", "thread"] = "auto"  # auto: a process unless in-memory
    services: Mapping[str, LoggingSpec] = field(default_factory=dict)

    @classmethod
    def for_services(cls, specs: Iterable[ServiceSpec], **overrides: Any) -> LogSettings:
        """Settings from the services' ``logging:`` blocks: the spool is shared, so it fsyncs
        as often as the strictest service asks."""
        by_name = {s.name: s.logging_settings() for s in specs}
        fsync = min((s.fsync_ms for s in by_name.values()), default=cls.fsync_ms)
        return replace(cls(fsync_ms=fsync, services=by_name), **overrides)

    def for_writer(self) -> WriterSettings:
        return WriterSettings(
            batch_max=self.batch_max,
            flush_interval_s=self.flush_interval_s,
            retry_max_s=self.retry_max_s,
            busy_timeout_ms=self.busy_timeout_ms,
            close_timeout_s=self.close_timeout_s,
            fsync_ms=self.fsync_ms,
            retention_interval_s=self.retention_interval_s,
            services=dict(self.services),
        )


def _json_default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _encode(record: PredictionRecord, redactions: int | None = None) -> bytes:
    """The record's frame; ``redactions`` None: not redacted (the form older versions
    spooled, which the writer redacts)."""
    body = orjson.dumps(record, default=_json_default)
    if redactions is None:
        return encode_frame(body)
    # The record is a JSON object: its redaction count goes in as one more key, which also
    # tells the writer that the record is redacted already.
    return encode_frame(body[:-1] + b',"redactions":%d}' % redactions)


def _encode_raw(record: PredictionRecord, retention_days: float) -> bytes:
    expires = record.ts + retention_days * 86400.0
    raw = {
        "prediction_id": record.prediction_id,
        "service": record.service,
        "inputs": record.inputs,
        "expires_at": expires,
    }
    return encode_frame(orjson.dumps(raw, default=_json_default))


class PredictionLog:
    """The :class:`~liveops.core.serving.prediction.PredictionSink` of a gateway process."""

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
        self._spool = claim_spool(
            spool_root / "predictions", segment_bytes=self._settings.segment_bytes
        )
        self._feedback_spool = claim_spool(spool_root / "feedback")
        services = self._settings.services
        self._redactor = InputRedactor({n: s.patterns() for n, s in services.items()})
        self._raw_days = {n: s.raw_retention_days for n, s in services.items() if s.raw_inputs}
        # Unredacted inputs only ever go to disk for a service that keeps them.
        self._raw_spool = (
            claim_spool(spool_root / "raw", segment_bytes=1 << 20, shared_delete=True)
            if self._raw_days
            else None
        )
        self._raw_submitted = 0
        self._lock = threading.Lock()
        self._issued: OrderedDict[str, str] = OrderedDict()  # id -> service
        self._submitted = 0
        self._deferred = 0
        self._closed = False
        _wait_for_earlier_writer(self._spool.folder)
        left = self._left()  # claimed now, so that no other process drains them too
        self._replayed, self._feedback_replayed, self._raw_replayed = self._scan_left_behind(left)
        self._base = dict.fromkeys(COUNTERS, 0.0)  # counters of writer processes that died
        url = store.engine.url.render_as_string(hide_password=False)
        in_memory = url in ("sqlite://", "sqlite:///:memory:") or ":memory:" in url
        mode = self._settings.writer
        self._process_mode = mode == "process" or (mode == "auto" and not in_memory)
        self._status_path = self._spool.folder / STATUS
        with contextlib.suppress(FileNotFoundError):
            self._status_path.unlink()  # a dead writer's counters are not ours
        self._thread_writer: SpoolWriter | None = None
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._stop_asked = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._watcher: threading.Thread | None = None
        self._restarts = 0
        self._token = ""
        if self._process_mode:
            self._start_process(left)
            self._watcher = threading.Thread(
                target=self._watch, name="liveops-log-watch", daemon=True
            )
            self._watcher.start()
        else:
            self._start_thread(left)

    # --- PredictionSink -----------------------------------------------------------------

    def submit(self, records: Sequence[PredictionRecord]) -> None:
        """Append ``records`` to the spool in one write; the writer stores them later."""
        if not records:
            return
        frames = b"".join([self._redacted_frame(r) for r in records])
        raw_days = self._raw_days
        raw = [_encode_raw(r, raw_days[r.service]) for r in records if r.service in raw_days]
        with self._lock:
            if self._closed:
                raise ConflictError(
                    "the prediction log is closed", hint="open a new log to submit records"
                )
            if raw and self._raw_spool is not None:
                self._raw_spool.append(b"".join(raw))
                self._raw_submitted += len(raw)
            self._spool.append(frames)
            self._submitted += len(records)
            self._remember((r.prediction_id, r.service) for r in records)
        if self._settings.fsync_ms == 0:
            self._spool.fsync()
            if raw and self._raw_spool is not None:
                self._raw_spool.fsync()

    def _redacted_frame(self, r: PredictionRecord) -> bytes:
        """The record's frame with its input, segments and caller redacted: segments come
        from the inputs and the caller from a header, and both are stored like the input."""
        redact = self._redactor.redact
        inputs, n = redact(r.service, r.inputs)
        segments, n_segments = redact(r.service, r.segments) if r.segments else ({}, 0)
        caller, n_caller = r.caller, 0
        if caller is not None:
            masked, n_caller = redact(r.service, {"caller": caller})
            caller = masked["caller"]
        count = n + n_segments + n_caller
        if count == 0:  # nothing masked: the record as it is (no copy on the request path)
            return _encode(r, 0)
        return _encode(replace(r, inputs=inputs, segments=segments, caller=caller), count)

    def issued(self, prediction_id: str) -> bool:
        """Whether this process logged ``prediction_id`` recently, or the database has it.

        An id made in the last ``sibling_wait_recent_s`` that neither knows may come from
        another gateway process (a sibling worker, another replica) whose writer has not
        stored it yet: the database is asked again for up to ``sibling_wait_s``. Raises
        :class:`~liveops.errors.StoreUnavailableError` when only the database could tell and
        it cannot be reached."""
        exists = self._store.predictions.exists
        if self.issued_locally(prediction_id) or exists(prediction_id):
            return True
        try:
            age = time.time() - prediction_id_time(prediction_id)
        except (KeyError, ValueError):  # not a ULID: never issued
            return False
        if not -5.0 <= age <= self._settings.sibling_wait_recent_s:
            return False
        deadline = time.monotonic() + self._settings.sibling_wait_s
        while time.monotonic() < deadline:
            time.sleep(0.05)
            if self.issued_locally(prediction_id) or exists(prediction_id):
                return True
        return False

    def issued_locally(self, prediction_id: str) -> bool:
        """Whether this process logged (or found in a spool it replays) ``prediction_id``."""
        return prediction_id in self._issued

    def service_of(self, prediction_id: str) -> str | None:
        """The service of an id this process logged recently (feedback checks its labels)."""
        return self._issued.get(prediction_id)

    def stats(self) -> dict[str, float]:
        """``backlog``, ``spool_bytes``, ``database_ok`` and counters, for /metrics."""
        st = self._writer_status()
        c = {k: float(st.get(k, 0)) + self._base[k] for k in COUNTERS}
        done = c["written_total"] + c["rejected_total"] + c["skipped_total"]
        with self._lock:
            backlog = max(0.0, self._replayed + self._submitted - done)
            fb_done = c["feedback_written_total"] + c["feedback_dropped_total"]
            fb_backlog = max(0.0, self._feedback_replayed + self._deferred - fb_done)
            raw_done = c["raw_written_total"] + c["raw_skipped_total"]
            raw_backlog = max(0.0, self._raw_replayed + self._raw_submitted - raw_done)
            submitted = float(self._submitted)
        out: dict[str, float] = {
            "backlog": backlog,
            "feedback_backlog": fb_backlog,
            "raw_backlog": raw_backlog,
            "database_ok": 1.0 if st.get("database_ok", True) else 0.0,
            "submitted_total": submitted,
            "replayed_total": float(self._replayed),
            "writer_restarts_total": float(self._restarts),
            **c,
        }
        roots = [self._root / kind for kind in _KINDS]
        out["spool_bytes"] = float(
            sum(SpoolReader(f, live=True).bytes_on_disk() for r in roots for f in _dirs(r))
        )
        return out

    def close(self) -> None:
        """Store what can be stored within ``close_timeout_s``, then stop; the spool keeps the
        rest for the next start."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._spool.close(release=False)  # keep the folder until the writer is done with it
        self._feedback_spool.close(release=False)
        if self._raw_spool is not None:
            self._raw_spool.close(release=False)
        limit = self._settings.close_timeout_s + self._settings.retry_max_s + 5
        if self._process_mode:
            self._send(b"s")
            proc = self._proc
            if proc is not None:
                try:
                    proc.wait(limit)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
            if self._sock is not None:
                self._sock.close()
        else:
            self._stop_asked = True
            self._wake.set()
            if self._thread is not None:
                self._thread.join(limit)
        self._spool.close()
        self._feedback_spool.close()
        if self._raw_spool is not None:
            self._raw_spool.close()

    # --- beyond the protocol ------------------------------------------------------------

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Wait until everything submitted (and deferred feedback) is in the database; returns
        False if that did not happen within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            st = self.stats()
            if st["backlog"] == 0 and st["feedback_backlog"] == 0 and st["raw_backlog"] == 0:
                return True
            if time.monotonic() > deadline:
                return False
            self._nudge()
            time.sleep(0.02)

    def defer_feedback(self, payload: Mapping[str, Any]) -> None:
        """Spool feedback that the database cannot take now; the writer applies it later."""
        self._feedback_spool.append(encode_frame(orjson.dumps(dict(payload))))
        self._feedback_spool.fsync()  # feedback is rare: make it durable before answering
        with self._lock:
            self._deferred += 1
        self._nudge()

    @property
    def spool_folder(self) -> Path:
        return self._spool.folder

    # --- internals ----------------------------------------------------------------------

    def _remember(self, ids: Iterable[tuple[str, str]]) -> None:
        issued, cap = self._issued, self._settings.issued_cache
        for pid, service in ids:
            issued[pid] = service
        while len(issued) > cap:
            issued.popitem(last=False)

    def _scan_left_behind(self, left: Sequence[tuple[str, Path, int]]) -> tuple[int, int, int]:
        """Count what earlier processes spooled and the database may not have (the writer
        replays it) and remember its ids, so feedback on those answers is accepted."""
        folders = self._own() + [(kind, folder) for kind, folder, _ in left]
        counts = dict.fromkeys(_KINDS, 0)
        for kind, folder in folders:
            reader = SpoolReader(folder, live=False)
            for frame in reader.pending():
                if not frame.payload:
                    continue
                counts[kind] += 1
                if kind == "predictions":
                    with contextlib.suppress(orjson.JSONDecodeError, TypeError):
                        rec = decode_record(frame.payload)
                        self._remember([(rec.prediction_id, rec.service)])
            if reader.torn_bytes:
                log.warning(
                    "spool %s: skipping a torn tail of %d bytes (a write cut off by a crash)",
                    folder,
                    reader.torn_bytes,
                )
        return counts["predictions"], counts["feedback"], counts["raw"]

    def _own(self) -> list[tuple[str, Path]]:
        own = [("predictions", self._spool.folder), ("feedback", self._feedback_spool.folder)]
        if self._raw_spool is not None:
            own.append(("raw", self._raw_spool.folder))
        return own

    def _left(self) -> list[tuple[str, Path, int]]:
        """Left-behind folders, locked now for the writer that will drain them."""
        out: list[tuple[str, Path, int]] = []
        for kind in _KINDS:
            out += [(kind, folder, fd) for folder, fd in free_spools(self._root / kind)]
        return out

    def _start_thread(self, left: list[tuple[str, Path, int]]) -> None:
        writer = SpoolWriter(
            self._store, self._settings.for_writer(), self._own(), left, clock=self._clock
        )

        def wait(timeout: float) -> str | None:
            self._wake.wait(timeout)
            self._wake.clear()
            return "stop" if self._stop_asked else None

        self._thread_writer = writer
        self._thread = threading.Thread(
            target=writer.run, args=(wait,), name="liveops-log-writer", daemon=True
        )
        self._thread.start()

    def _start_process(self, left: list[tuple[str, Path, int]]) -> None:
        self._token = os.urandom(8).hex()
        ours, theirs = socket.socketpair()
        spec = {
            "url": self._store.engine.url.render_as_string(hide_password=False),
            "root": str(self._store.artifacts.root),
            "settings": self._settings.for_writer().to_json().decode(),
            "own": [[k, str(p)] for k, p in self._own()],
            "left": [[k, str(p), fd] for k, p, fd in left],
            "status": str(self._status_path),
            "token": self._token,
            "parent": os.getpid(),
        }
        code = "from liveops.services.predictions.writer import child_main; child_main()"
        # The spec (with the database URL and its password) goes over the inherited socket,
        # never on the command line or in the environment, which other users or a process
        # listing may see; the child needs no database variable of ours either.
        env = {k: v for k, v in os.environ.items() if k != "LIVEOPS_DATABASE_URL"}
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", code, str(theirs.fileno())],
                pass_fds=(theirs.fileno(), *(fd for _, _, fd in left)),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=env,
                # Not in the gateway's process group: Ctrl-C or a SIGTERM sent to the group
                # stops the gateway, which then tells its writer to store what is left.
                start_new_session=True,
            )
        finally:
            theirs.close()
            for _, _, fd in left:
                os.close(fd)  # the writer holds these locks now
        payload = orjson.dumps(spec)
        with contextlib.suppress(OSError):  # a writer that died at once is started again
            ours.sendall(len(payload).to_bytes(4, "little") + payload)
        self._sock = ours

    def _watch(self) -> None:
        """Start the writer process again if it dies while the log is open."""
        while True:
            proc = self._proc
            if proc is None:
                return
            code = proc.wait()
            with self._lock:
                if self._closed:
                    return
            log.error("the prediction log writer exited (%s); starting it again", code)
            time.sleep(min(5.0, 0.5 * (self._restarts + 1)))
            with self._lock:
                if self._closed:
                    return
                self._restarts += 1
            if self._sock is not None:
                self._sock.close()
            last = self._writer_status()
            for k in COUNTERS:
                self._base[k] += float(last.get(k, 0))
            self._start_process(self._left())

    def _send(self, data: bytes) -> None:
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.send(data)

    def _nudge(self) -> None:
        if self._process_mode:
            self._send(b"w")
        else:
            self._wake.set()

    def _writer_status(self) -> Mapping[str, Any]:
        if self._thread_writer is not None:
            return self._thread_writer.status()
        try:
            data: dict[str, Any] = orjson.loads(self._status_path.read_bytes())
            if data.get("token") == self._token:
                return data
        except (FileNotFoundError, orjson.JSONDecodeError):
            pass
        # Not started yet (or the status is an earlier writer's): nothing stored by ours yet.
        return {"database_ok": False}


def _dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.exists() else []


def _wait_for_earlier_writer(folder: Path, timeout_s: float = 30.0) -> None:
    """Wait until no writer process of an earlier gateway works on ``folder``: one whose
    gateway died finishes the batch it is in and exits (it checks every batch). Counting
    what is left before then would count records it is about to store."""
    import fcntl

    fd = os.open(folder / WRITER_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    log.warning("an earlier log writer still works on %s; going on", folder)
                    return
                time.sleep(0.05)
    finally:
        os.close(fd)


def open_prediction_log(
    store: Store,
    project_dir: Path,
    settings: LogSettings | None = None,
    *,
    clock: Clock | None = None,
) -> PredictionLog:
    """Open the prediction log of a gateway process: claim a spool folder under
    ``PROJECT/.liveops/spool/``, count what earlier processes left there, start the writer.

    >>> import tempfile
    >>> from liveops.core.serving.prediction import PredictionRecord, new_prediction_id
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
