"""``liveops alerts list|silence|ack|test|send|outbox|export`` (see docs/alerts.md)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import typer

from liveops.cli.output import AS_OPT, JSON_OPT, make_cli, wire

alerts_app = typer.Typer(help="Alert rules: states, silences, noise, receivers, export.")


@alerts_app.command("list")
def list_(
    ctx: typer.Context,
    service: str | None = typer.Option(None, "--service", "-s"),
    noisy: bool = typer.Option(False, "--noisy", help="Per rule: fired, for how long, acked."),
    days: float = typer.Option(7.0, "--days", min=0.01, help="The period --noisy looks at."),
    json: bool = JSON_OPT,
) -> None:
    """Every alert's state (firing first), or with --noisy how each rule behaved."""
    from rich.table import Table

    from liveops.services.alerts import alert_states, noise

    cli = make_cli(ctx, json, None, remote=True)
    if noisy:
        if cli.api is not None:
            rows = cli.api.alert_noise(service, days)
        else:
            store = cli.store()
            found = noise(store, clock=store.clock, days=days)
            rows = wire([r.to_dict() for r in found if not service or r.service == service])
        table = Table("service", "rule", "fired", "mean min", "acked", "noisy", title="alert noise")
        for r in rows:
            mean = "-" if r["mean_minutes"] is None else f"{r['mean_minutes']:.0f}"
            table.add_row(
                r["service"],
                r["rule"],
                str(r["fired"]),
                mean,
                str(r["acknowledged"]),
                "yes" if r["noisy"] else "",
            )
        cli.emit(rows, table)
        return
    states = cli.api.alerts(service) if cli.api else wire(alert_states(cli.store(), service))
    table = Table("service", "rule", "scope", "state", "value", "since", title="alerts")
    for s in states:
        sc = s["scope"]
        version = "" if sc.get("version") is None else f"v{sc['version']}"
        scope = " ".join(p for p in (version, sc.get("arm") or "", sc.get("slice") or "") if p)
        value = "-" if s["value"] is None else f"{s['value']:.4g}"
        table.add_row(
            s["service"], s["rule"], scope, s["state"], value, s.get("active_since") or ""
        )
    cli.emit(states, table)


@alerts_app.command("silence")
def silence_(
    ctx: typer.Context,
    rule: str = typer.Argument(..., help="The rule's name."),
    for_: str = typer.Option(..., "--for", help="How long: 30m, 2h, 1d."),
    reason: str = typer.Option(..., "--reason", "-m"),
    service: str | None = typer.Option(None, "--service", "-s"),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Stop telling receivers about a rule for a while (judged still; audited)."""
    from liveops.services.alerts import silence

    cli = make_cli(ctx, json, as_, remote=True)
    if cli.api is not None:
        body = {"for": for_, "reason": reason, "service": service}
        s = cli.api.call("POST", f"/v1/alerts/{quote(rule, safe='')}/silence", body)
    else:
        done = silence(
            cli.store(), rule, duration=for_, reason=reason, actor=cli.actor, service=service
        )
        s = wire(done.to_dict())
    cli.emit(s, f"{s['service']}: rule {s['rule']!r} silenced until {s['ends_at']}")


@alerts_app.command("ack")
def ack(
    ctx: typer.Context,
    rule: str = typer.Argument(..., help="The rule's name."),
    service: str | None = typer.Option(None, "--service", "-s"),
    note: str | None = typer.Option(None, "--note", "-m"),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Acknowledge a rule's firing alerts: someone is on it (counted by --noisy; audited)."""
    from liveops.services.alerts import acknowledge

    cli = make_cli(ctx, json, as_, remote=True)
    if cli.api is not None:
        got = cli.api.ack_alert(rule, service, note)
    else:
        got = wire(acknowledge(cli.store(), rule, actor=cli.actor, service=service, note=note))
    cli.emit(
        got,
        f"{got['service']}: rule {rule!r} acknowledged by {got['by']} "
        f"({got['acknowledged']} alert(s))",
    )


@alerts_app.command("test")
def send_test(
    ctx: typer.Context,
    receiver: str,
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Send a test message to a receiver now (exit 4 when it is not delivered)."""
    from liveops.errors import LiveopsError
    from liveops.services.alerts import queue_test, send_outbox

    cli = make_cli(ctx, json, as_)
    store = cli.store()
    key = queue_test(store, receiver, actor=cli.actor)
    got = send_outbox(store, clock=store.clock, receiver=receiver)
    if key not in got.delivered:
        error = got.failed.get(key, "an earlier notification to it is waiting for a retry")
        raise LiveopsError(
            f"the test message to {receiver} was not delivered: {error}",
            hint="it stays in the outbox and is retried; check the receiver's address and secrets",
        )
    cli.emit(
        {"receiver": receiver, "key": key, "delivered": True},
        f"delivered to {receiver} (key {key})",
    )


@alerts_app.command("send")
def send(ctx: typer.Context, json: bool = JSON_OPT) -> None:
    """Deliver what the outbox holds (one round; `liveops serve` does it continuously)."""
    from liveops.services.alerts import send_outbox

    cli = make_cli(ctx, json, None)
    store = cli.store()
    got = send_outbox(store, clock=store.clock)
    human = f"delivered {len(got.delivered)}, failed {len(got.failed)}, waiting {got.waiting}"
    for key, error in got.failed.items():
        human += f"\n  {key}: {error}"
    cli.emit(got.to_dict(), human)


@alerts_app.command("outbox")
def outbox(
    ctx: typer.Context,
    receiver: str | None = typer.Option(None, "--receiver", "-r"),
    limit: int = typer.Option(50, "--limit", min=1, help="The newest this many."),
    json: bool = JSON_OPT,
) -> None:
    """The notifications queued for receivers, newest first: delivered, or waiting and why."""
    from rich.markup import escape
    from rich.table import Table

    from liveops.services.alerts import outbox_rows

    cli = make_cli(ctx, json, None)
    rows = outbox_rows(cli.store(), receiver=receiver, limit=limit)
    table = Table(
        "id", "receiver", "kind", "service", "status", "tries", "next try", "error", title="outbox"
    )
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["receiver"],
            r["kind"],
            r["service"],
            r["status"],
            str(r["attempts"]),
            "" if r["status"] == "delivered" else r["next_attempt_at"],
            escape((r["last_error"] or "")[:80]),
        )
    cli.emit(rows, table)


@alerts_app.command("export")
def export(
    ctx: typer.Context,
    service: str,
    fmt: str = typer.Option("prometheus", "--format"),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file."),
    json: bool = JSON_OPT,
) -> None:
    """Alerting rules over the gateway's /metrics, for Prometheus (`promtool check rules`)."""
    from liveops.services.alerts import export_rules

    cli = make_cli(ctx, json, None)
    text, skipped = export_rules(cli.store(), service, fmt=fmt)
    if output is not None:
        output.write_text(text, encoding="utf-8")
        cli.note(f"wrote {output}")
    if json:
        cli.emit({"rules": text, "monitor_only": skipped})
    elif output is None:
        typer.echo(text, nl=False)


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
