"""Poppler's tools (and Pango, under WeasyPrint) for the renderer tests: skipped when missing, unless
QIANGCUN_REQUIRE_BROWSER is set (CI), where a missing tool fails the run."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest


def _need(what: str) -> None:
    if os.environ.get("QIANGCUN_REQUIRE_BROWSER"):
        pytest.fail(f"QIANGCUN_REQUIRE_BROWSER is set but {what} is missing")
    pytest.skip(f"{what} is missing")


@pytest.fixture
def weasy() -> None:
    """Skip (or fail under QIANGCUN_REQUIRE_BROWSER) when WeasyPrint cannot load Pango."""
    try:
        import weasyprint  # noqa: F401
    except OSError as error:  # Pango not installed
        _need(f"WeasyPrint's libraries ({error})")


@pytest.fixture
def poppler(weasy: None, tmp_path: Path) -> Callable[..., str]:
    """Run a poppler tool on PDF bytes: ``poppler("pdftotext", pdf, "-layout")`` → its stdout."""

    def run(tool: str, pdf: bytes, *args: str) -> str:
        if not shutil.which(tool):
            _need(tool)
        path = tmp_path / "in.pdf"
        path.write_bytes(pdf)
        out = tmp_path / "out"
        command = [tool, *args, str(path)]
        if tool in ("pdftotext",):
            command.append("-")
        elif tool == "pdftoppm":
            command.append(str(out))
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
        return done.stdout

    return run
