"""``liveops feedback import FILE``: labels and outcomes in bulk (see docs/predictions.md)."""

from __future__ import annotations

from pathlib import Path

import typer

from liveops.cli.output import JSON_OPT, make_cli

feedback_app = typer.Typer(help="Feedback on logged answers: labels and outcomes in bulk.")


@feedback_app.command("import")
def import_(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV (with a header) or JSONL file."),
    source: str = typer.Option(
        "import", "--source", help="Source of rows without a source column."
    ),
    json: bool = JSON_OPT,
) -> None:
    """Import labels (prediction_id, label, optional time and source) or outcomes
    (prediction_id, outcome, optional value): accepted, superseded and rejected rows are
    counted; rejected ones go to FILE.rejects.jsonl (with --json: listed in the output).
    Exit 0 when every row was stored or already there, 3 when some were rejected."""
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from liveops.core.exits import exit_code
    from liveops.services.predictions.feedback_import import import_feedback

    cli = make_cli(ctx, json, None)
    store = cli.store()
    rejects = None if json else file.with_name(file.name + ".rejects.jsonl")
    bar = Progress(
        TextColumn("importing"), BarColumn(), MofNCompleteColumn(), console=cli.err, transient=True
    )
    with bar:
        task = bar.add_task("rows", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            report = import_feedback(
                store, file, source=source, progress=progress, rejects_file=rejects
            )
        finally:
            store.close()
    doc = report.to_dict()
    lines = [
        f"{escape(str(file))}: {report.rows} row(s); {report.accepted} accepted "
        f"({report.superseded} superseding an older value, {report.outcomes} outcome(s)), "
        f"{report.unchanged} already stored, {len(report.rejected)} rejected"
    ]
    for reason, n in sorted(doc["rejected_by_reason"].items()):
        first = next(r for r in report.rejected if r.reason == reason)
        lines.append(f"  {n} {reason} (first: line {first.line}: {escape(first.message)})")
    if report.rejects_file:
        lines.append(f"rejected rows: {escape(report.rejects_file)}")
    if not json:
        doc.pop("rejects")  # they are in the rejects file
    cli.emit(doc, "\n".join(lines))
    raise typer.Exit(exit_code(["missing"] if report.rejected else []))


def register(app: typer.Typer) -> None:
    app.add_typer(feedback_app, name="feedback")
