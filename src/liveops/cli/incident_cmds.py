"""``liveops incident list|show|open|ack|mitigate|resolve|review`` (see docs/alerts.md)."""

from __future__ import annotations

from typing import Any

import typer

from liveops.cli.output import AS_OPT, JSON_OPT, make_cli, wire

incident_app = typer.Typer(help="Incidents: scope, evidence, recent changes, actions, review.")


@incident_app.command("list")
def list_(
    ctx: typer.Context,
    service: str | None = typer.Option(None, "--service", "-s"),
    status: str | None = typer.Option(None, "--status"),
    json: bool = JSON_OPT,
) -> None:
    """Incidents, newest first."""
    from rich.table import Table

    from liveops.services.alerts import list_incidents

    cli = make_cli(ctx, json, None, remote=True)
    if cli.api is not None:
        found = cli.api.incidents(service, status)
    else:
        found = wire(
            [i.to_dict() for i in list_incidents(cli.store(), service=service, status=status)]
        )
    table = Table("id", "service", "status", "opened", "by", "title", title="incidents")
    for i in found:
        table.add_row(
            str(i["id"]), i["service"], i["status"], i["opened_at"], i["opened_by"], i["title"]
        )
    cli.emit(found, table)


@incident_app.command("show")
def show(ctx: typer.Context, incident_id: int, json: bool = JSON_OPT) -> None:
    """Scope, evidence, recent changes, timeline and review of one incident."""
    from liveops.services.alerts import get_incident, refresh_incident

    cli = make_cli(ctx, json, None, remote=True)
    if cli.api is not None:
        shown = cli.api.incident(incident_id)
    else:
        store = cli.store()
        incident = get_incident(store, incident_id)
        if incident.status not in ("resolved", "reviewed"):
            refresh_incident(store, incident_id, clock=store.clock, project_dir=cli.project_dir)
            incident = get_incident(store, incident_id)
        shown = wire(incident.to_dict())
    cli.emit(shown, _render(shown))


def _gate(g: dict[str, Any]) -> str:
    """A failing gate as the look kept it: its name, estimate and interval."""
    est, lo, hi = g.get("estimate"), g.get("lower"), g.get("upper")
    if all(isinstance(x, float | int) for x in (est, lo, hi)):
        return f"{g.get('gate')} {est:+.4f} [{lo:+.4f}, {hi:+.4f}]"
    return str(g.get("gate"))


def _render(i: dict[str, Any]) -> Any:
    """One incident from its JSON form (``Incident.to_dict``, as the API sends it)."""
    from rich.console import Group
    from rich.markup import escape
    from rich.table import Table

    s = i["scope"]
    head = (
        f"[bold]incident {i['id']}[/] {escape(i['title'])}\n"
        f"service {i['service']} · {i['severity']} · [bold]{i['status']}[/] · opened "
        f"{i['opened_at']} by {escape(i['opened_by'])}"
    )
    share = s.get("share_affected")
    scope = (
        f"scope: versions {', '.join(f'v{v}' for v in s.get('versions', [])) or '-'}; "
        f"slices {', '.join(s.get('slices', [])) or '-'}; rules {', '.join(s.get('rules', []))}\n"
        f"  answers affected {s.get('requests_affected', '-')} of {s.get('requests_total', '-')}"
        + (f" ({share:.0%})" if isinstance(share, float) else "")
        + f"; bad windows {s.get('first_bad_window') or '-'} .. {s.get('last_bad_window') or '-'}"
    )
    evidence = Table("version", "label", "conf", "decision", "inputs (redacted)", title="evidence")
    for e in i["evidence"]:
        conf = "-" if e.get("confidence") is None else f"{e['confidence']:.2f}"
        text = ", ".join(f"{k}={v}" for k, v in (e.get("inputs") or {}).items())
        evidence.add_row(
            f"v{e.get('version')}",
            str(e.get("label")),
            conf,
            str(e.get("decision")),
            escape(text[:90]),
        )
    changes = Table(
        "time", "actor", "action", "object", "data", title="recent changes (48 h before)"
    )
    for c in i["changes"]:
        changes.add_row(
            c["time"], c["actor"], c["action"], c["object"], escape(str(c.get("data") or ""))
        )
    rollbacks = Table(
        "rollout", "candidate", "step", "from", "to", "by", "failing gates", title="rollbacks"
    )
    for b in i["rollbacks"]:
        failing = "; ".join(_gate(g) for g in b.get("failing_gates", []))
        rollbacks.add_row(
            str(b.get("rollout") or "-"),
            str(b.get("candidate") or "-"),
            str(b.get("step") or "-"),
            f"v{b.get('from')}",
            f"v{b.get('to')}",
            escape(str(b.get("by"))),
            escape(failing or "-"),
        )
    timeline = Table("at", "actor", "event", "detail", title="timeline")
    for t in i["timeline"]:
        timeline.add_row(t["at"], t["actor"], t["kind"], escape(str(t["detail"])[:100]))
    parts: list[Any] = [head, scope, evidence, changes]
    if i["rollbacks"]:
        parts.append(rollbacks)
    parts.append(timeline)
    if i["review"]:
        r = i["review"]
        parts.append(
            f"review: {escape(r['summary'])}\n  impact: {escape(r['impact'])}\n"
            f"  root cause: {r['root_cause']}\n  actions: {escape('; '.join(r['actions']))}"
        )
    return Group(*parts)


@incident_app.command("open")
def open_(
    ctx: typer.Context,
    service: str,
    title: str = typer.Option(..., "--title", "-t"),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Open an incident by hand (a user report)."""
    from liveops.services.alerts import open_by_hand, refresh_incident

    cli = make_cli(ctx, json, as_, remote=True)
    if cli.api is not None:
        opened = cli.api.call("POST", "/v1/incidents", {"service": service, "title": title})
        incident_id = opened["id"]
    else:
        store = cli.store()
        incident_id = open_by_hand(store, service, title, actor=cli.actor)
        refresh_incident(store, incident_id, clock=store.clock, project_dir=cli.project_dir)
    cli.emit({"id": incident_id}, f"incident {incident_id} opened")


def _move(
    ctx: typer.Context, incident_id: int, status: str, note: str | None, json: bool, as_: str | None
) -> None:
    from liveops.services.alerts import move_incident

    cli = make_cli(ctx, json, as_, remote=True)
    if cli.api is not None:
        verb = {"acknowledged": "ack", "resolved": "resolve"}[status]
        old = cli.api.incident_action(incident_id, verb, note=note)["from"]
    else:
        old = move_incident(cli.store(), incident_id, status, actor=cli.actor, note=note)
    cli.emit(
        {"id": incident_id, "from": old, "status": status},
        f"incident {incident_id}: {old} -> {status}",
    )


@incident_app.command("ack")
def ack(
    ctx: typer.Context,
    incident_id: int,
    note: str | None = typer.Option(None, "--note", "-m"),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Acknowledge: someone is on it."""
    _move(ctx, incident_id, "acknowledged", note, json, as_)


@incident_app.command("mitigate")
def mitigate(
    ctx: typer.Context,
    incident_id: int,
    action: str | None = typer.Option(
        None,
        "--action",
        help="kill_switch (traffic to the fallback) or rollback (production back).",
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Use the kill switch without a fallback."),
    note: str | None = typer.Option(None, "--note", "-m"),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Stabilise (optionally running an action) and mark the incident mitigated."""
    from liveops.services.alerts import mitigate as mitigate_incident

    cli = make_cli(ctx, json, as_, remote=True)
    if cli.api is not None:
        got = cli.api.incident_action(incident_id, "mitigate", action=action, yes=yes, note=note)
        old, done = got["from"], got["action"]
    else:
        old, done = mitigate_incident(
            cli.store(), incident_id, action, actor=cli.actor, yes=yes, note=note
        )
    cli.emit(
        {"id": incident_id, "from": old, "status": "mitigated", "action": done},
        (f"{done}\n" if done else "") + f"incident {incident_id}: {old} -> mitigated",
    )


@incident_app.command("resolve")
def resolve(
    ctx: typer.Context,
    incident_id: int,
    note: str | None = typer.Option(None, "--note", "-m"),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """The service is healthy again."""
    _move(ctx, incident_id, "resolved", note, json, as_)


@incident_app.command("review")
def review(
    ctx: typer.Context,
    incident_id: int,
    summary: str = typer.Option(..., "--summary"),
    impact: str = typer.Option(..., "--impact"),
    root_cause: str = typer.Option(
        ..., "--root-cause", help="model, prompt, data, infrastructure or 'release process'."
    ),
    action: list[str] = typer.Option([], "--action", help="A follow-up action (repeat)."),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Write the post-incident record into the audit trail."""
    from liveops.services.alerts import review_incident

    cli = make_cli(ctx, json, as_, remote=True)
    if cli.api is not None:
        record = cli.api.incident_action(
            incident_id,
            "review",
            summary=summary,
            impact=impact,
            root_cause=root_cause,
            actions=list(action),
        )["review"]
    else:
        record = review_incident(
            cli.store(),
            incident_id,
            actor=cli.actor,
            summary=summary,
            impact=impact,
            root_cause=root_cause,
            actions=list(action),
        )
    cli.emit({"id": incident_id, "review": record}, f"incident {incident_id} reviewed")


def register(app: typer.Typer) -> None:
    app.add_typer(incident_app, name="incident")
