"""Alerting rules for Prometheus over the gateway's own ``/metrics``, for teams that already
run Prometheus and Alertmanager (``liveops alerts export --format prometheus SERVICE``).

A liveops rule is exported when ``/metrics`` carries its metric: latency quantiles (from the
``liveops_request_seconds`` histogram), ``error_rate`` and ``fallback_rate`` (from the
counters), and the monitor's gauges (``liveops_monitor_*``: the latest complete window, slice
``all``). Rules on a slice, on a change against an earlier window or on other metrics are left
out and listed in a comment: the monitor judges those. A few health rules come with every
export (errors, latency, database reachability, log backlog).

>>> from liveops.core.alerting.rules import AlertRule
>>> r = AlertRule.model_validate({"name": "slow", "metric": "latency.p95_ms", "above": 400,
...                               "for": "15m", "severity": "page"})
>>> text, skipped = prometheus_rules("router", [r], gauges=("accuracy",))
>>> "histogram_quantile(0.95" in text, skipped
(True, [])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from liveops.core.alerting.rules import AlertRule

__all__ = ["prometheus_rules"]


def _duration(seconds: int) -> str:
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _selector(service: str, rule: AlertRule | None = None) -> str:
    parts = [f'service="{service}"']
    if rule is not None and rule.arm:
        parts.append(f'arm="{rule.arm}"')
    if rule is not None and rule.version is not None and str(rule.version).isdigit():
        parts.append(f'version="{rule.version}"')
    return "{" + ",".join(parts) + "}"


def _expr(service: str, rule: AlertRule, gauges: Sequence[str]) -> str | None:
    sel = _selector(service, rule)
    window = _duration(max(rule.window_s, 300))
    m = rule.metric
    if m.startswith("latency.p") and m.endswith("_ms"):
        q = float(m[len("latency.p") : -len("_ms")]) / 100
        inner = f"sum by (le, version) (rate(liveops_request_seconds_bucket{sel}[{window}]))"
        value = f"histogram_quantile({q:g}, {inner}) * 1000"
    elif m in ("error_rate", "fallback_rate"):
        counter = "liveops_errors_total" if m == "error_rate" else "liveops_fallbacks_total"
        value = (
            f"sum by (version) (rate({counter}{sel}[{window}])) / "
            f"sum by (version) (rate(liveops_predictions_total{sel}[{window}]))"
        )
    elif m in gauges:
        value = f"liveops_monitor_{m.replace('.', '_')}{sel}"
    else:
        return None
    if rule.above is not None:
        return f"{value} > {rule.above:g}"
    if rule.below is not None:
        return f"{value} < {rule.below:g}"
    return None


def _health(service: str) -> list[dict[str, Any]]:
    sel = _selector(service)
    return [
        {
            "alert": "LiveopsErrorRateHigh",
            "expr": f"sum(rate(liveops_errors_total{sel}[5m])) / "
            f"sum(rate(liveops_predictions_total{sel}[5m])) > 0.05",
            "for": "10m",
            "labels": {"severity": "page", "service": service},
            "annotations": {"summary": f"{service}: more than 5 % of answers are model errors"},
        },
        {
            "alert": "LiveopsFallbackRateHigh",
            "expr": f"sum(rate(liveops_fallbacks_total{sel}[5m])) / "
            f"sum(rate(liveops_predictions_total{sel}[5m])) > 0.2",
            "for": "15m",
            "labels": {"severity": "ticket", "service": service},
            "annotations": {"summary": f"{service}: more than 20 % of answers from a fallback"},
        },
        {
            "alert": "LiveopsDatabaseDown",
            "expr": "liveops_database_ok == 0",
            "for": "5m",
            "labels": {"severity": "page"},
            "annotations": {"summary": "the gateway cannot reach its database (answers spool)"},
        },
        {
            "alert": "LiveopsLogBacklog",
            "expr": "liveops_log_backlog > 10000",
            "for": "15m",
            "labels": {"severity": "ticket"},
            "annotations": {"summary": "the prediction log is more than 10,000 records behind"},
        },
    ]


def prometheus_rules(
    service: str, rules: Sequence[AlertRule], *, gauges: Sequence[str]
) -> tuple[str, list[str]]:
    """A Prometheus rule file (YAML) and the names of the rules it could not express."""
    out: list[dict[str, Any]] = []
    skipped: list[str] = []
    for rule in rules:
        expr = None if rule.slice != "all" else _expr(service, rule, gauges)
        if expr is None:
            skipped.append(rule.name)
            continue
        annotations = {"summary": f"{service}: {rule.condition()}"}
        if rule.runbook:
            annotations["runbook_url"] = rule.runbook
        out.append(
            {
                "alert": "".join(w.capitalize() for w in rule.name.replace("-", " ").split()),
                "expr": expr,
                "for": _duration(rule.for_s),
                "labels": {"severity": rule.severity, "service": service, "rule": rule.name},
                "annotations": annotations,
            }
        )
    doc = {"groups": [{"name": f"liveops-{service}", "rules": [*out, *_health(service)]}]}
    head = f"# Alerting rules for {service} over the liveops gateway's /metrics.\n"
    if skipped:
        head += "# Judged by the liveops monitor only (a slice, a change, or not on /metrics): "
        head += ", ".join(skipped) + "\n"
    return head + yaml.safe_dump(doc, sort_keys=False, width=1000), skipped
