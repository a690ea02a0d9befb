"""``liveops keys create|list|revoke``: API keys with roles (docs/access.md)."""

from __future__ import annotations

import typer

from liveops.cli.output import AS_OPT, JSON_OPT, make_cli

keys_app = typer.Typer(help="API keys with roles: who may predict, read, review, operate, ...")


@keys_app.command("create")
def create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="What the key is for (ci, grafana, ann-laptop)."),
    role: str = typer.Option(
        ..., "--role", help="predictor, viewer, reviewer, operator, approver or admin."
    ),
    owner: str = typer.Option(..., "--owner", help="The person who answers for the key."),
    expires: str | None = typer.Option(None, "--expires", help="e.g. 90d, 12h (default: never)."),
    rate: float | None = typer.Option(
        None, "--rate", help="Requests per second this key may make (default: the gateway's)."
    ),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Make a key and print it once, on its own line on stdout (only its SHA-256 is kept)."""
    from liveops.core.access import check_role, parse_expiry
    from liveops.services.access import create_key

    check_role(role)
    expires_in = parse_expiry(expires) if expires is not None else None
    cli = make_cli(ctx, json, as_)
    made = create_key(
        cli.store(),
        name,
        role=role,
        owner=owner,
        actor=cli.actor,
        expires_in=expires_in,
        rate_per_s=rate,
    )
    rec = made.record
    if json:
        cli.emit({**rec.to_dict(), "key": made.token})
        return
    until = f", expires {rec.expires_at:%Y-%m-%d %H:%M} UTC" if rec.expires_at else ""
    cli.note(f"key {rec.name} ({rec.id}, role {rec.role}, owner {rec.owner}{until}):")
    typer.echo(made.token)
    cli.note("it is shown only now: keep it in a secret store; `liveops keys revoke` ends it")


@keys_app.command("list")
def list_(
    ctx: typer.Context,
    all_: bool = typer.Option(False, "--all", help="Also revoked keys."),
    json: bool = JSON_OPT,
) -> None:
    """The keys: prefix, role, owner, created, last used, expiry (never the keys)."""
    from rich.markup import escape
    from rich.table import Table

    from liveops.services.access import list_keys

    cli = make_cli(ctx, json, None)
    store = cli.store()
    keys = list_keys(store, include_revoked=all_)
    now = store.clock.now()
    table = Table(
        "id",
        "name",
        "prefix",
        "role",
        "owner",
        "created",
        "last used",
        "expires",
        "state",
        title="API keys",
    )

    def day(value: object) -> str:
        return f"{value:%Y-%m-%d %H:%M}" if value is not None else "-"

    for k in keys:
        state = "revoked" if k.revoked_at else ("active" if k.active(now) else "expired")
        table.add_row(
            k.id,
            escape(k.name),
            k.prefix,
            k.role,
            escape(k.owner),
            day(k.created_at),
            day(k.last_used_at),
            day(k.expires_at),
            state,
        )
    cli.emit([k.to_dict() for k in keys], table)


@keys_app.command("revoke")
def revoke(
    ctx: typer.Context,
    which: str = typer.Argument(..., help="The key's id, prefix, or name (all keys of it)."),
    reason: str | None = typer.Option(None, "--reason", "-m", help="Why (kept in the audit)."),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Revoke a key; gateways refuse it within a second or two."""
    from liveops.services.access import revoke_key

    cli = make_cli(ctx, json, as_)
    done = revoke_key(cli.store(), which, actor=cli.actor, reason=reason)
    lines = "\n".join(f"revoked {k.name} ({k.id}, {k.prefix}..., role {k.role})" for k in done)
    cli.emit([k.to_dict() for k in done], lines)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
