"""Map labels read cleanly: no city label or province name on top of another, and every label
beside its city (a leader line only when the city's neighbourhood is full, and then a short one).

The boxes are estimated from the SVG text alone, as a reader's eye would see them: x, y,
font-size, text-anchor and the characters (a CJK character is about 1 em wide, any other about
0.6 em; the text stands 0.8 em above its baseline and 0.2 em below)."""

from __future__ import annotations

import html
import math
import re

import pytest
from regionsim.model.scenario import list_scenarios
from regionsim.viz import svg, views
from regionsim.viz.session import DashboardRun

# the shipped regions (variants draw their base region's map)
SHIPPED = sorted(name for name in list_scenarios() if "-" not in name)
# the sizes the app draws the whole-region map at: the dashboard's default, the classroom game's,
# the comparison's difference map (660 wide × 0.75) and a dashboard filling a wide window
SIZES = [(660, 560), (700, 480), (660, 495), (960, 640)]
LANGS = ["en", "zh"]
TOLERANCE = 1.0  # px two boxes may share each way (coordinates are rounded to 0.1 px, fonts vary)
LINE = 15.0  # a label's line: 12-px text with room for its white halo
# A leader line is the last resort of a crowded map: beyond about five lines of label text the
# eye no longer follows a thin line through the crowd to the right dot. The 50-city Bohai map at
# 660 × 495 needs up to about four; the old placer drew leaders of up to 144 px there.
LEADER_MAX = 5 * LINE
# The 22-city capital region (the dashboard's opening map) has room for every label within two
# lines of its dot; the old placer put Wuqing's label 40 px away, under the Tianjin province name.
CAPITAL_LEADER_MAX = 2 * LINE


def _width(text: str, size: float) -> float:
    return sum(size if ord(ch) > 0x2E80 else 0.6 * size for ch in text)


def text_boxes(drawing: str) -> list[tuple[str, float, float, float, float]]:
    """(text, left, top, right, bottom) of every city label and province name in a map."""
    boxes = []
    for match in re.finditer(r'<text class="(?:rs-label|rs-province-name)"([^>]*)>([^<]*)</text>', drawing):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', match.group(1)))
        text, size = html.unescape(match.group(2)), float(attrs["font-size"])
        x, y, width = float(attrs["x"]), float(attrs["y"]), _width(text, size)
        left = x - {"start": 0.0, "middle": width / 2, "end": width}[attrs.get("text-anchor", "start")]
        boxes.append((text, left, y - 0.8 * size, left + width, y + 0.2 * size))
    return boxes


def clashes(boxes: list[tuple[str, float, float, float, float]]) -> list[tuple[str, str, float, float]]:
    """Pairs of boxes sharing more than TOLERANCE px each way: (text, text, overlap x, overlap y)."""
    found = []
    for i, (name_a, *a) in enumerate(boxes):
        for name_b, *b in boxes[i + 1 :]:
            dx, dy = min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])
            if dx > TOLERANCE and dy > TOLERANCE:
                found.append((name_a, name_b, round(dx, 1), round(dy, 1)))
    return found


def leader_lengths(drawing: str) -> list[float]:
    """The length of every leader line (from a city's circle to its label)."""
    pattern = r'<line class="rs-leader" x1="([^"]+)" y1="([^"]+)" x2="([^"]+)" y2="([^"]+)"'
    return [math.dist((float(a), float(b)), (float(c), float(d))) for a, b, c, d in re.findall(pattern, drawing)]


@pytest.fixture(scope="module")
def maps() -> dict[tuple[str, str, tuple[int, int]], str]:
    """Every shipped region's map, two years in with the relocations so far (the dashboard after
    two steps), in both languages at every size."""
    drawn = {}
    for scenario in SHIPPED:
        run = DashboardRun(scenario, seed=0)
        run.step()
        run.step()
        for lang in LANGS:
            for size in SIZES:
                drawn[scenario, lang, size] = views.map_view(run.model, "pm25", lang, size=size, arrows="cumulative")
    return drawn


def test_the_shipped_regions_are_all_checked():
    assert {"capital_region", "bohai_rim", "harbin_changchun", "classroom"} <= set(SHIPPED)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("scenario", SHIPPED)
def test_no_label_or_province_name_overlaps_another(maps, scenario, lang):
    for size in SIZES:
        drawing = maps[scenario, lang, size]
        assert drawing.count('class="rs-label"') == drawing.count('class="rs-city"'), "every city is labelled"
        assert 'class="rs-province-name"' in drawing, f"{size}: no province is named"
        assert clashes(text_boxes(drawing)) == [], f"{scenario} {lang} {size}"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("scenario", SHIPPED)
def test_leader_lines_are_short(maps, scenario, lang):
    bound = CAPITAL_LEADER_MAX if scenario == "capital_region" else LEADER_MAX
    for size in SIZES:
        longest = max(leader_lengths(maps[scenario, lang, size]), default=0.0)
        assert longest <= bound, f"{scenario} {lang} {size}: a leader line {longest:.0f} px long"


def test_labels_stay_inside_the_plot(maps):
    # the plot: 14 px in from the edges, under the 34-px title band, left of the 150-px legend
    for (scenario, lang, (width, height)), drawing in maps.items():
        for text, left, top, right, bottom in text_boxes(drawing):
            assert left >= 14 and right <= width - 164 and top >= 48 and bottom <= height - 14, (scenario, lang, text)


def test_the_roomy_regions_name_every_province(maps):
    for scenario in ("classroom", "harbin_changchun"):
        for lang in LANGS:
            drawing = maps[scenario, lang, SIZES[0]]
            assert drawing.count('class="rs-province-name"') == drawing.count('class="rs-province"'), (scenario, lang)


def test_the_map_is_drawn_the_same_every_time(maps):
    run = DashboardRun("capital_region", seed=0)
    run.step()
    run.step()
    assert views.map_view(run.model, "pm25", "en", size=SIZES[0], arrows="cumulative") == maps["capital_region", "en", SIZES[0]]


def test_a_label_keeps_off_an_obstacle_and_beside_its_circle():
    # the spot to the right of the circle is taken (as by a province name): the label goes left, no leader
    spots = svg.place_labels([("a", 200.0, 200.0, 10.0, 60.0)], [(205.0, 190.0, 300.0, 210.0)], (0.0, 0.0, 400.0, 400.0), height=15.0)
    assert spots["a"] == (128.0, 204.5, False), "left of the circle (200 − 10 − 2 − 60), centred on it"


def test_next_years_map_keeps_its_labels_where_circles_grew_a_little():
    # a city whose circle grows within the same even pixel keeps the layout (and it is not computed again)
    this_year = [("a", 200.0, 200.0, 8.0, 60.0), ("b", 230.0, 200.0, 6.0, 40.0)]
    spots = svg.place_labels(this_year, [], (0.0, 0.0, 400.0, 400.0), height=15.0)
    spots["a"] = (0.0, 0.0, True)  # the caller's copy: changing it leaves the remembered layout alone
    hits = svg._place_labels.cache_info().hits
    again = svg.place_labels([tuple(a) for a in this_year], [], (0.0, 0.0, 400.0, 400.0), height=15.0)
    assert svg._place_labels.cache_info().hits == hits + 1
    assert again["a"] != (0.0, 0.0, True) and again == svg.place_labels(this_year, [], (0.0, 0.0, 400.0, 400.0), height=15.0)


def test_a_city_growing_within_its_even_pixel_keeps_every_label_in_place():
    run = DashboardRun("capital_region", seed=0)
    positions = {}
    for year in range(3):
        drawing = views.map_view(run.model, "pm25", "en", index=year, size=SIZES[0], arrows="none")
        positions[year] = {
            key: (x, y) for key, x, y in re.findall(r'class="rs-label" data-key="([^"]+)" x="([\d.]+)" y="([\d.]+)"', drawing)
        }
        run.step()
    # the circles of the capital region change by well under 2 px a year, so the labels do not jump about
    moved = [key for key in positions[0] if positions[0][key] != positions[1][key]]
    assert len(moved) <= 3, moved
