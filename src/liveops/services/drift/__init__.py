"""Drift on files and stored datasets: read both sides with pyarrow, check them in core.

:func:`compare` is what ``liveops drift REFERENCE CURRENT`` calls: it reads the reference and
the current data (CSV, Parquet, JSONL or a stored dataset, every row) and returns the
:class:`~liveops.core.drift.check.DriftCheck` (data quality first, then drift per column).
On live traffic, :class:`References` reads a service's reference once and
:func:`live_check` checks logged inputs against it (the monitor's drift pass and
``liveops drift --service``). See docs/drift.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from liveops.core.drift.check import DriftCheck, check_drift
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
) -> DriftCheck:
    """Check ``current`` against ``reference`` (file paths or dataset names).

    ``open_store`` is called only when a side names a stored dataset, so files need no project.
    """
    ref = load_table(reference, open_store=open_store)
    cur = load_table(current, open_store=open_store, like=ref)
    return check_drift(ref, cur, columns=columns, tests=tests)
