"""Alerts and incidents: rules judged in the monitor's pass (:func:`evaluate_alerts`), the
notification outbox and its sender (:func:`send_outbox`, :class:`OutboxSender`), silences and
noise, incidents and their stabilising actions, and the export for Prometheus."""

from __future__ import annotations

from liveops.services.alerts.evaluate import AlertReport, evaluate_alerts, last_complete
from liveops.services.alerts.incidents import (
    ROOT_CAUSES,
    STATUSES,
    Incident,
    get_incident,
    list_incidents,
    mitigate,
    move_incident,
    open_by_hand,
    open_for_rollback,
    refresh_incident,
    review_incident,
    stabilise,
)
from liveops.services.alerts.manage import (
    Noise,
    acknowledge,
    alert_states,
    export_rules,
    noise,
    outbox_rows,
    queue_test,
    silence,
)
from liveops.services.alerts.sender import Delivery, OutboxSender, send_outbox

__all__ = [
    "ROOT_CAUSES",
    "STATUSES",
    "AlertReport",
    "Delivery",
    "Incident",
    "Noise",
    "OutboxSender",
    "acknowledge",
    "alert_states",
    "evaluate_alerts",
    "export_rules",
    "get_incident",
    "last_complete",
    "list_incidents",
    "mitigate",
    "move_incident",
    "noise",
    "open_by_hand",
    "open_for_rollback",
    "outbox_rows",
    "queue_test",
    "refresh_incident",
    "review_incident",
    "send_outbox",
    "silence",
    "stabilise",
]
