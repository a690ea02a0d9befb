"""The gateway's key check: an in-memory cache of the keys, per-key rate limits, and a limit
on failed attempts per client address.

Every request hashes the key it carries (SHA-256) and looks the hash up in a dict: no database
query, whether the key is known or not, so guessing keys costs the database nothing. The cache
is refreshed by the gateway's poller thread (:meth:`Authenticator.refresh`, every ``poll_s``):
one cheap query tells whether any key was created or revoked since, so a revoke reaches every
replica within a poll or two. Expiry is checked per request against the clock, so an expired
key stops at once. Last-used times are gathered in memory and stored by the poller.

>>> import tempfile
>>> from pathlib import Path
>>> from liveops.store import open_store
>>> from liveops.services.access import create_key
>>> store = open_store("sqlite://", artifacts_root=Path(tempfile.mkdtemp()))
>>> token = create_key(store, "ci", role="viewer", owner="ann", actor="ann").token
>>> auth = Authenticator()
>>> auth.refresh(store)
>>> auth.check(token, "read", "10.0.0.1").owner
'ann'
>>> auth.check(token, "predict", "10.0.0.1")
Traceback (most recent call last):
...
liveops.errors.ForbiddenError: the key 'ci' (role viewer) may not predict
  hint: use a key whose role allows it (docs/access.md has the table)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from liveops.core.access import ROLE_PERMISSIONS, TokenBucket, key_hash
from liveops.core.clock import Clock, SystemClock
from liveops.errors import (
    ForbiddenError,
    ModelUnavailableError,
    RateLimitedError,
    UnauthenticatedError,
)
from liveops.store import Store

__all__ = ["Authenticator", "Principal", "bearer_token"]

log = logging.getLogger("liveops.gateway")

FAILURE_RATE = 5.0  # failed attempts per second and client address, after a burst of ...
FAILURE_BURST = 20.0
MAX_ADDRESSES = 10_000  # failure buckets kept; beyond it they are all dropped (memory bound)


@dataclass(frozen=True)
class Principal:
    """Who a request's key belongs to; the actor of what it does is ``owner``."""

    key_id: str
    name: str
    role: str
    owner: str
    permissions: frozenset[str]
    expires_at: float | None  # seconds since the epoch
    rate_per_s: float | None


def bearer_token(authorization: str | None, key_header: str | None) -> str | None:
    """The key of a request: ``Authorization: Bearer KEY`` or ``X-Liveops-Key: KEY``.

    >>> bearer_token("Bearer lo_abc", None), bearer_token(None, "lo_abc"), bearer_token(None, None)
    ('lo_abc', 'lo_abc', None)
    """
    if key_header:
        return key_header.strip()
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return ""  # a header of another kind: a malformed key, not a missing one
    return None


class Authenticator:
    """Checks keys from memory; :meth:`refresh` (the poller thread) keeps it current.

    ``rate_per_s`` / ``burst``: the default per-key limit (a key's own ``rate_per_s`` wins);
    None means none. ``monotonic`` measures the buckets; ``clock`` judges expiry."""

    def __init__(
        self,
        *,
        rate_per_s: float | None = None,
        burst: float | None = None,
        clock: Clock | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.clock: Clock = clock or SystemClock()
        self._mono = monotonic
        self._by_hash: dict[str, Principal] = {}  # replaced whole by refresh, read per request
        self._stamp: tuple[int, int, object] | None = None
        self._buckets: dict[str, TokenBucket] = {}
        self._failures: dict[str, TokenBucket] = {}
        self._used: dict[str, float] = {}  # key id -> monotonic time of its last request
        self._lock = threading.Lock()  # refresh vs. itself (tests call it from several threads)
        self.loaded = False
        self.refused = 0  # failed attempts (401 and the 429s of too many of them)

    @property
    def keys(self) -> int:
        return len(self._by_hash)

    # --- the poller thread ----------------------------------------------------------------

    def refresh(self, store: Store) -> None:
        """Re-read the keys if any was created or revoked; store last-used times."""
        with self._lock:
            stamp = store.keys.stamp()
            if stamp != self._stamp:
                table = {}
                for k in store.keys.usable():
                    table[k.hash] = Principal(
                        k.id,
                        k.name,
                        k.role,
                        k.owner,
                        ROLE_PERMISSIONS.get(k.role, frozenset()),
                        k.expires_at.timestamp() if k.expires_at else None,
                        k.rate_per_s,
                    )
                self._by_hash = table
                self._stamp = stamp
                live = {p.key_id for p in table.values()}
                self._buckets = {k: b for k, b in self._buckets.items() if k in live}
            self.loaded = True
            used, self._used = self._used, {}
        if used:
            mono, now = self._mono(), store.clock.now()
            try:
                store.keys.touch({k: now - timedelta(seconds=mono - t) for k, t in used.items()})
            except Exception as exc:  # a last-used time is not worth failing the poll
                log.warning("storing keys' last use failed: %s", exc)

    # --- the request path -----------------------------------------------------------------

    def check(self, token: str | None, permission: str, client: str) -> Principal:
        """The principal of ``token`` if it may do ``permission``; raises 401, 403 or 429 (and
        503 before the keys were first read). Never puts the key in an error."""
        if not self.loaded:
            raise ModelUnavailableError(
                "the gateway has not read its API keys yet", hint="retry in a second"
            )
        now = self._mono()
        failures = self._failures.get(client)
        if failures is not None:
            wait = failures.wait(now)
            if wait > 0:  # refused before looking at the key: guessing gains nothing
                self.refused += 1
                raise RateLimitedError(
                    "too many requests with a missing or wrong API key from this address",
                    retry_after_s=wait,
                    hint="send a valid key (`liveops keys create` makes one)",
                )
        principal = self._by_hash.get(key_hash(token)) if token else None
        if principal is None or (
            principal.expires_at is not None
            and self.clock.now().timestamp() >= principal.expires_at
        ):
            self._failed(client, now)
            if token is None:
                raise UnauthenticatedError(
                    "this route needs an API key",
                    hint="send Authorization: Bearer KEY (`liveops keys create NAME --role ROLE "
                    "--owner PERSON` makes one)",
                )
            raise UnauthenticatedError(
                "the API key is unknown, revoked or expired",
                hint="check the key; `liveops keys list` shows the keys and their state",
            )
        if permission not in principal.permissions:
            raise ForbiddenError(
                f"the key {principal.name!r} (role {principal.role}) may not {permission}",
                hint="use a key whose role allows it (docs/access.md has the table)",
            )
        rate = principal.rate_per_s or self.rate_per_s
        if rate is not None:
            bucket = self._buckets.get(principal.key_id)
            if bucket is None:
                bucket = TokenBucket(rate, self.burst or max(1.0, rate))
                self._buckets[principal.key_id] = bucket
            wait = bucket.take(now)
            if wait > 0:
                raise RateLimitedError(
                    f"the key {principal.name!r} is over its rate limit ({rate:g}/s)",
                    retry_after_s=wait,
                    hint="retry after Retry-After seconds, or ask for a higher --rate",
                )
        self._used[principal.key_id] = now
        return principal

    def _failed(self, client: str, now: float) -> None:
        self.refused += 1
        bucket = self._failures.get(client)
        if bucket is None:
            if len(self._failures) >= MAX_ADDRESSES:
                self._failures = {}
            bucket = self._failures[client] = TokenBucket(FAILURE_RATE, FAILURE_BURST)
        bucket.take(now)
