"""The village map (issue 8): the 擂台 on a map, under the 擂台's rule, and the upload of its shapes."""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from qiangcun.accounts.models import User
from qiangcun.core.audit import ChangeRecord
from qiangcun.orgs.models import VillageGeometry
from qiangcun.orgs.services import geometry_import
from qiangcun.targets.maps import BAND_COLORS
from qiangcun.targets.selectors import BAND_ICONS, BAND_LABELS, progress
from tests.conftest import login
from tests.targets.test_geometry import BOWTIE, collection, feature, four, square

pytestmark = pytest.mark.usefixtures("fast_hashing")

AS_OF = "year=2020&as_of=2020-04-17"


def _data(html: str) -> dict[str, Any]:
    found = re.search(r'<script id="village-map-data" type="application/json">(.*?)</script>', html, re.S)
    assert found, "the map's data is not in the page"
    return json.loads(found.group(1))


def _list(html: str) -> dict[str, str]:
    """Village code → band, read from the list under the map."""
    return dict(re.findall(r'<li data-code="([^"]+)" data-band="(\w+)">', html))


@pytest.fixture
def shaped(april, personas):
    geometry_import(actor=personas["township_admin"], township=april.township, data=four(april))
    return april


def test_each_village_is_coloured_by_its_band_on_the_board(client, personas, shaped):
    login(client, personas["village_clerk"])
    html = client.get(f"/map/?{AS_OF}").content.decode()
    board = progress(
        user=personas["village_clerk"], unit=shaped.township, year=2020, as_of=datetime.date(2020, 4, 17)
    )
    expected = {r.code: r for r in board.villages}
    doc = _data(html)
    assert {v["code"] for v in doc["villages"]} == set(expected) == {v.code for v in shaped.villages}
    assert len({r.band for r in board.villages}) >= 2  # the fixture has more than one band
    for v in doc["villages"]:
        row = expected[v["code"]]
        assert v["band"] == row.band
        assert v["color"] == BAND_COLORS[row.band]
        assert v["band_text"] == f"{BAND_ICONS[row.band]} {BAND_LABELS[row.band]}"
        assert v["completion"] == f"{row.completion_pct}"
        assert v["rank"] == row.rank
    # The list under the map (the page before the script, and on paper) says the same.
    assert _list(html) == {r.code: r.band for r in board.villages}
    # Every polygon is named by its village's code, the key the script colours it by.
    assert sorted(f["properties"]["code"] for f in doc["geojson"]["features"]) == sorted(expected)
    assert doc["colouring"] == "band" and doc["points"] == [] and doc["illustrative"] is False
    assert "示意" not in html


def test_nothing_more_than_the_board(client, personas, shaped):
    login(client, personas["village_clerk"])
    doc = _data(client.get(f"/map/?{AS_OF}").content.decode())
    assert {k for v in doc["villages"] for k in v} == {
        "code",
        "name",
        "band",
        "band_text",
        "color",
        "completion",
        "rank",
        "income",
        "target",
    }


def test_colour_by_completion(client, personas, shaped):
    login(client, personas["township_admin"])
    html = client.get(f"/map/?{AS_OF}&colour=completion").content.decode()
    assert _data(html)["colouring"] == "completion"
    assert 'aria-current="page">按完成率' in html
    assert client.get(f"/map/?{AS_OF}&colour=rainbow").status_code == 400


def test_illustrative_shapes_say_so(client, personas, april):
    geometry_import(
        actor=personas["township_admin"], township=april.township, data=four(april), illustrative=True
    )
    login(client, personas["village_clerk"])
    html = client.get(f"/map/?{AS_OF}").content.decode()
    assert _data(html)["illustrative"] is True
    assert '<span class="chip sketch"' in html and "示意图：" in html


def test_points_are_drawn_on_the_ground_they_span(client, personas, april):
    data = collection(
        feature("孙庄村", {"type": "Point", "coordinates": [116.71, 37.61]}),
        feature("刘道村", {"type": "Point", "coordinates": [116.75, 37.64]}),
    )
    geometry_import(actor=personas["township_admin"], township=april.township, data=data)
    login(client, personas["village_clerk"])
    doc = _data(client.get(f"/map/?{AS_OF}").content.decode())
    assert doc["points"] == [[116.71, 37.61, april.sunzhuang.code], [116.75, 37.64, april.liudao.code]]
    (ground,) = doc["geojson"]["features"]  # the hull under the points, unnamed
    assert ground["properties"]["code"] == ""


def test_without_shapes_the_list_still_shows(client, personas, april):
    login(client, personas["township_admin"])
    html = client.get(f"/map/?{AS_OF}").content.decode()
    assert 'id="village-map"' not in html
    assert "还没有上传本镇的村界" in html and 'href="/map/upload/"' in html
    assert len(_list(html)) == 4


@pytest.mark.parametrize("persona", ["village_clerk", "other_clerk", "district_secretary", "leader"])
def test_every_user_of_the_township_sees_its_map(client, personas, shaped, persona):
    login(client, personas[persona])
    response = client.get(f"/map/?{AS_OF}&unit={shaped.township.code}")
    assert response.status_code == 200
    assert len(_data(response.content.decode())["villages"]) == 4


def test_a_user_of_another_township_does_not(client, shaped, other_township):
    login(client, other_township.clerk)
    assert client.get(f"/map/?{AS_OF}&unit={shaped.township.code}").status_code == 403
    html = client.get(f"/map/?{AS_OF}").content.decode()  # their own township: none of ours
    assert "杜集镇" in html
    assert not set(_list(html)) & {v.code for v in shaped.villages}
    assert shaped.sunzhuang.code not in html


def test_the_progress_page_links_to_the_map(client, personas, shaped):
    login(client, personas["village_clerk"])
    assert 'href="/map/?year=2020&amp;as_of=2020-04-17"' in client.get(f"/progress/?{AS_OF}").content.decode()


def test_queries_do_not_grow_with_the_shapes(client, personas, april):
    login(client, personas["village_clerk"])
    client.get(f"/map/?{AS_OF}")  # warm the session
    with CaptureQueriesContext(connection) as without:
        client.get(f"/map/?{AS_OF}")
    geometry_import(actor=personas["township_admin"], township=april.township, data=four(april))
    with CaptureQueriesContext(connection) as with_shapes:
        client.get(f"/map/?{AS_OF}")
    assert len(with_shapes) == len(without)


# --- upload -------------------------------------------------------------------------------------------


def _upload(data: bytes, name: str = "村界.geojson") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/geo+json")


def test_upload_replaces_and_says_what_it_did(client, personas, tree):
    login(client, personas["township_admin"])
    data = collection(feature("孙庄村", square()), feature("刘道村", square(0.03)))
    response = client.post("/map/upload/", {"file": _upload(data)}, follow=True)
    assert response.redirect_chain[-1][0] == f"/map/?unit={tree.township.code}"
    html = response.content.decode()
    assert "已更新 2 个村的边界" in html
    assert "以下村在文件中没有图形，地图上不显示：杨老头村、编席杨村" in html
    assert VillageGeometry.objects.count() == 2
    assert (
        ChangeRecord.objects.filter(action="geometry.import", actor=personas["township_admin"]).count() == 1
    )


def test_upload_of_a_bad_file_shows_the_reason_and_saves_nothing(client, personas, tree):
    login(client, personas["township_admin"])
    bad = collection(feature("孙庄村", {"type": "Polygon", "coordinates": [BOWTIE]}))
    response = client.post("/map/upload/", {"file": _upload(bad)})
    assert response.status_code == 400
    assert (
        "文件未导入：</strong>第 1 个要素（孙庄村）：边界自相交（位置 116.5, 37.6）"
        in response.content.decode()
    )
    response = client.post("/map/upload/", {"file": _upload(b"PK\x03\x04 not json", "村界.zip")})
    assert "不是 GeoJSON 文件" in response.content.decode()
    assert not VillageGeometry.objects.exists()
    assert not ChangeRecord.objects.filter(action="geometry.import").exists()


def test_upload_is_for_the_township_admin_only(client, personas, tree, other_township):
    for persona in ("leader", "station_head", "village_clerk", "system_admin", "auditor"):
        login(client, personas[persona])
        assert client.post("/map/upload/", {"file": _upload(four(tree))}).status_code == 403
    # Another township's admin names our township: not theirs.
    login(client, User.objects.get(username="other-admin"))
    response = client.post("/map/upload/", {"township": tree.township.code, "file": _upload(four(tree))})
    assert response.status_code == 404
    assert not VillageGeometry.objects.exists()


def test_the_audit_log_names_the_upload(client, personas, tree):
    login(client, personas["township_admin"])
    data = collection(
        feature("孙庄村", square()), feature("刘道村", {"type": "Point", "coordinates": [116.7, 37.6]})
    )
    client.post("/map/upload/", {"file": _upload(data)})
    login(client, personas["auditor"])
    html = client.get("/audit/").content.decode()
    assert "上传村界" in html
    assert "边界 1 个，位置点 1 个" in html and "杨老头村、编席杨村" in html
