"""The HTML report of a drift check: one self-contained file, distributions as inline SVG.

Data quality first (pipeline problems, then world changes, then notes), then one card per
column, largest effect first: the reference and current distributions overlaid (the result's
histogram pair, as shares), the statistic, its threshold and the verdict. No scripts, fonts or
styles from elsewhere: the file opens offline and can be mailed.
"""

from __future__ import annotations

import math
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from liveops.core.exits import exit_code
from liveops.errors import InvalidInputError

if TYPE_CHECKING:
    from liveops.core.drift.check import DriftCheck
    from liveops.core.drift.result import ColumnDrift, Histogram

_REF, _CUR = "#8c959f", "#0969da"
_LABELS = {"pipeline": "#cf222e", "world": "#bf8700", "note": "#6e7781"}
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;
max-width:1200px;color:#1f2328;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;
border-bottom:1px solid #d0d7de;padding-bottom:4px}h3{font-size:15px;margin:0 0 4px}
.sub{color:#59636e;margin-top:0}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}.v{font-weight:600;color:#fff;border-radius:4px;padding:1px 6px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:20px}
.card{border:1px solid #d0d7de;border-radius:6px;padding:12px}.muted{color:#59636e;font-size:13px}
.stat{font-size:13px;margin:2px 0 6px}
"""


def write_report(check: DriftCheck, path: Path) -> None:
    """Write ``check``'s report to ``path`` (folders are created)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_html(check), encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(
            f"cannot write the report to {path}: {exc.strerror}",
            hint="choose a writable path for --html",
        ) from None


def _badge(text: str, color: str) -> str:
    return f"<span class=v style='background:{color}'>{escape(text)}</span>"


def render_html(check: DriftCheck) -> str:
    ref, cur, report = check.reference, check.current, check.drift
    verdict = check.verdict
    color = "#cf222e" if verdict == "fail" else "#1a7f37"
    drifted = len(report.drifted)
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>liveops drift: {escape(cur.source)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Drift of {escape(cur.source)} against {escape(ref.source)}</h1>",
        f"<p class=sub>{_badge(verdict, color)} · current {cur.rows:,} rows · reference "
        f"{ref.rows:,} rows · {len(report.columns)} columns compared · {drifted} drifted · "
        f"{_plural(len(check.pipeline_problems), 'pipeline problem')} · exit code "
        f"{exit_code([verdict])}</p>",
        "<h2>Data quality</h2>",
        "<p class=muted><b>pipeline</b>: the data arrives broken (missing or retyped column, "
        "one value on every row, all missing, a missing share that more than doubles and rises "
        "over 5 points). <b>world</b>: the values' distribution moved. <b>note</b>: worth "
        "knowing, neither.</p>",
        _quality(check),
        "<h2>Columns, largest effect first</h2>",
        f"<p class=muted>{_legend()} Bars are shares of each side's present values in the "
        "same bins (numbers: the reference's deciles, the outer bins open-ended; categories: "
        "the reference's most common values and <i>other</i>).</p>",
        "<div class=grid>",
    ]
    parts += [_card(c) for c in report.by_effect()]
    parts.append("</div></body></html>")
    return "\n".join(parts)


def _plural(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _legend() -> str:
    return (
        f"<svg width=180 height=14 role=img aria-label=legend><rect width=12 height=12 "
        f"fill='{_REF}' opacity=.6></rect><text x=16 y=11 font-size=12>reference</text>"
        f"<rect x=90 width=12 height=12 fill='{_CUR}' opacity=.55></rect>"
        f"<text x=106 y=11 font-size=12>current</text></svg>"
    )


def _quality(check: DriftCheck) -> str:
    if not check.findings:
        return "<p>No data-quality finding.</p>"
    rows = [
        f"<tr><td>{escape(f.column)}</td><td>{_badge(f.label, _LABELS[f.label])}</td>"
        f"<td>{escape(f.check)}</td><td>{escape(f.message)}</td></tr>"
        for f in check.findings
    ]
    head = "<tr><th>column</th><th>label</th><th>check</th><th>finding</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _num(v: float | None) -> str:
    if v is None or v != v:
        return "–"
    return f"{v:.3g}" if v != 0 and abs(v) < 0.001 else f"{v:.3f}"


def _card(c: ColumnDrift) -> str:
    if c.drifted is None:
        verdict = _badge("not judged", "#6e7781")
    else:
        verdict = _badge("drifted", "#cf222e") if c.drifted else _badge("ok", "#1a7f37")
    method = "length, wasserstein" if c.kind == "text" else c.method
    p = c.p_adjusted if c.p_adjusted is not None else c.p_value
    if c.is_test:
        stat = f"{method} statistic {_num(c.statistic)}, p = {_num(p)} (threshold {c.threshold:g})"
    else:
        stat = f"{method} {_num(c.statistic)} (threshold {_num(c.threshold)})"
    sizes = (
        f"{c.reference_size:,} vs {c.current_size:,} values present; missing "
        f"{c.reference_missing:,} vs {c.current_missing:,}"
    )
    out = [
        f"<div class=card><h3>{escape(c.column)} <span class=muted>({c.kind})</span> "
        f"{verdict}</h3><p class=stat>{escape(stat)}</p><p class=muted>{sizes}</p>"
    ]
    if c.histogram is not None:
        out.append(_histogram_svg(c.histogram, c.kind))
    if c.text is not None:
        t = c.text
        out.append(
            f"<p class=stat>out-of-reference vocabulary {t.oov_rate:.1%} (sampling alone: "
            f"{t.oov_expected:.1%}){' — drifted' if t.oov_drifted else ''}</p>"
        )
        if t.new_terms:
            terms = "".join(
                f"<tr><td>{escape(n.term)}</td><td>{n.current_count:,}</td>"
                f"<td>{n.reference_count:,}</td><td>{n.ratio:.1f}×</td></tr>"
                for n in t.new_terms[:10]
            )
            out.append(
                "<table><tr><th>new frequent term</th><th>now</th><th>reference</th>"
                f"<th>per token</th></tr>{terms}</table>"
            )
    if c.note:
        out.append(f"<p class=muted>{escape(c.note)}</p>")
    out.append("</div>")
    return "".join(out)


def _tick(v: float) -> str:
    """A short tick label: 29.4k rather than 2.94e+04."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= 10 * scale:
            return f"{v / scale:.3g}{suffix}"
    return f"{v:.3g}"


def _histogram_svg(h: Histogram, kind: str) -> str:
    """The two sides' shares per bin, overlaid: the reference grey, the current blue."""
    n = len(h.reference)
    if n == 0:
        return ""
    ref_total, cur_total = max(sum(h.reference), 1), max(sum(h.current), 1)
    ref = [r / ref_total for r in h.reference]
    cur = [c / cur_total for c in h.current]
    top = max(max(ref), max(cur), 1e-9)
    left, right, plot_h, base = 40, 10, 150, 162
    width = 520  # one scale for every card: many categories get thinner bars, not small text
    step = (width - left - right) / n
    bar = max(step * 0.8, 1.0)
    parts = [
        f"<svg viewBox='0 0 {width} {240 if h.labels is not None else 205}' width='100%' role=img "
        f"aria-label='reference and current distributions'>",
        f"<line x1={left} y1={base} x2={width - right} y2={base} stroke='#d0d7de'/>",
        f"<text x={left - 4} y=16 font-size=10 text-anchor=end>{top:.0%}</text>",
        f"<text x={left - 4} y={base} font-size=10 text-anchor=end>0</text>",
    ]
    for i in range(n):
        x = left + i * step + (step - bar) / 2
        for share, color, opacity in ((ref[i], _REF, 0.6), (cur[i], _CUR, 0.55)):
            height = plot_h * share / top
            parts.append(
                f"<rect x={x:.1f} y={base - height:.1f} width={bar:.1f} height={height:.1f} "
                f"fill='{color}' opacity={opacity}><title>{share:.1%}</title></rect>"
            )
    if h.labels is not None:
        # Labels at least 12 px apart; the last one (``other`` when grouped) always shown.
        every = max(1, math.ceil(12 / step))
        for i, label in enumerate(h.labels):
            if i % every and i != n - 1:
                continue
            x = left + (i + 0.5) * step
            shown = escape(label if len(label) <= 14 else label[:13] + "…")
            parts.append(
                f"<text x={x:.1f} y={base + 12} font-size=10 text-anchor=end "
                f"transform='rotate(-40 {x:.1f} {base + 12})'>{shown}</text>"
            )
    elif h.edges is not None:
        # Bins are the reference's deciles, drawn equally wide: the edges are the ticks.
        every = max(1, (n + 1) // 12)
        for i, e in enumerate(h.edges):
            if i % every and i != n:
                continue
            x = left + i * step
            parts.append(
                f"<text x={x:.1f} y={base + 14} font-size=10 text-anchor=middle>{_tick(e)}</text>"
            )
        unit = "length in characters" if kind == "text" else "bin edges (reference deciles)"
        parts.append(
            f"<text x={(left + width) / 2:.0f} y={base + 32} font-size=11 "
            f"text-anchor=middle fill='#59636e'>{unit}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
