"""Releases as plain values: the checklist, approvals by risk tier, overrides and the decision.

A release is a draft for one version. Its **checklist** has automatic items, which liveops
computes from what is stored (an evaluation, a review, the version's config, the aliases, a
smoke test) and which nobody can tick, and manual items, which a person ticks (who and when are
recorded). Every item has a state: ``pass``, ``fail``, ``missing`` (not done or not known yet)
or ``overridden`` (a failed evaluation that the overrides group accepted with a written
justification). Nothing is skipped silently: every item is always listed with its state.

Approvals follow the service's risk tier (the ``approvals:`` block of ``liveops.yaml``, copied
into the release when it is created): each required group gives one approval, by one of its
people, who is not the author.

>>> items = (ChecklistItem("evaluation", "automatic", "pass", "gates pass"),
...          ChecklistItem("docs_updated", "manual", "missing", "not ticked yet"))
>>> policy = ApprovalPolicy(required=("engineering",), groups={"engineering": ("ann", "bo")})
>>> status = approval_status(policy, [])
>>> status.missing
('engineering',)
>>> [b for b in launch_blockers(items, status)]
['docs_updated: not ticked yet', 'approval missing from engineering']
>>> refuse_approval(policy, [], "cy", authors=("ann",))
'cy is in no group whose approval is missing (engineering: ann, bo)'
>>> refuse_approval(policy, [], "ann", authors=("ann",))
'ann is an author of this release (created it or registered the version) and cannot approve it'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = [
    "ANY_GROUP",
    "AUTOMATIC_ITEMS",
    "DECISIONS",
    "GATED_DECISIONS",
    "MANUAL_ITEMS",
    "Approval",
    "ApprovalPolicy",
    "ApprovalStatus",
    "ChecklistItem",
    "Decision",
    "DecisionKind",
    "ItemState",
    "Override",
    "ReleaseRecord",
    "approval_status",
    "group_for",
    "launch_blockers",
    "refuse_approval",
]

ItemState = Literal["pass", "fail", "missing", "overridden"]
DecisionKind = Literal["launch", "limited_launch", "improve_first", "narrow_scope"]
DECISIONS: tuple[DecisionKind, ...] = ("launch", "limited_launch", "improve_first", "narrow_scope")
# Decisions that put the version in front of users: they need the whole checklist and every
# approval. "improve first" launches nothing, so it can be recorded at any time.
GATED_DECISIONS: frozenset[str] = frozenset({"launch", "limited_launch", "narrow_scope"})

# key -> what it checks (in the order `release show` lists them)
AUTOMATIC_ITEMS: dict[str, str] = {
    "evaluation": "an evaluation of this version on the current suite passed its blockers "
    "and guardrails",
    "review_coverage": "the latest human review of this version scored every item",
    "fallback": "a fallback is configured and answered in the smoke test",
    "rollback_target": "a version to roll back to exists",
    "alert_rules": "alert rules watch the version and tell a receiver",
    "staging_smoke": "the staging smoke test passed (liveops release smoke)",
}
MANUAL_ITEMS: dict[str, str] = {
    "support_informed": "support knows what changes and when",
    "docs_updated": "user-facing docs describe the new behaviour",
    "launch_owner": "one person owns the launch and watches it",
}
# Without an approvals: block every release still needs one approval by someone other than
# the author: an implicit group of everybody.
ANY_GROUP = "anyone"


@dataclass(frozen=True)
class ChecklistItem:
    """One line of the checklist: its key, automatic or manual, state, why, and the evidence
    (a run id, a review id, a smoke summary) or, for manual items, who ticked it and when."""

    key: str
    kind: Literal["automatic", "manual"]
    state: ItemState
    detail: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    by: str | None = None
    at: datetime | None = None

    @property
    def done(self) -> bool:
        return self.state in ("pass", "overridden")

    @property
    def title(self) -> str:
        return AUTOMATIC_ITEMS.get(self.key) or MANUAL_ITEMS.get(self.key) or self.key

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "state": self.state,
            "title": self.title,
            "detail": self.detail,
            "evidence": dict(self.evidence),
            "by": self.by,
            "at": self.at.isoformat() if self.at else None,
        }


@dataclass(frozen=True)
class Approval:
    approver: str
    group: str
    at: datetime
    comment: str | None = None
    override: bool = False  # an approval of the override, not of the release

    def to_dict(self) -> dict[str, Any]:
        return {
            "approver": self.approver,
            "group": self.group,
            "at": self.at.isoformat(),
            "comment": self.comment,
            "override": self.override,
        }


@dataclass(frozen=True)
class Override:
    """A failed evaluation accepted anyway: the justification and who asked; valid once a
    person of the overrides group (not the one who asked, not an author) approved it."""

    item: str
    justification: str
    requested_by: str
    requested_at: datetime
    approved_by: str | None = None
    approved_at: datetime | None = None

    @property
    def approved(self) -> bool:
        return self.approved_by is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "justification": self.justification,
            "requested_by": self.requested_by,
            "requested_at": self.requested_at.isoformat(),
            "approved_by": self.approved_by,
            "approved_at": self.approved_at.isoformat() if self.approved_at else None,
        }


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    reason: str
    scope: Mapping[str, tuple[str, ...]]
    evidence: Mapping[str, Any]
    by: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "reason": self.reason,
            "scope": {k: list(v) for k, v in self.scope.items()},
            "evidence": dict(self.evidence),
            "by": self.by,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Decision:
        return cls(
            kind=d["kind"],
            reason=d["reason"],
            scope={k: tuple(v) for k, v in (d.get("scope") or {}).items()},
            evidence=dict(d.get("evidence") or {}),
            by=d["by"],
            at=datetime.fromisoformat(d["at"]),
        )


@dataclass(frozen=True)
class ApprovalPolicy:
    """The approval rule copied into a release when it is created (so a later edit of
    ``liveops.yaml`` never changes what an existing release asked for)."""

    required: tuple[str, ...]
    groups: Mapping[str, tuple[str, ...]]
    overrides: str | None = None
    risk: str = "medium"
    declared: bool = True  # False: no approvals: block, the implicit "anyone" group

    def to_dict(self) -> dict[str, Any]:
        return {
            "required": list(self.required),
            "groups": {k: list(v) for k, v in self.groups.items()},
            "overrides": self.overrides,
            "risk": self.risk,
            "declared": self.declared,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ApprovalPolicy:
        return cls(
            required=tuple(d.get("required") or ()),
            groups={k: tuple(v) for k, v in (d.get("groups") or {}).items()},
            overrides=d.get("overrides"),
            risk=str(d.get("risk") or "medium"),
            declared=bool(d.get("declared", True)),
        )

    def is_member(self, person: str, group: str) -> bool:
        if group == ANY_GROUP and not self.declared:
            return True
        return person in self.groups.get(group, ())

    def describe(self, group: str) -> str:
        if group == ANY_GROUP and not self.declared:
            return f"{group} (anybody but the author)"
        return f"{group} ({', '.join(self.groups.get(group, ())) or 'nobody'})"


@dataclass(frozen=True)
class ApprovalStatus:
    required: tuple[str, ...]
    given: Mapping[str, str]  # group -> approver
    missing: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.missing

    def to_dict(self) -> dict[str, Any]:
        return {
            "required": list(self.required),
            "given": dict(self.given),
            "missing": list(self.missing),
            "complete": self.complete,
        }


def approval_status(policy: ApprovalPolicy, approvals: Sequence[Approval]) -> ApprovalStatus:
    """Which required groups approved (and by whom) and which are still missing."""
    given = {a.group: a.approver for a in approvals if not a.override}
    missing = tuple(g for g in policy.required if g not in given)
    return ApprovalStatus(policy.required, given, missing)


def group_for(
    policy: ApprovalPolicy, approvals: Sequence[Approval], person: str, wanted: str | None = None
) -> str | None:
    """The missing group ``person`` approves for: ``wanted`` if they are in it and it is
    missing, else the first missing group (in the policy's order) they belong to."""
    missing = approval_status(policy, approvals).missing
    if wanted is not None:
        return wanted if wanted in missing and policy.is_member(person, wanted) else None
    return next((g for g in missing if policy.is_member(person, g)), None)


def refuse_approval(
    policy: ApprovalPolicy,
    approvals: Sequence[Approval],
    person: str,
    *,
    authors: Sequence[str],
    group: str | None = None,
) -> str | None:
    """Why ``person`` may not approve now, or None when they may."""
    if person in authors:
        return (
            f"{person} is an author of this release (created it or registered the version) "
            "and cannot approve it"
        )
    mine = [a for a in approvals if a.approver == person and not a.override]
    if mine:
        return f"{person} already approved this release (for {mine[0].group})"
    status = approval_status(policy, approvals)
    if not status.missing:
        return "every required group has approved already"
    if group is not None and group not in policy.required:
        return f"group {group!r} is not asked to approve this release (it needs: " + (
            ", ".join(policy.required) + ")"
        )
    if group is not None and group not in status.missing:
        return f"{group} has approved already (by {status.given[group]})"
    if group_for(policy, approvals, person, group) is None:
        where = [group] if group is not None else list(status.missing)
        names = "; ".join(policy.describe(g).replace(" (", ": ", 1).rstrip(")") for g in where)
        return f"{person} is in no group whose approval is missing ({names})"
    return None


def launch_blockers(items: Sequence[ChecklistItem], status: ApprovalStatus) -> list[str]:
    """What stands between this release and a launch: items not done, approvals missing."""
    out = [f"{i.key}: {i.detail}" for i in items if not i.done]
    out += [f"approval missing from {g}" for g in status.missing]
    return out


@dataclass(frozen=True)
class ReleaseRecord:
    """A release as stored: which version, who created it, the policy, notes and decision."""

    id: str
    service: str
    version: int
    created_by: str
    created_at: datetime
    author: str  # the version's owner (who registered it)
    policy: ApprovalPolicy
    rollout_plan: Mapping[str, Any] | None = None
    notes: str = ""
    notes_edited: bool = False
    decision: Decision | None = None

    @property
    def ref(self) -> str:
        return f"{self.service}@{self.version}"

    @property
    def authors(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.created_by, self.author)))

    @property
    def status(self) -> str:
        return "decided" if self.decision is not None else "draft"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "service": self.service,
            "version": self.version,
            "ref": self.ref,
            "status": self.status,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "author": self.author,
            "policy": self.policy.to_dict(),
            "rollout_plan": dict(self.rollout_plan) if self.rollout_plan else None,
            "notes": self.notes,
            "notes_edited": self.notes_edited,
            "decision": self.decision.to_dict() if self.decision else None,
        }
