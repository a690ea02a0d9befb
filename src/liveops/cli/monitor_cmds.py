"""``liveops monitor run|status`` and ``liveops metrics show``: keep and read the monitor's
windows (see docs/monitoring.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from liveops.cli.output import JSON_OPT, make_cli, wire

if TYPE_CHECKING:
    from liveops.services.monitoring import MonitorReport

monitor_app = typer.Typer(help="The monitor: windows of quality, speed, cost and user impact.")
metrics_app = typer.Typer(help="Metrics the monitor keeps, rolled up per hour or day.")

_BLOCKS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 48  # the newest buckets a sparkline shows (--json has them all)


def sparkline(values: list[float | None]) -> str:
    """Block characters scaled between the smallest and largest value; a gap where None.

    >>> sparkline([0.0, 0.5, 1.0, None, 1.0])
    '▁▅█ █'
    """
    known = [v for v in values if v is not None]
    if not known:
        return ""
    lo, hi = min(known), max(known)
    top = len(_BLOCKS) - 1
    return "".join(
        " "
        if v is None
        else _BLOCKS[top if hi == lo and v else round((v - lo) / (hi - lo or 1) * top)]
        for v in values
    )


def _fmt(value: float | None, metric: str) -> str:
    if value is None:
        return "-"
    if metric == "volume" or (metric.endswith("_ms") and value >= 100):
        return f"{value:,.0f}"
    if metric.startswith("cost."):
        return f"{value:.4g}"
    return f"{value:.3f}"


@monitor_app.command("run")
def run(
    ctx: typer.Context,
    service: str | None = typer.Argument(None, help="Only this service (default: all)."),
    full: bool = typer.Option(False, "--full", help="Recompute every window from the log."),
    json: bool = JSON_OPT,
) -> None:
    """Read what the log and feedback gained since the last run; recompute the windows it
    touches."""
    from rich.progress import Progress

    from liveops.services.monitoring import run_monitor

    cli = make_cli(ctx, json, None)
    store = cli.store()
    with Progress(console=cli.err, transient=True, disable=json) as bar:
        task = bar.add_task("monitor", total=None)

        def tell(name: str, done: int, total: int) -> None:
            bar.update(task, description=f"monitor {name}", completed=done, total=total)

        report = run_monitor(store, cli.project_dir, service, full=full, progress=tell)
    cli.emit(report.to_dict(), _run_human(report))


def _run_human(report: MonitorReport) -> str:
    from rich.markup import escape

    if not report.ran:
        return f"skipped: {escape(report.skipped or '')} (another monitor is running)"
    if not report.services:
        return "nothing to monitor yet: no service has logged answers"
    lines = []
    for s in report.services:
        how = "full recompute" if s.full else "incremental"
        lines.append(
            f"[bold]{escape(s.service)}[/]: {s.rows_read:,} rows and {s.feedback_read:,} feedback "
            f"read, {s.windows_recomputed:,} windows recomputed, {s.points_written:,} points "
            f"written ({how}); watermark {s.watermark or '-'}"
        )
        if s.drift_windows:
            lines.append(
                f"  drift: {s.drift_windows:,} window{'s' if s.drift_windows != 1 else ''} "
                f"computed, {s.drift_points:,} points ({s.drift_seconds:.2f} s)"
            )
        lines += [f"  [yellow]note:[/] {escape(n)}" for n in s.notes]
    lines.append(f"[dim]{report.seconds:.2f} s[/]")
    return "\n".join(lines)


@monitor_app.command("status")
def status(ctx: typer.Context, json: bool = JSON_OPT) -> None:
    """The watermark, lag, last run and rows read per service."""
    from rich.markup import escape
    from rich.table import Table

    from liveops.services.monitoring import monitor_status

    cli = make_cli(ctx, json, None, remote=True)
    st = cli.api.monitor_status() if cli.api else wire(monitor_status(cli.store()).to_dict())
    table = Table(title="monitor")
    for col in ("service", "watermark", "lag", "unread rows", "last run", "rows read", "windows"):
        table.add_column(
            col, justify="right" if col in ("lag", "unread rows", "rows read") else "left"
        )
    for s in st["services"]:
        table.add_row(
            escape(s["service"]),
            (s["watermark"] or "-")[:19],
            "-" if s["lag_s"] is None else f"{s['lag_s']:,.0f} s",
            f"{s['unread_rows']:,}",
            (s["last_run_at"] or "-")[:19],
            f"{s['rows_read']:,}",
            f"{s['windows']:,}",
        )
    human: Any = table if st["services"] else "the monitor has not run yet (`liveops monitor run`)"
    for s in st["services"]:
        for version, said in s["estimates"].items():
            cli.note(f"{escape(s['service'])} {version}: {escape(said)}")
    if st["lease_owner"]:
        cli.note(
            f"a run holds the lease: {escape(st['lease_owner'])} until {st['lease_expires_at']}"
        )
    cli.emit(st, human)


@metrics_app.command("show")
def show(
    ctx: typer.Context,
    service: str = typer.Argument(..., help="The service."),
    metric: list[str] = typer.Option(
        [], "--metric", "-m", help="A metric name (repeat for several; default: a summary set)."
    ),
    by: str = typer.Option("version", "--by", help="version, arm or slice."),
    window: str = typer.Option("1h", "--window", help="5m, 1h or 1d."),
    since: str = typer.Option("2d", "--since", help="A duration (2d, 12h, 30m) or an ISO time."),
    json: bool = JSON_OPT,
) -> None:
    """A table of metrics per version, arm or slice, with a sparkline per row."""
    from liveops.core.clock import SystemClock
    from liveops.services.monitoring import check_metric, metric_series, parse_since

    cli = make_cli(ctx, json, None, remote=True)
    for m in metric:  # before opening the store: a typo is answered at once
        check_metric(m)
    clock = SystemClock()
    start = parse_since(since, clock.now())
    if cli.api is not None:
        query = {"by": by, "window": window, "since": since}
        series = cli.api.metrics(
            service, **query, **({"metric": ",".join(metric)} if metric else {})
        )
    else:
        found = metric_series(
            cli.store(),
            service,
            metrics=metric or None,
            by=by,  # type: ignore[arg-type]  # checked by metric_series
            window=window,
            since=start,
            clock=clock,
        )
        series = wire(found.to_dict())
    cli.emit(series, _series_human(series))


def _series_human(series: dict[str, Any]) -> Any:
    """The series from their JSON form (``Series.to_dict``, as the API sends it)."""
    from rich.markup import escape
    from rich.table import Table

    if not series["rows"]:
        return (
            f"no monitor windows for {escape(series['service'])} since {series['since'][:16]} "
            "(`liveops monitor run` computes them)"
        )
    table = Table(
        title=f"{escape(series['service'])} per {series['by']}, {series['window']} windows since "
        f"{series['since'][:16]}"
    )
    table.add_column(series["by"])
    table.add_column("metric")
    table.add_column("trend", no_wrap=True)
    table.add_column("latest", justify="right")
    table.add_column("period", justify="right")
    table.add_column("answers", justify="right")
    for row in series["rows"]:
        at = next(
            (i for i in reversed(range(len(row["values"]))) if row["values"][i] is not None), None
        )
        latest = None if at is None else row["values"][at]
        latest_iv = None if at is None or row["intervals"] is None else row["intervals"][at]
        table.add_row(
            escape(row["key"]),
            escape(row["metric"]),
            sparkline(row["values"][-SPARK_WIDTH:]),
            _fmt(latest, row["metric"]) + _fmt_interval(latest_iv, row["metric"]),
            _fmt(row["total"], row["metric"]) + _fmt_interval(row["total_interval"], row["metric"]),
            f"{row['volume']:,}",
        )
    return table


def _fmt_interval(iv: list[float] | None, metric: str) -> str:
    # An estimate is shown with its 95 % interval: "0.871 [0.856, 0.886]".
    return "" if iv is None else f" [{_fmt(iv[0], metric)}, {_fmt(iv[1], metric)}]"


def register(app: typer.Typer) -> None:
    app.add_typer(monitor_app, name="monitor")
    app.add_typer(metrics_app, name="metrics")
