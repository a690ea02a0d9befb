"""How commands talk: Rich for people, ``--json`` for programs, errors with the next step.

Human output goes to stdout; progress, warnings and errors to stderr. With ``--json`` stdout
carries exactly one JSON document.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import typer

if TYPE_CHECKING:
    from rich.console import Console

    from liveops.store import Store

JSON_OPT = typer.Option(False, "--json", help="Print only JSON on stdout.")
AS_OPT = typer.Option(None, "--as", help="Who is acting (default: LIVEOPS_USER, else the OS user).")


def actor_name(as_: str | None) -> str:
    if as_:
        return as_
    env = os.environ.get("LIVEOPS_USER")
    if env:
        return env
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


@dataclass
class Cli:
    """What every command needs: where the project is, who acts, how to print."""

    project_dir: Path
    json: bool = False
    actor: str = "unknown"

    def store(self) -> Store:
        from liveops.store import open_store

        return open_store(project_dir=self.project_dir)

    @property
    def out(self) -> Console:
        from rich.console import Console

        return Console(highlight=False, soft_wrap=False)

    @property
    def err(self) -> Console:
        from rich.console import Console

        return Console(stderr=True, highlight=False)

    def emit(self, data: Any, human: Any = None) -> None:
        """Print ``data`` as JSON (with ``--json``) or the human rendering."""
        if self.json:
            print_json(data)
        elif human is not None:
            self.out.print(human)

    def note(self, message: str) -> None:
        """A line for people (stderr), never mixed into JSON output."""
        self.err.print(message)


def make_cli(ctx: typer.Context, json: bool, as_: str | None) -> Cli:
    """The context of a command that works on a project's store.

    Without ``LIVEOPS_DATABASE_URL`` the store lives in the project folder, so there must be a
    ``liveops.yaml`` at or above the current folder (or ``-C``): otherwise the command stops
    before anything (a ``.liveops/`` folder) is created in the wrong place.
    """
    from liveops.services.registry import find_project_dir, require_project_dir
    from liveops.store.db import ENV_URL

    start: Path | None = ctx.find_root().obj or None
    find = find_project_dir if os.environ.get(ENV_URL) else require_project_dir
    project_dir = find(start)
    return Cli(project_dir=project_dir, json=json, actor=actor_name(as_))


def print_json(data: Any) -> None:
    text = orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY, default=str)
    typer.echo(text.decode())
