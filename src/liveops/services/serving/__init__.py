"""Serving: what the gateway loads and answers with, independent of HTTP."""

from __future__ import annotations

from liveops.services.serving.loading import (
    ServedService,
    ServingVersion,
    load_serving_version,
    read_services,
)

__all__ = [
    "ServedService",
    "ServingVersion",
    "load_serving_version",
    "read_services",
]
