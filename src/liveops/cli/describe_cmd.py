"""``liveops describe SERVICE``: the map of one service, on one screen."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from liveops.cli.output import JSON_OPT, make_cli, wire

if TYPE_CHECKING:
    from rich.console import Group


def describe(ctx: typer.Context, name: str, json: bool = JSON_OPT) -> None:
    """Where the input goes, which version answers which share of traffic, decision settings
    and fallbacks, where the log and reference live, owner, alerts, rollout and last changes."""
    from liveops.services.describe import describe_service

    cli = make_cli(ctx, json, None, remote=True)
    if cli.api is not None:
        found = cli.api.describe(name)
    else:
        found = wire(describe_service(cli.store(), name, cli.project_dir).to_dict())
    cli.emit(found, None if json else render(found))


def _pct(share: float) -> str:
    return f"{share * 100:g} %"


def render(m: dict[str, Any]) -> Group:
    """The map from its JSON form (``ServiceMap.to_dict``, as the API sends it)."""
    from rich import box
    from rich.console import Group
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    parts: list[Any] = []
    state = "[green]enabled[/]" if m["enabled"] else "[red]disabled (kill switch on)[/]"
    parts.append(
        Text.from_markup(
            f"[bold]{escape(m['service'])}[/]  owner {escape(m['owner'])} · risk {m['risk']} · "
            f"{state}"
        )
    )
    job = [f"{k}: {escape(v)}" for k, v in m["job"].items() if v]
    if job:
        parts.append(Text.from_markup("job  " + " · ".join(job)))
    reads = ", ".join(m["model_inputs"])
    segments = ", ".join(m["segment_fields"]) or "none"
    parts.append(
        Text(f"model reads {reads} · segments {segments} · labels {', '.join(m['labels'])}")
    )

    traffic = " · ".join(
        f"{s['arm']} {m['service']}@{s['version']} {_pct(s['share'])}"
        + (" (copied, not returned)" if s["role"] == "shadow" else "")
        for s in m["traffic"]
    )
    if not m["enabled"]:
        traffic = (
            f"none: every request goes to the fallback ({m['disabled_fallback']})"
            if m["disabled_fallback"]
            else "none: every request gets 503 (no fallback)"
        )
    parts.append(Text(f"traffic  {traffic or 'no production version: not served'}"))
    aliases = ", ".join(f"{a} → @{n}" for a, n in m["aliases"].items()) or "none"
    parts.append(Text(f"aliases  {aliases} · {m['version_count']} versions registered"))
    if m["rollout"] is not None:
        r = m["rollout"]
        sh = r["shares"]
        parts.append(
            Text(
                f"rollout {r['id']}  {r['candidate']} vs {r['baseline']} · {r['state']} · step "
                f"{r['step']} of {r['steps']} ({r['current_step']}) · production "
                f"{_pct(sh['production'])}, canary {_pct(sh['canary'])}, shadow "
                f"{_pct(sh['shadow'])}"
                + ("" if r["routing"] else " · not routed: production moved off its baseline")
            )
        )

    for v in m["versions"]:
        decision = (
            "no threshold"
            if v["threshold"] is None
            else f"below {v['threshold']:g} → {v['below_threshold']}"
        )
        timeout = "no timeout" if v["timeout_ms"] is None else f"timeout {v['timeout_ms']} ms"
        cost = "" if v["cost_per_1k"] is None else f" · cost {v['cost_per_1k']:g} per 1k"
        parts.append(
            Text.from_markup(
                f"[bold]{v['ref']}[/] ({', '.join(v['arms'])})  {decision} · sensitive → "
                f"{v['sensitive_input']} · {timeout}{cost}\n"
                f"  fallback {' → '.join(v['fallback_chain'])} · {v['artifact_format']}, "
                f"registered by {escape(v['registered_by'])} "
                f"{v['registered_at'][:16].replace('T', ' ')}"
            )
        )

    logs = m["logs"]
    raw = (
        f"raw inputs kept {logs['raw_retention_days']:g} d"
        if logs["raw_inputs"]
        else "no raw inputs"
    )
    keep = f"{logs['retention_days']:g} d" if logs["retention_days"] else "forever"
    parts.append(
        Text(
            f"log  {logs['database']} · redaction on ({', '.join(logs['redaction_detectors'])}) "
            f"· {raw} · rows kept {keep}"
        )
    )
    ref = m["reference"]
    if ref is None:
        parts.append(Text("reference  none declared (drift has nothing to compare with)"))
    elif not ref["found"]:
        parts.append(Text(f"reference  {ref['name']} (not added yet: liveops dataset add)"))
    else:
        parts.append(Text(f"reference  {ref['ref']} · {ref['rows']} rows"))

    if m["alert_rules"]:
        rules = Table(
            "alert", "condition", "window", "severity", "receivers",
            title="alert rules", title_justify="left", box=box.SIMPLE_HEAD, show_edge=False,
        )  # fmt: skip
        firing = {a["rule"]: a["state"] for a in m["alerts_firing"]}
        for r in m["alert_rules"]:
            name = escape(r["name"]) + (
                f" [red]{firing[r['name']]}[/]" if r["name"] in firing else ""
            )
            rules.add_row(
                name, r["condition"], str(r["window"]), r["severity"], ", ".join(r["receivers"])
            )
        parts.append(rules)
    else:
        parts.append(Text("alerts  no rules"))
    for i in m["open_incidents"]:
        parts.append(
            Text.from_markup(
                f"[red]incident {i['id']}[/] {escape(i['title'])} · {i['severity']} · {i['status']}"
            )
        )
    rel = m["release"]
    if rel is not None:
        blockers = f" · blocked by {', '.join(rel['blockers'])}" if rel["blockers"] else ""
        parts.append(Text(f"release {rel['id']}  {rel['version']} · {rel['status']}{blockers}"))

    if m["changes"]:
        changes = Table(
            "time", "who", "what", "object",
            title="last changes", title_justify="left", box=box.SIMPLE_HEAD, show_edge=False,
        )  # fmt: skip
        for c in m["changes"]:
            changes.add_row(
                c["time"][:16].replace("T", " "),
                escape(c["actor"]),
                c["action"],
                escape(c["object"]),
            )
        parts.append(changes)
    return Group(*parts)


def register(app: typer.Typer) -> None:
    app.command("describe")(describe)
