"""Demo stage, the releases of the rollout day: v2's release with an override of its failed
evaluation (so that live traffic can judge it under a Spanish guardrail), and v3's release:
notes, the author's own approval refused, two approvals, the manual items ticked, a staging
smoke test on a gateway of its own, and the decision to launch.

The people are the demo project's approval groups (``liveops.yaml``): ``ann`` and ``bo``
(engineering), ``cy`` (product), ``dee`` (security, who approves overrides). ``bo`` trained
and registered v3, so ``bo`` is its author and may not approve it. Each function records what
a person would see in a :class:`ReleaseStory`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from liveops.errors import LiveopsError
from liveops.services.releases import (
    ReleaseView,
    approve,
    create_release,
    decide,
    request_override,
    set_notes,
    smoke_release,
    tick_item,
    view_release,
)
from liveops.store import Store

__all__ = [
    "AUTHOR",
    "OVERRIDE_WHY",
    "ReleaseStory",
    "release_v2",
    "release_v3_draft",
    "release_v3_launch",
]

AUTHOR = "bo"  # trained, registered and released v3
OVERRIDE_WHY = (
    "v2 is better overall (the accuracy goal passes) and its Spanish guardrail failed "
    "offline. Let live traffic judge it behind the rollout's Spanish guardrail, which rolls "
    "it back by itself if its Spanish answers are worse than v1's."
)
Advance = Callable[[], datetime]  # moves the story's clock a minute on; the new time


@dataclass
class ReleaseStory:
    """One release as the demo prints it."""

    id: str = ""
    ref: str = ""
    created_by: str = ""
    created_at: str = ""
    notes_flags: list[str] = field(default_factory=list)
    override: dict[str, Any] | None = None  # justification, requested_by, approved_by
    refused: str | None = None  # the author's own approval, refused: the error and its hint
    approvals: list[dict[str, str]] = field(default_factory=list)  # by, group, at
    ticked: list[dict[str, str]] = field(default_factory=list)  # item, by, note
    smoke: str | None = None
    decision: dict[str, Any] | None = None  # kind, by, at, reason
    blocked: str | None = None  # why the launch decision was refused, if it was
    checklist: dict[str, str] = field(default_factory=dict)  # item -> state

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReleaseStory:
        return cls(**d)


def release_v2(
    store: Store, folder: Path, ref: str, *, actor: str, advance: Advance
) -> ReleaseStory:
    """v2's release: created and noted by ``actor`` (who registered it), the failed
    evaluation overridden (``actor`` asks, ``dee`` approves), approved by ann and cy."""
    view = create_release(store, folder, ref, actor=actor)
    story = _created(view, actor)
    rel = view.release.id
    advance()
    notes = view.release.notes.rstrip() + (
        "\n\n## Why a rollout despite the failed Spanish gate\n\n" + OVERRIDE_WHY + "\n"
    )
    set_notes(store, view.release, notes, actor=actor)
    advance()
    request_override(store, rel, folder, actor=actor, justification=OVERRIDE_WHY)
    advance()
    view = approve(store, rel, folder, actor="dee", override=True, comment="live check instead")
    ov = view.overrides[0] if view.overrides else None
    story.override = {
        "justification": OVERRIDE_WHY,
        "requested_by": actor,
        "approved_by": None if ov is None else ov.approved_by,
    }
    for person in ("ann", "cy"):
        advance()
        view = approve(store, rel, folder, actor=person)
    return _finish(story, view)


def release_v3_draft(
    store: Store, folder: Path, ref: str, *, notes_extra: str, advance: Advance
) -> ReleaseStory:
    """v3's release up to its approvals: created and noted by its author (bo), bo's own
    approval refused (the message kept), approved by ann and cy, the manual items ticked."""
    view = create_release(store, folder, ref, actor=AUTHOR)
    story = _created(view, AUTHOR)
    rel = view.release.id
    advance()
    set_notes(store, view.release, view.release.notes.rstrip() + "\n\n" + notes_extra, actor=AUTHOR)
    advance()
    try:
        approve(store, rel, folder, actor=AUTHOR)
    except LiveopsError as exc:
        story.refused = exc.message + (f"\nnext: {exc.hint}" if exc.hint else "")
    for person in ("ann", "cy"):
        advance()
        view = approve(store, rel, folder, actor=person)
    for item, person, note in (
        ("support_informed", "cy", "the Spanish support team knows v3 is coming"),
        ("docs_updated", AUTHOR, "routing guide updated for v3"),
        ("launch_owner", "ann", "ann watches the rollout"),
    ):
        advance()
        tick_item(store, rel, item, actor=person, note=note)
        story.ticked.append({"item": item, "by": person, "note": note})
    return _finish(story, view_release(store, rel, folder, actor=AUTHOR))


def release_v3_launch(
    store: Store, folder: Path, story: ReleaseStory, *, at: datetime, advance: Advance
) -> ReleaseStory:
    """Point ``staging`` at v3, smoke-test it on a staging gateway (its answers stamped at
    ``at``, the story's time) and decide ``launch`` (ann, the launch owner)."""
    from liveops.services.registry import set_alias
    from liveops.services.simulation import started_gateway

    service, _, number = story.ref.partition("@")
    set_alias(store, service, "staging", number, actor=AUTHOR, reason="smoke test of v3")
    log = folder / ".liveops" / "staging-gateway.log"
    with started_gateway(folder, log_path=log, alias="staging") as url:
        # One request at the story's time sets the gateway's clock: the smoke's answers (sent
        # without a time) are logged at it, not at the wall clock.
        httpx.post(
            f"{url}/v1/services/{service}/predict",
            json={"inputs": {"text": "hola, no puedo entrar en mi cuenta", "language": "es"}},
            headers={"X-Liveops-Time": f"{at.timestamp():.6f}"},
            timeout=30,
        ).raise_for_status()
        advance()
        view, summary = smoke_release(
            store, story.id, folder, url, actor=AUTHOR, requests=100, concurrency=2
        )
    story.smoke = next(i.detail for i in view.items if i.key == "staging_smoke")
    if not summary["passed"]:
        story.blocked = f"the staging smoke test failed: {story.smoke}"
        return _finish(story, view)
    advance()
    reason = "gates, smoke test and review pass; two approvals"
    try:
        view = decide(store, story.id, folder, "launch", actor="ann", reason=reason)
    except LiveopsError as exc:  # e.g. a gate that failed on a busy machine: said, not hidden
        story.blocked = exc.message
        return _finish(story, view_release(store, story.id, folder, actor="ann"))
    return _finish(story, view)


def _created(view: ReleaseView, actor: str) -> ReleaseStory:
    rel = view.release
    return ReleaseStory(
        id=rel.id, ref=rel.ref, created_by=actor, created_at=rel.created_at.isoformat()
    )


def _finish(story: ReleaseStory, view: ReleaseView) -> ReleaseStory:
    story.approvals = [
        {"by": a.approver, "group": a.group, "at": a.at.isoformat()}
        for a in view.approvals
        if not a.override
    ]
    story.notes_flags = [f.code for f in view.flags]
    story.checklist = {i.key: i.state for i in view.items}
    d = view.release.decision
    if d is not None:
        story.decision = {
            "kind": d.kind,
            "by": d.by,
            "at": d.at.isoformat(),
            "reason": d.reason,
        }
    return story


def minutes(start: datetime) -> Advance:
    """An :data:`Advance` from ``start``: each call is one minute later."""
    state = {"now": start}

    def advance() -> datetime:
        state["now"] += timedelta(minutes=1)
        return state["now"]

    return advance
