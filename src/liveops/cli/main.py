"""The ``liveops`` command. Each command parses, calls one service function, renders."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from liveops.core import exits
from liveops.errors import LiveopsError, UsageError

app = typer.Typer(
    name="liveops",
    help="Run AI products after the model is built: test, release, serve, watch, update.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    project: Path | None = typer.Option(
        None, "--project", "-C", help="The project folder (default: nearest with liveops.yaml)."
    ),
    url: str | None = typer.Option(
        None,
        "--url",
        help="Run on the management API of the gateway at URL (default: LIVEOPS_URL); the key "
        "comes from LIVEOPS_KEY. Commands without a remote form refuse.",
    ),
) -> None:
    from liveops.cli.output import URL_META

    ctx.obj = project.resolve() if project else None
    if url:
        ctx.meta[URL_META] = url


def _register_commands() -> None:
    if app.registered_commands or app.registered_groups:
        return  # already done in this process (tests call run() many times)
    from liveops.cli import (
        alert_cmds,
        audit_cmds,
        batch_cmd,
        dataset_cmds,
        demo_cmd,
        describe_cmd,
        drift_cmd,
        eval_cmds,
        feedback_cmds,
        incident_cmds,
        init_cmd,
        key_cmds,
        monitor_cmds,
        prediction_cmds,
        registry_cmds,
        release_cmds,
        review_cmds,
        rollout_cmds,
        serve_cmd,
        service_cmds,
        simulate_cmd,
    )

    for module in (
        init_cmd,
        service_cmds,
        describe_cmd,
        registry_cmds,
        dataset_cmds,
        eval_cmds,
        review_cmds,
        release_cmds,
        rollout_cmds,
        audit_cmds,
        demo_cmd,
        serve_cmd,
        batch_cmd,
        drift_cmd,
        prediction_cmds,
        monitor_cmds,
        feedback_cmds,
        alert_cmds,
        incident_cmds,
        simulate_cmd,
        key_cmds,
    ):
        module.register(app)


def run() -> None:
    """Entry point: map errors to messages and exit codes (docs/conventions.md)."""
    _register_commands()
    try:
        app()
    except LiveopsError as exc:
        _report(exc)
        sys.exit(error_exit_code(exc))
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except Exception as exc:
        # Not a user error: say so briefly; the traceback is one variable away.
        if os.environ.get("LIVEOPS_DEBUG"):
            raise
        _report(
            LiveopsError(
                f"internal error: {type(exc).__name__}: {exc}",
                hint="re-run with LIVEOPS_DEBUG=1 for the traceback and report it as a bug",
            )
        )
        sys.exit(error_exit_code(exc))


def error_exit_code(exc: BaseException) -> int:
    """The one mapping from errors to exit codes: a usage error of the command line is 2 (as
    click's own parsing errors), anything else 4. Verdicts map through ``core.exits``."""
    return exits.USAGE if isinstance(exc, UsageError) else exits.ERROR


def _report(exc: LiveopsError) -> None:
    from rich.console import Console
    from rich.markup import escape

    err = Console(stderr=True, highlight=False)
    err.print(f"[bold red]error:[/] {escape(exc.message)}", soft_wrap=True)
    if exc.hint:
        err.print(f"[dim]next:[/] {escape(exc.hint)}", soft_wrap=True)
    if "--json" in sys.argv:
        from liveops.cli.output import print_json

        print_json(exc.to_dict())
