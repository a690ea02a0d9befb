"""``liveops review create|next|submit|show|list|promote`` and ``liveops readiness``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from liveops.cli.output import AS_OPT, JSON_OPT, Cli, make_cli
from liveops.errors import InvalidInputError, UsageError

if TYPE_CHECKING:
    from liveops.core.review.items import ReviewItemRecord, ReviewRecord
    from liveops.core.review.rubric import Rubric
    from liveops.store import Store

review_app = typer.Typer(help="Human review of evaluation results: sample, score, agree, promote.")

QUIT = {"q", "quit", ":q"}


@review_app.command("create")
def create(
    ctx: typer.Context,
    from_eval: str = typer.Option(..., "--from-eval", help="The evaluation run to sample from."),
    sample: int = typer.Option(50, "--sample", "-n", help="How many items to review."),
    seed: int = typer.Option(0, "--seed", help="Seed of the stratified sample."),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Sample items from an evaluation run (failures and low confidence first)."""
    from liveops.services.review import create_review

    cli = make_cli(ctx, json, as_)
    review, items = create_review(
        cli.store(),
        from_eval,
        sample=sample,
        seed=seed,
        actor=cli.actor,
        project_dir=cli.project_dir,
    )
    if not json:
        strata = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in review.sample["strata"].items())
        cli.note(
            f"review {review.id} of {review.subject}: {len(items)} items ({strata}); "
            f"next: liveops review next --review {review.id}"
        )
    cli.emit({**review.to_dict(), "items": [i.id for i in items]}, f"[bold]{review.id}[/]")


@review_app.command("next")
def next_(
    ctx: typer.Context,
    review: str | None = typer.Option(None, "--review", "-r", help="Review id (default: newest)."),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Review items one by one in the terminal (q quits). With --json: print the next item."""
    from liveops.core.review.rubric import parse_rubric
    from liveops.services.review import next_item

    cli = make_cli(ctx, json, as_)
    store = cli.store()
    rec, item = next_item(store, cli.actor, review)
    if json:
        cli.emit(
            {"review": rec.id, "reviewer": cli.actor, "item": item.to_dict() if item else None}
        )
        return
    _interactive(cli, store, rec, parse_rubric(rec.rubric), item)


def _interactive(
    cli: Cli, store: Store, review: ReviewRecord, rubric: Rubric, item: ReviewItemRecord | None
) -> None:
    from liveops.cli.review_render import item_panel
    from liveops.services.review import next_item, submit

    out = cli.out
    done = 0
    out.print(
        f"reviewing [bold]{review.id}[/] ({review.subject}) as [bold]{cli.actor}[/]: "
        "answer each rubric item; Enter skips an item, q quits"
    )
    while item is not None:
        out.print(item_panel(item, f"item {item.id} ({item.position}/{review.sample.get('size')})"))
        scores: dict[str, str] = {}
        for ri in rubric.items:
            answer = _ask(cli, f"{ri.name} [{'/'.join(ri.values)}]", ri.check)
            if answer is None:
                out.print(f"stopped; {done} item(s) scored this session")
                return
            if answer:
                scores[ri.name] = answer
        if scores:
            submit(store, item.id, cli.actor, scores)
            done += 1
            out.print(
                f"[green]saved[/] {item.id}: " + ", ".join(f"{k}={v}" for k, v in scores.items())
            )
        else:
            out.print(f"[yellow]skipped[/] {item.id}: nothing answered")
        _, item = next_item(store, cli.actor, review.id)
        if item is not None and not scores:
            # nothing was saved, so the same item would come back: stop rather than loop
            out.print("no answers given; stopping")
            return
    out.print(f"nothing left to review in {review.id} for {cli.actor} ({done} scored now)")


def _ask(cli: Cli, prompt: str, check: Any) -> str | None:
    """Ask until the answer fits; '' skips, None quits (q or end of input)."""
    from rich.markup import escape

    while True:
        try:
            raw = cli.out.input(f"[bold]{escape(prompt)}[/]: ").strip()
        except EOFError:
            return None
        if raw.lower() in QUIT:
            return None
        if not raw:
            return ""
        try:
            return str(check(raw))
        except InvalidInputError as exc:
            cli.out.print(f"[red]{exc.message}[/]")


def _parse_scores(items: list[str]) -> dict[str, str]:
    scores: dict[str, str] = {}
    for raw in items:
        key, sep, value = raw.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UsageError(
                f"--score {raw!r} is not RUBRIC_ITEM=VALUE", hint="e.g. --score correct_route=yes"
            )
        if key.strip() in scores:
            raise UsageError(f"--score gives {key.strip()!r} twice")
        scores[key.strip()] = value.strip()
    return scores


@review_app.command("submit")
def submit_cmd(
    ctx: typer.Context,
    item: str = typer.Argument(..., help="Review item id, e.g. r7k2qx-3."),
    score: list[str] = typer.Option([], "--score", "-s", help="RUBRIC_ITEM=VALUE (repeat)."),
    note: str | None = typer.Option(None, "--note", help="Why, in a sentence."),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Score one item without prompts (for scripts); a resubmission replaces your answers."""
    from liveops.services.review import submit

    cli = make_cli(ctx, json, as_)
    scores = submit(cli.store(), item, cli.actor, _parse_scores(score), note=note)
    mine = [s for s in scores if s.reviewer == cli.actor]
    text = ", ".join(f"{s.rubric_item}={s.value}" for s in mine)
    cli.emit(
        {"item": item, "reviewer": cli.actor, "scores": [s.to_dict() for s in mine]},
        f"saved {item} for {cli.actor}: {text}",
    )


@review_app.command("show")
def show(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="A review id (r7k2qx) or an item id (r7k2qx-3)."),
    json: bool = JSON_OPT,
) -> None:
    """A review's progress, answers and agreement, or one item with every reviewer's scores."""
    from liveops.cli.review_render import item_view, review_summary
    from liveops.services import review as rv

    cli = make_cli(ctx, json, None)
    store = cli.store()
    if "-" in ref:
        view = rv.item_view(store, ref)
        cli.emit(view, item_view(view))
        return
    summary = rv.summarise(store, rv.get_review(store, ref))
    cli.emit(summary.to_dict(), review_summary(summary))


@review_app.command("list")
def list_(
    ctx: typer.Context,
    service: str | None = typer.Argument(None, help="Only reviews of this service."),
    json: bool = JSON_OPT,
) -> None:
    """Every review, newest first."""
    from liveops.cli.review_render import reviews_table
    from liveops.services.review import list_reviews

    cli = make_cli(ctx, json, None)
    reviews = list_reviews(cli.store(), service)
    cli.emit([r.to_dict() for r in reviews], reviews_table(reviews))


@review_app.command("promote")
def promote_cmd(
    ctx: typer.Context,
    item: str = typer.Argument(..., help="A reviewed item id."),
    label: str | None = typer.Option(None, "--label", help="The right label, if not the case's."),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Add a reviewed case to the service's regression dataset (a new dataset version)."""
    from liveops.services.review import promote

    cli = make_cli(ctx, json, as_)
    record, created = promote(cli.store(), item, actor=cli.actor, label=label)
    word = "added to" if created else "already in"
    cli.emit(
        {"item": item, "dataset": record.ref, "rows": record.rows, "created": created},
        f"{item} {word} {record.ref} ({record.rows} case(s)); evaluations of the service "
        "now run it as a must-pass case",
    )


def readiness_cmd(
    ctx: typer.Context,
    version: str = typer.Argument(..., help="SERVICE@N or SERVICE@ALIAS."),
    json: bool = JSON_OPT,
) -> None:
    """Launch readiness: gates, robustness, probes and review, each pass, fail or missing.

    Exit 1 when any check fails, 3 when something is missing and nothing fails, else 0.
    """
    from liveops.cli.review_render import readiness_view
    from liveops.services.readiness import readiness

    cli = make_cli(ctx, json, None)
    view = readiness(cli.store(), version)
    cli.emit(view.to_dict(), readiness_view(view))
    raise typer.Exit(view.exit_code)


def register(app: typer.Typer) -> None:
    app.add_typer(review_app, name="review")
    app.command("readiness")(readiness_cmd)
