"""``liveops audit verify|anchor|log`` and ``liveops db upgrade|current``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from liveops.cli.output import JSON_OPT, make_cli
from liveops.core.exits import exit_code
from liveops.errors import LiveopsError, UsageError

if TYPE_CHECKING:
    from liveops.core.audit import Anchor

audit_app = typer.Typer(help="The append-only, hash-chained record of every change.")
db_app = typer.Typer(help="The database schema.")


@audit_app.command("verify")
def verify(
    ctx: typer.Context,
    anchor: str | None = typer.Option(
        None,
        "--anchor",
        help="SEQ:HASH from `liveops audit anchor` (or a file holding it, or its --json): "
        "the chain must still hold that event and extend it.",
    ),
    json: bool = JSON_OPT,
) -> None:
    """Check the whole chain; exit 1 if an event was edited, deleted or cut off."""
    from rich.markup import escape

    point = _read_anchor(anchor) if anchor is not None else None
    cli = make_cli(ctx, json, None)
    report = cli.store().audit.verify(point)
    if report.ok:
        human = f"[green]audit chain intact[/]: {report.events} events"
        if point is not None:
            human += f", extending the anchor at event {point.seq}"
    else:
        human = "[red]audit chain broken[/]:\n" + "\n".join(
            f"  - {escape(p)}" for p in report.problems
        )
    cli.emit(report.to_dict(), human)
    raise typer.Exit(exit_code(["pass" if report.ok else "fail"]))


@audit_app.command("anchor")
def anchor_(
    ctx: typer.Context,
    post: str | None = typer.Option(
        None, "--post", help="Also POST the anchor as JSON to this URL (e.g. a notary service)."
    ),
    json: bool = JSON_OPT,
) -> None:
    """The head's sequence and hash, to keep outside the database for `audit verify --anchor`.

    Whoever can rewrite the database can cut events off and rewrite the head to match; an
    anchor kept elsewhere shows it."""
    cli = make_cli(ctx, json, None)
    store = cli.store()
    head = store.audit.head()
    if head is None:
        cli.err.print(
            "[red]audit chain broken[/]: the audit head row is missing (deleted?); "
            "nothing to anchor. Run `liveops audit verify` with your last anchor."
        )
        raise typer.Exit(exit_code(["fail"]))
    data = {**head.to_dict(), "anchor": str(head), "time": store.clock.now().isoformat()}
    if post is not None:
        data["posted_to"] = post
        _post(post, {**data, "database": store.url})
    cli.emit(data, str(head))
    if post is not None and not json:
        cli.note(f"posted to {post}")


def _read_anchor(value: str) -> Anchor:
    """``SEQ:HASH``, or a file holding it (as text or `audit anchor --json` output)."""
    import orjson

    from liveops.core.audit import Anchor

    point = Anchor.parse(value)
    if point is not None:
        return point
    path = Path(value)
    if not path.is_file():
        raise UsageError(
            f"--anchor {value!r} is neither SEQ:HASH nor a file",
            hint="pass what `liveops audit anchor` printed, e.g. --anchor 12:3f0c... "
            "(64 hex digits), or the file you saved it in",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the anchor file {path}: {exc}") from None
    point = Anchor.parse(text)
    if point is None:
        try:
            data = orjson.loads(text)
            point = Anchor.parse(f"{data['seq']}:{data['hash']}")
        except (orjson.JSONDecodeError, KeyError, TypeError):
            point = None
    if point is None:
        raise UsageError(
            f"the anchor file {path} holds neither SEQ:HASH nor `audit anchor --json` output",
            hint="save what `liveops audit anchor` (or `--json`) printed",
        )
    return point


def _post(url: str, data: dict[str, object]) -> None:
    import httpx

    try:
        response = httpx.post(url, json=data, timeout=10.0)
    except httpx.HTTPError as exc:
        raise LiveopsError(
            f"could not post the anchor to {url}: {exc}",
            hint="check the URL and that the server is up; without --post it is only printed",
        ) from None
    if response.status_code >= 300:
        raise LiveopsError(
            f"{url} answered {response.status_code} to the anchor: {response.text[:200]}",
            hint="check the URL and what that server expects",
        )


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
