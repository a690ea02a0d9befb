"""Delivering the outbox: each row to its receiver, at least once, in the order it was queued.

A round takes every receiver's undelivered rows oldest first. A row is *claimed* before it is
sent (a conditional update: two senders never send the same row at once) and marked delivered
after the receiver accepted it, so a key is never delivered successfully twice by liveops; a
sender that dies between the two leaves a claim that runs out, and the row is sent again
(at least once: receivers deduplicate on the idempotency key every payload carries). A
receiver that fails (an error status, a refused connection, a timeout) gets the row again after
a backoff (30 s doubling up to 30 min) and its later rows wait behind it, so it receives them in
order once it is back. Sending runs in its own thread (:class:`OutboxSender`, started by
``liveops serve``), never in the monitor's pass.

Several serving processes may each start a sender: a lease (the same kind of row with an owner
and an expiry as the monitor's pass takes) lets one of them send and the others skip their
turn, so receivers see one sender and one order. The claims above still keep a row from being
sent twice should two senders ever overlap (a lease that ran out under a slow receiver).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from liveops.core.alerting.rules import ReceiverSpec
from liveops.core.clock import Clock, SystemClock
from liveops.errors import StoreUnavailableError, UsageError
from liveops.services.alerts.receivers import deliver
from liveops.store import Store
from liveops.store.alerts import OutboxRow

__all__ = [
    "BACKOFF_MAX_S",
    "BACKOFF_S",
    "LEASE",
    "Delivery",
    "OutboxSender",
    "backoff",
    "send_outbox",
]

log = logging.getLogger(__name__)
BACKOFF_S = 30.0
BACKOFF_MAX_S = 1800.0
CLAIM_S = 300.0  # longer than any receiver's timeout
LEASE = "alert-sender"  # one sender at a time across processes (the monitor's lease table)


def backoff(attempts: int) -> float:
    """Seconds before the next attempt after ``attempts`` failures.

    >>> [backoff(n) for n in (1, 2, 3, 10)]
    [30.0, 60.0, 120.0, 1800.0]
    """
    return float(min(BACKOFF_MAX_S, BACKOFF_S * 2 ** max(0, attempts - 1)))


@dataclass
class Delivery:
    """What one round did."""

    delivered: list[str] = field(default_factory=list)  # keys
    failed: dict[str, str] = field(default_factory=dict)  # key -> error
    waiting: int = 0  # rows left for a later round

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def send_outbox(
    store: Store,
    *,
    clock: Clock,
    env: Mapping[str, str] | None = None,
    receiver: str | None = None,
) -> Delivery:
    """One round over the undelivered rows (of ``receiver``, or all)."""
    env = os.environ if env is None else env
    specs = store.alerts.receivers()
    out = Delivery()
    blocked: set[str] = set()
    for row in store.alerts.undelivered(clock.now()):
        if receiver is not None and row.receiver != receiver:
            continue
        if row.receiver in blocked or row.next_attempt_at > clock.now():
            blocked.add(row.receiver)  # order: nothing after a row that must wait
            out.waiting += 1
            continue
        spec_dict = specs.get(row.receiver)
        if spec_dict is None:
            if store.alerts.claim(row.id, clock.now(), CLAIM_S):
                _fail(store, row, f"receiver {row.receiver!r} is no longer declared", clock)
            out.failed[row.key] = "receiver not declared"
            blocked.add(row.receiver)
            continue
        if not store.alerts.claim(row.id, clock.now(), CLAIM_S):
            continue  # another sender has it
        error = _send(row, ReceiverSpec.model_validate(spec_dict), env, clock.now())
        if error is None:
            store.alerts.delivered(row.id, clock.now())
            out.delivered.append(row.key)
        else:
            _fail(store, row, error, clock)
            out.failed[row.key] = error
            blocked.add(row.receiver)
    return out


def _send(row: OutboxRow, spec: ReceiverSpec, env: Mapping[str, str], now: datetime) -> str | None:
    try:
        deliver(spec, row.key, row.kind, row.payload, env, now)
    except Exception as exc:  # any failure is retried: a receiver's error must not stop others
        return f"{type(exc).__name__}: {exc}"[:500]
    return None


def _fail(store: Store, row: OutboxRow, error: str, clock: Clock) -> None:
    wait = timedelta(seconds=backoff(row.attempts + 1))
    store.alerts.failed(row.id, error, clock.now() + wait)
    log.warning("alert to %s not delivered (attempt %d): %s", row.receiver, row.attempts + 1, error)


class OutboxSender:
    """Sends the outbox every ``every_s`` seconds in a daemon thread (``liveops serve``).

    It keeps one store open (opened again after a failure) and takes the sender's lease only
    when a row is due, so an idle sender reads once a turn and writes nothing. A round that
    fails (the database away) is logged and tried again next turn.
    """

    def __init__(
        self,
        open_store: Callable[[], Store],
        every_s: float = 5.0,
        *,
        clock: Clock | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if every_s <= 0:
            raise UsageError("the sender's interval must be positive")
        self._open_store = open_store
        self.every_s = every_s
        self.clock = clock or SystemClock()
        self.env = env
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        # Longer than a round can take (every row of a round may wait its receiver's timeout,
        # at most 120 s), renewed every round.
        self.lease_s = max(180.0, 3 * every_s)
        self.skipped: str | None = None  # why the last turn sent nothing (another holds the lease)
        self._away = False  # the database did not answer last turn (said once, not every turn)
        self._store: Store | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="liveops-alerts", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.close()

    def close(self) -> None:
        """Give the lease back and close the store."""
        store, self._store = self._store, None
        if store is None:
            return
        try:
            store.monitoring.release(LEASE, self.owner)
        except Exception:
            log.warning("alert sender: could not give its lease back (it runs out by itself)")
        finally:
            store.close()

    def run_once(self) -> Delivery | None:
        """One turn: None when nothing was due, another sender holds the lease, or it failed."""
        self.skipped = None
        try:
            if self._store is None:
                self._store = self._open_store()
            store = self._store
            now = self.clock.now()
            got: Delivery | None = None
            if store.alerts.any_due(now):  # idle: one indexed read, no lease, nothing written
                if store.monitoring.acquire(LEASE, self.owner, now, self.lease_s):
                    got = send_outbox(store, clock=self.clock, env=self.env)
                else:
                    holder = store.monitoring.lease_holder(LEASE)
                    self.skipped = f"another sender ({holder[0] if holder else 'unknown'}) sends"
        except StoreUnavailableError as exc:
            # Expected while the database is away (a gateway starts before it answers): one
            # line when it goes, one when it is back; the notifications wait in the outbox.
            if not self._away:
                log.warning("alert sender: %s; trying again every %g s", exc.message, self.every_s)
            self._away = True
            self._drop_store()
            return None
        except Exception:
            log.exception("alert sender round failed; trying again next turn")
            self._drop_store()
            return None
        if self._away:
            log.warning("alert sender: the database answers again")
            self._away = False
        return got

    def _drop_store(self) -> None:
        broken, self._store = self._store, None
        if broken is not None:
            broken.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.every_s)
