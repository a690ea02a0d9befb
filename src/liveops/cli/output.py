"""How commands talk: Rich for people, ``--json`` for programs, errors with the next step.

Human output goes to stdout; progress, warnings and errors to stderr. With ``--json`` stdout
carries exactly one JSON document.

Remote commands: with ``LIVEOPS_URL`` (or ``liveops --url``) set, a command that has a remote
form gets ``cli.api`` (a :class:`liveops.Client` with ``LIVEOPS_KEY``) instead of a store and
renders the management API's answer; it renders the local answer in the same JSON form
(:func:`wire`), so both print the same. Any other command stops with a usage error naming it.
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

    from liveops.client import Client
    from liveops.store import Store

JSON_OPT = typer.Option(False, "--json", help="Print only JSON on stdout.")
AS_OPT = typer.Option(None, "--as", help="Who is acting (default: LIVEOPS_USER, else the OS user).")
URL_ENV = "LIVEOPS_URL"
KEY_ENV = "LIVEOPS_KEY"
URL_META = "liveops.url"  # where the root callback keeps --url (click's shared ctx.meta)


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
    api: Client | None = None  # set when the command runs against a gateway (LIVEOPS_URL)

    def store(self) -> Store:
        from liveops.store import open_store

        if self.api is not None:  # a remote command never falls back to a local database
            from liveops.errors import LiveopsError

            raise LiveopsError("internal error: a remote command asked for the local store")

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


def remote_url(ctx: typer.Context) -> str | None:
    """The management API the command should use: ``--url``, else ``LIVEOPS_URL`` (or None)."""
    url = ctx.find_root().meta.get(URL_META) or os.environ.get(URL_ENV, "").strip()
    return str(url) if url else None


def make_cli(ctx: typer.Context, json: bool, as_: str | None, *, remote: bool = False) -> Cli:
    """The context of a command that works on a project's store, or (``remote``: the command
    has a remote form) on the management API when ``LIVEOPS_URL`` or ``--url`` is set.

    Without ``LIVEOPS_DATABASE_URL`` the store lives in the project folder, so there must be a
    ``liveops.yaml`` at or above the current folder (or ``-C``): otherwise the command stops
    before anything (a ``.liveops/`` folder) is created in the wrong place. A remote command
    needs no project folder.
    """
    from liveops.errors import UsageError
    from liveops.services.registry import find_project_dir, require_project_dir
    from liveops.store.db import ENV_URL

    url = remote_url(ctx)
    if url is not None:
        if not remote:
            raise UsageError(
                f"`{ctx.command_path}` has no remote form yet: it needs the local store",
                hint=f"unset {URL_ENV} (and leave out --url) to run it where the project is; "
                "docs/access.md lists the commands that work remotely",
            )
        if as_:
            raise UsageError(
                "--as does not apply to a remote command: the actor is the key's owner",
                hint=f"leave out --as, or use a key owned by {as_} in {KEY_ENV}",
            )
        from liveops.client import Client

        # One retry: an unreachable gateway is told at once, naming the URL.
        actor = actor_name(None)  # the actor only on a gateway without keys (--no-auth)
        api = Client(url, os.environ.get(KEY_ENV) or None, retries=1, caller=actor)
        ctx.call_on_close(api.close)
        return Cli(project_dir=Path.cwd(), json=json, actor=actor, api=api)
    start: Path | None = ctx.find_root().obj or None
    find = find_project_dir if os.environ.get(ENV_URL) else require_project_dir
    project_dir = find(start)
    return Cli(project_dir=project_dir, json=json, actor=actor_name(as_))


def wire(data: Any) -> Any:
    """``data`` as the management API sends it (the same orjson encoding, read back): what a
    command renders locally is then what it renders from a remote answer.

    >>> from datetime import datetime, timezone
    >>> wire({"at": datetime(2026, 3, 1, tzinfo=timezone.utc), "n": (1, 2)})
    {'at': '2026-03-01T00:00:00+00:00', 'n': [1, 2]}
    """
    return orjson.loads(orjson.dumps(data, default=str))


def print_json(data: Any) -> None:
    text = orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY, default=str)
    typer.echo(text.decode())
