"""The reference of an evaluation and what is fixed from it: ``slice_by`` slices and the
column scales the numeric and categorical perturbations use.

The reference is the candidate version's training dataset (``register --train-dataset``),
else the service's ``reference:`` dataset, else the cases themselves (said so in the run).
One reference serves the whole run, baseline included, so both versions see the same
perturbed copies and the same slices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from liveops.core.evaluation.slicing import slices_from_profile
from liveops.core.evaluation.suite import SliceSpec, Suite
from liveops.core.project import ServiceSpec
from liveops.core.records import VersionRecord
from liveops.errors import DatasetNotFound, InvalidInputError
from liveops.services.datasets import resolve_dataset
from liveops.store import Store

__all__ = ["Reference", "reference_for", "resolve_slice_by", "stored_slices"]

_PAST_RUNS = 200  # how far back a service's stored slice definitions are looked for


@dataclass(frozen=True)
class Reference:
    """The dataset the run's slices and perturbation scales come from."""

    dataset: str
    source: str
    profile: dict[str, Any] = field(repr=False)

    def to_dict(self) -> dict[str, str]:
        return {"dataset": self.dataset, "source": self.source}


def reference_for(
    store: Store, version: VersionRecord, spec: ServiceSpec, cases_ref: str
) -> Reference:
    """The reference of an evaluation of ``version`` on the cases ``cases_ref``."""
    train = ((version.lineage.get("datasets") or {}).get("train") or {}).get("ref")
    tried: list[tuple[str, str]] = []
    if isinstance(train, str):
        tried.append((train, f"the training dataset of {version.ref}"))
    if spec.reference:
        tried.append((spec.reference, f"the reference of service {spec.name}"))
    for ref, source in tried:
        try:
            ds = resolve_dataset(store, ref)
        except DatasetNotFound:
            continue
        return Reference(ds.ref, source, ds.profile)
    ds = resolve_dataset(store, cases_ref)
    source = (
        "the cases themselves (no training dataset was registered with the version and the "
        "service names no reference)"
    )
    return Reference(ds.ref, source, ds.profile)


def resolve_slice_by(
    store: Store, suite: Suite, service: str, reference: Reference
) -> tuple[Suite, dict[str, Any] | None]:
    """``suite`` with its ``slice_by`` slices added, and their stored definition.

    Slices stored by an earlier run of the service for the same columns are reused, so bins
    never move from one run to the next; otherwise they are made from ``reference``."""
    if not suite.slice_by:
        return suite, None
    stored = _stored(store, service, suite.slice_by)
    if stored is not None:
        definition = stored
        slices = [SliceSpec.model_validate(s) for s in stored["slices"]]
    else:
        slices = slices_from_profile(reference.profile, suite.slice_by)
        definition = {
            "columns": list(suite.slice_by),
            "reference": reference.to_dict(),
            "slices": [s.model_dump(mode="json") for s in slices],
        }
    clash = sorted({s.name for s in suite.slices} & {s.name for s in slices})
    if clash:
        raise InvalidInputError(
            f"slice {clash[0]!r} is both written in the suite and made by slice_by",
            hint="rename the hand-written slice",
        )
    full = suite.with_slices(slices)
    problems = full.gate_problems()
    if problems:
        i, fld, message = problems[0]
        made = ", ".join(s.name for s in slices)
        raise InvalidInputError(
            f"gates.{i}.{fld}: {message}",
            hint=f"slice_by made: {made}; name one of these in the gate",
        )
    return full, definition


def stored_slices(store: Store, service: str, columns: list[str]) -> list[SliceSpec] | None:
    """The ``slice_by`` slices of ``columns`` an evaluation run of ``service`` fixed, or None
    (the monitor reads them, so live slices are the ones the evaluation reported)."""
    stored = _stored(store, service, columns)
    return None if stored is None else [SliceSpec.model_validate(s) for s in stored["slices"]]


def _stored(store: Store, service: str, columns: list[str]) -> dict[str, Any] | None:
    for run in store.evaluation.list_runs(service, limit=_PAST_RUNS):
        found = run.summary.slice_by
        if found is not None and found.get("columns") == columns:
            return {**found, "fixed_by_run": found.get("fixed_by_run") or run.id}
    return None
