"""Blank import templates (.xlsx) with an instructions sheet. The importer also reads workbooks that
were never made from these."""

from __future__ import annotations

import io
from dataclasses import dataclass


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
}


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
    wb.active = 1
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
