"""A village's ledger on its page comes 200 rows a page, newest first, with Chinese page links; the count
and the sum under the heading are over every row (in the database), not over the page shown."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from qiangcun.ledger.selectors import VILLAGE_PAGE_ROWS

from .test_export_jobs import insert_rows

pytestmark = pytest.mark.usefixtures("fast_hashing")

QUERY = "year=2020&as_of=2020-12-31"


def _rows(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr id="e(\d+)">', html)]


def _yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:,.2f}"


def test_the_village_ledger_pages_and_totals_cover_every_row(client, tree, personas, category, path):
    clerk, admin = personas["village_clerk"], personas["township_admin"]
    fen = insert_rows(tree.sunzhuang, 450, actor=clerk, reviewer=admin, category=category, path=path)
    insert_rows(tree.liudao, 30, actor=clerk, reviewer=admin, category=category, path=path)  # not shown
    from qiangcun.ledger.models import Entry

    newest_first = list(
        Entry.objects.filter(village=tree.sunzhuang).order_by("-date", "-id").values_list("id", flat=True)
    )
    client.force_login(clerk)
    url = f"/villages/{tree.sunzhuang.code}/?{QUERY}"
    with CaptureQueriesContext(connection) as first_page:
        html = client.get(url).content.decode()
    assert _rows(html) == newest_first[:VILLAGE_PAGE_ROWS]
    totals = re.search(r'id="ledger-totals">(.*?)</p>', html, re.S).group(1)
    assert "共 450 条" in totals and _yuan(fen) in totals and "本页第 1–200 条" in totals
    assert "第 1 / 3 页" in html and "下一页" in html and "末页" in html and "上一页" not in html

    html = client.get(url + "&page=3").content.decode()
    assert _rows(html) == newest_first[400:]
    assert _yuan(fen) in html and "共 450 条" in html  # the sum of all 450 rows on the last page too
    assert "第 3 / 3 页" in html and "上一页" in html and "首页" in html and "下一页" not in html
    links = re.findall(r'href="(\?[^"]*page=\d+[^"]*)"', html)
    assert any("page=2" in link and "as_of=2020-12-31" in link for link in links), links

    # a status filter narrows both the rows and the totals; the page number stays within range
    html = client.get(url + "&status=draft&page=9").content.decode()
    assert _rows(html) == [] and 'id="ledger-totals"' not in html

    # the page costs the same number of queries whatever page it is
    with CaptureQueriesContext(connection) as last_page:
        client.get(url + "&page=3")
    assert len(last_page) == len(first_page)


def test_a_short_ledger_has_no_page_links(client, tree, personas, make_entry):
    make_entry(tree.sunzhuang, amount="1234.56", date=datetime.date(2020, 3, 1), status="verified")
    make_entry(tree.sunzhuang, amount="65.44", date=datetime.date(2020, 3, 2), status="draft")
    client.force_login(personas["village_clerk"])
    html = client.get(f"/villages/{tree.sunzhuang.code}/?{QUERY}").content.decode()
    assert len(_rows(html)) == 2 and "共 2 条" in html and "1,300.00" in html
    assert "下一页" not in html and "本页第" not in html
