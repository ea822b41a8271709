"""The map fills the screen, at a projector's 1280×720 and at 1920×1080 (issue 13).

At each size: the whole map is inside the window; every city has a label inside the window and no
two labels overlap; clicking the centre of each city's own circle selects that city (even the big
circles under small ones); the relocation arrows are drawn above the cities and are thick enough
to see. A screenshot of each size goes to tests/artifacts/.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import OfflinePage
from tests.browser.test_dashboard import pick, step

SIZES = [(1280, 720), (1920, 1080)]


def _inside(box: dict, width: int, height: int, slack: float = 1.0) -> bool:
    return (
        box["x"] >= -slack
        and box["y"] >= -slack
        and box["x"] + box["width"] <= width + slack
        and box["y"] + box["height"] <= height + slack
    )


def _overlap(a: dict, b: dict, slack: float = 1.0) -> bool:
    return (
        a["x"] + slack < b["x"] + b["width"]
        and b["x"] + slack < a["x"] + a["width"]
        and a["y"] + slack < b["y"] + b["height"]
        and b["y"] + slack < a["y"] + a["height"]
    )


def _fitted(page) -> None:
    """Wait until the map has been redrawn for the size of its box."""
    page.wait_for_function(
        "() => { const s = document.querySelector('svg.rs-map'); const b = document.querySelector('.rs-map-view');"
        " return s && b && Math.abs(s.getBoundingClientRect().width - b.clientWidth) < 3; }",
        timeout=20_000,
    )


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_map_fills_the_window_labels_clicks_arrows(browser, dashboard_url, artifacts, size):
    width, height = size
    session = OfflinePage(browser, dashboard_url, viewport=size)
    try:
        page = session.open()
        _fitted(page)
        map_box = page.locator("svg.rs-map").bounding_box()
        assert _inside(map_box, width, height), (map_box, size)
        assert map_box["width"] >= 0.45 * width and map_box["height"] >= 0.6 * height, "the map should fill the screen"

        cities = page.locator("svg.rs-map circle.rs-city")
        keys = [cities.nth(i).get_attribute("data-key") for i in range(cities.count())]
        assert len(keys) == 22
        page.wait_for_timeout(500)  # let any redraw for the final size land, then read every label at once
        page.screenshot(path=str(artifacts / f"map_{width}x{height}.png"))
        labels = page.evaluate("""() => Object.fromEntries(Array.from(document.querySelectorAll('svg.rs-map text.rs-label'))
            .map(e => { const b = e.getBoundingClientRect();
                        return [e.dataset.key, {x: b.x, y: b.y, width: b.width, height: b.height}]; }))""")
        assert sorted(labels) == sorted(keys), "every city has its label"
        for key, box in labels.items():
            assert _inside(box, width, height), f"label of {key} is outside the window: {box}"
        names = list(labels)
        clashes = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :] if _overlap(labels[a], labels[b])]
        assert clashes == [], f"labels overlap: {clashes}"

        step(page, 2)
        _fitted(page)
        pick(page, "rs-arrows", "cumulative")
        page.wait_for_function(
            "() => document.querySelectorAll('svg.rs-map path.rs-arrow').length >= 5"
            " && document.querySelector('svg.rs-map .rs-arrow-legend').textContent.includes('since')"
        )
        order = page.evaluate("""() => {
            const kids = Array.from(document.querySelector('svg.rs-map').querySelectorAll('circle.rs-city, path.rs-arrow'));
            const lastCity = Math.max(...kids.map((e, i) => e.matches('circle.rs-city') ? i : -1));
            const firstArrow = kids.findIndex(e => e.matches('path.rs-arrow'));
            const widths = Array.from(document.querySelectorAll('svg.rs-map path.rs-arrow')).map(p => +p.getAttribute('stroke-width'));
            return {lastCity, firstArrow, minWidth: Math.min(...widths), maxWidth: Math.max(...widths)};
        }""")
        assert order["firstArrow"] > order["lastCity"], "arrows must be drawn on top of the cities"
        assert order["minWidth"] >= 2.5 and order["maxWidth"] >= 8, order
        assert page.locator("svg.rs-map .rs-arrow-legend").count() == 1
        page.screenshot(path=str(artifacts / f"layout_{width}x{height}.png"))

        for key in keys:  # every city by the centre of its own circle, arrows and labels notwithstanding
            box = page.locator(f"svg.rs-map circle.rs-city[data-key='{key}']").bounding_box()
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.wait_for_selector(f".rs-city-panel[data-key='{key}']", timeout=10_000)
        assert session.external == []
    finally:
        session.close()


def test_zoom_and_presenter_mode(browser, dashboard_url, artifacts):
    session = OfflinePage(browser, dashboard_url, viewport=(1280, 720))
    try:
        page = session.open()
        _fitted(page)
        whole = page.locator("svg.rs-map").bounding_box()
        pick(page, "rs-zoom", "around")
        page.wait_for_function("() => document.querySelectorAll('svg.rs-map circle.rs-city').length < 22")
        zoomed = page.locator("svg.rs-map circle.rs-city").count()
        assert 3 <= zoomed < 22
        assert page.locator("svg.rs-map circle.rs-city[data-key='xiongan']").count() == 1
        page.locator(".rs-presenter").click()
        page.wait_for_selector(".rs-left", state="detached")
        page.wait_for_function(f"() => document.querySelector('svg.rs-map').getBoundingClientRect().width > {whole['width'] + 200}")
        box = page.locator("svg.rs-map").bounding_box()
        assert _inside(box, 1280, 720)
        page.screenshot(path=str(artifacts / "presenter_1280x720.png"))
        page.locator(".rs-presenter").click()
        page.wait_for_selector(".rs-left")
    finally:
        session.close()
