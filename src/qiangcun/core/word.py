"""Word (.docx) safety and reading. Core knows no domain: this checks an untrusted .docx before
python-docx opens it, and turns its body into plain text in reading order.

The checks mirror :func:`qiangcun.core.excel.inspect_xlsx`: the old binary .doc and the macro-enabled
.docm are refused with a message saying what to do, and the archive is looked at before any parser
sees it — its entries, sizes and ratios (a zip bomb), macros (vbaProject), DOCTYPE/ENTITY declarations
in any XML part, and absurd tables (more rows than an import takes, a cell spanning thousands of
columns).

:func:`docx_body` yields the body as the writer laid it out: paragraphs and tables interleaved, in
order (content controls opened). A table is its rows of cell texts on the table's grid: a cell merged
across columns (``gridSpan``) gives its text to every column it covers, and a cell merged down
(``vMerge``) to every row it covers — as a merged cell of a workbook is read once its range is filled.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qiangcun.core.excel import OLE_MAGIC, Limits, WorkbookRefused, _mb

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_TR = re.compile(rb"<(?:\w+:)?tr\b")
_P = re.compile(rb"<(?:\w+:)?p\b")
_SPAN = re.compile(rb"""<(?:\w+:)?(?:gridSpan|gridBefore|gridAfter)\b[^>]*?\bval\s*=\s*["']\s*(\d+)""")


WORD_SUFFIXES = (".docx", ".doc", ".docm", ".dotx", ".dotm")


def is_word_file(name: str) -> bool:
    """Whether a file is a Word document by its name (.docx, and the .doc/.docm that are refused)."""
    return name.lower().endswith(WORD_SUFFIXES)


def inspect_docx(path: Path, *, name: str | None = None, limits: Limits | None = None) -> int:
    """Raise :class:`WorkbookRefused` unless ``path`` is a plain .docx within the limits; return the
    number of paragraphs and table rows it holds, roughly (for a progress bar)."""
    limits = limits or Limits.from_settings()
    label = name or path.name
    lower = label.lower()
    if lower.endswith(".doc"):
        raise WorkbookRefused(f"“{label}”是旧版 .doc 文件，请在 Word 或 WPS 中另存为 .docx 后再导入")
    if lower.endswith((".docm", ".dotm")):
        raise WorkbookRefused(f"“{label}”是带宏的 Word 文件，不能导入；请另存为不带宏的 .docx")
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise WorkbookRefused(f"文件过大（{_mb(size)}），上限 {_mb(limits.max_bytes)}；请拆分后分批导入")
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(OLE_MAGIC):
        raise WorkbookRefused(f"“{label}”实际是旧版 .doc 格式，请在 Word 或 WPS 中另存为 .docx 后再导入")
    if not zipfile.is_zipfile(path):
        raise WorkbookRefused(f"“{label}”不是有效的 .docx 文件（可能已损坏，或是改了扩展名的其他文件）")
    try:
        with zipfile.ZipFile(path) as zf:
            return _inspect_archive(zf, label, limits)
    except zipfile.BadZipFile as exc:
        raise WorkbookRefused(f"“{label}”不是有效的 .docx 文件（压缩包损坏）") from exc


def _inspect_archive(zf: zipfile.ZipFile, label: str, limits: Limits) -> int:
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise WorkbookRefused(f"“{label}”包含的部件过多（{len(infos)} 个），疑似异常文件，拒绝解压")
    names = {i.filename for i in infos}
    if "[Content_Types].xml" not in names or "word/document.xml" not in names:
        raise WorkbookRefused(f"“{label}”不是有效的 .docx 文件（缺少 Word 文档结构）")
    total = 0
    for info in infos:
        total += info.file_size
        if total > limits.max_unzipped:
            raise WorkbookRefused(
                f"“{label}”解压后超过 {_mb(limits.max_unzipped)}，疑似压缩炸弹，拒绝解压；如确为大文件，请拆分后导入"
            )
        if info.file_size > 1_000_000 and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise WorkbookRefused(f"“{label}”的压缩比异常（{info.filename}），疑似压缩炸弹，拒绝解压")
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise WorkbookRefused(f"“{label}”含有宏（vbaProject），不能导入；请另存为不带宏的 .docx")
    content_types = zf.read("[Content_Types].xml")
    if b"macroEnabled" in content_types:
        raise WorkbookRefused(f"“{label}”是启用宏的 Word 文件，不能导入；请另存为不带宏的 .docx")
    if b"wordprocessingml.document.main+xml" not in content_types:
        raise WorkbookRefused(f"“{label}”不是 Word 文档（.docx），请在 Word 或 WPS 中另存为 .docx 后再导入")
    rows = paragraphs = 0
    for info in infos:
        if not info.filename.endswith((".xml", ".rels", ".vml")):
            continue
        body = info.filename == "word/document.xml"
        tail = b""
        with zf.open(info) as fh:
            while chunk := fh.read(1 << 20):
                data = tail + chunk
                if _DECLARATION.search(data):
                    raise WorkbookRefused(
                        f"“{label}”的 {info.filename} 含有 DOCTYPE/ENTITY 声明，这不是 Word 正常生成的内容，拒绝读取"
                    )
                if body:
                    rows += len(_TR.findall(chunk))
                    paragraphs += len(_P.findall(chunk))
                    spans = [int(v) for v in _SPAN.findall(data)]
                    if spans and max(spans) > limits.max_cols:
                        raise WorkbookRefused(
                            f"“{label}”的表格有单元格跨 {max(spans):,} 列，超过上限 {limits.max_cols} 列；请检查表格"
                        )
                tail = data[-256:]
        if rows > limits.max_rows + 1000:
            raise WorkbookRefused(
                f"“{label}”的表格共有 {rows:,} 行，超过导入上限 {limits.max_rows:,} 行；请拆分文件"
            )
        if paragraphs > 10 * limits.max_rows:
            raise WorkbookRefused(f"“{label}”的段落过多（{paragraphs:,} 段），请拆分文件")
    return rows + paragraphs


# ---------------------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Paragraph:
    """A body paragraph: its ordinal among the body's non-blank paragraphs (1-based) and its text."""

    number: int
    text: str


@dataclass(frozen=True)
class Table:
    """A body table: its ordinal among the body's tables (1-based) and its rows of cell texts, one
    text per grid column (merged cells repeated over the columns and rows they cover)."""

    number: int
    rows: list[list[str]]


def _text(element: Any) -> str:
    """The visible text of a paragraph (or a cell's paragraphs): runs, inserted runs, hyperlinks and
    simple fields; tabs and breaks as ``\\t`` and ``\\n``; deleted text and field codes left out."""
    out: list[str] = []
    for node in element.iter(f"{_W}t", f"{_W}tab", f"{_W}br", f"{_W}cr", f"{_W}p"):
        tag = node.tag
        if tag == f"{_W}t":
            out.append(node.text or "")
        elif tag == f"{_W}tab":
            if node.getparent() is not None and node.getparent().tag == f"{_W}r":
                out.append("\t")
        elif tag == f"{_W}p":
            if out:
                out.append("\n")
        else:
            out.append("\n")
    return "".join(out).strip("\n")


def _int(element: Any, tag: str) -> int:
    found = element.find(f"{_W}{tag}") if element is not None else None
    if found is None:
        return 0
    try:
        return int(found.get(f"{_W}val", "0"))
    except ValueError:
        return 0


def _table_rows(tbl: Any, max_cols: int) -> list[list[str]]:
    rows: list[list[str]] = []
    above: dict[int, str] = {}  # grid column → the text of the cell that started a vertical merge there
    for tr in tbl.iterchildren(f"{_W}tr"):
        cells: list[str] = [""] * min(_int(tr.find(f"{_W}trPr"), "gridBefore"), max_cols)
        for tc in _cells(tr):
            props = tc.find(f"{_W}tcPr")
            span = max(1, min(_int(props, "gridSpan"), max_cols))
            merge = props.find(f"{_W}vMerge") if props is not None else None
            column = len(cells)
            if merge is not None and merge.get(f"{_W}val", "continue") != "restart":
                text = above.get(column, "")
            else:
                text = _text_of_cell(tc)
                if merge is not None:
                    above[column] = text
                else:
                    above.pop(column, None)
            cells.extend([text] * span)
            if len(cells) >= max_cols:
                break
        rows.append(cells[:max_cols])
    return rows


def _cells(tr: Any) -> Iterator[Any]:
    for child in tr.iterchildren():
        if child.tag == f"{_W}tc":
            yield child
        elif child.tag == f"{_W}sdt" and (content := child.find(f"{_W}sdtContent")) is not None:
            yield from content.iterchildren(f"{_W}tc")


def _text_of_cell(tc: Any) -> str:
    """The cell's paragraphs, one a line (a nested table's text is left out)."""
    lines = [_text(p) for p in tc.iterchildren(f"{_W}p")]
    return "\n".join(lines).strip()


def _children(element: Any) -> Iterator[Any]:
    for child in element.iterchildren():
        if child.tag == f"{_W}sdt":  # a content control: its content is part of the body
            content = child.find(f"{_W}sdtContent")
            if content is not None:
                yield from _children(content)
        elif child.tag in (f"{_W}p", f"{_W}tbl"):
            yield child


def docx_body(path: Path, *, limits: Limits | None = None) -> Iterator[Paragraph | Table]:
    """The body of a .docx that passed :func:`inspect_docx`, in order: non-blank paragraphs and tables."""
    import docx

    limits = limits or Limits.from_settings()
    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises KeyError, ValueError, lxml errors … on broken files
        raise WorkbookRefused(
            f"无法读取 Word 文件（{type(exc).__name__}）：请在 Word 或 WPS 中打开后另存为 .docx 再导入"
        ) from exc
    paragraphs = tables = 0
    for child in _children(document.element.body):
        if child.tag == f"{_W}p":
            text = _text(child).strip()
            if text:
                paragraphs += 1
                yield Paragraph(paragraphs, text)
        else:
            tables += 1
            yield Table(tables, _table_rows(child, limits.max_cols))
