"""Clocks: code that needs the time takes one, so tests and replays can inject their own.

>>> c = FixedClock(datetime(2026, 1, 1, tzinfo=UTC)); c.advance(60); c.now().minute
1
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


class AdvancingClock:
    """A simulated clock that callers move forward: the latest time it was told, never going
    back; the wall clock until it is first told. A gateway started with
    ``--allow-time-override`` runs on one, so a replay of a week sets the time of every request,
    log record, feedback and heartbeat.

    >>> c = AdvancingClock()
    >>> c.advance_to(datetime(2026, 1, 1, 12, tzinfo=UTC)).hour
    12
    >>> c.advance_to(datetime(2026, 1, 1, 9, tzinfo=UTC)).hour  # an earlier time leaves it
    12
    """

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self._now: datetime | None = None
        self.first: datetime | None = None  # the first time it was told: a replay's start

    def now(self) -> datetime:
        current = self._now
        return current if current is not None else datetime.now(UTC)

    def advance_to(self, at: datetime) -> datetime:
        """Move to ``at`` if it is later than now; the clock's time afterwards."""
        with self._lock:
            if self._now is None or at > self._now:
                self._now = at
            if self.first is None:
                self.first = at
            return self._now
