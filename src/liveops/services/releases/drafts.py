"""Creating a release, reading it back (with its checklist brought up to date), listing
releases and ticking manual items."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from liveops.core.exits import exit_code
from liveops.core.release import (
    ANY_GROUP,
    AUTOMATIC_ITEMS,
    MANUAL_ITEMS,
    Approval,
    ApprovalPolicy,
    ApprovalStatus,
    ChecklistItem,
    Override,
    ReleaseRecord,
    approval_status,
    launch_blockers,
)
from liveops.core.release_notes import NoteFlag, check_notes
from liveops.errors import ConflictError, InvalidInputError, ObjectNotFound
from liveops.services.registry import PROJECT_FILE, get_service_spec, load_project, resolve_version
from liveops.services.releases.checklist import automatic_items, current_run, initial_items
from liveops.services.releases.notes import draft_for
from liveops.store import Store

__all__ = [
    "ReleaseView",
    "create_release",
    "get_release",
    "list_releases",
    "refresh",
    "tick_item",
    "view_release",
]


@dataclass(frozen=True)
class ReleaseView:
    """A release with its checklist, approvals, overrides and what still blocks a launch."""

    release: ReleaseRecord
    items: tuple[ChecklistItem, ...]
    approvals: tuple[Approval, ...]
    overrides: tuple[Override, ...]
    status: ApprovalStatus
    flags: tuple[NoteFlag, ...]

    @property
    def blockers(self) -> list[str]:
        return launch_blockers(self.items, self.status)

    @property
    def exit_code(self) -> int:
        """As readiness: a failed item gives 1; else a missing item or approval gives 3."""
        states = ["pass" if i.done else i.state for i in self.items]
        states += ["missing" for _ in self.status.missing]
        return exit_code(states)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.release.to_dict(),
            "checklist": [i.to_dict() for i in self.items],
            "approvals": [a.to_dict() for a in self.approvals],
            "approval_status": self.status.to_dict(),
            "overrides": [o.to_dict() for o in self.overrides],
            "notes_flags": [f.to_dict() for f in self.flags],
            "blockers": self.blockers,
            "exit_code": self.exit_code,
        }


def _policy(project_dir: Path, risk: str) -> ApprovalPolicy:
    approvals = None
    if (project_dir / PROJECT_FILE).is_file():
        approvals = load_project(project_dir).approvals
    if approvals is None:
        return ApprovalPolicy((ANY_GROUP,), {}, None, risk, declared=False)
    return ApprovalPolicy(
        required=tuple(approvals.required(risk)),  # type: ignore[arg-type]
        groups={g: tuple(people) for g, people in approvals.groups.items()},
        overrides=approvals.overrides,
        risk=risk,
    )


def create_release(store: Store, project_dir: Path, ref: str, *, actor: str) -> ReleaseView:
    """A draft release of version ``ref`` (``SERVICE@N`` or ``SERVICE@ALIAS``): the checklist
    computed now, the approval rule of the service's risk tier copied from ``liveops.yaml``,
    the rollout plan (``rollout:`` of the service) and drafted notes."""
    version = resolve_version(store, ref)
    spec = get_service_spec(store, version.service)
    open_drafts = [r for r in store.releases.list_releases(version.service, version.number)]
    open_drafts = [r for r in open_drafts if r.decision is None]
    if open_drafts:
        raise ConflictError(
            f"release {open_drafts[0].id} of {version.ref} is still a draft",
            hint=f"carry on with it: `liveops release show {open_drafts[0].id}`",
        )
    policy = _policy(project_dir, spec.risk)
    automatic = automatic_items(store, version, project_dir)
    run, _ = current_run(store, version, project_dir)
    plan = dict(spec.rollout) if spec.rollout else None
    notes = draft_for(store, version, run, plan)
    items = initial_items(automatic)
    with store.write() as conn:
        rel = ReleaseRecord(
            id=store.releases.new_id(conn),
            service=version.service,
            version=version.number,
            created_by=actor,
            created_at=store.clock.now(),
            author=version.owner,
            policy=policy,
            rollout_plan=plan,
            notes=notes,
        )
        store.releases.insert(conn, rel, items)
        store.audit.append(
            conn,
            actor=actor,
            action="release.created",
            object_type="release",
            object_id=rel.id,
            data={
                "version": version.ref,
                "author": version.owner,
                "policy": policy.to_dict(),
                "checklist": {i.key: i.state for i in items},
            },
        )
    return view_release(store, rel.id, project_dir, actor=actor)


def get_release(store: Store, release_id: str) -> ReleaseRecord:
    """A release by its id, or ``SERVICE@N``: that version's latest release."""
    rel = store.releases.get(release_id.strip())
    if rel is None and "@" in release_id:
        version = resolve_version(store, release_id.strip())
        latest = store.releases.list_releases(version.service, version.number)
        if not latest:
            raise ObjectNotFound(
                f"{version.ref} has no release",
                hint=f"create one with `liveops release create {version.ref}`",
            )
        rel = latest[0]
    if rel is None:
        known = [r.id for r in store.releases.list_releases()[:5]]
        raise ObjectNotFound(
            f"release {release_id!r} does not exist"
            + (f" (recent releases: {', '.join(known)})" if known else " (no releases yet)"),
            hint="list them with `liveops release list`",
        )
    return rel


def list_releases(store: Store, service: str | None = None) -> list[ReleaseRecord]:
    if service is not None:
        get_service_spec(store, service)
    return store.releases.list_releases(service)


def refresh(store: Store, rel: ReleaseRecord, project_dir: Path, *, actor: str) -> None:
    """Recompute the automatic items; store (with one audit event) those whose state or detail
    changed. A decided release keeps the checklist it was decided on."""
    if rel.decision is not None:
        return
    version = resolve_version(store, rel.ref)
    stored = {i.key: i for i in store.releases.items(rel.id)}
    fresh = automatic_items(
        store,
        version,
        project_dir,
        overrides=store.releases.overrides(rel.id),
        smoke=stored.get("staging_smoke") if stored["staging_smoke"].state != "missing" else None,
    )
    # A draft made before an item existed gets it now (``added``): its "was" state is None.
    added = [i for i in fresh if i.key not in stored]
    changed = [
        i
        for i in fresh
        if i.key not in stored or (stored[i.key].state, stored[i.key].detail) != (i.state, i.detail)
    ]
    if not changed:
        return
    with store.write() as conn:
        for item in changed:
            if item in added:
                store.releases.add_item(conn, rel.id, item)
            else:
                store.releases.put_item(conn, rel.id, item)
        store.audit.append(
            conn,
            actor=actor,
            action="release.checked",
            object_type="release",
            object_id=rel.id,
            data={
                "computed_by": "liveops",
                "changes": {
                    i.key: [stored[i.key].state if i.key in stored else None, i.state]
                    for i in changed
                },
            },
        )


def view_release(
    store: Store, release_id: str, project_dir: Path, *, actor: str, update: bool = True
) -> ReleaseView:
    """The release with its checklist brought up to date (``update``) and its approvals."""
    rel = get_release(store, release_id)
    if update:
        refresh(store, rel, project_dir, actor=actor)
    approvals = store.releases.approvals(rel.id)
    return ReleaseView(
        release=rel,
        items=tuple(store.releases.items(rel.id)),
        approvals=tuple(approvals),
        overrides=tuple(store.releases.overrides(rel.id)),
        status=approval_status(rel.policy, approvals),
        flags=tuple(check_notes(rel.notes)),
    )


def tick_item(
    store: Store, release_id: str, key: str, *, actor: str, note: str | None = None
) -> ChecklistItem:
    """Tick a manual item: who and when are recorded. Automatic items cannot be ticked."""
    rel = get_release(store, release_id)
    if key in AUTOMATIC_ITEMS:
        raise ConflictError(
            f"{key} is computed by liveops and is never ticked by hand",
            hint=f"do what it checks ({AUTOMATIC_ITEMS[key]}); `liveops release show {rel.id}` "
            "recomputes it",
        )
    if key not in MANUAL_ITEMS:
        raise InvalidInputError(
            f"the checklist has no item {key!r}",
            hint=f"manual items: {', '.join(MANUAL_ITEMS)}",
        )
    if rel.decision is not None:
        raise ConflictError(f"release {rel.id} is decided ({rel.decision.kind}); it is closed")
    with store.write() as conn:
        current = {i.key: i for i in store.releases.items(rel.id, conn)}[key]
        if current.state == "pass":
            when = current.at.isoformat() if current.at else "?"
            raise ConflictError(f"{key} was ticked already, by {current.by} at {when}")
        now = store.clock.now()
        detail = f"ticked by {actor}" + (f": {note}" if note else "")
        item = ChecklistItem(
            key, "manual", "pass", detail, {"note": note} if note else {}, actor, now
        )
        store.releases.put_item(conn, rel.id, item)
        store.audit.append(
            conn,
            actor=actor,
            action="release.ticked",
            object_type="release",
            object_id=rel.id,
            data={"item": key, "note": note},
        )
    return item
