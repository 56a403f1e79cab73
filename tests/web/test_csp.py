"""Content-Security-Policy: one strict policy on every page (django-csp), the sandboxed one on evidence
files, and templates that need nothing the policy forbids (no inline script, handler or style attribute)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from qiangcun.core.templatetags.qc import step

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
TEMPLATES = Path(settings.BASE_DIR) / "templates"


def _directives(header: str) -> dict[str, str]:
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in (p.strip() for p in header.split(";"))}


@pytest.mark.django_db
def test_pages_carry_the_policy(client, personas):
    assert _directives(client.get("/login/")["Content-Security-Policy"]) == _directives(POLICY)
    client.force_login(personas["township_admin"])
    for url in ("/", "/progress/", "/api/v1/docs"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert _directives(response["Content-Security-Policy"]) == _directives(POLICY), url
    assert _directives(client.get("/no-such-page/")["Content-Security-Policy"]) == _directives(POLICY)


@pytest.mark.django_db
def test_evidence_keeps_its_stricter_sandboxed_policy(client, personas, tree, make_evidence):
    evidence = make_evidence(tree.sunzhuang)
    client.force_login(personas["village_clerk"])
    response = client.get(reverse("evidence_file", args=[evidence.pk]))
    b"".join(response.streaming_content)
    assert response["Content-Security-Policy"] == (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    )


def _template_texts() -> list[tuple[str, str]]:
    return [(str(p.relative_to(TEMPLATES)), p.read_text()) for p in sorted(TEMPLATES.rglob("*.html"))]


def test_templates_have_no_inline_script_handler_or_style():
    found = []
    for name, text in _template_texts():
        for match in re.finditer(r"<script\b[^>]*>", text):
            if "src=" not in match.group(0):
                found.append(f"{name}: inline {match.group(0)}")
        for match in re.finditer(r"\son[a-z]+\s*=|\sstyle\s*=|<style\b|javascript:", text):
            found.append(f"{name}: {match.group(0).strip()}")
    assert not found, "\n".join(found)
    assert len(_template_texts()) > 50  # the scan saw the templates


def test_the_scan_finds_what_it_forbids(tmp_path, monkeypatch):
    """The scan above can fail: it reports an inline handler and style attribute."""
    (tmp_path / "bad.html").write_text('<div style="width: 5%"></div><button onclick="x()">')
    monkeypatch.setattr(f"{__name__}.TEMPLATES", tmp_path)
    with pytest.raises(AssertionError, match=r"bad\.html: onclick="):
        test_templates_have_no_inline_script_handler_or_style()


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "0"), (Decimal("0"), "0"), (Decimal("0.2951"), "30"), (Decimal("0.5"), "50"), (Decimal("1.7"), "100"),
     (Decimal("-0.1"), "0"), (Decimal("0.9949"), "99")],
)  # fmt: skip
def test_bars_are_classes_in_whole_percent(value, expected):
    assert step(value) == expected


def test_every_bar_class_is_in_the_stylesheet():
    css = (Path(settings.BASE_DIR) / "static" / "css" / "qiangcun.css").read_text()
    for i in range(101):
        assert f".w-{i} {{ width: {i}%; }}" in css and f".at-{i} {{ left: {i}%; }}" in css


@pytest.mark.django_db
def test_the_progress_meters_use_the_classes(client, personas, april):
    client.force_login(personas["township_admin"])
    html = client.get("/progress/?year=2020&as_of=2020-04-17").content.decode()
    assert "fill band-red w-50" in html or "w-50" in html  # 孙庄村 50000 / 100000
    assert "at-30" in html  # time progress 108/366 = 29.51 %
    assert 'data-rows="' in html and "style=" not in html
