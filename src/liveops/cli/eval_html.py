"""The HTML report of an evaluation run: one self-contained file, charts as inline SVG.

No scripts, no fonts or styles from elsewhere: the file opens offline and can be mailed.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from liveops.errors import InvalidInputError

if TYPE_CHECKING:
    from liveops.core.evaluation.summary import EvalSummary, MetricResult
    from liveops.core.records import EvalRunRecord

_COLORS = {
    "pass": "#1a7f37",
    "fail": "#cf222e",
    "inconclusive": "#bf8700",
    "error": "#8250df",
    "skipped": "#6e7781",
}
_CAND, _BASE = "#0969da", "#8c959f"
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;
max-width:1200px;color:#1f2328;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;
border-bottom:1px solid #d0d7de;
padding-bottom:4px}.sub{color:#59636e;margin-top:0}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}.v{font-weight:600;color:#fff;border-radius:4px;padding:1px 6px}
.grid{display:flex;flex-wrap:wrap;gap:24px}.card{flex:1 1 520px}
td.num{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#59636e}
"""


def write_report(run: EvalRunRecord, path: Path) -> None:
    """Write ``run``'s report to ``path`` (folders are created)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_html(run), encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(
            f"cannot write the report to {path}: {exc.strerror}",
            hint="choose a writable path for --html",
        ) from None


def _f(v: Any, d: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{d}f}"
    return escape(str(v))


def _ci(v: Any) -> str:
    return f"[{v[0]:.3f}, {v[1]:.3f}]" if v else ""


def render_html(run: EvalRunRecord) -> str:
    s = run.summary
    vs = f" vs {escape(s.baseline)}" if s.baseline else ""
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>liveops eval {escape(s.version)}{vs}</title><style>{_CSS}</style></head><body>",
        f"<h1>Evaluation of {escape(s.version)}{vs}</h1>",
        f"<p class=sub>run {escape(run.id)} · {escape(run.created_at.isoformat())} · by "
        f"{escape(run.actor)} · {s.cases} cases from {escape(s.dataset)} · "
        f"{s.errors} model errors · exit code {run.exit_code} · suite "
        f"{escape(s.suite_hash[:12])}</p>",
    ]
    if s.baseline_reason:
        parts.append(f"<p class=muted>Baseline: {escape(s.baseline_reason)}</p>")
    parts += ["<h2>Gates</h2>", _gates(s), "<h2>Metrics</h2>", _metrics(s)]
    parts += [
        "<h2>Accuracy per slice and scenario (95 % intervals)</h2>",
        _scope_bars(s),
        "<div class=grid><div class=card><h2>Confusion matrix</h2>",
        _confusion(s),
        "</div><div class=card><h2>Reliability</h2>",
        _reliability(s),
        "</div></div><div class=grid><div class=card><h2>Latency (single calls)</h2>",
        _latency(s),
        "</div><div class=card><h2>Robustness per perturbation</h2>",
        _robustness(s),
        "</div></div>",
        _probes(s),
        _must_pass(s),
        "<h2>Failures</h2>",
        _failures(s),
        "</body></html>",
    ]
    return "\n".join(parts)


def _gates(s: EvalSummary) -> str:
    rows = [
        "<table><tr><th>verdict</th><th>kind</th><th>gate</th><th>value</th>"
        "<th>95 % interval</th><th>baseline</th><th>why</th></tr>"
    ]
    for g in s.gates:
        color = _COLORS.get(g.verdict, "#000")
        rows.append(
            f"<tr><td><span class=v style='background:{color}'>{escape(g.verdict)}</span></td>"
            f"<td>{escape(g.kind)}</td><td>{escape(g.gate)}</td>"
            f"<td class=num>{_f(g.value)}</td><td>{_ci(g.interval)}</td>"
            f"<td class=num>{_f(g.baseline_value)}</td><td>{escape(g.reason)}</td></tr>"
        )
    return "".join(rows) + "</table>"


def _metrics(s: EvalSummary) -> str:
    rows: dict[str, MetricResult] = {**s.overall, **s.builtins}
    out = [
        "<table><tr><th>metric</th><th>value</th><th>95 % interval</th><th>baseline</th>"
        "<th>difference (95 %)</th></tr>"
    ]
    for name, e in rows.items():
        out.append(
            f"<tr><td>{escape(name)}</td><td class=num>{_f(e.value)}</td>"
            f"<td>{_ci(e.interval)}</td><td class=num>{_f(e.baseline_value)}</td>"
            f"<td>{_ci(e.diff_interval)}</td></tr>"
        )
    out.append("</table>")
    per_class = s.per_class
    if per_class:
        out.append("<table><tr><th>label</th><th>precision</th><th>recall</th><th>F1</th>")
        out.append("<th>support</th></tr>")
        for label, v in per_class.items():
            out.append(
                f"<tr><td>{escape(label)}</td><td class=num>{_f(v.precision)}</td>"
                f"<td class=num>{_f(v.recall)}</td><td class=num>{_f(v.f1)}</td>"
                f"<td class=num>{int(v.support)}</td></tr>"
            )
        out.append("</table>")
    return "".join(out)


def _svg(width: int, height: int, body: list[str]) -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' font-family='system-ui,sans-serif' font-size='12'>"
        + "".join(body)
        + "</svg>"
    )


def _scope_bars(s: EvalSummary) -> str:
    rows = [(k, v["accuracy"]) for k, v in s.metrics.items() if "accuracy" in v]
    if not rows:
        return "<p class=muted>no accuracy metric in this suite</p>"
    has_base = any(e.baseline_value is not None for _, e in rows)
    left, width, bar_h = 270, 960, 14  # the plot ends 60 px early: room for labels
    group_h = bar_h * (2 if has_base else 1) + 14
    height = 40 + group_h * len(rows)
    lo = 0.0  # bars start at zero: a cut axis would make small differences look large

    def x(v: float) -> float:
        return left + (v - lo) / (1.0 - lo) * (width - left - 60)

    body: list[str] = []
    for t in range(int(lo * 10), 11):
        xv = x(t / 10)
        body.append(f"<line x1='{xv:.1f}' y1='20' x2='{xv:.1f}' y2='{height - 10}' stroke='#eee'/>")
        body.append(
            f"<text x='{xv:.1f}' y='14' text-anchor='middle' fill='#59636e'>{t / 10:.1f}</text>"
        )
    y = 28
    for scope, e in rows:
        body.append(
            f"<text x='{left - 8}' y='{y + bar_h - 3}' text-anchor='end'>{escape(scope)} "
            f"(n={e.n})</text>"
        )
        series = [(e.value, e.interval, _CAND)]
        if has_base:
            series.append((e.baseline_value, None, _BASE))
        for val, ci, color in series:
            if val is not None:
                end = max(x(val), x(ci[1]) if ci else 0.0)  # the label clears the whisker
                body.append(
                    f"<rect x='{left}' y='{y}' width='{max(0.0, x(val) - left):.1f}' "
                    f"height='{bar_h}' fill='{color}'/>"
                    f"<text x='{end + 4:.1f}' y='{y + bar_h - 3}' "
                    f"fill='#1f2328'>{val:.3f}</text>"
                )
            if ci:
                a, b = x(ci[0]), x(ci[1])
                mid = y + bar_h / 2
                body.append(
                    f"<line x1='{a:.1f}' y1='{mid}' x2='{b:.1f}' y2='{mid}' stroke='#1f2328' "
                    f"stroke-width='1.5'/><line x1='{a:.1f}' y1='{y + 2}' x2='{a:.1f}' "
                    f"y2='{y + bar_h - 2}' stroke='#1f2328'/><line x1='{b:.1f}' y1='{y + 2}' "
                    f"x2='{b:.1f}' y2='{y + bar_h - 2}' stroke='#1f2328'/>"
                )
            y += bar_h
        y += 14
    legend = (
        f"<p class=muted><span style='color:{_CAND}'>■</span> {escape(s.version)}"
        + (
            f" &nbsp; <span style='color:{_BASE}'>■</span> {escape(s.baseline or '')}"
            if has_base
            else ""
        )
        + " &nbsp; whiskers: 95 % bootstrap interval of the candidate</p>"
    )
    return _svg(width, height, body) + legend


def _confusion(s: EvalSummary) -> str:
    conf = s.confusion
    if not conf.matrix:
        return ""
    labels = conf.labels
    matrix = conf.matrix
    cols = conf.columns if any(r[-1] for r in matrix) else labels
    cell, left, top = 64, 110, 90
    size_w = left + cell * len(cols) + 50  # room for the last rotated column label
    size_h = top + cell * len(labels) + 30
    peak = max(max(r[: len(cols)]) for r in matrix) or 1
    body = [
        f"<text x='{left + cell * len(cols) / 2}' y='14' text-anchor='middle' "
        "fill='#59636e'>predicted</text>"
    ]
    for j, lab in enumerate(cols):
        body.append(
            f"<text transform='translate({left + j * cell + cell / 2},{top - 8}) rotate(-35)' "
            f">{escape(lab)}</text>"
        )
    for i, lab in enumerate(labels):
        yy = top + i * cell
        body.append(
            f"<text x='{left - 8}' y='{yy + cell / 2 + 4}' text-anchor='end'>{escape(lab)}</text>"
        )
        for j in range(len(cols)):
            v = matrix[i][j]
            shade = v / peak
            fill = f"rgba(9,105,218,{0.08 + 0.85 * shade:.2f})" if v else "#fafbfc"
            text_color = "#fff" if shade > 0.5 else "#1f2328"
            border = "#1f2328" if i == j else "#d0d7de"
            body.append(
                f"<rect x='{left + j * cell}' y='{yy}' width='{cell}' height='{cell}' "
                f"fill='{fill}' "
                f"stroke='{border}'/><text x='{left + j * cell + cell / 2}' "
                f"y='{yy + cell / 2 + 4}' "
                f"text-anchor='middle' fill='{text_color}'>{v}</text>"
            )
    body.append(
        f"<text x='12' y='{top + cell * len(labels) / 2}' fill='#59636e' "
        f"transform='rotate(-90 12 {top + cell * len(labels) / 2})' "
        "text-anchor='middle'>expected</text>"
    )
    return _svg(size_w, size_h, body)


def _reliability(s: EvalSummary) -> str:
    bins = s.reliability
    if not any(b.count for b in bins):
        return "<p class=muted>the model gives no scores</p>"
    w, h, left, bottom = 440, 320, 50, 40
    pw, ph = w - left - 20, h - bottom - 20

    def px(v: float) -> float:
        return left + v * pw

    def py(v: float) -> float:
        return 20 + (1 - v) * ph

    body = [
        f"<rect x='{left}' y='20' width='{pw}' height='{ph}' fill='none' stroke='#d0d7de'/>",
        f"<line x1='{px(0)}' y1='{py(0)}' x2='{px(1)}' y2='{py(1)}' stroke='#8c959f' "
        "stroke-dasharray='4 3'/>",
    ]
    for b in bins:
        if not b.count:
            continue
        x0, x1 = px(b.low) + 2, px(b.high) - 2
        body.append(
            f"<rect x='{x0:.1f}' y='{py(b.accuracy):.1f}' width='{x1 - x0:.1f}' "
            f"height='{py(0) - py(b.accuracy):.1f}' fill='{_CAND}' opacity='0.75'>"
            f"<title>{b.count} cases, accuracy {b.accuracy:.3f}, confidence "
            f"{b.confidence:.3f}</title></rect>"
            f"<circle cx='{px(b.confidence):.1f}' cy='{py(b.accuracy):.1f}' r='3' "
            "fill='#cf222e'/>"
            f"<text x='{(x0 + x1) / 2:.1f}' y='{py(0) - 4:.1f}' text-anchor='middle' "
            f"font-size='9' fill='#fff'>{b.count}</text>"
        )
    for t in range(0, 11, 2):
        body.append(
            f"<text x='{px(t / 10):.1f}' y='{h - bottom + 16}' "
            f"text-anchor='middle'>{t / 10:.1f}</text>"
            f"<text x='{left - 6}' y='{py(t / 10) + 4:.1f}' text-anchor='end'>{t / 10:.1f}</text>"
        )
    body.append(f"<text x='{left + pw / 2}' y='{h - 6}' text-anchor='middle'>confidence</text>")
    ece_result = s.overall.get("ece")
    ece = ece_result.value if ece_result else None
    note = f"ECE {ece:.3f}; " if ece is not None else ""
    return _svg(w, h, body) + (
        f"<p class=muted>{note}bars: accuracy per confidence bin (count inside); "
        "dots: mean confidence; dashed: perfect calibration</p>"
    )


def _latency(s: EvalSummary) -> str:
    lat = s.latency_ms or ()
    if not lat:
        return "<p class=muted>not measured</p>"
    import numpy as np

    values = np.asarray(lat, dtype=float)
    hi = float(np.percentile(values, 99.5)) or 1.0
    counts, edges = np.histogram(np.clip(values, 0, hi), bins=30, range=(0, hi))
    w, h, left, bottom = 440, 260, 40, 40
    pw, ph = w - left - 20, h - bottom - 20
    peak = int(counts.max()) or 1
    body = [f"<line x1='{left}' y1='{20 + ph}' x2='{left + pw}' y2='{20 + ph}' stroke='#8c959f'/>"]
    bw = pw / len(counts)
    for i, c in enumerate(counts.tolist()):
        bh = c / peak * ph
        body.append(
            f"<rect x='{left + i * bw + 1:.1f}' y='{20 + ph - bh:.1f}' width='{bw - 2:.1f}' "
            f"height='{bh:.1f}' fill='{_CAND}'><title>{c} calls</title></rect>"
        )
    for q, color in ((50, "#1a7f37"), (95, "#bf8700"), (99, "#cf222e")):
        v = float(np.percentile(values, q))
        xv = left + min(v, hi) / hi * pw
        body.append(
            f"<line x1='{xv:.1f}' y1='20' x2='{xv:.1f}' y2='{20 + ph}' stroke='{color}' "
            f"stroke-dasharray='3 2'/><text x='{xv + 3:.1f}' y='{30 + {50: 0, 95: 14, 99: 28}[q]}' "
            f"fill='{color}'>p{q} {v:.2f} ms</text>"
        )
    for t in range(0, 5):
        v = hi * t / 4
        body.append(
            f"<text x='{left + pw * t / 4:.1f}' y='{h - bottom + 16}' "
            f"text-anchor='middle'>{v:.1f}</text>"
        )
    body.append(f"<text x='{left + pw / 2}' y='{h - 6}' text-anchor='middle'>milliseconds</text>")
    del edges
    return _svg(w, h, body) + f"<p class=muted>{len(values)} single-record calls</p>"


def _robustness(s: EvalSummary) -> str:
    rob = s.robustness
    if rob is None:
        return "<p class=muted>no perturbations in this suite</p>"
    fams = rob.families
    skipped = "".join(
        f"<p class=muted>{escape(f)}: not applicable ({escape(why)}); not counted in the "
        "overall values</p>"
        for f, why in rob.not_applicable.items()
    )
    if not fams:
        return "<p class=muted>no perturbation family applies to this model</p>" + skipped
    w, left, row = 440, 120, 22
    h = 30 + row * len(fams)
    pw = w - left - 110
    body = []
    for i, (fam, v) in enumerate(fams.items()):
        y = 20 + i * row
        body.append(
            f"<text x='{left - 6}' y='{y + 12}' text-anchor='end'>{escape(fam)}</text>"
            f"<rect x='{left}' y='{y}' width='{v.invariance * pw:.1f}' height='8' "
            f"fill='{_CAND}'/>"
            f"<rect x='{left}' y='{y + 9}' width='{v.accuracy * pw:.1f}' height='8' "
            f"fill='{_BASE}'/><text x='{left + v.invariance * pw + 4:.1f}' y='{y + 9}' "
            f"font-size='10'>{v.invariance:.3f} / {v.accuracy:.3f}</text>"
        )
    return _svg(w, h, body) + (
        f"<p class=muted><span style='color:{_CAND}'>■</span> invariance (label unchanged) "
        f"<span style='color:{_BASE}'>■</span> accuracy under perturbation · overall "
        f"{_f(rob.invariance)} / {_f(rob.accuracy)} · "
        f"{rob.predictions} perturbed predictions</p>" + skipped
    )


def _probes(s: EvalSummary) -> str:
    probes = s.probes
    if not probes:
        return ""
    rows = ["<h2>Probes</h2><table><tr><th>holds</th><th>probe</th><th>expected</th>"]
    rows.append("<th>label</th><th>decision</th></tr>")
    for p in probes:
        color = _COLORS["pass" if p.holds else "fail"]
        rows.append(
            f"<tr><td><span class=v style='background:{color}'>{'yes' if p.holds else 'no'}"
            f"</span></td><td>{escape(p.name)}</td><td>{escape(p.expected)}</td>"
            f"<td>{escape(str(p.label))}</td><td>{escape(str(p.decision))}</td></tr>"
        )
    return "".join(rows) + "</table>"


def _must_pass(s: EvalSummary) -> str:
    mp = s.must_pass
    if mp is None:
        return ""
    out = [f"<h2>Must-pass: {mp.held} of {mp.cases} held</h2>"]
    if mp.failed:
        out.append(
            "<table><tr><th>case</th><th>expected</th><th>got</th><th>decision</th>"
            "<th>confidence</th><th>text</th></tr>"
        )
        for f in mp.failed:
            out.append(
                f"<tr><td>{escape(f.case)}</td><td>{escape(f.expected)}</td>"
                f"<td>{escape(str(f.predicted))}</td><td>{escape(str(f.decision))}</td>"
                f"<td class=num>{_f(f.confidence, 2)}</td><td>{escape(f.text)}</td></tr>"
            )
        out.append("</table>")
    return "".join(out)


def _failures(s: EvalSummary) -> str:
    fail = s.failures
    out = ["<table><tr><th>expected → predicted</th><th>count</th><th>examples</th></tr>"]
    for pair in fail.by_pair[:12]:
        ex = "<br>".join(
            f"<span class=muted>{escape(e.case)} ({_f(e.confidence, 2)})</span> "
            f"{escape(e.text[:160])}"
            for e in pair.examples
        )
        out.append(
            f"<tr><td>{escape(pair.expected)} → {escape(pair.predicted)}</td>"
            f"<td class=num>{pair.count}</td><td>{ex}</td></tr>"
        )
    out.append("</table>")
    for kind in ("slice", "scenario"):
        groups = fail.slice if kind == "slice" else fail.scenario
        if not groups:
            continue
        out.append(
            f"<table><tr><th>{kind}</th><th>failures</th><th>rate</th><th>examples</th></tr>"
        )
        for g in groups:
            ex = "<br>".join(escape(e.text[:140]) for e in g.examples)
            out.append(
                f"<tr><td>{escape(g.name)}</td><td class=num>{g.count} / {g.cases}</td>"
                f"<td class=num>{_f(g.rate)}</td><td>{ex}</td></tr>"
            )
        out.append("</table>")
    return "".join(out)
