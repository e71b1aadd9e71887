"""One page's accessibility and phone layout, asserted on its own: axe-core finds no serious
or critical violation, and at 375 px the page does not scroll sideways. The walks' checkpoints
(tests/browser/walk.py) apply the same checks with screenshots; this is for a page on its own."""

from __future__ import annotations

from playwright.async_api import Page

from tests.browser.walk import AXE, DESKTOP, LAYOUT, PHONE, SERIOUS


async def assert_accessible(page: Page) -> None:
    results = await AXE.run(page)
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']}"
        for v in results.response["violations"]
        if v["impact"] in SERIOUS
    ]
    assert not serious, f"{page.url}: axe-core found {serious}"
    await page.set_viewport_size(PHONE)
    try:
        layout = await page.evaluate(LAYOUT, PHONE["width"])
    finally:
        await page.set_viewport_size(DESKTOP)
    width = layout["clientWidth"]
    assert width <= PHONE["width"] + 1, f"{page.url} lays out {width} px wide on a phone"
    assert layout["scrollWidth"] <= width, (
        f"{page.url} scrolls sideways at {PHONE['width']} px: {layout['wide']}"
    )
