"""The gateway's heartbeat: a thread that writes one tick per interval with what it counted.

The request path only counts (:meth:`RequestCounts.add`: a dict increment under a lock, no
I/O); the :class:`TickWriter` thread takes the counts every ``tick_s`` and stores a tick for this
instance (see :mod:`liveops.core.heartbeat`). While the database cannot take them, ticks wait in
memory (at most ``max_pending``; beyond that the oldest are dropped and counted), so an outage
never touches serving and a short one loses no heartbeat. On a simulated clock (the gateway's
``--allow-time-override``) ticks follow the clock the requests move: every tick time passed is
written, so a week replayed in minutes has a week of heartbeats.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from liveops.core.clock import Clock
from liveops.core.heartbeat import due_ticks
from liveops.errors import LiveopsError
from liveops.store import Store

__all__ = ["RequestCounts", "TickWriter", "instance_id"]

log = logging.getLogger("liveops.gateway")


def instance_id() -> str:
    """This process's name in ``gateway_ticks``: host, pid and a random part (a restarted
    process with a reused pid is another instance)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class RequestCounts:
    """Requests and error statuses per service since the last tick (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int], int] = {}

    def add(self, service: str, status: int) -> None:
        key = (service, status)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def take(self) -> dict[str, dict[str, int]]:
        """The counts since the last call, as a tick stores them; starts counting afresh."""
        with self._lock:
            counts, self._counts = self._counts, {}
        out: dict[str, dict[str, int]] = {}
        for (service, status), n in counts.items():
            per = out.setdefault(service, {"requests": 0})
            per["requests"] += n
            if status >= 400:
                per[str(status)] = per.get(str(status), 0) + n
        return out


class TickWriter:
    """Writes this instance's ticks from a thread of its own (see the module's docstring)."""

    def __init__(
        self,
        store: Callable[[], Store | None],
        counts: RequestCounts,
        clock: Clock,
        interval_s: float,
        *,
        simulated: bool = False,
        max_pending: int = 8640,  # a day of 10 s ticks
        instance: str | None = None,
    ) -> None:
        self._store = store
        self.counts = counts
        self.clock = clock
        self.interval_s = interval_s
        self.simulated = simulated
        self.instance = instance or instance_id()
        self._pending: deque[dict[str, Any]] = deque()
        self._max_pending = max_pending
        self._last = clock.now()
        self._anchored = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.written = 0
        self.dropped = 0
        self.failures = 0

    @property
    def pending(self) -> int:
        return len(self._pending)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="liveops-ticks", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        """Stop the thread, write a last tick for the time since the previous one, and flush
        what is pending (once; whatever the database does not take now is lost)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.simulated and not self._anchored:
            return  # never told a time: nothing to write for a replay that did not start
        self.tick()  # a simulated clock may have moved since the thread last looked
        now = self.clock.now()
        elapsed = (now - self._last).total_seconds()
        # The last tick says the stop was clean, so the monitor does not count the time after
        # it as down (a crash writes no such tick). With no time since the previous tick, it
        # covers nothing, a microsecond later.
        at = now if elapsed > 0 else self._last + timedelta(microseconds=1)
        self._queue(at, max(elapsed, 0.0), stopped=True)
        self.flush()

    def _run(self) -> None:
        # A simulated clock can leap far between two wake-ups: look often.
        wait = min(self.interval_s, 0.2) if self.simulated else self.interval_s / 4
        while not self._stop.wait(wait):
            self.tick()

    def tick(self) -> int:
        """Queue the ticks due by now and try to store what is pending; how many were due."""
        if self.simulated and not self._anchored:
            # Ticks start where the replay starts (the first time a request told); before
            # that, the wall-clock time a simulated clock shows would mix into the replay's.
            first = getattr(self.clock, "first", None)
            if first is None:
                return 0
            self._last, self._anchored = first, True
        now = self.clock.now()
        due = due_ticks(self._last, now, self.interval_s, catch_up=self.simulated)
        for i, at in enumerate(due):
            # The counts go with the last tick due; on the wall clock the interval covers the
            # ticks a stall skipped, so the counts are not spread over heartbeats never written.
            interval = self.interval_s if self.simulated else (at - self._last).total_seconds()
            self._queue(at, interval, counts=i == len(due) - 1)
        if due:
            self._last = due[-1]
        if self._pending:
            self.flush()
        return len(due)

    def _queue(
        self, at: datetime, interval_s: float, *, counts: bool = True, stopped: bool = False
    ) -> None:
        if not self.simulated:
            interval_s = min(interval_s, self.interval_s)  # a stall is not a heartbeat
        self._pending.append(
            {
                "instance_id": self.instance,
                "tick_at": at,
                "interval_s": interval_s,
                "counts": self.counts.take() if counts else {},
                "stopped": stopped,
            }
        )
        while len(self._pending) > self._max_pending:
            self._pending.popleft()
            self.dropped += 1

    def flush(self) -> bool:
        """Store the pending ticks; False (and they stay pending) when the database cannot."""
        store = self._store()
        if store is None or not self._pending:
            return not self._pending
        batch = list(self._pending)
        try:
            store.ticks.insert(batch)
        except LiveopsError as exc:
            self.failures += 1
            if self.failures == 1 or self.failures % 100 == 0:
                log.warning("heartbeat ticks not stored (%d pending): %s", len(batch), exc)
            return False
        for _ in batch:
            self._pending.popleft()
        self.written += len(batch)
        return True
