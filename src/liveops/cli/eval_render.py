"""Rich rendering of an evaluation run: gate verdicts first, then the evidence."""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from rich.markup import escape
from rich.table import Table

VERDICT_STYLE = {
    "pass": "green",
    "fail": "bold red",
    "inconclusive": "yellow",
    "error": "bold magenta",
    "skipped": "dim",
}
EXIT_MEANING = {0: "all checks pass", 1: "a check failed", 3: "inconclusive", 4: "error"}


def num(v: Any, digits: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return escape(str(v))


def interval(v: Any, digits: int = 3) -> str:
    if not v:
        return ""
    return f"[{v[0]:.{digits}f}, {v[1]:.{digits}f}]"


def gates_table(run: dict[str, Any]) -> Table:
    s = run["summary"]
    vs = f" vs {s['baseline']}" if s.get("baseline") else ""
    table = Table(title=f"gates: {s['version']}{vs}  (run {run['id']})", title_justify="left")
    for col in ("verdict", "kind", "gate", "value", "95 % interval", "why"):
        table.add_column(col, no_wrap=col != "why")
    for g in s["gates"]:
        style = VERDICT_STYLE.get(g["verdict"], "")
        table.add_row(
            f"[{style}]{g['verdict']}[/]",
            g["kind"],
            escape(g["gate"]),
            num(g.get("value")),
            interval(g.get("interval")),
            escape(g["reason"]),
        )
    return table


def render_run(run: dict[str, Any]) -> list[RenderableType]:
    s = run["summary"]
    parts: list[RenderableType] = [gates_table(run)]
    code = run["exit_code"]
    parts.append(f"exit code {code}: {EXIT_MEANING.get(code, '')}")
    if s.get("baseline_reason"):
        parts.append(f"[dim]baseline: {escape(s['baseline_reason'])}[/]")
    parts.append(_metrics(s))
    scoped = _scoped(s, "slice"), _scoped(s, "scenario")
    parts.extend(t for t in scoped if t is not None)
    for extra in (_robustness(s), _probes(s), _must_pass(s), _failures(s)):
        if extra is not None:
            parts.append(extra)
    errors = s.get("errors", 0)
    parts.append(
        f"{s['cases']} cases from {s['dataset']}, {errors} model error(s); "
        f"suite {s['suite_hash'][:12]}"
    )
    return parts


def _metrics(s: dict[str, Any]) -> Table:
    base = bool(s.get("baseline"))
    table = Table(title="metrics (overall)", title_justify="left")
    cols = ["metric", "value", "95 % interval"] + (
        ["baseline", "difference (95 %)"] if base else []
    )
    for col in cols:
        table.add_column(col, no_wrap=True)
    rows = dict(s["metrics"].get("overall", {}))
    rows.update(s.get("builtins", {}))
    for name, e in rows.items():
        row = [name, num(e.get("value")), interval(e.get("interval"))]
        if base:
            row += [num(e.get("baseline_value")), interval(e.get("diff_interval"))]
        table.add_row(*row)
    return table


def _scoped(s: dict[str, Any], kind: str) -> Table | None:
    scopes = {k.split(":", 1)[1]: v for k, v in s["metrics"].items() if k.startswith(kind + ":")}
    if not scopes:
        return None
    base = bool(s.get("baseline"))
    table = Table(title=f"{kind}s", title_justify="left")
    for col in (
        kind,
        "cases",
        "accuracy",
        "95 % interval",
        "macro_f1",
        "baseline acc",
        "diff (95 %)",
    ):
        if col.startswith(("baseline", "diff")) and not base:
            continue
        table.add_column(col, no_wrap=True)
    for name, row in scopes.items():
        acc = row.get("accuracy", {})
        cells = [
            escape(name),
            str(acc.get("n", "-")),
            num(acc.get("value")),
            interval(acc.get("interval")),
            num(row.get("macro_f1", {}).get("value")),
        ]
        if base:
            cells += [num(acc.get("baseline_value")), interval(acc.get("diff_interval"))]
        table.add_row(*cells)
    return table


def _robustness(s: dict[str, Any]) -> Table | None:
    rob = s.get("robustness")
    if not rob:
        return None
    table = Table(
        title=f"robustness: invariance {rob['invariance']:.3f}, accuracy {rob['accuracy']:.3f} "
        f"({rob['predictions']} perturbed predictions)",
        title_justify="left",
    )
    for col in ("family", "invariance", "accuracy"):
        table.add_column(col, no_wrap=True)
    for fam, v in rob["families"].items():
        table.add_row(fam, num(v["invariance"]), num(v["accuracy"]))
    return table


def _probes(s: dict[str, Any]) -> Table | None:
    probes = s.get("probes")
    if not probes:
        return None
    table = Table(title="probes", title_justify="left")
    for col in ("holds", "probe", "expected", "label", "decision"):
        table.add_column(col)
    for p in probes:
        table.add_row(
            "[green]yes[/]" if p["holds"] else "[bold red]no[/]",
            escape(p["name"]),
            escape(str(p["expected"])),
            escape(str(p["label"])),
            escape(str(p["decision"])),
        )
    return table


def _must_pass(s: dict[str, Any]) -> RenderableType | None:
    mp = s.get("must_pass")
    if not mp:
        return None
    head = f"must-pass: {mp['held']}/{mp['cases']} held ({mp['dataset']})"
    if not mp["failed"]:
        return head
    table = Table(title=head, title_justify="left")
    for col in ("case", "expected", "got", "decision", "conf", "text"):
        table.add_column(col, no_wrap=col != "text")
    for f in mp["failed"][:10]:
        table.add_row(
            escape(f["case"]),
            escape(f"{f['expected']} ({f['expected_decision']})"),
            escape(str(f["predicted"])),
            escape(str(f["decision"])),
            num(f.get("confidence"), 2),
            escape(f["text"][:90]),
        )
    return table


def _failures(s: dict[str, Any]) -> Table | None:
    groups = s.get("failures", {}).get("by_pair", [])
    if not groups:
        return None
    table = Table(title="failures by (expected -> predicted)", title_justify="left")
    for col in ("expected", "predicted", "count", "example"):
        table.add_column(col, no_wrap=col != "example")
    for g in groups[:8]:
        ex = g["examples"][0]["text"][:100] if g["examples"] else ""
        table.add_row(escape(g["expected"]), escape(g["predicted"]), str(g["count"]), escape(ex))
    return table
