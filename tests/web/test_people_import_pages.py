"""The people import on the import pages: the system admin's only import; check, confirm, and the
one-time password sheet, handed out once to the job's own user."""

from __future__ import annotations

import io
import json
import re
import stat

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from qiangcun.accounts.models import Role, RoleGrant, User
from qiangcun.core.audit import ChangeRecord
from qiangcun.imports import services as import_jobs
from qiangcun.imports.models import ImportJob

ROWS = [
    ["相衙镇人员账号"],
    ["姓名", "手机", "账号", "角色", "单位"],
    ["孙报账", 13800000001, "sun.clerk", "村报账员", "孙庄"],
    ["刘书记", "138 0000 0002", "", "村书记", "刘道村"],
    ["一站长", "", "s1.head", "站长", "一号网格站"],
    ["新来的", "", "new.one", "", "杨老头村"],
]


def _xlsx(rows, name="人员.xlsx") -> SimpleUploadedFile:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


@pytest.fixture
def home(settings, tmp_path):
    settings.HOME = tmp_path
    return tmp_path


def _check(client, rows):
    response = client.post("/import/people/", {"file": _xlsx(rows)})
    assert response.status_code == 302, response.content.decode()[:500]
    job_url = response["Location"]
    assert re.match(r"^/import/jobs/[0-9a-f-]{36}/$", job_url)
    return job_url, client.get(job_url).content.decode()


def _sheet(body: bytes) -> list[list[object]]:
    ws = load_workbook(io.BytesIO(body)).active
    return [list(r) for r in ws.iter_rows(values_only=True)]


def test_the_system_admin_imports_people_and_gets_the_passwords_once(client, tree, personas, home):
    admin = personas["system_admin"]
    client.force_login(admin)
    page = client.get("/import/").content.decode()
    assert "导入人员账号" in page and "导入台账" not in page and "导入组织结构" not in page
    assert "年度" not in client.get("/import/people/").content.decode()

    job_url, page = _check(client, ROWS)
    assert "将建立 4 个账号，授予 3 项角色（1 人暂无角色" in page
    assert "网格站 1 人，行政村 3 人" in page and "其中 1 个账号按姓名拼音生成" in page
    assert "liushuji" in page and "sun.clerk" in page and "passwords.xlsx" not in page
    assert not User.objects.filter(username__in=["sun.clerk", "liushuji", "s1.head", "new.one"]).exists()

    response = client.post(job_url + "confirm/", follow=True)
    page = response.content.decode()
    assert "已建立 4 个账号，授予了 3 项角色" in page and "下载一次性密码表" in page
    made = {u.username: u for u in User.objects.filter(must_change_password=True)}
    assert set(made) == {"sun.clerk", "liushuji", "s1.head", "new.one"}
    assert made["sun.clerk"].phone == "13800000001" and made["liushuji"].phone == "13800000002"
    assert set(RoleGrant.objects.filter(user__in=made.values()).values_list("user__username", "role")) == {
        ("sun.clerk", Role.VILLAGE_CLERK),
        ("liushuji", Role.VILLAGE_SECRETARY),
        ("s1.head", Role.STATION_HEAD),
    }
    job = ImportJob.objects.get()
    sheet_file = import_jobs.passwords_path(job)
    assert stat.S_IMODE(sheet_file.stat().st_mode) == 0o600

    # Someone else cannot take the sheet (and taking nothing leaves it for its owner).
    client.force_login(personas["township_admin"])
    assert client.get(job_url + "passwords.xlsx").status_code == 404
    assert sheet_file.exists()

    client.force_login(admin)
    response = client.get(job_url + "passwords.xlsx")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert "attachment" in response["Content-Disposition"]
    rows = _sheet(response.content)
    assert "首次登录须修改密码" in [c for c in rows[1] if c]
    assert rows[1][0] == "登录地址：http://testserver/login/"
    assert rows[2] == ["姓名", "账号", "一次性密码", "角色", "单位"]
    people = {r[1]: r for r in rows[3:]}
    assert set(people) == set(made)
    for username, (name, _, password, _role, unit) in people.items():
        user = User.objects.get(username=username)
        assert user.check_password(password), username  # the sheet's password is the one that signs in
        assert name == user.display_name and unit == user.unit.name
    assert people["new.one"][3] == "（尚未授予）" and people["sun.clerk"][3] == "村报账员"
    assert not sheet_file.exists()
    assert not list(home.joinpath("uploads").glob(f"{job.pk}*")), "nothing of the job is left"

    # No password ever reached the database.
    stored = json.dumps(ImportJob.objects.values("result", "options").get(), ensure_ascii=False)
    stored += json.dumps(list(ChangeRecord.objects.values("before", "after", "note")), ensure_ascii=False)
    for _, _, password, _, _ in people.values():
        assert password not in stored

    again = client.get(job_url + "passwords.xlsx")
    assert again.status_code == 404
    assert "已经下载过" in again.content.decode() and "重置密码" in again.content.decode()
    page = client.get(job_url).content.decode()
    assert "已经下载过" in page and 'href="/import/jobs/' + str(job.pk) + '/passwords.xlsx"' not in page


def test_errors_are_listed_by_row_and_nothing_is_made(client, tree, personas, home):
    client.force_login(personas["system_admin"])
    rows = [*ROWS, ["错的", "12345", "bad.one", "网格站长", "孙庄村"], ["", "", "", "", ""]]
    job_url, page = _check(client, rows)
    assert "发现 2 处错误，一个账号都没有建立" in page
    assert "第 7 行" in page and "手机" in page and "网格站长只能授予在网格站上" in page
    report = client.get(job_url + "report.xlsx")
    assert report.status_code == 200
    assert not User.objects.filter(username="sun.clerk").exists()


def test_where_a_security_admin_grants_every_role_row_is_refused(client, tree, personas, home):
    from qiangcun.accounts.services import grant_create, user_create

    security = user_create(actor=None, username="security", password=None)
    grant_create(actor=None, user=security, role=Role.SECURITY_ADMIN, unit=tree.township)
    client.force_login(personas["system_admin"])
    _, page = _check(client, ROWS)
    assert "发现 3 处错误" in page and page.count("本镇设有安全管理员") == 3
    assert not User.objects.filter(username="new.one").exists()


@pytest.mark.parametrize("persona", ["township_admin", "village_clerk", "auditor", "leader"])
def test_only_those_who_manage_accounts_import_people(client, tree, personas, home, persona):
    client.force_login(personas[persona])
    assert client.get("/import/people/").status_code == 403
    assert client.post("/import/people/", {"file": _xlsx(ROWS)}).status_code == 403
    assert client.get("/import/template/people.xlsx").status_code == 403
    assert not ImportJob.objects.exists()


def test_the_system_admin_reaches_no_other_import(client, tree, personas, home):
    client.force_login(personas["system_admin"])
    for kind in ("ledger", "units", "targets"):
        assert client.get(f"/import/{kind}/").status_code == 403
        assert client.get(f"/import/template/{kind}.xlsx").status_code == 403


def test_the_people_template_has_instructions_an_example_and_imports(client, tree, personas, home):
    client.force_login(personas["system_admin"])
    response = client.get("/import/template/people.xlsx")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames == ["填表说明", "人员"]
    notes = "\n".join(str(c.value) for c in wb["填表说明"]["A"] if c.value)
    assert "张伟 → zhangwei" in notes and "示例" in notes and "只能下载一次" in notes
    assert [c.value for c in wb["人员"][3]] == ["姓名", "手机", "账号", "角色", "单位"]
    wb["人员"].append(["模板里的人", "13800000009", "", "村报账员", "孙庄村"])
    buffer = io.BytesIO()
    wb.save(buffer)
    page = client.post(
        "/import/people/", {"file": SimpleUploadedFile("模板.xlsx", buffer.getvalue())}, follow=True
    ).content.decode()
    assert "将建立 1 个账号，授予 1 项角色" in page and "mubanlideren" in page


@pytest.mark.django_db(transaction=True)  # the worker closes and reopens its database connection
def test_the_worker_imports_many_people_and_writes_the_sheet(
    client, tree, personas, home, django_capture_on_commit_callbacks
):
    """An import of more people than a request should hash passwords for runs in the worker, which
    writes the password sheet; the page then offers it as usual."""
    from django.core.management import call_command

    count = import_jobs.PEOPLE_INLINE_ACCOUNTS + 1
    rows = [["姓名", "账号", "角色", "单位"]]
    rows += [[f"村民{i}", f"w{i:02d}", "村报账员", "孙庄村"] for i in range(count)]
    client.force_login(personas["system_admin"])
    job_url, page = _check(client, rows)  # the check hashes nothing: it runs in the request
    assert f"将建立 {count} 个账号" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(job_url + "confirm/")
    job = ImportJob.objects.get()
    assert job.state == ImportJob.State.QUEUED and not User.objects.filter(username="w00").exists()
    assert "正在导入" in client.get(job_url).content.decode()
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE and job.result["ok"], job.result
    assert job.rows_read == count + 1  # the bar moved while the passwords were hashed
    page = client.get(job_url).content.decode()
    assert f"已建立 {count} 个账号" in page and "下载一次性密码表" in page
    rows = _sheet(client.get(job_url + "passwords.xlsx").content)[3:]
    assert len(rows) == count
    assert all(User.objects.get(username=r[1]).check_password(r[2]) for r in rows)
    assert client.get(job_url + "passwords.xlsx").status_code == 404


def test_a_sheet_that_cannot_be_written_imports_nothing(client, tree, personas, home, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(import_jobs, "_write_passwords", broken)
    client.force_login(personas["system_admin"])
    job_url, _ = _check(client, ROWS)
    page = client.post(job_url + "confirm/", follow=True).content.decode()
    assert "导入中途出错，什么都没有写入" in page
    assert not User.objects.filter(username="sun.clerk").exists()
    assert not list(home.joinpath("uploads").glob("*.passwords.xlsx"))


def test_the_audit_log_shows_the_imported_accounts_and_roles(client, tree, personas, home):
    client.force_login(personas["system_admin"])
    job_url, _ = _check(client, ROWS)
    client.post(job_url + "confirm/")
    client.force_login(personas["auditor"])
    made = client.get("/audit/?action=user.create").content.decode()
    for shown in ("孙报账（sun.clerk）", "刘书记（liushuji）", "一站长（s1.head）", "新来的（new.one）"):
        assert shown in made, shown
    # The auditor reads the phone masked (个人信息保护法): enough to tell two people apart, not to call them.
    assert "138****0001" in made and "13800000001" not in made and "孙庄村" in made
    granted = client.get("/audit/?action=rolegrant.create").content.decode()
    assert "孙报账（sun.clerk）" in granted and "村报账员" in granted and "网格站长" in granted
    assert "一号网格站" in granted


def test_bad_files_are_refused_before_anything_reads_them(client, tree, personas, home):
    client.force_login(personas["system_admin"])
    old = SimpleUploadedFile("人员.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    page = client.post("/import/people/", {"file": old}, follow=True).content.decode()
    assert "旧版 .xls" in page
    assert not ImportJob.objects.filter(result__ok=True).exists()


def test_an_owner_who_no_longer_manages_accounts_cannot_take_the_sheet(client, tree, personas, home):
    admin = personas["system_admin"]
    client.force_login(admin)
    job_url, _ = _check(client, ROWS)
    client.post(job_url + "confirm/")
    grant = RoleGrant.objects.get(user=admin, role=Role.SYSTEM_ADMIN)
    grant.delete()
    assert client.get(job_url + "passwords.xlsx").status_code == 403
    RoleGrant.objects.create(user=admin, role=Role.SYSTEM_ADMIN, unit=tree.township)
    assert client.get(job_url + "passwords.xlsx").status_code == 200


def test_system_roles_are_not_granted_in_bulk(client, tree, personas, home):
    client.force_login(personas["system_admin"])
    rows = [["姓名", "手机", "账号", "角色", "单位"], ["新审计", "", "new.audit", "审计管理员", "相衙镇"]]
    _url, page = _check(client, rows)
    assert "三员之一，请在账号页面逐个授予" in page
    assert not User.objects.filter(username="new.audit").exists()


def test_too_many_people_in_one_file_are_refused(client, tree, personas, home, monkeypatch):
    monkeypatch.setattr(import_jobs, "MAX_PEOPLE", 2)
    client.force_login(personas["system_admin"])
    _url, page = _check(client, ROWS)
    assert "一次最多导入 2 人" in page
    assert not User.objects.filter(username="sun.clerk").exists()


def test_taking_the_password_sheet_is_in_the_audit_log(client, tree, personas, home):
    client.force_login(personas["system_admin"])
    job_url, _page = _check(client, ROWS)
    client.post(job_url + "confirm/")
    assert client.get(job_url + "passwords.xlsx").status_code == 200
    rec = ChangeRecord.objects.get(action="import.passwords_taken")
    assert rec.actor == personas["system_admin"] and rec.after["accounts"] == 4
    client.force_login(personas["auditor"])
    html = client.get("/audit/?action=import.passwords_taken").content.decode()
    assert "下载一次性密码表" in html and "人员.xlsx" in html
