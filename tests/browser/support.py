"""Screenshots of the storefront for people to look at: every ``shoot`` saves the page at
desktop and at phone width, numbered in the order the test took them.

They land in ``$TOPUP_SCREENSHOTS_DIR`` (else ``artifacts/screenshots/`` at the repository
root), one folder per test and backend: ``test_smoke/test_healthz-sqlite/01-health-phone.png``.
A test's folder is emptied when the test starts, so it only ever holds one run's pictures.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from playwright.async_api import BrowserContext, Page, ViewportSize

REPOSITORY = Path(__file__).resolve().parents[2]
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}  # an iPhone 12 to 15, CSS pixels
SHOT_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")


def screenshots_root() -> Path:
    configured = os.environ.get("TOPUP_SCREENSHOTS_DIR")
    return Path(configured) if configured else REPOSITORY / "artifacts" / "screenshots"


def folder_for(module: str, test_name: str) -> Path:
    """``test_x[sqlite]`` → ``module/test_x-sqlite``: brackets are awkward in shells."""
    readable = re.sub(r"[^\w.-]+", "-", test_name).strip("-")
    return screenshots_root() / module / readable


@dataclass
class Album:
    """Where one test's pictures go and how many it has taken."""

    folder: Path
    taken: int = 0

    def next_stem(self, name: str) -> Path:
        self.taken += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.folder / f"{self.taken:02d}-{name}"


# One album per browser context: ``shoot`` is given only the page, and every page a test
# opens (pop-ups too) belongs to the context the ``page`` fixture made for that test.
_albums: dict[BrowserContext, Album] = {}


def open_album(context: BrowserContext, folder: Path) -> Album:
    shutil.rmtree(folder, ignore_errors=True)
    album = _albums[context] = Album(folder)
    return album


def close_album(context: BrowserContext) -> None:
    _albums.pop(context, None)


async def shoot(page: Page, name: str) -> tuple[Path, Path]:
    """Save the whole page at desktop and at phone width (``NN-name-desktop.png``,
    ``NN-name-phone.png``); the viewport is then put back as it was."""
    if not SHOT_NAME.fullmatch(name):
        raise ValueError(f"a shot name is lower-case letters, digits and dashes: {name!r}")
    stem = _albums[page.context].next_stem(name)
    before = page.viewport_size or DESKTOP
    try:
        desktop = await _shot_at(page, DESKTOP, stem.with_name(f"{stem.name}-desktop.png"))
        phone = await _shot_at(page, PHONE, stem.with_name(f"{stem.name}-phone.png"))
    finally:
        await page.set_viewport_size(before)
    return desktop, phone


async def _shot_at(page: Page, viewport: ViewportSize, path: Path) -> Path:
    await page.set_viewport_size(viewport)
    # Animations are finished, not caught halfway: a picture is of the page at rest.
    await page.screenshot(path=path, full_page=True, animations="disabled")
    return path


async def keep_failure(page: Page, folder: Path) -> None:
    """What the page showed when the test failed, as a picture and as HTML."""
    picture = await page.screenshot(full_page=True)
    _write_failure(folder, picture, await page.content())


def _write_failure(folder: Path, picture: bytes, html: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "failure.png").write_bytes(picture)
    (folder / "failure.html").write_text(html, encoding="utf-8")
