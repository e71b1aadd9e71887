"""Debian's Chromium, headless, driven by Playwright (it never downloads a browser of its own:
deploy/local/install.sh installs the `chromium` package), and a walk per test whose
screenshots go to .ci/artifacts/screenshots/<test>/."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.browser.walk import Walk
from tests.infrastructure import REPO

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = REPO / ".ci" / "artifacts" / "screenshots"


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    assert CHROMIUM.exists(), (
        f"no Chromium at {CHROMIUM}: `bash deploy/local/install.sh` installs Debian's chromium"
    )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def walk(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Walk]:
    walking = Walk(browser, SCREENSHOTS / request.node.name)
    try:
        yield walking
    finally:
        await walking.close()
