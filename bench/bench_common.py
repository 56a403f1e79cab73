"""What every bench records of where it ran: package versions and the git commit."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def git(*argv: str) -> str:
    try:
        done = subprocess.run(
            ["git", *argv], cwd=BENCH_DIR.parent, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()
