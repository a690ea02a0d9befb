"""Describe: the map of one service a newcomer asks for (``liveops describe SERVICE``), read
from the store: owner, inputs, traffic and rollout, decision settings and fallback chain, the
log and the reference, alerts, the latest release and the last changes."""

from __future__ import annotations

from liveops.services.describe.service_map import (
    CHANGES,
    ServiceMap,
    Share,
    VersionSettings,
    describe_service,
)

__all__ = ["CHANGES", "ServiceMap", "Share", "VersionSettings", "describe_service"]
