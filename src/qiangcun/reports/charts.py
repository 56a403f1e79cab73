"""Charts for printed reports as PNG (matplotlib, Agg backend, no pyplot state).

Chinese is drawn with Noto Sans CJK SC, picked by file (face "Noto Sans CJK SC" of the installed
.ttc), so labels never come out as boxes. Same input, same bytes: the PNG carries no software or
date metadata. Values are printed at the bars' ends, so the chart reads in black and white too."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from functools import cache
from typing import Any

FONT_FAMILY = "Noto Sans CJK SC"
FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
)
BAR_COLOR = "#546E7A"
MARKER_COLOR = "#212121"


@cache
def _font() -> Any:
    """The FontProperties of Noto Sans CJK SC, registering the font file with matplotlib if its
    cache does not know it yet."""
    from matplotlib import font_manager

    if not any(entry.name == FONT_FAMILY for entry in font_manager.fontManager.ttflist):
        for path in (*FONT_FILES, _fc_match()):
            if path and os.path.exists(path):
                font_manager.fontManager.addfont(path)
                break
    prop = font_manager.FontProperties(family=FONT_FAMILY)
    found = font_manager.findfont(prop, fallback_to_default=False)  # raises when it is missing
    assert found
    return prop


def _fc_match() -> str:
    import shutil
    import subprocess

    if not shutil.which("fc-match"):
        return ""
    done = subprocess.run(
        ["fc-match", "-f", "%{file}", f"{FONT_FAMILY}:lang=zh-cn"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return done.stdout.strip()


def bar_chart_png(
    *,
    labels: Sequence[str],
    values: Sequence[float],
    marker: float | None = None,
    marker_label: str = "",
    colors: Sequence[str] | None = None,
    title: str = "",
    value_format: str = "{:.1%}",
    width_in: float = 6.2,
    dpi: int = 200,
) -> bytes:
    """A horizontal bar chart, first label at the top, each bar's value printed at its end, and an
    optional dashed vertical line at ``marker`` (e.g. time progress) labelled ``marker_label``.
    The height grows with the number of bars."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    from .xlsx import writable

    if len(labels) != len(values):
        raise ValueError("labels and values differ in length")
    if colors is not None and len(colors) != len(values):
        raise ValueError("colors and values differ in length")
    font = _font()
    count = len(values)
    height_in = 0.9 + (0.45 if title else 0) + (0.25 if marker is not None else 0) + 0.3 * max(count, 1)
    figure = Figure(figsize=(width_in, height_in), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = list(range(count))
    numbers = [float(v) for v in values]
    axes.barh(
        positions,
        numbers,
        height=0.62,
        color=list(colors) if colors else BAR_COLOR,
        edgecolor="#263238",
        linewidth=0.4,
    )
    axes.set_yticks(positions, [writable(str(label)) for label in labels], fontproperties=font, fontsize=9)
    axes.invert_yaxis()
    low = min([0.0, *numbers])
    high = max([0.0, *numbers, *([marker] if marker is not None else [])])
    span = (high - low) or 1.0
    axes.set_xlim(low - (0.02 * span if low < 0 else 0), high + 0.18 * span)
    if count:
        axes.set_ylim(count - 0.5, -0.5 - (0.6 if marker is not None and marker_label else 0))
    percent = "%" in value_format
    axes.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:.0%}" if percent else f"{x:g}"))
    for tick in axes.get_xticklabels():
        tick.set_fontproperties(font)
        tick.set_fontsize(8)
    for position, number in zip(positions, numbers, strict=True):
        axes.text(
            number + 0.01 * span if number >= 0 else number - 0.01 * span,
            position,
            value_format.format(number),
            va="center",
            ha="left" if number >= 0 else "right",
            fontproperties=font,
            fontsize=8.5,
            color="#212121",
            zorder=4,
            bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
        )
    if marker is not None:
        axes.axvline(marker, color=MARKER_COLOR, linestyle=(0, (5, 3)), linewidth=1.2, zorder=3)
        if marker_label:
            axes.text(
                marker,
                -0.55,
                writable(marker_label),
                ha="center",
                va="bottom",
                fontproperties=font,
                fontsize=8.5,
                color=MARKER_COLOR,
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none"},
            )
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.grid(axis="x", color="#E0E0E0", linewidth=0.6)
    axes.set_axisbelow(True)
    if title:
        axes.set_title(writable(title), fontproperties=font, fontsize=11, pad=8)
    figure.tight_layout(pad=0.4)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None}, facecolor="white")
    return buffer.getvalue()
