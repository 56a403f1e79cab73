"""Blank import templates (.xlsx) with an instructions sheet. The importer also reads workbooks that
were never made from these."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TemplateSpec:
    title: str
    sheet: str
    headers: list[str]
    widths: list[int]
    notes: list[str]
    #: Example rows, shown on the instructions sheet (never on the data sheet, where they would be read).
    examples: tuple[tuple[str, ...], ...] = ()
    unit_line: str = "单位：元"


TEMPLATES: dict[str, TemplateSpec] = {
    "ledger": TemplateSpec(
        title="村级集体经济增收工作台账",
        sheet="台账",
        headers=["村名", "日期", "金额（元）", "收入类别", "增收路子", "摘要", "付款单位"],
        widths=[12, 12, 14, 16, 12, 36, 22],
        notes=[
            "一行一笔收入。村名写全名或不带“村”字均可（如“孙庄村”或“孙庄”）。",
            "日期：2020-04-17、2020/4/17、2020.4.17、2020年4月17日 或 Excel 日期格式均可，须在所选年度内。",
            "金额：以元为单位，最多两位小数，如 12000.00、3,500.50、￥2,400、1.2万、壹万伍仟元；"
            "若整列以万元计，请把列名写成“金额（万元）”或在表头上方写“单位：万元”。",
            "收入类别：经营收入、发包及上交收入（租赁收入、承包费）、投资收益（分红）、补助收入、其他收入。"
            "补助收入和其他收入不计入经营性收入目标。",
            "增收路子：土地流转、现代农业、光伏发电、扶贫项目收益、合作社、有偿服务、招商引资、边角经济、电商、其他。",
            "小计、合计、总计行，空行和表尾的制表人、审核人签名行会自动跳过。",
            "有任何一行出错，整个文件都不会导入；系统会给出带“导入错误”列的错误报告，改正后重新导入即可。",
            "已经导入过的记录（同村、同日、同金额、同类别、同摘要）再次导入时会自动跳过，不会重复。",
        ],
    ),
    "units": TemplateSpec(
        title="组织结构（网格站、管区、行政村）",
        sheet="组织",
        headers=["网格站", "管区", "村名", "代码", "标签"],
        widths=[22, 14, 14, 16, 40],
        notes=[
            "一行一个行政村，写明它所属的网格站和管区；网格站、管区不存在时会自动新建。",
            "代码：12 位统计用区划代码，没有可不填，系统会自动生成。",
            "标签：如 省级重点贫困村、软弱涣散村，多个标签用顿号“、”分隔。",
            "已有的村（同一管区下同名）不会重复建立，只会补充标签。",
        ],
    ),
    "targets": TemplateSpec(
        title="各村年度收入目标",
        sheet="目标",
        headers=["村名", "目标（元）"],
        widths=[14, 16],
        notes=[
            "一行一个村。目标以元为单位；以万元计时请把列名写成“目标（万元）”。",
            "目标不得低于本年度的基础线（如 3 万元）；先在“目标”页面建立年度任务，再导入各村目标。",
        ],
    ),
    "people": TemplateSpec(
        title="人员账号",
        sheet="人员",
        headers=["姓名", "手机", "账号", "角色", "单位"],
        widths=[12, 16, 18, 14, 18],
        notes=[
            "一人一行。姓名必填；手机 11 位，可写成 13800000000、138 0000 0000 或 138-0000-0000，可不填。",
            "账号是登录用的用户名（字母、数字、汉字和 @ . + - _）；不填的按姓名拼音生成，如 张伟 → zhangwei，"
            "已有同名账号的加 2、3……。账号不区分大小写，不能与已有账号或表中其他行重复。",
            "角色：镇党建办、镇领导、网格站长、包区书记、党建指导员、村书记、村报账员"
            "（系统管理员、安全管理员、审计管理员三员另设）。也认得 站长、报账员、会计、支部书记 等常见写法；"
            "只写“书记”的，在村上是村书记，在管区上是包区书记。角色可不填，以后在账号页面授予。",
            "单位：写网格站、管区或村的名称，带不带“村”“网格站”都行（孙庄、孙庄村）；镇党建办、镇领导可写镇名或不写。"
            "角色要与单位相符：网格站长在网格站，包区书记在管区，村书记、村报账员、党建指导员在村。",
            "已有花名册的不必照抄本模板：分列写“网格站”“管区”“村”的，系统按角色取对应的一列；"
            "列名写成 手机号、联系电话、用户名、职务、所在单位 等也认得。",
            "有任何一行出错，一个账号都不会建立；系统列出每处错误（第几行、哪一列、为什么），改正后重新导入即可。",
            "导入后可下载一次性密码表打印分发，只能下载一次。本人首次登录须修改密码；忘了的，在账号页面重置。",
        ],
        examples=(
            ("张伟", "13800000001", "zhangwei", "网格站长", "一号网格站"),
            ("李红梅", "138 0000 0002", "", "村报账员", "孙庄村"),
            ("王建国", "", "wangjianguo", "村书记", "孙庄"),
            ("赵敏", "13800000004", "", "镇党建办", "相衙镇"),
        ),
        unit_line="",
    ),
    "plans": TemplateSpec(
        title="一村一策（资源清单、增收方案、措施）",
        sheet="一村一策（按行填）",
        headers=[
            "村名",
            "增收路子",
            "预计收入（元）",
            "措施",
            "责任人",
            "完成时限",
            "预计增收（元）",
            "闲置资产",
            "土地（亩）",
            "优势",
            "短板",
            "方案概述",
        ],
        widths=[12, 12, 14, 36, 10, 12, 14, 24, 10, 24, 24, 36],
        notes=[
            "两种填法任选其一（也可以混用）：“一村一策（按行填）”表一行一项措施，同一个村的多行合成一个村的方案；"
            "或者一个村一页，照“按村填（一村一页）”表的样子，工作表改名为村名（或在“村名：”后写村名），复制几页就填几个村。",
            "按行填：村名写全名或不带“村”字；同一村连续几行的村名可以只写第一行，或合并单元格。"
            "增收路子与预计收入是村里的方案：同一条路子在几行出现时，预计收入写一次（或合并单元格）即可，写多次须相同；"
            "不写预计收入的，按该路子各项措施的预计增收合计。",
            "增收路子：土地流转、现代农业、光伏发电、扶贫项目收益、合作社（领办实体）、有偿服务（提供服务）、招商引资、边角经济、电商、其他。",
            "措施、责任人、完成时限必填；预计增收不填为 0。责任人写姓名（须是在本村、管区、网格站或镇有职务的人员），"
            "重名的写“姓名（账号）”；一项措施只写一个责任人。",
            "完成时限：2020-06-30、2020年6月30日、6月底、年底前、上半年、三季度 均可，须在本年度内（最迟次年）。",
            "金额以元为单位，如 12000、3,500.50、1.2万；整列以万元计的，把列名写成“预计收入（万元）”。",
            "资源清单：闲置资产、优势、短板各列一格可写几项（分行或用；隔开）；土地列写亩数，或写“机动地120亩”。"
            "也可以另建一张表，列为 村名、类型（闲置资产/土地资源/优势/短板问题）、内容、面积（亩）、备注。",
            "按村一页：“一、资源清单”下列 类型、内容、面积（亩）、备注；“二、增收方案”下列 增收路子、预计收入、做法；"
            "“三、措施”下列 措施、增收路子、责任人、完成时限、预计增收；“方案概述：”后写总体思路。",
            "导入时按表重写各村的增收路子（表中有资源清单、方案概述的一并重写，没有的保留原样），并添加措施；"
            "该村已有同名措施的按表更新，不会重复添加；已完成、已放弃的措施不会被导入改动。",
            "合计、小计行，空行和表尾签名行会自动跳过。有任何一处出错，整个文件都不会导入；系统列出每处错误（工作表、第几行、哪一列、为什么），改正后重新导入即可。",
            "从本系统导出的“一村一策”表（汇总、措施、增收路子、资源清单四张表）可以直接修改后导入。",
            "也可以直接导入 Word 文件（.docx）：每村一部分，先写一段“村名：孙庄村”（或以“孙庄村一村一策”为标题），"
            "再写“一、资源清单”“二、增收方案”“三、措施”，各接一个表格，表头同上；或者全镇一个大表格，列同“按行填”。"
            "出错时指明“第几个表格第几行、哪一列”。旧版 .doc 请先另存为 .docx。",
        ],
        examples=(
            (
                "孙庄村",
                "合作社",
                "60000",
                "扩大合作社蔬菜种植规模",
                "张伟",
                "6月底",
                "30000",
                "旧小学校舍 5 间",
                "120",
                "临近县城",
                "缺少冷库",
                "",
            ),
            ("", "", "", "对接超市签订蔬菜订单", "李红梅", "2020-09-30", "30000", "", "", "", "", ""),
            (
                "刘道村",
                "现代农业",
                "40000",
                "冬瓜大棚扩建 20 个",
                "王建国",
                "年底前",
                "40000",
                "",
                "",
                "",
                "",
                "",
            ),
        ),
    ),
}


def _village_sheet(wb: Any) -> None:
    """The one-village-a-sheet layout: the blocks and their headers, nothing to read until filled."""
    from openpyxl.styles import Font, PatternFill

    ws = wb.create_sheet("按村填（一村一页）")
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="EEEEEE")
    ws["A1"] = "一村一策"
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = "村名："
    ws["A2"].font = bold
    ws["A3"] = "方案概述："
    blocks = [
        ("一、资源清单（一张清单）", ["类型", "内容", "面积（亩）", "备注"]),
        ("二、增收方案（一个方案）", ["增收路子", "预计收入（元）", "做法"]),
        ("三、措施（一套措施）", ["措施", "增收路子", "责任人", "完成时限", "预计增收（元）"]),
    ]
    row = 5
    for title, headers in blocks:
        ws.cell(row=row, column=1, value=title).font = bold
        for column, header in enumerate(headers, start=1):
            cell = ws.cell(row=row + 1, column=column, value=header)
            cell.font = bold
            cell.fill = fill
        row += 10
    for letter, width in zip("ABCDE", [30, 24, 14, 14, 16], strict=True):
        ws.column_dimensions[letter].width = width


def template_workbook(kind: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    spec = TEMPLATES[kind]
    wb = Workbook()
    notes = wb.active
    notes.title = "填表说明"
    notes.column_dimensions["A"].width = 110
    notes["A1"] = f"{spec.title} · 填表说明"
    notes["A1"].font = Font(bold=True, size=14)
    for index, line in enumerate(spec.notes, start=3):
        notes.cell(row=index, column=1, value=f"{index - 2}. {line}").alignment = Alignment(wrap_text=True)
    if spec.examples:
        top = len(spec.notes) + 4
        notes.cell(
            row=top, column=1, value="示例（填在“" + spec.sheet + "”表里，不要填在本页）："
        ).font = Font(bold=True)
        for offset, example in enumerate([tuple(spec.headers), *spec.examples], start=1):
            notes.cell(row=top + offset, column=1, value="　|　".join(v or "（不填）" for v in example))
    ws = wb.create_sheet(spec.sheet)
    headers = spec.headers
    ws.cell(row=1, column=1, value=spec.title).font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    ws.cell(row=2, column=1, value="填报单位：")
    if kind != "units" and spec.unit_line:
        ws.cell(row=2, column=len(headers), value=spec.unit_line)
    fill = PatternFill("solid", fgColor="EEEEEE")
    for column, (header, width) in enumerate(zip(headers, spec.widths, strict=True), start=1):
        cell = ws.cell(row=3, column=column, value=header)
        cell.font = Font(bold=True)
        cell.fill = fill
        ws.column_dimensions[get_column_letter(column)].width = width
    ws.freeze_panes = "A4"
    if kind == "plans":
        _village_sheet(wb)
    wb.active = 1
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
