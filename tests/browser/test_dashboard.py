"""The dashboard in a real headless browser, with the network cut (tests/browser/conftest.py).

Each test opens its own browser session; together they walk through what issue 4 asks: the
page draws offline, steps, plays and pauses, takes levers (and refuses impossible ones with a
reason), switches language, explains a city's events, compares two variants, exports the run
and the lever settings, and keeps two sessions apart.
"""

from __future__ import annotations

import io
import json
import statistics
import subprocess
import sys
import time
import zipfile

import pandas as pd
from regionsim.model.run import RUN_FILES
from regionsim.model.scenario import list_scenarios

BASE_YEAR = 2023


def year(page) -> int:
    """The year shown in the top bar."""
    return int(page.locator(".rs-year").inner_text())


def wait_year(page, expected: int, timeout: float = 15.0) -> None:
    """Wait until the top bar shows `expected`."""
    page.wait_for_selector(f".rs-year[data-year='{expected}']", timeout=timeout * 1000)


def step(page, times: int = 1) -> None:
    """Click Step `times` times, each time waiting for the year to move on."""
    for _ in range(times):
        now = year(page)
        page.locator(".rs-step").click()
        wait_year(page, now + 1)


def pick(page, css: str, option: str) -> None:
    """Choose `option` in the Solara select with class `css`."""
    page.locator(f".{css}").click()
    page.locator(".v-overlay-container .v-list-item", has_text=option).first.click()


def wait_text(page, selector: str, text: str, timeout: float = 15.0) -> None:
    """Wait until the first element matching `selector` contains `text` (works inside SVG too)."""
    page.wait_for_function("([s, t]) => { const e = document.querySelector(s); return e && e.textContent.includes(t); }",
                           arg=[selector, text], timeout=timeout * 1000)


def boxes(page, selector: str) -> list[dict]:
    """Bounding boxes of every element matching `selector`."""
    return [b for b in (e.bounding_box() for e in page.locator(selector).all()) if b]


def test_map_and_charts_draw_offline(offline, artifacts):
    page = offline.open()
    map_box = page.locator("svg.rs-map").bounding_box()
    assert map_box and map_box["width"] > 300 and map_box["height"] > 300
    cities = boxes(page, "svg.rs-map circle.rs-city")
    assert len(cities) == 22 and all(b["width"] > 0 for b in cities)
    assert page.locator("svg.rs-map polygon.rs-province").count() >= 3
    assert page.locator("svg.rs-map .rs-legend").count() == 1
    assert "PM2.5" in page.locator("svg.rs-map").text_content()
    step(page, 2)
    page.wait_for_timeout(300)
    assert page.locator("svg.rs-map path.rs-arrow").count() >= 0
    page.screenshot(path=str(artifacts / "map.png"))
    page.locator(".rs-view-charts").click()
    page.wait_for_selector("svg.rs-chart")
    charts = boxes(page, "svg.rs-chart")
    assert len(charts) == 7 and all(b["width"] > 200 and b["height"] > 100 for b in charts)
    assert page.locator("svg.rs-chart polyline.rs-line").count() >= 7
    page.screenshot(path=str(artifacts / "charts.png"), full_page=True)
    page.locator(".rs-view-scorecard").click()
    page.wait_for_selector("table.rs-scorecard")
    assert page.locator("tr.rs-target").count() >= 3
    assert page.locator("tr.rs-met").count() + page.locator("tr.rs-missed").count() == page.locator("tr.rs-target").count()
    page.screenshot(path=str(artifacts / "scorecard.png"))
    assert "Traceback" not in page.inner_text("body")


def test_step_play_pause(offline):
    page = offline.open()
    assert year(page) == BASE_YEAR
    step(page, 3)
    assert year(page) == BASE_YEAR + 3
    page.locator(".rs-play").click()
    wait_year(page, BASE_YEAR + 5, timeout=20)
    page.locator(".rs-play").click()  # now labelled Pause
    page.wait_for_selector(".rs-ticker[data-playing='no']", state="attached")
    page.wait_for_timeout(300)
    paused_at = year(page)
    page.wait_for_timeout(1500)
    assert year(page) == paused_at, "the model kept stepping after Pause"
    page.locator(".rs-reset").click()
    wait_year(page, BASE_YEAR)


def test_lever_refused_then_changed_and_reset(offline):
    page = offline.open()
    page.locator(".rs-rule-relocate").click()
    field = page.locator(".rs-lever-relocate-annual_quota_share-input input")
    field.fill("5")
    field.press("Enter")
    error = page.locator(".rs-lever-relocate-annual_quota_share .rs-lever-error")
    error.wait_for()
    assert "must be from 0 to 1" in error.inner_text()
    field.fill("lots")
    field.press("Enter")
    page.wait_for_selector(".rs-lever-relocate-annual_quota_share .rs-lever-error:has-text('not')")
    assert page.locator(".rs-pending").count() == 0, "a refused value must not become a pending change"
    tooltip = page.locator(".rs-lever-relocate-annual_quota_share .rs-lever-label").get_attribute("title")
    assert "capital_metro_area L109" in tooltip and "「" in tooltip, tooltip
    field.fill("0.5")
    field.press("Enter")
    page.wait_for_selector(".rs-pending")
    assert page.locator(".rs-lever-relocate-annual_quota_share .rs-lever-error").count() == 0
    page.locator(".rs-rule-joint_control").click()
    page.locator(".rs-lever-joint_control-enabled-input input").click()
    page.wait_for_selector(".rs-pending:has-text('2')")
    step(page, 2)
    page.locator(".rs-reset").click()
    wait_year(page, BASE_YEAR)
    step(page, 2)
    page.locator(".rs-view-export").click()
    preview = page.locator(".rs-variant-preview").inner_text()
    assert '"rules.relocate.annual_quota_share" = 0.5' in preview and '"rules.joint_control.enabled" = false' in preview
    with page.expect_download() as download:
        page.locator(".rs-export-run").click()
    with zipfile.ZipFile(download.value.path()) as archive:
        run = json.loads(archive.read("run.json"))
    assert run["overrides"] == {"rules.relocate.annual_quota_share": 0.5, "rules.joint_control.enabled": False}
    assert run["parameters"]["joint_control"]["enabled"] is False and run["last_year"] == BASE_YEAR + 2
    assert "Traceback" not in page.inner_text("body")


def test_language_switch(offline, artifacts):
    page = offline.open()
    assert page.locator(".rs-step").inner_text().strip().lower() == "step"
    page.locator(".rs-lang").click()
    page.wait_for_selector(".rs-step:has-text('单步')")
    wait_text(page, "svg.rs-map", "城市")
    assert "情景或变体" in page.inner_text("body")
    page.locator(".rs-rule-relocate").click()
    page.wait_for_selector(".rs-lever-relocate-annual_quota_share")
    page.locator("circle.rs-city[data-key='xiongan']").click()
    page.wait_for_selector(".rs-city-panel[data-key='xiongan']")
    assert "雄安" in page.locator(".rs-city-panel").inner_text()
    page.screenshot(path=str(artifacts / "chinese.png"))
    page.locator(".rs-lang").click()
    page.wait_for_selector(".rs-step:has-text('Step')")


def test_city_click_explains_events(offline, artifacts):
    page = offline.open()
    step(page, 2)
    page.locator("circle.rs-city[data-key='tj_wuqing']").click()
    panel = page.locator(".rs-city-panel[data-key='tj_wuqing']")
    panel.wait_for()
    events = page.locator(".rs-city-panel li.rs-event")
    assert events.count() > 0
    text = page.locator(".rs-city-events").inner_text()
    assert "moved from" in text and "role match" in text and "travel time" in text
    payments = page.locator(".rs-city-panel li.rs-payment")
    assert payments.count() > 0
    assert page.locator(".rs-city-panel li.rs-payment[data-rule='TAX_SHARE']").count() > 0
    assert "taxes" in page.locator(".rs-city-payments").inner_text()
    assert page.locator(".rs-city-panel svg.rs-spark").count() == 3
    page.screenshot(path=str(artifacts / "city_panel.png"))


def test_compare_two_variants(offline, artifacts):
    names = list_scenarios()
    b_name = "capital_region-no_coordination" if "capital_region-no_coordination" in names else "capital_region"
    page = offline.open()
    if "capital_region-plan_as_written" in names:
        pick(page, "rs-scenario", "capital_region-plan_as_written")
        page.wait_for_selector(".rs-scenario:has-text('plan_as_written')")
    page.locator(".rs-view-compare").click()
    pick(page, "rs-compare-b", b_name)
    page.locator(".rs-compare-run").click()
    page.wait_for_selector(".rs-compare-map-B svg.rs-map", timeout=30_000)
    assert page.locator(".rs-compare-map svg.rs-map").count() == 2
    assert page.locator(".rs-compare-charts svg.rs-chart").count() == 7
    assert page.locator(".rs-compare-charts polyline[stroke-dasharray]").count() >= 5
    page.screenshot(path=str(artifacts / "compare.png"), full_page=True)
    pick(page, "rs-compare-mode", "difference B − A")
    wait_text(page, ".rs-compare-map svg.rs-map", "B − A")
    assert page.locator(".rs-compare-map svg.rs-map").count() == 1
    page.screenshot(path=str(artifacts / "compare_difference.png"), full_page=True)


def test_export_run_files_and_variant(offline, tmp_path):
    page = offline.open()
    step(page, 3)
    page.locator(".rs-view-export").click()
    with page.expect_download() as download:
        page.locator(".rs-export-run").click()
    assert download.value.suggested_filename == f"capital_region_seed0_{BASE_YEAR + 3}.zip"
    with zipfile.ZipFile(download.value.path()) as archive:
        assert sorted(archive.namelist()) == sorted(RUN_FILES)
        model = pd.read_parquet(io.BytesIO(archive.read("model.parquet")))
        agents = pd.read_parquet(io.BytesIO(archive.read("agents.parquet")))
        events = pd.read_parquet(io.BytesIO(archive.read("events.parquet")))
    assert model["year"].tolist() == list(range(BASE_YEAR, BASE_YEAR + 4))
    assert set(agents["agent_type"]) >= {"province", "city"} and agents["year"].max() == BASE_YEAR + 3
    assert (events["kind"] == "relocation").any()

    page.locator(".rs-variant-name input").fill("dash_case")
    page.locator(".rs-variant-name input").press("Enter")
    page.wait_for_selector(".rs-variant-preview:has-text('dash_case')")
    with page.expect_download() as download:
        page.locator(".rs-export-variant").click()
    variant = tmp_path / download.value.suggested_filename
    download.value.save_as(variant)
    assert variant.name == "dash_case.toml"
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "regionsim.model.cli", "run", str(variant), "--until", "2025", "--out", str(out),
                           "--quiet"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(RUN_FILES)


def test_two_sessions_are_independent(browser, dashboard_url):
    from tests.browser.conftest import OfflinePage

    first, second = OfflinePage(browser, dashboard_url), OfflinePage(browser, dashboard_url)
    try:
        a, b = first.open(), second.open()
        step(a, 3)
        b.wait_for_timeout(500)
        assert year(b) == BASE_YEAR
        step(b, 1)
        assert year(a) == BASE_YEAR + 3 and year(b) == BASE_YEAR + 1
        b.locator(".rs-rule-relocate").click()
        b.locator(".rs-lever-relocate-annual_quota_share-input input").fill("0.3")
        b.locator(".rs-lever-relocate-annual_quota_share-input input").press("Enter")
        b.wait_for_selector(".rs-pending")
        assert a.locator(".rs-pending").count() == 0
        assert first.external == [] and second.external == []
    finally:
        first.close()
        second.close()


def test_benchmark_step_to_year_on_page(offline):
    """Print the median time from a Step click to the new year on the page (never fails on time)."""
    page = offline.open()
    times = []
    for _ in range(10):
        now = year(page)
        started = time.perf_counter()
        page.locator(".rs-step").click()
        wait_year(page, now + 1)
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    print(f"\nbenchmark: step click → year on page, capital_region, {len(times)} steps: "
          f"median {median * 1000:.0f} ms (min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})")
    assert year(page) == BASE_YEAR + 10
