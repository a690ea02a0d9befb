"""Registry records as plain values: what the store hands to services and the CLI renders."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from liveops.core.evaluation.gates import GateVerdict
from liveops.core.evaluation.summary import EvalSummary


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


@dataclass(frozen=True)
class ServiceRecord:
    name: str
    spec: dict[str, Any]
    spec_hash: str
    disabled: bool
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return dict(_json(asdict(self)))


@dataclass(frozen=True)
class VersionRecord:
    service: str
    number: int
    content_hash: str
    artifact_hash: str
    artifact_format: str  # skops | joblib | entrypoint
    config: dict[str, Any]
    lineage: dict[str, Any]
    metrics: dict[str, Any]
    message: str | None
    owner: str
    created_at: datetime
    aliases: tuple[str, ...] = field(default=())

    @property
    def ref(self) -> str:
        return f"{self.service}@{self.number}"

    def to_dict(self) -> dict[str, Any]:
        out = dict(_json(asdict(self)))
        out["ref"] = self.ref
        return out


@dataclass(frozen=True)
class DatasetRecord:
    name: str
    number: int
    content_hash: str
    format: str
    source: str | None
    rows: int
    profile: dict[str, Any]
    data_artifact: str
    reference_artifact: str
    reference_rows: int
    reference_cap: int
    created_by: str
    created_at: datetime

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.number}"

    def to_dict(self, *, with_profile: bool = True) -> dict[str, Any]:
        out = dict(_json(asdict(self)))
        if not with_profile:
            out.pop("profile")
        out["ref"] = self.ref
        return out


@dataclass(frozen=True)
class EvalRunRecord:
    """One stored evaluation run: which version, against which baseline, and its summary."""

    id: str
    service: str
    version: int
    baseline_version: int | None
    suite_hash: str
    created_at: datetime
    actor: str
    summary: EvalSummary
    exit_code: int

    @property
    def ref(self) -> str:
        return f"{self.service}@{self.version}"

    @property
    def verdicts(self) -> tuple[GateVerdict, ...]:
        """The gate verdicts as judged when the run was made (never judged again)."""
        return self.summary.gates

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "service": self.service,
            "version": self.version,
            "baseline_version": self.baseline_version,
            "suite_hash": self.suite_hash,
            "created_at": self.created_at.isoformat(),
            "actor": self.actor,
            "summary": self.summary.to_dict(),
            "exit_code": self.exit_code,
            "ref": self.ref,
        }


@dataclass(frozen=True)
class EvalCaseRecord:
    """One case of a run: its inputs, what was expected, what the version answered."""

    case_id: str
    source: str  # eval | must_pass | probe
    inputs: dict[str, Any]
    expected: str | None
    predicted: str | None
    confidence: float | None
    decision: str | None
    correct: bool | None
    error: str | None = None
    groups: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return dict(_json(asdict(self)))
