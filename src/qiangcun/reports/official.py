"""An official document (通报, modelled on GB/T 9704-2012) as .docx and as .pdf from the same data.

Plain data in, bytes out; knows no domain. Layout: A4, margins 37 mm top / 28 mm left / 26 mm right /
35 mm bottom (a 156 × 225 mm text block); the issuing organ in red 小标宋, centred; the number line,
then issuer left and date right over a red rule; the title in 小标宋, centred; the body in 三号 (16 pt)
仿宋 with a two-character first-line indent and 29 pt lines; level-1 headings 黑体, level-2 楷体;
tables in 五号 (10.5 pt) with figures right-aligned; the 版记 (抄送 / 印发) between rules at the end;
page numbers "— 1 —" at the foot.

Word gets the fonts a township's Windows PC has (方正小标宋简体, 仿宋_GB2312, 黑体, 楷体_GB2312,
Times New Roman for Latin letters and figures); the PDF uses the Noto CJK fonts installed on the
server (Noto Serif CJK SC for the body, Noto Sans CJK SC for 黑体; there is no 楷体 among them, so
level-2 headings are bold serif) and embeds subsets of them.

All text is untrusted: Word gets it with the characters XML cannot hold replaced, the PDF gets it
escaped."""

from __future__ import annotations

import base64
import copy
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .cells import format_cell, is_numeric
from .weasy import esc, html_to_pdf
from .xlsx import Column, writable

__all__ = [
    "Column",
    "Figure",
    "Heading",
    "OfficialDocument",
    "Paragraph",
    "Table",
    "to_docx",
    "to_pdf",
]


@dataclass(frozen=True)
class Paragraph:
    text: str
    lead: str = ""  # bold lead-in words before the text, e.g. "一是"


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 1  # 1: "一、…" 黑体; 2: "（一）…" 楷体


@dataclass(frozen=True)
class Table:
    columns: Sequence[Column]
    rows: Sequence[Sequence[Any]]
    totals: Sequence[Any] | None = None
    caption: str = ""
    unit_line: str = "单位：元"
    note: str = ""


@dataclass(frozen=True)
class Figure:
    png: bytes
    caption: str = ""
    width_cm: float = 15.6


@dataclass(frozen=True)
class OfficialDocument:
    organ: str  # 发文机关标志, e.g. "相衙镇村级集体经济增收工作通报"
    number: str  # 期号, e.g. "2020年第16期"
    issuer: str  # left under the number, e.g. "相衙镇党建办公室"
    date_text: str  # right on the issuer's line, e.g. "2020年4月20日"
    title: str  # 标题, e.g. "关于2020年第16周村级集体经济增收进展情况的通报"
    blocks: Sequence[Paragraph | Heading | Table | Figure]
    distribution: str = ""  # 印发机关: "相衙镇党建办公室" → "相衙镇党建办公室　　2020年4月20日印发"
    copy_to: str = ""  # 抄送
    footer_note: str = ""  # small print after the body, e.g. the data's date and source


# Page geometry (mm) and type sizes (pt), shared by both renderers.
PAGE_W, PAGE_H = 210.0, 297.0
MARGIN_TOP, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT = 37.0, 35.0, 28.0, 26.0
TEXT_W = PAGE_W - MARGIN_LEFT - MARGIN_RIGHT  # 156 mm
BODY_PT = 16.0  # 三号
LINE_PT = 29.0  # 22 lines on the 225 mm block
TITLE_PT = 22.0  # 二号
TABLE_PT = 10.5  # 五号
SMALL_PT = 14.0  # 四号: 版记, page numbers
RED = "C00000"

# Word's font names (Windows); the PDF's are in _CSS.
W_TITLE = "方正小标宋简体"
W_BODY = "仿宋_GB2312"
W_HEI = "黑体"
W_KAI = "楷体_GB2312"
W_SONG = "宋体"
W_LATIN = "Times New Roman"

IDEOGRAPHIC_SPACE = "\u3000"


def organ_size_pt(organ: str) -> float:
    """The organ name's size: as large as 小初 (36 pt) allows, but on one line of the text block."""
    width_pt = TEXT_W / 25.4 * 72
    return max(16.0, min(36.0, round(width_pt / max(len(organ), 1) * 0.98, 1)))


# --------------------------------------------------------------------------------------------- docx


def to_docx(doc: OfficialDocument) -> bytes:
    """The document as a Word file (.docx). Same input, same bytes."""
    import docx
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
    from docx.shared import Cm, Mm, Pt, RGBColor

    document = docx.Document()
    _docx_styles(document)
    section = document.sections[0]
    section.page_width, section.page_height = Mm(PAGE_W), Mm(PAGE_H)
    section.top_margin, section.bottom_margin = Mm(MARGIN_TOP), Mm(MARGIN_BOTTOM)
    section.left_margin, section.right_margin = Mm(MARGIN_LEFT), Mm(MARGIN_RIGHT)
    section.footer_distance = Mm(28)
    _docx_page_number(section.footer.paragraphs[0])

    def para(
        *, align=None, indent: bool = False, line: float | None = LINE_PT, before: float = 0, after: float = 0
    ):
        p = document.add_paragraph()
        fmt = p.paragraph_format
        if align is not None:
            p.alignment = align
        if indent:
            _first_line_chars(p, 2, BODY_PT)
        else:
            fmt.first_line_indent = Pt(0)
            _first_line_chars(p, 0, BODY_PT)
        if line is None:
            fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE
        else:
            fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
            fmt.line_spacing = Pt(line)
        fmt.space_before, fmt.space_after = Pt(before), Pt(after)
        return p

    red = RGBColor.from_string(RED)
    # 版头: organ, number, issuer and date over a red rule.
    organ_pt = organ_size_pt(doc.organ)
    p = para(align=WD_ALIGN_PARAGRAPH.CENTER, line=None, before=0, after=18)
    _run(p, doc.organ, W_TITLE, organ_pt, color=red)
    p = para(align=WD_ALIGN_PARAGRAPH.CENTER)
    _run(p, doc.number, W_BODY, BODY_PT)
    p = para(after=6)
    p.paragraph_format.tab_stops.add_tab_stop(Mm(TEXT_W), WD_TAB_ALIGNMENT.RIGHT)
    _run(p, doc.issuer, W_BODY, BODY_PT)
    _run(p, "\t" + doc.date_text, W_BODY, BODY_PT)
    _border(p, "bottom", size_eighths=18, color=RED)
    # 标题
    p = para(align=WD_ALIGN_PARAGRAPH.CENTER, line=None, before=LINE_PT, after=LINE_PT)
    p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    p.paragraph_format.line_spacing = Pt(35)
    _run(p, doc.title, W_TITLE, TITLE_PT)

    for block in doc.blocks:
        if isinstance(block, Paragraph):
            p = para(align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent=True)
            if block.lead:
                _run(p, block.lead, W_BODY, BODY_PT, bold=True)
            _run(p, block.text, W_BODY, BODY_PT)
        elif isinstance(block, Heading):
            p = para(indent=True)
            p.paragraph_format.keep_with_next = True
            if block.level <= 1:
                _run(p, block.text, W_HEI, BODY_PT)
            else:
                _run(p, block.text, W_KAI, BODY_PT)
        elif isinstance(block, Table):
            _docx_table(document, block, para, WD_ALIGN_PARAGRAPH, WD_TABLE_ALIGNMENT, Pt, Mm)
        elif isinstance(block, Figure):
            p = para(align=WD_ALIGN_PARAGRAPH.CENTER, line=None, before=6)
            p.paragraph_format.keep_with_next = bool(block.caption)
            p.add_run().add_picture(io.BytesIO(block.png), width=Cm(min(block.width_cm, TEXT_W / 10)))
            if block.caption:
                p = para(align=WD_ALIGN_PARAGRAPH.CENTER, line=None, after=6)
                _run(p, block.caption, W_BODY, SMALL_PT)
        else:  # pragma: no cover - the type says it cannot happen
            raise TypeError(f"unknown block {block!r}")

    if doc.footer_note:
        p = para(line=None, before=12)
        _run(p, doc.footer_note, W_BODY, 12.0)

    # 版记: 抄送 and 印发 between rules.
    if doc.copy_to or doc.distribution:
        lines: list[tuple[str, str]] = []
        if doc.copy_to:
            lines.append((f"抄送：{doc.copy_to}", ""))
        if doc.distribution:
            lines.append((doc.distribution, f"{doc.date_text}印发"))
        p = para(line=None, before=LINE_PT)
        _border(p, "bottom", size_eighths=6, color="000000")
        for index, (left, right) in enumerate(lines):
            p = para(line=None, before=4, after=4)
            p.paragraph_format.left_indent = Pt(SMALL_PT)
            p.paragraph_format.right_indent = Pt(SMALL_PT)
            p.paragraph_format.keep_with_next = True
            p.paragraph_format.tab_stops.add_tab_stop(Mm(TEXT_W) - Pt(2 * SMALL_PT), WD_TAB_ALIGNMENT.RIGHT)
            _run(p, left, W_BODY, SMALL_PT)
            if right:
                _run(p, "\t" + right, W_BODY, SMALL_PT)
            _border(p, "bottom", size_eighths=4 if index < len(lines) - 1 else 6, color="000000")

    core = document.core_properties
    core.title = writable(doc.title)
    core.author = writable(doc.issuer)
    core.last_modified_by = writable(doc.issuer)
    core.comments = ""
    core.modified = core.created
    buffer = io.BytesIO()
    document.save(buffer)
    return _stable_zip(buffer.getvalue())


def _docx_styles(document: Any) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt

    normal = document.styles["Normal"]
    normal.font.name = W_LATIN
    normal.font.size = Pt(BODY_PT)
    rpr = normal.element.get_or_add_rPr()
    rfonts = rpr.get_or_add_rFonts()
    rfonts.set(qn("w:eastAsia"), W_BODY)
    rfonts.set(qn("w:ascii"), W_LATIN)
    rfonts.set(qn("w:hAnsi"), W_LATIN)
    # Document defaults too, so text outside Normal (footer, table style) is not in a Western font.
    defaults = document.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        rpr_default = defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}")
        if rpr_default is not None:
            fonts = rpr_default.find(qn("w:rFonts"))
            if fonts is None:
                fonts = rpr_default.makeelement(qn("w:rFonts"), {})
                rpr_default.insert(0, fonts)
            for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
                fonts.attrib.pop(qn(attribute), None)
            fonts.set(qn("w:ascii"), W_LATIN)
            fonts.set(qn("w:hAnsi"), W_LATIN)
            fonts.set(qn("w:eastAsia"), W_BODY)
            default_lang = rpr_default.find(qn("w:lang"))
            if default_lang is not None:
                default_lang.set(qn("w:eastAsia"), "zh-CN")
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = rpr.makeelement(qn("w:lang"), {})
        rpr.append(lang)
    lang.set(qn("w:eastAsia"), "zh-CN")


def _run(
    paragraph: Any, text: str, east_asia: str, size_pt: float, *, bold: bool = False, color: Any = None
) -> Any:
    from docx.oxml.ns import qn
    from docx.shared import Pt

    run = paragraph.add_run(writable(text))
    run.font.name = W_LATIN
    run.font.size = Pt(size_pt)
    run.font.bold = bold
    if color is not None:
        run.font.color.rgb = color
    rfonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    rfonts.set(qn("w:eastAsia"), east_asia)
    rfonts.set(qn("w:hint"), "eastAsia")
    return run


def _first_line_chars(paragraph: Any, chars: int, size_pt: float) -> None:
    """First-line indent in characters (Word's 首行缩进 N 字符), with the same width in points for
    readers that ignore the character unit."""
    from docx.oxml.ns import qn
    from docx.shared import Pt

    paragraph.paragraph_format.first_line_indent = Pt(chars * size_pt)
    ind = paragraph._p.get_or_add_pPr().find(qn("w:ind"))
    if ind is not None:
        ind.set(qn("w:firstLineChars"), str(chars * 100))


def _border(paragraph: Any, side: str, *, size_eighths: int, color: str) -> None:
    from docx.oxml.ns import qn

    ppr = paragraph._p.get_or_add_pPr()
    borders = ppr.find(qn("w:pBdr"))
    if borders is None:
        borders = ppr.makeelement(qn("w:pBdr"), {})
        # pBdr must come before spacing/ind/jc in CT_PPr's sequence.
        anchor = None
        for tag in ("w:shd", "w:tabs", "w:suppressAutoHyphens", "w:spacing", "w:ind", "w:jc"):
            anchor = ppr.find(qn(tag))
            if anchor is not None:
                break
        if anchor is not None:
            anchor.addprevious(borders)
        else:
            ppr.append(borders)
    edge = borders.makeelement(
        qn(f"w:{side}"),
        {qn("w:val"): "single", qn("w:sz"): str(size_eighths), qn("w:space"): "1", qn("w:color"): color},
    )
    borders.append(edge)


def _docx_page_number(paragraph: Any) -> None:
    """ "— 1 —" centred: a PAGE field between two dashes, 四号 宋体."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(paragraph, "— ", W_SONG, SMALL_PT)

    def field_char(kind: str) -> None:
        char = OxmlElement("w:fldChar")
        char.set(qn("w:fldCharType"), kind)
        _run(paragraph, "", W_SONG, SMALL_PT)._element.append(char)

    field_char("begin")
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = " PAGE "
    _run(paragraph, "", W_SONG, SMALL_PT)._element.append(instr)
    field_char("separate")
    _run(paragraph, "1", W_SONG, SMALL_PT)
    field_char("end")
    _run(paragraph, " —", W_SONG, SMALL_PT)


def _docx_table(
    document: Any, block: Table, para: Any, align: Any, table_align: Any, Pt: Any, Mm: Any
) -> None:
    from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    columns = list(block.columns)
    if block.caption:
        p = para(align=align.CENTER, line=None, before=6, after=2)
        p.paragraph_format.keep_with_next = True
        _run(p, block.caption, W_HEI, SMALL_PT)
    if block.unit_line:
        p = para(align=align.RIGHT, line=None, after=2)
        p.paragraph_format.keep_with_next = True
        _run(p, block.unit_line, W_BODY, TABLE_PT)
    body: list[tuple[Sequence[Any], bool]] = [(row, False) for row in block.rows]
    if block.totals is not None:
        body.append((block.totals, True))
    table = document.add_table(rows=1, cols=len(columns))
    table.style = document.styles["Table Grid"]
    table.alignment = table_align.CENTER
    table.autofit = False
    total_width = sum(max(c.width, 1) for c in columns)
    widths = [Mm(TEXT_W * max(c.width, 1) / total_width) for c in columns]
    header = table.rows[0]
    tr_pr = header._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    tr_pr.append(repeat)

    def fill(cell: Any, text: str, *, right: bool, bold: bool, center: bool = False, shade: str = "") -> None:
        p = cell.paragraphs[0]
        fmt = p.paragraph_format
        fmt.first_line_indent = Pt(0)
        fmt.space_before = fmt.space_after = Pt(0)
        fmt.line_spacing = 1.0
        p.alignment = align.CENTER if center else align.RIGHT if right else align.LEFT
        _run(p, text, W_BODY, TABLE_PT, bold=bold)
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        if shade:
            tc_pr = cell._tc.get_or_add_tcPr()
            shd = OxmlElement("w:shd")
            shd.set(qn("w:val"), "clear")
            shd.set(qn("w:color"), "auto")
            shd.set(qn("w:fill"), shade)
            tc_pr.append(shd)

    def add_row(values: Sequence[Any], is_total: bool) -> None:
        cells = table.add_row().cells
        for index, (column, value) in enumerate(zip(columns, values, strict=True)):
            cells[index].width = widths[index]
            fill(
                cells[index],
                format_cell(column.kind, value),
                right=is_numeric(column.kind),
                bold=is_total,
                shade="F2F2F2" if is_total else "",
            )

    for index, column in enumerate(columns):
        cell = header.cells[index]
        cell.width = widths[index]
        fill(cell, column.header, right=False, bold=True, center=True, shade="E7E6E6")
    # python-docx builds a cell in about a millisecond: the first body row is built through it, the
    # others are copies of that row's XML with their own text (67 villages: 1.6 s → 0.1 s).
    template: Any = None
    for values, is_total in body:
        if is_total or template is None:
            add_row(values, is_total)
            if not is_total:
                template = table.rows[-1]._tr
            continue
        tr = copy.deepcopy(template)
        for tc, column, value in zip(tr.tc_lst, columns, values, strict=True):
            run = tc.findall(".//" + qn("w:r"))[0]
            for old in run.findall(qn("w:t")):
                run.remove(old)
            text = writable(format_cell(column.kind, value))
            if text:
                t = OxmlElement("w:t")
                t.text = text
                t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
                run.append(t)
        table._tbl.append(tr)
    if block.note:
        p = para(line=None, before=2)
        _run(p, block.note, W_BODY, TABLE_PT)
    else:
        para(line=None, after=0)  # Word needs a paragraph between two tables


def _stable_zip(data: bytes) -> bytes:
    """The same archive with fixed entry times, so the same document gives the same bytes."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()


# ---------------------------------------------------------------------------------------------- pdf

_CSS = """
@page {
  size: A4;
  margin: %(mt)smm %(mr)smm %(mb)smm %(ml)smm;
  @bottom-center {
    content: "— " counter(page) " —";
    font-family: "Noto Serif CJK SC"; font-size: %(small)spt; vertical-align: top; padding-top: 7mm;
  }
}
html { font-family: "Noto Serif CJK SC", serif; font-size: %(body)spt; line-height: %(line)spt; color: #000; }
body { margin: 0; }
.organ { color: #%(red)s; font-weight: 700; font-size: %(organ)spt; line-height: 1.3; text-align: center;
         margin: 0 0 14pt 0; white-space: nowrap; }
.number { text-align: center; margin: 0; }
.issued .date { white-space: nowrap; padding-left: 1em; }
.issued { display: flex; justify-content: space-between; margin: 0; padding-bottom: 4pt;
          border-bottom: 1.5pt solid #%(red)s; }
h1 { font-weight: 700; font-size: %(title)spt; line-height: 35pt; text-align: center; margin: %(line)spt 0; }
p { margin: 0; text-indent: 2em; text-align: justify; }
p b { font-weight: 700; }
h2, h3 { font-size: %(body)spt; margin: 0; text-indent: 2em; page-break-after: avoid; }
h2 { font-family: "Noto Sans CJK SC", sans-serif; font-weight: 700; }
h3 { font-weight: 700; }
.caption { text-align: center; font-family: "Noto Sans CJK SC", sans-serif; font-size: %(small)spt;
           line-height: 1.5; margin-top: 6pt; page-break-after: avoid; }
.unit { text-align: right; font-size: %(table)spt; line-height: 1.5; page-break-after: avoid; }
table { width: 100%%; border-collapse: collapse; font-size: %(table)spt; line-height: 1.35; margin: 0 0 4pt 0; }
th, td { border: 0.5pt solid #000; padding: 1.5pt 3pt; vertical-align: middle; }
th { background: #e7e6e6; font-weight: 700; text-align: center; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.total td { font-weight: 700; background: #f2f2f2; }
.note { font-size: %(table)spt; line-height: 1.5; text-indent: 0; margin-bottom: 6pt; }
figure { margin: 6pt 0; text-align: center; page-break-inside: avoid; }
figure img { max-width: 100%%; }
figcaption { font-size: %(small)spt; line-height: 1.5; }
.small { font-size: 12pt; line-height: 1.6; text-indent: 0; margin-top: 12pt; }
.record { margin-top: %(line)spt; border-top: 1pt solid #000; border-bottom: 1pt solid #000;
          font-size: %(small)spt; line-height: 1.8; page-break-inside: avoid; }
.record div { display: flex; justify-content: space-between; padding: 0 1em; }
.record div + div { border-top: 0.5pt solid #000; }
"""


def to_pdf(doc: OfficialDocument) -> bytes:
    """The document as PDF (WeasyPrint), with subsets of the Noto CJK fonts embedded."""
    return html_to_pdf(to_html(doc))


def to_html(doc: OfficialDocument) -> str:
    """The HTML the PDF is made from (every text escaped)."""
    css = _CSS % {
        "mt": MARGIN_TOP,
        "mr": MARGIN_RIGHT,
        "mb": MARGIN_BOTTOM,
        "ml": MARGIN_LEFT,
        "small": SMALL_PT,
        "body": BODY_PT,
        "line": LINE_PT,
        "red": RED,
        "organ": organ_size_pt(doc.organ),
        "title": TITLE_PT,
        "table": TABLE_PT,
    }
    out = [
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{esc(doc.title)}</title><style>{css}</style></head><body>",
        f'<div class="organ">{esc(doc.organ)}</div>',
        f'<div class="number">{esc(doc.number)}</div>',
        f'<div class="issued"><span>{esc(doc.issuer)}</span><span class="date">{esc(doc.date_text)}</span></div>',
        f"<h1>{esc(doc.title)}</h1>",
    ]
    for block in doc.blocks:
        if isinstance(block, Paragraph):
            lead = f"<b>{esc(block.lead)}</b>" if block.lead else ""
            out.append(f"<p>{lead}{esc(block.text)}</p>")
        elif isinstance(block, Heading):
            tag = "h2" if block.level <= 1 else "h3"
            out.append(f"<{tag}>{esc(block.text)}</{tag}>")
        elif isinstance(block, Table):
            out.append(_html_table(block))
        elif isinstance(block, Figure):
            data = base64.b64encode(block.png).decode("ascii")
            width = min(block.width_cm, TEXT_W / 10)
            caption = f"<figcaption>{esc(block.caption)}</figcaption>" if block.caption else ""
            out.append(
                f'<figure><img src="data:image/png;base64,{data}" style="width:{width:.2f}cm" alt="">{caption}</figure>'
            )
        else:  # pragma: no cover
            raise TypeError(f"unknown block {block!r}")
    if doc.footer_note:
        out.append(f'<p class="small">{esc(doc.footer_note)}</p>')
    if doc.copy_to or doc.distribution:
        out.append('<div class="record">')
        if doc.copy_to:
            out.append(f"<div><span>抄送：{esc(doc.copy_to)}</span></div>")
        if doc.distribution:
            out.append(
                f"<div><span>{esc(doc.distribution)}</span><span>{esc(doc.date_text)}印发</span></div>"
            )
        out.append("</div>")
    out.append("</body></html>")
    return "".join(out)


def _html_table(block: Table) -> str:
    columns = list(block.columns)
    total_width = sum(max(c.width, 1) for c in columns)
    parts = []
    if block.caption:
        parts.append(f'<div class="caption">{esc(block.caption)}</div>')
    if block.unit_line:
        parts.append(f'<div class="unit">{esc(block.unit_line)}</div>')
    parts.append("<table><colgroup>")
    parts.extend(f'<col style="width:{100 * max(c.width, 1) / total_width:.2f}%">' for c in columns)
    parts.append("</colgroup><thead><tr>")
    parts.extend(f"<th>{esc(c.header)}</th>" for c in columns)
    parts.append("</tr></thead><tbody>")
    body: list[tuple[Sequence[Any], bool]] = [(row, False) for row in block.rows]
    if block.totals is not None:
        body.append((block.totals, True))
    for values, is_total in body:
        parts.append('<tr class="total">' if is_total else "<tr>")
        for column, value in zip(columns, values, strict=True):
            klass = ' class="n"' if is_numeric(column.kind) else ""
            parts.append(f"<td{klass}>{esc(format_cell(column.kind, value))}</td>")
        parts.append("</tr>")
    parts.append("</tbody></table>")
    if block.note:
        parts.append(f'<p class="note">{esc(block.note)}</p>')
    return "".join(parts)
