"""``liveops batch SERVICE[@N|@ALIAS] --input FILE --output FILE``: score a file in bulk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from liveops.cli.output import AS_OPT, JSON_OPT, make_cli


def batch(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="SERVICE (its production version), SERVICE@N or @ALIAS."),
    input_: Path = typer.Option(
        ..., "--input", "-i", help="CSV, Parquet, JSONL, or a folder of Parquet files."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Output: .parquet, .csv or .jsonl."),
    rejects: Path | None = typer.Option(
        None, "--rejects", help="Rows refused, with the reason (default: OUTPUT.rejects.jsonl)."
    ),
    id_column: str | None = typer.Option(
        None, "--id-column", help="The input's id column, copied beside the outputs (default: id)."
    ),
    chunk_rows: int = typer.Option(50_000, "--chunk-rows", min=1, help="Rows per chunk."),
    engine: str = typer.Option("local", "--engine", help="local (worker processes) or ray."),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Worker processes (default: the machine's cores)."
    ),
    address: str | None = typer.Option(None, "--address", help="A Ray cluster (--engine ray)."),
    no_log: bool = typer.Option(
        False, "--no-log", help="Do not log the answers (recorded in the audit log)."
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the output, restart."),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Score a file with a version: the gateway's checks, model, decisions and log, in bulk."""
    from liveops.services.batch import BatchOptions, run_batch

    cli = make_cli(ctx, json, as_)
    options = BatchOptions(
        ref=ref,
        input=input_,
        output=output,
        rejects=rejects,
        id_column=id_column,
        chunk_rows=chunk_rows,
        engine=engine,
        workers=workers,
        address=address,
        log=not no_log,
        resume=resume,
        overwrite=overwrite,
        actor=cli.actor,
    )
    store = cli.store()
    with _Progress(cli.err) as progress:
        try:
            summary = run_batch(store, cli.project_dir, options, progress.update)
        except KeyboardInterrupt:
            cli.note("interrupted: finished chunks are kept; rerun with --resume to continue")
            raise
    data = summary.to_dict()
    cli.emit(data, _render(data))


class _Progress:
    """A Rich progress bar with rows/s on stderr (rows only, when the total is unknown)."""

    def __init__(self, console: Any) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            TextColumn("scoring"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows · {task.fields[speed]} rows/s"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._task: Any = None
        self._start = 0.0
        self._first: int | None = None

    def __enter__(self) -> _Progress:
        import time

        self._progress.__enter__()
        self._task = self._progress.add_task("batch", total=None, speed="-")
        self._start = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(None, None, None)

    def update(self, rows: int, total: int | None) -> None:
        import time

        if self._first is None:
            self._first = rows  # rows of an earlier run count for the bar, not the speed
        elapsed = max(1e-9, time.monotonic() - self._start)
        speed = f"{(rows - self._first) / elapsed:,.0f}"
        self._progress.update(self._task, completed=rows, total=total, speed=speed)


def _render(data: dict[str, Any]) -> str:
    from rich.markup import escape

    decisions = ", ".join(f"{k} {v:,}" for k, v in data["decisions"].items() if v) or "none"
    lines = [
        f"[bold]{escape(data['version'])}[/] scored {data['scored']:,} of {data['rows']:,} rows "
        f"in {data['seconds']:.1f} s ({data['rows_per_s'] or 0:,.0f} rows/s, "
        f"{data['engine']} engine, {data['workers']} worker(s))",
        f"decisions: {decisions}",
        f"output: {escape(data['output'])}",
    ]
    if data["rejected"]:
        lines.append(f"rejected: {data['rejected']:,} rows, see {escape(str(data['rejects']))}")
    if data["resumed_chunks"]:
        lines.append(f"resumed: {data['resumed_chunks']} chunk(s) finished by the earlier run")
    logged = f"{data['logged']:,} answers (source batch)" if data["log"] else "off (--no-log)"
    lines.append(f"log: {logged}; run {data['run_id']}")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    app.command("batch")(batch)
