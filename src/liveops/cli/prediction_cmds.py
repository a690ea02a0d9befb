"""``liveops predictions tail|show|purge``: look into the prediction log, enforce retention."""

from __future__ import annotations

from typing import Any

import typer

from liveops.cli.output import JSON_OPT, make_cli, wire

predictions_app = typer.Typer(help="The prediction log: recent answers, one answer, retention.")


def _short(value: Any, n: int = 60) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= n else text[: n - 1] + "…"


@predictions_app.command("tail")
def tail(
    ctx: typer.Context,
    service: str | None = typer.Option(None, "--service", "-s", help="Only this service."),
    limit: int = typer.Option(20, "--limit", "-n", help="How many (1-1000)."),
    json: bool = JSON_OPT,
) -> None:
    """The newest logged answers, newest first (inputs as stored: redacted)."""
    from rich.markup import escape
    from rich.table import Table

    from liveops.services.predictions.queries import check_limit, recent_predictions

    cli = make_cli(ctx, json, None, remote=True)
    if cli.api is not None:
        check_limit(limit)  # in the local command's words (the API would say 400)
        rows = cli.api.predictions(service, limit)
    else:
        rows = wire(recent_predictions(cli.store(), service, limit))
    services = {r["service"] for r in rows}
    one = services.pop() if len(services) == 1 else None
    # Fits 80 columns: one service is named once in the title; the version and latency sit
    # under the id; labels and decisions are short words, the input takes what is left.
    table = Table(title=f"predictions of {escape(one)}" if one else "predictions")
    table.add_column("id / version, ms", no_wrap=True, min_width=26)
    table.add_column("label")
    table.add_column("decision")
    table.add_column("input", min_width=12, max_width=40)
    for r in rows:
        at = f"@{r['version']}" if r["version"] is not None else ""
        version = (at or "-") if one else r["service"] + at
        label = r["label"] or "-"
        if r["confidence"] is not None:
            label += f" {r['confidence']:.2f}"
        decision = r["decision"] + (f" ({r['fallback']})" if r["fallback"] else "")
        inputs = r["inputs"]
        text = inputs.get("text", inputs) if isinstance(inputs, dict) else inputs
        table.add_row(
            f"{r['prediction_id']}\n[dim]{escape(version)} · {r['latency_ms']:.1f} ms[/]",
            escape(label),
            escape(decision),
            escape(_short(text)),
        )
    cli.emit(rows, table if rows else "no predictions logged yet")


@predictions_app.command("show")
def show(ctx: typer.Context, prediction_id: str, json: bool = JSON_OPT) -> None:
    """One logged answer in full, with its feedback history."""
    import orjson
    from rich.markup import escape

    from liveops.services.predictions.queries import show_prediction

    cli = make_cli(ctx, json, None, remote=True)
    if cli.api is not None:
        row = cli.api.prediction(prediction_id.strip())
    else:
        row = wire(show_prediction(cli.store(), prediction_id))
    lines = []
    for key, value in row.items():
        if key == "feedback":
            continue
        shown = orjson.dumps(value).decode() if isinstance(value, dict | list) else value
        lines.append(f"[bold]{key}[/]: {escape(str(shown))}")
    for f in row["feedback"]:
        state = f"superseded by {f['superseded_by']}" if f["superseded_by"] else "current"
        lines.append(
            f"[bold]feedback[/] {f['created_at'][:19]} {escape(f['source'])} {f['kind']}="
            f"{escape(f['value'])} ({state}{', new label' if f.get('new_label') else ''})"
        )
    cli.emit(row, "\n".join(lines))


@predictions_app.command("labels")
def labels(ctx: typer.Context, service: str, json: bool = JSON_OPT) -> None:
    """Label feedback on SERVICE's answers, counted per label (new labels marked)."""
    from rich.markup import escape

    from liveops.services.predictions.queries import label_feedback

    cli = make_cli(ctx, json, None, remote=True)
    if cli.api is not None:
        rows = cli.api.label_feedback(service)
    else:
        rows = wire(label_feedback(cli.store(), service))
    lines = [
        f"{escape(r['label'])}: {r['count']}" + ("  [yellow](new label)[/]" if r["new"] else "")
        for r in rows
    ]
    cli.emit(rows, "\n".join(lines) or f"no label feedback on {service} yet")


@predictions_app.command("purge")
def purge(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="Count, delete nothing."),
    json: bool = JSON_OPT,
) -> None:
    """Delete raw inputs past their retention (and those of services that no longer keep them)."""
    from liveops.services.predictions.retention import purge_raw_inputs

    cli = make_cli(ctx, json, None)
    report = purge_raw_inputs(cli.store(), dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    human = f"{verb} {report.deleted} raw input(s); {report.remaining} kept"
    if report.services_off:
        human += f" (raw inputs off now for: {', '.join(report.services_off)})"
    cli.emit(report.to_dict(), human)


def register(app: typer.Typer) -> None:
    app.add_typer(predictions_app, name="predictions")
