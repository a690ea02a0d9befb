"""Prometheus metrics of the gateway, labelled by service, version and arm.

The counters live here, with the serving domain that counts; rendering them for ``/metrics`` is
the HTTP layer's (:mod:`liveops.server.metrics`).

With several workers (``liveops serve --workers N``) each process writes its values to files in
``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` sums them (prometheus-client's multiprocess mode),
so the numbers are the gateway's, not one worker's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from liveops.core.monitoring.window import WindowStats

__all__ = ["MONITOR_GAUGES", "GatewayMetrics"]

# The monitor's values /metrics shows, by catalogue name: the latest complete 5-minute window
# of each service, version and arm (slice all). A gauge's name is the catalogue name with dots
# as underscores: liveops_monitor_estimated_accuracy.
MONITOR_GAUGES = ("accuracy", "estimated.accuracy", "label_coverage", "cost.per_request")

LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
SVA = ("service", "version", "arm")


def _forget_dead_workers(folder: str) -> None:
    """Drop the live gauges of worker processes that are gone (a worker that crashed and was
    started again would otherwise be summed twice); counters and histograms keep their files,
    since what a dead worker counted did happen."""
    from prometheus_client import multiprocess

    pids: set[int] = set()
    for path in Path(folder).glob("gauge_live*_*.db"):
        tail = path.stem.rsplit("_", 1)[-1]
        if tail.isdigit():
            pids.add(int(tail))
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, folder)  # type: ignore[no-untyped-call]
        except PermissionError:
            pass  # alive, someone else's


class GatewayMetrics:
    """The gateway's counters, histograms and gauges; children are cached per label set."""

    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        if self.multiprocess:
            _forget_dead_workers(os.environ["PROMETHEUS_MULTIPROC_DIR"])
        reg = None if self.multiprocess else CollectorRegistry()
        self._registry = reg
        kw: dict[str, Any] = {"registry": reg}
        self.requests = Counter(
            "liveops_requests", "Predict requests answered, by HTTP status.", (*SVA, "status"), **kw
        )
        self.predictions = Counter(
            "liveops_predictions", "Instances answered, by decision.", (*SVA, "decision"), **kw
        )
        self.fallbacks = Counter(
            "liveops_fallbacks",
            "Instances answered by a fallback, by reason.",
            (*SVA, "reason"),
            **kw,
        )
        self.chain_failures = Counter(
            "liveops_fallback_chain_failures",
            "Failures along the fallback chain (model, fallback version, rules), by step and "
            "reason code.",
            ("service", "version", "step", "reason"),
            **kw,
        )
        self.errors = Counter(
            "liveops_errors", "Model errors and timeouts, by code.", (*SVA, "code"), **kw
        )
        self.latency = Histogram(
            "liveops_request_seconds",
            "Predict request latency (body read to response).",
            SVA,
            buckets=LATENCY_BUCKETS,
            **kw,
        )
        self.batch_size = Histogram(
            "liveops_batch_size",
            "Records per model call.",
            SVA,
            buckets=BATCH_BUCKETS,
            **kw,
        )
        self.unkeyed = Counter(
            "liveops_rollout_unkeyed",
            "Requests to a service in a rollout whose sticky key was missing: their arm was "
            "drawn at random.",
            ("service",),
            **kw,
        )
        self.shadow = Counter(
            "liveops_shadow_copies",
            "Requests copied to a shadow arm, by outcome (answered; dropped, with the reason: "
            "served work waiting or the candidate unable; failed, with the reason).",
            ("service", "version", "outcome", "reason"),
            **kw,
        )
        gauge_kw = {**kw, "multiprocess_mode": "livesum"}
        self.queue_depth = Gauge(
            "liveops_queue_depth",
            "Records waiting for a model call.",
            SVA,
            **gauge_kw,
        )
        self.log_backlog = Gauge(
            "liveops_log_backlog", "Prediction records not yet in the database.", **gauge_kw
        )
        self.spool_bytes = Gauge(
            "liveops_spool_bytes", "Size of the local prediction spool.", **gauge_kw
        )
        self.database_ok = Gauge(
            "liveops_database_ok",
            "1 when the database is reachable (min over workers).",
            registry=reg,
            multiprocess_mode="livemin",
        )
        self.loop_lag = Gauge(
            "liveops_event_loop_lag_seconds",
            "The largest lateness of the event loop's lag probe since the previous poll (shadow "
            "copies are dropped while it is above 2 ms and served requests are out).",
            registry=reg,
            multiprocess_mode="livemax",
        )
        self.loaded_versions = Gauge(
            "liveops_loaded_versions", "Versions loaded and ready to answer.", **gauge_kw
        )
        self.monitor = {
            name: Gauge(
                "liveops_monitor_" + name.replace(".", "_"),
                f"The monitor's {name} in the latest complete 5-minute window (slice all).",
                SVA,
                registry=reg,
                multiprocess_mode="livemax",  # every worker reads the same stored value
            )
            for name in MONITOR_GAUGES
        }
        self._children: dict[tuple[Any, ...], Any] = {}

    def child(self, metric: Any, *labels: str) -> Any:
        """The labelled child of ``metric`` (cached: labels() is slow on the hot path)."""
        key = (id(metric), *labels)
        c = self._children.get(key)
        if c is None:
            c = self._children[key] = metric.labels(*labels)
        return c

    def log_stats(self, stats: Mapping[str, float]) -> None:
        self.log_backlog.set(float(stats.get("backlog", 0.0)))
        self.spool_bytes.set(float(stats.get("spool_bytes", 0.0)))
        self.database_ok.set(float(stats.get("database_ok", 1.0)))

    def monitor_windows(self, rows: Sequence[tuple[str, int, str, Mapping[str, Any]]]) -> None:
        """Set the monitor gauges from ``(service, version, arm, stats)`` of the latest
        windows; a value the window cannot give (no labels yet, no calibrator) is left out."""
        for gauge in self.monitor.values():
            gauge.clear()
        for service, version, arm, stats in rows:
            ws = WindowStats.from_dict(stats)
            for name, gauge in self.monitor.items():
                value = ws.value(name)
                if value is not None:
                    gauge.labels(service, str(version), arm).set(value)

    @property
    def registry(self) -> CollectorRegistry | None:
        """This process's registry; None in multiprocess mode (the files are the registry)."""
        return self._registry
