"""``liveops demo``: the whole story on the embedded default."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from liveops.cli.output import JSON_OPT, actor_name, print_json

if TYPE_CHECKING:
    from rich.table import Table

    from liveops.demo.stage_eval import EvaluatedVersion
    from liveops.demo.stage_week import WeekResult
    from liveops.demo.story import DemoResult


def demo(
    folder: Path = typer.Option(Path("demo"), "--dir", help="Where to create the demo project."),
    reset: bool = typer.Option(False, "--reset", help="Start over: delete the demo's state first."),
    seed: int = typer.Option(0, "--seed", help="Seed of the generated data and models."),
    json: bool = JSON_OPT,
) -> None:
    """Generate data, register datasets, train v1 (production) and v2, evaluate both, review
    them with two scripted reviewers, simulate a week of live traffic on v1 with the monitor
    watching (its alerts reach a local webhook and open an incident, walked to a review), then
    a rollout day (v2 rolled back by its Spanish guardrail; v3 released, approved and rolled
    out to 100 %), and show what happened and what to try next."""
    from rich.console import Console

    from liveops.demo.story import run_demo

    err = Console(stderr=True, highlight=False)
    with err.status("running the demo ...") as status:

        def progress(line: str) -> None:
            from rich.markup import escape

            mark = "[green]✓[/]" if line.endswith("done") else "[dim]·[/]"
            err.print(f"{mark} {escape(line)}")  # a gate's name has brackets: accuracy[spanish]
            status.update(escape(line))

        def detail(stage: str, done: int, total: int) -> None:
            what = stage if stage.startswith("simulating") else f"evaluating {stage}"
            status.update(f"{what} {done:,}/{total:,}")

        result = run_demo(
            folder,
            reset=reset,
            seed=seed,
            actor=actor_name(None),
            progress=progress,
            detail=detail,
        )
    if json:
        print_json(_as_dict(result))
    else:
        _render(result)


def _as_dict(r: DemoResult) -> dict[str, object]:
    return {
        "folder": str(r.folder),
        "store": r.store_url,
        "steps": [{"step": s, "outcome": o} for s, o in r.steps],
        "datasets": [d.to_dict(with_profile=False) for d in r.datasets],
        "versions": [v.to_dict() for v in r.versions],
        "aliases": r.aliases,
        "runs": [e.to_dict() for e in r.evaluations],
        "reviews": r.reviews,
        "readiness": {ref: view.to_dict() for ref, view in r.readiness.items()},
        "week": None if r.week is None else r.week.to_dict(),
        "rollout": None if r.rollout is None else r.rollout.to_dict(),
        "key": r.key,
        "curl": curl_line(r.key),
    }


def curl_line(key: str, port: int = 8000) -> str:
    """The request the demo suggests once `liveops serve` runs, with the demo's key."""
    from liveops.demo.story import SERVICE

    return (
        f"curl -s localhost:{port}/v1/services/{SERVICE}/predict "
        f"-H 'authorization: Bearer {key}' -H 'content-type: application/json' "
        """-d '{"inputs": {"text": "I was charged twice this month", "channel": "email"}}'"""
    )


def _render(r: DemoResult) -> None:
    from rich.console import Console
    from rich.panel import Panel

    from liveops.cli.render import datasets_table, versions_table
    from liveops.demo.stage_eval import failing_examples
    from liveops.demo.story import SERVICE

    out = Console(highlight=False)
    out.print(datasets_table(r.datasets))
    out.print(versions_table(r.versions, SERVICE))
    aliases = ", ".join(f"{a} -> {SERVICE}@{n}" for a, n in sorted(r.aliases.items()))
    review = r.reviews.get(f"{SERVICE}@2") or next(iter(r.reviews.values()), "<id>")
    out.print(f"aliases: {aliases}")
    out.print(f"registry: {r.store_url}")
    for evaluated in r.evaluations:
        out.print(_run_table(evaluated))
        examples = failing_examples(evaluated.run)
        if examples:
            out.print(_examples_table(evaluated.ref, examples))
    for ref, view in r.readiness.items():
        counts = view.counts()
        reviewed = f" (review {r.reviews[ref]})" if ref in r.reviews else ""
        out.print(
            f"readiness {ref}: [{_READY_STYLE[view.status]}]{view.status}[/], "
            f"{counts['pass']} pass, {counts['fail']} fail, {counts['missing']} missing{reviewed}"
        )
    if r.week is not None:
        for part in _week(r.week, SERVICE):
            out.print(part)
    if r.rollout is not None:
        from liveops.cli.demo_rollout import rollout_lines

        for line in rollout_lines(r.rollout):
            out.print(line, markup=False)
    try:
        where = r.folder.relative_to(Path.cwd())
    except ValueError:
        where = r.folder
    nexts = "\n".join(
        [
            f"cd {where}",
            f"liveops eval {SERVICE}@2 --baseline 1 --html report.html",
            "liveops runs list",
            f"liveops review show {review}",
            f"liveops readiness {SERVICE}@2",
            f"liveops versions diff {SERVICE}@1 {SERVICE}@2",
            "liveops audit verify",
            *(_week_nexts(r.week) if r.week is not None else []),
            *(_rollout_nexts(r) if r.rollout is not None else []),
        ]
    )
    out.print(Panel(nexts, title="next, try", expand=False))
    # Printed whole, not in the panel: a wrapped line would not paste.
    out.print("serve it (requests need an API key; the demo made this one):", soft_wrap=True)
    out.print(f"liveops serve --port 8000 &\n{curl_line(r.key)}", soft_wrap=True, markup=False)


_READY_STYLE = {"pass": "green", "fail": "bold red", "missing": "yellow"}


def _run_table(e: EvaluatedVersion) -> Table:
    from rich.markup import escape
    from rich.table import Table

    from liveops.cli.eval_render import EXIT_MEANING, VERDICT_STYLE, num

    baseline = e.run.summary.baseline
    vs = f" vs {baseline}" if baseline else ""
    code = e.run.exit_code
    table = Table(
        title=f"{e.ref}{vs}: run {e.run.id}, exit code {code} ({EXIT_MEANING.get(code, '')})",
        title_justify="left",
    )
    table.add_column("kind", no_wrap=True)
    table.add_column("gate", ratio=1)
    table.add_column("verdict", no_wrap=True)
    table.add_column("value", no_wrap=True, justify="right")
    for g in e.gates:
        style = VERDICT_STYLE.get(g.verdict, "")
        table.add_row(g.kind, escape(g.gate), f"[{style}]{g.verdict}[/]", num(g.value))
    return table


def _examples_table(ref: str, examples: list[dict[str, object]]) -> Table:
    from rich.markup import escape
    from rich.table import Table

    scopes = ", ".join(sorted({str(x["scope"]) for x in examples}))
    table = Table(title=f"{ref} gets these wrong ({scopes})", title_justify="left")
    table.add_column("text", ratio=1)
    table.add_column("expected", no_wrap=True)
    table.add_column("predicted", no_wrap=True)
    for x in examples:
        text = " ".join(str(x["text"]).split())
        text = text if len(text) <= 90 else text[:89].rstrip() + "…"
        table.add_row(escape(text), escape(str(x["expected"])), escape(str(x["predicted"])))
    return table


def _rollout_nexts(r: DemoResult) -> list[str]:
    from liveops.cli.demo_rollout import rollout_nexts

    return [] if r.rollout is None else rollout_nexts(r.rollout)


def _week_nexts(week: WeekResult) -> list[str]:
    since = f"--since {week.start[:10]}"
    incident = week.incident.incident
    return [
        *([f"liveops incident show {incident}"] if incident is not None else []),
        "liveops alerts list",
        f"liveops metrics show support-router --metric accuracy --metric estimated.accuracy "
        f"--metric label_coverage --by slice --window 1d {since}",
        f"liveops metrics show support-router --window 1h {since}",
        "liveops monitor status",
        "liveops simulate support-router --mode covariate_shift:1 --per-day 500 "
        f"--start {_after_rollout_day(week)}",
    ]


def _after_rollout_day(week: WeekResult) -> str:
    """The day after the demo's rollout day (which follows the week): free for more traffic."""
    from datetime import datetime, timedelta

    from liveops.demo.stage_week import DAYS_AFTER

    return f"{datetime.fromisoformat(week.end) + timedelta(days=DAYS_AFTER):%Y-%m-%d}"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}"


def _week(week: WeekResult, service: str) -> list[object]:
    """The week's tables: traffic per day, then quality per day for all answers and for the
    Spanish slice, then what they show."""
    from rich.table import Table

    from liveops.demo.stage_week import LABELS

    days = len(week.days)
    traffic = Table(
        title=f"a simulated week on {service}@production: {week.answers:,} answers over {days} "
        f"days ({week.per_day:,} a day, {week.requests:,} requests through a real gateway), "
        f"{week.labels_sent:,} labels arrived 1 h to 2 days late, {week.labels_pending:,} not yet",
        title_justify="left",
    )
    for col in ("day", "world", "answers", "p95 ms", "cost/answer", *(f"% {x}" for x in LABELS)):
        traffic.add_column(col, justify="left" if col in ("day", "world") else "right")
    for d in week.days:
        traffic.add_row(
            d.day,
            d.phase,
            f"{d.answers:,}",
            "-" if d.latency_p95_ms is None else f"{d.latency_p95_ms:.1f}",
            "-" if d.cost_per_request is None else f"{d.cost_per_request:.4f}",
            *(_pct(d.label_mix.get(x)) for x in LABELS),
        )
    parts: list[object] = [traffic]
    for key, title in (("all", "all answers"), ("spanish", "the spanish slice")):
        table = Table(
            title=f"accuracy per day, {title}: realised on the labels that arrived, the "
            "label-free estimate, and the truth (every answer; only a simulation knows it)",
            title_justify="left",
        )
        for col in (
            "day",
            "world",
            "answers",
            "labelled %",
            "realised",
            "estimated [95 %]",
            "true",
        ):
            table.add_column(col, justify="left" if col in ("day", "world") else "right")
        for d in week.days:
            sd = d.slices.get(key)
            if sd is None:
                continue
            iv = "" if sd.interval is None else f" [{sd.interval[0]:.3f}, {sd.interval[1]:.3f}]"
            table.add_row(
                d.day,
                d.phase,
                f"{sd.answers:,}",
                _pct(sd.coverage),
                "-" if sd.accuracy is None else f"{sd.accuracy:.3f}",
                ("-" if sd.estimated is None else f"{sd.estimated:.3f}") + iv,
                "-" if sd.true_accuracy is None else f"{sd.true_accuracy:.3f}",
            )
        parts.append(table)
    parts += _week_story(week)
    parts += _alerts_story(week)
    return parts


def _when(iso: str) -> str:
    from datetime import datetime

    return f"{datetime.fromisoformat(iso):%a %d %b %H:%M}"


def _alerts_story(week: WeekResult) -> list[str]:
    """The alerts the week fired, what the demo's webhook received and the incident's walk."""
    from rich.markup import escape

    from liveops.demo.stage_week import MONITOR_EVERY_S

    inc = week.incident
    lines = [
        f"alerts, judged on every monitor pass (every {MONITOR_EVERY_S / 3600:.0f} simulated "
        "hours) on the simulated clock:"
    ]
    events: list[tuple[str, str]] = [
        (
            f.at,
            f"{f.rule} ({f.severity}) fired on {f.scope}"
            + ("" if f.value is None else f": {f.value:.3f}"),
        )
        for f in inc.fired
    ]
    if inc.alias_moved_at:
        events.append(
            (
                inc.alias_moved_at,
                "candidate moved to v2 (a recent change the incident lists; "
                "candidate serves no traffic)",
            )
        )
    lines += [f"  {_when(at)}  {escape(what)}" for at, what in sorted(events)]
    if not inc.fired:
        lines.append("  no alert fired")
    rules = ", ".join(inc.delivered_rules) or "-"
    lines.append(
        f"  the demo's webhook (on 127.0.0.1, a free port) received {inc.delivered} "
        f"notification(s) about: {escape(rules)}"
    )
    if inc.incident is not None:
        lines.append(f"incident {inc.incident}: {inc.status or 'open'}")
        lines += [f"  {escape(step)}" for step in inc.steps]
        lines.append(f"  see it all: liveops incident show {inc.incident}")
    return lines


def _week_story(week: WeekResult) -> list[str]:
    """What the tables show, in numbers read from them."""
    lines: list[str] = []
    for phase, verdict in (
        ("covariate_shift", "the estimate follows the truth before the labels arrive"),
        ("new_world", "the estimate cannot see a change in what the right answer is"),
    ):
        days = [d for d in week.days if d.phase == phase]
        sl = [d.slices["spanish"] for d in days if "spanish" in d.slices]
        al = [d.slices["all"] for d in days if "all" in d.slices]
        if not sl or not al:
            continue
        est = [s.estimated for s in al if s.estimated is not None]
        true = [s.true_accuracy for s in al if s.true_accuracy is not None]
        real = [s.accuracy for s in al if s.accuracy is not None]
        if not est or not true:
            continue
        e, t = sum(est) / len(est), sum(true) / len(true)
        r = f", realised on its labels {sum(real) / len(real):.3f}" if real else ""
        lines.append(
            f"{phase}: estimated accuracy {e:.3f}, true {t:.3f}{r} "
            f"({abs(e - t) * 100:.1f} points apart): {verdict}"
        )
        new = sum(d.new_labels for d in days)
        if new:
            lines.append(
                f"  labels do: {new:,} of them name a route v1 does not know "
                "(`liveops predictions labels support-router`)"
            )
    return lines


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
