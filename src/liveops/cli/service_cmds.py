"""``liveops service apply|list|show|disable|enable``."""

from __future__ import annotations

from pathlib import Path

import typer

from liveops.cli.output import AS_OPT, JSON_OPT, make_cli, wire

service_app = typer.Typer(help="Declare services (liveops.yaml) and switch them off or on.")


@service_app.command("apply")
def apply(
    ctx: typer.Context,
    file: Path | None = typer.Option(
        None, "--file", "-f", help="Project file (default: liveops.yaml)."
    ),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Store the services declared in liveops.yaml (validated; errors name the line)."""
    from rich.table import Table

    from liveops.services.registry import apply_project, load_project

    cli = make_cli(ctx, json, as_)
    import os

    # Secrets are read from the environment: a receiver whose variable is unset is refused
    # here, naming its line, rather than failing at the first alert.
    project = load_project(file or cli.project_dir, env=os.environ)
    results = apply_project(cli.store(), project, actor=cli.actor)
    table = Table("service", "outcome", title="service apply")
    for r in results:
        table.add_row(r.service, r.outcome)
    cli.emit([{"service": r.service, "outcome": r.outcome} for r in results], table)


@service_app.command("list")
def list_(ctx: typer.Context, json: bool = JSON_OPT) -> None:
    """The applied services."""
    from rich.table import Table

    cli = make_cli(ctx, json, None, remote=True)
    if cli.api is not None:
        rows = cli.api.services()
    else:
        store = cli.store()
        rows = wire(
            [
                {
                    **r.to_dict(),
                    "production": store.registry.get_alias(r.name, "production"),
                    "state": "disabled" if r.disabled else "enabled",
                }
                for r in store.registry.list_services()
            ]
        )
    table = Table("service", "owner", "risk", "production", "state", title="services")
    for row in rows:
        spec = row["spec"]
        table.add_row(
            row["name"],
            spec.get("owner", ""),
            spec.get("risk", ""),
            str(row["production"] or "-"),
            row["state"],
        )
    cli.emit(rows, table)


@service_app.command("show")
def show(ctx: typer.Context, name: str, json: bool = JSON_OPT) -> None:
    """One service's applied spec."""
    import yaml

    from liveops.services.registry import get_service_spec

    cli = make_cli(ctx, json, None)
    spec = get_service_spec(cli.store(), name)
    cli.emit(spec.to_dict(), yaml.safe_dump(spec.to_dict(), sort_keys=False).rstrip())


def _switch(
    ctx: typer.Context,
    name: str,
    enabled: bool,
    reason: str | None,
    json: bool,
    as_: str | None,
    yes: bool = False,
) -> None:
    from liveops.services.registry import set_service_enabled

    cli = make_cli(ctx, json, as_)
    state = "enabled"
    if not enabled:
        from liveops.errors import UsageError
        from liveops.services.serving import fallback_when_disabled

        fallback = fallback_when_disabled(cli.store(), name)
        if fallback is None and not yes:
            raise UsageError(
                f"{name} has no fallback: while it is disabled, every request to it fails with 503",
                hint=f"add --yes to disable it anyway (`liveops service disable {name} --yes`), "
                "or set decision.fallback (rules or a version) first",
            )
        state = (
            f"disabled (all traffic goes to the fallback: {fallback})"
            if fallback
            else "disabled (no fallback: requests get 503 until it is enabled)"
        )
    changed = set_service_enabled(
        cli.store(), name, enabled=enabled, actor=cli.actor, reason=reason
    )
    msg = f"{name} {state}" + ("" if changed else " (already)")
    cli.emit({"service": name, "enabled": enabled, "changed": changed}, msg)


@service_app.command("disable")
def disable(
    ctx: typer.Context,
    name: str,
    reason: str | None = typer.Option(None, "--reason", "-m"),
    yes: bool = typer.Option(
        False, "--yes", "-y", help="Disable even with no fallback (requests then get 503)."
    ),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """The kill switch: send all of the service's traffic to its fallback."""
    _switch(ctx, name, False, reason, json, as_, yes)


@service_app.command("enable")
def enable(
    ctx: typer.Context,
    name: str,
    reason: str | None = typer.Option(None, "--reason", "-m"),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Undo `service disable`."""
    _switch(ctx, name, True, reason, json, as_)


def register(app: typer.Typer) -> None:
    app.add_typer(service_app, name="service")
