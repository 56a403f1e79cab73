"""IDOR: asking for another village's (or township's) object by its id gets 404 and changes nothing.

Every route of the URLconf with a path parameter is read from the resolver (the permission table's walk,
tests/web/test_permissions.py). A route whose parameter names an object must have a case here; a route
whose parameter is not an object (a year, an import kind) must be listed in ``NOT_OBJECTS`` with the
reason — a new object route without a case fails ``test_every_object_route_has_a_case``.

The objects are built by the permission table's builders (``build``): village objects in 孙庄村, the
township's bulletins and meetings in 相衙镇, accounts of 孙庄村. They are asked for, GET and (where the
route takes it) POST with the same plausible data the table sends, by people who hold the right kind of
role somewhere else. The answer must be 404 (README "Roles and scope": an object outside the caller's
scope answers 404) — 403 is accepted only where the asker's role may not do this even in its own unit
(the same role's cell in the permission table is 403), since then the refusal tells nothing about the
object. The object's state (read before and after) and the change log must be as they were.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from qiangcun.accounts.models import Role, User
from qiangcun.core.audit import ChangeRecord
from qiangcun.imports.models import ImportJob
from tests.conftest import _user

from .test_permissions import EXPECTED, Ctx, Req, build, discovered_routes

#: Routes whose path parameter does not name one object of a unit.
NOT_OBJECTS = {
    "targets": "a year: each township's own campaign of that year (tests/web/test_year_setup.py)",
    "targets_export": "a year, as targets",
    "import_template": "an import kind: the same blank workbook for everyone",
    "import_kind": "an import kind: the upload page, the job belongs to the uploader",
}

#: Where each object route's object lives: a village (孙庄村), the township (相衙镇), an account of
#: 孙庄村 (the system admin's business), or an import or export job (its uploader's or requester's).
VILLAGE, TOWNSHIP, PEOPLE, JOB = "village", "township", "people", "job"
OBJECT_ROUTES = {
    "village": VILLAGE,
    "entry_edit": VILLAGE,
    "entry_submit": VILLAGE,
    "entry_delete": VILLAGE,
    "entry_reverse": VILLAGE,
    "evidence_file": VILLAGE,
    "plan": VILLAGE,
    "plan_edit": VILLAGE,
    "measure_new": VILLAGE,
    "measure": VILLAGE,
    "inspection": VILLAGE,
    "inspection_photo": VILLAGE,
    "finding_rectify": VILLAGE,
    "rectification": VILLAGE,
    "rectification_start": VILLAGE,
    "rectification_submit": VILLAGE,
    "rectification_close": VILLAGE,
    "rectification_reopen": VILLAGE,
    "rectification_edit": VILLAGE,
    "rectification_evidence": VILLAGE,
    "interview": VILLAGE,
    "interview_follow_up": VILLAGE,
    "asset": VILLAGE,
    "asset_edit": VILLAGE,
    "asset_file": VILLAGE,
    "asset_status": VILLAGE,
    "asset_upload": VILLAGE,
    "contract": VILLAGE,
    "contract_payment": VILLAGE,
    "contract_payment_cancel": VILLAGE,
    "contract_payment_reverse": VILLAGE,
    "contract_reveal": VILLAGE,
    "contract_scan": VILLAGE,
    "contract_terminate": VILLAGE,
    "round": VILLAGE,
    "round_add": VILLAGE,
    "round_count": VILLAGE,
    "round_export": VILLAGE,
    "round_sign": VILLAGE,
    "api:ledger_get": VILLAGE,
    "api:ledger_submit": VILLAGE,
    "api:ledger_verify": VILLAGE,
    "api:ledger_return": VILLAGE,
    "api:ledger_reverse": VILLAGE,
    "bulletin": TOWNSHIP,
    "bulletin_docx": TOWNSHIP,
    "bulletin_pdf": TOWNSHIP,
    "meeting": TOWNSHIP,
    "person": PEOPLE,
    "person_disable": PEOPLE,
    "person_enable": PEOPLE,
    "person_reset": PEOPLE,
    "person_otp_reset": PEOPLE,
    "person_grant": PEOPLE,
    "grant_withdraw": PEOPLE,
    "import_job": JOB,
    "import_job_confirm": JOB,
    "import_job_report": JOB,
    "import_job_passwords": JOB,
    "export_job": JOB,
    "export_job_file": JOB,
}


def parameter_routes() -> dict[tuple[str, str], str]:
    """(route name, method) → pattern, for every route with a path parameter."""
    return {key: pattern for key, pattern in discovered_routes().items() if "<" in pattern}


def test_every_object_route_has_a_case():
    names = {name for name, _ in parameter_routes()}
    missing = sorted(names - set(OBJECT_ROUTES) - set(NOT_OBJECTS))
    assert not missing, f"routes with a path parameter but no IDOR case (or NOT_OBJECTS reason): {missing}"
    stale = sorted((set(OBJECT_ROUTES) | set(NOT_OBJECTS)) - names)
    assert not stale, f"cases for routes that no longer have a path parameter: {stale}"
    assert not set(OBJECT_ROUTES) & set(NOT_OBJECTS)


# --- who asks ---------------------------------------------------------------------------------------------


@pytest.fixture
def askers(personas, tree, other_township) -> dict[str, list[tuple[str, User, str]]]:
    """Per kind of object: (label, user, the permission table's column for the same role at home)."""
    liudao_secretary = _user("liudao-secretary", Role.VILLAGE_SECRETARY, tree.liudao)
    station2_head = _user("station2-head", Role.STATION_HEAD, tree.station2)
    far_admin = User.objects.get(username="other-admin")
    far_sysadmin = _user("far-sysadmin", Role.SYSTEM_ADMIN, other_township.township)
    other_clerk = personas["other_clerk"]
    return {
        VILLAGE: [
            ("编席杨村报账员", other_clerk, "village_clerk"),
            ("刘道村书记", liudao_secretary, "village_secretary"),
            ("二号网格站站长", station2_head, "station_head"),
        ],
        TOWNSHIP: [
            ("杜集村报账员", other_township.clerk, "village_clerk"),
            ("杜集镇党建办", far_admin, "township_admin"),
        ],
        PEOPLE: [("杜集镇系统管理员", far_sysadmin, "system_admin")],
        JOB: [
            ("编席杨村报账员", other_clerk, "village_clerk"),
            ("刘道村书记", liudao_secretary, "village_secretary"),
            ("镇党建办", personas["township_admin"], "township_admin"),
        ],
    }


def _job_request(name: str, method: str, tree: Any) -> Req:
    """An import job of 孙庄村's clerk, checked and waiting for its confirmation; or an export of 孙庄村's
    ledger by the same clerk, written and waiting to be downloaded."""
    if name.startswith("export_"):
        from qiangcun.exports.models import ExportJob
        from qiangcun.exports.services import file_path

        export = ExportJob.objects.create(
            user=User.objects.get(username="clerk"),
            kind="ledger",
            file_name="孙庄村台账.xlsx",
            options={"unit": tree.sunzhuang.code, "year": 2020},
            state=ExportJob.State.DONE,
            rows_total=1,
            rows_done=1,
        )
        file_path(export).write_bytes(b"PK")
        return Req(
            reverse(name, args=[export.pk]),
            state=lambda: tuple(ExportJob.objects.filter(pk=export.pk).values_list("state", "rows_done")),
        )
    job = ImportJob.objects.create(
        user=User.objects.get(username="clerk"),
        kind="ledger",
        file_name="台账.xlsx",
        options={"year": "2020"},
        stage=ImportJob.Stage.CHECK,
        state=ImportJob.State.DONE,
        result={"rows": 1, "errors": []},
    )
    return Req(
        reverse(name, args=[job.pk]),
        {} if method == "POST" else None,
        state=lambda: tuple(ImportJob.objects.filter(pk=job.pk).values_list("stage", "state", "result")),
    )


def _allowed(name: str, method: str, column: str) -> set[int]:
    """404 for an object outside the asker's scope; 403 too where the role may not do this even at home
    (the route refuses the role before it looks for the object)."""
    return {403, 404} if EXPECTED[(name, method)][column] == 403 else {404}


@pytest.mark.parametrize("kind", [VILLAGE, TOWNSHIP, PEOPLE, JOB])
def test_another_units_object_is_not_found_and_unchanged(
    kind, askers, tree, make_entry, make_evidence, client, settings, tmp_path
):
    settings.AUDIT_FAILURES_PER_MINUTE = 10_000  # every refused post is recorded: counted below
    settings.MEDIA_ROOT = tmp_path  # export jobs' files
    ctx = Ctx(tree, make_entry, make_evidence)
    failures: list[str] = []
    asked = 0
    for (name, method), _pattern in sorted(parameter_routes().items()):
        if OBJECT_ROUTES.get(name) != kind:
            continue
        for label, user, column in askers[kind]:
            client.logout()
            client.force_login(user)
            ctx.current = user
            req = _job_request(name, method, tree) if kind == JOB else build(name, method, ctx)
            before = (req.state() if req.state else None, ChangeRecord.objects.filter(ok=True).count())
            failed_before = ChangeRecord.objects.filter(ok=False).count()
            if method == "GET":
                response = client.get(req.url)
            elif req.json:
                response = client.post(req.url, req.data or {}, content_type="application/json")
            else:
                response = client.post(req.url, req.data or {})
            if response.streaming:
                b"".join(response.streaming_content)
            after = (req.state() if req.state else None, ChangeRecord.objects.filter(ok=True).count())
            failed = ChangeRecord.objects.filter(ok=False).count() - failed_before
            asked += 1
            where = f"{method} {req.url} ({name}) as {label}"
            allowed = _allowed(name, method, column)
            if response.status_code not in allowed:
                location = response.get("Location", "")
                failures.append(
                    f"{where}: expected {allowed}, got {response.status_code} {location}".rstrip()
                )
            elif response.status_code == 404 and not re.search(
                "[一-龥]", response.content.decode(errors="replace")
            ):
                failures.append(f"{where}: the 404 says nothing in Chinese")
            if after != before:
                failures.append(f"{where}: changed the database ({before} → {after})")
            if failed != (0 if method == "GET" else 1):  # a refused write is recorded once, a read never
                failures.append(f"{where}: {failed} records of a failed write")
    assert asked, f"no route of kind {kind}"
    assert not failures, "\n  ".join([f"{kind}: {asked} requests", *failures])
