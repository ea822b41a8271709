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
import pytest
from regionsim.model.run import RUN_FILES

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
    page.locator(f".{css}").first.click()
    page.locator("[role=option]:visible, .v-menu__content .v-list-item:visible", has_text=option).first.click()
    page.wait_for_function("() => !document.querySelector('.menuable__content__active')", timeout=10_000)


def wait_text(page, selector: str, text: str, timeout: float = 15.0) -> None:
    """Wait until the first element matching `selector` contains `text` (works inside SVG too)."""
    page.wait_for_function(
        "([s, t]) => { const e = document.querySelector(s); return e && e.textContent.includes(t); }",
        arg=[selector, text],
        timeout=timeout * 1000,
    )


def boxes(page, selector: str) -> list[dict]:
    """Bounding boxes of every element matching `selector`."""
    return [b for b in (e.bounding_box() for e in page.locator(selector).all()) if b]


def fitted(page) -> None:
    """Wait until the map has been redrawn for the size of its box (it measures the window first)."""
    page.wait_for_function(
        "() => { const s = document.querySelector('svg.rs-map'); const b = document.querySelector('.rs-map-view');"
        " return s && b && Math.abs(s.getBoundingClientRect().width - b.clientWidth) < 3; }",
        timeout=20_000,
    )
    page.wait_for_timeout(200)


def test_map_and_charts_draw_offline(offline, artifacts):
    page = offline.open()
    fitted(page)
    map_box = page.locator("svg.rs-map").bounding_box()
    assert map_box and map_box["width"] > 300 and map_box["height"] > 300
    cities = boxes(page, "svg.rs-map circle.rs-city")
    assert len(cities) == 22 and all(b["width"] > 0 for b in cities)
    assert page.locator("svg.rs-map polygon.rs-province").count() >= 3
    assert page.locator("svg.rs-map .rs-legend").count() == 1
    assert "PM2.5" in page.locator("svg.rs-map").text_content()
    step(page, 2)
    # the map is redrawn apart from the year shown on top; the base year has no arrows
    page.wait_for_selector("svg.rs-map path.rs-arrow")
    assert page.locator("svg.rs-map path.rs-arrow").count() >= 1, "two years of capital_region move functions: arrows are drawn"
    page.screenshot(path=str(artifacts / "map.png"))
    page.locator(".rs-view-charts").click()
    page.wait_for_selector("svg.rs-chart")
    charts = boxes(page, "svg.rs-chart")
    assert len(charts) == 7 and all(b["width"] > 200 and b["height"] > 100 for b in charts)
    assert page.locator("svg.rs-chart polyline.rs-line").count() >= 7
    assert page.locator("svg.rs-chart line.rs-year-marker").count() == 7, "every chart marks the current year"
    hover = page.locator("svg.rs-chart").first.locator(f"rect.rs-hover[data-year='{BASE_YEAR + 2}'] title").text_content()
    assert hover.startswith(str(BASE_YEAR + 2)) and ":" in hover, hover
    page.screenshot(path=str(artifacts / "charts.png"), full_page=True)
    page.locator(".rs-view-scorecard").click()
    page.wait_for_selector("table.rs-scorecard")
    targets = page.locator("tr.rs-target").count()
    assert targets >= 3
    assert page.locator("tr.rs-met").count() + page.locator("tr.rs-missed").count() == targets
    assert page.locator("td.rs-score-cell").count() == targets * 3, "one cell per target per year so far"
    assert "e-1" not in page.locator("table.rs-scorecard").inner_text(), "no float noise"
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
    # this entry's refusal, not the last one's (both say "not"): typing on before it lands races the page's answer
    page.wait_for_selector(".rs-lever-relocate-annual_quota_share .rs-lever-error:has-text('lots')")
    assert page.locator(".rs-pending").count() == 0, "a refused value must not become a pending change"
    tooltip = page.locator(".rs-lever-relocate-annual_quota_share .rs-lever-label").get_attribute("title")
    assert "capital_metro_area L109" in tooltip and "「" in tooltip, tooltip
    field.fill("0.5")
    field.press("Enter")
    page.wait_for_selector(".rs-pending")
    # the lever's own field is redrawn apart from the run state: its refusal goes once 0.5 is accepted
    page.wait_for_selector(".rs-lever-relocate-annual_quota_share .rs-lever-error", state="detached")
    assert page.locator(".rs-lever-relocate-annual_quota_share-slider").count() == 1, "a bounded lever has a slider"
    page.locator(".rs-rule-joint_control").click()
    switch = page.locator(".rs-lever-joint_control-enabled-input")
    assert "on" in switch.inner_text()
    switch.locator(".v-input--selection-controls__ripple").click()
    page.wait_for_selector(".rs-pending:has-text('2')")
    page.wait_for_selector(".rs-lever-joint_control-enabled-input:has-text('off')")
    step(page, 2)
    page.locator(".rs-reset").click()
    wait_year(page, BASE_YEAR)
    page.wait_for_selector(".rs-running:has-text('2')")
    assert page.locator(".rs-pending").count() == 0, "after Reset the changes run: nothing is pending"
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
    assert "moved from" in text and "was chosen because" in text and "minutes away" in text
    assert " 亿元" not in page.locator(".rs-city-panel").inner_text(), "English sentences write amounts in English"
    payments = page.locator(".rs-city-panel li.rs-payment")
    assert payments.count() > 0
    assert page.locator(".rs-city-panel li.rs-payment[data-rule='TAX_SHARE']").count() > 0
    assert "taxes" in page.locator(".rs-city-payments").inner_text()
    assert "[Tax sharing]" in page.locator(".rs-city-payments").inner_text()
    assert "TAX_SHARE" not in page.locator(".rs-city-panel").inner_text(), "rule ids are shown as readable names"
    assert page.locator(".rs-city-panel svg.rs-spark").count() == 3
    page.screenshot(path=str(artifacts / "city_panel.png"))


def test_compare_b_is_same_scenario_with_one_lever(offline, artifacts):
    """B = capital_region with joint air-pollution control switched off: PM2.5 differs, and so do the colours."""
    from regionsim.model.model import RegionModel
    from regionsim.viz import views

    a = RegionModel("capital_region", rng=0).run()
    b = RegionModel("capital_region", rng=0, **{"rules.joint_control.enabled": False}).run()
    real = views.indicator_values(b, "pm25") - views.indicator_values(a, "pm25")
    assert abs(real).max() > 0.5, "the lever makes a real PM2.5 difference"
    page = offline.open()
    page.locator(".rs-edit-B").click()
    page.wait_for_selector(".rs-compare-b")
    page.wait_for_timeout(300)
    page.locator(".rs-rule-joint_control").click()
    page.locator(".rs-lever-joint_control-enabled-input .v-input--selection-controls__ripple").click()
    page.wait_for_selector(".rs-lever-joint_control-enabled-input:has-text('off')")
    page.locator(".rs-view-compare").click()
    page.wait_for_selector(".rs-compare-b-desc:has-text('capital_region + 1')")
    page.locator(".rs-compare-run").click()
    page.wait_for_selector(".rs-compare-map-B svg.rs-map", timeout=60_000)
    fills = page.evaluate("""() => ['A', 'B'].map(c => Object.fromEntries(Array.from(
        document.querySelectorAll(`.rs-compare-map-${c} circle.rs-city`)).map(e => [e.dataset.key, e.getAttribute('fill')])))""")
    assert fills[0].keys() == fills[1].keys()
    changed = [k for k in fills[0] if fills[0][k] != fills[1][k]]
    ids = a.state.city_ids
    biggest = ids[int(abs(real).argmax())]
    assert biggest in changed, (biggest, changed)
    vmins = page.locator(".rs-compare-map .rs-legend").evaluate_all("els => els.map(e => e.dataset.vmin + '/' + e.dataset.vmax)")
    assert len(set(vmins)) == 1, f"A and B share one colour scale: {vmins}"
    assert page.locator(".rs-compare-scorecard tr.rs-ab-target").count() >= 3
    assert page.locator(".rs-compare-charts svg.rs-chart").count() == 7
    page.screenshot(path=str(artifacts / "compare.png"), full_page=True)
    pick(page, "rs-compare-mode", "difference B − A")
    wait_text(page, ".rs-compare-map svg.rs-map", "B − A")
    legend = page.locator(".rs-compare-map .rs-legend")
    low, high = float(legend.get_attribute("data-vmin")), float(legend.get_attribute("data-vmax"))
    assert low == pytest.approx(-high) and high > 0.5, "the difference scale is centred on zero"
    page.screenshot(path=str(artifacts / "compare_difference.png"), full_page=True)


def test_exported_variant_loads_back_and_reproduces_the_run(browser, dashboard_url, tmp_path):
    from tests.browser.conftest import OfflinePage

    first, second = OfflinePage(browser, dashboard_url), OfflinePage(browser, dashboard_url)
    try:
        page = first.open()
        page.locator(".rs-rule-relocate").click()
        field = page.locator(".rs-lever-relocate-annual_quota_share-input input")
        field.fill("0.4")
        field.press("Enter")
        page.wait_for_selector(".rs-pending")
        page.locator(".rs-reset").click()
        page.wait_for_selector(".rs-running:has-text('1')")
        step(page, 3)
        page.locator(".rs-view-export").click()
        with page.expect_download() as download:
            page.locator(".rs-export-variant").click()
        variant = tmp_path / "mine.toml"
        download.value.save_as(variant)
        with page.expect_download() as download:
            page.locator(".rs-export-run").click()
        with zipfile.ZipFile(download.value.path()) as archive:
            before = pd.read_parquet(io.BytesIO(archive.read("model.parquet")))

        other = second.open()
        other.locator(".rs-view-export").click()
        other.locator(".rs-load-variant input[type=file]").set_input_files(str(variant))
        other.wait_for_selector(".rs-notice:has-text('capital_region')")
        other.wait_for_selector(".rs-running:has-text('1')")
        step(other, 3)
        with other.expect_download() as download:
            other.locator(".rs-export-run").click()
        with zipfile.ZipFile(download.value.path()) as archive:
            after = pd.read_parquet(io.BytesIO(archive.read("model.parquet")))
            run = json.loads(archive.read("run.json"))
        assert run["overrides"] == {"rules.relocate.annual_quota_share": 0.4}
        pd.testing.assert_frame_equal(before, after)
    finally:
        first.close()
        second.close()


def test_variant_file_loads_into_b_and_the_comparison_differs(browser, dashboard_url, tmp_path):
    """Export a variant with one lever changed (joint air-pollution control off), load it into B in
    another session whose A is the plain scenario: Compare shows a real B − A difference."""
    from tests.browser.conftest import OfflinePage

    first, second = OfflinePage(browser, dashboard_url), OfflinePage(browser, dashboard_url)
    try:
        page = first.open()
        page.locator(".rs-rule-joint_control").click()
        page.locator(".rs-lever-joint_control-enabled-input .v-input--selection-controls__ripple").click()
        page.wait_for_selector(".rs-pending")
        page.locator(".rs-view-export").click()
        page.wait_for_selector(".rs-variant-preview:has-text('rules.joint_control.enabled')")
        with page.expect_download() as download:
            page.locator(".rs-export-variant").click()
        variant = tmp_path / "no_joint_control.toml"
        download.value.save_as(variant)
        assert '"rules.joint_control.enabled" = false' in variant.read_text()

        other = second.open()
        other.locator(".rs-view-export").click()
        other.locator(".rs-load-variant-b input[type=file]").set_input_files(str(variant))
        other.wait_for_selector(".rs-notice:has-text('into B')")
        assert other.locator(".rs-running").count() == 1 and other.locator(".rs-pending").count() == 0, "A is untouched"
        other.wait_for_selector(".rs-compare-b", timeout=10_000)  # the left panel now edits B's levers
        assert "(1)" in other.locator(".rs-rule-joint_control").inner_text(), "B's panel shows the loaded lever as changed"
        other.locator(".rs-view-compare").click()
        other.wait_for_selector(".rs-compare-b-desc:has-text('capital_region + 1')")
        other.locator(".rs-compare-run").click()
        other.wait_for_selector(".rs-compare-map-B svg.rs-map", timeout=60_000)
        fills = other.evaluate("""() => ['A', 'B'].map(c => Object.fromEntries(Array.from(
            document.querySelectorAll(`.rs-compare-map-${c} circle.rs-city`)).map(e => [e.dataset.key, e.getAttribute('fill')])))""")
        assert [k for k in fills[0] if fills[0][k] != fills[1][k]], "B's map differs from A's somewhere"
        pick(other, "rs-compare-mode", "difference B − A")
        wait_text(other, ".rs-compare-map svg.rs-map", "B − A")
        high = float(other.locator(".rs-compare-map .rs-legend").get_attribute("data-vmax"))
        assert high > 0.5, f"switching joint control off changes PM2.5 by more than 0.5 µg/m³ somewhere (max |B − A| {high})"
        with other.expect_download() as download:
            other.locator(".rs-view-export").click()
            other.locator(".rs-export-run").click()
        with zipfile.ZipFile(download.value.path()) as archive:
            assert json.loads(archive.read("run.json"))["overrides"] == {}, "loading into B left A's run alone"
    finally:
        first.close()
        second.close()


def test_per_city_lever_table(offline):
    page = offline.open()
    page.locator(".rs-city-levers").click()
    cell = page.locator(".rs-city-lever-incentives-xiongan input")
    assert cell.input_value() == "1.5"
    cell.fill("0")
    cell.press("Enter")
    page.wait_for_selector(".rs-pending")
    page.locator(".rs-reset").click()
    page.wait_for_selector(".rs-running:has-text('1')")
    page.locator(".rs-view-export").click()
    assert '"rules.relocate.incentives.xiongan" = 0.0' in page.locator(".rs-variant-preview").inner_text()


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
    done = subprocess.run(
        [sys.executable, "-m", "regionsim.model.cli", "run", str(variant), "--until", "2025", "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
    )
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
    print(
        f"\nbenchmark: step click → year on page, capital_region, {len(times)} steps: "
        f"median {median * 1000:.0f} ms (min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})"
    )
    assert year(page) == BASE_YEAR + 10


ENGLISH = (
    "Step",
    "Play",
    "Pause",
    "Reset",
    "Refused",
    "True",
    "False",
    "million",
    "billion",
    "Scenario",
    "Charts",
    "Compare",
    "Export",
    "Lesson",
    "Population",
    "Year",
    "Levers",
    "City",
    "Zoom",
    "Arrows",
    "units",
    "Running",
    "changed",
    "Full screen",
    "Colour",
    "Presenter",
    "Target",
    "Status",
    "met",
    "missed",
    "moved",
    "pays",
    "must be",
    "not",
    "prediction",
    "whole region",
    "fixed over",
    "Random seed",
    "Money",
    "Payments",
    "press",
    "Model assumptions",
    # rule ids: event lists and the lever panel name rules in the reader's language (viz/i18n.py RULE_NAMES)
    "POLICY",
    "ZONING",
    "RELOCATE",
    "TRANSFER",
    "GROWTH",
    "SERVICES",
    "MIGRATE",
    "JOINT_CONTROL",
    "AIR",
    "ENERGY",
    "TAX_SHARE",
    "ECO_COMP",
    "FUND",
)
"""Words of the English interface that must not appear on the Chinese page (ids such as capital_region
and clause references such as capital_metro_area L109 may; rule ids such as RELOCATE may not)."""


def test_rule_id_list_covers_the_catalogue():
    from regionsim.model.rules import BY_ID

    assert set(BY_ID) <= set(ENGLISH), "every rule id is checked for on the Chinese page"


def _english_left(page) -> list[str]:
    import re

    text = page.inner_text("body")
    return sorted({word for word in ENGLISH if re.search(rf"(?<![A-Za-z_]){re.escape(word)}(?![A-Za-z_])", text)})


def test_chinese_page_has_no_english(offline, artifacts):
    page = offline.open()
    page.locator(".rs-lang").click()
    page.wait_for_selector(".rs-step:has-text('单步')")
    step(page, 2)
    page.locator(".rs-rule-relocate").click()
    field = page.locator(".rs-lever-relocate-annual_quota_share-input input")
    field.fill("5")
    field.press("Enter")
    error = page.locator(".rs-lever-relocate-annual_quota_share .rs-lever-error")
    error.wait_for()
    assert "须在0至1之间" in error.inner_text()
    page.locator(".rs-rule-joint_control").click()
    assert "开" in page.locator(".rs-lever-joint_control-enabled-input").inner_text()
    page.locator("circle.rs-city[data-key='bj_central']").click(force=True)
    page.wait_for_selector(".rs-city-panel")
    shown_rules = page.locator(".rs-city-panel .rs-rule-name").all_inner_texts()
    assert "[功能疏解]" in shown_rules, shown_rules
    assert _english_left(page) == [], "map view"
    assert "万" in page.locator(".rs-city-panel").inner_text()
    page.screenshot(path=str(artifacts / "chinese_map.png"))
    shown = {"charts": ".rs-charts-view svg.rs-chart", "scorecard": ".rs-scorecard-view", "lesson": ".rs-lesson-title"}
    for name in ("charts", "scorecard", "lesson", "compare"):
        page.locator(f".rs-view-{name}").click()
        if name in shown:  # the view itself, not the one before it
            page.wait_for_selector(shown[name])
        if name == "compare":
            page.locator(".rs-compare-run").click()
            page.wait_for_selector(".rs-compare-map-B svg.rs-map", timeout=60_000)
        assert _english_left(page) == [], f"{name} view"
    page.screenshot(path=str(artifacts / "chinese_compare.png"), full_page=True)
