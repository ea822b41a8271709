"""Unit tests of the dashboard's drawing and session logic (no browser)."""

from __future__ import annotations

import io
import tomllib
import zipfile

import pandas as pd
import pytest
from regionsim.model.rules import REGISTRY
from regionsim.model.run import RUN_FILES
from regionsim.model.scenario import load_scenario
from regionsim.viz import i18n, svg, views
from regionsim.viz.session import DashboardRun, check_case, parse_lever, parse_seed, variant_toml


@pytest.fixture(scope="module")
def run() -> DashboardRun:
    session = DashboardRun("capital_region", seed=0)
    for _ in range(2):
        session.step()
    return session


def test_every_text_has_both_languages():
    for key, (english, chinese) in i18n.TEXT.items():
        assert english and chinese, key
    assert i18n.t("step", "zh") == "单步" and i18n.t("map_title", "en", year=2030, indicator="x").startswith("Cities in 2030")


def test_map_has_every_city_clickable_with_legend(run):
    drawing = views.map_view(run.model, "pm25", "en", selected="xiongan")
    state = run.model.state
    for key in state.city_ids:
        assert f'data-key="{key}"' in drawing
    assert drawing.count('class="rs-province"') == sum(len(r) >= 3 for r in state.province_outlines)
    assert "rs-legend" in drawing and "PM2.5" in drawing
    moves = run.model.event_frame().query("kind == 'relocation' and year == @run.year")
    assert drawing.count('class="rs-arrow"') == len(moves.groupby(["source", "target"]))


@pytest.mark.parametrize("indicator", views.INDICATORS)
def test_every_indicator_draws(run, indicator):
    values = views.indicator_values(run.model, indicator)
    assert len(values) == run.model.state.n_cities
    assert "<svg" in views.map_view(run.model, indicator, "zh")


def test_text_is_escaped():
    drawing = svg.line_chart_svg("<script>", [svg.Series("a&b", [1, 2], [1.0, 2.0])])
    assert "<script>" not in drawing and "&lt;script&gt;" in drawing and "a&amp;b" in drawing


def test_charts_single_and_compared(run):
    assert len(views.chart_views(run.model, "en")) == 7
    other = DashboardRun("capital_region", seed=0, overrides={"rules.joint_control.enabled": False})
    other.step()
    charts = views.chart_views(run.model, "en", other=other.model)
    assert any("stroke-dasharray" in c for c in charts)
    assert len(views.chart_views(run.model, "en", other=other.model, difference=True)) == 7


def test_city_panel_explains_relocations_and_payments(run):
    panel = views.city_html(run.model, "tj_wuqing", "en")
    assert "moved from" in panel and "role match" in panel and "TAX_SHARE" in panel
    assert "迁往" in views.city_html(run.model, "tj_wuqing", "zh")


def test_scorecard_colours_met_and_missed(run):
    table = views.scorecard_html(run.model, "en")
    card = run.model.scorecard_frame()
    now = card[card["year"] == run.year]
    assert table.count("rs-met'") == int(now["met"].sum())
    assert table.count("rs-missed'") == int((~now["met"]).sum())


def test_levers_refuse_impossible_values():
    quota = REGISTRY["relocate"].lever("annual_quota_share")
    assert parse_lever(quota, "0.3") == (0.3, None)
    value, why = parse_lever(quota, "5")
    assert value is None and "from 0 to 1" in why
    assert parse_lever(quota, "abc")[1]
    assert parse_lever(REGISTRY["services"].lever("lag_years"), "2.5")[1]
    assert parse_seed("-1")[1] and parse_seed("7") == (7, None)
    assert check_case("capital_region", {"rules.relocate.annual_quota_share": 7}) is not None


def test_export_zip_holds_the_run_files(run):
    with zipfile.ZipFile(io.BytesIO(run.export_zip())) as archive:
        assert sorted(archive.namelist()) == sorted(RUN_FILES)
        model = pd.read_parquet(io.BytesIO(archive.read("model.parquet")))
    assert model["year"].max() == run.year


def test_variant_file_loads_with_the_overrides(tmp_path):
    overrides = {"rules.relocate.annual_quota_share": 0.3, "rules.joint_control.enabled": False}
    path = tmp_path / "mine.toml"
    path.write_text(variant_toml("capital_region", overrides, name="mine", seed=3), encoding="utf-8")
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    assert document["variant"]["base"] == "capital_region"
    scenario = load_scenario(path)
    assert scenario.params["relocate"]["annual_quota_share"] == 0.3
    assert scenario.params["joint_control"]["enabled"] is False
