"""The wall poster (挂图): every row of a ranked table on one landscape page, A3, A1 or A0, with a
completion bar per row and a vertical line at time progress across every bar.

Plain data in, PDF bytes out (WeasyPrint); knows no domain. Legible from two metres: the renderer
lays the groups out in as many columns as give the largest type (:func:`layout`), so 67 villages on
A1 come out at about 20 pt and 400 still fit one page in smaller type. Every size is the same design
scaled by the page's width (A3 is half of A1, A0 1.41 times).

Colour never carries meaning alone: each band has a symbol and a word (printed in the band column),
and the bars differ in grey too (green solid dark, yellow solid light, red hatched)."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .cells import format_cell, is_numeric
from .weasy import esc, html_to_pdf
from .xlsx import Column

__all__ = ["Column", "Layout", "Poster", "PosterGroup", "PosterRow", "layout", "to_poster_pdf"]


@dataclass(frozen=True)
class PosterRow:
    cells: Sequence[Any]  # one per column (Column kinds as in xlsx)
    bar: float  # completion ratio for the bar (may exceed 1; drawn up to BAR_MAX)
    band: str  # "green" | "yellow" | "red"
    band_text: str  # e.g. "● 领先": symbol + word
    strong: bool = False  # a subtotal row (bold, shaded)


@dataclass(frozen=True)
class PosterGroup:
    title: str
    rows: Sequence[PosterRow]


@dataclass(frozen=True)
class Poster:
    title: str
    subtitle: str
    columns: Sequence[Column]  # the cells' columns; the bar and band columns are added here
    groups: Sequence[PosterGroup]
    marker: float  # time progress ratio: a vertical line across every bar
    summary: Sequence[tuple[str, str]]  # headline figures: (label, value)
    footer: str = ""
    marker_label: str = "时序进度"  # the legend's word for the line
    bar_header: str = "完成进度"
    band_header: str = "状态"


PAGE_SIZES_MM = {"A3": (420.0, 297.0), "A1": (841.0, 594.0), "A0": (1189.0, 841.0)}
BAR_MAX = 1.2
BAND_COLORS = {"green": "#2E7D32", "yellow": "#F9A825", "red": "#C62828"}
MM_PER_PT = 25.4 / 72
BAR_EM = 7.0
LINE_RATIO = 1.45  # row height / type size
HEADER_LINES = 2  # the column header row is two rows tall
MAX_COLUMNS = 8


@dataclass(frozen=True)
class Layout:
    """Where things go on the page, in millimetres; ``font_pt`` is the table's type size."""

    size: str
    width: float
    height: float
    scale: float
    margin: float
    header_height: float
    footer_height: float
    grid_width: float
    grid_height: float
    gutter: float
    columns: int
    pieces: tuple[tuple[tuple[int, int, int], ...], ...]  # per grid column: (group, first row, end row)
    line_height: float
    font_pt: float
    column_em: tuple[float, ...]  # widths of the cell columns, the bar and the band, in em

    @property
    def font_mm(self) -> float:
        return self.font_pt * MM_PER_PT


def _em(text: str) -> float:
    """Rough width of ``text`` in em for Noto Sans CJK: wide and ambiguous characters 1, punctuation
    0.3, others 0.56."""
    return sum(
        1.0 if unicodedata.east_asian_width(ch) in "WFA" else 0.3 if ch in ",.:;'| " else 0.56 for ch in text
    )


def _column_ems(poster: Poster) -> tuple[float, ...]:
    widths = []
    for index, column in enumerate(poster.columns):
        texts = [format_cell(column.kind, row.cells[index]) for group in poster.groups for row in group.rows]
        content = max((_em(t) for t in texts), default=1.0)
        widths.append(min(max(content, _em(column.header) * 0.72 / 2, 1.0), 11.0) + 0.6)
    band = max((_em(row.band_text) for group in poster.groups for row in group.rows), default=3.0)
    widths.append(BAR_EM)
    widths.append(max(band, _em(poster.band_header) * 0.72 / 2) + 0.6)
    return tuple(widths)


def _pack(poster: Poster, capacity: int) -> list[list[tuple[int, int, int]]]:
    """Groups flowed into columns of ``capacity`` lines (a group's title takes a line; a group cut
    by a column's end starts the next column with its title again)."""
    columns: list[list[tuple[int, int, int]]] = [[]]
    used = 0
    for g, group in enumerate(poster.groups):
        start, count = 0, len(group.rows)
        while True:
            free = capacity - used
            left = count - start
            # A title with fewer than two of its rows under it moves to the next column (unless the
            # whole remainder fits).
            if free < 2 or (free - 1 < left and free - 1 < 2):
                columns.append([])
                used, free = 0, capacity
            take = min(left, free - 1)
            columns[-1].append((g, start, start + take))
            used += take + 1
            start += take
            if start >= count:
                break
    return [c for c in columns if c]


def layout(poster: Poster, size: str = "A1") -> Layout:
    """Choose the number of columns that gives the largest type on one page."""
    if size not in PAGE_SIZES_MM:
        raise ValueError(f"纸张应为 {'、'.join(PAGE_SIZES_MM)} 之一：{size}")
    width, height = PAGE_SIZES_MM[size]
    scale = width / PAGE_SIZES_MM["A1"][0]
    margin = 14 * scale
    header_height = _header_height(poster, scale)
    footer_height = 16 * 1.6 * MM_PER_PT * scale + 3 * scale
    grid_width = width - 2 * margin
    grid_height = (height - 2 * margin - header_height - footer_height) * 0.985
    gutter = 10 * scale
    ems = _column_ems(poster)
    k_em = sum(ems)
    lines = sum(len(g.rows) + 1 for g in poster.groups)
    best: Layout | None = None
    for columns in range(1, MAX_COLUMNS + 1):
        capacity = max(math.ceil(lines / columns), 2)
        while len(pieces := _pack(poster, capacity)) > columns:
            capacity += 1
        line_h = grid_height / (capacity + HEADER_LINES)
        col_w = (grid_width - gutter * (columns - 1)) / columns
        font_mm = min(line_h / LINE_RATIO, col_w / k_em, 32 * MM_PER_PT * scale)
        if best is None or font_mm > best.font_mm + 1e-9:
            best = Layout(
                size=size,
                width=width,
                height=height,
                scale=scale,
                margin=margin,
                header_height=header_height,
                footer_height=footer_height,
                grid_width=grid_width,
                grid_height=grid_height,
                gutter=gutter,
                columns=columns,
                pieces=tuple(tuple(p) for p in pieces),
                line_height=min(line_h, font_mm * LINE_RATIO * 1.25),
                font_pt=font_mm / MM_PER_PT,
                column_em=ems,
            )
    assert best is not None
    return best


# Header type sizes at A1, in pt (scaled with the page).
TITLE_PT, SUBTITLE_PT, LABEL_PT, VALUE_PT, LEGEND_PT, FOOTER_PT = 60, 30, 20, 34, 20, 16


def _header_height(poster: Poster, scale: float) -> float:
    pt = MM_PER_PT * scale
    title = TITLE_PT * 1.25 * pt
    subtitle = SUBTITLE_PT * 1.4 * pt if poster.subtitle else 0
    summary = (LABEL_PT * 1.3 + VALUE_PT * 1.25) * pt + 6 * scale if poster.summary else 0
    legend = LEGEND_PT * 1.6 * pt
    return title + subtitle + summary + legend + 8 * scale


def to_poster_pdf(poster: Poster, size: str = "A1") -> bytes:
    """The poster as a one-page landscape PDF of ``size`` (A3, A1 or A0)."""
    return html_to_pdf(to_html(poster, size))


def _band_class(band: str) -> str:
    return {"green": "g", "yellow": "y", "red": "r"}.get(band, "x")


def _band_cell(row: PosterRow) -> str:
    text = row.band_text.strip()
    klass = _band_class(row.band)
    if len(text) > 1 and text[1] in " \u3000":
        return f'<span class="sym {klass}">{esc(text[0])}</span>{esc(text[1:])}'
    return esc(text)


def to_html(poster: Poster, size: str = "A1") -> str:
    """The HTML the poster PDF is made from (every text escaped)."""
    plan = layout(poster, size)
    s = plan.scale
    font = plan.font_mm
    line = plan.line_height
    mark = min(max(poster.marker, 0.0), BAR_MAX) / BAR_MAX * 100
    col_w = (plan.grid_width - plan.gutter * (plan.columns - 1)) / plan.columns
    ems = plan.column_em
    k_em = sum(ems)
    ncells = len(poster.columns)
    # The bar column: where its track starts in a grid column, how wide it is, where the line goes.
    bar_x = col_w * sum(ems[:ncells]) / k_em + 0.2 * font
    track = col_w * ems[ncells] / k_em - 0.4 * font
    line_x = bar_x + min(max(poster.marker, 0.0), BAR_MAX) / BAR_MAX * track - 0.06 * font
    css = f"""
@page {{ size: {plan.width}mm {plan.height}mm; margin: {plan.margin:.2f}mm; }}
html {{ font-family: "Noto Sans CJK SC", sans-serif; color: #111; }}
body {{ margin: 0; }}
.head {{ height: {plan.header_height:.2f}mm; overflow: hidden; }}
h1 {{ margin: 0; font-size: {TITLE_PT * s:.2f}pt; line-height: 1.25; text-align: center; font-weight: 700; }}
.sub {{ font-size: {SUBTITLE_PT * s:.2f}pt; line-height: 1.4; text-align: center; color: #333; }}
table.sum {{ width: 100%; table-layout: fixed; border-collapse: separate; border-spacing: {3 * s:.2f}mm 0;
  margin: {1.5 * s:.2f}mm 0; }}
table.sum td {{ border: {0.6 * s:.2f}mm solid #90A4AE; padding: {1.2 * s:.2f}mm {2 * s:.2f}mm; text-align: center; }}
.lbl {{ display: block; font-size: {LABEL_PT * s:.2f}pt; line-height: 1.3; color: #455A64; }}
.val {{ display: block; font-size: {VALUE_PT * s:.2f}pt; line-height: 1.25; font-weight: 700; white-space: nowrap; }}
.legend {{ font-size: {LEGEND_PT * s:.2f}pt; line-height: 1.6; color: #333; }}
.legend span.item {{ margin-right: 2em; white-space: nowrap; }}
.grid {{ height: {plan.grid_height:.2f}mm; overflow: hidden; }}
.gcol {{ float: left; width: {col_w:.3f}mm; margin-right: {plan.gutter:.3f}mm; }}
.gcol.last {{ margin-right: 0; }}
table.t {{ width: {col_w:.3f}mm; table-layout: fixed; border-collapse: collapse; font-size: {font / MM_PER_PT:.2f}pt; }}
table.t td, table.t th {{ height: {line:.3f}mm; padding: 0 0.2em; white-space: nowrap; overflow: hidden;
  vertical-align: middle; line-height: {line:.3f}mm; }}
table.t th {{ height: {HEADER_LINES * line - 0.1:.3f}mm; font-size: 0.72em; line-height: 1.15; white-space: normal;
  font-weight: 700; text-align: center; background: #CFD8DC; color: #111; }}
table.t td.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
table.t tr.gt {{ background: #455A64; color: #fff; font-weight: 700; }}
table.t tr.z {{ background: #F3F5F6; }}
table.t tr.st {{ background: #DDE3E6; font-weight: 700; }}
.track {{ height: {line * 0.55:.3f}mm; width: {track:.3f}mm; background-color: #ECEFF1; box-sizing: border-box;
  border: 0.1mm solid #78909C; }}
.track.r {{ background-image: repeating-linear-gradient(135deg, #C62828 0, #C62828 0.16em, #fff 0.16em, #fff 0.28em);
  background-repeat: no-repeat; background-origin: border-box; }}
.gcol {{ position: relative; }}
.line {{ position: absolute; top: {HEADER_LINES * line:.3f}mm; border-left: {0.12 * font:.3f}mm solid #111; }}
.tick {{ position: absolute; top: {HEADER_LINES * line:.3f}mm; border-left: 0.2mm solid #90A4AE; }}
.legend .track {{ display: inline-block; width: 2.2em; height: 0.8em; vertical-align: -0.05em; position: relative; }}
.legend .mk {{ position: absolute; top: -0.15em; bottom: -0.15em; border-left: 0.15em solid #111; }}
.sym {{ margin-right: 0.15em; }}
.sym.g {{ color: #2E7D32; }} .sym.y {{ color: #F9A825; }} .sym.r {{ color: #C62828; }}
.foot {{ clear: both; height: {plan.footer_height:.2f}mm; font-size: {FOOTER_PT * s:.2f}pt; line-height: 1.6;
  color: #444; padding-top: {3 * s:.2f}mm; white-space: nowrap; overflow: hidden; }}
"""
    out = [
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{esc(poster.title)}</title><style>{css}</style></head><body>",
        '<div class="head">',
        f"<h1>{esc(poster.title)}</h1>",
    ]
    if poster.subtitle:
        out.append(f'<div class="sub">{esc(poster.subtitle)}</div>')
    if poster.summary:
        out.append('<table class="sum"><tr>')
        for label, value in poster.summary:
            out.append(f'<td><span class="lbl">{esc(label)}</span><span class="val">{esc(value)}</span></td>')
        out.append("</tr></table>")
    out.append(_legend(poster, mark))
    out.append('</div><div class="grid">')
    colgroup = "".join(f'<col style="width:{100 * em / k_em:.3f}%">' for em in ems)
    header = "".join(f"<th>{esc(c.header)}</th>" for c in poster.columns)
    header += f"<th>{esc(poster.bar_header)}</th><th>{esc(poster.band_header)}</th>"
    for index, pieces in enumerate(plan.pieces):
        last = " last" if index == len(plan.pieces) - 1 else ""
        out.append(f'<div class="gcol{last}"><table class="t"><colgroup>{colgroup}</colgroup>')
        out.append(f"<thead><tr>{header}</tr></thead><tbody>")
        for g, first, end in pieces:
            group = poster.groups[g]
            more = "（续）" if first > 0 else ""
            out.append(f'<tr class="gt"><td colspan="{ncells + 2}">{esc(group.title)}{more}</td></tr>')
            for number, row in enumerate(group.rows[first:end], start=first):
                klass = "st" if row.strong else ("z" if number % 2 else "")
                out.append(f'<tr class="{klass}">' if klass else "<tr>")
                for column, value in zip(poster.columns, row.cells, strict=True):
                    n = ' class="n"' if is_numeric(column.kind) else ""
                    out.append(f"<td{n}>{esc(format_cell(column.kind, value))}</td>")
                out.append(f"<td>{_bar(row, track)}</td>")
                out.append(f"<td>{_band_cell(row)}</td></tr>")
        out.append("</tbody></table>")
        rows_here = sum(1 + end - first for _g, first, end in pieces)
        out.append(
            f'<div class="tick" style="left:{bar_x + track / BAR_MAX:.3f}mm;height:{rows_here * line:.3f}mm"></div>'
        )
        out.append(f'<div class="line" style="left:{line_x:.3f}mm;height:{rows_here * line:.3f}mm"></div>')
        out.append("</div>")
    out.append("</div>")
    out.append(f'<div class="foot">{esc(poster.footer)}</div>')
    out.append("</body></html>")
    return "".join(out)


def _bar(row: PosterRow, track: float) -> str:
    """A completion bar: a track with the fill as its left border (solid) or as a hatched
    background of the fill's width (red), so the three bands differ in grey too."""
    fill = min(max(float(row.bar), 0.0), BAR_MAX) / BAR_MAX * track
    band = _band_class(row.band)
    if band == "r":
        return f'<div class="track r" style="background-size:{fill:.3f}mm 100%"></div>'
    return f'<div class="track" style="border-left:{fill:.3f}mm solid {BAND_COLORS.get(row.band, "#90A4AE")}"></div>'


def _legend(poster: Poster, mark: float) -> str:
    seen: dict[str, str] = {}
    for group in poster.groups:
        for row in group.rows:
            if not row.strong:
                seen.setdefault(row.band, row.band_text)
    items = []
    for band in ("green", "yellow", "red", *sorted(set(seen) - set(BAND_COLORS))):
        if band in seen:
            sample = PosterRow(cells=(), bar=BAR_MAX, band=band, band_text=seen[band])
            if band == "red":
                swatch = '<span class="track r" style="background-size:100% 100%"></span>'
            else:
                swatch = f'<span class="track" style="border-left:2.2em solid {BAND_COLORS.get(band, "#90A4AE")}"></span>'
            items.append(f'<span class="item">{swatch} {_band_cell(sample)}</span>')
    marker_swatch = f'<span class="track"><span class="mk" style="left:{mark:.1f}%"></span></span>'
    items.append(
        f'<span class="item">{marker_swatch} 竖线：{esc(poster.marker_label)} {esc(format_cell("percent", poster.marker))}</span>'
    )
    return f'<div class="legend">{"".join(items)}</div>'
