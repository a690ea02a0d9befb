"""Drift on files and stored datasets: read both sides with pyarrow, check them in core.

:func:`compare` is what ``liveops drift REFERENCE CURRENT`` calls: it reads the reference and
the current data (CSV, Parquet, JSONL or a stored dataset, every row) and returns the
:class:`~liveops.core.drift.check.DriftCheck` (data quality first, then drift per column).
On live traffic, :class:`References` reads a service's reference once and
:func:`live_check` checks logged inputs against it (the monitor's drift pass and
``liveops drift --service``). :func:`compare_ray` checks two Ray datasets (windows too big
for one machine) with the same result as a local check; :func:`compare` with
``engine="ray"`` reads Parquet with Ray Data. See docs/drift.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from liveops.core.drift.check import DriftCheck, check_drift
from liveops.errors import DatasetFileError, UsageError
from liveops.services.drift.live import (
    LivePoint,
    Reference,
    References,
    live_check,
    live_points,
    reference_ref,
)
from liveops.services.drift.tables import load_table

if TYPE_CHECKING:
    from liveops.store import Store

__all__ = [
    "LivePoint",
    "Reference",
    "References",
    "compare",
    "compare_ray",
    "live_check",
    "live_points",
    "load_table",
    "reference_ref",
]


def compare(
    reference: str,
    current: str,
    *,
    columns: Sequence[str] | None = None,
    tests: bool = False,
    open_store: Callable[[], Store] | None = None,
    engine: str = "local",
    address: str | None = None,
) -> DriftCheck:
    """Check ``current`` against ``reference`` (file paths or dataset names).

    ``open_store`` is called only when a side names a stored dataset, so files need no project.
    ``engine="ray"`` reads two Parquet files (or folders of them) with Ray Data, on a local
    Ray or the cluster at ``address``: the same result, see :func:`compare_ray`.
    """
    if engine == "ray":
        return _compare_parquet_on_ray(reference, current, columns, tests, address)
    if engine != "local":
        raise UsageError(f"unknown engine {engine!r}", hint="one of local, ray")
    if address is not None:
        raise UsageError("--address applies to --engine ray only")
    ref = load_table(reference, open_store=open_store)
    cur = load_table(current, open_store=open_store, like=ref)
    return check_drift(ref, cur, columns=columns, tests=tests)


def compare_ray(
    reference: Any,
    current: Any,
    *,
    columns: Sequence[str] | None = None,
    tests: bool = False,
    reference_label: str = "reference",
    current_label: str = "current",
) -> DriftCheck:
    """Check the Ray dataset ``current`` against the Ray dataset ``reference``.

    Categories are counted on Ray's workers; numbers and texts come to the driver one column
    at a time (see :mod:`liveops.services.drift.ray_tables`). The check equals the local one
    on the same rows in the same order. Ray must be running
    (:func:`~liveops.services.ray_runtime.start_ray` starts it).
    """
    from liveops.services.drift.ray_tables import ray_table
    from liveops.services.ray_runtime import start_ray

    start_ray(preserve_order=True)  # the results depend on the order; a running Ray is reused
    ref = ray_table(reference, reference_label)
    cur = ray_table(current, current_label, like=ref)
    return check_drift(ref, cur, columns=columns, tests=tests)


def _compare_parquet_on_ray(
    reference: str,
    current: str,
    columns: Sequence[str] | None,
    tests: bool,
    address: str | None,
) -> DriftCheck:
    from liveops.services.ray_runtime import start_ray

    for spec in (reference, current):
        path = Path(spec)
        if not path.exists():
            raise DatasetFileError(
                f"{spec} does not exist",
                hint="--engine ray reads Parquet files or folders of them",
            )
        if path.is_file() and path.suffix.lower() != ".parquet":
            raise UsageError(
                f"--engine ray reads Parquet, not {path.name}",
                hint="convert it to Parquet, or use --engine local (CSV, JSONL, datasets)",
            )
    ray = start_ray(address, preserve_order=True)
    datasets = []
    for spec in (reference, current):
        try:
            datasets.append(ray.data.read_parquet(spec))
        except Exception as exc:  # Ray wraps pyarrow's errors in its own
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DatasetFileError(
                f"{spec} is not readable Parquet: {first[:200]}",
                hint="check that it is a Parquet file or a folder of Parquet files",
            ) from None
    return compare_ray(
        datasets[0],
        datasets[1],
        columns=columns,
        tests=tests,
        reference_label=reference,
        current_label=current,
    )
