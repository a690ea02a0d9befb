"""``/metrics``: the gateway's Prometheus exposition (the counters are the serving domain's,
:class:`~liveops.services.serving.GatewayMetrics`).

With several workers (``liveops serve --workers N``) each process writes its values to files in
``PROMETHEUS_MULTIPROC_DIR`` and this sums them (prometheus-client's multiprocess mode), so the
numbers are the gateway's, not one worker's.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from liveops.services.serving import GatewayMetrics

__all__ = ["CONTENT_TYPE_LATEST", "render_metrics"]


def render_metrics(metrics: GatewayMetrics) -> bytes:
    """The text exposition of ``metrics`` (summed over workers in multiprocess mode)."""
    if metrics.multiprocess:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    assert metrics.registry is not None
    return generate_latest(metrics.registry)
