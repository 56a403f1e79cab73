"""Safe against the hand (issue 6 §4): a double tap makes one row, an identical row is asked about, every
amount the importer reads is read the same way on the page and the API (and echoed by the server), a
date outside the open campaign year or in the future is refused on every path, and a reversal says it
waits for verification."""

from __future__ import annotations

import datetime
import re
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone

from qiangcun.accounts.models import Role, User
from qiangcun.accounts.services import grant_create, user_create
from qiangcun.core.audit import ChangeRecord
from qiangcun.ledger.models import Entry, Status
from qiangcun.ledger.services import entry_reverse, entry_verify
from qiangcun.targets.services import campaign_create

from .conftest import api_entry, edit_form, entry_form

CHINESE = re.compile("[一-龥]")
API = "/api/v1/ledger"


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _post_api(client, body, key: str | None = None):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(API, body, content_type="application/json", headers=headers)


@pytest.fixture
def clerk(client, personas):
    client.force_login(personas["village_clerk"])
    return personas["village_clerk"]


# --- a double tap makes one row -------------------------------------------------------------------------


def test_double_tap_on_the_entry_form_makes_one_row_and_shows_it(client, clerk, tree):
    data = entry_form(tree.sunzhuang, submit="1")
    first = client.post(reverse("entry_new"), data)
    entry = Entry.objects.get()
    assert first["Location"] == reverse("village", args=[tree.sunzhuang.code]) + "?year=2020"
    second = client.post(reverse("entry_new"), data, follow=True)
    assert Entry.objects.count() == 1
    assert (
        second.redirect_chain[0][0]
        == reverse("village", args=[tree.sunzhuang.code]) + f"?year=2020#e{entry.pk}"
    )
    assert (
        _messages(second)[-1]
        == "这条记录刚才已经保存过，没有重复保存：孙庄村 2020-03-05 2,345.67 元（待审核）"
    )
    assert ChangeRecord.objects.filter(action="ledger.create").count() == 1


def test_the_form_carries_a_fresh_one_time_token(client, clerk, tree):
    tokens = set()
    for _ in range(2):
        body = client.get(reverse("entry_new")).content.decode()
        tokens.add(re.search(r'<input type="hidden" name="once" value="([^"]+)"', body)[1])
    assert len(tokens) == 2


def test_the_same_token_with_other_content_saves_nothing_and_gives_a_new_token(client, clerk, tree):
    data = entry_form(tree.sunzhuang)
    client.post(reverse("entry_new"), data)
    response = client.post(reverse("entry_new"), {**data, "amount": "999.00"})
    assert response.status_code == 200
    assert "另一次内容不同的提交" in response.context["form"].non_field_errors()[0]
    assert Entry.objects.count() == 1
    fresh = response.context["form"]["once"].value()
    assert fresh != data["once"]
    again = client.post(reverse("entry_new"), {**data, "amount": "999.00", "once": fresh})
    assert again.status_code == 302
    assert sorted(Entry.objects.values_list("amount", flat=True)) == [Decimal("999.00"), Decimal("2345.67")]


def test_a_form_without_its_token_saves_nothing(client, clerk, tree):
    data = entry_form(tree.sunzhuang)
    del data["once"]
    response = client.post(reverse("entry_new"), data)
    assert response.status_code == 200
    assert "页面已过期" in response.context["form"].non_field_errors()[0]
    assert response.context["form"]["once"].value()
    assert not Entry.objects.exists()


def test_double_tap_on_edit_and_submit_saves_once_and_shows_the_row(client, clerk, tree, make_entry):
    entry = make_entry(tree.sunzhuang, amount="1000.00", clerk=clerk)
    data = edit_form(entry, amount="1100.00", submit="1")
    client.post(reverse("entry_edit", args=[entry.pk]), data)
    second = client.post(reverse("entry_edit", args=[entry.pk]), data, follow=True)
    assert _messages(second)[-1].startswith(
        "这条记录刚才已经保存过，没有重复保存：孙庄村 2020-03-05 1,100.00 元"
    )
    assert not any("不能修改" in m for m in _messages(second))
    entry.refresh_from_db()
    assert (entry.status, entry.amount) == (Status.SUBMITTED, Decimal("1100.00"))
    assert ChangeRecord.objects.filter(action="ledger.submit", object_pk=str(entry.pk)).count() == 1


def test_api_idempotency_key_replays_the_first_answer(client, clerk, tree):
    key = str(uuid.uuid4())
    first = _post_api(client, api_entry(tree.sunzhuang), key)
    assert first.status_code == 201
    Entry.objects.filter(pk=first.json()["id"]).update(status=Status.SUBMITTED)  # the row moves on
    second = _post_api(client, api_entry(tree.sunzhuang), key)
    assert (second.status_code, second.json()) == (
        201,
        first.json(),
    )  # the same object (PostgreSQL may order keys)
    assert Entry.objects.count() == 1


def test_api_idempotency_key_with_another_body_is_409_in_chinese(client, clerk, tree):
    key = "order-2020-03-05-001"
    assert _post_api(client, api_entry(tree.sunzhuang), key).status_code == 201
    response = _post_api(client, api_entry(tree.sunzhuang, amount="1.00"), key)
    assert response.status_code == 409
    assert CHINESE.search(response.json()["detail"]) and response.json()["field"] == "Idempotency-Key"
    assert Entry.objects.count() == 1


def test_api_idempotency_key_is_per_user_and_expires_after_a_day(client, clerk, personas, tree):
    from qiangcun.ledger.models import RequestKey

    key = "same-key"
    assert _post_api(client, api_entry(tree.sunzhuang), key).status_code == 201
    # Another clerk of the same village may use the same key: it is theirs, not a replay.
    other = user_create(actor=None, username="clerk2", password="x-12345678", display_name="clerk2")
    grant_create(actor=None, user=other, role=Role.VILLAGE_CLERK, unit=tree.sunzhuang)
    client.force_login(other)
    body = api_entry(tree.sunzhuang, summary="四月土地流转承包费")
    assert _post_api(client, body, key).status_code == 201
    # A day later the key is new again.
    RequestKey.objects.update(created_at=timezone.now() - datetime.timedelta(hours=25))
    client.force_login(clerk)
    again = _post_api(client, api_entry(tree.sunzhuang, summary="五月土地流转承包费"), key)
    assert again.status_code == 201
    assert Entry.objects.count() == 3
    assert RequestKey.objects.filter(user=clerk).count() == 1  # the expired key was cleared


@pytest.mark.parametrize("key", ["", "x" * 129, "中文键", "has space"])
def test_api_refuses_a_malformed_idempotency_key(client, clerk, tree, key):
    response = _post_api(client, api_entry(tree.sunzhuang), key)
    assert response.status_code == 400
    assert CHINESE.search(response.json()["detail"])
    assert not Entry.objects.exists()


def test_without_a_key_the_api_still_asks_before_a_second_identical_row(client, clerk, tree):
    assert _post_api(client, api_entry(tree.sunzhuang)).status_code == 201
    response = _post_api(client, api_entry(tree.sunzhuang))
    assert response.status_code == 409
    assert Entry.objects.count() == 1


# --- an identical row is asked about --------------------------------------------------------------------


def test_the_form_asks_before_saving_an_identical_row(client, clerk, tree):
    client.post(reverse("entry_new"), entry_form(tree.sunzhuang))
    asked = client.post(reverse("entry_new"), entry_form(tree.sunzhuang))
    assert asked.status_code == 200
    body = asked.content.decode()
    assert "已有相同记录，仍要保存？" in body and 'name="confirm_duplicate"' in body
    assert Entry.objects.count() == 1
    token = asked.context["form"]["once"].value()
    confirmed = client.post(
        reverse("entry_new"), entry_form(tree.sunzhuang, once=token, confirm_duplicate="on")
    )
    assert confirmed.status_code == 302
    assert Entry.objects.count() == 2


def test_a_different_summary_or_a_reversed_row_is_not_asked_about(client, clerk, personas, tree, make_entry):
    original = make_entry(tree.sunzhuang, amount="2345.67", date=datetime.date(2020, 3, 5), status="verified")
    # Same village, date and amount as the form's row, another summary: not identical.
    assert client.post(reverse("entry_new"), entry_form(tree.sunzhuang)).status_code == 302
    assert (
        client.post(reverse("entry_new"), entry_form(tree.sunzhuang, summary="测试收入")).status_code == 200
    )
    reversal = entry_reverse(actor=personas["station_head"], entry=original, reason="金额录错")
    entry_verify(actor=personas["township_admin"], entries=[reversal])
    # The reversed row no longer counts as an existing one: entering it again is the correction.
    assert (
        client.post(reverse("entry_new"), entry_form(tree.sunzhuang, summary="测试收入")).status_code == 302
    )


def test_editing_a_row_into_a_copy_of_another_is_asked_about(client, clerk, tree, make_entry):
    make_entry(tree.sunzhuang, amount="2345.67", date=datetime.date(2020, 3, 5))
    entry = make_entry(tree.sunzhuang, amount="1.00", date=datetime.date(2020, 3, 5))
    response = client.post(reverse("entry_edit", args=[entry.pk]), edit_form(entry, summary="测试收入"))
    assert response.status_code == 200 and response.context["ask_duplicate"]
    entry.refresh_from_db()
    assert entry.amount == Decimal("1.00")
    # Saving a row unchanged is not a duplicate of itself.
    same = edit_form(entry, amount="1.00", summary="测试收入", counterparty="测试单位")
    assert client.post(reverse("entry_edit", args=[entry.pk]), same).status_code == 302


def test_the_api_refuses_an_identical_row_unless_confirmed(client, clerk, tree):
    assert _post_api(client, api_entry(tree.sunzhuang)).status_code == 201
    refused = _post_api(client, api_entry(tree.sunzhuang))
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith("已有相同记录，仍要保存？")
    assert "confirm_duplicate" in refused.json()["detail"]
    assert refused.json()["duplicates"] == [Entry.objects.get().pk]
    confirmed = _post_api(client, api_entry(tree.sunzhuang, confirm_duplicate=True))
    assert confirmed.status_code == 201
    assert Entry.objects.count() == 2


def test_the_review_queue_marks_likely_duplicates(client, personas, tree, make_entry):
    a = make_entry(tree.sunzhuang, amount="500.00", status="submitted")
    b = make_entry(tree.sunzhuang, amount="500.00", status="submitted")
    make_entry(tree.sunzhuang, amount="600.00", status="submitted")  # other amount
    make_entry(tree.liudao, amount="500.00", status="submitted")  # other village
    verified = make_entry(tree.yanglaotou, amount="700.00", status="verified")
    c = make_entry(tree.yanglaotou, amount="700.00", status="submitted")  # same as a verified row
    client.force_login(personas["station_head"])
    body = client.get(reverse("review")).content.decode()
    rows = re.findall(r'<tr class="review-row".*?</tr>', body, re.S)
    marked = {int(re.search(r'name="ids" value="(\d+)"', r)[1]) for r in rows if "疑似重复" in r}
    assert marked == {a.pk, b.pk, c.pk}
    assert verified.pk not in marked


# --- every amount the importer reads ---------------------------------------------------------------------

AMOUNTS = [
    ("１２０００", "12000.00"),
    ("1.2万", "12000.00"),
    ("壹万贰仟元", "12000.00"),
    ("壹万贰仟元整", "12000.00"),
    ("￥2,400", "2400.00"),
    ("6,800.00元", "6800.00"),
    ("12,345.60", "12345.60"),
]


@pytest.mark.parametrize(("typed", "value"), AMOUNTS)
def test_the_entry_form_reads_every_amount_the_importer_reads(client, clerk, tree, typed, value):
    response = client.post(reverse("entry_new"), entry_form(tree.sunzhuang, amount=typed))
    assert response.status_code == 302, response.context["form"].errors
    assert Entry.objects.get().amount == Decimal(value)


@pytest.mark.parametrize(("typed", "value"), AMOUNTS)
def test_the_api_reads_every_amount_the_importer_reads(client, clerk, tree, typed, value):
    response = _post_api(client, api_entry(tree.sunzhuang, amount=typed))
    assert response.status_code == 201, response.content
    assert response.json()["amount"] == value


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("12000", "<strong>壹万贰仟元整</strong> / 1.20万元"),
        ("1.2万", "<strong>壹万贰仟元整</strong> / 1.20万元"),
        ("壹万贰仟元", "<strong>壹万贰仟元整</strong> / 1.20万元"),
        ("１２０００.５", "<strong>壹万贰仟元伍角</strong> / 1.20万元"),
        ("40000", "<strong>肆万元整</strong> / 4.00万元"),
    ],
)
def test_the_server_echoes_the_amount_as_it_reads_it(client, clerk, typed, shown):
    response = client.get(reverse("amount_echo"), {"amount": typed})
    assert response.status_code == 200
    assert response.content.decode().strip() == shown


@pytest.mark.parametrize(
    ("typed", "reason"), [("1e5", "科学计数法"), ("12.345", "两位小数"), ("x" * 80, "太长")]
)
def test_the_echo_gives_the_readers_error_in_chinese(client, clerk, typed, reason):
    body = client.get(reverse("amount_echo"), {"amount": typed}).content.decode()
    assert 'class="error"' in body and reason in body


def test_the_echo_of_nothing_is_empty(client, clerk):
    assert client.get(reverse("amount_echo")).content.decode().strip() == ""


def test_the_entry_page_asks_the_server_and_the_script_writes_no_numerals(client, clerk, tree, make_entry):
    body = client.get(reverse("entry_new")).content.decode()
    assert f'hx-get="{reverse("amount_echo")}"' in body and 'id="amount-echo"' in body
    entry = make_entry(tree.sunzhuang, amount="12000.00", clerk=clerk)
    edit = client.get(reverse("entry_edit", args=[entry.pk])).content.decode()
    assert "<strong>壹万贰仟元整</strong> / 1.20万元" in edit  # echoed before any script runs
    script = (Path(django_settings.BASE_DIR) / "static" / "js" / "qiangcun.js").read_text(encoding="utf-8")
    assert not re.search("[零壹贰叁肆伍陆柒捌玖拾佰仟]", script)


# --- the open campaign year and no future dates ----------------------------------------------------------


@pytest.fixture
def april_17(settings):
    settings.TODAY = datetime.date(2020, 4, 17)


def test_the_form_refuses_a_date_of_a_closed_year(client, clerk, tree, april_17):
    response = client.post(reverse("entry_new"), entry_form(tree.sunzhuang, date="2019-12-31"))
    assert response.status_code == 200
    error = response.context["form"].errors["date"][0]
    assert "2019-12-31" in error and "已经结束的 2019 年度" in error and "2020 年" in error
    assert not Entry.objects.exists()


def test_edit_refuses_a_date_of_a_closed_year_or_the_future(client, clerk, tree, make_entry, april_17):
    entry = make_entry(tree.sunzhuang, amount="1000.00", clerk=clerk)
    url = reverse("entry_edit", args=[entry.pk])
    closed = client.post(url, edit_form(entry, date="2019-12-31"))
    assert "已经结束的 2019 年度" in closed.context["form"].errors["date"][0]
    future = client.post(url, edit_form(entry, date="2020-04-18"))
    assert "晚于今天" in future.context["form"].errors["date"][0]
    entry.refresh_from_db()
    assert (entry.date, entry.amount) == (datetime.date(2020, 3, 1), Decimal("1000.00"))


@pytest.mark.parametrize(
    ("date", "reason"), [("2019-12-31", "已经结束的 2019 年度"), ("2020-04-18", "晚于今天")]
)
def test_the_api_refuses_a_date_of_a_closed_year_or_the_future(client, clerk, tree, april_17, date, reason):
    response = _post_api(client, api_entry(tree.sunzhuang, date=date))
    assert response.status_code == 400
    assert response.json()["field"] == "date" and reason in response.json()["detail"]
    assert not Entry.objects.exists()


def test_a_year_without_a_campaign_of_the_villages_township_is_refused(
    client, clerk, personas, tree, other_township, settings
):
    settings.TODAY = datetime.date(2021, 1, 5)
    # Another township's 2021 campaign does not open 2021 for 孙庄村.
    campaign_create(
        actor=User.objects.get(username="other-admin"),
        township=other_township.township,
        year=2021,
        baseline=Decimal("30000.00"),
        top_tier=Decimal("100000.00"),
        goal_top_tier_villages=0,
    )
    response = client.post(reverse("entry_new"), entry_form(tree.sunzhuang, date="2021-01-04"))
    assert "2021 年还没有建立年度任务" in response.context["form"].errors["date"][0]
    response = client.post(reverse("entry_new"), entry_form(tree.sunzhuang, date="2020-12-31"))
    assert "已经结束的 2020 年度" in response.context["form"].errors["date"][0]
    assert not Entry.objects.exists()
    # Once its own township opens 2021, the row is taken.
    campaign_create(
        actor=personas["township_admin"],
        township=tree.township,
        year=2021,
        baseline=Decimal("30000.00"),
        top_tier=Decimal("100000.00"),
        goal_top_tier_villages=0,
    )
    response = client.post(reverse("entry_new"), entry_form(tree.sunzhuang, date="2021-01-04"))
    assert response.status_code == 302
    assert Entry.objects.get().date == datetime.date(2021, 1, 4)


# --- the reversal says it waits --------------------------------------------------------------------------


def test_the_reversal_message_says_it_waits_for_verification(client, personas, tree, make_entry):
    entry = make_entry(tree.sunzhuang, amount="800.00", status="verified")
    client.force_login(personas["station_head"])
    response = client.post(reverse("entry_reverse", args=[entry.pk]), {"reason": "重复录入"}, follow=True)
    (message,) = _messages(response)
    assert message.startswith("冲销待审核") and "已冲销" not in message
    assert "（冲销待审核）" in response.content.decode()
    reversal = Entry.objects.get(reverses=entry)
    entry_verify(actor=personas["township_admin"], entries=[reversal])
    page = client.get(reverse("village", args=[tree.sunzhuang.code]) + "?year=2020")
    assert "（已冲销）" in page.content.decode()
