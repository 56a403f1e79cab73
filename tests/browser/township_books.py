"""Three workbooks of a township that has never seen qiangcun, written the way its offices keep them in
Excel: a title, a 填报单位 line, merged station and district cells, 万元 targets, 小计/合计 rows, dates
typed in several ways and a signature line. Not the import templates.

柳河镇 is invented: 2 网格站, 4 管区, 10 villages. The expected figures are computed here from the same
rows the workbooks hold, so the test compares the page against the records, not against typed totals."""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

TOWNSHIP, CODE = "柳河镇", "371422199"

#: (网格站, 管区, 村, 2020 target in 万元)
VILLAGES = [
    ("第一网格站", "东片管区", "柳河村", "10"),
    ("第一网格站", "东片管区", "东王庄村", "3"),
    ("第一网格站", "东片管区", "前李村", "3.5"),
    ("第一网格站", "西片管区", "后李村", "3"),
    ("第一网格站", "西片管区", "大周村", "5"),
    ("第二网格站", "南片管区", "小周村", "3"),
    ("第二网格站", "南片管区", "张桥村", "3"),
    ("第二网格站", "北片管区", "马庄村", "4"),
    ("第二网格站", "北片管区", "孙集村", "3"),
    ("第二网格站", "北片管区", "河口村", "10"),
]


@dataclass(frozen=True)
class Row:
    village: str
    date: datetime.date
    shown_date: object  # as the clerk typed it
    item: str
    category: str  # as the office writes it
    path: str
    amount: str  # 元
    payer: str
    counts: bool  # 补助 does not count toward targets


LEDGER = [
    Row(
        "柳河村",
        datetime.date(2020, 1, 15),
        datetime.date(2020, 1, 15),
        "土地流转承包费（上半年）",
        "发包收入",
        "土地流转",
        "28000",
        "柳河家庭农场",
        True,
    ),
    Row(
        "柳河村",
        datetime.date(2020, 3, 20),
        "2020.3.20",
        "光伏电站发电收益",
        "经营收入",
        "光伏发电",
        "12650.5",
        "国网宁津县供电公司",
        True,
    ),
    Row(
        "柳河村",
        datetime.date(2020, 4, 2),
        "2020年4月2日",
        "上级扶持资金",
        "补助收入",
        "其他",
        "50000",
        "县财政局",
        False,
    ),
    Row(
        "东王庄村",
        datetime.date(2020, 2, 28),
        "2020/2/28",
        "坑塘承包费",
        "承包费",
        "边角经济",
        "6000",
        "王某",
        True,
    ),
    Row(
        "前李村",
        datetime.date(2020, 3, 5),
        datetime.date(2020, 3, 5),
        "合作社分红",
        "分红",
        "合作社",
        "8800",
        "前李种植合作社",
        True,
    ),
    Row(
        "后李村",
        datetime.date(2020, 4, 10),
        "2020-4-10",
        "农机有偿服务",
        "经营收入",
        "有偿服务",
        "3200.00",
        "",
        True,
    ),
    Row(
        "大周村",
        datetime.date(2020, 1, 8),
        "2020.1.8",
        "厂房租赁费",
        "租赁收入",
        "招商引资",
        "20000",
        "宁津某食品厂",
        True,
    ),
    Row(
        "小周村",
        datetime.date(2020, 3, 12),
        "2020.3.12",
        "土地流转承包费",
        "发包收入",
        "土地流转",
        "9000",
        "周某",
        True,
    ),
    Row(
        "马庄村",
        datetime.date(2020, 2, 3),
        "2020.2.3",
        "大棚租赁",
        "租赁收入",
        "现代农业",
        "15000",
        "马庄蔬菜合作社",
        True,
    ),
    Row(
        "河口村",
        datetime.date(2020, 4, 12),
        "2020.4.12",
        "电商服务站佣金",
        "经营收入",
        "电商",
        "2460.8",
        "",
        True,
    ),
]


def _save(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def units_book() -> bytes:
    """网格站、管区、村对照表: station and district cells merged down over their villages."""
    wb = Workbook()
    ws = wb.active
    ws.title = "网格划分"
    ws.append([f"{TOWNSHIP}网格化服务管理站、管区、行政村对照表"])
    ws.merge_cells("A1:E1")
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append([f"填报单位：{TOWNSHIP}党建办", None, None, "2020年3月"])
    ws.append(["序号", "网格站", "管区", "村名", "备注"])
    start = ws.max_row + 1
    for n, (station, district, village, _target) in enumerate(VILLAGES, start=1):
        ws.append([n, station, district, village, ""])
    # Merge each station's and district's cells over its villages, as the office does.
    for column, key in (("B", 0), ("C", 1)):
        first = start
        for i in range(1, len(VILLAGES) + 1):
            last_of_group = i == len(VILLAGES) or VILLAGES[i][key] != VILLAGES[i - 1][key]
            if last_of_group:
                row = start + i - 1
                if row > first:
                    for r in range(first + 1, row + 1):
                        ws[f"{column}{r}"] = None
                    ws.merge_cells(f"{column}{first}:{column}{row}")
                first = row + 1
    return _save(wb)


def targets_book() -> bytes:
    """2020年村集体经济增收目标任务分解表, in 万元, with a 合计 row."""
    wb = Workbook()
    ws = wb.active
    ws.title = "目标分解"
    ws.append([f"{TOWNSHIP}2020年村集体经济增收目标任务分解表"])
    ws.append(["单位：万元"])
    ws.append(["序号", "网格站", "村名", "目标任务", "备注"])
    for n, (station, _district, village, target) in enumerate(VILLAGES, start=1):
        ws.append(
            [
                n,
                station,
                village,
                float(target) if "." in target else int(target),
                "强村" if target == "10" else "",
            ]
        )
    ws.append(["合计", None, None, float(sum(Decimal(t) for *_x, t in VILLAGES)), None])
    return _save(wb)


def ledger_book() -> bytes:
    """收入台账: one sheet for the township, a 小计 under each village, a 合计 and the signatures."""
    wb = Workbook()
    ws = wb.active
    ws.title = "2020年台账"
    ws.append([f"{TOWNSHIP}村集体经济收入台账（2020年1—4月）"])
    ws.append(["单位：元"])
    ws.append(["序号", "村名", "日期", "收入类别", "增收路子", "摘要", "金额", "付款单位"])
    n = 0
    for village in dict.fromkeys(r.village for r in LEDGER):
        rows = [r for r in LEDGER if r.village == village]
        for r in rows:
            n += 1
            ws.append([n, r.village, r.shown_date, r.category, r.path, r.item, float(r.amount), r.payer])
            if isinstance(r.shown_date, datetime.date):
                ws.cell(row=ws.max_row, column=3).number_format = "yyyy-mm-dd"
        ws.append(
            [
                None,
                f"{village}小计",
                None,
                None,
                None,
                None,
                float(sum(Decimal(r.amount) for r in rows)),
                None,
            ]
        )
    ws.append(["合计", None, None, None, None, None, float(sum(Decimal(r.amount) for r in LEDGER)), None])
    ws.append([None, "制表人：张会计", None, None, "审核人：李站长"])
    return _save(wb)


def station_of(village: str) -> str:
    return next(s for s, _d, v, _t in VILLAGES if v == village)


def target(village: str) -> Decimal:
    return Decimal(next(t for _s, _d, v, t in VILLAGES if v == village)) * 10000


def counted(village: str, station: str | None = None) -> Decimal:
    """Income that counts for ``village`` once the rows of ``station`` (all when None) are verified."""
    if station is not None and station_of(village) != station:
        return Decimal("0.00")
    return sum(
        (Decimal(r.amount) for r in LEDGER if r.village == village and r.counts), Decimal("0.00")
    ).quantize(Decimal("0.01"))
