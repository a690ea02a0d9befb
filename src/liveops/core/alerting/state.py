"""One alert's state, as Prometheus keeps it: inactive -> pending -> firing -> resolved.

The monitor judges a rule once per window, at the window's end. The first time the condition
holds the alert becomes *pending* (``active_since`` is that time); it *fires* at the first
judgement where the time since it became pending is at least ``for``; it *resolves* at the first
judgement where the condition no longer holds. A window without enough evidence (fewer answers
or labels than ``min_count``, no baseline) leaves the state as it was: sparse labels should
neither fire nor resolve an alert.

>>> from datetime import UTC, datetime, timedelta
>>> t = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
>>> s = step(None, True, t, for_s=900)
>>> s.state, step(s, True, t + timedelta(minutes=10), for_s=900).state
('pending', 'pending')
>>> step(s, True, t + timedelta(minutes=15), for_s=900).state
'firing'
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

__all__ = ["AlertState", "State", "fingerprint", "notification_due", "step"]

State = Literal["inactive", "pending", "firing", "resolved"]


def fingerprint(service: str, rule: str, scope: dict[str, str | int | None]) -> str:
    """The identity of an alert: the rule and its scope (version, arm, slice).

    >>> fingerprint("s", "slow", {"slice": "all"}) == fingerprint("s", "slow", {"slice": "all"})
    True
    """
    body = json.dumps({"service": service, "rule": rule, **scope}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class AlertState:
    state: State
    active_since: datetime | None = None
    fired_at: datetime | None = None
    resolved_at: datetime | None = None


def step(prev: AlertState | None, holds: bool | None, at: datetime, *, for_s: int) -> AlertState:
    """The state after judging the condition at ``at`` (None: no evidence, no change)."""
    s = prev or AlertState("inactive")
    if holds is None:
        return s
    if holds:
        if s.state in ("inactive", "resolved"):
            s = AlertState("pending", active_since=at, resolved_at=s.resolved_at)
        since = s.active_since
        if s.state == "pending" and since is not None and (at - since).total_seconds() >= for_s:
            s = replace(s, state="firing", fired_at=at)
        return s
    if s.state == "firing":
        return replace(s, state="resolved", resolved_at=at)
    if s.state == "pending":
        return AlertState("inactive", resolved_at=s.resolved_at)
    return s


def notification_due(
    state: State,
    notified: str | None,
    notified_at: datetime | None,
    at: datetime,
    *,
    cooldown_s: int,
    silenced: bool,
) -> Literal["firing", "resolved"] | None:
    """What the receivers must be told now, if anything.

    They are told of a firing alert and later of its resolution, once each (deduplication:
    judging the same state again says nothing); never more than once per ``cooldown_s``, so a
    flapping metric sends one notification per cooldown, and after it whatever the state is
    then; nothing while silenced (what is due is sent when the silence ends).

    >>> from datetime import UTC, datetime, timedelta
    >>> t = datetime(2026, 3, 2, tzinfo=UTC)
    >>> notification_due("firing", None, None, t, cooldown_s=3600, silenced=False)
    'firing'
    >>> notification_due("resolved", "firing", t, t + timedelta(minutes=5), cooldown_s=3600,
    ...                  silenced=False) is None
    True
    """
    want: Literal["firing", "resolved"] | None = (
        "firing" if state == "firing" else "resolved" if notified == "firing" else None
    )
    if want is None or want == notified or silenced:
        return None
    if notified_at is not None and (at - notified_at).total_seconds() < cooldown_s:
        return None
    return want
