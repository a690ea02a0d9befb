"""Retention of raw inputs: kept only for services that turn ``logging.raw_inputs`` on, and only
until ``raw_retention_days`` after the prediction; :func:`purge_raw_inputs` enforces both.

A running gateway's log writer calls it every ``retention_interval_s`` (an hour by default);
``liveops predictions purge`` runs it on demand or from cron where no gateway runs. It deletes
rows past their expiry and every raw row of a service whose applied ``liveops.yaml`` no longer
asks for raw inputs. The redacted record in ``predictions`` stays.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from liveops.core.clock import Clock, SystemClock
from liveops.core.project import service_from_dict
from liveops.store import Store

__all__ = ["PurgeReport", "purge_raw_inputs"]


@dataclass(frozen=True)
class PurgeReport:
    """What a purge deleted (or, with ``dry_run``, would delete)."""

    now: str
    dry_run: bool
    deleted: int
    services_off: tuple[str, ...]  # services with raw rows but raw_inputs off now
    remaining: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def purge_raw_inputs(
    store: Store, *, dry_run: bool = False, clock: Clock | None = None
) -> PurgeReport:
    """Delete expired raw inputs, and those of services that no longer keep raw inputs.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from liveops.store import open_store
    >>> store = open_store("sqlite://", project_dir=Path(tempfile.mkdtemp()))
    >>> purge_raw_inputs(store, dry_run=True).deleted
    0
    """
    now = (clock or SystemClock()).now()
    keeping = set()
    for record in store.registry.list_services():
        spec = service_from_dict(record.spec)
        if spec.logging_settings().raw_inputs:
            keeping.add(record.name)
    off = tuple(s for s in store.predictions.raw_services() if s not in keeping)
    if dry_run:
        deleted = store.predictions.expired_raw(now, off)
    else:
        deleted = store.predictions.purge_raw(now, off)
    remaining = store.predictions.raw_count() - (deleted if dry_run else 0)
    return PurgeReport(now.isoformat(), dry_run, deleted, off, remaining)
