"""Rich renderings of reviews, review items, agreement and readiness."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from liveops.core.readiness import Readiness
from liveops.core.review.items import ReviewItemRecord, ReviewRecord
from liveops.services.review import ReviewSummary

_STATUS_STYLE = {"pass": "green", "fail": "bold red", "missing": "yellow", "not_applicable": "dim"}


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return escape(str(v))


def reviews_table(reviews: list[ReviewRecord]) -> Table:
    table = Table(title="reviews")
    for name in ("review", "version", "from run", "items", "created", "by"):
        table.add_column(name, no_wrap=True)
    for r in reviews:
        table.add_row(
            r.id,
            r.subject,
            r.source_run,
            str(r.sample.get("size", "-")),
            r.created_at.strftime("%Y-%m-%d %H:%M"),  # UTC; --json has the full time
            escape(r.actor),
        )
    return table


def item_panel(item: ReviewItemRecord, title: str | None = None) -> Panel:
    """The case as a reviewer sees it: inputs, expected, predicted, confidence."""
    grid = Table.grid(padding=(0, 2))
    for key, value in item.inputs.items():
        grid.add_row(f"[bold]{escape(str(key))}[/]", escape(str(value)))
    grid.add_row("", "")
    grid.add_row("expected", _fmt(item.expected))
    right = item.expected is not None and item.predicted == item.expected
    style = "green" if right else "red"
    grid.add_row("predicted", f"[{style}]{_fmt(item.predicted)}[/]")
    grid.add_row("confidence", _fmt(item.confidence))
    if item.extra.get("error"):
        grid.add_row("error", f"[red]{escape(str(item.extra['error']))}[/]")
    for key in ("source", "groups", "decision", "served", "shadow", "step"):
        if item.extra.get(key):
            value = item.extra[key]
            grid.add_row(key, escape(", ".join(value) if isinstance(value, list) else str(value)))
    grid.add_row("why sampled", item.stratum.replace("_", " "))
    return Panel(grid, title=title or f"item {item.id}", title_align="left")


def agreement_table(summary: ReviewSummary) -> Table:
    table = Table(title="agreement (Cohen's kappa, pairs of reviewers on shared items)")
    for name in ("rubric item", "answers", "pairs", "items shared", "observed", "kappa", ""):
        table.add_column(name)
    for item in summary.agreement.items:
        answers = ", ".join(f"{k}={v}" for k, v in item.answers.items()) or "-"
        if not item.pairs:
            table.add_row(item.rubric_item, answers, "-", "0", "-", "-", "no overlap yet")
            continue
        for i, pair in enumerate(item.pairs):
            table.add_row(
                item.rubric_item if i == 0 else "",
                answers if i == 0 else "",
                " & ".join(escape(r) for r in pair.reviewers),
                str(pair.n),
                _fmt(pair.observed, 2),
                _fmt(pair.kappa, 2),
                pair.to_dict()["label"],
            )
    return table


def review_summary(summary: ReviewSummary) -> Group:
    r = summary.review
    head = Table.grid(padding=(0, 2))
    origin = (
        f"shadow disagreements of rollout {r.source_run.split(':')[1]}"
        if r.source_run.startswith("rollout:")
        else f"evaluation run {r.source_run}"
    )
    head.add_row("review", f"[bold]{r.id}[/] of {r.subject}, from {origin}")
    head.add_row(
        "sample",
        f"{r.sample.get('size')} items (seed {r.sample.get('seed')}): "
        + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in r.sample.get("strata", {}).items()),
    )
    head.add_row(
        "progress",
        f"{summary.reviewed}/{summary.items} items reviewed, {summary.reviewed_twice} by two "
        f"or more; reviewers: {', '.join(summary.reviewers) or 'none yet'}",
    )
    head.add_row("rubric", ", ".join(item["name"] for item in r.rubric))
    parts: list[Any] = [head, agreement_table(summary)]
    if summary.promotions:
        promo = Table("item", "dataset", "by", title="promoted to regression datasets")
        for p in summary.promotions:
            promo.add_row(p["item_id"], f"{p['dataset']}@{p['dataset_number']}", p["promoted_by"])
        parts.append(promo)
    return Group(*parts)


def item_view(view: dict[str, Any]) -> Group:
    from liveops.core.review.items import ReviewItemRecord

    fields = ReviewItemRecord.__dataclass_fields__
    item = ReviewItemRecord(**{k: v for k, v in view.items() if k in fields})
    parts: list[Any] = [item_panel(item, f"item {item.id} of {view['subject']}")]
    names = [r["name"] for r in view["rubric"]]
    table = Table("reviewer", *names, "note", title="scores")
    for reviewer, entry in view["reviews"].items():
        table.add_row(
            escape(reviewer),
            *[_fmt(entry["scores"].get(n)) for n in names],
            escape(entry.get("note") or ""),
        )
    parts.append(table if view["reviews"] else "[dim]no scores yet[/]")
    for p in view["promotions"]:
        parts.append(f"promoted to {p['dataset']}@{p['dataset_number']} by {p['promoted_by']}")
    return Group(*parts)


def readiness_view(view: Readiness) -> Group:
    counts = view.counts()
    style = _STATUS_STYLE[view.status]
    head = (
        f"[bold]{view.subject}[/]: [{style}]{view.status.upper()}[/] "
        f"({counts['pass']} pass, {counts['fail']} fail, {counts['missing']} missing"
        + (f", {counts['not_applicable']} not applicable" if counts["not_applicable"] else "")
        + ")"
    )
    table = Table(title="launch readiness")
    for name in ("group", "check", "status", "reason"):
        table.add_column(name)
    for c in view.checks:
        table.add_row(
            c.group,
            escape(c.name),
            f"[{_STATUS_STYLE[c.status]}]{c.status.replace('_', ' ')}[/]",
            escape(c.reason),
        )
    return Group(head, table)
