"""The controller in a loop: ``liveops rollout run`` and ``liveops serve --rollouts``.

One look at every active rollout per turn. Several processes may run it (every gateway
replica, a cron job): the same lease table the monitor uses lets one of them act at a time (a
lease named ``rollouts``, renewed at every turn; when its holder dies another takes over once
it expires). A paused rollout is not looked at.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from liveops.core.clock import Clock
from liveops.services.monitoring import default_owner
from liveops.services.rollouts.controller import LookResult, look
from liveops.store import Store

__all__ = ["LEASE", "RolloutRunner", "RolloutTurn", "run_rollouts"]

log = logging.getLogger("liveops.rollouts")
LEASE = "rollouts"
LEASE_TTL_S = 120.0


@dataclass
class RolloutTurn:
    ran: bool
    owner: str
    skipped: str | None = None
    looks: list[LookResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ran": self.ran,
            "owner": self.owner,
            "skipped": self.skipped,
            "looks": [r.to_dict() for r in self.looks],
            "errors": self.errors,
        }


def run_rollouts(
    store: Store,
    project_dir: Path,
    *,
    clock: Clock | None = None,
    owner: str | None = None,
    service: str | None = None,
) -> RolloutTurn:
    """One look at each active rollout (running or held) if this owner holds the lease."""
    clock = clock or store.clock
    owner = owner or default_owner()
    if not store.monitoring.acquire(LEASE, owner, clock.now(), LEASE_TTL_S):
        holder = store.monitoring.lease_holder(LEASE)
        who = f"{holder[0]} until {holder[1].isoformat()}" if holder else "another controller"
        return RolloutTurn(False, owner, skipped=f"the rollout lease is held by {who}")
    turn = RolloutTurn(True, owner)
    for rec in store.rollouts.active():
        if rec.state == "paused" or (service is not None and rec.service != service):
            continue
        try:
            turn.looks.append(look(store, project_dir, rec, clock=clock))
        except Exception as exc:  # one broken rollout must not stop the others' looks
            log.exception("rollout %s: the look failed", rec.id)
            turn.errors.append(f"{rec.id} ({rec.ref}): {exc}")
    return turn


class RolloutRunner:
    """Runs :func:`run_rollouts` every ``every_s`` seconds in a daemon thread."""

    def __init__(
        self,
        open_store: Callable[[], Store],
        every_s: float,
        project_dir: Path,
        *,
        clock: Clock | None = None,
    ) -> None:
        self._open_store = open_store
        self.every_s = every_s
        self.project_dir = project_dir
        self.clock = clock
        self.owner = default_owner()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="liveops-rollouts", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run_once(self) -> RolloutTurn | None:
        try:
            store = self._open_store()
        except Exception:
            log.exception("rollouts: cannot open the store; trying again next turn")
            return None
        try:
            turn = run_rollouts(store, self.project_dir, clock=self.clock, owner=self.owner)
        except Exception:
            log.exception("rollouts: the turn failed; trying again next turn")
            return None
        finally:
            store.close()
        for r in turn.looks:
            if r.look.action in ("advance", "abort"):
                log.warning("rollout %s: %s", r.rollout.id, r.look.detail)
        return turn

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.every_s)
