"""``liveops rollback SERVICE --drill --url URL``: practise a rollback on a staging gateway.

A gateway started with ``liveops serve --alias staging`` serves each service's ``staging``
alias. The drill checks that the gateway at ``url`` answers with the staging version, moves
the ``staging`` alias to the version a real ``liveops rollback`` would restore (or ``--to
N``), asks the gateway again and again (one request every :data:`POLL_S`) until an answer
names that version, and records the time from the alias's move to that first answer. It then
moves ``staging`` back where it was and measures the return too, so staging is left as it was
found. Production is never touched. The result is an audit event (``service.rollback_drill``)
with both times, whether they were within ``timeout_s``, and the gateway's address.

What it measures is what a rollback of production costs at the gateways: the alias move and
the poller picking it up (``--poll-s``) and loading the version, end to end through HTTP.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from liveops.errors import ConflictError, LiveopsError, ServiceNotFound, UsageError
from liveops.services.registry import get_service_spec, resolve_version, set_alias
from liveops.services.releases.checklist import current_run
from liveops.services.rollouts.rollback import previous_production
from liveops.store import Store

__all__ = ["ALIAS", "POLL_S", "Drill", "rollback_drill"]

ALIAS = "staging"
POLL_S = 0.05


@dataclass(frozen=True)
class Drill:
    service: str
    url: str
    staging: int  # what staging served before (and after) the drill
    restored: int  # the version the drill rolled back to
    restore_s: float | None  # move -> first answer by ``restored`` (None: not within timeout)
    return_s: float | None  # move back -> first answer by ``staging`` again
    requests: int
    timeout_s: float

    @property
    def passed(self) -> bool:
        return self.restore_s is not None and self.return_s is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "url": self.url,
            "alias": ALIAS,
            "staging": self.staging,
            "restored": self.restored,
            "restore_s": self.restore_s,
            "return_s": self.return_s,
            "requests": self.requests,
            "timeout_s": self.timeout_s,
            "passed": self.passed,
        }


def _probe_inputs(
    store: Store, service: str, numbers: tuple[int, int], project_dir: Path
) -> dict[str, Any]:
    """A request the service accepts: the first case of an evaluation on the current suite
    of the restored version, else of the staging version."""
    spec = get_service_spec(store, service)
    for number in numbers:
        run, _ = current_run(store, resolve_version(store, f"{service}@{number}"), project_dir)
        for case in store.evaluation.cases(run.id) if run is not None else []:
            inputs = {k: v for k, v in case.inputs.items() if k in spec.inputs and v is not None}
            if inputs:
                return inputs
    raise ConflictError(
        f"no request to probe the gateway with: neither {service}@{numbers[0]} nor "
        f"{service}@{numbers[1]} has evaluation cases on the current suite",
        hint="pass one: --input '{\"FIELD\": VALUE, ...}'",
    )


class _Gateway:
    def __init__(self, url: str, service: str, inputs: dict[str, Any], key: str | None) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.client = httpx.Client(base_url=url.rstrip("/"), timeout=5.0, headers=headers)
        self.path = f"/v1/services/{service}/predict"
        self.body = {"inputs": inputs}
        self.requests = 0

    def version(self) -> tuple[int | None, str]:
        """The version that answered, or None and why not."""
        self.requests += 1
        try:
            r = self.client.post(self.path, json=self.body)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        if r.status_code != 200:
            return None, f"HTTP {r.status_code}: {r.text[:200]}"
        v = r.json().get("version")
        return (int(v), "") if isinstance(v, int) else (None, f"an answer without a version: {v}")

    def wait_for(self, number: int, timeout_s: float) -> float | None:
        """Seconds until an answer names ``number`` (None: not within ``timeout_s``)."""
        start = time.perf_counter()  # a duration, not a time of day: no Clock needed
        while True:
            got, _ = self.version()
            elapsed = time.perf_counter() - start
            if got == number:
                return elapsed
            if elapsed > timeout_s:
                return None
            time.sleep(POLL_S)


def rollback_drill(
    store: Store,
    service: str,
    url: str,
    *,
    actor: str,
    project_dir: Path,
    to: int | None = None,
    inputs: dict[str, Any] | None = None,
    timeout_s: float = 60.0,
    key: str | None = None,
    reason: str | None = None,
) -> Drill:
    """Move ``staging`` to the rollback's version and back, timing the gateway at ``url``."""
    if timeout_s <= 0:
        raise UsageError(f"--timeout must be above 0 seconds, got {timeout_s:g}")
    if store.registry.get_service(service) is None:
        raise ServiceNotFound(
            f"unknown service {service!r}", hint="`liveops service list` shows the services"
        )
    staging = store.registry.get_alias(service, ALIAS)
    if staging is None:
        raise ConflictError(
            f"{service} has no {ALIAS} alias: the drill moves it, never production",
            hint=f"`liveops alias set {service} {ALIAS} N` and serve it with "
            "`liveops serve --alias staging --port PORT`",
        )
    if to is None:
        active = store.rollouts.active_for(service)
        production = store.registry.get_alias(service, "production")
        to = active.baseline if active else previous_production(store, service, production)
        if to is None:
            raise ConflictError(
                f"{service} has no earlier production version a rollback would restore",
                hint=f"name one to practise with: `liveops rollback {service} --drill --to N`",
            )
    restored = resolve_version(store, f"{service}@{to}").number
    if restored == staging:
        raise ConflictError(
            f"{ALIAS} already serves {service}@{staging}: moving it there measures nothing",
            hint=f"practise with another version: `liveops rollback {service} --drill --to N`",
        )
    probe = inputs or _probe_inputs(store, service, (restored, staging), project_dir)
    gateway = _Gateway(url, service, probe, key)
    try:
        first, why = gateway.version()
        if first != staging:
            said = f"it answers with {service}@{first}" if first is not None else why
            raise LiveopsError(
                f"the gateway at {url} does not serve {service}'s {ALIAS} alias "
                f"({service}@{staging}): {said}",
                hint="start one with `liveops serve --alias staging --port PORT` and pass --url",
            )
        why_move = reason or "rollback drill"
        set_alias(store, service, ALIAS, str(restored), actor=actor, reason=why_move)
        try:
            restore_s = gateway.wait_for(restored, timeout_s)
        finally:  # back where it was, whatever happened: staging is left as it was found
            set_alias(store, service, ALIAS, str(staging), actor=actor, reason=f"{why_move}: back")
        return_s = gateway.wait_for(staging, timeout_s)
    finally:
        gateway.client.close()
    drill = Drill(service, url, staging, restored, restore_s, return_s, gateway.requests,
                  timeout_s)  # fmt: skip
    with store.write() as conn:
        store.audit.append(
            conn,
            actor=actor,
            action="service.rollback_drill",
            object_type="service",
            object_id=service,
            reason=reason,
            data=drill.to_dict(),
        )
    return drill
