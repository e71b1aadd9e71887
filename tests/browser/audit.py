"""One check for any page in the browser tests: axe-core finds no serious or critical violation,
and at a 375 px phone width the page does not scroll sideways (the walk's own rules, for a page
outside a walk)."""

from __future__ import annotations

from playwright.async_api import Page

from tests.browser.walk import AXE, DESKTOP, LAYOUT, PHONE, SERIOUS


async def problems(page: Page) -> list[str]:
    """What is wrong with the page as it is now (empty when nothing is)."""
    found = []
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
            f"scrolls sideways at {PHONE['width']} px: scrollWidth {layout['scrollWidth']} > "
            f"{width}; past the edge: {layout['wide']}"
        )
    if layout["controlsOut"]:
        found.append(f"form controls stick out at {PHONE['width']} px: {layout['controlsOut']}")
    return found


async def assert_accessible(page: Page) -> None:
    found = await problems(page)
    assert not found, f"{page.url}:\n" + "\n".join(found)
