"""The progress table (进度表, the 擂台): one selector; the page, the API and the CLI all call it."""

from __future__ import annotations

import calendar
import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection
from django.db.models import F, Max, Q, QuerySet

from qiangcun.core.clock import today
from qiangcun.core.errors import NotFoundError, PermissionDeniedError, ServiceError
from qiangcun.core.money import from_fen, pct1
from qiangcun.core.params import year_param
from qiangcun.core.scope import Action, allowed, path_q, scope_paths
from qiangcun.ledger.models import Entry, MonthIncome, Recognition, Status, YearIncome
from qiangcun.orgs.models import ABOVE_TOWNSHIP, CHILD_LEVEL, Level, OrgUnit
from qiangcun.orgs.selectors import township_codes_seen, unit_for
from qiangcun.targets.models import Campaign, CampaignQuerySet, VillageTarget

FOUR = Decimal("0.0001")
ZERO = Decimal("0.00")
RANK_WINDOW_DAYS = 7

BAND_LABELS = {"green": "领先", "yellow": "稍慢", "red": "落后"}
BAND_ICONS = {"green": "●", "yellow": "▲", "red": "■"}


def q4(value: Decimal) -> Decimal:
    """Four places, half up; never a negative zero ("-0.0000")."""
    result = value.quantize(FOUR, rounding=ROUND_HALF_UP)
    return result if result else abs(result)


def _counted_categories(rows: QuerySet[Any], year: int, township: OrgUnit | None) -> QuerySet[Any]:
    """``rows`` (ledger rows or roll-up lines: anything with a village and a category) narrowed to the
    categories ``year``'s campaign counts (``Campaign.counted_categories`` of the village's township —
    each year keeps its own set). Still one query, however many townships: joined through the village's
    target of that year. Given the ``township`` (rows of its villages only), its year's set is a
    subquery instead — on 100,000 rows as fast as a per-category flag, where the join costs about a
    third more."""
    if township is not None:
        sets = Campaign.counted_categories.through.objects.filter(
            campaign__township=township, campaign__year=year
        )
        return rows.filter(
            village__path__startswith=township.path, category_id__in=sets.values("category_id")
        )
    return rows.filter(
        village__targets__campaign__year=year,
        village__targets__campaign__counted_categories=F("category"),
    )


def counted(entries: QuerySet[Entry], year: int, *, township: OrgUnit | None = None) -> QuerySet[Entry]:
    """The rows of ``entries`` that count toward ``year``'s targets with their own amount on their own
    date: verified, dated in the year, in a category the year's campaign counts (see
    :func:`_counted_categories`), not spread over years — a spread row counts by its yearly shares
    (:func:`counted_shares`); every sum of counted income adds both."""
    verified = entries.filter(
        status=Status.VERIFIED,
        spread=False,
        date__gte=datetime.date(year, 1, 1),
        date__lte=datetime.date(year, 12, 31),
    )
    return _counted_categories(verified, year, township)


def counted_shares(
    shares: QuerySet[Recognition], year: int, *, township: OrgUnit | None = None
) -> QuerySet[Recognition]:
    """The yearly shares (``ledger.Recognition``) of verified spread rows that count toward ``year``'s
    targets, dated in the year — the other half of :func:`counted`."""
    verified = shares.filter(
        entry__status=Status.VERIFIED,
        date__gte=datetime.date(year, 1, 1),
        date__lte=datetime.date(year, 12, 31),
    )
    return _counted_categories(verified, year, township)


#: Counted verified income per village as of a day and seven days before, in one statement. The
#: counted categories are the year's campaign's of each village's township (joined through the village's
#: target of the year, as ``counted`` does). Hand-written: the ORM spends longer building these grouped
#: queries than the database spends running them (about 5 ms against 1 ms for a township).
#: Each part gives, per village, what it adds to the income as of ``as_of`` and as of ``before``.
_JOINS = """
JOIN {units} v ON v.id = {alias}.village_id
JOIN {targets} t ON t.village_id = {alias}.village_id
JOIN {campaigns} c ON c.id = t.campaign_id AND c.year = %(year)s
JOIN {counted} cc ON cc.campaign_id = c.id AND cc.category_id = {category}
"""
#: Forwards (an early day of the year): the whole months before the day's month from the monthly lines,
#: then the ledger's rows from the first of ``before``'s month to the day.
_INCOME_FORWARD_SQL = """
SELECT m.village_id,
       SUM(m.amount),
       SUM(CASE WHEN m.month < %(month_before)s THEN m.amount ELSE 0 END)
FROM {rollup} m {joins_m}
WHERE m.month >= %(jan1)s AND m.month < %(month_now)s AND v.path LIKE %(prefix)s ESCAPE '!'
GROUP BY m.village_id
UNION ALL
SELECT e.village_id,
       SUM(CASE WHEN e.date >= %(month_now)s THEN e.amount ELSE 0 END),
       SUM(CASE WHEN e.date <= %(before)s THEN e.amount ELSE 0 END)
FROM {ledger} e {joins_e}
WHERE e.status = %(verified)s AND e.date >= %(month_before)s AND e.date <= %(as_of)s AND e.spread = %(no)s
  AND v.path LIKE %(prefix)s ESCAPE '!'
GROUP BY e.village_id
UNION ALL
SELECT r.village_id,
       SUM(CASE WHEN r.date >= %(month_now)s THEN r.amount ELSE 0 END),
       SUM(CASE WHEN r.date <= %(before)s THEN r.amount ELSE 0 END)
FROM {shares} r JOIN {ledger} re ON re.id = r.entry_id {joins_r}
WHERE re.status = %(verified)s AND r.date >= %(month_before)s AND r.date <= %(as_of)s
  AND v.path LIKE %(prefix)s ESCAPE '!'
GROUP BY r.village_id
"""
#: Backwards (a late day, and "today": nothing is dated after it): the year's lines, less the whole
#: months after the day's month, less the ledger's rows after ``before`` up to the end of the day's month.
_INCOME_BACKWARD_SQL = """
SELECT y.village_id, SUM(y.amount), SUM(y.amount)
FROM {year_rollup} y {joins_y}
WHERE y.year = %(year)s AND v.path LIKE %(prefix)s ESCAPE '!'
GROUP BY y.village_id
UNION ALL
SELECT m.village_id, -SUM(m.amount), -SUM(m.amount)
FROM {rollup} m {joins_m}
WHERE m.month > %(month_now)s AND m.month <= %(dec1)s AND v.path LIKE %(prefix)s ESCAPE '!'
GROUP BY m.village_id
UNION ALL
SELECT e.village_id,
       -SUM(CASE WHEN e.date > %(as_of)s THEN e.amount ELSE 0 END),
       -SUM(e.amount)
FROM {ledger} e {joins_e}
WHERE e.status = %(verified)s AND e.date > %(before)s AND e.date >= %(jan1)s AND e.date < %(month_next)s
  AND e.spread = %(no)s AND v.path LIKE %(prefix)s ESCAPE '!'
GROUP BY e.village_id
UNION ALL
SELECT r.village_id,
       -SUM(CASE WHEN r.date > %(as_of)s THEN r.amount ELSE 0 END),
       -SUM(r.amount)
FROM {shares} r JOIN {ledger} re ON re.id = r.entry_id {joins_r}
WHERE re.status = %(verified)s AND r.date > %(before)s AND r.date >= %(jan1)s AND r.date < %(month_next)s
  AND v.path LIKE %(prefix)s ESCAPE '!'
GROUP BY r.village_id
"""


def _like_prefix(text: str) -> str:
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"


def counted_income(
    root: OrgUnit, year: int, as_of: datetime.date, before: datetime.date
) -> dict[int, tuple[Decimal, Decimal]]:
    """Counted verified income of every village under ``root`` in ``year``, as of ``as_of`` and as of
    ``before`` (both inclusive; ``before`` ≤ ``as_of``): village id → (income, income before).

    From the roll-up kept in the verifying transaction and the ledger's last weeks: for a day in the
    first half of the year, the monthly lines (``MonthIncome``) of the months before it; for a later
    day, the year's lines (``YearIncome``) less the months after it — as of today, nothing — so a
    province's table "as of today" reads one line per village and category, not one per month. The
    ledger itself gives at most about five weeks of rows either way. The same figures as summing the
    ledger (tested, on both paths)."""
    sql, params = income_statement(root, year, as_of, before)
    fen: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for village, now, then in cursor.fetchall():
            line = fen[village]
            line[0] += int(now or 0)
            line[1] += int(then or 0)
    return {village: (from_fen(now), from_fen(then)) for village, (now, then) in fen.items()}


def income_statement(
    root: OrgUnit, year: int, as_of: datetime.date, before: datetime.date
) -> tuple[str, dict[str, Any]]:
    """The SQL and parameters of :func:`counted_income` (also for ``bench/explain.py``)."""
    jan1 = datetime.date(year, 1, 1)
    month_now = as_of.replace(day=1)
    month_before = max(before.replace(day=1), jan1)
    month_next = (month_now + datetime.timedelta(days=32)).replace(day=1)
    ops = connection.ops
    tables = {
        "rollup": ops.quote_name(MonthIncome._meta.db_table),
        "year_rollup": ops.quote_name(YearIncome._meta.db_table),
        "ledger": ops.quote_name(Entry._meta.db_table),
        "shares": ops.quote_name(Recognition._meta.db_table),
    }
    names = {
        "units": ops.quote_name(OrgUnit._meta.db_table),
        "targets": ops.quote_name(VillageTarget._meta.db_table),
        "campaigns": ops.quote_name(Campaign._meta.db_table),
        "counted": ops.quote_name(Campaign.counted_categories.through._meta.db_table),
    }
    # The ledger's rows come by their (status, date) index, never by category: "+ 0" keeps PostgreSQL
    # from looping over the counted categories into the category index (a county: 72 → 45 ms).
    categories = {"m": "m.category_id", "y": "y.category_id", "e": "e.category_id + 0", "r": "r.category_id"}
    joins = {
        f"joins_{a}": _JOINS.format(alias=a, category=categories[a], **names) for a in ("m", "e", "y", "r")
    }
    backward = as_of.month >= 7
    sql = (_INCOME_BACKWARD_SQL if backward else _INCOME_FORWARD_SQL).format(**tables, **joins)
    day = ops.adapt_datefield_value
    params = {
        "year": year,
        "jan1": day(jan1),
        "dec1": day(datetime.date(year, 12, 1)),
        "month_now": day(month_now),
        "month_before": day(month_before),
        "month_next": day(month_next),
        "before": day(before),
        "as_of": day(as_of),
        "prefix": _like_prefix(root.path),
        "verified": Status.VERIFIED.value,
        "no": False,
    }
    return sql, params


def settings_lock(campaign: Campaign) -> str | None:
    """Why the year's baseline, top tier and counted categories may no longer change — a verified
    ledger row of the township in that year exists — or ``None`` while they may."""
    verified = Entry.objects.filter(
        status=Status.VERIFIED,
        village__path__startswith=campaign.township.path,
        date__gte=datetime.date(campaign.year, 1, 1),
        date__lte=datetime.date(campaign.year, 12, 31),
    )
    # A verified lump sum of an earlier year whose share counts in this one locks it too.
    shares = Recognition.objects.filter(
        entry__status=Status.VERIFIED,
        village__path__startswith=campaign.township.path,
        year=campaign.year,
    )
    if verified.exists() or shares.exists():
        return f"{campaign.year} 年已有审核通过的台账，基础线、强村线和计入目标的类别已锁定"
    return None


def time_progress(as_of: datetime.date) -> Decimal:
    """Share of the year elapsed on ``as_of``, the day itself included: 108/366 on 2020-04-17."""
    days = 366 if calendar.isleap(as_of.year) else 365
    return Decimal(as_of.timetuple().tm_yday) / Decimal(days)


def default_as_of(year: int) -> datetime.date:
    now = today()
    if year == now.year:
        return now
    if year < now.year:
        return datetime.date(year, 12, 31)
    return datetime.date(year, 1, 1)


def band_for(income: Decimal, gap: Decimal, margin_points: Decimal) -> str:
    """green: on or ahead of time progress; yellow: behind by at most the margin; red: further
    behind, or no income at all."""
    if income <= 0:
        return "red"
    if gap >= 0:
        return "green"
    if -gap <= margin_points / 100:
        return "yellow"
    return "red"


@dataclass
class VillageProgress:
    id: int
    code: str
    name: str
    path: str
    station: str
    district: str
    station_code: str
    district_code: str
    target: Decimal
    income: Decimal
    income_before: Decimal
    baseline: Decimal
    top_tier: Decimal
    completion_exact: Decimal
    completion: Decimal
    gap: Decimal
    band: str
    completion_before: Decimal = Decimal(0)
    gap_exact: Decimal = Decimal(0)
    rank: int = 0
    rank_before: int = 0
    tags: list[str] = field(default_factory=list)
    #: Whether the user may open this village's page (its ledger rows); the board itself is public.
    can_open: bool = False

    @property
    def rank_change(self) -> int:
        return self.rank_before - self.rank

    @property
    def completion_pct(self) -> Decimal:
        return pct1(self.completion_exact)

    @property
    def gap_points(self) -> Decimal:
        return pct1(self.gap_exact)

    @property
    def shortfall(self) -> Decimal:
        """Yuan still missing to the target (0 when reached)."""
        return max(self.target - self.income, ZERO)

    @property
    def band_label(self) -> str:
        return BAND_LABELS[self.band]

    @property
    def band_icon(self) -> str:
        return BAND_ICONS[self.band]

    @property
    def is_top_target(self) -> bool:
        return self.target >= self.top_tier


@dataclass
class Rollup:
    code: str
    name: str
    level: str
    villages: int = 0
    target: Decimal = ZERO
    income: Decimal = ZERO
    at_baseline: int = 0
    at_top_tier: int = 0
    top_targets: int = 0
    bands: dict[str, int] = field(default_factory=lambda: {"green": 0, "yellow": 0, "red": 0})
    #: How many villages the unit has on the whole board; more than ``villages`` when a filter hides some.
    all_villages: int = 0

    @property
    def partial(self) -> bool:
        return self.all_villages > self.villages

    @property
    def level_label(self) -> str:
        return str(Level(self.level).label)

    def add(self, row: VillageProgress) -> None:
        self.add_figures(row.target, row.income, row.baseline, row.top_tier, row.band)

    def add_figures(
        self, target: Decimal, income: Decimal, baseline: Decimal, top_tier: Decimal, band: str
    ) -> None:
        self.villages += 1
        self.all_villages += 1
        self.target += target
        self.income += income
        self.at_baseline += income >= baseline
        self.at_top_tier += income >= top_tier
        self.top_targets += target >= top_tier
        self.bands[band] += 1

    @property
    def completion_exact(self) -> Decimal:
        return self.income / self.target if self.target else Decimal(0)

    @property
    def completion(self) -> Decimal:
        return q4(self.completion_exact)


@dataclass
class Progress:
    """The rows of a progress table and the figures that describe exactly those rows.

    ``villages`` are the rows shown, ranked among their whole township (the 擂台's rank); ``totals``,
    ``stations`` and ``districts`` add up exactly these rows. :meth:`only` narrows to fewer rows (a
    filter) and recomputes every figure from them; ranks never change."""

    year: int
    as_of: datetime.date
    unit: OrgUnit
    time_progress: Decimal
    totals: Rollup
    villages: list[VillageProgress]
    stations: list[Rollup]
    districts: list[Rollup]
    campaign: Campaign | None
    #: Villages per station/district code on the whole board (to say when a roll-up is partial).
    board_counts: dict[str, int] = field(default_factory=dict)

    @property
    def gap_exact(self) -> Decimal:
        return self.totals.completion_exact - self.time_progress

    @property
    def gap(self) -> Decimal:
        return q4(self.gap_exact)

    @property
    def band(self) -> str:
        """The band of the rows taken together, by the same rule as a village's."""
        margin = self.campaign.band_margin if self.campaign else Decimal("10")
        return band_for(self.totals.income, self.gap_exact, margin)

    @property
    def band_label(self) -> str:
        return BAND_LABELS[self.band]

    def only(self, rows: list[VillageProgress]) -> Progress:
        """The same table narrowed to ``rows`` (in their order): every total and roll-up is recomputed
        from them, the ranks stay the township's."""
        totals, stations, districts = _summarize(self.unit, rows, self.board_counts)
        return Progress(
            year=self.year,
            as_of=self.as_of,
            unit=self.unit,
            time_progress=self.time_progress,
            totals=totals,
            villages=rows,
            stations=stations,
            districts=districts,
            campaign=self.campaign,
            board_counts=self.board_counts,
        )


def _summarize(
    unit: OrgUnit, rows: list[VillageProgress], board_counts: dict[str, int]
) -> tuple[Rollup, list[Rollup], list[Rollup]]:
    totals = Rollup(code=unit.code, name=unit.name, level=unit.level)
    stations: dict[str, Rollup] = {}
    districts: dict[str, Rollup] = {}
    for row in rows:
        totals.add(row)
        if row.station_code:
            stations.setdefault(row.station_code, Rollup(row.station_code, row.station, Level.STATION)).add(
                row
            )
        if row.district_code:
            districts.setdefault(
                row.district_code, Rollup(row.district_code, row.district, Level.DISTRICT)
            ).add(row)
    totals.all_villages = board_counts.get(unit.code, len(rows))
    for rollup in [*stations.values(), *districts.values()]:
        rollup.all_villages = board_counts.get(rollup.code, rollup.villages)
    return (
        totals,
        sorted(stations.values(), key=lambda r: r.code),
        sorted(districts.values(), key=lambda r: r.code),
    )


def board_root(unit: OrgUnit) -> OrgUnit:
    """The unit whose villages a rank is taken among: the township at or above ``unit`` (a county, city
    or province, above every township, ranks each township's villages among themselves)."""
    if unit.level == Level.TOWNSHIP or unit.level in ABOVE_TOWNSHIP:
        return unit
    township = OrgUnit.objects.filter(code__in=unit.ancestor_codes(), level=Level.TOWNSHIP).first()
    return township or unit


def can_see_board(user: Any, unit: OrgUnit) -> bool:
    """The 擂台 is public within its township: anyone who may view any unit of a township (or above it)
    sees its whole progress table. Ledger rows, evidence and village pages stay within scope."""
    root = board_root(unit)
    return any(
        root.path.startswith(p) or (p.startswith(root.path) and root.level not in ABOVE_TOWNSHIP)
        for p in scope_paths(user, Action.VIEW)
    )


def entry_years(village: OrgUnit) -> list[int]:
    """The open campaign years of ``village``, for which its rows may be entered by hand: years its
    township has a campaign for, not before the current year (earlier years come in by import only).
    Registered with the ledger (``ledger.selectors.open_years``) when the app starts."""
    township = board_root(village)
    years = Campaign.objects.filter(township=township, year__gte=today().year).values_list("year", flat=True)
    return sorted(years)


def _rank(rows: list[VillageProgress], key_income: str, key_completion: str, attr: str) -> None:
    ordered = sorted(rows, key=lambda r: (-getattr(r, key_completion), -getattr(r, key_income), r.code))
    previous: tuple[Decimal, Decimal] | None = None
    rank = 0
    for position, row in enumerate(ordered, start=1):
        key = (getattr(row, key_completion), getattr(row, key_income))
        if key != previous:
            rank = position
            previous = key
        setattr(row, attr, rank)


def board_unit(user: Any, code: str | None = None) -> OrgUnit:
    """The unit whose progress table a page, the API or the command line asks for: the unit named by
    ``code`` if the user may see its board, else the township (or county) of the user's widest unit.
    The one place that chooses; raises :class:`NotFoundError` / :class:`PermissionDeniedError`."""
    if code:
        unit = OrgUnit.objects.filter(code=code).first()
        if unit is None:
            raise NotFoundError(f"没有代码为 {code[:24]} 的单位")
        if not (allowed(user, Action.VIEW, unit.path) or can_see_board(user, unit)):
            raise PermissionDeniedError("该单位不在您的管辖范围内")
        return unit
    return board_root(unit_for(user, None, Action.VIEW))


def campaigns_seen(user: Any) -> CampaignQuerySet:
    """Campaigns of the townships whose board the user sees."""
    paths, codes = township_codes_seen(user)
    return Campaign.objects.filter(Q(township__code__in=codes) | path_q("township__path", paths))


def board_year(user: Any, raw: object = None) -> int:
    """The year asked for (checked: 2000–2100), or the latest year with a campaign the user sees, but
    never after the current year. The one place that chooses, for pages, the API and the CLI."""
    year = year_param(raw)
    if year is not None:
        return year
    latest = campaigns_seen(user).aggregate(y=Max("year"))["y"]
    now = today().year
    return now if latest is None or latest >= now else latest


def progress(*, user: Any, unit: OrgUnit, year: int, as_of: datetime.date | None = None) -> Progress:
    """Every village under ``unit`` for ``year`` as of ``as_of`` (inclusive): target, counted verified
    income, completion, gap to time progress, band, its rank among its township's villages and the
    change over seven days; totals and roll-ups of exactly these villages."""
    if not (allowed(user, Action.VIEW, unit.path) or can_see_board(user, unit)):
        raise PermissionDeniedError("您无权查看该单位的进度")
    as_of = as_of or default_as_of(year)
    if as_of.year != year:
        raise ServiceError(f"截止日期 {as_of:%Y-%m-%d} 不在 {year} 年内", field="as_of")
    before = as_of - datetime.timedelta(days=RANK_WINDOW_DAYS)
    tp = time_progress(as_of)
    root = board_root(unit)

    targets = list(
        VillageTarget.objects.filter(campaign__year=year, village__path__startswith=root.path)
        .order_by("village__path")
        .values_list("village_id", "village__code", "village__name", "village__path", "amount", "campaign_id")
    )
    campaign_of = Campaign.objects.select_related("township").in_bulk({t[5] for t in targets})
    income = counted_income(root, year, as_of, before)
    # 网格站 and 管区 by code: those under the root, and above it when the root is one of them.
    above = {
        code: (level, name)
        for code, level, name in OrgUnit.objects.filter(
            Q(path__startswith=root.path) | Q(code__in=root.ancestor_codes()),
            level__in=[Level.STATION, Level.DISTRICT],
        ).values_list("code", "level", "name")
    }
    tag_rows = OrgUnit.tags.through.objects.filter(orgunit_id__in=[t[0] for t in targets]).values_list(
        "orgunit_id", "tag__name"
    )
    tags: dict[int, list[str]] = defaultdict(list)
    for village_id, tag in tag_rows:
        tags[village_id].append(tag)
    view_paths = scope_paths(user, Action.VIEW)

    board: dict[int, list[VillageProgress]] = defaultdict(list)  # campaign (one per township) → rows
    board_counts: dict[str, int] = defaultdict(int)
    for village_id, code, name, path, target, campaign_id in targets:
        c = campaign_of[campaign_id]
        got, got_before = income.get(village_id, (ZERO, ZERO))
        codes = [part for part in path.split("/") if part]
        station = district = ("", "")
        for ancestor in codes:
            found = above.get(ancestor)
            if found is not None:
                if found[0] == Level.STATION and not station[0]:
                    station = (ancestor, found[1])
                elif found[0] == Level.DISTRICT and not district[0]:
                    district = (ancestor, found[1])
        completion = got / target
        gap = completion - tp
        row = VillageProgress(
            id=village_id,
            code=code,
            name=name,
            path=path,
            station=station[1],
            district=district[1],
            station_code=station[0],
            district_code=district[0],
            target=target,
            income=got,
            income_before=got_before,
            baseline=c.baseline,
            top_tier=c.top_tier,
            completion_exact=completion,
            completion=q4(completion),
            gap=q4(gap),
            band=band_for(got, gap, c.band_margin),
            completion_before=got_before / target,
            gap_exact=gap,
            tags=sorted(tags.get(village_id, [])),
            can_open=any(path.startswith(p) for p in view_paths),
        )
        board[campaign_id].append(row)
        for ancestor in codes[:-1]:
            board_counts[ancestor] += 1

    for township_rows in board.values():
        _rank(township_rows, "income", "completion_exact", "rank")
        if before.year == year:
            _rank(township_rows, "income_before", "completion_before", "rank_before")
        else:  # the first week of January has no earlier standing in this year: no change to show
            for row in township_rows:
                row.rank_before = row.rank
    rows = [r for township_rows in board.values() for r in township_rows if r.path.startswith(unit.path)]
    rows.sort(key=lambda r: (r.rank, r.code))

    campaigns = {t[5]: campaign_of[t[5]] for t in targets if t[3].startswith(unit.path)}
    campaign = next(iter(campaigns.values())) if len(campaigns) == 1 else None
    if campaign is None and root.level == Level.TOWNSHIP:
        campaign = Campaign.objects.filter(township=root, year=year).first()
    totals, stations, districts = _summarize(unit, rows, board_counts)
    return Progress(
        year=year,
        as_of=as_of,
        unit=unit,
        time_progress=tp,
        totals=totals,
        villages=rows,
        stations=stations,
        districts=districts,
        campaign=campaign,
        board_counts=dict(board_counts),
    )


@dataclass
class Summary:
    """A table above the townships (a county, city or province): its totals and one line per unit
    directly under it, without a line per village."""

    year: int
    as_of: datetime.date
    unit: OrgUnit
    time_progress: Decimal
    totals: Rollup
    children: list[Rollup]


class _ChildLines:
    """One :class:`Rollup` per unit directly under ``unit`` (a county's townships …), found from each
    village's path; a village's own table is one line, itself."""

    def __init__(self, unit: OrgUnit) -> None:
        self.unit = unit
        self.depth = len(unit.ancestor_codes())
        self.names = dict(OrgUnit.objects.filter(parent=unit).values_list("code", "name"))
        self.level = CHILD_LEVEL.get(Level(unit.level), Level.VILLAGE)
        self.lines: dict[str, Rollup] = {}

    def line(self, path: str) -> Rollup:
        codes = path.strip("/").split("/")
        code = codes[self.depth] if len(codes) > self.depth else codes[-1]
        found = self.lines.get(code)
        if found is None:
            name = self.names.get(code) or (self.unit.name if code == self.unit.code else code)
            found = self.lines[code] = Rollup(code=code, name=name, level=self.level)
        return found

    def sorted(self) -> list[Rollup]:
        return sorted(self.lines.values(), key=lambda r: r.code)


def child_rollups(unit: OrgUnit, rows: list[VillageProgress]) -> list[Rollup]:
    """``rows`` added up by the unit directly under ``unit`` each lies in (a county's townships …)."""
    children = _ChildLines(unit)
    for row in rows:
        children.line(row.path).add(row)
    return children.sorted()


def board_summary(*, user: Any, unit: OrgUnit, year: int, as_of: datetime.date | None = None) -> Summary:
    """The totals of ``unit`` and of each unit directly under it, from the same figures as the progress
    table (counted verified income through the roll-up, each village's band by the same rule) but with no
    row per village: for a city or a province, where a table of every village would be tens of thousands
    of rows. Counts (at the baseline, at the top tier, bands) are of villages, added up exactly."""
    if not (allowed(user, Action.VIEW, unit.path) or can_see_board(user, unit)):
        raise PermissionDeniedError("您无权查看该单位的进度")
    as_of = as_of or default_as_of(year)
    if as_of.year != year:
        raise ServiceError(f"截止日期 {as_of:%Y-%m-%d} 不在 {year} 年内", field="as_of")
    tp = time_progress(as_of)
    income = counted_income(unit, year, as_of, as_of)
    targets = VillageTarget.objects.filter(campaign__year=year, village__path__startswith=unit.path)
    campaigns = {  # the campaigns of the townships the villages lie in (at, above or under the unit)
        c.pk: (c.baseline, c.top_tier, c.band_margin)
        for c in Campaign.objects.filter(pk__in=targets.values("campaign_id"))
    }
    children = _ChildLines(unit)
    totals = Rollup(code=unit.code, name=unit.name, level=unit.level)
    for village_id, path, target, campaign_id in targets.values_list(
        "village_id", "village__path", "amount", "campaign_id"
    ).iterator(chunk_size=10000):
        baseline, top_tier, margin = campaigns[campaign_id]
        got = income.get(village_id, (ZERO, ZERO))[0]
        band = band_for(got, got / target - tp, margin)
        children.line(path).add_figures(target, got, baseline, top_tier, band)
        totals.add_figures(target, got, baseline, top_tier, band)
    return Summary(
        year=year,
        as_of=as_of,
        unit=unit,
        time_progress=tp,
        totals=totals,
        children=children.sorted(),
    )


def summary_document(s: Summary) -> dict[str, Any]:
    """The JSON of ``GET /api/v1/progress/summary``: money as strings, ratios to four places."""

    def line(r: Rollup) -> dict[str, Any]:
        return {
            "code": r.code,
            "name": r.name,
            "villages": r.villages,
            "target": f"{r.target:.2f}",
            "income": f"{r.income:.2f}",
            "completion": f"{r.completion:f}",
            "at_baseline": r.at_baseline,
            "at_top_tier": r.at_top_tier,
            "bands": dict(r.bands),
        }

    return {
        "year": s.year,
        "as_of": s.as_of.isoformat(),
        "unit": {"code": s.unit.code, "name": s.unit.name, "level": s.unit.level},
        "time_progress": f"{q4(s.time_progress):f}",
        "totals": line(s.totals),
        "children": [line(r) for r in s.children],
    }


def progress_document(p: Progress) -> dict[str, Any]:
    """The JSON document of the API and of ``qiangcun progress --format json``."""
    return {
        "year": p.year,
        "as_of": p.as_of.isoformat(),
        "unit": {"code": p.unit.code, "name": p.unit.name},
        "time_progress": f"{q4(p.time_progress):f}",
        "totals": {
            "villages": p.totals.villages,
            "target": f"{p.totals.target:.2f}",
            "income": f"{p.totals.income:.2f}",
            "at_baseline": p.totals.at_baseline,
            "at_top_tier": p.totals.at_top_tier,
        },
        "villages": [
            {
                "code": r.code,
                "name": r.name,
                "station": r.station,
                "district": r.district,
                "target": f"{r.target:.2f}",
                "income": f"{r.income:.2f}",
                "completion": f"{r.completion:f}",
                "gap": f"{r.gap:f}",
                "band": r.band,
                "rank": r.rank,
                "rank_change": r.rank_change,
            }
            for r in p.villages
        ],
    }


@dataclass
class MonthPoint:
    month: int
    income: Decimal
    cumulative: Decimal
    time_line: Decimal


def village_monthly(
    *, user: Any, village: OrgUnit, year: int, as_of: datetime.date | None = None
) -> list[MonthPoint]:
    """Counted income per month and cumulative, with the target prorated by time progress at month end."""
    if not allowed(user, Action.VIEW, village.path):
        raise PermissionDeniedError("您无权查看该村")
    as_of = as_of or default_as_of(year)
    if as_of.year != year:
        raise ServiceError(f"截止日期 {as_of:%Y-%m-%d} 不在 {year} 年内", field="as_of")
    target = VillageTarget.objects.filter(campaign__year=year, village=village).first()
    dates = list(
        counted(Entry.objects.filter(village=village, date__lte=as_of), year).values_list("date", "amount")
    ) + list(
        counted_shares(Recognition.objects.filter(village=village, date__lte=as_of), year).values_list(
            "date", "amount"
        )
    )
    per_month = [ZERO] * 13
    for d, amount in dates:
        per_month[d.month] += amount
    points = []
    running = ZERO
    for month in range(1, 13):
        running += per_month[month]
        month_end = datetime.date(year, month, calendar.monthrange(year, month)[1])
        line = (
            (target.amount * time_progress(month_end)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            if target
            else ZERO
        )
        points.append(MonthPoint(month, per_month[month], running, line))
    return points
