"""Unit tests of the dashboard's drawing and session logic (no browser)."""

from __future__ import annotations

import io
import re
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
    assert "moved from" in panel and "was chosen because" in panel and "TAX_SHARE" in panel
    assert not re.search(r"\d 亿元", panel), "English sentences write amounts in English"
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


# --- issue 13: a dashboard a teacher can project and an analyst can trust -------------------------------


def test_numbers_in_the_readers_units():
    assert svg.fmt_number(21_940_000, 1, "en") == "21.9 million"
    assert svg.fmt_number(21_940_000, 1, "zh") == "2,194万"
    assert svg.fmt_number(312_000_000, 1, "zh") == "3.1亿"
    assert svg.fmt_number(45_000, 1, "zh") == "4.5万"
    assert svg.fmt_number(1.1e-13) == "0", "float noise reads 0"
    assert views.target_number(114.20000000001, "population_10k", "en") == "114"
    assert views.target_number(-3e-12, "pm25_ugm3", "en") == "0.0"


def test_refusals_are_translated():
    assert i18n.reason("must be from 0 to 1, not 5", "zh") == "须在0至1之间，而不是“5”"
    assert i18n.reason("must be true or false", "zh") == "须为“开”或“关”"
    assert i18n.reason("must be from 0 to 1, not 5", "en") == "must be from 0 to 1, not 5"
    unknown = i18n.reason("rules.relocate.incentives: unknown city 'atlantis'", "zh")
    assert not any(ch.isascii() and ch.isalpha() for ch in unknown)


def test_labels_never_overlap_and_stay_inside():
    # twelve cities on top of each other: every label still gets its own place inside the plot
    anchors = [(f"c{k}", 200.0 + k, 200.0 + k, 6.0, 80.0) for k in range(12)]
    spots = svg.place_labels(anchors, [], (0.0, 0.0, 400.0, 400.0), height=14.0)
    boxes = [(x, y - 11.0, x + 80.0, y + 3.0) for x, y, _ in spots.values()]
    assert len(boxes) == 12
    for i, a in enumerate(boxes):
        assert 0 <= a[0] and a[2] <= 400 and 0 <= a[1] and a[3] <= 400
        for b in boxes[i + 1 :]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)
    assert spots["c0"][2] is False and any(leader for _, _, leader in spots.values()), "the first sits beside its circle"


def test_map_every_label_arrows_on_top_and_fixed_scale(run):
    drawing = views.map_view(run.model, "pm25", "en", size=(1000, 700), arrows="cumulative")
    state = run.model.state
    for key in state.city_ids:
        assert f'class="rs-label" data-key="{key}"' in drawing, key
    assert drawing.rindex('class="rs-city"') < drawing.index('class="rs-arrow"'), "arrows after (above) the cities"
    moves = run.model.event_frame().query("kind == 'relocation' and year <= @run.year")
    assert drawing.count('class="rs-arrow"') == len(moves.groupby(["source", "target"]))
    assert 'width="1000" height="700"' in drawing
    # the same vrange gives the same colour to the same value in any year
    fixed = views.map_view(run.model, "pm25", "en", vrange=(0.0, 100.0))
    assert 'data-vmin="0" data-vmax="100"' in fixed
    zoomed = views.map_view(run.model, "pm25", "en", zoom=views.ZOOM_CAPITAL)
    assert 3 <= zoomed.count('class="rs-city"') < state.n_cities and 'data-key="xiongan"' in zoomed


def test_difference_scale_is_centred_on_zero(run):
    other = DashboardRun("capital_region", seed=0, overrides={"rules.joint_control.enabled": False})
    for _ in range(2):
        other.step()
    drawing = views.map_view(other.model, "pm25", "en", compare_to=run.model)
    bound = views.difference_bound(run.model, other.model, "pm25")
    assert bound > 0 and f'data-vmin="{-bound:.6g}" data-vmax="{bound:.6g}"' in drawing


def test_scorecard_over_all_years_with_units(run):
    table = views.scorecard_html(run.model, "zh")
    card = run.model.scorecard_frame()
    assert table.count("rs-score-cell") == len(card)
    assert "万人" in table and "微克/立方米" in table and not re.search(r"\de-\d", table)


def test_chart_marks_the_year_and_hovers_values(run):
    chart = views.chart_views(run.model, "en")[0]
    assert '<text x="' in chart and chart.count('class="rs-year-marker"') == 1
    assert chart.count('class="rs-hover"') == run.year - run.base_year + 1


def test_variant_round_trip(tmp_path):
    text = variant_toml("classroom", {"rules.joint_control.enabled": False, "rules.relocate.incentives.newtown": 2.0}, name="x", seed=7)
    from regionsim.viz.session import read_variant

    assert read_variant(text) == ("classroom", {"rules.joint_control.enabled": False, "rules.relocate.incentives.newtown": 2.0}, 7)
    with pytest.raises(Exception, match="variant.base"):
        read_variant('[variant]\nbase = "atlantis"\n')


def test_lessons_ship_in_both_languages():
    from regionsim.viz.lesson import direction, load_lesson

    for name in ("classroom", "capital_region"):
        lesson = load_lesson(name)
        assert lesson is not None and lesson.scenario == name and len(lesson.steps) >= 4
        for step in lesson.steps:
            for what in ("question", "press", "notice"):
                assert step.say(what, "en") and any(ord(ch) > 0x2E80 for ch in step.say(what, "zh"))
            assert check_case(name, step.setup) is None, step.id
    assert load_lesson("bohai_rim") is None
    assert (direction(100, 103), direction(100, 101), direction(100, 97), direction(0, 0.001)) == ("up", "same", "down", "same")


def test_network_notice_tells_students_the_address():
    from regionsim.viz.server import network_notice

    assert network_notice("127.0.0.1", 8765) == []
    lines = network_notice("192.168.1.20", 8765)
    assert "http://192.168.1.20:8765/" in lines[0] and "WARNING" in lines[1] and "exposes" in lines[1]


def test_plain_words_merge_duplicates_and_name_runners_up():
    from types import SimpleNamespace

    from regionsim.viz.views import explain, merged

    row = SimpleNamespace(
        kind="relocation",
        rule="RELOCATE",
        year=2025,
        source="a",
        target="b",
        function_type="university",
        units=2,
        why_en="2 universities moved from A to B (due on the release schedule): role match 1.0",
        why_zh="2个高校由甲迁往乙（按疏解批次计划到期）：功能定位匹配1.0",
        detail='{"role_match": 1.0, "travel_minutes": 64.0, "headroom": 0.05, "incentive": 0.0, '
        '"runners_up": [{"city": "c", "why": "no room left"}]}',
    )
    names = {"a": "Capital", "b": "Mill Town", "c": "Green County"}
    text = explain(row, "en", names)
    assert text.startswith("2 universities moved from Capital to Mill Town (due on the release schedule).")
    assert "64 minutes away" in text and "nearly full" in text and "Not chosen: Green County (no room left)" in text
    zh = explain(row, "zh", {"a": "京城", "b": "工城", "c": "绿县"})
    assert "选中工城是因为" in zh and "相距64分钟" in zh and "未选中：绿县（no room left）" in zh
    pay = SimpleNamespace(kind="payment", why_en="X pays Y 16.8 亿元 of compensation", why_zh="X向Y支付16.8亿元", detail="")
    assert explain(pay, "en", {}) == "X pays Y 1.7 billion yuan of compensation"
    assert [c for _, _, c in merged([(row, "same"), (row, "same"), (row, "other")])] == [2, 1]


def test_colour_scale_spans_the_whole_run_from_the_first_year():
    from regionsim.model.model import RegionModel

    session = DashboardRun("classroom", seed=0)
    low, high = session.scale("pm25")
    full = RegionModel("classroom", rng=0).run()
    every_year = [views.indicator_values(full, "pm25", k) for k in range(len(full.agent_frames))]
    assert low == pytest.approx(min(v.min() for v in every_year)) and high == pytest.approx(max(v.max() for v in every_year))
    first = views.indicator_values(session.model, "pm25")
    assert low < first.min(), "the scale already covers later, cleaner years in the base year"


def test_events_grown_step_by_step_equal_the_whole_log():
    """The dashboard's incremental event frame (views.events_of, via EventLog.frame(start=…)) is the model's own."""
    import pandas.testing
    from regionsim.model.model import RegionModel

    model = RegionModel("capital_region", rng=3, record_functions=False)
    for _ in range(3):
        model.step()
        pandas.testing.assert_frame_equal(views.events_of(model), model.event_frame())
    assert len(model.event_frame()) > 0


def test_rule_ids_are_shown_as_names_in_both_languages(run):
    from regionsim.model.rules import BY_ID

    assert set(BY_ID) <= set(i18n.RULE_NAMES), "every catalogued rule has a display name"
    for rule_id in BY_ID:
        english, chinese = i18n.rule_name(rule_id, "en"), i18n.rule_name(rule_id, "zh")
        assert english != rule_id and not re.search(r"[A-Za-z]", chinese), (rule_id, english, chinese)
    ids = re.compile(r"\b(" + "|".join(BY_ID) + r")\b")
    for lang in ("en", "zh"):
        panel = views.city_html(run.model, "bj_central", lang) + views.payments_html(run.model, lang)
        visible = re.sub(r"<[^>]*>", " ", panel)  # text only: data-rule attributes keep the id for scripts
        assert not ids.search(visible), (lang, ids.search(visible))
        assert "data-rule='RELOCATE'" in panel
    assert "[功能疏解]" in views.city_html(run.model, "bj_central", "zh")
    assert "[Relocation]" in views.city_html(run.model, "bj_central", "en")
