"""Rich rendering of an evaluation run: gate verdicts first, then the evidence."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table

from liveops.core.evaluation.summary import ERROR_COLUMN

if TYPE_CHECKING:
    from liveops.core.evaluation.gates import GateVerdict
    from liveops.core.evaluation.summary import EvalSummary, MetricResult
    from liveops.core.records import EvalRunRecord

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


def gates_table(run: EvalRunRecord) -> Table:
    """Verdict, kind, gate, value and interval; the reason folds under the gate, so the table
    stays readable at 80 columns (only the gate text wraps)."""
    s = run.summary
    vs = f" vs {s.baseline}" if s.baseline else ""
    table = Table(title=f"gates: {s.version}{vs}  (run {run.id})", title_justify="left")
    table.add_column("verdict", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("gate (why)", ratio=1, min_width=16)
    table.add_column("value", no_wrap=True, justify="right")
    table.add_column("95 % CI", no_wrap=True)
    for g in s.gates:
        style = VERDICT_STYLE.get(g.verdict, "")
        why = f"\n[dim]{escape(g.reason)}[/]" if _reason_adds(g) else ""
        table.add_row(
            f"[{style}]{g.verdict}[/]",
            g.kind,
            escape(g.gate) + why,
            num(g.value),
            interval(g.interval),
        )
    return table


def _reason_adds(g: GateVerdict) -> bool:
    """Whether a gate's reason says more than its value and threshold do (``0.9 >= 0.8``
    does not; a baseline comparison, a skip or an error does)."""
    plain = g.rule in ("min", "max") and g.verdict in ("pass", "fail")
    return bool(g.reason) and not plain


def render_run(run: EvalRunRecord, width: int | None = None) -> list[RenderableType]:
    """The run as ``liveops eval`` prints it; ``width`` (the terminal's) lets narrow terminals
    drop the per-slice macro-F1 when a baseline comparison needs the room."""
    s = run.summary
    parts: list[RenderableType] = [gates_table(run)]
    code = run.exit_code
    parts.append(f"exit code {code}: {EXIT_MEANING.get(code, '')}")
    if s.baseline_reason:
        parts.append(f"[dim]baseline: {escape(s.baseline_reason)}[/]")
    parts.append(_metrics(s))
    per_label = _per_class(s)
    if per_label is not None:
        parts.append(per_label)
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
    parts.append(
        f"{s.cases} cases from {s.dataset}, {s.errors} model error(s); suite {s.suite_hash[:12]}"
    )
    return parts


def _metrics(s: EvalSummary) -> Table:
    base = bool(s.baseline)
    table = Table(title="metrics (overall)", title_justify="left")
    table.add_column("metric", ratio=1, overflow="fold")
    for col in ["value", "95 % CI"] + (["baseline", "diff (95 % CI)"] if base else []):
        table.add_column(col, no_wrap=True)
    rows: dict[str, MetricResult] = {**s.overall, **s.builtins}
    for name, e in rows.items():
        row = [name, num(e.value), interval(e.interval)]
        if base:
            row += [num(e.baseline_value), interval(e.diff_interval)]
        table.add_row(*row)
    return table


def _per_class(s: EvalSummary) -> Table | None:
    """Precision, recall, F1 and support per label. Only the label column wraps (folded, never
    cut), so the table fits 80 columns whatever the labels are called."""
    if not s.per_class:
        return None
    table = Table(title="per label", title_justify="left")
    table.add_column("label", ratio=1, min_width=8, overflow="fold")
    for col in ("precision", "recall", "f1", "support"):
        table.add_column(col, no_wrap=True, justify="right")
    for label, c in s.per_class.items():
        table.add_row(
            escape(label), num(c.precision), num(c.recall), num(c.f1), str(int(c.support))
        )
    return table


def _scoped(s: EvalSummary, kind: str, wide: bool = True) -> Table | None:
    scopes = s.scopes(kind)
    if not scopes:
        return None
    base = bool(s.baseline)
    f1 = wide or not base
    table = Table(title=f"{kind}s", title_justify="left")
    table.add_column(kind, ratio=1, min_width=8)
    cols = ["cases", "accuracy", "95 % CI"] + ["macro_f1"] * f1
    for col in cols + ["baseline", "diff (95 % CI)"] * base:
        table.add_column(col, no_wrap=True)
    for name, row in scopes.items():
        acc = row.get("accuracy")
        f1_value = row.get("macro_f1")
        cells = [escape(name), str(acc.n) if acc else "-", num(acc.value if acc else None)]
        cells.append(interval(acc.interval if acc else None))
        if f1:
            cells.append(num(f1_value.value if f1_value else None))
        if base:
            cells += [
                num(acc.baseline_value if acc else None),
                interval(acc.diff_interval if acc else None),
            ]
        table.add_row(*cells)
    return table


def _robustness(s: EvalSummary) -> RenderableType | None:
    rob = s.robustness
    if rob is None:
        return None
    table = Table(
        title=f"robustness ({rob.predictions} perturbed predictions)", title_justify="left"
    )
    for col in ("family", "invariance", "accuracy"):
        table.add_column(col, no_wrap=True)
    table.add_column("predicted", no_wrap=True, justify="right")
    for fam, v in rob.families.items():
        table.add_row(escape(fam), num(v.invariance), num(v.accuracy), str(v.predicted))
    for fam in rob.not_applicable:
        table.add_row(f"[dim]{escape(fam)}[/]", "[dim]n/a[/]", "[dim]n/a[/]", "[dim]0[/]")
    table.add_section()
    table.add_row("[bold]all[/]", num(rob.invariance), num(rob.accuracy), "")
    skipped = rob.not_applicable
    if not skipped:
        return table
    notes = "\n".join(f"[dim]n/a {escape(f)}: {escape(why)}[/]" for f, why in skipped.items())
    return Group(table, notes)


def _probes(s: EvalSummary) -> Table | None:
    probes = s.probes
    if not probes:
        return None
    table = Table(title="probes", title_justify="left")
    table.add_column("holds", no_wrap=True)
    table.add_column("probe", ratio=2)
    table.add_column("expected", ratio=1, overflow="fold")
    table.add_column("got", ratio=1, overflow="fold")
    for p in probes:
        got = f"{p.label} ({p.decision})"
        if p.error:
            got = f"error: {p.error}"
        table.add_row(
            "[green]yes[/]" if p.holds else "[bold red]no[/]",
            escape(p.name),
            escape(p.expected.replace("|", " | ")),
            escape(got),
        )
    return table


def _must_pass(s: EvalSummary) -> RenderableType | None:
    mp = s.must_pass
    if mp is None:
        return None
    head = f"must-pass: {mp.held}/{mp.cases} held ({mp.dataset})"
    if not mp.failed:
        return head
    table = Table(title=head, title_justify="left")
    table.add_column("case", no_wrap=True)
    table.add_column("expected", ratio=1, min_width=8, overflow="fold")
    table.add_column("got", ratio=1, min_width=8, overflow="fold")
    table.add_column("conf", no_wrap=True)
    table.add_column("text", ratio=1, min_width=20)
    prefix = mp.dataset  # ids made from row numbers ("ds@1#27") repeat the title's dataset
    for f in mp.failed[:10]:
        got = f"{f.predicted}\n({f.decision})"
        if f.error:
            got = "error"
        table.add_row(
            escape(f.case if " + " in prefix else f.case.removeprefix(prefix)),
            escape(f"{f.expected}\n({f.expected_decision})"),
            escape(got),
            num(f.confidence, 2),
            escape(_short(f"{f.text}  [{f.error}]" if f.error else f.text, 120)),
        )
    return table


def _failures(s: EvalSummary) -> Table | None:
    groups = s.failures.by_pair
    if not groups:
        return None
    table = Table(title="failures by (expected -> predicted)", title_justify="left")
    # labels fold rather than push the table past 80 columns (labels can be long phrases)
    for col in ("expected", "predicted"):
        table.add_column(col, ratio=1, min_width=8, overflow="fold")
    table.add_column("count", no_wrap=True, justify="right")
    table.add_column("example", ratio=2, min_width=20)
    for g in groups[:8]:
        ex = _short(g.examples[0].text, 100) if g.examples else ""
        table.add_row(escape(g.expected), escape(g.predicted), str(g.count), escape(ex))
    return table


def _scoped_failures(s: EvalSummary, kind: str) -> Table | None:
    """Failures per slice or scenario: how many of its cases failed, and up to two examples
    (text, then expected -> predicted), so the table stays readable at 80 columns."""
    groups = s.failures.slice if kind == "slice" else s.failures.scenario
    if not groups:
        return None
    table = Table(title=f"failures by {kind}", title_justify="left")
    table.add_column(kind, ratio=1, min_width=8, max_width=24, overflow="fold")
    table.add_column("failed", no_wrap=True, justify="right")
    table.add_column("rate", no_wrap=True, justify="right")
    table.add_column("examples", ratio=3, min_width=20)
    for g in groups:
        examples = [
            f"{escape(_short(e.text, 60))}\n[dim]{escape(e.expected)} -> "
            f"{escape(e.predicted or ERROR_COLUMN)}[/]"
            for e in g.examples[:2]
        ]
        table.add_row(
            escape(g.name),
            f"{g.count}/{g.cases}",
            num(g.rate, 2),
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
