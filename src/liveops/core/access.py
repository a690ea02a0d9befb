"""API keys and roles: the role x permission table, key tokens and their hashes, expiries and
the token bucket of the per-key rate limit. Pure: the store keeps the keys, the gateway checks
them (``services/access``, ``server/``).

The table below is the source of truth of who may do what; ``docs/access.md`` prints it and a
test keeps the two equal.

>>> allows("viewer", "read"), allows("viewer", "predict"), allows("admin", "manage_keys")
(True, False, True)
>>> token = new_token(); token.startswith("lo_") and len(token) == 46
True
>>> key_hash("lo_example")[:12]
'27062f41a2c9'
>>> parse_expiry("90d").days
90
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from liveops.errors import UsageError

__all__ = [
    "PERMISSIONS",
    "PUBLIC",
    "ROLES",
    "ROLE_PERMISSIONS",
    "TOKEN_PREFIX",
    "TokenBucket",
    "allows",
    "check_role",
    "key_hash",
    "new_token",
    "parse_expiry",
    "token_prefix",
]

# What a route may require. ``public`` routes (health, the OpenAPI document) need no key.
PUBLIC: Final = "public"
PERMISSIONS: Final[dict[str, str]] = {
    "predict": "answer requests (predict, Open Inference Protocol infer, model metadata), send "
    "feedback and outcomes",
    "read": "read everything, redacted: services, versions, aliases, datasets, runs, reviews, "
    "predictions without raw inputs, metrics, releases, rollouts, alerts, incidents, the "
    "monitor, /metrics",
    "review": "submit review scores",
    "operate": "the kill switch (disable, enable), move aliases, add datasets, rollouts, "
    "rollback, alerts (ack, silence), incidents",
    "approve": "approve releases (for the approval groups the key's owner is in)",
    "read_raw": "read the raw inputs of logged predictions",
    "manage_keys": "create, list and revoke API keys",
    "time_override": "send the X-Liveops-Time header (gateways started with --allow-time-override)",
}

_VIEWER = ("read",)
_REVIEWER = (*_VIEWER, "review")
_OPERATOR = (*_REVIEWER, "operate")
_APPROVER = (*_OPERATOR, "approve")
ROLE_PERMISSIONS: Final[dict[str, frozenset[str]]] = {
    "predictor": frozenset({"predict"}),
    "viewer": frozenset(_VIEWER),
    "reviewer": frozenset(_REVIEWER),
    "operator": frozenset(_OPERATOR),
    "approver": frozenset(_APPROVER),
    "admin": frozenset(PERMISSIONS),
}
ROLES: Final = tuple(ROLE_PERMISSIONS)

TOKEN_PREFIX: Final = "lo_"
PREFIX_CHARS: Final = 12  # what `keys list` shows and `keys revoke` takes: lo_ + 9 characters


def allows(role: str, permission: str) -> bool:
    """Whether ``role`` holds ``permission`` (every role holds ``public``)."""
    return permission == PUBLIC or permission in ROLE_PERMISSIONS.get(role, frozenset())


def check_role(role: str) -> str:
    """``role`` if it is one of :data:`ROLES`, else a usage error naming them."""
    if role not in ROLE_PERMISSIONS:
        raise UsageError(
            f"unknown role {role!r}",
            hint=f"choose one of: {', '.join(ROLES)} (docs/access.md says what each may do)",
        )
    return role


def new_token() -> str:
    """A new key: ``lo_`` and 43 URL-safe characters (256 random bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def key_hash(token: str) -> str:
    """The SHA-256 (hex) of a key: the only form the store keeps. A key is 256 random bits, so
    a plain hash is enough (a slow password hash would only slow every request)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def token_prefix(token: str) -> str:
    """The first characters of a key, shown by `keys list` to tell keys apart."""
    return token[:PREFIX_CHARS]


_EXPIRY = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_expiry(text: str) -> timedelta:
    """``90d``, ``12h``, ``2w``, ``30m`` or ``45s`` as a duration; a usage error otherwise.

    >>> parse_expiry("12h").total_seconds()
    43200.0
    """
    m = _EXPIRY.match(text)
    if not m or int(m[1]) <= 0:
        raise UsageError(
            f"--expires {text!r} is not a duration",
            hint="write a number and a unit: 90d, 12h, 2w, 30m or 45s",
        )
    return timedelta(seconds=int(m[1]) * _UNIT_S[m[2]])


@dataclass
class TokenBucket:
    """A token bucket: ``rate`` tokens per second up to ``burst``; each request takes one.

    ``take(now)`` returns 0.0 when the request may go on, else the seconds until a token is
    there (the Retry-After). ``now`` is any monotonic time in seconds.

    >>> b = TokenBucket(rate=1.0, burst=2.0)
    >>> b.take(0.0), b.take(0.0), b.take(0.0)
    (0.0, 0.0, 1.0)
    >>> b.take(1.0)
    0.0
    """

    rate: float
    burst: float
    tokens: float = -1.0
    at: float = 0.0

    def take(self, now: float) -> float:
        wait = self.wait(now)
        if wait == 0.0:
            self.tokens -= 1.0
        return wait

    def wait(self, now: float) -> float:
        """Like :meth:`take` without taking: 0.0 when a token is there, else the wait."""
        if self.tokens < 0:  # first use: a full bucket
            self.tokens, self.at = self.burst, now
        else:
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
            self.at = now
        if self.tokens >= 1.0:
            return 0.0
        return (1.0 - self.tokens) / self.rate
