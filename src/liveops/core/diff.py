"""What changed between two versions: artifact, config, datasets, training parameters,
dependencies, metrics.

>>> from datetime import datetime, UTC
>>> def v(n, t, acc):
...     return VersionRecord("s", n, f"c{n}", f"a{n}", "skops", {"decision": {"threshold": t}},
...                          {}, {"accuracy": acc}, None, "me", datetime.now(UTC))
>>> d = diff_versions(v(1, 0.75, 0.8), v(2, 0.68, 0.83))
>>> d.config[0].key, d.config[0].before, d.config[0].after
('decision.threshold', 0.75, 0.68)
>>> round(d.metrics[0].delta or 0, 2)
0.03
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from liveops.core.records import VersionRecord


@dataclass(frozen=True)
class Change:
    key: str
    before: Any
    after: Any


@dataclass(frozen=True)
class MetricDelta:
    name: str
    before: float | None
    after: float | None

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


@dataclass(frozen=True)
class VersionDiff:
    a: str
    b: str
    artifact: Change | None
    config: list[Change] = field(default_factory=list)
    datasets: list[Change] = field(default_factory=list)
    params: list[Change] = field(default_factory=list)  # training parameters from the lineage
    dependencies: list[Change] = field(default_factory=list)
    metrics: list[MetricDelta] = field(default_factory=list)
    code: Change | None = None

    @property
    def identical(self) -> bool:
        changed = self.config or self.datasets or self.params or self.dependencies
        return not (self.artifact or changed or self.code)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["metrics"] = [{**asdict(m), "delta": m.delta} for m in self.metrics]
        out["identical"] = self.identical
        return out


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts to dotted keys: ``{"a": {"b": 1}}`` to ``{"a.b": 1}``."""
    if not isinstance(value, dict):
        return {prefix: value} if prefix else {}
    out: dict[str, Any] = {}
    for k, v in value.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict) and v:
            out.update(flatten(v, key))
        else:
            out[key] = v
    return out


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    keys = sorted(set(before) | set(after))
    return [Change(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


def diff_versions(a: VersionRecord, b: VersionRecord) -> VersionDiff:
    artifact = (
        Change(
            "artifact",
            f"{a.artifact_format}:{a.artifact_hash}",
            f"{b.artifact_format}:{b.artifact_hash}",
        )
        if a.artifact_hash != b.artifact_hash
        else None
    )
    ds_a = {role: d.get("ref") for role, d in (a.lineage.get("datasets") or {}).items()}
    ds_b = {role: d.get("ref") for role, d in (b.lineage.get("datasets") or {}).items()}
    git_a, git_b = a.lineage.get("git") or {}, b.lineage.get("git") or {}
    code = None
    if git_a.get("commit") != git_b.get("commit") or git_a.get("dirty") != git_b.get("dirty"):
        code = Change("git", _git(git_a), _git(git_b))
    names = sorted(set(a.metrics) | set(b.metrics))
    return VersionDiff(
        a=a.ref,
        b=b.ref,
        artifact=artifact,
        config=_changes(flatten(a.config), flatten(b.config)),
        datasets=_changes(ds_a, ds_b),
        params=_changes(
            flatten(a.lineage.get("params") or {}), flatten(b.lineage.get("params") or {})
        ),
        dependencies=_changes(a.lineage.get("packages") or {}, b.lineage.get("packages") or {})
        + _changes({"python": a.lineage.get("python")}, {"python": b.lineage.get("python")}),
        metrics=[MetricDelta(n, a.metrics.get(n), b.metrics.get(n)) for n in names],
        code=code,
    )


def _git(g: dict[str, Any]) -> str | None:
    if not g.get("commit"):
        return None
    return str(g["commit"])[:12] + (" (dirty)" if g.get("dirty") else "")
