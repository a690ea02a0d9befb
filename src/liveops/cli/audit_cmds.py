"""``liveops audit verify|log`` and ``liveops db upgrade|current``."""

from __future__ import annotations

import typer

from liveops.cli.output import JSON_OPT, make_cli
from liveops.core.exits import exit_code

audit_app = typer.Typer(help="The append-only, hash-chained record of every change.")
db_app = typer.Typer(help="The database schema.")


@audit_app.command("verify")
def verify(ctx: typer.Context, json: bool = JSON_OPT) -> None:
    """Check the whole chain; exit 1 if an event was edited, deleted or cut off."""
    cli = make_cli(ctx, json, None)
    report = cli.store().audit.verify()
    if report.ok:
        human = f"[green]audit chain intact[/]: {report.events} events"
    else:
        human = "[red]audit chain broken[/]:\n" + "\n".join(f"  - {p}" for p in report.problems)
    cli.emit(report.to_dict(), human)
    raise typer.Exit(exit_code(["pass" if report.ok else "fail"]))


@audit_app.command("log")
def log(
    ctx: typer.Context,
    object_id: str | None = typer.Argument(None, help="Only events about this object."),
    limit: int = typer.Option(50, "--limit", "-n"),
    json: bool = JSON_OPT,
) -> None:
    """Recent events, newest first."""
    from rich.markup import escape
    from rich.table import Table

    cli = make_cli(ctx, json, None)
    events = cli.store().audit.events(object_id=object_id, limit=limit)
    table = Table("#", "time", "actor", "action", "object", "reason", title="audit log")
    for e in events:
        table.add_row(
            str(e.seq),
            e.time[:19],
            escape(e.actor),
            e.action,
            escape(e.object_id),
            escape(e.reason or ""),
        )
    cli.emit([e.body() | {"hash": e.hash} for e in events], table)


@db_app.command("upgrade")
def upgrade(ctx: typer.Context, json: bool = JSON_OPT) -> None:
    """Create or migrate the database schema to the current version."""
    from liveops.store import ensure_schema, open_store

    cli = make_cli(ctx, json, None)
    store = open_store(project_dir=cli.project_dir, upgrade=False)
    before, after = ensure_schema(store.engine)
    msg = f"schema at {after}" + (
        f" (was {before or 'empty'})" if before != after else " (up to date)"
    )
    cli.emit({"url": store.url, "before": before, "after": after}, f"{store.url}: {msg}")


@db_app.command("current")
def current(ctx: typer.Context, json: bool = JSON_OPT) -> None:
    """The schema revision of the database and of this liveops."""
    from liveops.store import migrate, open_store

    cli = make_cli(ctx, json, None)
    store = open_store(project_dir=cli.project_dir, upgrade=False)
    rev, head = migrate.current_revision(store.engine), migrate.heads()[0]
    cli.emit(
        {"url": store.url, "current": rev, "head": head}, f"{store.url}: at {rev}, head {head}"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
    app.add_typer(db_app, name="db")
