"""`themekit report --html`: the report as one self-contained HTML file.

Inline CSS and inline SVG charts drawn here; no scripts, fonts or images from anywhere,
so the file opens offline and can be archived with a study. Every piece of text that came
from data (comments, ids, review reasons, model card values) goes through `esc`.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from themekit.codebook import Codebook
from themekit.io.records import AtomicWriter
from themekit.model.card import read_card
from themekit.analysis.report import (PlainTable, Report, clean_text, code_name, coded_by_lines,
                             report_tables)
from themekit.analysis.stats import CorrectedShare, Share, percent, percent_range, share

PALETTE = ("#3b6ea5", "#d1773c", "#4f9a6b", "#a8508f", "#8c7b3e", "#5a5a5a")
CORRECTED = "#c0392b"
LABEL_W = 200
PLOT_W = 660


class Bar(NamedTuple):
    """One bar of a chart: a share, its interval, colour and hover text."""

    value: float
    low: float
    high: float
    colour: str
    title: str
    label: str = ""

CSS = """
:root { --ink: #1d2330; --muted: #5b6475; --line: #d9dde5; --band: #f4f6f9; --accent: #3b6ea5; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--ink); background: #fff; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
h2 { font-size: 1.25rem; margin: 40px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 1.05rem; margin: 24px 0 8px; }
p.meta, .caption, .note { color: var(--muted); font-size: .9rem; }
p.warning { border-left: 4px solid #d1773c; padding: .3rem .6rem; background: #fdf3ea; }
nav { font-size: .9rem; margin: 12px 0 0; }
nav a { margin-right: 14px; color: var(--accent); text-decoration: none; }
.scroll { overflow-x: auto; margin: 8px 0 4px; }
table { border-collapse: collapse; font-size: .88rem; min-width: 50%; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); vertical-align: top; text-align: left; }
th { background: var(--band); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td { overflow-wrap: break-word; }
td code { white-space: nowrap; }
svg { display: block; max-width: 100%; height: auto; margin: 6px 0; }
svg text { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; fill: var(--ink); }
svg .tick { fill: var(--muted); font-size: 11px; }
.legend span { display: inline-block; margin-right: 16px; font-size: .88rem; }
.legend i { display: inline-block; width: 12px; height: 12px; margin-right: 5px; vertical-align: -1px; }
blockquote { margin: 6px 0; padding: 6px 12px; border-left: 3px solid var(--line); background: var(--band);
             overflow-wrap: anywhere; }
blockquote cite { display: block; color: var(--muted); font-size: .8rem; font-style: normal; }
.code-card { margin: 14px 0 18px; }
.code-card h3 { margin-bottom: 2px; }
.code-card p { margin: 2px 0 6px; color: var(--muted); font-size: .9rem; }
dl.card { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; font-size: .9rem; }
dl.card dt { font-weight: 600; }
dl.card dd { margin: 0; overflow-wrap: anywhere; }
dl.card dl.card { margin: 0; }
"""


def esc(value: Any) -> str:
    """HTML-escaped text (quotes included) with lone surrogates and controls replaced."""
    return html.escape(clean_text(str(value)), quote=True)


def render_html(report: Report, model_card: dict[str, Any] | None = None) -> str:
    """The whole report as an HTML document (a string)."""
    book = report.codebook
    sections: list[tuple[str, str, str]] = [
        ("prevalence", "Prevalence", _prevalence_section(report)),
    ]
    if report.by:
        sections.append(("groups", f"By {report.by}", _groups_section(report)))
    if report.pairs:
        sections.append(("cooccurrence", "Co-occurrence", _cooccurrence_section(report)))
    sections += [
        ("flags", "Flags", _flags_section(report)),
        ("tables", "All tables", "".join(_table_html(t) for t in report_tables(report)
                                         if t.title != "Exemplar quotes")),
        ("quotes", "Exemplar quotes", _quotes_section(report)),
        ("codebook", "Codebook", _codebook_section(book)),
    ]
    if model_card is not None:
        sections.append(("model", "Model card", _card_html(model_card)))
    nav = "".join(f'<a href="#{key}">{esc(title)}</a>' for key, title, _ in sections)
    body = "".join(f'<section id="{key}"><h2>{esc(title)}</h2>{content}</section>'
                   for key, title, content in sections)
    calibrated = (f" Shares corrected for classifier error with {esc(report.calibration)}."
                  if report.calibration else "")
    coded_by = "".join(f'<p class="meta">Coded by {esc(line)}</p>'
                       for line in coded_by_lines(report))
    coded_by += "".join(f'<p class="warning"><b>Warning:</b> {esc(w)}</p>'
                        for w in report.warnings)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>themekit report: {esc(Path(report.source).name)}</title>"
        f"<style>{CSS}</style></head><body><main>"
        f"<h1>Coding report</h1><p class=\"meta\">{esc(report.source)} · codebook "
        f"<b>{esc(book.ref)}</b> · <b>{report.n:,}</b> comments · 95% Wilson intervals."
        f"{calibrated}</p>{coded_by}<nav>{nav}</nav>{body}</main></body></html>\n"
    )


def write_html(report: Report, path: str, model_card: str | Path | None = None) -> None:
    """Write the HTML report atomically; `model_card` is a JSON file shown at the end."""
    card = read_card(model_card) if model_card else None
    with AtomicWriter(path) as writer:
        writer.stream.write(render_html(report, card))


# --- sections ----------------------------------------------------------------------------


def _prevalence_section(report: Report) -> str:
    book = report.codebook
    legend = [("share with 95% Wilson interval", PALETTE[0])]
    if report.corrected:
        legend.append(("corrected for classifier error, 95% bootstrap interval", CORRECTED))
    parts = [_legend(legend)]
    for tier in book.tiers:
        series = [[_share_bar(c, report.share(c), PALETTE[0]) for c in tier.codes]]
        if report.corrected:
            series.append([_corrected_bar(c, report.corrected.get(c)) for c in tier.codes])
        parts.append(f"<h3>{esc(tier.label)}</h3>")
        parts.append(_bar_chart([code_name(book, c) for c in tier.codes], series))
    if report.corrected:
        parts.append(f'<p class="caption">Sensitivity and specificity from '
                     f"{esc(report.calibration)}; a missing red bar means the correction is "
                     "undefined for that code (see the table of corrected shares).</p>")
    return "".join(parts)


def _share_bar(label: str, s: Share, colour: str) -> Bar | None:
    """None (no bar) for an empty group, which has no share."""
    if s.share is None:
        return None
    return Bar(s.share, s.low, s.high, colour,
               f"{label}: {s.count:,} of {s.n:,} ({percent(s.share)}, 95% CI "
               f"{percent_range(s.low, s.high)})")


def _corrected_bar(label: str, c: CorrectedShare | None) -> Bar | None:
    if c is None or c.corrected is None or c.low is None or c.high is None:
        return None
    return Bar(c.corrected, c.low, c.high, CORRECTED,
               f"{label}: corrected {percent(c.corrected)} (raw {percent(c.raw)}), 95% CI "
               f"{percent_range(c.low, c.high)}")


def _groups_section(report: Report) -> str:
    book = report.codebook
    groups = report.group_names()
    colours = {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(groups)}
    parts = [_legend([(f"{g} (n={report.groups[g]:,})", colours[g]) for g in groups])]
    for tier in book.tiers:
        if tier.id == report.by:
            continue
        series = [[_share_bar(f"{c} | {g}", report.group_share(g, c), colours[g])
                   for c in tier.codes] for g in groups]
        parts.append(f"<h3>{esc(tier.label)} by {esc(report.by)}</h3>")
        parts.append(_bar_chart([code_name(book, c) for c in tier.codes], series))
    parts.append('<p class="caption">Share of each group\'s comments, with 95% Wilson '
                 "intervals.</p>")
    return "".join(parts)


def _cooccurrence_section(report: Report) -> str:
    book = report.codebook
    parts = []
    for tier_id, counts in report.pairs.items():
        leaves = [c.id for c in book.leaf_codes(tier_id)]
        parts.append(f"<h3>{esc(book.tier(tier_id).label)}</h3>")
        parts.append(_heatmap(leaves, counts, {c: report.codes[c] for c in leaves}))
    parts.append('<p class="caption">Comments coded with both codes; the diagonal (grey) is '
                 "each code's own count.</p>")
    return "".join(parts)


def _flags_section(report: Report) -> str:
    """Privacy-risk flags as bars labelled with their counts (most are rare)."""
    bars = []
    for flag in report.flag_ids():
        s = share(report.flags[flag], report.n)
        bar = _share_bar(flag, s, PALETTE[1])
        bars.append(bar and bar._replace(label=f"{s.count:,} ({percent(s.share)})"))
    return _bar_chart(report.flag_ids(), [bars]) + (
        '<p class="caption">Comments with each flag, with 95% Wilson intervals; review '
        "reasons are listed under All tables.</p>")


def _quotes_section(report: Report) -> str:
    book = report.codebook
    parts = ['<p class="caption">Up to three per code: highest score first, then shorter '
             "texts; cut to 160 characters.</p>"]
    for tier in book.tiers:
        parts.append(f"<h3>{esc(tier.label)}</h3>")
        for code in tier.codes:
            quotes = report.exemplars.get(code, [])
            items = "".join(
                f"<blockquote>{esc(e.text)}<cite>{esc(e.id)} · score {e.score:.2f}</cite>"
                "</blockquote>" for e in quotes) or '<p class="note">No comment has this code.</p>'
            parts.append(f'<div class="code-card"><b>{esc(code)}</b> '
                         f'<span class="note">({_comments(report.codes[code])})</span>'
                         f"<p>{esc(book.codes[code].definition)}</p>{items}</div>")
    return "".join(parts)


def _codebook_section(book: Codebook) -> str:
    parts = [f"<p>{esc(book.ref)}: {esc(book.description)}</p>"]
    for tier in book.tiers:
        rule = "exactly one code" if tier.kind == "exclusive" else "zero or more codes"
        default = f", default <code>{esc(tier.default)}</code>" if tier.default else ""
        rows = "".join(
            f"<tr><td><code>{esc(code_name(book, c))}</code></td><td>{esc(book.codes[c].label)}"
            f"</td><td>{esc(book.codes[c].definition)}</td></tr>" for c in tier.codes)
        parts.append(f"<h3>{esc(tier.label)} <span class=\"note\">({rule}{default})</span></h3>"
                     f"<div class=\"scroll\"><table><tr><th>code</th><th>label</th>"
                     f"<th>definition</th></tr>{rows}</table></div>")
    return "".join(parts)


def _card_html(value: Any) -> str:
    """A JSON value as nested definition lists and lists, every scalar escaped."""
    if isinstance(value, dict):
        if not value:
            return "<span class=\"note\">(empty)</span>"
        return '<dl class="card">' + "".join(
            f"<dt>{esc(k)}</dt><dd>{_card_html(v)}</dd>" for k, v in value.items()) + "</dl>"
    if isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            return esc(", ".join(json.dumps(v, ensure_ascii=False) if not isinstance(v, str)
                                 else v for v in value))
        return "<ol>" + "".join(f"<li>{_card_html(v)}</li>" for v in value) + "</ol>"
    if isinstance(value, float):
        return esc(f"{value:.4g}")
    return esc(value if isinstance(value, str) else json.dumps(value))


def _table_html(table: PlainTable) -> str:
    head = "".join(f'<th class="{"num" if n else ""}">{esc(c)}</th>'
                   for c, n in zip(table.columns, table.numeric))
    rows = "".join("<tr>" + "".join(f'<td class="{"num" if n else ""}">{esc(cell)}</td>'
                                     for cell, n in zip(row, table.numeric)) + "</tr>"
                   for row in table.rows)
    caption = f'<p class="caption">{esc(table.caption)}</p>' if table.caption else ""
    return (f"<h3>{esc(table.title)}</h3><div class=\"scroll\"><table><tr>{head}</tr>{rows}"
            f"</table></div>{caption}")


# --- charts (inline SVG) -----------------------------------------------------------------


def _legend(items: Iterable[tuple[str, str]]) -> str:
    return '<p class="legend">' + "".join(
        f'<span><i style="background:{colour}"></i>{esc(label)}</span>'
        for label, colour in items) + "</p>"


def _axis_max(highest: float) -> tuple[float, float]:
    """A round upper end for the axis (at most 100%) and its tick step."""
    for step in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25):
        top = math.ceil(max(highest, 1e-9) / step - 1e-9) * step
        if top / step <= 5:
            return min(top, 1.0), step
    return 1.0, 0.25


def _bar_chart(labels: Sequence[str], series: Sequence[Sequence[Bar | None]]) -> str:
    """Horizontal bars, one group per label with one bar per series, each bar with its
    interval as a whisker; a series with one bar per label also prints the value."""
    bars = [b for row in series for b in row if b is not None]
    top, step = _axis_max(max([b.high for b in bars] + [0.01]))
    bar_h = 16 if len(series) == 1 else 11
    block = bar_h * len(series)
    group_h = block + 8
    height = 30 + group_h * len(labels)
    width = LABEL_W + PLOT_W + 70

    def x(v: float) -> float:
        return LABEL_W + PLOT_W * min(v, top) / top

    out = [f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">']
    for i in range(round(top / step) + 1):
        tx = x(i * step)
        out.append(f'<line x1="{tx:.1f}" y1="2" x2="{tx:.1f}" y2="{height - 22}" '
                   'stroke="#e3e6ec"/>')
        out.append(f'<text class="tick" x="{tx:.1f}" y="{height - 8}" text-anchor="middle">'
                   f"{round(i * step * 100)}%</text>")
    for r, label in enumerate(labels):
        y0 = 4 + r * group_h
        out.append(f'<text x="{LABEL_W - 8}" y="{y0 + block / 2:.1f}" text-anchor="end" '
                   f'dominant-baseline="central">{esc(_shorten(label, 28))}</text>')
        for k, row in enumerate(series):
            bar = row[r]
            if bar is None:
                continue
            y = y0 + k * bar_h
            mid = y + (bar_h - 2) / 2
            out.append(f'<rect x="{LABEL_W}" y="{y}" width="{x(bar.value) - LABEL_W:.1f}" '
                       f'height="{bar_h - 2}" fill="{bar.colour}" fill-opacity="0.85">'
                       f"<title>{esc(bar.title)}</title></rect>")
            out.append(f'<path d="M{x(bar.low):.1f} {mid - 4:.1f} v8 M{x(bar.low):.1f} {mid:.1f} '
                       f'H{x(bar.high):.1f} M{x(bar.high):.1f} {mid - 4:.1f} v8" '
                       'stroke="#1d2330" stroke-width="1.3" fill="none"/>')
            if len(series) == 1:
                out.append(f'<text class="tick" x="{x(bar.high) + 6:.1f}" y="{mid:.1f}" '
                           f'dominant-baseline="central">{esc(bar.label or percent(bar.value))}'
                           "</text>")
    out.append("</svg>")
    return "".join(out)


def _heatmap(codes: Sequence[str], counts: dict[tuple[str, str], int],
             totals: dict[str, int]) -> str:
    """A symmetric code-by-code matrix; off-diagonal cells shaded by count."""
    cell = 58
    left, top, right = 170, 120, 130
    size = cell * len(codes)
    peak = max([counts.get(p, 0) for p in counts] + [1])
    width, height = left + size + right, top + size + 4
    out = [f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">']
    for i, code in enumerate(codes):
        cx = left + i * cell + cell / 2
        out.append(f'<text x="{cx:.1f}" y="{top - 8}" transform="rotate(-40 {cx:.1f} {top - 8})">'
                   f"{esc(_shorten(code, 20))}</text>")
        out.append(f'<text x="{left - 8}" y="{top + i * cell + cell / 2:.1f}" text-anchor="end" '
                   f'dominant-baseline="middle">{esc(_shorten(code, 22))}</text>')
    for i, a in enumerate(codes):
        for j, b in enumerate(codes):
            value = totals[a] if i == j else counts.get((a, b), counts.get((b, a), 0))
            if i == j:
                fill, ink = "#e6e8ee", "#5b6475"
            else:
                level = value / peak
                fill = f"rgba(59,110,165,{0.08 + 0.85 * level:.2f})"
                ink = "#fff" if level > 0.55 else "#1d2330"
            x0, y0 = left + j * cell, top + i * cell
            out.append(f'<rect x="{x0}" y="{y0}" width="{cell - 2}" height="{cell - 2}" '
                       f'fill="{fill}"><title>{esc(a)} + {esc(b)}: {value:,}</title></rect>')
            out.append(f'<text x="{x0 + cell / 2 - 1:.1f}" y="{y0 + cell / 2:.1f}" '
                       f'text-anchor="middle" dominant-baseline="middle" style="fill:{ink}">'
                       f"{value:,}</text>")
    out.append("</svg>")
    return "".join(out)


def _comments(count: int) -> str:
    return f"{count:,} comment" + ("" if count == 1 else "s")


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
