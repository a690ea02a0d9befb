"""Demo stage, inside the simulated week: the alert rules judged on every monitor pass, their
notifications delivered to a webhook the demo runs, the incident the Spanish quality page opens
and its walk to a post-incident review, all on the simulated clock.

One clock (:class:`StoryClock`) stamps the store's audit events and incident timeline; the
week's monitor passes set it to their simulated time, so the gateway, the feedback, the monitor,
the alerts and the incident share one timeline. At the first pass of the shifted days the team
points ``candidate`` at the retrained v2 (an alias move the incident lists among its recent
changes: it serves no traffic, and the review says so).

The walk after the week: acknowledged at the pass after the page, then mitigated with the kill
switch (v1 has no earlier version to roll back to, and a higher threshold needs a new version:
every answer goes to the rules fallback while the Spanish share is high), resolved once the
week is over (the service enabled again) and reviewed with the record.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from liveops.core.clock import AdvancingClock, FixedClock
from liveops.store import Store

__all__ = [
    "HOOK_ENV",
    "IncidentStory",
    "StoryClock",
    "WeekWatch",
    "hook_server",
    "walk_incident",
]

HOOK_ENV = "LIVEOPS_DEMO_HOOK_URL"  # the demo's receiver reads its URL from this variable
QUALITY_RULE = "spanish quality"
ROOT_CAUSE = "data"
WHY_KILL_SWITCH = (
    "v1 has no earlier version to roll back to and a higher threshold needs a new version: "
    "the kill switch sends every answer to the rules fallback until a fix ships"
)


class StoryClock(AdvancingClock):
    """The store's clock in the demo: the simulated time while the week runs (the simulation
    moves it to each monitor pass), the wall clock again once :meth:`release` is called.

    >>> c = StoryClock(); c.advance_to(datetime(2026, 1, 1, tzinfo=UTC)).year
    2026
    >>> c.release(); c.now() > datetime(2026, 1, 2, tzinfo=UTC)
    True
    """

    def release(self) -> None:
        with self._lock:
            self._now = None
            self.first = None


@dataclass
class Fired:
    rule: str
    severity: str
    scope: str  # "v1, slice spanish"
    at: str  # the simulated time of the pass that fired it
    value: float | None


@dataclass
class IncidentStory:
    """What the week's alerts did, as the demo prints it."""

    fired: list[Fired] = field(default_factory=list)
    delivered: int = 0  # payloads the demo's webhook received
    delivered_rules: list[str] = field(default_factory=list)
    alias_moved_at: str | None = None
    incident: int | None = None
    status: str | None = None
    steps: list[str] = field(default_factory=list)  # the walk, one line per step

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> IncidentStory:
        fired = [Fired(**f) for f in d.get("fired", [])]
        return cls(**{**d, "fired": fired})


@contextmanager
def hook_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A JSON webhook on a free loopback port: yields its URL and the bodies it received."""
    received: list[dict[str, Any]] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            size = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(size) or b"{}")
            except ValueError:
                self.send_response(400)
                self.end_headers()
                return
            with lock:
                received.append(body)
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: the demo prints what it received

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/liveops", received
    finally:
        server.shutdown()
        server.server_close()


class WeekWatch:
    """The engine's ``on_monitor`` callback: each pass sets the story's clock, moves
    ``candidate`` at the start of the shifted days, records what fired, delivers the outbox
    to the demo's webhook and acknowledges the incident at the pass after it opened."""

    def __init__(
        self,
        store: Store,
        clock: StoryClock,
        service: str,
        *,
        shift_start: datetime,
        candidate: int,
        hook_url: str,
        actor: str,
    ) -> None:
        self.store, self.clock, self.service = store, clock, service
        self.shift_start, self.candidate, self.actor = shift_start, candidate, actor
        self.env = {**os.environ, HOOK_ENV: hook_url}
        self.story = IncidentStory()
        self._opened_at: datetime | None = None

    def __call__(self, report: Any, at: datetime) -> None:
        from liveops.services.alerts import move_incident, send_outbox
        from liveops.services.registry import set_alias

        self.clock.advance_to(at)  # the simulation did already; the store's events carry it
        for judged in (j for a in report.alerts for j in a["judged"]):
            if judged["notified"] == "firing":
                self._fired(judged, at)
            if judged["incident"] is not None and self.story.incident is None:
                self.story.incident, self._opened_at = int(judged["incident"]), at
        send_outbox(self.store, clock=FixedClock(at), env=self.env)
        incident, opened = self.story.incident, self._opened_at
        row = None if incident is None else self.store.alerts.incident(incident)
        # The pass after the page: the on-call looks.
        if incident and opened and at > opened and row and row["status"] == "open":
            move_incident(
                self.store,
                incident,
                "acknowledged",
                actor=self.actor,
                note="on call: looking at the Spanish slice",
            )
            self.story.steps.append(f"{at:%a %d %b %H:%M} acknowledged by {self.actor}")
        if self.story.alias_moved_at is None and at >= self.shift_start:
            move = set_alias(
                self.store,
                self.service,
                "candidate",
                str(self.candidate),
                actor=self.actor,
                reason="retrained v2 ready for its launch review",
            )
            if move.previous != move.number:
                self.story.alias_moved_at = at.isoformat()

    def _fired(self, judged: dict[str, Any], at: datetime) -> None:
        scope = judged["scope"]
        where = f"v{scope['version']}, slice {scope.get('slice') or 'all'}"
        rule = str(judged["rule"])
        severity = next((r.severity for r in self._rules() if r.name == rule), "")
        self.story.fired.append(Fired(rule, severity, where, at.isoformat(), judged["value"]))

    def _rules(self) -> list[Any]:
        from liveops.services.registry import get_service_spec

        return list(get_service_spec(self.store, self.service).alert_rules())


def walk_incident(
    store: Store, clock: StoryClock, story: IncidentStory, *, end: datetime, actor: str
) -> None:
    """Mitigate, resolve and review the week's incident on the simulated clock, from ``end``
    (the week's end) on; each step runs only if the incident has not passed it (a re-run
    finishes a walk an interrupted run left)."""
    from liveops.services.alerts import get_incident, mitigate, move_incident, review_incident
    from liveops.services.registry import set_service_enabled

    if story.incident is None:
        return
    incident = get_incident(store, story.incident)
    if incident.status in ("open", "acknowledged"):
        clock.advance_to(_after(end, timedelta(minutes=5)))
        _, done = mitigate(store, incident.id, "kill_switch", actor=actor, note=WHY_KILL_SWITCH)
        story.steps.append(f"{clock.now():%a %d %b %H:%M} mitigated: {done} ({WHY_KILL_SWITCH})")
    incident = get_incident(store, incident.id)
    if incident.status == "mitigated":
        clock.advance_to(_after(end, timedelta(minutes=30)))
        set_service_enabled(
            store,
            incident.service,
            enabled=True,
            actor=actor,
            reason=f"incident {incident.id}: the shifted days are over",
        )
        move_incident(
            store,
            incident.id,
            "resolved",
            actor=actor,
            note="the Spanish share is back to normal; v1 answers again",
        )
        when = f"{clock.now():%a %d %b %H:%M}"
        story.steps.append(f"{when} resolved: {incident.service} enabled again")
    incident = get_incident(store, incident.id)
    if incident.status == "resolved":
        clock.advance_to(_after(end, timedelta(hours=1)))
        review_incident(store, incident.id, actor=actor, **review_record(incident.scope))
        story.steps.append(f"{clock.now():%a %d %b %H:%M} reviewed: root cause {ROOT_CAUSE}")
    story.status = get_incident(store, incident.id).status


def _after(end: datetime, delta: timedelta) -> datetime:
    """``end + delta``, but never later than now: the story's clock does not run ahead of the
    wall clock (the week ends at midnight; the demo may run at 00:10)."""
    return min(end + delta, datetime.now(UTC))


def review_record(scope: dict[str, Any]) -> dict[str, Any]:
    """The post-incident record, from the incident's scope."""
    share = scope.get("share_affected")
    affected = scope.get("requests_affected", 0)
    total = scope.get("requests_total", 0)
    part = f" ({share:.0%})" if isinstance(share, float) else ""
    return {
        "summary": "Two days of shifted traffic (more Spanish, shorter chat messages) "
        "tripled the Spanish share of support-router's answers. With enough labelled Spanish "
        "answers a day for the rule to judge, it saw v1's realised Spanish accuracy below its "
        "bound for a day; normal days had too few Spanish labels to judge.",
        "impact": f"{affected:,} of {total:,} answers{part} in the bad windows were Spanish "
        "answers of v1; no outage.",
        "root_cause": ROOT_CAUSE,
        "actions": [
            "train on more Spanish records (v2 has fewer, not more: it is worse on Spanish)",
            "register v1 with a higher threshold so more Spanish answers go to human review",
            "keep the candidate move out of the cause: candidate serves no traffic",
        ],
    }
