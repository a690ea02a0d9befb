"""``liveops dataset add|list|show``."""

from __future__ import annotations

from pathlib import Path

import typer

from liveops.cli.output import AS_OPT, JSON_OPT, make_cli, wire

dataset_app = typer.Typer(help="Register and inspect datasets (CSV, Parquet, JSONL).")


@dataset_app.command("add")
def add(
    ctx: typer.Context,
    file: Path,
    name: str = typer.Option(..., "--name", "-n", help="Dataset name; versions are NAME@N."),
    reference_cap: int = typer.Option(
        100_000, "--reference-cap", min=1, help="Rows kept for drift tests (at least 1)."
    ),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Hash, profile and store a dataset file (the same content again is a no-op)."""
    from liveops.cli.render import dataset_profile
    from liveops.errors import DatasetFileError
    from liveops.services.datasets import add_dataset

    cli = make_cli(ctx, json, as_, remote=True)
    if cli.api is not None:
        if not file.is_file():  # in the local command's words
            raise DatasetFileError(f"dataset file {file} does not exist")
        record = cli.api.add_dataset(file, name, reference_cap)  # uploaded
    else:
        found, created = add_dataset(
            cli.store(), file, name=name, actor=cli.actor, reference_cap=reference_cap
        )
        record = wire({**found.to_dict(), "created": created})
    if not json:
        done = "added" if record["created"] else "already added (same content)"
        cli.note(f"{record['ref']} {done}")
    cli.emit(record, dataset_profile(record))


@dataset_app.command("list")
def list_(
    ctx: typer.Context, name: str | None = typer.Argument(None), json: bool = JSON_OPT
) -> None:
    """Every dataset version (or those of NAME)."""
    from liveops.cli.render import datasets_table

    cli = make_cli(ctx, json, None)
    records = cli.store().datasets.list(name)
    cli.emit([r.to_dict(with_profile=False) for r in records], datasets_table(records))


@dataset_app.command("show")
def show(ctx: typer.Context, ref: str, json: bool = JSON_OPT) -> None:
    """A dataset's profile (NAME or NAME@N)."""
    from liveops.cli.render import dataset_profile
    from liveops.services.datasets import resolve_dataset

    cli = make_cli(ctx, json, None)
    record = resolve_dataset(cli.store(), ref)
    cli.emit(record.to_dict(), dataset_profile(record))


def register(app: typer.Typer) -> None:
    app.add_typer(dataset_app, name="dataset")
