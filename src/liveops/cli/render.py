"""Rich renderings shared by commands."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from liveops.core.diff import VersionDiff
from liveops.core.records import DatasetRecord, VersionRecord


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return escape(str(v))


def versions_table(records: Sequence[VersionRecord | Mapping[str, Any]], service: str) -> Table:
    """The versions, from their records or their JSON form (``to_dict``, as the API sends)."""
    table = Table(title=f"{service} versions")
    for name in ("version", "aliases", "threshold, metrics"):
        table.add_column(name, no_wrap=True)
    table.add_column("message", ratio=1)
    for rec in records:
        r = rec if isinstance(rec, Mapping) else rec.to_dict()
        threshold = f"threshold={_fmt(r['config'].get('decision', {}).get('threshold'))}"
        metrics = [f"{k}={v:.3f}" for k, v in sorted(r["metrics"].items())[:4]]
        table.add_row(
            r["ref"],
            "\n".join(r["aliases"]),
            "\n".join([threshold, *metrics]),
            escape(r["message"] or ""),
        )
    return table


def version_panel(rec: VersionRecord | Mapping[str, Any]) -> Group:
    """One version, from its record or its JSON form (``to_dict``, as the API sends it)."""
    from datetime import datetime

    from liveops.core.diff import flatten

    r = rec if isinstance(rec, Mapping) else rec.to_dict()
    created = datetime.fromisoformat(r["created_at"]).isoformat(timespec="seconds")

    head = Table.grid(padding=(0, 2))
    head.add_row("version", r["ref"])
    head.add_row("aliases", ", ".join(r["aliases"]) or "-")
    head.add_row("content", r["content_hash"])
    head.add_row("artifact", f"{r['artifact_format']}:{r['artifact_hash']}")
    head.add_row("owner", escape(r["owner"]))
    head.add_row("created", created)
    head.add_row("message", escape(r["message"] or "-"))
    git = r["lineage"].get("git") or {}
    head.add_row("code", f"{git.get('commit', '-')[:12]}{' (dirty)' if git.get('dirty') else ''}")
    head.add_row("python", str(r["lineage"].get("python", "-")))
    cfg = Table("config", "value", title="config")
    for k, v in flatten(r["config"]).items():
        cfg.add_row(k, _fmt(v))
    ds = Table("role", "dataset", "rows", "content", title="datasets")
    for role, d in (r["lineage"].get("datasets") or {}).items():
        ds.add_row(
            role, d.get("ref", "-"), str(d.get("rows", "-")), str(d.get("content_hash", ""))[:12]
        )
    met = Table("metric", "value", title="metrics")
    for k, v in sorted(r["metrics"].items()):
        met.add_row(k, _fmt(v))
    params = Table("param", "value", title="training parameters")
    for k, v in sorted((r["lineage"].get("params") or {}).items()):
        params.add_row(k, _fmt(v))
    return Group(Panel(head, title=r["ref"]), cfg, ds, params, met)


def diff_view(d: VersionDiff) -> Group:
    parts: list[Any] = []
    title = f"{d.a} -> {d.b}"
    if d.identical:
        parts.append(f"{title}: same artifact, config, datasets, training, code and dependencies")
    summary = Table("what", d.a, d.b, title=title)
    if d.artifact:
        summary.add_row("artifact", _short(d.artifact.before), _short(d.artifact.after))
    if d.code:
        summary.add_row("code", _fmt(d.code.before), _fmt(d.code.after))
    for c in d.config:
        summary.add_row(f"config {c.key}", _fmt(c.before), _fmt(c.after))
    for c in d.datasets:
        summary.add_row(f"dataset {c.key}", _fmt(c.before), _fmt(c.after))
    for c in d.params:
        summary.add_row(f"training {c.key}", _fmt(c.before), _fmt(c.after))
    if summary.row_count:
        parts.append(summary)
    if d.metrics:
        met = Table("metric", d.a, d.b, "delta", title="metrics")
        for m in d.metrics:
            delta = "-" if m.delta is None else f"{m.delta:+.4f}"
            style = "" if m.delta is None or m.delta == 0 else ("green" if m.delta > 0 else "red")
            met.add_row(
                m.name, _fmt(m.before), _fmt(m.after), f"[{style}]{delta}[/]" if style else delta
            )
        parts.append(met)
    if d.dependencies:
        dep = Table("package", d.a, d.b, title=f"dependencies ({len(d.dependencies)} changed)")
        for c in d.dependencies[:25]:
            dep.add_row(c.key, _fmt(c.before), _fmt(c.after))
        parts.append(dep)
    else:
        parts.append("dependencies: unchanged")
    return Group(*parts)


def _short(v: Any) -> str:
    s = str(v)
    fmt, _, digest = s.partition(":")
    return f"{fmt}:{digest[:12]}" if digest else s


def datasets_table(records: list[DatasetRecord]) -> Table:
    table = Table("dataset", "rows", "columns", "format", "content", title="datasets")
    for r in records:
        cols = ", ".join(r.profile.get("columns", {}))
        table.add_row(r.ref, str(r.rows), escape(cols), r.format, r.content_hash[:12])
    return table


def dataset_profile(rec: DatasetRecord | Mapping[str, Any]) -> Table:
    """A dataset's columns, from its record or its JSON form (``to_dict``, as the API sends)."""
    r = rec if isinstance(rec, Mapping) else rec.to_dict()
    table = Table("column", "kind", "missing", "summary", title=f"{r['ref']}: {r['rows']} rows")
    for name, c in r["profile"].get("columns", {}).items():
        table.add_row(escape(name), c["kind"], f"{c['missing_share']:.1%}", escape(_summary(c)))
    return table


def _summary(c: dict[str, Any]) -> str:
    kind = c["kind"]
    if kind == "number" and "quantiles" in c:
        q = c["quantiles"]
        return (
            f"min {c['min']:.4g}  median {q['0.5']:.4g}  max {c['max']:.4g}  mean {c['mean']:.4g}"
        )
    if kind in ("category", "boolean"):
        top = list(c.get("frequencies", {}).items())[:5]
        return "  ".join(f"{k} {v:.0%}" for k, v in top)
    if kind == "text":
        q = c.get("length", {}).get("quantiles", {})
        median, p95 = q.get("0.5", 0), q.get("0.95", 0)
        return f"length median {median:.0f}, p95 {p95:.0f}; vocabulary {c['vocabulary_size']}"
    if kind == "list":
        top = list(c.get("item_frequencies", {}).items())[:5]
        return "items: " + "  ".join(f"{k} {v:.0%}" for k, v in top)
    return ""
