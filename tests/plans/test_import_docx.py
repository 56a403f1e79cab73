"""一村一策 from a Word file (.docx): a part per village (a title, then 一、资源清单 / 二、增收方案 / 三、措施
each with its table) or one long table for the township, read as the workbook layouts are; errors named
by table, row and column; the same safety as a workbook; the import page and the command line."""

from __future__ import annotations

import datetime
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from qiangcun.accounts.models import User
from qiangcun.core.excel import RowError
from qiangcun.imports.models import ImportJob
from qiangcun.plans.models import Measure, Plan, PlanPath, Resource

from . import test_import as workbook
from .test_import import KV_SHEET, LONG, VILLAGE_SHEET, _long, book, run

people = workbook.people  # the fixtures of the workbook tests
home = workbook.home

pytestmark = pytest.mark.usefixtures("fast_hashing")

Item = str | list[list[Any]]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def word(
    tmp_path: Path,
    items: list[Item],
    *,
    name: str = "一村一策.docx",
    merges: Sequence[tuple[int, tuple[int, int], tuple[int, int], str]] = (),
) -> Path:
    """A .docx made with python-docx: a string is a paragraph, a list of rows a table. ``merges`` are
    (table index 0-based, first cell, last cell, text) as Word merges cells."""
    import docx

    document = docx.Document()
    tables = []
    for item in items:
        if isinstance(item, str):
            document.add_paragraph(item)
            continue
        width = max(len(r) for r in item)
        table = document.add_table(rows=len(item), cols=width)
        for i, row in enumerate(item):
            for j in range(width):
                table.cell(i, j).text = _cell(row[j] if j < len(row) else None)
        tables.append(table)
    for index, first, last, text in merges:
        merged = tables[index].cell(*first).merge(tables[index].cell(*last))
        merged.text = text
    path = tmp_path / name
    document.save(str(path))
    return path


def snapshot() -> dict[str, Any]:
    """Everything an import writes, as plain values."""
    return {
        p.village.name: {
            "summary": p.summary,
            "resources": [(r.kind, r.name, r.area_mu, r.note) for r in p.resources.all()],
            "paths": sorted((x.path.name, x.expected, x.note) for x in p.paths.all()),
            "measures": sorted(
                (m.title, m.owner.username, m.deadline, m.expected, m.path.name if m.path else None)
                for m in p.measures.select_related("owner", "path")
            ),
        }
        for p in Plan.objects.select_related("village").order_by("village__path")
    }


def same_as_excel(admin: User, xlsx: Path, docx_path: Path) -> dict[str, Any]:
    """Import the workbook, remember what it wrote, undo it, import the Word file: the same."""
    point = transaction.savepoint()
    assert run(admin, xlsx)["ok"]
    excel = snapshot()
    transaction.savepoint_rollback(point)
    assert not Plan.objects.exists()
    result = run(admin, docx_path)
    assert result["ok"], result
    assert snapshot() == excel
    return excel


def _rows(rows: list[list[Any]]) -> list[list[Any]]:
    return [r for r in rows if r]


# a part per village: VILLAGE_SHEET and KV_SHEET of the workbook tests, as a township writes them in Word
SUN_PARTS: list[Item] = [
    "孙庄村2020年一村一策",
    "村名：孙庄村",
    "方案概述：发展合作社蔬菜，盘活闲置校舍",
    "一、资源清单",
    _rows(VILLAGE_SHEET[4:8]),
    "二、增收方案（路子、预计收入）",
    _rows(VILLAGE_SHEET[10:14]),
    "三、措施（措施、责任人、时限、预计增收）",
    _rows(VILLAGE_SHEET[16:]),
]
LIU_PARTS: list[Item] = [
    "刘道村一村一策",
    "一、资源清单",
    "闲置资产：老村委大院",
    "优势：冬瓜种植有基础",
    "二、增收方案",
    _rows(KV_SHEET[5:7]),
    "三、措施",
    _rows(KV_SHEET[8:]),
]


def test_a_part_per_village_imports_as_the_workbook_does(tree, people, home, tmp_path):
    xlsx = book(tmp_path, {"Sheet1": VILLAGE_SHEET, "刘道": KV_SHEET})
    doc = word(tmp_path, ["相衙镇2020年“一村一策”汇编", "（共 2 个村）", *SUN_PARTS, *LIU_PARTS])
    written = same_as_excel(people["township_admin"], xlsx, doc)
    assert set(written) == {"孙庄村", "刘道村"}
    assert written["孙庄村"]["summary"] == "发展合作社蔬菜，盘活闲置校舍"
    assert len(written["孙庄村"]["measures"]) == 3 and len(written["刘道村"]["measures"]) == 1
    assert written["刘道村"]["resources"] == [
        ("asset", "老村委大院", None, ""),
        ("advantage", "冬瓜种植有基础", None, ""),
    ]


def test_numbered_village_headings_and_a_village_named_in_a_table(tree, people, home, tmp_path):
    xlsx = book(tmp_path, {"Sheet1": VILLAGE_SHEET, "刘道": KV_SHEET})
    sun = ["一、孙庄村", "方案概述：发展合作社蔬菜，盘活闲置校舍"]
    sun += ["（一）资源清单", SUN_PARTS[4], "（二）增收方案", SUN_PARTS[6], "（三）措施", SUN_PARTS[8]]
    liu: list[Item] = [[["村名", "刘道村", "联系人", "李红梅"]], *LIU_PARTS[1:]]
    same_as_excel(people["township_admin"], xlsx, word(tmp_path, ["相衙镇一村一策", *sun, *liu]))


def test_one_long_table_imports_as_the_long_sheet_does(tree, people, home, tmp_path):
    xlsx = book(tmp_path, {"汇总": LONG}, merges=[("汇总", "B4:B5"), ("汇总", "C4:C5")])
    title, _unit_line, *table, _signatures = LONG
    doc = word(
        tmp_path,
        [title[0], "填报单位：相衙镇党建办　　　单位：万元", table, "制表人：　　　审核人："],
        # 增收路子 and 预计收入 of 孙庄村's first two measures merged down, as in the workbook
        merges=[(0, (1, 1), (2, 1), "领办实体"), (0, (1, 2), (2, 2), "6")],
    )
    written = same_as_excel(people["township_admin"], xlsx, doc)
    assert ("land", "土地", 120, "") in [tuple(r) for r in written["孙庄村"]["resources"]]
    assert dict((p, e) for p, e, _ in written["孙庄村"]["paths"])["合作社"] == 60000


def test_a_long_table_with_its_title_merged_across_and_villages_merged_down(tree, people, home, tmp_path):
    rows = [
        ["相衙镇一村一策措施表"] * 7,
        *_long(["", "光伏", 12000, "屋顶光伏并网", "王建国", "年底前", 12000]),
    ]
    doc = word(
        tmp_path, [rows], merges=[(0, (0, 0), (0, 6), "相衙镇一村一策措施表"), (0, (2, 0), (3, 0), "孙庄村")]
    )
    result = run(people["township_admin"], doc)
    assert result["ok"], result
    plan = Plan.objects.get(village=tree.sunzhuang)
    assert {p.path.name for p in plan.paths.all()} == {"合作社", "光伏发电"}
    assert plan.measures.count() == 2


def test_an_error_is_named_by_table_row_and_column_and_nothing_is_saved(tree, people, home, tmp_path):
    bad = [list(r) for r in _rows(VILLAGE_SHEET[16:])]
    bad[2][2] = "刘备"
    doc = word(
        tmp_path,
        ["孙庄村一村一策", "二、增收方案", _rows(VILLAGE_SHEET[10:13]), "三、措施", bad, *LIU_PARTS],
    )
    result = run(people["township_admin"], doc)
    assert [(e["place"], e["header"]) for e in result["errors"]] == [("第 2 个表格第 3 行", "责任人")]
    assert result["report"] is False, "no red-marked report for a Word file"
    error = RowError(**{k: v for k, v in result["errors"][0].items()})
    assert str(error).startswith("第 2 个表格第 3 行，“责任人”列：“刘备”不是该村")
    assert not Plan.objects.exists() and not Measure.objects.exists() and not Resource.objects.exists()


def test_references_between_rows_and_a_part_without_a_village_speak_word(tree, people, home, tmp_path):
    measures = [
        ["措施", "责任人", "完成时限"],
        ["扩大蔬菜种植", "张伟", "6月底"],
        ["扩大蔬菜种植", "张伟", "7月底"],
    ]
    doc = word(tmp_path, ["一、措施", measures, "孙庄村一村一策", "三、措施", measures])
    found = [str(RowError(**e)) for e in run(people["township_admin"], doc)["errors"]]
    assert any(e.startswith("第 1 个表格第 1 行：这一部分没有写是哪个村") for e in found), found
    assert "第 2 个表格第 3 行，“措施”列：与第 2 个表格第 2 行的措施重复（同一村的措施不能同名）" in found
    # an unknown village in a 村名 paragraph is named by its paragraph
    doc = word(tmp_path, ["村名：王家村", "三、措施", measures[:2]], name="王家.docx")
    found = [str(RowError(**e)) for e in run(people["township_admin"], doc)["errors"]]
    assert found and found[0].startswith("第 1 段“村名：王家村”：没有名为“王家村”的村"), found


def test_a_document_without_plans_is_refused_with_what_to_write(tree, people, home, tmp_path):
    doc = word(tmp_path, ["关于做好一村一策工作的通知", [["序号", "事项"], ["1", "开会"]]])
    assert "Word 文件里需要一个按行填的表格" in run(people["township_admin"], doc)["refused"]


# ---------------------------------------------------------------------------------------------- safety


def _rezip(source: Path, target: Path, change: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, change.get(info.filename, zin.read(info.filename)))
        for name, body in change.items():
            if name not in zin.namelist():
                zout.writestr(name, body)
    return target


def test_hostile_and_old_word_files_are_refused(tree, people, home, tmp_path, settings):
    admin = people["township_admin"]
    good = word(tmp_path, SUN_PARTS, name="good.docx")
    old = tmp_path / "一村一策.doc"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    assert "旧版 .doc 文件，请在 Word 或 WPS 中另存为 .docx" in run(admin, old)["refused"]
    renamed = tmp_path / "改名.docx"
    renamed.write_bytes(old.read_bytes())
    assert "实际是旧版 .doc 格式" in run(admin, renamed)["refused"]
    docm = tmp_path / "宏.docm"
    docm.write_bytes(good.read_bytes())
    assert "带宏" in run(admin, docm)["refused"]
    with zipfile.ZipFile(good) as zf:
        types = zf.read("[Content_Types].xml")
        body = zf.read("word/document.xml")
    macro = _rezip(
        good,
        tmp_path / "宏.docx",
        {
            "[Content_Types].xml": types.replace(b"document.main+xml", b"document.macroEnabled.main+xml"),
            "word/vbaProject.bin": b"\x00" * 10,
        },
    )
    assert "宏" in run(admin, macro)["refused"]
    doctype = b'<?xml version="1.0"?>\n<!DOCTYPE w [<!ENTITY a "aaaaaaaaaa">]>' + body.split(b"?>", 1)[1]
    bomb = _rezip(good, tmp_path / "entity.docx", {"word/document.xml": doctype})
    assert "DOCTYPE/ENTITY" in run(admin, bomb)["refused"]
    wide = body.replace(b"<w:tcPr>", b'<w:tcPr><w:gridSpan w:val="1000000"/>', 1)
    assert (
        "跨 1,000,000 列"
        in run(admin, _rezip(good, tmp_path / "wide.docx", {"word/document.xml": wide}))["refused"]
    )
    zeros = _rezip(good, tmp_path / "zip.docx", {"word/media/zero.bin": b"\x00" * 3_000_000})
    assert "压缩比异常" in run(admin, zeros)["refused"]
    settings.IMPORT_MAX_BYTES = 1000
    assert "文件过大" in run(admin, good)["refused"]
    settings.IMPORT_MAX_BYTES = 20 * 1024 * 1024
    text = tmp_path / "text.docx"
    text.write_bytes("村名,措施\n".encode())
    assert "不是有效的 .docx" in run(admin, text)["refused"]
    xlsx_inside = tmp_path / "表.docx"
    xlsx_inside.write_bytes(book(tmp_path, {"表": _long()}).read_bytes())
    assert "缺少 Word 文档结构" in run(admin, xlsx_inside)["refused"]
    assert not Plan.objects.exists()
    assert run(admin, good)["ok"], "the untouched file imports"


# ---------------------------------------------------------------------------------------------- pages, CLI


def _upload(path: Path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes())


def test_the_import_page_takes_a_word_file_for_plans_only(tree, people, home, tmp_path, client):
    client.force_login(people["township_admin"])
    form = client.get("/import/plans/").content.decode()
    assert ".docx" in form and "第 2 个表格第 5 行" in form
    assert ".docx" not in client.get("/import/ledger/").content.decode()
    doc = word(tmp_path, [*SUN_PARTS, *LIU_PARTS])
    page = client.post("/import/plans/", {"year": "2020", "file": _upload(doc)}, follow=True).content.decode()
    assert "将导入 2 个村 2020 年的一村一策" in page and "刘道村" in page
    assert list((home / "uploads").glob("*.docx")) and not Plan.objects.exists()
    job = ImportJob.objects.get()
    page = client.post(f"/import/jobs/{job.pk}/confirm/", follow=True).content.decode()
    assert "已导入 2 个村 2020 年的一村一策" in page
    assert Plan.objects.count() == 2 and Measure.objects.count() == 4 and PlanPath.objects.count() == 3
    assert not list((home / "uploads").glob("*.docx")), "the upload is deleted once imported"
    # the ledger (and every other kind) takes no Word file
    page = client.post(
        "/import/ledger/", {"year": "2020", "file": _upload(doc)}, follow=True
    ).content.decode()
    assert "台账只能从 Excel 表（.xlsx）导入" in page
    assert ImportJob.objects.count() == 1


def test_the_job_page_lists_word_errors_without_a_report(tree, people, home, tmp_path, client):
    client.force_login(people["township_admin"])
    bad = [list(r) for r in _rows(VILLAGE_SHEET[16:])]
    bad[2][2] = "刘备"
    doc = word(tmp_path, ["孙庄村一村一策", "二、增收方案", _rows(VILLAGE_SHEET[10:13]), "三、措施", bad])
    page = client.post("/import/plans/", {"year": "2020", "file": _upload(doc)}, follow=True).content.decode()
    assert "发现 1 处错误，一条都没有导入" in page
    assert "第 2 个表格第 3 行" in page and "“责任人”列" in page and "“刘备”不是该村" in page
    assert "下载错误报告" not in page
    job = ImportJob.objects.get()
    assert client.get(f"/import/jobs/{job.pk}/report.xlsx").status_code == 404
    assert not Plan.objects.exists()


def _cli(*args: str) -> tuple[int, str, str]:
    from django.core.management import call_command

    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import-plans", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def test_the_command_line_imports_a_word_file(tree, people, home, tmp_path):
    bad = [list(r) for r in _rows(VILLAGE_SHEET[16:])]
    bad[2][2] = "刘备"
    wrong = word(
        tmp_path,
        ["孙庄村一村一策", "二、增收方案", _rows(VILLAGE_SHEET[10:13]), "三、措施", bad],
        name="错.docx",
    )
    code, _, err = _cli(str(wrong), "--year", "2020", "--as", "admin")
    assert code == 1 and "第 2 个表格第 3 行，“责任人”列：“刘备”不是该村" in err
    assert "错误报告" not in err and not (home / "import-reports").exists()
    assert not Plan.objects.exists()
    doc = word(tmp_path, [*SUN_PARTS, *LIU_PARTS])
    code, out, _ = _cli(str(doc), "--year", "2020", "--as", "admin")
    assert code == 0 and "已导入 2 个村 2020 年" in out and "措施新增 4 项" in out
    old = tmp_path / "旧.doc"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=r"另存为 \.docx"):
        _cli(str(old), "--year", "2020", "--as", "admin")


def test_sixty_seven_villages_in_word_import_quickly(tree, people, home, tmp_path):
    """A township's Word file: 67 village parts, each with its three tables and 5 measures. Measured."""
    import time

    from qiangcun.orgs.models import Level
    from qiangcun.orgs.services import unit_create

    names = [f"测试{i:02d}村" for i in range(63)]
    for i, name in enumerate(names):
        unit_create(
            actor=None, level=Level.VILLAGE, name=name, code=f"37142210530{i:02d}", parent=tree.district1
        )
    items: list[Item] = ["相衙镇2020年一村一策汇编", "单位：元"]
    for v in [v.name for v in tree.villages] + names:
        items += [
            f"{v}一村一策",
            "方案概述：发展合作社，盘活闲置资产",
            "一、资源清单",
            [
                ["类型", "内容", "面积（亩）", "备注"],
                ["闲置资产", "旧小学校舍", "", "5 间"],
                ["土地资源", "机动地", "35.5", ""],
            ],
            "二、增收方案",
            [["增收路子", "预计收入", "做法"], ["合作社", "50000", "党支部领办"]],
            "三、措施",
            [
                ["措施", "增收路子", "责任人", "完成时限", "预计增收"],
                *[[f"措施{k}", "合作社", "王建国", f"{k + 6}月底", "10000"] for k in range(5)],
            ],
        ]
    start = time.perf_counter()
    path = word(tmp_path, items)
    built = time.perf_counter() - start
    start = time.perf_counter()
    check = run(people["township_admin"], path, dry_run=True)
    checked = time.perf_counter() - start
    start = time.perf_counter()
    done = run(people["township_admin"], path)
    imported = time.perf_counter() - start
    assert check["ok"] and done["ok"], done
    assert Plan.objects.count() == 67 and Measure.objects.count() == 335 and Resource.objects.count() == 134
    size = path.stat().st_size // 1024
    print(
        f"Word, 67 villages, 335 measures ({size} KB, built in {built:.1f} s): check {checked:.2f} s, import {imported:.2f} s"
    )
    assert imported < 60
