"""``liveops drift REFERENCE CURRENT``: data quality and drift of two files or datasets;
``liveops drift --service S``: of a service's last complete window of live traffic against its
reference."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from liveops.cli.output import JSON_OPT, Cli, actor_name, make_cli

if TYPE_CHECKING:
    from rich.console import Group

    from liveops.core.drift.check import DriftCheck
    from liveops.store import Store

_LABEL_STYLE = {"pipeline": "bold red", "world": "bold yellow", "note": "dim"}


def drift(
    ctx: typer.Context,
    reference: str | None = typer.Argument(
        None, help="Reference: CSV, Parquet, JSONL, or a dataset (not with --service)."
    ),
    current: str | None = typer.Argument(
        None, help="Current data: CSV, Parquet, JSONL, or a dataset (not with --service)."
    ),
    service: str | None = typer.Option(
        None, "--service", help="Check this service's live traffic against its reference."
    ),
    window: str | None = typer.Option(
        None,
        "--window",
        help="With --service: the last complete window of this span (default: the service's "
        "monitoring.drift_window, 1d).",
    ),
    version: int | None = typer.Option(
        None, "--version", help="With --service: only this version's answers."
    ),
    slice_: str = typer.Option(
        "all", "--slice", help="With --service: only this slice of the monitor's."
    ),
    columns: str | None = typer.Option(
        None, "--columns", help="Compare only these columns (comma-separated)."
    ),
    tests: bool = typer.Option(
        False, "--tests", help="Judge by p-value tests (KS, chi-square; BH across columns)."
    ),
    html: Path | None = typer.Option(None, "--html", help="Also write an HTML report here."),
    engine: str = typer.Option(
        "local",
        "--engine",
        help="local, or ray: Parquet read by Ray Data, categories counted on its workers.",
    ),
    address: str | None = typer.Option(None, "--address", help="A Ray cluster (--engine ray)."),
    json: bool = JSON_OPT,
) -> None:
    """Data quality, then drift per column, of CURRENT against REFERENCE (every row), or with
    --service of the service's last complete window of logged inputs against its reference.
    --engine ray reads two Parquet files (or folders) with Ray Data: the same result.

    Exit code 1 when a column drifted or a pipeline problem was found (for CI pipelines).
    """
    from liveops.core.exits import exit_code
    from liveops.errors import UsageError

    names = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    data: dict[str, Any]
    if service is not None:
        if reference is not None or current is not None:
            raise UsageError(
                "give either --service or REFERENCE CURRENT, not both",
                hint="liveops drift --service S [--window 1d] compares live traffic with the "
                "service's reference",
            )
        if engine != "local" or address is not None:
            raise UsageError(
                "--engine and --address go with REFERENCE CURRENT, not --service",
                hint="liveops drift ref.parquet cur.parquet --engine ray",
            )
        from liveops.core.clock import SystemClock
        from liveops.services.monitoring import live_drift

        cli = make_cli(ctx, json, None)
        live = live_drift(
            cli.store(),
            service,
            clock=SystemClock(),
            project_dir=cli.project_dir,
            window=window,
            version=version,
            slice_=slice_,
            columns=names,
            tests=tests,
        )
        check, data = live.check, live.to_dict()
    else:
        if reference is None or current is None:
            raise UsageError(
                "give REFERENCE and CURRENT (files or datasets), or --service S",
                hint="liveops drift ref.parquet cur.csv, or liveops drift --service S",
            )
        if window is not None or version is not None or slice_ != "all":
            raise UsageError("--window, --version and --slice go with --service")
        from liveops.services.drift import compare

        def open_store() -> Store:
            # Files need no project; a dataset name needs its store.
            return make_cli(ctx, json, None).store()

        if engine == "ray":
            import logging

            from liveops.services.ray_runtime import import_ray

            import_ray()  # Ray Data sets its loggers up when imported: quiet them after that
            logging.getLogger("ray.data").setLevel(logging.WARNING)  # no plan per pass on stderr
        check = compare(
            reference,
            current,
            columns=names,
            tests=tests,
            open_store=open_store,
            engine=engine,
            address=address,
        )
        data = check.to_dict()
        cli = Cli(project_dir=Path.cwd(), json=json, actor=actor_name(None))
    if html is not None:
        from liveops.cli.drift_html import write_report

        write_report(check, html)
        cli.note(f"HTML report: {html}")
    cli.emit(data, render(check))
    raise typer.Exit(exit_code([check.verdict]))


def _num(v: float | None, digits: int = 3) -> str:
    if v is None or v != v:
        return "–"
    if v != 0 and abs(v) < 10 ** (-digits):
        return f"{v:.1e}"
    return f"{v:.{digits}f}"


def render(check: DriftCheck) -> Group:
    """The quality findings first, then the columns by effect size, then the verdict."""
    from rich.console import Group
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    ref, cur, report = check.reference, check.current, check.drift
    head = Text.from_markup(
        f"[bold]drift[/] of {escape(cur.source)} ({cur.rows:,} rows) against "
        f"{escape(ref.source)} ({ref.rows:,} rows)"
    )
    quality = Table(title="data quality", title_justify="left", expand=False)
    for name in ("column", "label", "check", "finding"):
        quality.add_column(name, overflow="fold")
    for f in check.findings:
        style = _LABEL_STYLE[f.label]
        quality.add_row(escape(f.column), f"[{style}]{f.label}[/]", f.check, escape(f.message))
    if not check.findings:
        quality.add_row("–", "[green]ok[/]", "–", "no data-quality finding")
    columns = Table(title="drift per column, largest effect first", title_justify="left")
    for name in ("column", "kind", "statistic", "value", "threshold", "p-value", "verdict"):
        justify: Any = "right" if name in ("value", "threshold", "p-value") else "left"
        columns.add_column(name, justify=justify, overflow="fold")
    for c in report.by_effect():
        if c.drifted is None:
            verdict = "[dim]not judged[/]"
        else:
            verdict = "[bold red]drifted[/]" if c.drifted else "[green]ok[/]"
        p = c.p_adjusted if c.p_adjusted is not None else c.p_value
        statistic = "length wasserstein" if c.kind == "text" else c.method
        columns.add_row(
            escape(c.column),
            c.kind,
            statistic,
            _num(c.statistic),
            _num(c.threshold),
            _num(p),
            verdict,
        )
    if not report.columns:
        columns.add_row("–", "–", "–", "–", "–", "–", "[dim]no column could be compared[/]")
    # A raised threshold is said once for all the columns it applies to (the table shows each
    # threshold; --json keeps every note); other notes column by column.
    raised = [c.column for c in report.by_effect() if c.note.startswith("threshold raised")]
    notes = [
        f"[dim]{escape(c.column)}: {escape(c.note)}[/]"
        for c in report.by_effect()
        if c.note and c.column not in raised
    ]
    if raised:
        notes.insert(
            0,
            f"[dim]{len(raised)} threshold{'s' if len(raised) != 1 else ''} raised above the "
            "default: the distance that sampling alone gives at these row counts (its 99th "
            "percentile under no drift) is larger; --json has each column's note[/]",
        )
    drifted = [c.column for c in report.drifted]
    problems = len(check.pipeline_problems)
    if check.verdict == "fail":
        why = []
        if problems:
            why.append(f"{problems} pipeline problem{'s' if problems != 1 else ''}")
        if drifted:
            why.append(f"{len(drifted)} drifted column{'s' if len(drifted) != 1 else ''}")
        tail = f"[bold red]fail[/]: {', '.join(why)} (exit 1)"
    else:
        tail = "[green]pass[/]: no drift, no pipeline problem"
    parts: list[Any] = [head, quality, columns]
    parts += [Text.from_markup(n) for n in notes]
    parts.append(Text.from_markup(tail))
    return Group(*parts)


def register(app: typer.Typer) -> None:
    app.command("drift")(drift)
