"""The management API's live operations: rollouts, rollback, alerts, incidents, the monitor
and label feedback; each the same service call its CLI command makes (``manage_ops`` has the
registry, datasets, evaluation, review, prediction, release and key operations).

The answers carry what the CLI's renderers need, so ``liveops`` with ``LIVEOPS_URL`` prints
what it prints on the local store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from liveops.errors import InvalidInputError, UsageError
from liveops.server.manage_ops import Ctx, Op, Param, _text

__all__ = ["LIVE_OPS"]


def _incident_id(c: Ctx) -> int:
    raw = c.path["id"]
    if not raw.isdigit() or len(raw) > 18:
        raise UsageError(f"incident id {raw!r} is not a whole number", hint="e.g. /v1/incidents/3")
    return int(raw)


def _flag(body: Mapping[str, Any], key: str) -> bool:
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise InvalidInputError(f"{key!r} must be true or false", problems=[{"loc": [key]}])
    return value


# --- rollouts -----------------------------------------------------------------------------


def rollouts_list(c: Ctx) -> list[dict[str, Any]]:
    return [r.to_dict() for r in c.store.rollouts.list_rollouts()]


def rollout_show(c: Ctx) -> dict[str, Any]:
    from liveops.services.rollouts import rollout_status

    looks = c.query.get("looks")
    return rollout_status(c.store, c.path["id"], looks=5 if looks is None else looks)


def rollout_start(c: Ctx) -> dict[str, Any]:
    from liveops.services.rollouts import start_rollout

    version = _text(c.body, "version", required=True) or ""
    return start_rollout(c.store, c.project_dir, version, actor=c.actor).to_dict()


def _rollout_act(verb: str) -> Callable[[Ctx], dict[str, Any]]:
    def call(c: Ctx) -> dict[str, Any]:
        from liveops.services import rollouts

        fn = {
            "pause": rollouts.pause_rollout,
            "resume": rollouts.resume_rollout,
            "abort": rollouts.abort_rollout,
        }[verb]
        rec = fn(c.store, c.path["id"], actor=c.actor, reason=_text(c.body, "reason"))
        return rec.to_dict()

    call.__name__ = f"rollout_{verb}"
    return call


def rollback(c: Ctx) -> dict[str, Any]:
    from liveops.services.rollouts import rollback as roll_back

    to = c.body.get("to")
    if to is not None and (isinstance(to, bool) or not isinstance(to, int)):
        raise InvalidInputError("'to' must be a version number", problems=[{"loc": ["to"]}])
    done = roll_back(c.store, c.path["name"], to=to, actor=c.actor, reason=_text(c.body, "reason"))
    return done.to_dict()


# --- alerts -------------------------------------------------------------------------------


def alerts_list(c: Ctx) -> list[dict[str, Any]]:
    from liveops.services.alerts import alert_states

    return alert_states(c.store, c.query.get("service"))


def alerts_noise(c: Ctx) -> list[dict[str, Any]]:
    from liveops.services.alerts import noise

    raw = c.query.get("days") or "7"
    try:
        days = float(raw)
    except ValueError:
        days = float("nan")
    if not 0.01 <= days <= 366:
        raise UsageError(f"days={raw!r} is not a number of days between 0.01 and 366")
    rows = noise(c.store, clock=c.clock, days=days)
    service = c.query.get("service")
    return [r.to_dict() for r in rows if service is None or r.service == service]


def alert_ack(c: Ctx) -> dict[str, Any]:
    from liveops.services.alerts import acknowledge

    return acknowledge(
        c.store,
        c.path["rule"],
        actor=c.actor,
        service=_text(c.body, "service"),
        note=_text(c.body, "note"),
    )


def alert_silence(c: Ctx) -> dict[str, Any]:
    from liveops.services.alerts import silence

    s = silence(
        c.store,
        c.path["rule"],
        duration=_text(c.body, "for", required=True) or "",
        reason=_text(c.body, "reason", required=True) or "",
        actor=c.actor,
        service=_text(c.body, "service"),
    )
    return s.to_dict()


# --- incidents ----------------------------------------------------------------------------


def incidents_list(c: Ctx) -> list[dict[str, Any]]:
    from liveops.services.alerts import list_incidents

    found = list_incidents(c.store, service=c.query.get("service"), status=c.query.get("status"))
    return [i.to_dict() for i in found]


def incident_show(c: Ctx) -> dict[str, Any]:
    from liveops.services.alerts import get_incident, refresh_incident

    incident_id = _incident_id(c)
    incident = get_incident(c.store, incident_id)
    if incident.status not in ("resolved", "reviewed"):  # as `incident show`: evidence now
        refresh_incident(c.store, incident_id, clock=c.clock, project_dir=c.project_dir)
        incident = get_incident(c.store, incident_id)
    return incident.to_dict()


def incident_open(c: Ctx) -> dict[str, Any]:
    from liveops.services.alerts import open_by_hand, refresh_incident

    service = _text(c.body, "service", required=True) or ""
    title = _text(c.body, "title", required=True) or ""
    incident_id = open_by_hand(c.store, service, title, actor=c.actor)
    refresh_incident(c.store, incident_id, clock=c.clock, project_dir=c.project_dir)
    return {"id": incident_id}


def _incident_move(status: str) -> Callable[[Ctx], dict[str, Any]]:
    def call(c: Ctx) -> dict[str, Any]:
        from liveops.services.alerts import move_incident

        incident_id = _incident_id(c)
        note = _text(c.body, "note")
        old = move_incident(c.store, incident_id, status, actor=c.actor, note=note)
        return {"id": incident_id, "from": old, "status": status}

    return call


def incident_mitigate(c: Ctx) -> dict[str, Any]:
    from liveops.services.alerts import mitigate

    incident_id = _incident_id(c)
    old, done = mitigate(
        c.store,
        incident_id,
        _text(c.body, "action"),
        actor=c.actor,
        yes=_flag(c.body, "yes"),
        note=_text(c.body, "note"),
    )
    return {"id": incident_id, "from": old, "status": "mitigated", "action": done}


def incident_review(c: Ctx) -> dict[str, Any]:
    from liveops.services.alerts import review_incident

    incident_id = _incident_id(c)
    actions = c.body.get("actions") or []
    if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
        raise InvalidInputError(
            "'actions' must be a list of strings", problems=[{"loc": ["actions"]}]
        )
    record = review_incident(
        c.store,
        incident_id,
        actor=c.actor,
        summary=_text(c.body, "summary", required=True) or "",
        impact=_text(c.body, "impact", required=True) or "",
        root_cause=_text(c.body, "root_cause", required=True) or "",
        actions=list(actions),
    )
    return {"id": incident_id, "review": record}


# --- the monitor and feedback -------------------------------------------------------------


def monitor_status(c: Ctx) -> dict[str, Any]:
    from liveops.services.monitoring import monitor_status as status

    return status(c.store).to_dict()


def label_feedback(c: Ctx) -> list[dict[str, Any]]:
    from liveops.services.predictions.queries import label_feedback as labels

    return labels(c.store, c.path["name"])


_REASON = {"type": "object", "properties": {"reason": {"type": "string"}}}
_NOTE = {"type": "object", "properties": {"note": {"type": "string"}}}
_SERVICE_Q = Param("service", description="only this service")
_WHICH = "A rollout id, or a service (its active, else latest, rollout)"
LIVE_OPS: tuple[Op, ...] = (
    Op("GET", "/v1/rollouts", "read", "rollouts_list", "Rollouts, newest first", rollouts_list,
       array=True, errors=()),
    Op("POST", "/v1/rollouts", "operate", "rollout_start",
       "Start a rollout of SERVICE@N against production (by the service's plan)", rollout_start,
       errors=(400, 404, 409, 422),
       body={"type": "object", "properties": {"version": {"type": "string"}},
             "required": ["version"]}),
    Op("GET", "/v1/rollouts/{id}", "read", "rollout_show",
       f"{_WHICH}, with its latest looks and incident", rollout_show, errors=(400, 404),
       query=(Param("looks", "integer", 0, 1000, description="recent looks (default 5)"),)),
    Op("POST", "/v1/rollouts/{id}/pause", "operate", "rollout_pause",
       "Stop the controller acting; the traffic stays split", _rollout_act("pause"),
       body=_REASON, errors=(400, 404, 409, 422)),
    Op("POST", "/v1/rollouts/{id}/resume", "operate", "rollout_resume",
       "Hand a paused or held rollout back to the controller", _rollout_act("resume"),
       body=_REASON, errors=(400, 404, 409, 422)),
    Op("POST", "/v1/rollouts/{id}/abort", "operate", "rollout_abort",
       "End the rollout: every request goes to production", _rollout_act("abort"),
       body=_REASON, errors=(400, 404, 409, 422)),
    Op("POST", "/v1/services/{name}/rollback", "operate", "rollback",
       "Production back to an earlier version in one step (opens or joins an incident)",
       rollback, errors=(400, 404, 409, 422),
       body={"type": "object",
             "properties": {"to": {"type": "integer"}, "reason": {"type": "string"}}}),
    Op("GET", "/v1/alerts", "read", "alerts_list", "Every alert's state, firing first",
       alerts_list, query=(_SERVICE_Q,), array=True, errors=()),
    Op("GET", "/v1/alerts/noise", "read", "alerts_noise",
       "Per rule: how often it fired, for how long, how often acknowledged", alerts_noise,
       query=(_SERVICE_Q, Param("days", description="the period, in days (default 7)")),
       array=True, errors=(400,)),
    Op("POST", "/v1/alerts/{rule}/ack", "operate", "alert_ack",
       "Acknowledge a rule's firing alerts (as the key's owner)", alert_ack,
       errors=(400, 404, 409, 422),
       body={"type": "object",
             "properties": {"service": {"type": "string"}, "note": {"type": "string"}}}),
    Op("POST", "/v1/alerts/{rule}/silence", "operate", "alert_silence",
       "Stop telling receivers about a rule for a while", alert_silence,
       errors=(400, 404, 409, 422),
       body={"type": "object",
             "properties": {"for": {"type": "string"}, "reason": {"type": "string"},
                            "service": {"type": "string"}},
             "required": ["for", "reason"]}),
    Op("GET", "/v1/incidents", "read", "incidents_list", "Incidents, newest first",
       incidents_list, array=True, errors=(400,),
       query=(_SERVICE_Q, Param("status", enum=("open", "acknowledged", "mitigated",
                                                "resolved", "reviewed")))),
    Op("POST", "/v1/incidents", "operate", "incident_open", "Open an incident by hand",
       incident_open, errors=(400, 404, 422),
       body={"type": "object",
             "properties": {"service": {"type": "string"}, "title": {"type": "string"}},
             "required": ["service", "title"]}),
    Op("GET", "/v1/incidents/{id}", "read", "incident_show",
       "Scope, evidence, recent changes, timeline and review of one incident", incident_show,
       errors=(400, 404)),
    Op("POST", "/v1/incidents/{id}/ack", "operate", "incident_ack",
       "Acknowledge an incident: someone is on it", _incident_move("acknowledged"),
       body=_NOTE, errors=(400, 404, 409, 422)),
    Op("POST", "/v1/incidents/{id}/mitigate", "operate", "incident_mitigate",
       "Stabilise (kill_switch or rollback, optionally) and mark mitigated", incident_mitigate,
       errors=(400, 404, 409, 422),
       body={"type": "object",
             "properties": {"action": {"type": "string", "enum": ["kill_switch", "rollback"]},
                            "yes": {"type": "boolean"}, "note": {"type": "string"}}}),
    Op("POST", "/v1/incidents/{id}/resolve", "operate", "incident_resolve",
       "The service is healthy again", _incident_move("resolved"), body=_NOTE,
       errors=(400, 404, 409, 422)),
    Op("POST", "/v1/incidents/{id}/review", "operate", "incident_review",
       "Write the post-incident review", incident_review, errors=(400, 404, 409, 422),
       body={"type": "object",
             "properties": {"summary": {"type": "string"}, "impact": {"type": "string"},
                            "root_cause": {"type": "string"},
                            "actions": {"type": "array", "items": {"type": "string"}}},
             "required": ["summary", "impact", "root_cause"]}),
    Op("GET", "/v1/monitor", "read", "monitor_status",
       "The monitor's watermark, lag, last run and rows read per service", monitor_status,
       errors=()),
    Op("GET", "/v1/services/{name}/feedback/labels", "read", "label_feedback",
       "Label feedback on a service's answers, counted per label", label_feedback),
)  # fmt: skip
