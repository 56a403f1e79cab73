"""The opening paragraph of every bulletin of the demo year, read back claim by claim: each number and
each comparison word must agree with the snapshot's own rows, and nothing may be left unread."""

from __future__ import annotations

import datetime
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from django.db import connection, transaction

from qiangcun.demo import builder
from qiangcun.ledger import freeze
from qiangcun.orgs.models import OrgUnit
from qiangcun.supervision import snapshots, text
from qiangcun.supervision.weeks import weeks_of
from qiangcun.targets.selectors import progress

WAN = Decimal(10000)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        freeze.install(connection)
        assert builder.build() is True
        yield
        transaction.set_rollback(True)


@pytest.fixture
def township(demo, db):
    return OrgUnit.objects.get(code=builder.TOWNSHIP_CODE)


def _wan(amount: Decimal) -> str:
    return f"{(amount / WAN).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):f}"


def _day(d: datetime.date) -> tuple[int, int]:
    return d.month, d.day


def _threshold_text(amount: Decimal) -> str:
    return f"{(amount / WAN).normalize():f}万元" if amount >= WAN else f"{amount.normalize():f}元"


def read_back(paragraph: str, s: dict[str, Any]) -> list[str]:
    """Check every claim of ``paragraph`` against the rows of ``s``; returns the claims read. Fails on any
    disagreement and on any text left over."""
    villages = s["villages"]
    income = {v["name"]: Decimal(v["income"]) for v in villages}
    before = {v["name"]: Decimal(v["income_before"]) for v in villages}
    new = {n: income[n] - before[n] for n in income}
    target = sum((Decimal(v["target"]) for v in villages), Decimal(0))
    total = sum(income.values(), Decimal(0))
    total_new = total - sum(before.values(), Decimal(0))
    start, end = datetime.date.fromisoformat(s["start"]), datetime.date.fromisoformat(s["end"])
    read: list[str] = []
    rest = paragraph

    def take(pattern: str, *, optional: bool = False) -> re.Match[str] | None:
        nonlocal rest
        m = re.match(pattern, rest)
        if m is None:
            assert optional, f"expected {pattern!r} at: {rest[:80]!r}"
            return None
        rest = rest[m.end() :]
        read.append(m.group(0))
        return m

    m = take(
        r"本周（(\d+)月(\d+)日至(\d+)月(\d+)日），"
        r"(?:全镇新增村集体经营性收入(?P<up>[\d.]+)万元|全镇村集体经营性收入净减少(?P<down>[\d.]+)万元（含冲销）|(?P<none>全镇无新增村集体经营性收入))"
        r"，累计(?P<sum>[\d.]+)万元，完成年度目标(?P<done>[\d.]+)%，"
        r"(?:较时序进度（(?P<tp>[\d.]+)%）(?P<word>快|慢)(?P<gap>[\d.]+)个百分点|与时序进度（(?P<tp0>[\d.]+)%）持平)。"
    )
    assert m is not None
    assert (int(m[1]), int(m[2])) == _day(start) and (int(m[3]), int(m[4])) == _day(end)
    if m["up"]:
        assert total_new > 0 and m["up"] == _wan(total_new)
    elif m["down"]:
        assert total_new < 0 and m["down"] == _wan(-total_new)
    else:
        assert total_new == 0
    assert m["sum"] == _wan(total)
    completion = (total / target * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    assert Decimal(m["done"]) == completion
    tp_day = end.timetuple().tm_yday
    days = 366 if end.year % 4 == 0 else 365
    tp_exact = Decimal(tp_day) / Decimal(days)
    assert Decimal(m["tp"] or m["tp0"]) == (tp_exact * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    gap = ((total / target - tp_exact) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if m["word"] == "快":
        assert gap > 0 and Decimal(m["gap"]) == gap
    elif m["word"] == "慢":
        assert gap < 0 and Decimal(m["gap"]) == -gap
    else:
        assert gap == 0

    m = take(r"本周新增收入较多的是(.+?)。", optional=True)
    movers = sorted((n for n in new if new[n] > 0), key=lambda n: -new[n])
    if m is None:
        assert not movers
    else:
        named = re.findall(r"([^（、]+)（([\d.]+)万元）", m[1])
        assert 1 <= len(named) <= 3
        assert [n for n, _ in named] == [n for n in movers[: len(named)]] or all(
            new[n] == new[movers[i]] for i, (n, _) in enumerate(named)
        )
        assert len(named) == min(3, len(movers))
        for name, amount in named:
            assert amount == _wan(new[name])

    m = take(r"排名上升最多的是([^，]+)，上升(\d+)位，现列第(\d+)位。", optional=True)
    changes = {v["name"]: v["rank_change"] for v in villages}
    if m is None:
        assert max(changes.values(), default=0) <= 0
    else:
        assert int(m[2]) == changes[m[1]] == max(changes.values()) > 0
        assert int(m[3]) == next(v["rank"] for v in villages if v["name"] == m[1])

    if s["baseline"] is not None:
        base, top = Decimal(s["baseline"]), Decimal(s["top_tier"])
        reached = {n for n in income if before[n] < base <= income[n]}
        reached_top = {n for n in income if before[n] < top <= income[n]}
        m = take(r"本周(首次达到.+?)。", optional=True)
        said: dict[str, set[str]] = {}
        if m is not None:
            for part in m[1].split("；"):
                k = re.fullmatch(r"首次达到(.+?)的有(.+)", part)
                assert k is not None, part
                said[k[1]] = set(k[2].split("、"))
        assert said.get(_threshold_text(base), set()) == reached
        assert said.get(_threshold_text(top), set()) == reached_top
        assert set(said) <= {_threshold_text(base), _threshold_text(top)}
        m = take(
            r"截至(\d+)月(\d+)日，全镇(\d+)个村达到([^，]+)，(\d+)个村达到([^（。]+)(?:（目标(\d+)个）)?。"
        )
        assert m is not None
        assert (int(m[1]), int(m[2])) == _day(end)
        assert int(m[3]) == sum(1 for n in income if income[n] >= base) and m[4] == _threshold_text(base)
        assert int(m[5]) == sum(1 for n in income if income[n] >= top) and m[6] == _threshold_text(top)
        assert (int(m[7]) if m[7] else 0) == s["goal_top_tier"]

    m = take(r"红色预警(\d+)个村，黄色预警(\d+)个村，绿色(\d+)个村。")
    assert m is not None
    for group, band in ((1, "red"), (2, "yellow"), (3, "green")):
        assert int(m[group]) == sum(1 for v in villages if v["band"] == band)

    zero = [n for n in income if income[n] <= 0]
    m = take(r"仍有(\d+)个村收入为零：(.+?)(等)?。", optional=True)
    if m is None:
        take("全镇已无收入为零的村。")
        assert not zero
    else:
        names = m[2].split("、")
        assert int(m[1]) == len(zero) and set(names) <= set(zero)
        assert bool(m[3]) == (len(zero) > len(names))
    assert rest == "", f"unread text: {rest!r}"
    return read


def test_every_week_of_the_demo_year_reads_back_and_matches_the_progress_table(township):
    from qiangcun.supervision.snapshots import TownshipBoard

    weeks = weeks_of(2020, 4)
    seen_words = set()
    for week in weeks:
        s = snapshots.take(township=township, week=week, issuer="相衙镇党建办公室", issued_on=week.end)
        s["number"] = week.number
        paragraph = text.summary(s)
        read = read_back(paragraph, s)
        seen_words.update(w for w in ("快", "慢", "首次", "新增", "为零") if w in paragraph)
        assert len(read) >= 4
        # The snapshot's figures are the progress table's as of the week's last day.
        p = progress(user=TownshipBoard(township.path), unit=township, year=2020, as_of=week.end)
        assert s["totals"]["income"] == f"{p.totals.income:.2f}"
        assert s["totals"]["target"] == f"{p.totals.target:.2f}"
        assert s["totals"]["at_baseline"] == p.totals.at_baseline
        assert [(v["code"], v["income"], v["rank"], v["band"]) for v in s["villages"]] == [
            (r.code, f"{r.income:.2f}", r.rank, r.band) for r in p.villages
        ]
    # The demo year exercises both directions of the comparison and the firsts.
    assert {"快", "首次", "新增", "为零"} <= seen_words


def _synthetic(**totals: Any) -> dict[str, Any]:
    villages = [
        {
            "code": "v1",
            "name": "甲村",
            "income": "0.00",
            "income_before": "500.00",
            "target": "30000.00",
            "band": "red",
            "rank": 2,
            "rank_change": -1,
            "new": "-500.00",
            "reached_baseline": False,
            "reached_top_tier": False,
        },
        {
            "code": "v2",
            "name": "乙村",
            "income": "9000.00",
            "income_before": "9000.00",
            "target": "30000.00",
            "band": "yellow",
            "rank": 1,
            "rank_change": 1,
            "new": "0.00",
            "reached_baseline": False,
            "reached_top_tier": False,
        },
    ]
    return {
        "start": "2020-04-11",
        "end": "2020-04-17",
        "time_progress": "29.5",
        "baseline": "30000.00",
        "top_tier": "100000.00",
        "goal_top_tier": 0,
        "movers": [],
        "villages": villages,
        "totals": {
            "new": "-500.00",
            "income": "9000.00",
            "completion": "15.0",
            "gap": "-14.5",
            "at_baseline": 0,
            "at_top_tier": 0,
            "bands": {"red": 1, "yellow": 1, "green": 0},
            **totals,
        },
    }


def test_a_week_that_lost_income_and_lags_says_so():
    s = _synthetic()
    paragraph = text.summary(s)
    assert "净减少0.05万元（含冲销）" in paragraph and "慢14.5个百分点" in paragraph
    read_back(paragraph, s)


def test_a_wrong_word_or_number_is_caught():
    s = _synthetic()
    paragraph = text.summary(s)
    for wrong in (
        paragraph.replace("慢14.5", "快14.5"),
        paragraph.replace("累计0.90万元", "累计0.91万元"),
        paragraph.replace("红色预警1个村", "红色预警2个村"),
        paragraph + "另有3个村。",
    ):
        with pytest.raises(AssertionError):
            read_back(wrong, s)


def test_the_demo_issues_every_week_of_2020_with_one_command(township, tmp_path, monkeypatch):
    """Files are rendered for real for the year's last week only: the 52 others get stand-in bytes
    derived from their snapshot (rendering is tested in tests/reports; 53 real PDFs cost ~2 minutes)."""
    import hashlib
    import io
    import json

    from django.core.management import call_command

    from qiangcun.supervision import documents

    real_render, calls = documents.render, []

    def render(s, summary):
        calls.append(s)
        if len(calls) == 53:
            return real_render(s, summary)
        digest = hashlib.sha256((json.dumps(s, sort_keys=True) + summary).encode()).hexdigest().encode()
        return b"docx:" + digest, b"pdf:" + digest

    monkeypatch.setattr(documents, "render", render)

    from qiangcun.core.audit import ChangeRecord
    from qiangcun.supervision.models import Bulletin
    from qiangcun.supervision.snapshots import TownshipBoard

    shipped = list(
        Bulletin.objects.filter(township=township).order_by("number").values_list("week", "number")
    )
    assert shipped == [(w, w) for w in range(1, 17)]  # the demo stands on 17 April: 第1–16期
    out = io.StringIO()
    call_command("bulletin", township=township.code, year="2020", issue=True, out=str(tmp_path), stdout=out)
    paths = out.getvalue().splitlines()
    assert len(paths) == 2 * 53 and all(p.startswith(str(tmp_path)) for p in paths)
    issued = list(Bulletin.objects.filter(township=township, year=2020).order_by("week"))
    assert [(b.week, b.number) for b in issued] == [(w, w) for w in range(1, 54)]
    for b in issued:
        p = progress(user=TownshipBoard(township.path), unit=township, year=2020, as_of=b.week_end)
        assert (b.snapshot["totals"]["income"], b.snapshot["totals"]["at_baseline"]) == (
            f"{p.totals.income:.2f}",
            p.totals.at_baseline,
        ), b.week_label
        assert b.docx_sha256 and b.pdf_sha256
    assert issued[-1].week_end == datetime.date(2020, 12, 31)
    state = list(Bulletin.objects.order_by("pk").values_list("pk", "number", "docx_sha256", "pdf_sha256"))
    records = ChangeRecord.objects.filter(ok=True).count()
    again = io.StringIO()
    call_command("bulletin", township=township.code, year="2020", issue=True, out=str(tmp_path), stdout=again)
    assert (
        list(Bulletin.objects.order_by("pk").values_list("pk", "number", "docx_sha256", "pdf_sha256"))
        == state
    )
    assert ChangeRecord.objects.filter(ok=True).count() == records  # issuing twice changes nothing
    assert len(calls) == 53  # each week's files once: the second run renders nothing
    with open(paths[-1], "rb") as fh:
        assert fh.read() == bytes(issued[-1].pdf)
    assert bytes(issued[-1].pdf).startswith(b"%PDF")
