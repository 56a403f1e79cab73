"""Take screenshots of the running demo at phone and desktop width (for the README and for review).

Usage: uv run python scripts/screenshots.py http://127.0.0.1:8000 OUTDIR [username] [path ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def main() -> None:
    base, out = sys.argv[1].rstrip("/"), Path(sys.argv[2])
    username = sys.argv[3] if len(sys.argv) > 3 else "demo-admin"
    paths = sys.argv[4:] or ["/progress/"]
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for label, viewport in (
            ("desktop", {"width": 1440, "height": 900}),
            ("phone", {"width": 390, "height": 844}),
        ):
            page = browser.new_page(viewport=viewport, device_scale_factor=1, locale="zh-CN")
            page.goto(base + "/login/")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", "qiangcun2020")
            page.click("button[type=submit]")
            for p in paths:
                page.goto(base + p)
                page.wait_for_load_state("networkidle")
                name = (
                    p.strip("/").replace("/", "_").replace("?", "_").replace("=", "-").replace("&", "_")
                    or "home"
                )
                target = out / f"{username}-{name}-{label}.png"
                page.screenshot(path=str(target), full_page=False)
                print(target)
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
