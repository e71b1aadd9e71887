"""Accessibility and phone layout of one page, as a helper every console test calls on the
pages it opens: axe-core (no violation of serious or critical impact) and no sideways scroll
at a 375 px phone width. `Walk.checkpoint` records the same problems with screenshots; this
fails at once, naming them."""

from __future__ import annotations

from playwright.async_api import Page

from tests.browser.walk import AXE, DESKTOP, LAYOUT, PHONE, SERIOUS


async def problems(page: Page) -> list[str]:
    found: list[str] = []
    await page.wait_for_load_state("load")
    if await page.evaluate("document.contentType") != "text/html":
        return [f"{page.url} is not an HTML page"]
    results = await AXE.run(page)
    for violation in results.response["violations"]:
        if violation["impact"] in SERIOUS:
            where = "; ".join(", ".join(map(str, n["target"])) for n in violation["nodes"][:3])
            found.append(
                f"axe {violation['id']} ({violation['impact']}): {violation['help']} at {where}"
            )
    size = page.viewport_size or DESKTOP
    await page.set_viewport_size(PHONE)
    try:
        layout = await page.evaluate(LAYOUT, PHONE["width"])
    finally:
        await page.set_viewport_size(size)
    if "width=device-width" not in (layout["viewport"] or "").replace(" ", ""):
        found.append("no viewport meta (width=device-width)")
    width = layout["clientWidth"]
    if layout["scrollWidth"] > width or layout["scrollWidth"] > layout["innerWidth"]:
        found.append(
            f"scrolls sideways at {PHONE['width']} px: {layout['scrollWidth']} > {width}; "
            f"past the edge: {layout['wide']}"
        )
    if layout["controlsOut"]:
        found.append(f"form controls stick out of their box: {layout['controlsOut']}")
    return found


async def assert_accessible(page: Page) -> None:
    """No serious or critical axe-core violation, and no horizontal overflow at 375 px."""
    found = await problems(page)
    assert not found, f"{page.url}:\n" + "\n".join(found)
