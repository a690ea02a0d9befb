"""``liveops demo``: the whole story on the embedded default."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from liveops.cli.output import JSON_OPT, actor_name, print_json

if TYPE_CHECKING:
    from rich.table import Table

    from liveops.demo.stage_eval import EvaluatedVersion
    from liveops.demo.story import DemoResult


def demo(
    folder: Path = typer.Option(Path("demo"), "--dir", help="Where to create the demo project."),
    reset: bool = typer.Option(False, "--reset", help="Start over: delete the demo's state first."),
    seed: int = typer.Option(0, "--seed", help="Seed of the generated data and models."),
    json: bool = JSON_OPT,
) -> None:
    """Generate data, register datasets, train v1 (production) and v2, evaluate both, review
    them with two scripted reviewers, and show what happened and what to try next."""
    from rich.console import Console

    from liveops.demo.story import run_demo

    err = Console(stderr=True, highlight=False)
    with err.status("running the demo ...") as status:

        def progress(line: str) -> None:
            mark = "[green]✓[/]" if line.endswith("done") else "[dim]·[/]"
            err.print(f"{mark} {line}")
            status.update(line)

        def detail(stage: str, done: int, total: int) -> None:
            status.update(f"evaluating {stage} {done}/{total}")

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
    }


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
        ]
    )
    out.print(Panel(nexts, title="next, try", expand=False))


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


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
