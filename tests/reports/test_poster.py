"""The wall poster: one landscape page at A3, A1 and A0, every row on it, type large enough to read
from two metres at A1, text escaped."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from qiangcun.reports.poster import Poster, PosterGroup, PosterRow, layout, to_html, to_poster_pdf
from qiangcun.reports.xlsx import Column

HOSTILE = '<script>alert(1)</script>&"\x07'
TIME = Decimal("0.295")
BANDS = {"green": "● 领先", "yellow": "▲ 稍慢", "red": "■ 落后"}
COLUMNS = [
    Column("排名", "int"),
    Column("村", "text"),
    Column("目标", "yuan"),
    Column("已完成", "yuan"),
    Column("完成率", "percent"),
    Column("差(百分点)", "points"),
]


def _band(ratio: Decimal) -> str:
    return "green" if ratio >= TIME else "yellow" if ratio >= TIME - Decimal("0.1") else "red"


def _poster(villages: int, groups: int = 5) -> Poster:
    out = []
    rank = 0
    for g in range(groups):
        rows = []
        total_target = total_income = Decimal(0)
        for _ in range(villages // groups + (1 if g < villages % groups else 0)):
            rank += 1
            target = Decimal(30000 + rank * 997)
            income = (target * Decimal(rank % 9) / 10 + Decimal("0.67")).quantize(Decimal("0.01"))
            ratio = income / target
            total_target += target
            total_income += income
            band = _band(ratio)
            name = f"相衙{rank}村" if rank != 2 else HOSTILE
            cells = [rank, name, target, income, ratio, (ratio - TIME) * 100]
            rows.append(PosterRow(cells=cells, bar=float(ratio), band=band, band_text=BANDS[band]))
        ratio = total_income / total_target
        rows.append(
            PosterRow(
                cells=[None, "小计", total_target, total_income, ratio, (ratio - TIME) * 100],
                bar=float(ratio),
                band=_band(ratio),
                band_text=BANDS[_band(ratio)],
                strong=True,
            )
        )
        out.append(PosterGroup(title=f"第{g + 1}网格站", rows=rows))
    return Poster(
        title="相衙镇2020年村级集体经济收入进度表",
        subtitle="截至2020年4月17日　时序进度 29.5%",
        columns=COLUMNS,
        groups=out,
        marker=float(TIME),
        summary=[("全镇目标", "289.00万元"), ("已完成", "85.20万元 (29.5%)"), ("领先/稍慢/落后", "30/20/17")],
        footer="相衙镇党建办公室制　数据来源：强村平台（已审核台账）" + HOSTILE,
    )


PAGE_POINTS = {"A3": (1190.55, 841.89), "A1": (2383.94, 1683.78), "A0": (3370.39, 2383.94)}


def _pages_and_size(info: str) -> tuple[int, float, float]:
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    return pages, width, height


@pytest.mark.parametrize("size", ["A3", "A1", "A0"])
def test_one_landscape_page_with_every_row(poppler, size):
    poster = _poster(67)
    pdf = to_poster_pdf(poster, size)
    pages, width, height = _pages_and_size(poppler("pdfinfo", pdf))
    assert pages == 1
    assert (width, height) == pytest.approx(PAGE_POINTS[size], abs=1)
    text = re.sub(r"[ \t]+", " ", poppler("pdftotext", pdf, "-layout"))
    assert "相衙镇2020年村级集体经济收入进度表" in text.replace(" ", "")
    for rank in range(1, 68):
        if rank != 2:
            assert f"相衙{rank}村" in text
    assert '<script>alert(1)</script>&"' in text  # printed as text, never parsed
    first = poster.groups[0].rows[0]
    assert f"{first.cells[2]:,.2f}" in text  # 元 with thousands separators
    assert "领先" in text and "落后" in text and "小计" in text
    fonts = poppler("pdffonts", pdf)
    assert re.search(r"^[A-Z]{6}\+Noto-Sans-CJK-SC\S*\s.*\byes\s+yes\s+yes\b", fonts, re.M)


def test_legible_from_two_metres_at_a1():
    plan = layout(_poster(67), "A1")
    assert plan.font_pt >= 18  # ≈ 6.4 mm em: village names and figures read from two metres
    assert plan.columns >= 2
    assert layout(_poster(67), "A3").font_pt == pytest.approx(
        plan.font_pt / 2, rel=0.01
    )  # the same design, scaled


def test_layout_places_every_row_once_and_fits_the_page():
    poster = _poster(400, groups=20)
    plan = layout(poster, "A1")
    placed = [(g, r) for column in plan.pieces for g, first, end in column for r in range(first, end)]
    expected = [(g, r) for g, group in enumerate(poster.groups) for r in range(len(group.rows))]
    assert placed == expected
    assert len(plan.pieces) == plan.columns >= 3
    tallest = max(sum(1 + end - first for _g, first, end in column) for column in plan.pieces)
    assert (tallest + 2) * plan.line_height <= plan.grid_height + 1e-6
    assert plan.font_pt >= 8


def test_four_hundred_villages_on_one_page(poppler):
    pdf = to_poster_pdf(_poster(400, groups=20), "A1")
    pages, *_ = _pages_and_size(poppler("pdfinfo", pdf))
    assert pages == 1
    text = poppler("pdftotext", pdf)
    assert "相衙400村" in text and "相衙1村" in text


def test_html_is_escaped_and_bands_have_symbols():
    html = to_html(_poster(10), "A3")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    for symbol in "●▲■":
        assert symbol in html


def test_unknown_size_is_refused():
    with pytest.raises(ValueError, match="A3"):
        to_poster_pdf(_poster(5), "A4")
