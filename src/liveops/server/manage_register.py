"""The management API's uploads: ``POST /v1/datasets`` (`liveops dataset add` with the file's
bytes) and ``POST /v1/services/{name}/versions``: `liveops register` with an uploaded ``.skops``
file.

Only skops: it loads only the types it trusts, where a pickle (joblib) runs code when loaded,
so accepting one would let any key with ``operate`` run code on the server.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from liveops.errors import UsageError

if TYPE_CHECKING:
    from liveops.server.manage_ops import Ctx

__all__ = ["dataset_add", "skops_only", "version_register"]


def skops_only(filename: str) -> None:
    """Refuse any artifact but a ``.skops`` file, before its bytes are read: a pickle
    (joblib) runs code when loaded, so a key with ``operate`` could run code on the server.

    >>> skops_only("model.skops")
    >>> try:
    ...     skops_only("model.joblib")
    ... except UsageError as exc:
    ...     print(exc.message.split(": ")[0])
    model.joblib is a pickle (joblib)
    """
    from liveops.services.registry.versions import ARTIFACT_SUFFIXES

    suffix = Path(filename).suffix.lower()
    if suffix == ".skops":
        return
    hint = (
        "save the model with skops (skops.io.dump(model, 'model.skops')) and upload that, "
        "or register this file on the server host (`liveops register` without LIVEOPS_URL)"
    )
    if ARTIFACT_SUFFIXES.get(suffix) == "joblib":
        raise UsageError(
            f"{filename} is a pickle (joblib): loading it runs arbitrary code, "
            "so the API takes only a .skops artifact",
            hint=hint,
            problems=[{"loc": ["query", "filename"], "msg": "a pickle"}],
        )
    raise UsageError(
        f"cannot register {filename} through the API: it takes only a .skops artifact",
        hint=hint,
        problems=[{"loc": ["query", "filename"], "msg": "not .skops"}],
    )


def version_register(c: Ctx) -> dict[str, Any]:
    """As `liveops register SERVICE --artifact FILE.skops`: skops loads only the types it
    trusts by default (no ``--trust`` through the API)."""
    import warnings

    from liveops.services.registry import parse_assignments, register_version

    datasets = {
        r: c.query[f"{r}_dataset"] for r in ("train", "eval") if c.query.get(f"{r}_dataset")
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # answered in "warnings"
        result = register_version(
            c.store,
            c.path["name"],
            actor=c.actor,
            artifact=c.body["file"],
            config=parse_assignments(c.query.get("config") or []),
            datasets=datasets,
            params=parse_assignments(c.query.get("param") or [], "--param"),
            metrics=parse_assignments(c.query.get("metric") or [], "--metric"),
            message=c.query.get("message"),
            cwd=c.project_dir,
        )
    return {**result.version.to_dict(), "created": result.created, "warnings": result.warnings}


def dataset_add(c: Ctx) -> dict[str, Any]:
    from liveops.services.datasets import add_dataset

    name = c.query.get("name")
    if not name:
        raise UsageError(
            "an upload needs ?name= (the dataset's name)",
            problems=[{"loc": ["query", "name"], "msg": "required"}],
        )
    record, created = add_dataset(
        c.store,
        c.body["file"],
        name=name,
        actor=c.actor,
        reference_cap=c.query.get("reference_cap") or 100_000,
        source=c.query["filename"],
    )
    return {**record.to_dict(), "created": created}
