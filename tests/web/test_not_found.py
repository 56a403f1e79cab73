"""Every not-found answer is in Chinese: the 404 page for pages, JSON with a Chinese ``detail`` under /api/v1/.

Django's own messages ("Resolver404", "No Entry matches the given query.", a bare "Http404") never reach
the user. DEBUG is off in tests, so these are the pages a user sees."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from qiangcun.core.web import page_not_found, permission_denied

GENERIC = "找不到这个页面或记录"
INTERNAL = ("Resolver404", "matches the given query", "Http404", "Not Found", "No ", "tried", "path")

PAGES = [
    ("/no-such-page/", "village_clerk"),
    ("/no-such-page/", "township_admin"),
    ("/villages/NOPE/", "village_clerk"),
    ("/villages/NOPE/", "leader"),
    ("/ledger/999999/edit/", "village_clerk"),
    ("/ledger/export.xlsx?unit=NOPE", "village_clerk"),
    ("/ledger/evidence/999999/", "village_clerk"),
    ("/ledger/evidence/999999/", "township_admin"),
    ("/import/jobs/00000000-0000-0000-0000-000000000000/", "township_admin"),
    ("/import/nope/", "township_admin"),
    ("/targets/2020/x/", "township_admin"),
]


@pytest.mark.parametrize(("url", "persona"), PAGES)
def test_a_missing_page_is_the_chinese_404(client, personas, url, persona):
    client.force_login(personas[persona])
    response = client.get(url)
    assert response.status_code == 404
    body = response.content.decode()
    assert response["Content-Type"].startswith("text/html")
    assert GENERIC in body
    assert "回到首页" in body
    for internal in INTERNAL:
        assert internal not in body, (url, internal)


def test_a_village_out_of_scope_keeps_our_chinese_reason(client, personas, tree):
    client.force_login(personas["other_clerk"])
    response = client.get(f"/villages/{tree.sunzhuang.code}/")
    assert response.status_code == 404
    body = response.content.decode()
    assert GENERIC in body
    assert "该村不在您的管辖范围内" in body


@pytest.mark.parametrize(
    ("exception", "shown", "hidden"),
    [
        (Http404("该村不在您的管辖范围内"), "该村不在您的管辖范围内", None),
        (Http404("No Entry matches the given query."), None, "No Entry"),
        (Http404({"tried": [], "path": "x"}), None, "tried"),
        (Http404(), None, "Http404"),
        (Http404("<script>alert(1)</script>记录"), "&lt;script&gt;", "<script>alert"),
    ],
)
def test_the_handler_shows_only_chinese_messages(rf, personas, exception, shown, hidden):
    request = rf.get("/anything/")
    request.user = personas["village_clerk"]
    body = page_not_found(request, exception).content.decode()
    assert GENERIC in body
    if shown:
        assert shown in body
    if hidden:
        assert hidden not in body


@pytest.mark.parametrize(
    "url",
    ["/api/v1/ledger/999999", "/api/v1/nope", "/api/v1/ledger/abc", "/api/v1/progress?unit=NOPE"],
)
def test_a_missing_api_resource_answers_chinese_json(client, personas, url):
    client.force_login(personas["township_admin"])
    response = client.get(url)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    detail = response.json()["detail"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in detail), detail
    for internal in INTERNAL:
        assert internal not in response.content.decode(), (url, internal)


@pytest.mark.parametrize(
    ("exception", "shown", "hidden"),
    [
        (PermissionDenied("您没有导入数据的权限"), "您没有导入数据的权限", None),
        (PermissionDenied("CSRF verification failed"), None, "CSRF"),
    ],
)
def test_the_403_page_shows_only_chinese_reasons(rf, personas, exception, shown, hidden):
    request = rf.get("/anything/")
    request.user = personas["village_clerk"]
    response = permission_denied(request, exception)
    assert response.status_code == 403
    body = response.content.decode()
    assert "没有权限" in body
    if shown:
        assert shown in body
    if hidden:
        assert hidden not in body
