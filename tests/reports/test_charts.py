"""Bar charts as PNG: Chinese glyphs from the CJK font, same bytes for the same input, taller with
more bars."""

from __future__ import annotations

import struct
import warnings

import pytest

from qiangcun.reports.charts import bar_chart_png

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _size(png: bytes) -> tuple[int, int]:
    assert png[:8] == PNG_MAGIC
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def _chart(count: int, **kwargs) -> bytes:
    return bar_chart_png(
        labels=[f"相衙第{i}网格站" for i in range(count)],
        values=[i / 10 for i in range(count)],
        marker=0.295,
        marker_label="时序进度 29.5%",
        title="各网格站完成率",
        **kwargs,
    )


def test_png_with_every_chinese_glyph():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph … missing from font(s)" for tofu
        png = _chart(5, colors=["#2E7D32", "#F9A825", "#C62828", "#2E7D32", "#C62828"])
    width, _height = _size(png)
    assert width == round(6.2 * 200)
    assert b"Software" not in png and b"matplotlib" not in png


def test_same_input_same_bytes_different_input_different_bytes():
    assert _chart(4) == _chart(4)
    assert _chart(4) != bar_chart_png(labels=["甲", "乙", "丙", "丁"], values=[0.1, 0.2, 0.3, 0.5])


def test_height_grows_with_bars():
    heights = [_size(_chart(n, dpi=50))[1] for n in (2, 10, 40)]
    assert heights[0] < heights[1] < heights[2]
    assert (heights[2] - heights[1]) / 30 == pytest.approx((heights[1] - heights[0]) / 8, rel=0.1)  # per bar


def test_lengths_must_match():
    with pytest.raises(ValueError):
        bar_chart_png(labels=["甲"], values=[0.1, 0.2])
    with pytest.raises(ValueError):
        bar_chart_png(labels=["甲"], values=[0.1], colors=["#000", "#fff"])
