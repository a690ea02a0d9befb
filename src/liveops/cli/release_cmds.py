"""``liveops release create|show|list|approve|override|tick|notes|decide|smoke``.

Exit codes (docs/conventions.md): ``show`` and ``smoke`` report a checked condition, as
``readiness`` does: 1 when a checklist item (or the smoke test) failed, 3 when something is
missing and nothing failed, else 0. A refused action (an author's approval, a decision while
items are missing, ticking an automatic item) is an error, 4, with the reason: nothing was
written. A malformed command line is 2.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path

import typer

from liveops.cli.output import AS_OPT, JSON_OPT, URL_ENV, make_cli, wire
from liveops.errors import InvalidInputError, UsageError

release_app = typer.Typer(
    help="Releases: checklist, approvals by risk tier, notes, decision, staging smoke test."
)


@release_app.command("create")
def create(
    ctx: typer.Context,
    version: str = typer.Argument(..., help="SERVICE@N (or SERVICE@ALIAS)."),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """A draft release: the checklist computed now, approvals by the service's risk tier,
    drafted notes."""
    from liveops.cli.release_render import release_view
    from liveops.services.releases import create_release

    cli = make_cli(ctx, json, as_)
    view = wire(create_release(cli.store(), cli.project_dir, version, actor=cli.actor).to_dict())
    if not json:
        cli.note(f"release {view['id']} of {view['ref']} created (draft)")
    cli.emit(view, release_view(view))


@release_app.command("show")
def show(
    ctx: typer.Context,
    release: str = typer.Argument(
        ..., help="A release id (rl7k2qx), or SERVICE@N: that version's latest release."
    ),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Every checklist item with its state, the approvals, notes and decision.

    Exit 1 when an item failed, 3 when an item or approval is missing, else 0."""
    from liveops.cli.release_render import release_view
    from liveops.services.releases import view_release

    cli = make_cli(ctx, json, as_, remote=True)
    if cli.api is not None:
        view = cli.api.release(release)
    else:
        view = wire(view_release(cli.store(), release, cli.project_dir, actor=cli.actor).to_dict())
    cli.emit(view, release_view(view, notes=True))
    raise typer.Exit(view["exit_code"])


@release_app.command("list")
def list_(
    ctx: typer.Context,
    service: str | None = typer.Argument(None, help="Only releases of this service."),
    json: bool = JSON_OPT,
) -> None:
    """Every release, newest first."""
    from liveops.cli.release_render import releases_table
    from liveops.services.releases import list_releases

    cli = make_cli(ctx, json, None, remote=True)
    if cli.api is not None:
        found = cli.api.releases(service)
    else:
        found = wire([r.to_dict() for r in list_releases(cli.store(), service)])
    rows = [r | {"notes": None} for r in found]
    cli.emit(rows, releases_table(rows))


@release_app.command("approve")
def approve(
    ctx: typer.Context,
    release: str = typer.Argument(..., help="A release id."),
    group: str | None = typer.Option(None, "--group", help="Approve for this group."),
    comment: str | None = typer.Option(None, "--comment", "-m", help="Why, in a sentence."),
    override: bool = typer.Option(
        False, "--override", help="Approve the pending override of the evaluation instead."
    ),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Approve a release for a group still missing (never by its author)."""
    from liveops.cli.release_render import approvals_line
    from liveops.services.releases import approve as approve_release

    cli = make_cli(ctx, json, as_, remote=True)
    if cli.api is not None:
        if override:
            raise UsageError(
                "`liveops release approve --override` has no remote form yet",
                hint=f"unset {URL_ENV} (and leave out --url) to approve the override locally",
            )
        view = cli.api.approve(release, group, comment)
        # The key's owner approved: the newest approval of the release is theirs.
        actor = max(view["approvals"], key=lambda a: a["at"])["approver"]
    else:
        actor = cli.actor
        done = approve_release(
            cli.store(),
            release,
            cli.project_dir,
            actor=cli.actor,
            group=group,
            comment=comment,
            override=override,
        )
        view = wire(done.to_dict())
    what = "the override of" if override else ""
    cli.emit(view, f"{actor} approved {what} {release}; {approvals_line(view)}")


@release_app.command("override")
def override(
    ctx: typer.Context,
    release: str = typer.Argument(..., help="A release id."),
    justification: str = typer.Option(
        ..., "--justification", help="Why the failed evaluation is acceptable (written out)."
    ),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Ask to accept a failed evaluation; counts once the overrides group approves it."""
    from liveops.services.releases import request_override

    cli = make_cli(ctx, json, as_)
    view = request_override(
        cli.store(), release, cli.project_dir, actor=cli.actor, justification=justification
    )
    group = view.release.policy.overrides
    cli.emit(
        view.to_dict(),
        f"override of the evaluation asked; next: someone of {group} runs "
        f"`liveops release approve {release} --override`",
    )


@release_app.command("tick")
def tick(
    ctx: typer.Context,
    release: str = typer.Argument(..., help="A release id."),
    item: str = typer.Argument(..., help="support_informed, docs_updated or launch_owner."),
    note: str | None = typer.Option(None, "--note", help="E.g. the launch owner's name."),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Tick a manual checklist item (who and when are recorded)."""
    from liveops.services.releases import tick_item

    cli = make_cli(ctx, json, as_)
    done = tick_item(cli.store(), release, item, actor=cli.actor, note=note)
    cli.emit(done.to_dict(), f"{item}: {done.detail}")


@release_app.command("notes")
def notes(
    ctx: typer.Context,
    release: str = typer.Argument(..., help="A release id."),
    set_file: Path | None = typer.Option(None, "--set-file", help="Replace the notes with FILE."),
    edit: bool = typer.Option(False, "--edit", help="Edit the notes in $EDITOR."),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Print the notes and what makes them vague; --set-file or --edit replace them."""
    from liveops.cli.release_render import notes_view
    from liveops.services.releases import get_release, set_notes

    if set_file is not None and edit:
        raise UsageError("give --set-file or --edit, not both")
    cli = make_cli(ctx, json, as_)
    store = cli.store()
    rel = get_release(store, release)
    text: str | None = None
    if set_file is not None:
        try:
            text = set_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"cannot read {set_file}: {exc}") from None
    elif edit:
        text = _edit(rel.notes)
        if text == rel.notes:
            cli.note("notes unchanged")
            text = None
    if text is not None:
        rel = set_notes(store, rel, text, actor=cli.actor)
    from liveops.core.release_notes import check_notes

    flags = check_notes(rel.notes)
    cli.emit(
        {
            "release": rel.id,
            "notes": rel.notes,
            "edited": rel.notes_edited,
            "flags": [f.to_dict() for f in flags],
        },
        notes_view(rel.notes, [f.to_dict() for f in flags]),
    )


def _edit(text: str) -> str:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False, encoding="utf-8") as f:
        f.write(text)
        path = f.name
    try:
        code = subprocess.call([*shlex.split(editor), path])
        if code != 0:
            raise InvalidInputError(f"the editor {editor!r} exited with {code}; notes unchanged")
        return Path(path).read_text(encoding="utf-8")
    finally:
        os.unlink(path)


@release_app.command("decide")
def decide(
    ctx: typer.Context,
    release: str = typer.Argument(..., help="A release id."),
    kind: str = typer.Argument(..., help="launch, limited_launch, improve_first or narrow_scope."),
    reason: str = typer.Option(..., "--reason", help="Why, in a sentence."),
    scope: list[str] = typer.Option(
        [], "--scope", help="FIELD=VALUE[,VALUE] (repeat): whom the decision covers."
    ),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Record the decision with links to the evidence (launches need every item and approval)."""
    from liveops.cli.release_render import release_view
    from liveops.services.releases import decide as decide_release
    from liveops.services.releases import parse_scope

    cli = make_cli(ctx, json, as_)
    decided = decide_release(
        cli.store(),
        release,
        cli.project_dir,
        kind,
        reason=reason,
        actor=cli.actor,
        scope=parse_scope(scope),
    )
    view = wire(decided.to_dict())
    cli.emit(view, release_view(view))


@release_app.command("smoke")
def smoke(
    ctx: typer.Context,
    release: str = typer.Argument(..., help="A release id."),
    url: str = typer.Option(..., "--url", help="A gateway serving the staging alias."),
    requests: int = typer.Option(200, "--requests", min=1, help="Requests of the short load."),
    concurrency: int = typer.Option(4, "--concurrency", min=1, max=64),
    log_wait_s: float = typer.Option(
        30.0, "--log-wait-s", min=0, help="How long to wait for the answers to be logged."
    ),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Must-pass cases and a short load through a staging gateway; exit 1 when it fails.
    A gateway that requires keys takes the one in LIVEOPS_KEY (role predictor or admin)."""
    from liveops.cli.release_render import smoke_view
    from liveops.core.exits import exit_code
    from liveops.services.releases import smoke_release

    cli = make_cli(ctx, json, as_)
    _, summary = smoke_release(
        cli.store(),
        release,
        cli.project_dir,
        url,
        actor=cli.actor,
        requests=requests,
        concurrency=concurrency,
        log_wait_s=log_wait_s,
        key=os.environ.get("LIVEOPS_KEY") or None,
    )
    cli.emit(summary, smoke_view(summary))
    raise typer.Exit(exit_code(["pass" if summary["passed"] else "fail"]))


def register(app: typer.Typer) -> None:
    app.add_typer(release_app, name="release")
