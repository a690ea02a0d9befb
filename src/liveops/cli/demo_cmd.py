"""``liveops demo``: the whole story on the embedded default."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from liveops.cli.output import JSON_OPT, actor_name, print_json

if TYPE_CHECKING:
    from liveops.demo.story import DemoResult


def demo(
    folder: Path = typer.Option(Path("demo"), "--dir", help="Where to create the demo project."),
    reset: bool = typer.Option(False, "--reset", help="Start over: delete the demo's state first."),
    seed: int = typer.Option(0, "--seed", help="Seed of the generated data and models."),
    json: bool = JSON_OPT,
) -> None:
    """Generate data, register datasets, train v1 (production) and v2, show what happened."""
    from rich.console import Console

    from liveops.demo.story import run_demo

    err = Console(stderr=True, highlight=False)
    with err.status("running the demo ...") as status:

        def progress(line: str) -> None:
            mark = "[green]✓[/]" if line.endswith("done") else "[dim]·[/]"
            err.print(f"{mark} {line}")
            status.update(line)

        result = run_demo(folder, reset=reset, seed=seed, actor=actor_name(None), progress=progress)
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
    }


def _render(r: DemoResult) -> None:
    from rich.console import Console
    from rich.panel import Panel

    from liveops.cli.render import datasets_table, versions_table
    from liveops.demo.story import SERVICE

    out = Console(highlight=False)
    out.print(datasets_table(r.datasets))
    out.print(versions_table(r.versions, SERVICE))
    aliases = ", ".join(f"{a} -> {SERVICE}@{n}" for a, n in sorted(r.aliases.items()))
    out.print(f"aliases: {aliases}")
    out.print(f"registry: {r.store_url}")
    try:
        where = r.folder.relative_to(Path.cwd())
    except ValueError:
        where = r.folder
    nexts = "\n".join(
        [
            f"cd {where}",
            f"liveops versions diff {SERVICE}@1 {SERVICE}@2",
            f"liveops versions show {SERVICE}@production",
            "liveops dataset show support-eval",
            "liveops audit log",
            "liveops audit verify",
        ]
    )
    out.print(Panel(nexts, title="next, try", expand=False))


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
