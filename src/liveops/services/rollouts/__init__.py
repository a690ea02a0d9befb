"""Rollouts: a candidate version goes live in steps (shadow, canary) judged by peek-safe gates
on live traffic per arm, advancing, holding or rolling back by itself (the controller), and
``liveops rollback`` for a person in a hurry."""

from __future__ import annotations

from liveops.services.rollouts.controller import (
    CONTROLLER,
    LookResult,
    abort_rollout,
    get_rollout,
    look,
    pause_rollout,
    resume_rollout,
    start_rollout,
)
from liveops.services.rollouts.counts import COUNTED, shadow_of
from liveops.services.rollouts.drill import Drill, rollback_drill
from liveops.services.rollouts.incident import incident_of, link_incident
from liveops.services.rollouts.rollback import Rollback, rollback
from liveops.services.rollouts.runner import RolloutRunner, RolloutTurn, run_rollouts
from liveops.services.rollouts.sizing import AbSizing, size_ab_test
from liveops.services.rollouts.status import rollout_status

__all__ = [
    "CONTROLLER",
    "COUNTED",
    "AbSizing",
    "Drill",
    "LookResult",
    "Rollback",
    "RolloutRunner",
    "RolloutTurn",
    "abort_rollout",
    "get_rollout",
    "incident_of",
    "link_incident",
    "look",
    "pause_rollout",
    "resume_rollout",
    "rollback",
    "rollback_drill",
    "rollout_status",
    "run_rollouts",
    "shadow_of",
    "size_ab_test",
    "start_rollout",
]
