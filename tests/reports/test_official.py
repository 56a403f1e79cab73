"""The 通报 as .docx and .pdf from the same data: texts, fonts, tables, escaping, determinism."""

from __future__ import annotations

import base64
import datetime
import io
import re
from decimal import Decimal

import pytest
from docx import Document
from docx.oxml.ns import qn

from qiangcun.reports.cells import format_cell
from qiangcun.reports.charts import bar_chart_png
from qiangcun.reports.official import (
    Figure,
    Heading,
    OfficialDocument,
    Paragraph,
    Table,
    to_docx,
    to_html,
    to_pdf,
)
from qiangcun.reports.weasy import html_to_pdf
from qiangcun.reports.xlsx import Column

HOSTILE = '<script>alert(1)</script>&"\x07衙'
COLUMNS = [
    Column("网格站", "text", 14),
    Column("目标", "yuan", 14),
    Column("已完成", "yuan", 14),
    Column("完成率", "percent", 8),
    Column("与时序进度差", "points", 10),
]


def _document(figure: bool = False) -> OfficialDocument:
    rows = [
        ["第一网格站", Decimal("500000.00"), Decimal("12345.67"), Decimal("0.254"), Decimal("3.2")],
        ["第二网格站", Decimal("480000.00"), Decimal("98765.43"), Decimal("0.1"), Decimal("-4.04")],
        [HOSTILE, Decimal("1.005"), Decimal("0"), None, "—"],
    ]
    blocks: list = [
        Paragraph("截至4月19日，全镇67个村已完成村集体经济收入85.20万元，占年度目标的29.5%。"),
        Heading("一、总体进展"),
        Paragraph("相衙镇各村推进有力。", lead="一是"),
        Heading("（一）各网格站完成情况", level=2),
        Table(
            COLUMNS,
            rows,
            totals=["合计", Decimal("980001.01"), Decimal("111111.10"), Decimal("0.113"), Decimal("-18.2")],
            caption="表1　各网格站完成情况",
            note="注：完成率＝已审核收入÷年度目标。",
        ),
        Paragraph(HOSTILE),
    ]
    if figure:
        blocks.append(
            Figure(
                bar_chart_png(labels=["第一网格站", "第二网格站"], values=[0.254, 0.1], marker=0.295),
                caption="图1",
            )
        )
    return OfficialDocument(
        organ="相衙镇村级集体经济增收工作通报",
        number="2020年第16期",
        issuer="相衙镇党建办公室",
        date_text="2020年4月20日",
        title="关于2020年第16周村级集体经济增收进展情况的通报",
        blocks=blocks,
        distribution="相衙镇党建办公室",
        copy_to="镇党委书记、镇长",
        footer_note="数据截至2020年4月19日，来源：强村平台台账（已审核）",
    )


def test_cells_read_as_printed():
    assert format_cell("yuan", Decimal("12345.675")) == "12,345.68"  # half up, on the Decimal
    assert format_cell("yuan", Decimal("-1234.5")) == "-1,234.50"
    assert format_cell("yuan", 1000000) == "1,000,000.00"
    assert format_cell("percent", Decimal("0.2545")) == "25.5%"
    assert format_cell("percent", 0.295) == "29.5%"
    assert format_cell("points", Decimal("3.2")) == "+3.2"
    assert format_cell("points", Decimal("-4.04")) == "-4.0"
    assert format_cell("points", Decimal("-0.04")) == "0.0"
    assert format_cell("int", 7) == "7"
    assert format_cell("date", datetime.date(2020, 4, 17)) == "2020-04-17"
    assert format_cell("yuan", "—") == "—"
    assert format_cell("text", "a\x07b") == "a\ufffdb"
    assert format_cell("yuan", None) == ""


def _east_asia(run) -> str | None:
    fonts = run._element.rPr.find(qn("w:rFonts"))
    return None if fonts is None else fonts.get(qn("w:eastAsia"))


def test_docx_texts_fonts_and_table():
    body = to_docx(_document(figure=True))
    word = Document(io.BytesIO(body))
    paragraphs = {p.text: p for p in word.paragraphs}
    text = "\n".join(paragraphs)
    for expected in (
        "相衙镇村级集体经济增收工作通报",
        "2020年第16期",
        "关于2020年第16周村级集体经济增收进展情况的通报",
    ):
        assert expected in paragraphs
    assert "相衙镇党建办公室\t2020年4月20日" in paragraphs
    assert "一是相衙镇各村推进有力。" in paragraphs
    # Hostile text is text; the control character XML cannot hold is replaced.
    assert '<script>alert(1)</script>&"\ufffd衙' in paragraphs
    assert "相衙镇党建办公室\t2020年4月20日印发" in text
    assert "抄送：镇党委书记、镇长" in text

    def runs(text: str):
        return paragraphs[text].runs

    assert _east_asia(runs("相衙镇村级集体经济增收工作通报")[0]) == "方正小标宋简体"
    assert runs("相衙镇村级集体经济增收工作通报")[0].font.color.rgb is not None
    assert str(runs("相衙镇村级集体经济增收工作通报")[0].font.color.rgb) == "C00000"
    assert _east_asia(runs("关于2020年第16周村级集体经济增收进展情况的通报")[0]) == "方正小标宋简体"
    assert _east_asia(runs("一、总体进展")[0]) == "黑体"
    assert _east_asia(runs("（一）各网格站完成情况")[0]) == "楷体_GB2312"
    lead, rest = runs("一是相衙镇各村推进有力。")
    assert lead.bold and not rest.bold
    assert _east_asia(rest) == "仿宋_GB2312"
    assert rest.font.name == "Times New Roman"
    assert rest.font.size.pt == 16
    body_p = paragraphs["一是相衙镇各村推进有力。"]
    assert body_p.paragraph_format.first_line_indent.pt == 32
    assert body_p.paragraph_format.line_spacing.pt == 29
    normal = word.styles["Normal"]
    assert normal.element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋_GB2312"
    assert normal.font.name == "Times New Roman"
    section = word.sections[0]
    assert round(section.top_margin.mm) == 37 and round(section.left_margin.mm) == 28
    assert round(section.right_margin.mm) == 26 and round(section.bottom_margin.mm) == 35
    footer_xml = section.footer.paragraphs[0]._p.xml
    assert "PAGE" in footer_xml and "— " in section.footer.paragraphs[0].text

    (table,) = word.tables
    cells = [[cell.text for cell in row.cells] for row in table.rows]
    assert cells[0] == ["网格站", "目标", "已完成", "完成率", "与时序进度差"]
    assert cells[1] == ["第一网格站", "500,000.00", "12,345.67", "25.4%", "+3.2"]
    assert cells[2] == ["第二网格站", "480,000.00", "98,765.43", "10.0%", "-4.0"]
    assert cells[3] == ['<script>alert(1)</script>&"\ufffd衙', "1.01", "0.00", "", "—"]
    assert cells[4] == ["合计", "980,001.01", "111,111.10", "11.3%", "-18.2"]
    assert table.rows[1].cells[1].paragraphs[0].alignment == 2  # right
    assert table.rows[4].cells[0].paragraphs[0].runs[0].bold
    assert "w:tblHeader" in table.rows[0]._tr.xml
    # The figure is an inline picture.
    assert len(word.inline_shapes) == 1


def test_docx_same_input_same_bytes():
    assert to_docx(_document()) == to_docx(_document())


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_pdf_text_fonts_and_page(poppler):
    pdf = to_pdf(_document(figure=True))
    assert pdf.startswith(b"%PDF-")
    text = poppler("pdftotext", pdf)
    flat = _flat(text)
    for expected in (
        "相衙镇村级集体经济增收工作通报",
        "2020年第16期",
        "关于2020年第16周村级集体经济增收进展情况的通报",
        "一是相衙镇各村推进有力。",
        "12,345.67",
        "500,000.00",
        "25.4%",
        "+3.2",
        "-18.2",
        "2020年4月20日印发",
        "—1—",
    ):
        assert expected in flat, expected
    assert '<script>alert(1)</script>&"' in text  # escaped, so it is printed, not parsed
    info = poppler("pdfinfo", pdf)
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", info)
    fonts = poppler("pdffonts", pdf)
    embedded = [line for line in fonts.splitlines() if re.match(r"[A-Z]{6}\+Noto-(Serif|Sans)-CJK-SC", line)]
    assert any("Serif" in line for line in embedded) and any("Sans" in line for line in embedded)
    assert all(line.split()[-5:-3] == ["yes", "yes"] for line in embedded)  # emb, sub
    poppler("pdftoppm", pdf, "-r", "20", "-png", "-f", "1", "-l", "1")


def test_pdf_same_input_same_bytes(weasy):
    assert to_pdf(_document()) == to_pdf(_document())


def test_pdf_html_escapes_everything():
    html = to_html(_document())
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;\ufffd衙" in html


def test_pdf_fetches_data_urls_only(poppler, tmp_path):
    png = bar_chart_png(labels=["甲"], values=[0.5])
    local = tmp_path / "chart.png"
    local.write_bytes(png)
    page = '<html lang="zh-CN"><body><img src="{}" style="width:5cm"></body></html>'

    def images(src: str) -> int:
        listed = poppler("pdfimages", html_to_pdf(page.format(src)), "-list").splitlines()[2:]
        return sum(1 for line in listed if line.split()[2] == "image")

    assert images(local.as_uri()) == 0  # a file: URL is refused
    assert images("data:image/png;base64," + base64.b64encode(png).decode()) == 1


@pytest.mark.parametrize("organ", ["相衙镇村级集体经济增收工作通报", "相衙镇党建办公室"])
def test_organ_fits_one_line(organ):
    from qiangcun.reports.official import TEXT_W, organ_size_pt

    size = organ_size_pt(organ)
    assert 16 <= size <= 36
    assert size * len(organ) <= TEXT_W / 25.4 * 72
