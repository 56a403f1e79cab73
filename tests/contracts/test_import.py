"""The 合同台账 import: a good workbook makes every contract with the receivables a typed one gets; every bad
cell is named by row, column and reason and nothing is saved; ID numbers must be text; villages outside the
importer's scope are refused; the page checks first and imports only on confirmation."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from qiangcun.contracts.importing import HEADERS, check_and_import, template_workbook
from qiangcun.contracts.models import Contract, Receivable
from qiangcun.contracts.services import ContractInput, contract_create
from qiangcun.core.models import ChangeRecord
from qiangcun.core.pii import ID_AS_NUMBER, check_char
from tests.conftest import _clerk_for

D = datetime.date
COLUMNS = list(HEADERS.values())
LETTER = {header: chr(ord("A") + i) for i, header in enumerate(COLUMNS)}
FIRST = 4  # title, unit line, header, then the data


def person_id(stem: str = "37142219800101123") -> str:
    return stem + check_char(stem)


ID = person_id()


def good_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "村名称": "孙庄村",
        "合同编号": "SZ-2020-001",
        "合同名称": "村东耕地流转",
        "合同类型": "有偿转让",
        "地类": "耕地",
        "面积（亩）": 25.5,
        "承租方类型": "个人",
        "承租方": "张三",
        "证件号码": ID,
        "联系电话": "13800000000",
        "起始日期": D(2020, 1, 1),
        "终止日期": D(2022, 12, 31),
        "计价方式": "按亩每年",
        "单价或总价（元）": 800,
        "付款方式": "每年一付",
        "交款期限（日）": 30,
        "保证金（元）": 2000,
        "发包方式": "公开招标",
        "签订日期": D(2019, 12, 20),
    }
    row.update(overrides)
    return row


def workbook(rows: list[dict[str, Any]], headers: list[str] | None = None) -> bytes:
    headers = headers or COLUMNS
    wb = Workbook()
    ws = wb.active
    ws.title = "合同台账"
    ws.append(["合同台账"])
    ws.append(["填报单位：相衙镇", *([None] * (len(headers) - 2)), "单位：元"])
    ws.append(headers)
    keys = headers if headers is COLUMNS else COLUMNS
    for row in rows:
        ws.append([row.get(k) for k in keys])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def upload(rows: list[dict[str, Any]], name: str = "合同台账.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, workbook(rows))


def write(tmp_path: Path, rows: list[dict[str, Any]], headers: list[str] | None = None) -> Path:
    path = tmp_path / "合同台账.xlsx"
    path.write_bytes(workbook(rows, headers))
    return path


def run(actor, path: Path, *, dry_run: bool = False):
    return check_and_import(actor=actor, path=path, name=path.name, dry_run=dry_run)


def schedule_of(contract: Contract) -> list[tuple[Any, ...]]:
    return list(
        contract.receivables.order_by("seq").values_list(
            "seq", "period_start", "period_end", "due_date", "amount"
        )
    )


@pytest.fixture
def admin(personas):
    return personas["township_admin"]


GOOD = [
    good_row(),
    good_row(  # escalation every 2 years, half-yearly
        **{
            "村名称": "刘道",
            "合同编号": "LD-01",
            "合同名称": "鱼塘租赁",
            "合同类型": "租赁",
            "地类": "坑塘水面",
            "面积（亩）": "12.00亩",
            "承租方类型": "单位",
            "承租方": "宁津县某某养殖合作社",
            "证件号码": "93371422MA3C00000X",
            "起始日期": "2020.3.1",
            "终止日期": "2025年2月28日",
            "计价方式": "每年固定金额",
            "单价或总价（元）": "12,000.00",
            "递增比例（%）": "5%",
            "每几年递增": 2,
            "付款方式": "半年一付",
            "交款期限（日）": "15日",
            "保证金（元）": None,
            "发包方式": "竞价",
        }
    ),
    good_row(  # a lump sum paid up front
        **{
            "村名称": None,
            "村代码": "371422105204",
            "合同编号": "BXY-1",
            "合同名称": "旧小学校舍出租",
            "合同类型": "租赁",
            "地类": None,
            "面积（亩）": None,
            "证件号码": None,
            "计价方式": "全期一次总价",
            "单价或总价（元）": "5万",
            "付款方式": "全期一次付清",
            "发包方式": "协商",
            "签订日期": None,
            "备注": "五年租金一次交清",
        }
    ),
]


def test_a_good_workbook_imports_every_contract_with_the_receivables_of_a_typed_one(admin, tree, tmp_path):
    parsed, done = run(admin, write(tmp_path, GOOD))
    assert parsed.errors == [] and done is not None
    assert (done.contracts, len(done.by_village)) == (3, 3)
    made = {c.code: c for c in Contract.objects.all()}
    assert set(made) == {"SZ-2020-001", "LD-01", "BXY-1"}
    assert ChangeRecord.objects.filter(action="contracts.create").count() == 3
    # The same contracts typed on their page (another code) get the very same receivables.
    typed_inputs = {
        "SZ-2020-001": (
            tree.sunzhuang,
            ContractInput(
                code="T1",
                title="村东耕地流转",
                kind="transfer",
                party_kind="person",
                party_name="张三",
                start=D(2020, 1, 1),
                end=D(2022, 12, 31),
                price_mode="per_mu_year",
                price=Decimal("800.00"),
                area_mu=Decimal("25.50"),
                schedule="annual",
                method="tender",
                deposit=Decimal("2000.00"),
            ),
        ),
        "LD-01": (
            tree.liudao,
            ContractInput(
                code="T2",
                title="鱼塘租赁",
                kind="lease",
                party_kind="company",
                party_name="宁津县某某养殖合作社",
                start=D(2020, 3, 1),
                end=D(2025, 2, 28),
                price_mode="per_year",
                price=Decimal("12000.00"),
                area_mu=Decimal("12.00"),
                escalation_percent=Decimal("5"),
                escalation_every=2,
                schedule="half_yearly",
                due_days=15,
                method="auction",
            ),
        ),
        "BXY-1": (
            tree.bianxiyang,
            ContractInput(
                code="T3",
                title="旧小学校舍出租",
                kind="lease",
                party_kind="person",
                party_name="张三",
                start=D(2020, 1, 1),
                end=D(2022, 12, 31),
                price_mode="lump_sum",
                price=Decimal("50000.00"),
                schedule="upfront",
                method="negotiation",
            ),
        ),
    }
    for code, (village, data) in typed_inputs.items():
        typed = contract_create(actor=admin, village=village, data=data)
        imported = made[code]
        assert imported.village_id == village.pk
        assert schedule_of(imported) == schedule_of(typed), code
    lease = made["LD-01"]
    assert (lease.escalation_percent, lease.escalation_every, lease.due_days, lease.party_id_number) == (
        Decimal("5.00"),
        2,
        15,
        "93371422MA3C00000X",
    )
    assert made["SZ-2020-001"].party_id_number == ID and made["SZ-2020-001"].deposit == Decimal("2000.00")
    assert made["BXY-1"].note == "五年租金一次交清"
    assert done.receivables == Receivable.objects.filter(contract__in=made.values()).count()
    assert done.amount == sum(r.amount for r in Receivable.objects.filter(contract__in=made.values()))


def test_a_check_writes_nothing(admin, tree, tmp_path):
    _parsed, done = run(admin, write(tmp_path, GOOD), dry_run=True)
    assert done is not None and done.contracts == 3 and done.receivables > 3
    assert Contract.objects.count() == 0 and Receivable.objects.count() == 0
    assert not ChangeRecord.objects.filter(action="contracts.create").exists()


BAD = [
    # (row overrides, column header or "" for the row, words the reason must hold)
    ({"合同类型": "买卖"}, "合同类型", "合同类型“买卖”不认识，应为 租赁、发包、有偿转让、入股 之一"),
    ({"起始日期": "2020-02-30"}, "起始日期", "不存在"),
    ({"终止日期": D(2019, 6, 30)}, "终止日期", "终止日期 2019-06-30 早于起始日期 2020-01-01"),
    ({"单价或总价（元）": "约八百"}, "单价或总价（元）", "金额"),
    ({"面积（亩）": None}, "面积（亩）", "按亩计价的合同必须填写面积（亩）"),
    ({"证件号码": 371422198001011234}, "证件号码", ID_AS_NUMBER),
    ({"证件号码": ID[:-1] + ("1" if ID[-1] != "1" else "2")}, "证件号码", "校验位"),
    ({"村名称": "无此村"}, "村名称", "没有名为“无此村”的村"),
    ({"递增比例（%）": 0.05, "每几年递增": 3}, "递增比例（%）", "不明确"),
    ({"计价方式": "全期一次总价"}, "付款方式", "付款方式只能是“全期一次付清”"),
    ({"递增比例（%）": 5}, "每几年递增", "同时填写每几年递增一次"),
    ({"承租方类型": "单位", "证件号码": "ABC"}, "证件号码", "统一社会信用代码"),
    ({"承租方": "  "}, "承租方", "请填写承租方"),
    ({"交款期限（日）": "三十天"}, "交款期限（日）", "不是数字"),
    ({"签订日期": D(2099, 1, 1)}, "签订日期", "签订日期晚于今天"),
]


def test_each_bad_cell_is_named_by_row_column_and_reason_and_nothing_is_saved(admin, tree, tmp_path):
    rows = [good_row(合同编号="OK-1")]  # a good row: not saved either
    rows += [good_row(合同编号=f"BAD-{i}", **over) for i, (over, _, _) in enumerate(BAD)]
    rows.append(good_row(合同编号="OK-1"))  # the first row's code again
    parsed, done = run(admin, write(tmp_path, rows))
    assert done is None
    got = {(e.row, e.header): str(e) for e in parsed.errors}
    for i, (_, header, words) in enumerate(BAD):
        row = FIRST + 1 + i
        text = got.get((row, header))
        assert text is not None, f"row {row} {header}: {parsed.errors}"
        assert text.startswith(f"第 {row} 行“{header}”列（{LETTER[header]}）："), text
        assert words in text, text
    dup = FIRST + 1 + len(BAD)
    assert got[(dup, "合同编号")].endswith(f"与第 {FIRST} 行的合同编号重复（孙庄村的合同编号不能重复）")
    assert len(parsed.errors) == len(BAD) + 1  # one error each, and none on the good row
    assert Contract.objects.count() == 0 and Receivable.objects.count() == 0


def test_an_id_number_typed_as_a_number_is_refused(admin, tree, tmp_path):
    parsed, done = run(admin, write(tmp_path, [good_row(证件号码=float(ID[:17] + "0"))]))
    assert done is None
    [error] = parsed.errors
    assert (error.row, error.column, error.reason) == (FIRST, LETTER["证件号码"], ID_AS_NUMBER)
    assert Contract.objects.count() == 0


def test_a_village_outside_the_importers_scope_is_refused(tree, tmp_path):
    clerk = _clerk_for(tree.sunzhuang)
    rows = [
        good_row(),
        good_row(村名称="刘道村", 合同编号="X-1"),
        good_row(村名称=None, 村代码="371422105204", 合同编号="X-2"),
    ]
    parsed, done = run(clerk, write(tmp_path, rows))
    assert done is None
    assert [(e.row, e.header, e.reason) for e in parsed.errors] == [
        (FIRST + 1, "村名称", "刘道村不在您的管辖范围内，不能导入它的合同"),
        (FIRST + 2, "村代码", "编席杨村（371422105204）不在您的管辖范围内，不能导入它的合同"),
    ]
    assert Contract.objects.count() == 0
    # Its own village alone goes in.
    parsed, done = run(clerk, write(tmp_path, rows[:1]))
    assert done is not None and Contract.objects.get().village == tree.sunzhuang


def test_a_code_the_village_already_has_is_refused(admin, tree, tmp_path, make_contract):
    make_contract(code="SZ-2020-001")
    parsed, done = run(admin, write(tmp_path, [good_row(), good_row(村名称="刘道村")]))
    assert done is None
    [error] = parsed.errors
    assert str(error) == f"第 {FIRST} 行“合同编号”列（C）：孙庄村已有编号为 SZ-2020-001 的合同"
    assert Contract.objects.count() == 1  # the one made before; 刘道村's good row was not kept


def test_name_and_code_must_agree(admin, tree, tmp_path):
    parsed, done = run(admin, write(tmp_path, [good_row(村代码="371422105202")]))
    assert done is None
    assert "与村代码 371422105202（刘道村）不符" in parsed.errors[0].reason


def test_headers_are_matched_with_spaces_and_either_bracket(admin, tree, tmp_path):
    headers = [h.replace("（", "(").replace("）", ")") for h in COLUMNS]
    headers[0] = "村 名 称"
    path = write(tmp_path, [], headers)
    wb = load_workbook(path)
    wb.active.append([good_row().get(k) for k in COLUMNS])
    wb.save(path)
    parsed, done = run(admin, path)
    assert parsed.errors == [] and done is not None and done.contracts == 1
    assert Contract.objects.get().area_mu == Decimal("25.50")


def test_a_file_without_a_village_column_is_refused_as_a_whole(admin, tree, tmp_path):
    from qiangcun.core.excel import WorkbookRefused

    headers = [h for h in COLUMNS if h not in ("村名称", "村代码")]
    path = tmp_path / "x.xlsx"
    wb = Workbook()
    wb.active.append(headers)
    wb.save(path)
    with pytest.raises(WorkbookRefused, match="缺少“村名称”或“村代码”列"):
        run(admin, path)


def test_the_template_has_the_headers_lists_and_text_columns_and_imports_once_filled(admin, tree, tmp_path):
    body = template_workbook([tree.sunzhuang, tree.liudao])
    path = tmp_path / "模板.xlsx"
    path.write_bytes(body)
    wb = load_workbook(path)
    assert wb.sheetnames == ["填表说明", "合同台账", "村名单"]
    ws = wb["合同台账"]
    assert [c.value for c in ws[3]] == COLUMNS
    lists = {str(dv.sqref).split(":")[0][:1]: dv.formula1 for dv in ws.data_validations.dataValidation}
    assert lists[LETTER["合同类型"]] == '"租赁,发包,有偿转让,入股"'
    assert lists[LETTER["付款方式"]] == '"每年一付,半年一付,全期一次付清"'
    assert lists[LETTER["村名称"]] == "'村名单'!$A$1:$A$2"
    assert ws[f"{LETTER['证件号码']}4"].number_format == "@"
    assert "SZ-2020-001" in "".join(str(c.value) for c in wb["填表说明"]["A"])  # the example row
    # Filled in, it imports.
    for column, key in enumerate(COLUMNS, start=1):
        ws.cell(row=4, column=column, value=good_row().get(key))
    wb.save(path)
    parsed, done = run(admin, path)
    assert parsed.errors == [] and done is not None and Contract.objects.count() == 1


# ------------------------------------------------------------------------------------------ the page


def test_the_page_checks_then_imports_on_confirmation(client, personas, tree):
    client.force_login(personas["village_clerk"])
    url = reverse("contracts_import")
    page = client.get(url)
    assert page.status_code == 200 and "下载模板" in page.content.decode()
    checked = client.post(url, {"action": "check", "file": upload([good_row()])})
    text = checked.content.decode()
    assert checked.status_code == 200 and "检查结果（尚未写入）" in text
    assert "将导入 1 份合同" in text and "61,200.00" in text
    assert Contract.objects.count() == 0
    token = checked.context["token"]
    done = client.post(url, {"action": "confirm", "token": token}, follow=True)
    assert Contract.objects.count() == 1
    assert "已导入 1 份合同（1 个村），生成应收款 3 期，合计 61,200.00 元" in done.content.decode()
    # The same check cannot be confirmed twice.
    again = client.post(url, {"action": "confirm", "token": token}, follow=True)
    assert "已经确认过或已过期" in again.content.decode() and Contract.objects.count() == 1


def test_the_page_lists_every_error(client, personas, tree):
    client.force_login(personas["other_clerk"])  # 编席杨村's clerk: 孙庄村 is not theirs
    page = client.post(
        reverse("contracts_import"),
        {"action": "check", "file": upload([good_row(), good_row(合同编号="B", 合同类型="买卖")])},
    )
    text = page.content.decode()
    assert "发现 3 处错误，一份合同都没有导入" in text
    assert "孙庄村不在您的管辖范围内" in text and "合同类型“买卖”不认识" in text
    assert "token" not in page.context or not page.context.get("token")
    assert Contract.objects.count() == 0


def test_a_confirmation_with_someone_elses_token_imports_nothing(client, personas, tree):
    client.force_login(personas["village_clerk"])
    checked = client.post(reverse("contracts_import"), {"action": "check", "file": upload([good_row()])})
    token = checked.context["token"]
    client.force_login(personas["village_secretary"])
    client.post(reverse("contracts_import"), {"action": "confirm", "token": token})
    assert Contract.objects.count() == 0


@pytest.mark.parametrize("persona", ["leader", "station_head", "instructor", "auditor", "no_role"])
def test_only_those_who_keep_the_assets_may_import(client, personas, tree, persona):
    client.force_login(personas[persona])
    assert client.get(reverse("contracts_import")).status_code == 403
    assert client.get(reverse("contracts_import_template")).status_code == 403
    answer = client.post(reverse("contracts_import"), {"action": "check", "file": upload([good_row()])})
    assert answer.status_code == 403 and Contract.objects.count() == 0


def test_the_template_download_lists_the_users_villages(client, personas, tree, tmp_path):
    client.force_login(personas["village_clerk"])
    answer = client.get(reverse("contracts_import_template"))
    assert answer.status_code == 200
    path = tmp_path / "t.xlsx"
    path.write_bytes(answer.content)
    assert [c.value for c in load_workbook(path)["村名单"]["A"]] == ["孙庄村"]


def test_a_row_the_service_refuses_takes_the_whole_file_back(tree, tmp_path):
    """A refusal only the service sees (here: a village the importer may not write, slipped past the
    reader) is listed with its row, and the rows before it are rolled back too."""
    from dataclasses import replace as copy

    from qiangcun.contracts.importing import contracts_import, parse_contracts_file

    clerk = _clerk_for(tree.sunzhuang)
    path = write(tmp_path, [good_row(), good_row(合同编号="X-2")])
    parsed = parse_contracts_file(path, name=path.name, actor=clerk)
    assert parsed.ok and len(parsed.rows) == 2
    parsed.rows[1] = copy(parsed.rows[1], village=tree.liudao)
    done = contracts_import(actor=clerk, parsed=parsed, dry_run=False)
    assert [(e.row, e.reason) for e in done.errors] == [(FIRST + 1, "您没有登记该村合同的权限")]
    assert Contract.objects.count() == 0 and Receivable.objects.count() == 0
    assert not ChangeRecord.objects.filter(action="contracts.create").exists()


def test_a_list_over_the_limit_is_refused_as_a_whole(admin, tree, tmp_path, monkeypatch):
    from qiangcun.contracts import importing
    from qiangcun.core.excel import WorkbookRefused

    monkeypatch.setattr(importing, "MAX_CONTRACT_ROWS", 2)
    rows = [good_row(合同编号=f"L-{i}") for i in range(3)]
    with pytest.raises(WorkbookRefused, match="超过 2 份合同，请拆分后分批导入"):
        run(admin, write(tmp_path, rows))
    assert Contract.objects.count() == 0
