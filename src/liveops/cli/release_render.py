"""Rich renderings of releases: the checklist, approvals, notes with their flags, decisions and
the smoke test."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from liveops.core.release import ApprovalPolicy, Decision

View = Mapping[str, Any]  # a release's JSON form: ``ReleaseView.to_dict()``, as the API sends it

_STYLE = {"pass": "green", "overridden": "magenta", "fail": "bold red", "missing": "yellow"}


def releases_table(found: Sequence[Mapping[str, Any]]) -> Table:
    """Releases from their JSON form (``ReleaseRecord.to_dict``)."""
    table = Table(title="releases")
    for name in ("release", "version", "status", "decision", "created", "by"):
        table.add_column(name, no_wrap=True)
    for r in found:
        table.add_row(
            r["id"],
            r["ref"],
            r["status"],
            r["decision"]["kind"] if r["decision"] else "-",
            r["created_at"][:16].replace("T", " "),
            escape(r["created_by"]),
        )
    return table


def approvals_line(view: View) -> str:
    s = view["approval_status"]
    policy = ApprovalPolicy.from_dict(view["policy"])
    given = ", ".join(f"{g}: {escape(p)}" for g, p in s["given"].items()) or "none yet"
    missing = ", ".join(policy.describe(g) for g in s["missing"]) or "none"
    return f"approvals given: {given}; missing: {escape(missing)}"


def release_view(view: View, *, notes: bool = False) -> Group:
    policy = view["policy"]
    head = (
        f"[bold]{view['id']}[/] {view['ref']} ({view['status']}), created by "
        f"{escape(view['created_by'])}; author {escape(view['author'])}; risk {policy['risk']}"
    )
    table = Table(title="checklist")
    for name in ("item", "kind", "state", "detail"):
        table.add_column(name, overflow="fold")
    for i in view["checklist"]:
        style = _STYLE.get(i["state"], "")
        table.add_row(i["key"], i["kind"], f"[{style}]{i['state']}[/]", escape(i["detail"]))
    parts: list[Any] = [head, table, approvals_line(view)]
    for o in view["overrides"]:
        state = f"approved by {o['approved_by']}" if o["approved_by"] else "awaiting approval"
        parts.append(f"override of {o['item']} ({state}): {escape(o['justification'])}")
    if view["decision"] is not None:
        d = Decision.from_dict(view["decision"])
        scope = ", ".join(f"{k}={','.join(v)}" for k, v in d.scope.items()) or "all traffic"
        parts.append(
            f"[bold]decision: {d.kind}[/] by {escape(d.by)} at {d.at:%Y-%m-%d %H:%M} "
            f"(scope: {escape(scope)}): {escape(d.reason)}"
        )
    elif view["blockers"]:
        parts.append(f"[yellow]not yet launchable:[/] {escape('; '.join(view['blockers']))}")
    else:
        parts.append("[green]ready to decide[/]: every item and approval is in")
    if notes:
        parts.append(notes_view(view["notes"], view["notes_flags"]))
    return Group(*parts)


def notes_view(text: str, flags: Sequence[Mapping[str, Any]]) -> Group:
    """The notes and their flags (``NoteFlag.to_dict``)."""
    panel = Panel(escape(text), title="release notes", expand=False)
    lines = [
        f"[yellow]vague:[/] {f['code']}"
        + (f" (line {f['line']})" if f["line"] else "")
        + f": {f['message']}"
        for f in flags
    ]
    return Group(panel, *lines)


def smoke_view(summary: dict[str, Any]) -> Group:
    verdict = "[green]passed[/]" if summary["passed"] else "[bold red]failed[/]"
    lines: list[Any] = [
        f"smoke {summary['smoke_id']} of {summary['version']} at {escape(summary['url'])}: "
        f"{verdict}",
        f"  {summary['equal']}/{summary['cases']} {summary['cases_from']} answers equal the "
        f"evaluation's (run {summary['eval_run']})",
        f"  {summary['logged']}/{summary['answers']} answers in the prediction log",
        f"  p95 {summary['p95_ms']} ms over {summary['load_requests']} requests "
        f"({summary['concurrency']} at a time); target {summary['target_ms']:g} ms "
        f"({summary['target_from']})",
    ]
    if summary.get("fallback"):
        lines.append(f"  fallback: {escape(summary['fallback']['detail'])}")
    lines += [f"  [red]problem:[/] {escape(p)}" for p in summary["problems"]]
    return Group(*lines)
