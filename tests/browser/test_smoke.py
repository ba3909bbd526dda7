"""The whole chain on each database: `topup serve` answers, Chromium opens a page of it,
and ``shoot`` saves that page at desktop and at phone width."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from playwright.async_api import Page

from tests.browser.support import DESKTOP, shoot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_width(path: Path) -> int:
    """The width in the PNG's header chunk, which always comes first after the signature."""
    header = path.read_bytes()[:24]
    assert header.startswith(PNG_SIGNATURE), f"{path} is not a PNG"
    width: int = struct.unpack(">I", header[16:20])[0]
    return width


async def test_chromium_reads_healthz_and_shoots_it(storefront: str, page: Page) -> None:
    response = await page.goto(f"{storefront}/healthz")

    assert response is not None
    assert response.status == 200
    # Chromium shows a JSON answer as text in a <pre> (with a pretty-print switch beside it).
    assert json.loads(await page.locator("pre").first.inner_text()) == {"status": "ok"}

    desktop, phone = await shoot(page, "healthz")

    assert (desktop.name, phone.name) == ("01-healthz-desktop.png", "01-healthz-phone.png")
    assert desktop.stat().st_size > 0
    assert phone.stat().st_size > 0
    assert (png_width(desktop), png_width(phone)) == (1280, 390)
    assert page.viewport_size == DESKTOP  # put back for the rest of the test
