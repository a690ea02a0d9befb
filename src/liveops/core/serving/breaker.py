"""A circuit breaker: after repeated model failures, stop asking the model for a while.

Closed (normal) until ``failures`` consecutive failures; then open: :meth:`allow` is False and
the gateway answers from the fallback straight away. After ``reset_after_s`` one trial request
is let through (half-open); its success closes the breaker, its failure opens it again. A trial
that reports neither (it was refused with a 429, say) is given up after another
``reset_after_s`` and a new one is let through, so the breaker never stays half-open for good.
The clock is a function returning seconds (``time.monotonic`` in the gateway).

>>> now = [0.0]
>>> b = CircuitBreaker(failures=2, reset_after_s=10, clock=lambda: now[0])
>>> b.record_failure(); b.allow()
True
>>> b.record_failure(); b.allow(), b.state
(False, 'open')
>>> now[0] = 11.0
>>> b.allow(), b.allow(), b.state
(True, False, 'half_open')
>>> now[0] = 22.0  # the trial never reported: another one goes
>>> b.allow(), b.allow()
(True, False)
>>> b.record_success(); b.state
'closed'
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Literal

__all__ = ["BreakerState", "CircuitBreaker"]

BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """Thread-safe; cheap enough to consult on every request."""

    def __init__(
        self, *, failures: int = 5, reset_after_s: float = 10.0, clock: Callable[[], float]
    ) -> None:
        if failures < 1 or reset_after_s <= 0:
            raise ValueError("failures must be >= 1 and reset_after_s > 0")
        self.failures = failures
        self.reset_after_s = reset_after_s
        self._clock = clock
        self._lock = threading.Lock()
        self._count = 0
        self._opened_at = 0.0
        self._state: BreakerState = "closed"
        self._trial_out = False
        self._trial_at = 0.0

    @property
    def state(self) -> BreakerState:
        return self._state

    def allow(self) -> bool:
        """Whether the model may be asked now."""
        if self._state == "closed":
            return True
        with self._lock:
            if self._state == "open" and self._clock() - self._opened_at >= self.reset_after_s:
                self._state, self._trial_out = "half_open", False
            if self._state == "half_open" and (
                not self._trial_out or self._clock() - self._trial_at >= self.reset_after_s
            ):
                self._trial_out, self._trial_at = True, self._clock()
                return True
            return False

    def record_success(self) -> None:
        if self._state == "closed" and self._count == 0:
            return
        with self._lock:
            self._count, self._state, self._trial_out = 0, "closed", False

    def record_failure(self) -> None:
        with self._lock:
            self._count += 1
            if self._state == "half_open" or self._count >= self.failures:
                self._state, self._opened_at, self._trial_out = "open", self._clock(), False
