"""``liveops eval SERVICE@N`` and ``liveops runs list|show``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from liveops.cli.output import AS_OPT, JSON_OPT, Cli, make_cli
from liveops.core.evaluation.gates import exit_code

if TYPE_CHECKING:
    from liveops.core.records import EvalRunRecord
    from liveops.store import Store

runs_app = typer.Typer(help="Stored evaluation runs.")


def eval_cmd(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="The version to evaluate: SERVICE@N or SERVICE@ALIAS."),
    baseline: str | None = typer.Option(
        None,
        "--baseline",
        "-b",
        help="Compare with this version (ALIAS or N; default: production).",
    ),
    html: Path | None = typer.Option(
        None, "--html", help="Also write a self-contained HTML report."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap resamples."),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Evaluate a version on its suite; gates set the exit code (0 pass, 1 fail, 3 inconclusive)."""
    from liveops.services.evaluation import run_eval

    cli = make_cli(ctx, json, as_)
    store = cli.store()
    with _progress(cli) as progress:
        result = run_eval(
            store,
            ref,
            baseline=baseline,
            actor=cli.actor,
            project_dir=cli.project_dir,
            progress=progress,
            seed=seed,
        )
    _finish(cli, result.run, html, _model_errors(store, result.run.id))
    raise typer.Exit(exit_code(result.verdicts))


ERRORS_SHOWN = 10


def _model_errors(store: Store, run_id: str) -> dict[str, Any] | None:
    """How many stored cases of the run the model raised on, and the first of them (the
    summary only counts those of the main cases)."""
    from liveops.services.evaluation import compact_inputs

    total = 0
    shown: list[dict[str, Any]] = []
    for case in store.evaluation.cases(run_id):
        if case.error is None:
            continue
        total += 1
        if len(shown) < ERRORS_SHOWN:
            text = case.inputs.get("text")
            if not isinstance(text, str):
                text = compact_inputs(dict(case.inputs))  # a tabular case: its inputs
            shown.append(
                {"case": case.case_id, "source": case.source, "error": case.error, "text": text}
            )
    return {"count": total, "first": shown} if total else None


def _finish(cli: Cli, run: EvalRunRecord, html: Path | None, errors: dict[str, Any] | None) -> None:
    if html is not None:
        from liveops.cli.eval_html import write_report

        write_report(run, html)
        cli.note(f"report written to {html}")
    if cli.json:
        # gate verdicts first, as in the terminal report; the stored run follows unchanged
        stored = run.to_dict()
        doc = {"gates": stored["summary"]["gates"], "exit_code": run.exit_code, **stored}
        cli.emit({**doc, "model_errors": errors} if errors else doc)
        return
    from liveops.cli.eval_render import model_errors_table, render_run

    out = cli.out
    parts = render_run(run, out.width)
    if errors:
        # right after the gates and the exit code: the first thing to look at
        parts.insert(2, model_errors_table(errors["first"], errors["count"]))
    for part in parts:
        out.print(part)


class _progress:
    """A Rich progress bar on stderr (nothing with --json when stderr is not a terminal)."""

    def __init__(self, cli: Cli) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=cli.err,
            transient=True,
        )
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> Any:
        self.bar.__enter__()

        def update(stage: str, done: int, total: int) -> None:
            task = self.tasks.get(stage)
            if task is None:
                task = self.tasks[stage] = self.bar.add_task(stage, total=max(total, 1))
            self.bar.update(task, completed=done, total=max(total, 1))

        return update

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)


def runs_list(
    ctx: typer.Context,
    service: str | None = typer.Argument(None, help="A service or SERVICE@N (default: all)."),
    limit: int = typer.Option(20, "--limit", "-n", help="At most this many runs."),
    json: bool = JSON_OPT,
) -> None:
    """List evaluation runs, newest first."""
    from liveops.services.evaluation import list_runs

    cli = make_cli(ctx, json, None)
    runs = list_runs(cli.store(), service, limit=limit)
    if cli.json:
        cli.emit([_brief(r) for r in runs])
        return
    from rich.table import Table

    table = Table(title="evaluation runs")
    # Fits 80 columns with nothing cut: the time and actor share a cell, one verdict a line.
    for col in ("run", "version", "vs", "when, by", "gates", "exit"):
        table.add_column(col, no_wrap=col != "gates")
    for r in runs:
        b = _brief(r)
        baseline = b["baseline"] or "-"
        if baseline.startswith(f"{r.service}@"):
            baseline = baseline[len(r.service) :]  # the same service: "@1"
        table.add_row(
            r.id,
            r.ref,
            baseline,
            f"{r.created_at.strftime('%Y-%m-%d %H:%M')}\n{r.actor}",
            b["gates"].replace(", ", "\n"),
            str(r.exit_code),
        )
    cli.out.print(table)


def _brief(run: EvalRunRecord) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for g in run.verdicts:  # the stored verdicts: listing a run never judges it again
        counts[g.verdict] = counts.get(g.verdict, 0) + 1
    return {
        "id": run.id,
        "version": run.ref,
        "baseline": run.summary.baseline,
        "created_at": run.created_at.isoformat(),
        "actor": run.actor,
        "exit_code": run.exit_code,
        "gates": ", ".join(f"{n} {v}" for v, n in sorted(counts.items())),
    }


def runs_show(
    ctx: typer.Context,
    run_id: str = typer.Argument(..., help="The run id (or a unique start of it)."),
    html: Path | None = typer.Option(None, "--html", help="Write the run's HTML report."),
    json: bool = JSON_OPT,
) -> None:
    """Show a stored run as `liveops eval` printed it."""
    from liveops.services.evaluation import get_run

    cli = make_cli(ctx, json, None)
    store = cli.store()
    run = get_run(store, run_id)
    _finish(cli, run, html, _model_errors(store, run.id))


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_cmd)
    runs_app.command("list")(runs_list)
    runs_app.command("show")(runs_show)
    app.add_typer(runs_app, name="runs")
