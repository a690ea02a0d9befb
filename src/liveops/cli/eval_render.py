"""Rich rendering of an evaluation run: gate verdicts first, then the evidence."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table

VERDICT_STYLE = {
    "pass": "green",
    "fail": "bold red",
    "inconclusive": "yellow",
    "error": "bold magenta",
    "skipped": "dim",
}
EXIT_MEANING = {
    0: "blockers and guardrails pass",
    1: "a blocker or guardrail failed",
    3: "inconclusive: nothing failed, but a blocker or guardrail is undecided",
    4: "a blocker or guardrail could not be computed",
}


def num(v: Any, digits: int = 3) -> str:
    """A number as the tables show it: ``digits`` decimals, fewer for large values so that
    latencies in milliseconds stay as narrow as shares (``11.11``, ``0.913``)."""
    if v is None:
        return "-"
    if isinstance(v, float):
        if abs(v) >= 100:
            digits = min(digits, 1)
        elif abs(v) >= 10:
            digits = min(digits, 2)
        return f"{v:.{digits}f}"
    return escape(str(v))


def interval(v: Any, digits: int = 3) -> str:
    if not v:
        return ""
    return f"[{num(float(v[0]), digits)}, {num(float(v[1]), digits)}]"


def gates_table(run: dict[str, Any]) -> Table:
    """Verdict, kind, gate, value and interval; the reason folds under the gate, so the table
    stays readable at 80 columns (only the gate text wraps)."""
    s = run["summary"]
    vs = f" vs {s['baseline']}" if s.get("baseline") else ""
    table = Table(title=f"gates: {s['version']}{vs}  (run {run['id']})", title_justify="left")
    table.add_column("verdict", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("gate (why)", ratio=1, min_width=16)
    table.add_column("value", no_wrap=True, justify="right")
    table.add_column("95 % CI", no_wrap=True)
    for g in s["gates"]:
        style = VERDICT_STYLE.get(g["verdict"], "")
        why = f"\n[dim]{escape(g['reason'])}[/]" if _reason_adds(g) else ""
        table.add_row(
            f"[{style}]{g['verdict']}[/]",
            g["kind"],
            escape(g["gate"]) + why,
            num(g.get("value")),
            interval(g.get("interval")),
        )
    return table


def _reason_adds(g: dict[str, Any]) -> bool:
    """Whether a gate's reason says more than its value and threshold do (``0.9 >= 0.8``
    does not; a baseline comparison, a skip or an error does)."""
    plain = g.get("rule") in ("min", "max") and g["verdict"] in ("pass", "fail")
    return bool(g.get("reason")) and not plain


def render_run(run: dict[str, Any], width: int | None = None) -> list[RenderableType]:
    """The run as ``liveops eval`` prints it; ``width`` (the terminal's) lets narrow terminals
    drop the per-slice macro-F1 when a baseline comparison needs the room."""
    s = run["summary"]
    parts: list[RenderableType] = [gates_table(run)]
    code = run["exit_code"]
    parts.append(f"exit code {code}: {EXIT_MEANING.get(code, '')}")
    if s.get("baseline_reason"):
        parts.append(f"[dim]baseline: {escape(s['baseline_reason'])}[/]")
    parts.append(_metrics(s))
    wide = width is None or width >= 100
    scoped = _scoped(s, "slice", wide), _scoped(s, "scenario", wide)
    parts.extend(t for t in scoped if t is not None)
    for extra in (
        _robustness(s),
        _probes(s),
        _must_pass(s),
        _failures(s),
        _scoped_failures(s, "slice"),
        _scoped_failures(s, "scenario"),
    ):
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
    table.add_column("metric", ratio=1, overflow="fold")
    for col in ["value", "95 % CI"] + (["baseline", "diff (95 % CI)"] if base else []):
        table.add_column(col, no_wrap=True)
    rows = dict(s["metrics"].get("overall", {}))
    rows.update(s.get("builtins", {}))
    for name, e in rows.items():
        row = [name, num(e.get("value")), interval(e.get("interval"))]
        if base:
            row += [num(e.get("baseline_value")), interval(e.get("diff_interval"))]
        table.add_row(*row)
    return table


def _scoped(s: dict[str, Any], kind: str, wide: bool = True) -> Table | None:
    scopes = {k.split(":", 1)[1]: v for k, v in s["metrics"].items() if k.startswith(kind + ":")}
    if not scopes:
        return None
    base = bool(s.get("baseline"))
    f1 = wide or not base
    table = Table(title=f"{kind}s", title_justify="left")
    table.add_column(kind, ratio=1, min_width=8)
    cols = ["cases", "accuracy", "95 % CI"] + ["macro_f1"] * f1
    for col in cols + ["baseline", "diff (95 % CI)"] * base:
        table.add_column(col, no_wrap=True)
    for name, row in scopes.items():
        acc = row.get("accuracy", {})
        cells = [escape(name), str(acc.get("n", "-")), num(acc.get("value"))]
        cells.append(interval(acc.get("interval")))
        if f1:
            cells.append(num(row.get("macro_f1", {}).get("value")))
        if base:
            cells += [num(acc.get("baseline_value")), interval(acc.get("diff_interval"))]
        table.add_row(*cells)
    return table


def _robustness(s: dict[str, Any]) -> RenderableType | None:
    rob = s.get("robustness")
    if not rob:
        return None
    table = Table(
        title=f"robustness ({rob['predictions']} perturbed predictions)", title_justify="left"
    )
    for col in ("family", "invariance", "accuracy"):
        table.add_column(col, no_wrap=True)
    table.add_column("predicted", no_wrap=True, justify="right")
    for fam, v in rob["families"].items():
        table.add_row(fam, num(v["invariance"]), num(v["accuracy"]), str(v.get("predicted", "")))
    for fam in rob.get("not_applicable") or {}:
        table.add_row(f"[dim]{fam}[/]", "[dim]n/a[/]", "[dim]n/a[/]", "[dim]0[/]")
    table.add_section()
    table.add_row("[bold]all[/]", num(rob["invariance"]), num(rob["accuracy"]), "")
    skipped = rob.get("not_applicable") or {}
    if not skipped:
        return table
    notes = "\n".join(f"[dim]n/a {escape(f)}: {escape(why)}[/]" for f, why in skipped.items())
    return Group(table, notes)


def _probes(s: dict[str, Any]) -> Table | None:
    probes = s.get("probes")
    if not probes:
        return None
    table = Table(title="probes", title_justify="left")
    table.add_column("holds", no_wrap=True)
    table.add_column("probe", ratio=2)
    table.add_column("expected", ratio=1, overflow="fold")
    table.add_column("got", ratio=1, overflow="fold")
    for p in probes:
        got = f"{p['label']} ({p['decision']})"
        if p.get("error"):
            got = f"error: {p['error']}"
        table.add_row(
            "[green]yes[/]" if p["holds"] else "[bold red]no[/]",
            escape(p["name"]),
            escape(str(p["expected"]).replace("|", " | ")),
            escape(got),
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
    table.add_column("case", no_wrap=True)
    table.add_column("expected", no_wrap=True)
    table.add_column("got", no_wrap=True)
    table.add_column("conf", no_wrap=True)
    table.add_column("text", ratio=1, min_width=20)
    prefix = mp["dataset"]  # ids made from row numbers ("ds@1#27") repeat the title's dataset
    for f in mp["failed"][:10]:
        got = f"{f['predicted']}\n({f['decision']})"
        if f.get("error"):
            got = "error"
        table.add_row(
            escape(f["case"] if " + " in prefix else f["case"].removeprefix(prefix)),
            escape(f"{f['expected']}\n({f['expected_decision']})"),
            escape(got),
            num(f.get("confidence"), 2),
            escape(_short(f"{f['text']}  [{f['error']}]" if f.get("error") else f["text"], 120)),
        )
    return table


def _failures(s: dict[str, Any]) -> Table | None:
    groups = s.get("failures", {}).get("by_pair", [])
    if not groups:
        return None
    table = Table(title="failures by (expected -> predicted)", title_justify="left")
    for col in ("expected", "predicted", "count"):
        table.add_column(col, no_wrap=True)
    table.add_column("example", ratio=1, min_width=20)
    for g in groups[:8]:
        ex = _short(g["examples"][0]["text"], 100) if g["examples"] else ""
        table.add_row(escape(g["expected"]), escape(g["predicted"]), str(g["count"]), escape(ex))
    return table


def _scoped_failures(s: dict[str, Any], kind: str) -> Table | None:
    """Failures per slice or scenario: how many of its cases failed, and up to two examples
    (text, then expected -> predicted), so the table stays readable at 80 columns."""
    groups = s.get("failures", {}).get(kind, [])
    if not groups:
        return None
    table = Table(title=f"failures by {kind}", title_justify="left")
    table.add_column(kind, ratio=1, min_width=8, max_width=24, overflow="fold")
    table.add_column("failed", no_wrap=True, justify="right")
    table.add_column("rate", no_wrap=True, justify="right")
    table.add_column("examples", ratio=3, min_width=20)
    for g in groups:
        examples = [
            f"{escape(_short(e['text'], 60))}\n[dim]{escape(e['expected'])} -> "
            f"{escape(e['predicted'] or '(error)')}[/]"
            for e in g["examples"][:2]
        ]
        table.add_row(
            escape(g["name"]),
            f"{g['count']}/{g['cases']}",
            num(g.get("rate"), 2),
            "\n".join(examples),
        )
    return table


def model_errors_table(errors: list[dict[str, Any]], total: int) -> Table:
    """Cases on which the model raised (they count as wrong; the run went on)."""
    table = Table(title=f"model errors: {total} case(s) raised", title_justify="left")
    table.add_column("case", no_wrap=True)
    table.add_column("error", ratio=1, overflow="fold")
    table.add_column("text", ratio=1)
    for e in errors:
        table.add_row(escape(e["case"]), escape(e["error"]), escape(_short(e.get("text", ""), 60)))
    return table


def _short(text: str, limit: int) -> str:
    """One line of at most ``limit`` characters (newlines folded, ``…`` when cut)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
