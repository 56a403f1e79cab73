"""The permission table: every route of the URLconf (pages, the API, its docs) × every persona.

The routes are read from Django's resolver, the methods from the views themselves (``require_POST`` /
``require_http_methods``, a class view's handlers, a ninja operation's methods). A route or a method
missing from ``EXPECTED`` fails the walk — a new route must come with its rule.

Each POST that reports success must change the database, and every refused one (and every GET) must
leave it as it was: the row's state is read before and after.
"""

from __future__ import annotations

import datetime
import inspect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from ninja.operation import PathView

from qiangcun.accounts.models import Role, RoleGrant, User
from qiangcun.accounts.services import grant_create, user_create
from qiangcun.assets.models import Asset, RoundLine, VerificationRound
from qiangcun.core.models import ChangeRecord
from qiangcun.ledger.models import Category, DevelopmentPath, Entry
from qiangcun.plans.models import Measure, MeasureNote, Plan, PlanPath
from qiangcun.plans.services import PathInput, measure_create, plan_save
from qiangcun.supervision.models import Bulletin, BulletinSettings, Meeting
from qiangcun.supervision.services import bulletin_issue, meeting_record
from qiangcun.supervision.weeks import parse_week
from qiangcun.targets.models import VillageTarget
from tests.conftest import PASSWORD

from .conftest import api_entry, entry_form, entry_state, targets_grid

PERSONAS = [
    "township_admin",
    "leader",
    "station_head",
    "district_secretary",
    "instructor",
    "village_secretary",
    "village_clerk",
    "other_clerk",
    "system_admin",
    "auditor",
    "no_role",
    "anonymous",
]

SUNZHUANG = "371422105201"
BIANXIYANG = "371422105204"

#: Redirect tokens: a 302 whose Location matches the pattern.
REDIRECTS = {
    "L": r"^/login/\?next=/",  # to the login page, coming back afterwards
    "LO": r"^/login/$",  # to the login page after logging out
    "H": r"^/$",
    "P": r"^/progress/$",
    "Vs": rf"^/villages/{SUNZHUANG}/",
    "Vb": rf"^/villages/{BIANXIYANG}/",
    "R": r"^/review/$",
    "T": r"^/targets/2020/$",
    "A": r"^/audit/$",
    "J": r"^/import/jobs/[0-9a-f-]{36}/$",
    "U": r"^/people/$",
    "Pe": r"^/people/\d+/$",
    "B": r"^/bulletins/\d+/$",
    "Bl": r"^/bulletins/\?unit=",
    "M": r"^/meetings/\d+/$",
    "Mp": r"^/map/\?unit=",
    "Pl": rf"^/plans/{SUNZHUANG}/2020/$",
    "Me": r"^/measures/\d+/$",
    "I": r"^/inspections/\d+/$",
    "Rc": r"^/rectifications/\d+/$",
    "Iv": r"^/interviews/\d+/$",
    "S": r"^/account/security/$",
    "As": r"^/assets/\d+/$",
    "Ar": r"^/assets/rounds/\d+/(#l\d+)?$",
    "Ct": r"^/contracts/\d+/$",
    "Cs": r"^/contracts/settings/\?unit=",
}

# The objects behind the URLs (see ``build`` below): village 孙庄村 (station 1 / district 1), an entry
# of 孙庄村 in 2020 in the state the route needs, the 2020 campaign of 相衙镇.
# fmt: off
EXPECTED_TEXT = """
route                     method  adm  lead stat dist inst vsec vclk oclk sysa audi none anon
home                      GET     200  200  200  200  200  200  200  200  U    A    200  L
password_change           GET     200  200  200  200  200  200  200  200  200  200  200  L
password_change           POST    H    H    H    H    H    H    H    H    H    H    H    L
people                    GET     403  403  403  403  403  403  403  403  200  403  403  L
person_new                GET     403  403  403  403  403  403  403  403  200  403  403  L
person_new                POST    403  403  403  403  403  403  403  403  200  403  403  L
person                    GET     403  403  403  403  403  403  403  403  200  403  403  L
person                    POST    403  403  403  403  403  403  403  403  Pe   403  403  L
person_disable            POST    403  403  403  403  403  403  403  403  Pe   403  403  L
person_enable             POST    403  403  403  403  403  403  403  403  Pe   403  403  L
person_reset              POST    403  403  403  403  403  403  403  403  200  403  403  L
person_otp_reset          POST    403  403  403  403  403  403  403  403  Pe   403  403  L
person_grant              POST    403  403  403  403  403  403  403  403  Pe   403  403  L
grant_withdraw            POST    403  403  403  403  403  403  403  403  Pe   403  403  L
otp_verify                GET     S    S    S    S    S    S    S    S    S    S    S    L
otp_verify                POST    S    S    S    S    S    S    S    S    S    S    S    L
otp_setup                 GET     200  200  200  200  200  200  200  200  200  200  200  L
otp_setup                 POST    200  200  200  200  200  200  200  200  200  200  200  L
otp_remove                POST    S    S    S    S    S    S    S    S    S    S    S    L
roles                     GET     403  403  403  403  403  403  403  403  200  403  403  L
security_policy           GET     403  403  403  403  403  403  403  403  403  403  403  L
security_policy           POST    403  403  403  403  403  403  403  403  403  403  403  L
login                     GET     H    H    H    H    H    H    H    H    H    H    H    200
login                     POST    H    H    H    H    H    H    H    H    H    H    H    200
healthz                   GET     200  200  200  200  200  200  200  200  200  200  200  200
healthz                   POST    405  405  405  405  405  405  405  405  405  405  405  405
logout                    GET     405  405  405  405  405  405  405  405  405  405  405  405
logout                    POST    LO   LO   LO   LO   LO   LO   LO   LO   LO   LO   LO   LO
progress                  GET     200  200  200  200  200  200  200  200  403  403  403  L
village                   GET     200  200  200  200  200  200  200  404  403  403  403  L
targets                   GET     200  403  403  403  403  403  403  403  403  403  403  L
targets                   POST    T    403  403  403  403  403  403  403  403  403  403  L
entry_new                 GET     403  403  403  403  403  200  200  404  403  403  403  L
entry_new                 POST    403  403  403  403  403  Vs   Vs   404  403  403  403  L
amount_echo               GET     403  403  403  403  403  200  200  200  403  403  403  L
entry_edit                GET     403  403  403  403  403  200  200  404  403  403  403  L
entry_edit                POST    403  403  403  403  403  Vs   Vs   404  403  403  403  L
entry_submit              GET     403  403  403  403  403  405  405  405  403  403  403  L
entry_submit              POST    403  403  403  403  403  Vs   Vs   404  403  403  403  L
entry_delete              GET     405  405  405  405  405  405  405  405  405  405  405  L
entry_delete              POST    403  403  403  403  403  Vs   Vs   404  404  404  404  L
entry_reverse             GET     405  405  405  405  405  405  405  405  405  405  405  L
entry_reverse             POST    Vs   404  Vs   Vs   404  Vs   Vs   404  404  404  404  L
evidence_file             GET     200  200  200  200  200  200  200  404  403  403  403  L
review                    GET     200  403  200  200  403  403  403  403  403  403  403  L
review                    POST    R    403  R    R    403  403  403  403  403  403  403  L
audit_log                 GET     403  403  403  403  403  403  403  403  403  200  403  L
audit_export              GET     403  403  403  403  403  403  403  403  403  200  403  L
map                       GET     200  200  200  200  200  200  200  200  403  403  403  L
map_upload                GET     200  403  403  403  403  403  403  403  403  403  403  L
map_upload                POST    Mp   403  403  403  403  403  403  403  403  403  403  L
progress_export           GET     200  200  200  200  200  200  200  200  403  403  403  L
progress_poster           GET     200  200  200  200  200  200  200  200  403  403  403  L
bulletins                 GET     200  200  200  200  200  200  200  200  403  403  403  L
bulletin                  GET     200  200  200  200  200  200  200  200  403  403  403  L
bulletin_docx             GET     200  200  200  200  200  200  200  200  403  403  403  L
bulletin_pdf              GET     200  200  200  200  200  200  200  200  403  403  403  L
bulletin_preview          GET     200  403  403  403  403  403  403  403  403  403  403  L
bulletin_preview_pdf      GET     200  403  403  403  403  403  403  403  403  403  403  L
bulletin_issue            POST    B    403  403  403  403  403  403  403  403  403  403  L
bulletin_settings         GET     200  403  403  403  403  403  403  403  403  403  403  L
bulletin_settings         POST    Bl   403  403  403  403  403  403  403  403  403  403  L
meeting_screen            GET     200  200  200  200  200  200  200  200  403  403  403  L
meetings                  GET     200  200  200  200  200  200  200  200  403  403  403  L
meeting                   GET     200  200  200  200  200  200  200  200  403  403  403  L
meeting_new               GET     200  403  403  403  403  403  403  403  403  403  403  L
meeting_new               POST    M    403  403  403  403  403  403  403  403  403  403  L
plans                     GET     200  200  200  200  200  200  200  200  403  403  403  L
contracts                 GET     200  200  200  200  200  200  200  403  403  403  403  L
contract_new              GET     200  403  403  403  403  200  200  200  403  403  403  L
contract_new              POST    Ct   403  403  403  403  Ct   Ct   400  403  403  403  L
contract_settings         GET     200  403  403  403  403  403  403  403  403  403  403  L
contract_settings         POST    Cs   403  403  403  403  403  403  403  403  403  403  L
contract                  GET     200  200  200  200  200  200  200  404  403  403  403  L
contract_scan             GET     200  200  200  200  200  200  200  404  403  403  403  L
contract_reveal           POST    200  403  403  403  403  200  200  404  403  403  403  L
contract_payment          POST    403  403  403  403  403  Ct   Ct   404  403  403  403  L
contract_terminate        POST    Ct   403  403  403  403  Ct   Ct   404  403  403  403  L
contract_payment_cancel   POST    403  403  403  403  403  Ct   Ct   404  403  403  403  L
contract_payment_reverse  POST    Ct   403  Ct   Ct   403  Ct   Ct   404  404  404  404  L
contracts_import          GET     200  403  403  403  403  200  200  200  403  403  403  L
contracts_import          POST    200  403  403  403  403  200  200  200  403  403  403  L
contracts_import_template GET     200  403  403  403  403  200  200  200  403  403  403  L
contracts_arrears_export  GET     200  200  200  200  200  200  200  403  403  403  403  L
contracts_export          GET     200  200  200  200  200  200  200  403  403  403  403  L
plan                      GET     200  200  200  200  200  200  200  404  403  403  403  L
plan_edit                 GET     200  403  403  403  403  200  200  404  403  403  403  L
plan_edit                 POST    Pl   403  403  403  403  Pl   Pl   404  403  403  403  L
measure_new               GET     200  403  403  403  403  200  200  404  403  403  403  L
measure_new               POST    Pl   403  403  403  403  Pl   Pl   404  403  403  403  L
measure                   GET     200  200  200  200  200  200  200  404  403  403  403  L
measure                   POST    Me   404  404  404  404  Me   Me   404  403  403  403  L
inspections               GET     200  200  200  200  200  200  200  200  403  403  403  L
inspections_export        GET     200  200  200  200  200  200  200  200  403  403  403  L
inspection_new            GET     200  403  200  200  200  403  403  403  403  403  403  L
inspection_new            POST    I    403  I    I    I    403  403  403  403  403  403  L
inspection                GET     200  200  200  200  200  200  200  404  403  403  403  L
inspection_photo          GET     200  200  200  200  200  200  200  404  403  403  403  L
finding_rectify           POST    Rc   403  Rc   Rc   Rc   403  403  403  403  403  403  L
rectifications            GET     200  200  200  200  200  200  200  200  403  403  403  L
rectifications_export     GET     200  200  200  200  200  200  200  200  403  403  403  L
rectification             GET     200  200  200  200  200  200  200  404  403  403  403  L
rectification_start       POST    403  403  403  403  403  Rc   Rc   404  403  403  403  L
rectification_submit      POST    403  403  403  403  403  Rc   Rc   404  403  403  403  L
rectification_close       POST    Rc   403  Rc   Rc   Rc   403  403  403  403  403  403  L
rectification_reopen      POST    Rc   403  Rc   Rc   Rc   403  403  403  403  403  403  L
rectification_edit        POST    Rc   403  Rc   Rc   Rc   403  403  403  403  403  403  L
rectification_evidence    GET     200  200  200  200  200  200  200  404  403  403  403  L
interviews                GET     200  403  200  200  200  403  403  403  403  403  403  L
interviews_export         GET     200  403  200  200  200  403  403  403  403  403  403  L
interview_new             GET     200  403  200  200  200  403  403  403  403  403  403  L
interview_new             POST    Iv   403  Iv   Iv   Iv   403  403  403  403  403  403  L
interview                 GET     200  403  200  200  200  403  403  403  403  403  403  L
interview_follow_up       POST    Iv   403  Iv   Iv   Iv   403  403  403  403  403  403  L
units_export              GET     200  200  403  403  403  403  403  403  403  403  403  L
targets_export            GET     200  200  200  403  403  403  403  403  403  403  403  L
ledger_export             GET     200  200  200  200  200  200  200  404  403  403  403  L
export_job                GET     404  404  404  404  404  404  404  404  403  403  403  L
export_job_file           GET     404  404  404  404  404  404  404  404  403  403  403  L
plans_export              GET     200  200  200  200  200  200  200  200  403  403  403  L
assets                    GET     200  200  200  200  200  200  200  200  403  403  403  L
assets_export             GET     200  200  200  200  200  200  200  200  403  403  403  L
asset_new                 GET     200  403  403  403  403  200  200  404  403  403  403  L
asset_new                 POST    As   403  403  403  403  As   As   404  403  403  403  L
asset                     GET     200  200  200  200  200  200  200  404  403  403  403  L
asset_edit                GET     200  403  403  403  403  200  200  404  403  403  403  L
asset_edit                POST    As   403  403  403  403  As   As   404  403  403  403  L
asset_status              POST    As   403  403  403  403  As   As   404  403  403  403  L
asset_upload              POST    As   403  403  403  403  As   As   404  403  403  403  L
asset_file                GET     200  200  200  200  200  200  200  404  403  403  403  L
rounds                    GET     200  200  200  200  200  200  200  200  403  403  403  L
rounds                    POST    Ar   403  403  403  403  Ar   Ar   404  403  403  403  L
round                     GET     200  200  200  200  200  200  200  404  403  403  403  L
round_add                 POST    Ar   403  403  403  403  Ar   Ar   404  403  403  403  L
round_count               POST    Ar   403  403  403  403  Ar   Ar   404  403  403  403  L
round_sign                POST    Ar   403  Ar   Ar   403  403  403  403  403  403  403  L
round_export              GET     200  200  200  200  200  200  200  404  403  403  403  L
import_home               GET     200  403  403  403  403  200  200  200  200  403  403  L
import_template           GET     200  403  403  403  403  200  200  200  403  403  403  L
import_kind               GET     200  403  403  403  403  200  200  200  403  403  403  L
import_kind               POST    J    403  403  403  403  J    J    J    403  403  403  L
import_job                GET     404  404  404  404  404  404  404  404  404  404  404  L
import_job_confirm        GET     405  405  405  405  405  405  405  405  405  405  405  L
import_job_confirm        POST    404  404  404  404  404  404  404  404  404  404  404  L
import_job_report         GET     404  404  404  404  404  404  404  404  404  404  404  L
import_job_passwords      GET     404  404  404  404  404  404  404  404  404  404  404  L
api:api-root              GET     404  404  404  404  404  404  404  404  404  404  404  404
api:openapi-json          GET     200  200  200  200  200  200  200  200  200  200  200  L
api:openapi-view          GET     200  200  200  200  200  200  200  200  200  200  200  L
api:progress_view         GET     200  200  200  200  200  200  200  200  403  403  403  401
api:progress_summary_view GET     200  200  200  200  200  200  200  200  403  403  403  401
api:plans_summary_view    GET     200  200  200  200  200  200  200  200  403  403  403  401
api:contracts_summary_view GET    200  200  200  200  200  200  200  403  403  403  403  401
api:units                 GET     200  200  200  200  200  200  200  200  200  200  200  401
api:ledger_list           GET     200  200  200  200  200  200  200  200  200  200  200  401
api:ledger_create         POST    403  403  403  403  403  201  201  403  403  403  403  401
api:ledger_get            GET     200  200  200  200  200  200  200  404  404  404  404  401
api:ledger_submit         POST    403  403  403  403  403  200  200  404  404  404  404  401
api:ledger_verify         POST    200  403  200  200  403  403  403  404  404  404  404  401
api:ledger_return         POST    200  403  200  200  403  403  403  404  404  404  404  401
api:ledger_reverse        POST    201  403  201  201  403  201  201  404  404  404  404  401
"""
# fmt: on


def _parse(text: str) -> dict[tuple[str, str], dict[str, int | str]]:
    lines = [line.split() for line in text.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    assert len(header) == 2 + len(PERSONAS), "one column per persona"
    table: dict[tuple[str, str], dict[str, int | str]] = {}
    for row in rows:
        assert len(row) == len(header), f"row {row[:2]} has {len(row)} columns, expected {len(header)}"
        key = (row[0], row[1])
        assert key not in table, f"{key} twice in the table"
        table[key] = {
            persona: (int(cell) if cell.isdigit() else cell)
            for persona, cell in zip(PERSONAS, row[2:], strict=True)
        }
        for cell in table[key].values():
            assert isinstance(cell, int) or cell in REDIRECTS, f"unknown token {cell!r} in {key}"
    return table


EXPECTED = _parse(EXPECTED_TEXT)


# --- what the URLconf holds ------------------------------------------------------------------------------


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str, Any]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = p.namespace or namespace
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            assert p.name, f"route {prefix}{p.pattern} has no name: give it one and a rule"
            name = f"{namespace}:{p.name}" if namespace else p.name
            yield name, prefix + str(p.pattern), p.callback


def _nonlocals(func: Any) -> dict[str, Any]:
    if not inspect.isfunction(func):
        return {}
    return dict(inspect.getclosurevars(func).nonlocals)


def _methods(name: str, callback: Any) -> set[str]:
    """The HTTP methods a route answers (GET for plain function views)."""
    view_class = getattr(callback, "view_class", None)
    if view_class is not None:
        return {
            m.upper() for m in ("get", "post") if m in view_class.http_method_names and hasattr(view_class, m)
        }
    func = callback
    while func is not None:
        found = _nonlocals(func)
        path_view = found.get("self")
        if isinstance(path_view, PathView):
            short = name.split(":")[-1]
            methods = {
                m
                for op in path_view.operations
                if (getattr(op, "url_name", None) or op.view_func.__name__) == short
                for m in op.methods
            }
            assert methods, f"{name}: no ninja operation of that name"
            return methods
        if "request_method_list" in found:
            return {m.upper() for m in found["request_method_list"]}
        func = getattr(func, "__wrapped__", None)
    return {"GET"}


def discovered_routes() -> dict[tuple[str, str], str]:
    """(route name, method) → URL pattern, for every route of the project."""
    routes: dict[tuple[str, str], str] = {}
    for name, pattern, callback in _walk(get_resolver().url_patterns):
        for method in _methods(name, callback):
            routes.setdefault((name, method), pattern)
    return routes


def test_every_route_and_method_has_a_rule():
    routes = discovered_routes()
    missing = sorted(set(routes) - set(EXPECTED))
    assert not missing, f"routes without a rule in EXPECTED_TEXT: {missing}"
    stale = sorted(key for key in EXPECTED if key[0] not in {name for name, _ in routes})
    assert not stale, f"rules for routes that no longer exist: {stale}"
    # The API and its docs are in the walk, not only the pages.
    assert {("api:ledger_create", "POST"), ("api:ledger_list", "GET"), ("api:openapi-view", "GET")} <= set(
        routes
    )
    assert ("entry_submit", "POST") in routes and ("entry_submit", "GET") not in routes


# --- the objects behind the URLs ------------------------------------------------------------------------


@dataclass
class Req:
    url: str
    data: dict[str, Any] | None = None
    json: bool = False
    state: Callable[[], Any] | None = None


class Ctx:
    def __init__(self, tree: Any, make_entry: Any, make_evidence: Any) -> None:
        self.tree = tree
        self.make_entry = make_entry
        self.make_evidence = make_evidence
        self.people = 0
        self.current: Any = None

    def bulletin(self) -> Any:
        """The 2020 week-11 bulletin of 相衙镇, issued once by its township admin."""
        admin = User.objects.get(username="admin")
        found, _ = bulletin_issue(actor=admin, township=self.tree.township, week=parse_week("2020-W11"))
        return found

    def meeting(self) -> Any:
        admin = User.objects.get(username="admin")
        return meeting_record(
            actor=admin,
            township=self.tree.township,
            held_on=datetime.date(2020, 4, 17),
            title="党政联席会",
            attendees="镇党委书记",
            decisions="约谈红色预警村",
        )

    def plan(self) -> Any:
        """孙庄村's 2020 plan, made once by its clerk."""
        found = Plan.objects.filter(village=self.tree.sunzhuang, year=2020).first()
        if found is not None:
            return found
        return plan_save(
            actor=_clerk(self.tree),
            village=self.tree.sunzhuang,
            year=2020,
            resources=[],
            paths=[PathInput(path=_land(), expected=Decimal("100000.00"))],
        )

    def measure(self) -> Any:
        """A fresh measure of 孙庄村's plan owned by its clerk."""
        return measure_create(
            actor=_clerk(self.tree),
            plan=self.plan(),
            title="公开发包机动地",
            owner=_clerk(self.tree),
            deadline=datetime.date(2020, 6, 30),
            expected=Decimal("20000.00"),
        )

    def visit(self, *, owner: bool = True) -> Any:
        """A fresh visit of 孙庄村 by its instructor, with a photo and one finding — handed to the village
        clerk as an item with evidence required (``owner``), or not handed over yet."""
        from django.core.files.uploadedfile import SimpleUploadedFile

        from qiangcun.supervision.services import FindingInput, inspection_record

        clerk = User.objects.get(username="clerk")
        return inspection_record(
            actor=User.objects.get(username="instructor"),
            village=self.tree.sunzhuang,
            visited_on=datetime.date(2020, 4, 20),
            met="村书记",
            findings=[
                FindingInput(text="凭证不全", owner=clerk if owner else None, required_evidence="照片")
            ],
            photos=[SimpleUploadedFile("现场.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 16)],
        )

    def item(self, status: str = "open") -> Any:
        from django.core.files.uploadedfile import SimpleUploadedFile

        from qiangcun.supervision.models import Rectification
        from qiangcun.supervision.services import rectification_submit

        item = Rectification.objects.get(finding__inspection=self.visit())
        if status == "submitted":
            pdf = SimpleUploadedFile("整改.pdf", b"%PDF-1.4 done")
            rectification_submit(actor=User.objects.get(username="clerk"), item=item, files=[pdf])
        return item

    def on_item(self, route: str, status: str, data: dict[str, Any]) -> Req:
        item = self.item(status)
        return Req(reverse(route, args=[item.pk]), data, state=lambda: _item_state(item.pk))

    def interview(self) -> Any:
        from qiangcun.supervision.services import interview_record

        return interview_record(
            actor=User.objects.get(username="instructor"),
            village=self.tree.sunzhuang,
            held_on=datetime.date(2020, 4, 24),
            interviewee="张三",
            post="村党支部书记",
            reason="红色预警",
            agreed="两周内拿出措施",
        )

    def entry(self, status: str) -> Entry:
        """A fresh row of 孙庄村 for each request."""
        return self.make_entry(self.tree.sunzhuang, amount="1234.56", status=status)

    def contract(self, *, payment: str = "") -> Any:
        """A fresh contract of 孙庄村's (with a scan), recorded by its clerk; with ``payment`` "returned" or
        "verified", a payment on it in that state — the payment is returned."""
        from django.core.files.uploadedfile import SimpleUploadedFile

        from qiangcun.contracts.services import ContractInput, contract_create, payment_record
        from qiangcun.ledger.services import entry_return, entry_verify

        self.people += 1
        clerk = _clerk(self.tree)
        contract = contract_create(
            actor=clerk,
            village=self.tree.sunzhuang,
            data=ContractInput(
                code=f"WALK-{self.people}",
                title="村东耕地流转",
                kind="transfer",
                party_kind="person",
                party_name="张三",
                start=datetime.date(2020, 1, 1),
                end=datetime.date(2022, 12, 31),
                price_mode="per_year",
                price=Decimal("10000.00"),
                schedule="annual",
                method="tender",
            ),
            scan=SimpleUploadedFile("合同.pdf", b"%PDF-1.4 contract"),
        )
        if not payment:
            return contract
        paid = payment_record(
            actor=clerk, contract=contract, date=datetime.date(2020, 1, 20), amount=Decimal("10000.00")
        )
        admin = User.objects.get(username="admin")
        if payment == "returned":
            entry_return(actor=admin, entries=[paid.entry], reason="金额与凭证不符")
        else:
            entry_verify(actor=admin, entries=[paid.entry])
        return paid

    def person(self, *, active: bool = True) -> Any:
        """A fresh account of 孙庄村's with a role, for each request."""
        self.people += 1
        user = user_create(
            actor=None, username=f"walk-{self.people}", password=None, display_name=f"走查{self.people}"
        )
        grant_create(actor=None, user=user, role=Role.VILLAGE_CLERK, unit=self.tree.sunzhuang)
        if not active:
            User.objects.filter(pk=user.pk).update(is_active=False)
        return user

    def on_person(self, route: str, data: dict[str, Any] | None, *, active: bool = True) -> Req:
        person = self.person(active=active)
        return Req(reverse(route, args=[person.pk]), data, state=lambda: _person_state(person.pk))

    def on_entry(self, route: str, status: str, data: dict[str, Any] | None = None, api: bool = False) -> Req:
        entry = self.entry(status)
        url = reverse(route, kwargs={"pk": entry.pk})
        return Req(url, data, json=api, state=lambda: entry_state(entry.pk))


def _land() -> Any:
    return DevelopmentPath.objects.get(name="土地流转")


def _clerk(tree: Any) -> User:
    return User.objects.get(username="clerk")


def _asset(tree: Any) -> Any:
    """A fresh idle piece of land of 孙庄村, entered by its clerk."""
    from qiangcun.assets.services import AssetData, asset_create

    n = Asset.objects.count() + 1
    return asset_create(
        actor=_clerk(tree),
        village=tree.sunzhuang,
        data=AssetData(
            code=f"ZY-{n:03d}",
            name="机动地",
            kind="resource",
            land_class="arable",
            area_mu=Decimal("10.00"),
            status="idle",
        ),
    )


def _asset_state(pk: int) -> Any:
    asset = Asset.objects.get(pk=pk)
    return (asset.name, asset.area_mu, asset.status, asset.version, asset.files.count())


def _asset_file(tree: Any) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from qiangcun.assets.services import asset_file_add

    png = SimpleUploadedFile("地.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 16)
    (made,) = asset_file_add(actor=_clerk(tree), asset=_asset(tree), files=[png])
    return made


def _close_rounds(tree: Any) -> None:
    """Set aside 孙庄村's open round (test set-up, not a service), so that a fresh one may start."""
    from django.utils import timezone

    for r in VerificationRound.objects.filter(village=tree.sunzhuang, status="open"):
        # Anyone but the one who started it (the table refuses a round signed by its starter).
        signer = User.objects.exclude(pk=r.started_by_id).order_by("pk").first()
        VerificationRound.objects.filter(pk=r.pk).update(
            status="signed", signed_by=signer, signed_at=timezone.now()
        )


def _round(tree: Any, *, counted: bool = False) -> Any:
    """A fresh round of 孙庄村 started by its clerk over one fresh asset (counted, if asked)."""
    from qiangcun.assets.services import CountData, round_line_count, round_start

    _close_rounds(tree)
    asset = _asset(tree)
    Asset.objects.filter(village=tree.sunzhuang).exclude(pk=asset.pk).update(status="disposed")
    r = round_start(actor=_clerk(tree), village=tree.sunzhuang, base_date=datetime.date(2020, 1, 31))
    if counted:
        round_line_count(actor=_clerk(tree), line=r.lines.get(), data=CountData(found=True))
    return r


def _target_state(tree: Any) -> Callable[[], Any]:
    return lambda: tuple(
        VillageTarget.objects.filter(campaign=tree.campaign)
        .order_by("village_id")
        .values_list("amount", flat=True)
    )


def _person_state(pk: int) -> Any:
    user = User.objects.get(pk=pk)
    grants = sorted(RoleGrant.objects.filter(user=user).values_list("role", "unit_id"))
    return (user.display_name, user.phone, user.unit_id, user.is_active, user.password, grants)


def _item_state(pk: int) -> Any:
    from qiangcun.supervision.models import Rectification

    item = Rectification.objects.get(pk=pk)
    return (item.status, item.deadline, item.owner_id, item.title, item.events.count(), item.evidence.count())


def _sunzhuang_rows(tree: Any) -> Callable[[], Any]:
    return lambda: Entry.objects.filter(village=tree.sunzhuang).count()


def build(name: str, method: str, ctx: Ctx) -> Req:
    t = ctx.tree
    post = method == "POST"
    reason = {"reason": "金额与凭证不符"}
    match name:
        case "home":
            return Req("/")
        case "login":
            return Req(reverse("login"), {"username": "no-such-user", "password": "wrong"} if post else None)
        case "logout":
            return Req(reverse("logout"), {} if post else None)
        case "healthz":
            return Req(reverse("healthz"), {} if post else None)
        case "progress":
            return Req(reverse("progress") + f"?year=2020&unit={t.sunzhuang.code}")
        case "village":
            return Req(reverse("village", args=[t.sunzhuang.code]) + "?year=2020")
        case "map":
            return Req(reverse("map") + f"?year=2020&unit={t.sunzhuang.code}")
        case "map_upload":
            if post:
                return Req(reverse(name), {"file": _geojson(t)}, state=_geometry_state)
            return Req(reverse(name))
        case "progress_export" | "progress_poster":
            return Req(reverse(name) + f"?year=2020&unit={t.sunzhuang.code}")
        case "meeting_screen" | "meetings":
            return Req(reverse(name) + f"?unit={t.township.code}&as_of=2020-04-17")
        case "meeting":
            return Req(reverse(name, args=[ctx.meeting().pk]))
        case "meeting_new":
            data = {
                "unit": t.township.code,
                "held_on": "2020-04-17",
                "title": "党政联席会",
                "attendees": "镇党委书记、镇长",
                "decisions": "一、红色预警村本周内约谈。",
            }
            return Req(
                reverse(name) + f"?unit={t.township.code}",
                data if post else None,
                state=lambda: Meeting.objects.count(),
            )
        case "bulletins":
            return Req(reverse(name) + f"?unit={t.township.code}")
        case "bulletin" | "bulletin_docx" | "bulletin_pdf":
            return Req(reverse(name, args=[ctx.bulletin().pk]))
        case "bulletin_preview" | "bulletin_preview_pdf":
            return Req(reverse(name) + f"?unit={t.township.code}&week=2020-W11")
        case "bulletin_issue":
            return Req(
                reverse(name),
                {"unit": t.township.code, "week": "2020-W12"},
                state=lambda: Bulletin.objects.count(),
            )
        case "bulletin_settings":
            data = {
                "unit": t.township.code,
                "cutoff_weekday": "4",
                "issuer": "党建办",
                "schedule_weekday": "",
            }
            return Req(
                reverse(name) + f"?unit={t.township.code}",
                data if post else None,
                state=lambda: list(BulletinSettings.objects.values_list("cutoff_weekday", "issuer")),
            )
        case "inspections_export":
            ctx.visit()
            return Req(reverse(name) + f"?unit={t.township.code}&year=2020")
        case "inspections":
            return Req(reverse(name) + f"?unit={t.township.code}&month=2020-04")
        case "inspection_new":
            from qiangcun.supervision.models import Inspection

            data = {
                "village": t.sunzhuang.code,
                "visited_on": "2020-04-20",
                "met": "村书记",
                "score": "90",
                "f1-text": "凭证不全",
                "f1-owner": str(User.objects.get(username="clerk").pk),
            }
            return Req(
                reverse(name) + f"?village={t.sunzhuang.code}",
                data if post else None,
                state=lambda: Inspection.objects.count(),
            )
        case "inspection":
            return Req(reverse(name, args=[ctx.visit().pk]))
        case "inspection_photo":
            return Req(reverse(name, args=[ctx.visit().photos.get().pk]))
        case "finding_rectify":
            from qiangcun.supervision.models import Rectification

            finding = ctx.visit(owner=False).findings.get()
            data = {"owner": str(User.objects.get(username="clerk").pk), "deadline": "2020-05-15"}
            return Req(
                reverse(name, args=[finding.pk]),
                data,
                state=lambda: Rectification.objects.filter(finding=finding).count(),
            )
        case "rectifications" | "rectifications_export":
            ctx.item()
            return Req(reverse(name) + f"?unit={t.township.code}&status=open")
        case "rectification":
            return Req(reverse(name, args=[ctx.item().pk]))
        case "rectification_start":
            return ctx.on_item(name, "open", {"note": "开始"})
        case "rectification_submit":
            return ctx.on_item(name, "open", {"account": "已补齐凭证"})
        case "rectification_close":
            return ctx.on_item(name, "submitted", {"note": "核实无误"})
        case "rectification_reopen":
            return ctx.on_item(name, "submitted", {"reason": "照片不清楚"})
        case "rectification_edit":
            return ctx.on_item(name, "open", {"deadline": "2020-06-30", "title": "补齐凭证"})
        case "rectification_evidence":
            return Req(reverse(name, args=[ctx.item("submitted").evidence.get().pk]))
        case "interviews" | "interviews_export":
            ctx.interview()
            return Req(reverse(name) + f"?unit={t.township.code}")
        case "interview_new":
            from qiangcun.supervision.models import Interview

            data = {
                "village": t.sunzhuang.code,
                "held_on": "2020-04-24",
                "interviewee": "张三",
                "post": "村党支部书记",
                "reason": "红色预警",
                "agreed": "两周内拿出措施",
            }
            return Req(reverse(name), data if post else None, state=lambda: Interview.objects.count())
        case "interview":
            return Req(reverse(name, args=[ctx.interview().pk]))
        case "interview_follow_up":
            from qiangcun.supervision.models import Interview

            interview = ctx.interview()
            return Req(
                reverse(name, args=[interview.pk]),
                {"note": "已落实"},
                state=lambda: Interview.objects.filter(pk=interview.pk).values_list("follow_up_note").get(),
            )
        case "assets" | "assets_export":
            _asset(t)
            return Req(reverse(name))
        case "asset_new":
            ctx.people += 1
            form = {
                "village": t.sunzhuang.code,
                "code": f"ZY-{900 + ctx.people}",
                "name": "走查机动地",
                "kind": "resource",
                "land_class": "arable",
                "area_mu": "10",
                "status": "idle",
            }
            return Req(
                reverse(name) + f"?village={t.sunzhuang.code}",
                form if post else None,
                state=lambda: Asset.objects.count(),
            )
        case "asset" | "asset_edit" | "asset_status" | "asset_upload":
            from django.core.files.uploadedfile import SimpleUploadedFile

            asset = _asset(t)
            data: dict[str, Any] | None = None
            if name == "asset_edit" and post:
                data = {
                    "code": asset.code,
                    "name": "改名",
                    "kind": "resource",
                    "land_class": "arable",
                    "area_mu": "12",
                    "status": "idle",
                    "version": "1",
                }
            elif name == "asset_status":
                data = {"status": "leased", "version": "1"}
            elif name == "asset_upload":
                data = {
                    "kind": "photo",
                    "files": SimpleUploadedFile("地.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 16),
                }
            return Req(reverse(name, args=[asset.pk]), data, state=lambda: _asset_state(asset.pk))
        case "asset_file":
            return Req(reverse(name, args=[_asset_file(t).pk]))
        case "rounds":
            if post:
                _close_rounds(t)
                _asset(t)
                data = {"village": t.sunzhuang.code, "base_date": "2020-01-31"}
                return Req(reverse(name), data, state=lambda: VerificationRound.objects.count())
            _round(t)
            return Req(reverse(name))
        case "round" | "round_export":
            return Req(reverse(name, args=[_round(t).pk]))
        case "round_add":
            r = _round(t)
            data = {
                "name": "走查坑塘",
                "kind": "resource",
                "land_class": "pond",
                "area_mu": "3",
                "note": "账外",
            }
            return Req(reverse(name, args=[r.pk]), data, state=lambda: r.lines.count())
        case "round_count":
            line = _round(t).lines.get()
            return Req(
                reverse(name, args=[line.pk]),
                {"found": "1", "area_mu": "9", "status": "idle"},
                state=lambda: RoundLine.objects.filter(pk=line.pk).values_list("counted", "result").get(),
            )
        case "round_sign":
            r = _round(t, counted=True)
            return Req(
                reverse(name, args=[r.pk]),
                {"note": "同意"},
                state=lambda: VerificationRound.objects.filter(pk=r.pk).values_list("status").get(),
            )
        case "units_export":
            return Req(reverse(name) + f"?unit={t.township.code}")
        case "plans_export":  # the reader's own villages only: tests/plans/test_export.py
            return Req(reverse(name) + f"?unit={t.township.code}&year=2020")
        case "targets_export":
            return Req(reverse(name, args=[2020]) + f"?unit={t.station1.code}")
        case "import_template":
            return Req(reverse(name, args=["ledger"]))
        case "contracts_import":
            if post:  # a check (dry run): writes nothing by design, see tests/contracts/test_import.py
                from tests.contracts.test_import import good_row, upload

                return Req(reverse(name), {"action": "check", "file": upload([good_row()])})
            return Req(reverse(name))
        case "contracts_arrears_export" | "contracts_export":
            return Req(reverse(name) + f"?unit={t.sunzhuang.code}&year=2020&as_of=2020-12-31")
        case "import_kind":
            if post:  # a check (dry run): writes nothing by design, see tests/web/test_import_pages.py
                return Req(
                    reverse(name, args=["ledger"]),
                    {"action": "check", "year": "2020", "file": _ledger_workbook(t.sunzhuang.name)},
                )
            return Req(reverse(name, args=["ledger"]))
        case "export_job" | "export_job_file":
            # someone else's (or no) job; the requester's own is tested in tests/exports/test_export_jobs.py
            return Req(reverse(name, args=["00000000-0000-4000-8000-000000000000"]))
        case "import_job" | "import_job_confirm" | "import_job_report" | "import_job_passwords":
            # someone else's (or no) job; the owner's own is tested in tests/web/test_people_import_pages.py
            return Req(reverse(name, args=["00000000-0000-4000-8000-000000000000"]), {} if post else None)
        case "ledger_export":
            ctx.entry("verified")
            return Req(reverse(name) + f"?village={t.sunzhuang.code}&year=2020")
        case "targets":
            data = targets_grid(t.campaign, {t.liudao.pk: "50000.00"})
            return Req(reverse("targets", args=[2020]), data if post else None, state=_target_state(t))
        case "entry_new":
            if post:
                return Req(reverse("entry_new"), entry_form(t.sunzhuang), state=_sunzhuang_rows(t))
            return Req(reverse("entry_new") + f"?village={t.sunzhuang.code}")
        case "entry_edit":
            # A fresh draft: version 1, as its edit form carries it.
            form = entry_form(t.sunzhuang, amount="999.99", version=1)
            return ctx.on_entry(name, "draft", form if post else None)
        case "entry_submit" | "entry_delete":
            return ctx.on_entry(name, "draft", {} if post else None)
        case "entry_reverse":
            return ctx.on_entry(name, "verified", reason if post else None)
        case "evidence_file":
            return Req(reverse(name, args=[ctx.make_evidence(t.sunzhuang).pk]))
        case "review":
            if post:
                entry = ctx.entry("submitted")
                return Req(
                    reverse("review"),
                    {"action": "verify", "ids": [entry.pk]},
                    state=lambda: entry_state(entry.pk),
                )
            ctx.entry("submitted")
            return Req(reverse("review"))
        case "otp_verify" | "otp_setup":  # no authenticator bound: a wrong code binds nothing
            return Req(reverse(name), {"otp_token": "000000"} if post else None)
        case "otp_remove":  # nothing bound to remove (tests/accounts/test_security.py removes one)
            return Req(reverse(name), {})
        case "password_change":
            if post:  # one's own password, changed (the refusals are in tests/accounts/test_pages.py)
                me = ctx.current
                return Req(
                    reverse(name),
                    {
                        "old_password": PASSWORD,
                        "new_password1": "Xy-new-pass-2020",
                        "new_password2": "Xy-new-pass-2020",
                    },
                    state=(lambda: User.objects.get(pk=me.pk).password) if me is not None else None,
                )
            return Req(reverse(name))
        case "person_new":
            if post:
                ctx.people += 1
                return Req(
                    reverse(name),
                    {
                        "display_name": "新人",
                        "phone": "13800000000",
                        "username": f"new-{ctx.people}",
                        "unit": t.sunzhuang.code,
                    },
                    state=lambda: User.objects.count(),
                )
            return Req(reverse(name))
        case "person":
            data = {"display_name": "改名", "phone": "13900000000", "unit": t.sunzhuang.code}
            return ctx.on_person(name, data if post else None)
        case "person_disable" | "person_reset":
            return ctx.on_person(name, {})
        case "person_enable":
            return ctx.on_person(name, {}, active=False)
        case "security_policy":
            from qiangcun.accounts.models import SecurityPolicy

            return Req(
                reverse(name),
                {"password_min_length": "12"} if post else None,
                state=lambda: list(SecurityPolicy.objects.values_list("password_min_length", flat=True)),
            )
        case "person_otp_reset":  # a person with an authenticator bound; the reset unbinds it
            from django_otp.plugins.otp_totp.models import TOTPDevice

            person = ctx.person()
            TOTPDevice.objects.create(user=person, name="手机验证器", confirmed=True)
            return Req(
                reverse(name, args=[person.pk]),
                {},
                state=lambda: TOTPDevice.objects.filter(user=person).count(),
            )
        case "person_grant":
            return ctx.on_person(name, {"role": Role.VILLAGE_SECRETARY, "unit": t.sunzhuang.code})
        case "grant_withdraw":
            person = ctx.person()
            grant = RoleGrant.objects.get(user=person)
            return Req(reverse(name, args=[grant.pk]), {}, state=lambda: _person_state(person.pk))
        case "plans":
            return Req(reverse(name) + "?year=2020")
        case "contracts":
            ctx.contract()
            return Req(reverse(name) + f"?unit={t.sunzhuang.code}&year=2020")
        case "api:contracts_summary_view":
            ctx.contract()
            return Req(reverse(name) + f"?unit={t.sunzhuang.code}&year=2020")
        case "contract_new":
            from qiangcun.contracts.models import Contract

            data = {
                "village": str(t.sunzhuang.pk),
                "code": "NEW-1",
                "title": "鱼塘发包",
                "kind": "contracting",
                "method": "auction",
                "land_class": "坑塘水面",
                "area_mu": "12.5",
                "party_kind": "person",
                "party_name": "李四",
                "start": "2020-01-01",
                "end": "2024-12-31",
                "price_mode": "per_mu_year",
                "price": "600",
                "schedule": "annual",
                "due_days": "30",
                "deposit": "0",
                "action": "save",
            }
            return Req(reverse(name), data if post else None, state=lambda: Contract.objects.count())
        case "contract_settings":
            from qiangcun.contracts.models import ContractSettings

            data = {
                "category": str(Category.objects.get(line="contracting").pk),
                "path": str(_land().pk),
                "low_rent_ratio": "0.50",
            }
            return Req(
                reverse(name) + f"?unit={t.township.code}",
                data if post else None,
                state=lambda: list(
                    ContractSettings.objects.values_list("spread_lump_sums", "low_rent_ratio")
                ),
            )
        case "contract_reveal":
            c = ctx.contract()
            return Req(
                reverse(name, args=[c.pk]),
                {},
                state=lambda: ChangeRecord.objects.filter(action="contracts.reveal_party").count(),
            )
        case "contract" | "contract_scan":
            return Req(reverse(name, args=[ctx.contract().pk]))
        case "contract_payment":
            c = ctx.contract()
            return Req(
                reverse(name, args=[c.pk]),
                {"date": "2020-01-20", "amount": "10000.00"},
                state=lambda: list(c.payments.values_list("amount", flat=True)),
            )
        case "contract_terminate":
            c = ctx.contract()
            return Req(
                reverse(name, args=[c.pk]),
                {"on": "2020-06-30", "reason": "协商解除"},
                state=lambda: type(c).objects.filter(pk=c.pk).values_list("status").get(),
            )
        case "contract_payment_cancel":
            paid = ctx.contract(payment="returned")
            return Req(
                reverse(name, args=[paid.pk]),
                {},
                state=lambda: (
                    entry_state(paid.entry_id) if Entry.objects.filter(pk=paid.entry_id).exists() else None
                ),
            )
        case "contract_payment_reverse":
            paid = ctx.contract(payment="verified")
            return Req(
                reverse(name, args=[paid.pk]),
                reason,
                state=lambda: Entry.objects.filter(reverses_id=paid.entry_id).count(),
            )
        case "plan":
            return Req(reverse(name, args=[t.sunzhuang.code, 2020]))
        case "plan_edit":
            data = {
                "summary": "盘活机动地",
                "r_kind": ["land"],
                "r_name": ["集体机动地"],
                "r_area": ["30"],
                "r_note": [""],
                f"p_{_land().pk}": "on",
                f"p_{_land().pk}_expected": "120000.00",
            }
            return Req(
                reverse(name, args=[t.sunzhuang.code, 2020]),
                data if post else None,
                state=lambda: list(PlanPath.objects.values_list("path__name", "expected")),
            )
        case "measure_new":
            ctx.plan()
            data = {
                "title": "公开发包机动地",
                "owner": str(_clerk(t).pk),
                "deadline": "2020-06-30",
                "expected": "20000.00",
                "path": "",
            }
            return Req(
                reverse(name, args=[t.sunzhuang.code, 2020]),
                data if post else None,
                state=lambda: Measure.objects.count(),
            )
        case "measure":
            measure = ctx.measure()
            data = {"action": "note", "date": "2020-04-17", "text": "已对接承包户"}
            return Req(
                reverse(name, args=[measure.pk]),
                data if post else None,
                state=lambda: MeasureNote.objects.filter(measure=measure).count(),
            )
        case "api:plans_summary_view":
            return Req(reverse(name) + "?year=2020&as_of=2020-04-17")
        case "api:progress_view" | "api:progress_summary_view":
            return Req(reverse(name) + f"?year=2020&unit={t.sunzhuang.code}&as_of=2020-04-17")
        case "api:ledger_create":
            return Req(reverse(name), api_entry(t.sunzhuang), json=True, state=_sunzhuang_rows(t))
        case "api:ledger_get":
            return ctx.on_entry(name, "draft")
        case "api:ledger_submit":
            return ctx.on_entry(name, "draft", {}, api=True)
        case "api:ledger_verify":
            return ctx.on_entry(name, "submitted", {}, api=True)
        case "api:ledger_return":
            return ctx.on_entry(name, "submitted", reason, api=True)
        case "api:ledger_reverse":
            return ctx.on_entry(name, "verified", reason, api=True)
    if method == "GET":  # a route without parameters needs no case, only its row in the table
        return Req(reverse(name))
    raise AssertionError(f"no request built for {name} {method}: add a case to build()")


def _ledger_workbook(village: str) -> Any:
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["村名", "日期", "金额（元）", "收入类别", "增收路子", "摘要"])
    wb.active.append([village, "2020-03-05", "1234.56", "经营收入", "现代农业", "试导入"])
    buffer = io.BytesIO()
    wb.save(buffer)
    return SimpleUploadedFile("台账.xlsx", buffer.getvalue())


def _geojson(tree: Any) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.targets.test_geometry import four

    return SimpleUploadedFile("村界.geojson", four(tree), content_type="application/geo+json")


def _geometry_state() -> Any:
    from qiangcun.orgs.models import VillageGeometry

    return sorted(VillageGeometry.objects.values_list("village_id", "geometry", "uploaded_at"))


def _succeeds(expected: int | str) -> bool:
    if isinstance(expected, int):
        return 200 <= expected < 300
    return expected not in ("L", "LO")


# --- the walk -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_permission_table(persona, personas, tree, make_entry, make_evidence, client):
    user = personas[persona]
    ctx = Ctx(tree, make_entry, make_evidence)
    ctx.current = user
    failures: list[str] = []
    routes = discovered_routes()
    for (name, method), pattern in sorted(routes.items()):
        rule = EXPECTED.get((name, method))
        if rule is None:
            failures.append(f"{method} {pattern} ({name}): no rule in EXPECTED_TEXT")
            continue
        expected = rule[persona]
        client.logout()
        if user is not None:
            user.refresh_from_db()  # the walk changes the persona's own password on the way
            client.force_login(user)
        req = build(name, method, ctx)
        before = req.state() if req.state else None
        try:
            if method == "GET":
                response = client.get(req.url)
            elif req.json:
                response = client.post(req.url, req.data or {}, content_type="application/json")
            else:
                response = client.post(req.url, req.data or {})
        except Exception as exc:  # a 500 is a failure of this row, not of the whole walk
            failures.append(f"{method} {req.url} ({name}): raised {exc!r}")
            continue
        status = response.status_code
        location = response.get("Location", "")
        if response.streaming:  # read the file to the end: the test client then closes it
            b"".join(response.streaming_content)
        label = f"{method} {req.url} ({name})"
        if "Content-Security-Policy" not in response:  # every answer, refusals and redirects included
            failures.append(f"{label}: no Content-Security-Policy header")
        if isinstance(expected, int):
            if status != expected:
                failures.append(f"{label}: expected {expected}, got {status} {location}".rstrip())
        elif status != 302 or not re.search(REDIRECTS[expected], location):
            failures.append(
                f"{label}: expected 302 to {REDIRECTS[expected]}, got {status} {location}".rstrip()
            )
        if req.state is not None:
            changed = req.state() != before
            if changed != (method == "POST" and _succeeds(expected)):
                failures.append(
                    f"{label}: database {'changed' if changed else 'unchanged'} (answer {status})"
                )
    assert not failures, f"{persona}:\n  " + "\n  ".join(failures)
