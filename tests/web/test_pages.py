"""Pages: the progress table and its filters, ledger entry, the verification queue, the targets grid, and
the CLI printing the API's document."""

from __future__ import annotations

import datetime
import html
import io
import json
import re
from decimal import Decimal
from urllib.parse import parse_qs, urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from qiangcun.ledger.models import Category, Entry, Evidence, Status
from qiangcun.ledger.services import entry_return
from qiangcun.orgs.models import Level
from qiangcun.orgs.services import unit_create
from qiangcun.targets.models import VillageTarget
from qiangcun.targets.selectors import counted
from qiangcun.targets.services import targets_set

from .conftest import edit_form, entry_form, entry_state, targets_grid

ROW = re.compile(r'<tr class="row-(green|yellow|red)" data-code="([^"]+)"')


def _login(client, user):
    client.force_login(user)
    return client


def _rows(response) -> list[str]:
    return [code for _, code in ROW.findall(response.content.decode())]


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- the progress table ---------------------------------------------------------------------------------


def test_progress_page_shows_every_village_ranked(client, personas, april):
    t = april
    _login(client, personas["township_admin"])
    response = client.get(reverse("progress") + "?year=2020&as_of=2020-04-17")
    assert response.status_code == 200
    body = response.content.decode()
    assert '<html lang="zh-CN">' in body
    assert "相衙镇2020年村集体经济收入进度表" in body
    assert _rows(response) == [t.liudao.code, t.sunzhuang.code, t.yanglaotou.code, t.bianxiyang.code]
    for name in ("孙庄村", "刘道村", "杨老头村", "编席杨村"):
        assert name in body
    assert "9.95万元" in body  # verified income: 99,500.00
    assert "时序进度 29.5%" in body
    assert '<strong class="num">2<small> / 4</small></strong>' in body  # 2 villages at the 30000 baseline
    assert ROW.findall(body)[-1] == ("yellow", t.bianxiyang.code)
    assert '<span class="up" title="比 7 天前上升 2 位">▲2</span>' in body  # 孙庄村
    assert "vendor/echarts/echarts.min.js" in body  # the chart library is served by the app
    assert re.search(r'<script[^>]+src="https?://', body) is None


FILTERS = [
    ({"station": "T-S1"}, ["liudao", "sunzhuang", "yanglaotou"]),
    ({"station": "T-S2"}, ["bianxiyang"]),
    ({"district": "T-D1"}, ["liudao", "sunzhuang"]),
    ({"band": "yellow"}, ["bianxiyang"]),
    ({"band": "red"}, []),
    ({"tag": "省级重点贫困村"}, ["yanglaotou", "bianxiyang"]),
    ({"q": "杨"}, ["yanglaotou", "bianxiyang"]),
    ({"q": "孙庄"}, ["sunzhuang"]),
    ({"station": "T-S1", "tag": "省级重点贫困村"}, ["yanglaotou"]),
]


@pytest.mark.parametrize(("params", "expected"), FILTERS)
@pytest.mark.parametrize("htmx", [False, True])
def test_progress_filters_narrow_the_rows_and_stay_in_the_url(
    client, personas, april, params, expected, htmx
):
    _login(client, personas["township_admin"])
    query = {"year": "2020", "as_of": "2020-04-17", **params}
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = client.get(reverse("progress") + "?" + urlencode(query), **headers)
    assert response.status_code == 200
    body = response.content.decode()
    assert _rows(response) == [getattr(april, name).code for name in expected]
    if expected:
        assert f"筛选出 {len(expected)} 个村（共 4 个）" in body
    else:
        assert "没有符合条件的村" in body
    # Every sort link carries the filters, so sorting keeps them (and the URL can be shared).
    sort_links = [html.unescape(h) for h in re.findall(r'href="\?([^"]*sort=[^"]*)"', body)]
    assert len(sort_links) >= 5
    for link in sort_links:
        got = parse_qs(link)
        for key, value in query.items():
            assert got.get(key) == [value], (key, link)
    if htmx:
        assert "<html" not in body and 'class="filters"' not in body
    else:
        assert "<html" in body
        assert 'hx-push-url="true"' in body  # htmx writes the filters into the address bar
        for key in ("station", "district", "band", "tag"):
            if key in params:
                assert f'<option value="{params[key]}" selected>' in body
        if "q" in params:
            assert f'name="q" value="{params["q"]}"' in body


def test_progress_sort_by_name_and_rank_survives_filters(client, personas, april):
    _login(client, personas["township_admin"])
    response = client.get(reverse("progress") + "?year=2020&as_of=2020-04-17&station=T-S1&sort=income")
    t = april
    assert _rows(response) == [t.sunzhuang.code, t.liudao.code, t.yanglaotou.code]
    # The rank shown is still the township's rank, not the rank within the filtered rows.
    assert re.search(
        rf'data-code="{t.yanglaotou.code}">\s*<td class="num rank">3 ', response.content.decode()
    )


def _progress_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("progress") + "?year=2020&as_of=2020-04-17")
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _grow(tree, admin, make_entry, n: int = 6) -> None:
    station = unit_create(
        actor=None, level=Level.STATION, name="三号网格站", code="T-S3", parent=tree.township
    )
    district = unit_create(actor=None, level=Level.DISTRICT, name="第四管区", code="T-D4", parent=station)
    villages = [
        unit_create(
            actor=None,
            level=Level.VILLAGE,
            name=f"新增{i}村",
            code=f"37142210530{i}",
            parent=district,
            tags=["软弱涣散村"] if i % 2 else [],
        )
        for i in range(n)
    ]
    targets_set(actor=admin, campaign=tree.campaign, amounts={v.pk: Decimal("40000.00") for v in villages})
    for i, v in enumerate(villages):
        make_entry(v, amount=f"{1000 + i}.00", status="verified")
        make_entry(v, amount="500.00", status="submitted")


def test_progress_page_runs_a_fixed_number_of_queries(client, personas, tree, make_entry):
    admin = personas["township_admin"]
    make_entry(tree.sunzhuang, status="verified")
    _login(client, admin)
    _progress_queries(client)  # warm-up (content types, session)
    small = _progress_queries(client)
    _grow(tree, admin, make_entry)
    response = client.get(reverse("progress") + "?year=2020&as_of=2020-04-17")
    assert len(_rows(response)) == 10
    assert _progress_queries(client) == small


def test_review_page_runs_a_fixed_number_of_queries(client, personas, tree, make_entry, make_evidence):
    make_entry(tree.sunzhuang, status="submitted")
    _login(client, personas["township_admin"])

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("review")).status_code == 200
        return len(ctx.captured_queries)

    count()
    small = count()
    for village in tree.villages:
        for _ in range(3):
            make_entry(village, status="submitted")
    assert count() == small


def test_village_page_runs_a_fixed_number_of_queries(client, personas, tree, make_entry):
    make_entry(tree.sunzhuang, status="verified")
    _login(client, personas["village_clerk"])
    url = reverse("village", args=[tree.sunzhuang.code]) + "?year=2020"

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    count()
    small = count()
    for day in range(1, 8):
        make_entry(tree.sunzhuang, date=datetime.date(2020, 2, day), status="verified")
        make_entry(tree.sunzhuang, date=datetime.date(2020, 3, day), status="draft")
    assert count() == small


def test_village_page_shows_target_ledger_and_chart(client, personas, april):
    _login(client, personas["village_clerk"])
    response = client.get(reverse("village", args=[april.sunzhuang.code]) + "?year=2020&as_of=2020-04-17")
    assert response.status_code == 200
    body = response.content.decode()
    assert "孙庄村 · 2020年" in body and "10.00万元" in body and "50,000.00 元" in body
    assert "7,000.00" not in body  # the 04-18 row is after the as-of date
    chart = json.loads(re.search(r'<script id="[^"]*" type="application/json">(.*?)</script>', body, re.S)[1])
    assert chart["cumulative"] == ["0.00", "0.00", "0.00", "50000.00"]  # Jan–Apr
    assert len(chart["time_line"]) == 12 and chart["time_line"][-1] == "100000.00"


# --- ledger entry ---------------------------------------------------------------------------------------


def test_entry_form_renders_for_the_clerk(client, personas, tree):
    _login(client, personas["village_clerk"])
    response = client.get(reverse("entry_new"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "录入收入" in body and "孙庄村" in body and "金额（元）" in body
    assert 'inputmode="decimal"' in body


@pytest.mark.parametrize(
    ("button", "status", "verb"),
    [("submit", Status.SUBMITTED, "已提交审核"), ("draft", Status.DRAFT, "已存为草稿")],
)
def test_entry_form_saves_with_a_chinese_message(client, personas, tree, button, status, verb):
    clerk = personas["village_clerk"]
    _login(client, clerk)
    response = client.post(
        reverse("entry_new"), entry_form(tree.sunzhuang, amount="12,345.60", **{button: "1"})
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("village", args=[tree.sunzhuang.code]) + "?year=2020"
    entry = Entry.objects.get()
    assert (entry.village, entry.amount, entry.status, entry.entered_by) == (
        tree.sunzhuang,
        Decimal("12345.60"),
        status,
        clerk,
    )
    assert entry.date == datetime.date(2020, 3, 5)
    page = client.get(response["Location"])
    assert _messages(page) == [f"{verb}：孙庄村 2020-03-05 12,345.60 元（1.23万元）"]
    assert "三月土地流转承包费" in page.content.decode()


def test_entry_form_save_and_another_returns_to_the_form(client, personas, tree):
    _login(client, personas["village_clerk"])
    response = client.post(reverse("entry_new"), entry_form(tree.sunzhuang, another="1"))
    assert response["Location"] == reverse("entry_new") + f"?village={tree.sunzhuang.code}"
    assert Entry.objects.get().status == Status.DRAFT


def test_entry_form_with_evidence(client, personas, tree):
    _login(client, personas["village_clerk"])
    upload = SimpleUploadedFile("合同.pdf", b"%PDF-1.4 contract", content_type="application/pdf")
    response = client.post(reverse("entry_new"), {**entry_form(tree.sunzhuang), "evidence": upload})
    assert response.status_code == 302
    evidence = Evidence.objects.get()
    assert (evidence.entry, evidence.original_name) == (Entry.objects.get(), "合同.pdf")


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("12.345", "两位小数"),
        ("1e5", "科学计数法"),
        ("NaN", "有限的数字"),
        ("一万二", "大写数字"),
        ("abc", "无法识别"),
        ("", "请填写金额"),
        ("0", "大于 0"),
        ("-100.00", "大于 0"),
    ],
)
def test_bad_amount_shows_a_chinese_error_at_the_amount_field(client, personas, tree, amount, message):
    _login(client, personas["village_clerk"])
    response = client.post(reverse("entry_new"), entry_form(tree.sunzhuang, amount=amount, submit="1"))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["amount"]
    assert message in errors["amount"][0]
    body = response.content.decode()
    amount_label = re.search(r"<label>金额（元）(.*?)</label>", body, re.S)
    assert amount_label and message in html.unescape(amount_label[1])
    assert not Entry.objects.exists()


def test_future_date_is_refused_at_the_date_field(client, personas, tree):
    _login(client, personas["village_clerk"])
    response = client.post(reverse("entry_new"), entry_form(tree.sunzhuang, date="2999-01-01"))
    assert response.status_code == 200
    assert "晚于今天" in response.context["form"].errors["date"][0]
    assert not Entry.objects.exists()


def test_returned_entry_is_corrected_and_resubmitted(client, personas, tree, make_entry):
    entry = make_entry(tree.sunzhuang, amount="1000.00", status="submitted")
    entry_return(actor=personas["station_head"], entries=[entry], reason="金额与凭证不符")
    _login(client, personas["village_clerk"])
    village = client.get(reverse("village", args=[tree.sunzhuang.code]) + "?year=2020")
    assert "退回原因：金额与凭证不符" in village.content.decode()
    form = client.get(reverse("entry_edit", args=[entry.pk]))
    assert 'value="1000.00"' in form.content.decode()
    response = client.post(
        reverse("entry_edit", args=[entry.pk]),
        edit_form(entry, amount="1100.00", submit="1"),
        follow=True,
    )
    assert _messages(response) == ["已保存并提交审核：孙庄村 1,100.00 元"]
    entry.refresh_from_db()
    assert (entry.status, entry.amount) == (Status.SUBMITTED, Decimal("1100.00"))


def test_draft_is_deleted_and_submitted(client, personas, tree, make_entry):
    draft = make_entry(tree.sunzhuang, amount="300.00")
    other = make_entry(tree.sunzhuang, amount="400.00")
    _login(client, personas["village_clerk"])
    response = client.post(reverse("entry_delete", args=[draft.pk]), follow=True)
    assert _messages(response) == ["已删除草稿：测试收入 300.00 元"]
    assert not Entry.objects.filter(pk=draft.pk).exists()
    response = client.post(reverse("entry_submit", args=[other.pk]), follow=True)
    assert _messages(response) == ["已提交审核：孙庄村 400.00 元"]
    assert Entry.objects.get(pk=other.pk).status == Status.SUBMITTED


def test_reverse_page_needs_a_reason_and_nets_to_zero(client, personas, tree, make_entry):
    entry = make_entry(tree.sunzhuang, amount="800.00", status="verified")
    before = entry_state(entry.pk)
    _login(client, personas["station_head"])
    response = client.post(reverse("entry_reverse", args=[entry.pk]), {"reason": "  "}, follow=True)
    assert _messages(response) == ["冲销必须填写原因"]
    assert entry_state(entry.pk) == before
    response = client.post(reverse("entry_reverse", args=[entry.pk]), {"reason": "重复录入"}, follow=True)
    assert _messages(response) == [
        "冲销待审核：孙庄村 2020-03-01 -800.00 元，须由他人审核通过后才从收入中扣除"
    ]
    reversal = Entry.objects.get(reverses=entry)
    _login(client, personas["township_admin"])  # a second person verifies it
    response = client.post(reverse("review"), {"action": "verify", "ids": [reversal.pk]}, follow=True)
    amounts = counted(Entry.objects.filter(village=tree.sunzhuang), 2020).values_list("amount", flat=True)
    assert sorted(amounts) == [Decimal("-800.00"), Decimal("800.00")]
    assert entry_state(entry.pk)[0] == before[0]  # the original row is untouched


# --- the verification queue -----------------------------------------------------------------------------


def test_review_verifies_many_at_once(client, personas, tree, make_entry):
    entries = [
        make_entry(tree.sunzhuang, amount="10000.00", status="submitted"),
        make_entry(tree.liudao, amount="2345.67", status="submitted"),
        make_entry(tree.yanglaotou, amount="5000.00", status="submitted"),
    ]
    untouched = make_entry(tree.sunzhuang, amount="1.00", status="submitted")
    head = personas["station_head"]
    _login(client, head)
    queue = client.get(reverse("review"))
    assert "共 4 条，合计 17,346.67 元（1.73万元）" in queue.content.decode()
    response = client.post(
        reverse("review"), {"action": "verify", "ids": [e.pk for e in entries]}, follow=True
    )
    assert _messages(response) == ["已审核 3 条，合计 1.73万元"]
    for e in entries:
        e.refresh_from_db()
        assert (e.status, e.reviewed_by) == (Status.VERIFIED, head)
    assert Entry.objects.get(pk=untouched.pk).status == Status.SUBMITTED
    assert "共 1 条" in response.content.decode()


def test_review_returns_many_with_a_reason(client, personas, tree, make_entry):
    entries = [make_entry(tree.sunzhuang, status="submitted"), make_entry(tree.liudao, status="submitted")]
    _login(client, personas["district_secretary"])
    response = client.post(
        reverse("review"),
        {"action": "return", "ids": [e.pk for e in entries], "reason": "缺少收入凭证"},
        follow=True,
    )
    assert _messages(response) == ["已退回 2 条：缺少收入凭证"]
    for e in entries:
        e.refresh_from_db()
        assert (e.status, e.return_reason) == (Status.RETURNED, "缺少收入凭证")
    assert "没有待审核的台账" in response.content.decode()


def test_review_refuses_an_empty_selection_and_unknown_actions(client, personas, tree, make_entry):
    entry = make_entry(tree.sunzhuang, status="submitted")
    before = entry_state(entry.pk)
    _login(client, personas["township_admin"])
    response = client.post(reverse("review"), {"action": "verify"}, follow=True)
    assert _messages(response) == ["请先勾选要审核或退回的记录"]
    response = client.post(reverse("review"), {"action": "delete", "ids": [entry.pk]}, follow=True)
    assert _messages(response) == ["未知操作"]
    assert entry_state(entry.pk) == before


# --- the targets grid -----------------------------------------------------------------------------------


def _grid(tree, **amounts: str) -> dict[str, str]:
    return targets_grid(tree.campaign, {getattr(tree, attr).pk: value for attr, value in amounts.items()})


def _field(tree, attr: str) -> str:
    """The name of a village's target input in the grid's formset."""
    ids = list(
        VillageTarget.objects.filter(campaign=tree.campaign)
        .order_by("village__path")
        .values_list("village_id", flat=True)
    )
    return f"t-{ids.index(getattr(tree, attr).pk)}-amount"


def _targets(tree) -> dict[str, Decimal]:
    return {
        t.village.name: t.amount
        for t in VillageTarget.objects.filter(campaign=tree.campaign).select_related("village")
    }


def test_targets_grid_renders_every_village(client, personas, tree):
    _login(client, personas["township_admin"])
    response = client.get(reverse("targets", args=[2020]))
    body = response.content.decode()
    for attr in ("sunzhuang", "liudao", "yanglaotou", "bianxiyang"):
        assert f'name="{_field(tree, attr)}"' in body
    assert 'value="100000.00"' in body


def test_targets_grid_saves(client, personas, tree):
    _login(client, personas["township_admin"])
    response = client.post(
        reverse("targets", args=[2020]), _grid(tree, sunzhuang="120,000.00", liudao="40000"), follow=True
    )
    assert _messages(response) == ["已保存：2 个村的目标有改动"]
    assert _targets(tree) == {
        "孙庄村": Decimal("120000.00"),
        "刘道村": Decimal("40000.00"),
        "杨老头村": Decimal("30000.00"),
        "编席杨村": Decimal("30000.00"),
    }


@pytest.mark.parametrize(
    ("amounts", "village", "message"),
    [
        ({"liudao": "20000.00", "sunzhuang": "150000.00"}, "刘道村", "低于基础线"),
        ({"sunzhuang": "150000.00", "yanglaotou": "abc"}, "杨老头村", "无法识别"),
        ({"bianxiyang": "30000.001"}, "编席杨村", "两位小数"),
    ],
)
def test_targets_grid_error_names_the_village_and_saves_nothing(
    client, personas, tree, amounts, village, message
):
    before = _targets(tree)
    _login(client, personas["township_admin"])
    response = client.post(reverse("targets", args=[2020]), _grid(tree, **amounts))
    assert response.status_code == 200
    errors = [m for m in _messages(response) if village in m]
    assert errors and message in errors[0]
    body = response.content.decode()
    assert re.search(rf'<span class="error">{village}：[^<]*{message}', body)
    assert _targets(tree) == before
    # What was typed stays in the grid to be corrected.
    for attr, value in amounts.items():
        assert re.search(rf'name="{_field(tree, attr)}" value="{re.escape(value)}"', body) or re.search(
            rf'value="{re.escape(value)}"[^>]*name="{_field(tree, attr)}"', body
        ), body


# --- the CLI prints the API's document -------------------------------------------------------------------


def test_cli_json_equals_the_api_document(client, personas, april):
    out = io.StringIO()
    call_command("progress", "--year", "2020", "--as-of", "2020-04-17", "--format", "json", stdout=out)
    _login(client, personas["township_admin"])
    api = client.get("/api/v1/progress?year=2020&as_of=2020-04-17").json()
    assert json.loads(out.getvalue()) == api
    assert api["totals"]["villages"] == 4 and api["totals"]["income"] == "99500.00"
    assert '"相衙镇"' in out.getvalue()


def test_cli_table_prints_the_same_figures(april):
    out = io.StringIO()
    call_command("progress", "--year", "2020", "--as-of", "2020-04-17", stdout=out)
    text = out.getvalue()
    assert "相衙镇 2020年村集体经济收入进度表  截至 2020-04-17" in text
    assert "时序进度 29.5%" in text
    rows = [re.match(r"^\s*(\d+)\s+(\S+)\s+(\S+村)\s", line) for line in text.splitlines()]
    assert [(m[1], m[2], m[3]) for m in rows if m] == [
        ("1", "—", "刘道村"),
        ("2", "▲2", "孙庄村"),
        ("3", "▼1", "杨老头村"),
        ("4", "▼1", "编席杨村"),
    ]


# --- evidence files and forms are safe ------------------------------------------------------------------

SAFE_INLINE = {"application/pdf", "image/jpeg", "image/png", "image/gif", "image/webp", "image/heic"}


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("收据.html", b"<script>alert(document.cookie)</script>", "text/html"),
        (
            "收据.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "image/svg+xml",
        ),
    ],
    ids=["html", "svg"],
)
def test_uploaded_evidence_is_never_served_as_active_content(
    client, personas, tree, name, content, content_type
):
    """A clerk's upload is opened by the station head in the app's origin: it must not run there."""
    _login(client, personas["village_clerk"])
    upload = SimpleUploadedFile(name, content, content_type=content_type)
    posted = client.post(reverse("entry_new"), {**entry_form(tree.sunzhuang), "evidence": upload})
    evidence = Evidence.objects.first()
    if evidence is None:  # refused at upload, with a Chinese reason at the evidence field: safe
        assert posted.status_code == 200
        assert re.search("[一-龥]", " ".join(posted.context["form"].errors["evidence"]))
        return
    _login(client, personas["station_head"])
    response = client.get(reverse("evidence_file", args=[evidence.pk]))
    b"".join(response.streaming_content)
    served_type = response["Content-Type"].split(";")[0].strip()
    attachment = response.get("Content-Disposition", "").startswith("attachment")
    assert attachment or served_type in SAFE_INLINE, (served_type, response.get("Content-Disposition"))


def test_page_posts_need_the_csrf_token(personas, tree, make_entry):
    entry = make_entry(tree.sunzhuang, status="submitted")
    before = entry_state(entry.pk)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(personas["station_head"])
    assert browser.post(reverse("review"), {"action": "verify", "ids": [entry.pk]}).status_code == 403
    assert entry_state(entry.pk) == before
    browser.force_login(personas["village_clerk"])
    assert browser.post(reverse("entry_new"), entry_form(tree.sunzhuang)).status_code == 403
    assert Entry.objects.count() == 1


def test_targets_page_opens_a_new_year(client, personas, tree):
    _login(client, personas["township_admin"])
    page = client.get(reverse("targets", args=[2021]))
    assert page.status_code == 200 and page.context["campaign"] is None
    response = client.post(
        reverse("targets", args=[2021]),
        {
            "action": "create",
            "township": tree.township.code,
            "baseline": "30000.00",
            "top_tier": "100000.00",
            "goal": "2",
            "categories": [str(c.pk) for c in Category.objects.filter(name__in=["经营收入", "投资收益"])],
        },
        follow=True,
    )
    assert _messages(response) == [
        "已建立 相衙镇2021 年度任务（基础线 30,000.00 元、强村线 100,000.00 元、"
        "计入目标的类别：经营收入、投资收益），各村目标默认为基础线"
    ]
    amounts = VillageTarget.objects.filter(campaign__year=2021).values_list("amount", flat=True)
    assert sorted(amounts) == [Decimal("30000.00")] * 4


@pytest.mark.parametrize(
    ("field", "value"),
    [("band_margin", "NaN"), ("band_margin", "100"), ("band_margin", "99.999"), ("goal", "-1")],
)
def test_bad_campaign_settings_are_refused_not_500(client, personas, tree, field, value):
    """Review finding: these answered 500; now a Chinese error and nothing saved."""
    client.force_login(personas["township_admin"])
    response = client.post(
        reverse("targets", args=[2020]), targets_grid(tree.campaign, **{field: value}), follow=True
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "黄牌容差" in page or "强村目标个数" in page
    tree.campaign.refresh_from_db()
    assert tree.campaign.band_margin == Decimal("10.00") and tree.campaign.goal_top_tier_villages == 1


def test_village_page_with_a_date_outside_the_year_is_404_not_500(client, personas, tree):
    client.force_login(personas["township_admin"])
    url = reverse("village", args=[tree.sunzhuang.code]) + "?year=2020&as_of=2021-01-05"
    assert client.get(url).status_code == 404


def test_station_head_withdraws_a_returned_reversal_on_the_page(client, personas, tree, make_entry):
    from qiangcun.ledger.services import entry_return, entry_reverse

    entry = make_entry(tree.sunzhuang, amount="800.00", status="verified")
    head = personas["station_head"]
    reversal = entry_reverse(actor=head, entry=entry, reason="重复录入")
    entry_return(actor=personas["township_admin"], entries=[reversal], reason="请核实")
    _login(client, head)
    page = client.get(reverse("village", args=[tree.sunzhuang.code]) + "?year=2020").content.decode()
    assert "（冲销被退回）" in page and "撤回" in page
    response = client.post(reverse("entry_delete", args=[reversal.pk]), follow=True)
    assert _messages(response)[0].startswith("已撤回冲销")
    assert not Entry.objects.filter(pk=reversal.pk).exists()
    _login(client, personas["leader"])  # someone else cannot
    other = entry_reverse(actor=head, entry=entry, reason="再冲")
    entry_return(actor=personas["township_admin"], entries=[other], reason="请核实")
    assert client.post(reverse("entry_delete", args=[other.pk])).status_code == 403
    assert Entry.objects.filter(pk=other.pk).exists()
