"""Approvals by risk tier, overrides of a failed evaluation, and the decision record.

Every refusal happens before anything is written: a refused approval or decision leaves the
release exactly as it was (tested by reading the tables back).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from liveops.core.hashing import content_hash
from liveops.core.release import (
    DECISIONS,
    GATED_DECISIONS,
    Approval,
    Decision,
    DecisionKind,
    Override,
    ReleaseRecord,
    refuse_approval,
)
from liveops.core.release_notes import check_notes
from liveops.errors import ConflictError, InvalidInputError, UsageError
from liveops.services.registry import get_service_spec
from liveops.services.releases.drafts import ReleaseView, get_release, view_release
from liveops.store import Store

__all__ = ["approve", "decide", "parse_scope", "request_override"]

MIN_JUSTIFICATION = 20  # characters: a sentence, not "ok"


def _open(rel: ReleaseRecord) -> None:
    if rel.decision is not None:
        raise ConflictError(
            f"release {rel.id} is decided ({rel.decision.kind} by {rel.decision.by}); it is closed",
            hint=f"create a new release of {rel.ref} to reconsider",
        )


def approve(
    store: Store,
    release_id: str,
    project_dir: Path,
    *,
    actor: str,
    group: str | None = None,
    comment: str | None = None,
    override: bool = False,
) -> ReleaseView:
    """Approve the release (for the first missing group ``actor`` is in, or ``group``), or with
    ``override`` the pending override of its evaluation. Refused, with the reason, for an
    author, someone in no missing group, a second approval by one person."""
    rel = get_release(store, release_id)
    _open(rel)
    if override:
        return _approve_override(store, rel, project_dir, actor=actor, comment=comment)
    approvals = store.releases.approvals(rel.id)
    why = refuse_approval(rel.policy, approvals, actor, authors=rel.authors, group=group)
    if why is not None:
        raise ConflictError(
            f"approval of release {rel.id} refused: {why}",
            hint="approvals by group: "
            + "; ".join(rel.policy.describe(g) for g in rel.policy.required),
        )
    from liveops.core.release import group_for

    chosen = group_for(rel.policy, approvals, actor, group)
    assert chosen is not None
    with store.write() as conn:
        store.releases.add_approval(
            conn, rel.id, Approval(actor, chosen, store.clock.now(), comment)
        )
        store.audit.append(
            conn,
            actor=actor,
            action="release.approved",
            object_type="release",
            object_id=rel.id,
            reason=comment,
            data={"group": chosen, "version": rel.ref},
        )
    return view_release(store, rel.id, project_dir, actor=actor)


def request_override(
    store: Store, release_id: str, project_dir: Path, *, actor: str, justification: str
) -> ReleaseView:
    """Ask to accept a failed evaluation anyway, with a written justification; it counts once
    a person of the overrides group approves it (``approve --override``)."""
    rel = get_release(store, release_id)
    _open(rel)
    text = justification.strip()
    if len(text) < MIN_JUSTIFICATION:
        raise InvalidInputError(
            f"an override needs a written justification (at least {MIN_JUSTIFICATION} "
            f"characters), got {text!r}",
            hint="say why the failed gate is acceptable, for whom, and until when",
        )
    if rel.policy.overrides is None:
        raise ConflictError(
            "no group may approve overrides (approvals.overrides in liveops.yaml)",
            hint="name one, e.g. overrides: security, under approvals: in liveops.yaml, and "
            "create a new release",
        )
    view = view_release(store, rel.id, project_dir, actor=actor)
    item = next(i for i in view.items if i.key == "evaluation")
    if item.state != "fail":
        raise ConflictError(
            f"the evaluation item is {item.state}, not failed: there is nothing to override",
            hint="an override accepts a failed evaluation; a missing one needs `liveops eval`",
        )
    with store.write() as conn:
        ov = Override("evaluation", text, actor, store.clock.now())
        store.releases.put_override(conn, rel.id, ov)
        store.audit.append(
            conn,
            actor=actor,
            action="release.override_requested",
            object_type="release",
            object_id=rel.id,
            reason=text,
            data={"item": "evaluation", "failed": item.detail},
        )
    return view_release(store, rel.id, project_dir, actor=actor)


def _approve_override(
    store: Store, rel: ReleaseRecord, project_dir: Path, *, actor: str, comment: str | None
) -> ReleaseView:
    ov = next((o for o in store.releases.overrides(rel.id) if o.item == "evaluation"), None)
    group = rel.policy.overrides
    if ov is None:
        raise ConflictError(
            f"release {rel.id} has no override to approve",
            hint=f"ask for one: `liveops release override {rel.id} --justification TEXT`",
        )
    if ov.approved:
        raise ConflictError(f"the override was approved already (by {ov.approved_by})")
    if actor in rel.authors or actor == ov.requested_by:
        raise ConflictError(
            f"approval of the override refused: {actor} is an author of the release or asked "
            "for the override",
            hint=f"someone else of the {group} group approves it",
        )
    if group is None or not rel.policy.is_member(actor, group):
        raise ConflictError(
            f"approval of the override refused: {actor} is not in the overrides group "
            f"{rel.policy.describe(group) if group else '(none named)'}",
        )
    now = store.clock.now()
    with store.write() as conn:
        approved = Override(ov.item, ov.justification, ov.requested_by, ov.requested_at, actor, now)
        store.releases.put_override(conn, rel.id, approved)
        store.releases.add_approval(conn, rel.id, Approval(actor, group, now, comment, True))
        store.audit.append(
            conn,
            actor=actor,
            action="release.override_approved",
            object_type="release",
            object_id=rel.id,
            reason=comment,
            data={"item": ov.item, "justification": ov.justification, "group": group},
        )
    return view_release(store, rel.id, project_dir, actor=actor)


def parse_scope(items: list[str]) -> dict[str, tuple[str, ...]]:
    """``["language=en,de", "channel=email"]`` (or one comma list ``language=en,channel=email``
    split where a ``=`` follows) to ``{"language": ("en", "de"), "channel": ("email",)}``.

    >>> parse_scope(["language=en,es", "channel=email"])
    {'language': ('en', 'es'), 'channel': ('email',)}
    >>> parse_scope(["language=en,channel=email"])
    {'language': ('en',), 'channel': ('email',)}
    """
    out: dict[str, list[str]] = {}
    key: str | None = None
    for raw in items:
        for part in raw.split(","):
            part = part.strip()
            if "=" in part:
                key, _, value = part.partition("=")
                key = key.strip()
                if not key:
                    raise UsageError(f"--scope {raw!r}: a field name is missing before '='")
                out.setdefault(key, [])
            else:
                value = part
            if key is None or not value.strip():
                raise UsageError(
                    f"--scope {raw!r} is not FIELD=VALUE[,VALUE...]",
                    hint="e.g. --scope language=en",
                )
            out[key].append(value.strip())
    return {k: tuple(dict.fromkeys(v)) for k, v in out.items()}


def _check_scope(store: Store, rel: ReleaseRecord, scope: Mapping[str, tuple[str, ...]]) -> None:
    spec = get_service_spec(store, rel.service)
    for fld, values in scope.items():
        field = spec.inputs.get(fld)
        if field is None:
            raise InvalidInputError(
                f"scope field {fld!r} is not an input of {rel.service}",
                hint=f"its inputs: {', '.join(spec.inputs)}",
            )
        if field.type == "enum":
            bad = [v for v in values if v not in (field.values or [])]
            if bad:
                raise InvalidInputError(
                    f"scope {fld}={','.join(bad)}: not among the allowed values "
                    f"({', '.join(field.values or [])})"
                )


def decide(
    store: Store,
    release_id: str,
    project_dir: Path,
    kind: str,
    *,
    reason: str,
    actor: str,
    scope: Mapping[str, tuple[str, ...]] | None = None,
) -> ReleaseView:
    """Record the decision with links to the evidence. ``launch``, ``limited_launch`` and
    ``narrow_scope`` put the version in front of users: refused while a checklist item or an
    approval is missing, with the list. ``improve_first`` can be recorded at any time."""
    if kind not in DECISIONS:
        raise UsageError(f"unknown decision {kind!r}", hint=f"one of: {', '.join(DECISIONS)}")
    if not reason.strip():
        raise UsageError("a decision needs --reason", hint="say why, in a sentence")
    rel = get_release(store, release_id)
    _open(rel)
    scope = dict(scope or {})
    if kind == "narrow_scope" and not scope:
        raise UsageError(
            "narrow_scope needs --scope FIELD=VALUE (what the version launches for)",
            hint="e.g. --scope language=en",
        )
    _check_scope(store, rel, scope)
    view = view_release(store, rel.id, project_dir, actor=actor)
    if kind in GATED_DECISIONS and view.blockers:
        raise ConflictError(
            f"release {rel.id} cannot be decided {kind}: " + "; ".join(view.blockers),
            hint="finish the checklist and the approvals (`liveops release show "
            f"{rel.id}`), or decide improve_first",
            blockers=view.blockers,
        )
    evidence: dict[str, Any] = {
        "checklist": {i.key: i.state for i in view.items},
        "eval_run": _ev(view, "evaluation", "eval_run"),
        "review": _ev(view, "review_coverage", "review"),
        "smoke": _ev(view, "staging_smoke", "smoke_id"),
        "approvals": [f"{a.approver} ({a.group})" for a in view.approvals],
        "overrides": [o.to_dict() for o in view.overrides if o.approved],
        "notes": content_hash({"notes": rel.notes}),
        "notes_flags": [f.code for f in check_notes(rel.notes)],
        "audit": f"liveops audit log {rel.id}",
    }
    decision = Decision(
        kind=_kind(kind),
        reason=reason.strip(),
        scope=scope,
        evidence=evidence,
        by=actor,
        at=store.clock.now(),
    )
    with store.write() as conn:
        current = store.releases.get(rel.id, conn)
        if current is None or current.decision is not None:  # decided meanwhile
            raise ConflictError(f"release {rel.id} was decided meanwhile")
        store.releases.set_decision(conn, rel.id, decision)
        store.audit.append(
            conn,
            actor=actor,
            action="release.decided",
            object_type="release",
            object_id=rel.id,
            reason=decision.reason,
            data={"kind": kind, "scope": {k: list(v) for k, v in scope.items()}, **evidence},
        )
    return view_release(store, rel.id, project_dir, actor=actor, update=False)


def _ev(view: ReleaseView, key: str, field: str) -> Any:
    item = next(i for i in view.items if i.key == key)
    return item.evidence.get(field)


def _kind(kind: str) -> DecisionKind:
    for k in DECISIONS:
        if k == kind:
            return k
    raise UsageError(f"unknown decision {kind!r}")
