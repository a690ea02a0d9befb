"""``liveops simulate``: days of traffic through a real gateway on a simulated clock, with
late labels, then the monitor on the same clock (see docs/monitoring.md#a-simulated-week)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import typer

from liveops.cli.output import JSON_OPT, make_cli

if TYPE_CHECKING:
    from liveops.services.simulation import RecordSource, SimulationReport


def simulate(
    ctx: typer.Context,
    service: str = typer.Argument(..., help="The service to send traffic to."),
    mode: str | None = typer.Option(
        None,
        "--mode",
        help="Phases of the demo's generator, MODE:DAYS,... (normal, covariate_shift, "
        "new_world), e.g. normal:5,covariate_shift:2.",
    ),
    data: str | None = typer.Option(
        None,
        "--data",
        help="Phases of records, SOURCE:DAYS,...: a CSV/JSONL/Parquet file or a dataset "
        "(NAME or NAME@N) with the true label in --label-field.",
    ),
    days: int = typer.Option(7, "--days", min=1, help="Days, when one phase names none."),
    per_day: int = typer.Option(3000, "--per-day", min=1, help="Answers per simulated day."),
    start: str | None = typer.Option(
        None, "--start", help="The first simulated day (ISO; default: the span ends today 00:00)."
    ),
    label_share: float = typer.Option(
        0.3, "--label-share", min=0.0, max=1.0, help="Share of answers whose label comes back."
    ),
    label_delay: str = typer.Option(
        "1h-3d", "--label-delay", help="How late labels arrive, MIN-MAX (log-uniform)."
    ),
    label_field: str = typer.Option("label", "--label-field", help="The records' true label."),
    labels_via: str = typer.Option(
        "http",
        "--labels-via",
        help="http: POST /v1/feedback per label; import: in bulk every simulated hour.",
    ),
    batch: int = typer.Option(20, "--batch", min=1, help="Instances per request."),
    flat: bool = typer.Option(False, "--flat", help="Uniform over the day (no daily pattern)."),
    monitor_every: str | None = typer.Option(
        None, "--monitor-every", help="Also run the monitor every this long, simulated (6h)."
    ),
    no_monitor: bool = typer.Option(False, "--no-monitor", help="Do not run the monitor."),
    url: str | None = typer.Option(
        None,
        "--url",
        help="A running gateway started with --allow-time-override (default: start one).",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the records, times and labels."),
    json: bool = JSON_OPT,
) -> None:
    """Send simulated days of traffic through the gateway, labels arriving late, and run the
    monitor on the same simulated clock."""
    from liveops.errors import UsageError
    from liveops.services.simulation import (
        SimulationOptions,
        parse_delay_range,
        parse_duration,
        parse_phases,
    )
    from liveops.services.simulation import simulate as run_simulation

    if (mode is None) == (data is None):
        raise UsageError(
            "give the records' source: --mode (the demo's generator) or --data (files or "
            "datasets), not both",
            hint="e.g. --mode normal:5,covariate_shift:2 or --data traffic.jsonl",
        )
    phases = parse_phases(mode or data or "", default_days=days)
    options = SimulationOptions(
        per_day=per_day,
        label_share=label_share,
        label_field=label_field,
        delay_s=parse_delay_range(label_delay),
        batch=batch,
        daily=not flat,
        monitor=not no_monitor,
        monitor_every_s=parse_duration(monitor_every, "--monitor-every") if monitor_every else None,
        seed=seed,
        labels_via=labels_via,  # type: ignore[arg-type]  # checked by options.check()
    )
    options.check()
    first = _start(start, sum(p.days for p in phases))
    cli = make_cli(ctx, json, None)
    store = cli.store()
    source = _demo_source(seed) if mode else None
    if source is None:
        from liveops.services.simulation import file_source

        source = file_source(store, seed=seed, cwd=cli.project_dir)
    for phase in phases:  # a bad source is said now, before a gateway starts
        source(phase.name, 1, 0)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=cli.err,
        transient=True,
        disable=json,
    ) as bar:
        task = bar.add_task("simulating", total=None)

        def tell(now: datetime, done: int, total: int) -> None:
            bar.update(
                task, description=f"simulated {now:%a %d %b %H:%M}", completed=done, total=total
            )

        report = run_simulation(
            store,
            cli.project_dir,
            service,
            phases,
            source,
            options,
            start=first,
            url=url,
            progress=tell,
        )
    cli.emit(report.to_dict(), _human(report))


def _start(text: str | None, days: int) -> datetime:
    if text is None:
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return today - timedelta(days=days)
    from liveops.errors import UsageError

    try:
        at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--start {text!r} is not a time", hint="e.g. --start 2026-03-01 (UTC)"
        ) from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _demo_source(seed: int) -> RecordSource:
    from liveops.demo.data import MODES, generate_records
    from liveops.errors import UsageError

    def draw(name: str, n: int, day: int) -> list[dict[str, Any]]:
        if name not in MODES:
            raise UsageError(
                f"unknown mode {name!r} of the demo's generator",
                hint=f"use {', '.join(MODES)}; files and datasets go in --data",
            )
        return generate_records(n, seed * 1000 + day, name)  # type: ignore[arg-type]

    return draw


def _human(r: SimulationReport) -> Any:
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        title=f"{escape(r.service)}: {r.simulated_days:g} simulated days from {r.start[:16]}, "
        f"{r.answers:,} answers in {r.requests:,} requests, {r.wall_s:.1f} s",
        title_justify="left",
    )
    for col in ("day", "phase", "answers", "refused", "labels sent", "labels pending"):
        table.add_column(col, justify="left" if col in ("day", "phase") else "right")
    for d in r.days:
        table.add_row(
            d.day[:10],
            escape(d.phase),
            f"{d.answers:,}",
            f"{d.refused:,}",
            f"{d.labels_sent:,}",
            f"{d.labels_pending:,}",
        )
    lines: list[Any] = [table]
    if r.labels_refused:
        lines.append(f"[yellow]{r.labels_refused:,} labels refused[/]")
    lines += [f"[yellow]note:[/] {escape(n)}" for n in r.notes]
    if r.monitor is not None and r.monitor.ran:
        points = sum(s.points_written for s in r.monitor.services)
        lines.append(
            f"monitor: {r.monitor_passes} pass(es) on the simulated clock; the last wrote "
            f"{points:,} points. next: liveops metrics show {escape(r.service)} --window 1d "
            f"--since {r.start[:10]}"
        )
    from rich.console import Group

    return Group(*lines)


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)
