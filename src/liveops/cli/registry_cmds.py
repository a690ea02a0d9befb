"""``liveops register``, ``liveops alias``, ``liveops versions list|show|diff``."""

from __future__ import annotations

import json as jsonlib
from pathlib import Path
from typing import Any
from urllib.parse import quote

import typer

from liveops.cli.output import AS_OPT, JSON_OPT, Cli, make_cli, wire
from liveops.errors import UsageError

alias_app = typer.Typer(help="Point aliases (production, candidate, ...) at versions.")
versions_app = typer.Typer(help="List, show and compare versions.")


def register_cmd(
    ctx: typer.Context,
    service: str = typer.Argument(..., help="The service the version belongs to."),
    artifact: Path | None = typer.Option(
        None, "--artifact", "-a", help="Saved model (.skops, .joblib)."
    ),
    entrypoint: str | None = typer.Option(
        None, "--entrypoint", help="module:callable returning a model."
    ),
    config: list[str] = typer.Option([], "--config", "-c", help="KEY=VALUE, e.g. threshold=0.68."),
    train_dataset: str | None = typer.Option(None, "--train-dataset", help="NAME or NAME@N."),
    eval_dataset: str | None = typer.Option(None, "--eval-dataset", help="NAME or NAME@N."),
    param: list[str] = typer.Option([], "--param", "-p", help="Training parameter KEY=VALUE."),
    metric: list[str] = typer.Option([], "--metric", help="Metric KEY=NUMBER, e.g. accuracy=0.87."),
    metrics_file: Path | None = typer.Option(
        None, "--metrics-file", help="JSON object of metrics."
    ),
    trust: list[str] = typer.Option(
        [], "--trust", help="A type skops may load (from your own file)."
    ),
    message: str | None = typer.Option(None, "--message", "-m", help="Why this version exists."),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Register an immutable version (identical content returns the existing one)."""
    import warnings

    from liveops.services.registry import parse_assignments, register_version

    cli = make_cli(ctx, json, as_, remote=True)
    metrics: dict[str, Any] = parse_assignments(metric, "--metric")
    if metrics_file is not None:
        metrics.update(_read_json_object(metrics_file))
    datasets = {k: v for k, v in (("train", train_dataset), ("eval", eval_dataset)) if v}
    if cli.api is not None:
        _refuse_remotely(artifact, entrypoint, trust)
        assert artifact is not None
        parse_assignments(config)  # a malformed one in the local command's words
        parse_assignments(param, "--param")
        answer = cli.api.register(  # the artifact is uploaded
            service,
            artifact,
            config=config,
            params=param,
            metrics=[f"{k}={jsonlib.dumps(v)}" for k, v in metrics.items()],
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            message=message,
        )
        notes = answer.pop("warnings", [])
        _show_registered(cli, answer, notes)
        return
    with warnings.catch_warnings():
        # The result's warnings are printed below as the CLI's own 'warning:' lines; the
        # library's warnings.warn (for Python callers) would print each one a second time.
        warnings.simplefilter("ignore")
        result = register_version(
            cli.store(),
            service,
            actor=cli.actor,
            artifact=artifact,
            entrypoint=entrypoint,
            config=parse_assignments(config),
            datasets=datasets,
            params=parse_assignments(param, "--param"),
            metrics=metrics,
            message=message,
            trust=trust,
            cwd=cli.project_dir,
        )
    record = wire({**result.version.to_dict(), "created": result.created})
    _show_registered(cli, record, result.warnings)


def _show_registered(cli: Cli, record: dict[str, Any], notes: list[str]) -> None:
    for w in notes:
        cli.note(f"[yellow]warning:[/] {w}")
    verb = "registered" if record["created"] else "already registered (identical content)"
    cli.emit(record, f"{record['ref']} {verb}  content {record['content_hash'][:12]}")


def _refuse_remotely(artifact: Path | None, entrypoint: str | None, trust: list[str]) -> None:
    """What `register` cannot do through the API: an entry point or --trust would have the
    server import or load code it was told to, so only a .skops file, with skops's own
    trusted types, is uploaded (the server refuses a pickle)."""
    from liveops.errors import InvalidInputError

    where = "run it where the project is (without LIVEOPS_URL)"
    if entrypoint is not None:
        raise UsageError(
            "--entrypoint has no remote form: it imports code on the server", hint=where
        )
    if trust:
        raise UsageError(
            "--trust has no remote form: the server loads only the types skops trusts",
            hint=f"save the model with types skops trusts, or {where}",
        )
    if artifact is None:
        raise UsageError(
            "give --artifact FILE.skops (it is uploaded)",
            hint="a saved scikit-learn pipeline is --artifact model.skops",
        )
    if not artifact.is_file():  # in the local command's words
        raise InvalidInputError(
            f"artifact file {artifact} does not exist or is not a file",
            hint="check the path; save a pipeline with skops.io.dump(model, 'model.skops')",
        )


def _read_json_object(path: Path) -> dict[str, Any]:
    try:
        data = jsonlib.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read metrics from {path}: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} must hold a JSON object of metric names to numbers")
    return data


@alias_app.command("set")
def alias_set(
    ctx: typer.Context,
    service: str,
    alias: str,
    version: str = typer.Argument(..., help="N, SERVICE@N or another alias."),
    reason: str | None = typer.Option(None, "--reason", "-m"),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Point ALIAS of SERVICE at a version (recorded in the audit log)."""
    from liveops.services.registry import set_alias

    cli = make_cli(ctx, json, as_, remote=True)
    if cli.api is not None:
        move = cli.api.set_alias(service, alias, version, reason)
    else:
        done = set_alias(cli.store(), service, alias, version, actor=cli.actor, reason=reason)
        move = done.to_dict()
    before = f"@{move['previous']}" if move["previous"] else "(unset)"
    cli.emit(move, f"{service}@{alias}: {before} -> @{move['number']}")


@alias_app.command("list")
def alias_list(ctx: typer.Context, service: str, json: bool = JSON_OPT) -> None:
    """The aliases of SERVICE."""
    from liveops.services.registry import get_service_spec

    cli = make_cli(ctx, json, None, remote=True)
    if cli.api is not None:
        aliases = cli.api.get(f"/v1/services/{quote(service, safe='')}/aliases")
    else:
        store = cli.store()
        get_service_spec(store, service)
        aliases = store.registry.aliases_of(service)
    cli.emit(
        aliases,
        "\n".join(f"{a} -> {service}@{n}" for a, n in sorted(aliases.items())) or "no aliases",
    )


@versions_app.command("list")
def versions_list(ctx: typer.Context, service: str, json: bool = JSON_OPT) -> None:
    """The versions of SERVICE, oldest first."""
    from liveops.cli.render import versions_table
    from liveops.services.registry import list_versions

    cli = make_cli(ctx, json, None, remote=True)
    if cli.api is not None:
        rows = cli.api.versions(service)
    else:
        rows = wire([r.to_dict() for r in list_versions(cli.store(), service)])
    cli.emit(rows, versions_table(rows, service))


@versions_app.command("show")
def versions_show(ctx: typer.Context, version: str, json: bool = JSON_OPT) -> None:
    """One version: config, lineage, metrics, aliases."""
    from liveops.cli.render import version_panel
    from liveops.services.registry import resolve_version

    cli = make_cli(ctx, json, None, remote=True)
    if cli.api is not None:
        from liveops.core.names import parse_version_ref

        ref = parse_version_ref(version)  # a malformed one in the local command's words
        which = str(ref.number) if ref.number is not None else str(ref.alias)
        record = cli.api.get(f"/v1/services/{quote(ref.service, safe='')}/versions/{which}")
    else:
        record = wire(resolve_version(cli.store(), version).to_dict())
    cli.emit(record, version_panel(record))


@versions_app.command("diff")
def versions_diff(
    ctx: typer.Context,
    a: str = typer.Argument(..., help="SERVICE@N or SERVICE@ALIAS"),
    b: str = typer.Argument(..., help="SERVICE@N, SERVICE@ALIAS, or N within A's service"),
    json: bool = JSON_OPT,
) -> None:
    """What changed from A to B: artifact, config, datasets, dependencies, metrics."""
    from liveops.cli.render import diff_view
    from liveops.core.diff import diff_versions
    from liveops.services.registry import resolve_version

    cli = make_cli(ctx, json, None)
    store = cli.store()
    va = resolve_version(store, a)
    vb = resolve_version(store, b, default_service=va.service)
    diff = diff_versions(va, vb)
    cli.emit(diff.to_dict(), diff_view(diff))


def register(app: typer.Typer) -> None:
    app.command("register")(register_cmd)
    app.add_typer(alias_app, name="alias")
    app.add_typer(versions_app, name="versions")
