"""Serving: what the gateway loads and answers with, independent of HTTP.

The :class:`Gateway` answers a request: its :class:`~liveops.services.serving.routing.Router`
keeps the routing table and the loaded versions (each a ``Deployment`` with its micro-batcher
and circuit breaker), and a request that the model cannot answer goes down one fallback chain
(:mod:`~liveops.services.serving.fallback`) whose failures are counted and logged. The HTTP
layer (:mod:`liveops.server`) only parses, calls :meth:`Gateway.check` and
:meth:`Gateway.predict`, and renders.
"""

from __future__ import annotations

from liveops.services.serving.answers import Answer
from liveops.services.serving.deployment import ServeOptions
from liveops.services.serving.fallback import Failure
from liveops.services.serving.gateway import MAX_INSTANCES, Gateway
from liveops.services.serving.loading import (
    ServedService,
    ServingVersion,
    describe_fallback,
    fallback_when_disabled,
    load_serving_version,
    read_services,
    require_labels,
)
from liveops.services.serving.metrics import GatewayMetrics
from liveops.services.serving.routing import with_rollouts

__all__ = [
    "MAX_INSTANCES",
    "Answer",
    "Failure",
    "Gateway",
    "GatewayMetrics",
    "ServeOptions",
    "ServedService",
    "ServingVersion",
    "describe_fallback",
    "fallback_when_disabled",
    "load_serving_version",
    "read_services",
    "require_labels",
    "with_rollouts",
]
