"""Releases: a draft per version with its checklist (automatic items computed by liveops,
manual items ticked by people), approvals by risk tier, overrides, notes, the decision record
and the staging smoke test."""

from __future__ import annotations

from liveops.services.releases.approvals import approve, decide, parse_scope, request_override
from liveops.services.releases.checklist import automatic_items
from liveops.services.releases.drafts import (
    ReleaseView,
    create_release,
    get_release,
    list_releases,
    tick_item,
    view_release,
)
from liveops.services.releases.notes import set_notes
from liveops.services.releases.smoke import DEFAULT_P95_TARGET_MS, p95_target, smoke_release

__all__ = [
    "DEFAULT_P95_TARGET_MS",
    "ReleaseView",
    "approve",
    "automatic_items",
    "create_release",
    "decide",
    "get_release",
    "list_releases",
    "p95_target",
    "parse_scope",
    "request_override",
    "set_notes",
    "smoke_release",
    "tick_item",
    "view_release",
]
