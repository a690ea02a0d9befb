"""One rollout as ``liveops rollout status`` and ``GET /v1/rollouts/{which}`` show it: the record,
the incident its rollback opened or joined, the latest shadow agreement, an A/B rollout's goals
and the recent looks."""

from __future__ import annotations

from typing import Any

from liveops.services.rollouts.controller import get_rollout
from liveops.services.rollouts.incident import incident_of
from liveops.store import Store

__all__ = ["rollout_status"]


def rollout_status(store: Store, which: str, *, looks: int = 5) -> dict[str, Any]:
    """The status of the rollout ``which`` (an id, or a service's current rollout) with its
    ``looks`` latest looks, newest first."""
    rec = get_rollout(store, which)
    recent = store.rollouts.looks(rec.id, limit=looks)
    shadow = next((dict(lk.counts["shadow"]) for lk in recent if "shadow" in lk.counts), None)
    ab = next((dict(lk.counts["ab"]) for lk in recent if "ab" in lk.counts), None)
    return rec.to_dict() | {
        "incident": incident_of(store, rec.id),
        "shadow": shadow,
        "ab": ab,
        "looks": [lk.to_dict() for lk in recent],
    }
