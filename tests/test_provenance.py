"""Base-year data a planner can defend: every number's provenance is one of the known
statuses, nothing is left "recalled, not verified" without saying why no publication was found, and
each province's cities add up to its published totals (a named remainder unit closes the gap)."""

from __future__ import annotations

import pytest
from regionsim.model.provenance import numbers_with_sources, status, status_counts
from regionsim.model.scenario import load_scenario

from tests.conftest import cli

SHIPPED = ("capital_region", "bohai_rim", "harbin_changchun", "classroom")
REAL = ("capital_region", "bohai_rim", "harbin_changchun")


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        ("capital_metro_area L173「200萬—205萬」", "plan clause"),
        ("published: 北京市2023年国民经济和社会发展统计公报「2185.8万人」", "published"),
        ("derived: 2185.8万 × census share", "derived"),
        ("estimate: judgement", "estimate"),
        ("approx., from the 2014 bulletin (recalled, not verified here)", "recalled"),
        ("estimate: as recalled; no publication found: the bulletin is not online", "estimate"),
        ("estimate: a figure not verified", "recalled"),
        ("approx., 16410 km²", "unclassified"),
        ("", "missing"),
    ],
)
def test_status_of_a_note(note, expected):
    assert status(note) == expected


@pytest.mark.parametrize("name", SHIPPED)
def test_every_number_has_a_known_status_and_none_is_left_recalled(name):
    rows = numbers_with_sources(load_scenario(name).data)
    bad = [(path, source[:120]) for path, _, source in rows if status(source) in ("recalled", "unclassified", "missing")]
    assert not bad, f"{len(bad)} numbers in {name} are recalled, unclassified or unsourced, e.g. {bad[:5]}"


def test_sources_command_prints_the_status_summary_and_filters():
    done = cli("sources", "capital_region")
    assert done.returncode == 0, done.stderr
    summary = done.stdout.strip().splitlines()[-1]
    counts = status_counts(numbers_with_sources(load_scenario("capital_region").data))
    assert summary.startswith("by status: ")
    for name in ("plan clause", "published", "derived", "estimate"):
        assert f"{name} {counts[name]}" in summary
    derived = cli("sources", "capital_region", "--status", "derived")
    body = derived.stdout.strip().splitlines()[1:-2]
    assert len(body) == counts["derived"] > 0
    assert all("derived" in line for line in body)


@pytest.mark.parametrize("name", REAL)
def test_cities_add_up_to_the_published_provincial_totals(name):
    data = load_scenario(name).data
    for province in data["provinces"]:
        cities = [city for city in data["cities"] if city["province"] == province["id"]]
        assert "published_population_10k" in province, f"{name}: {province['id']} has no published total to check against"
        for field, total_key in (("population_10k", "published_population_10k"), ("gdp_100m_yuan", "published_gdp_100m_yuan")):
            if total_key not in province:
                continue
            total = province[total_key]
            summed = sum(city[field] for city in cities)
            if province.get("cities_cover_province", True):
                # rounding of the published figures only: 0.05% (e.g. 2504.81 vs the published 2504.8)
                assert summed == pytest.approx(total, rel=5e-4), f"{name}: {province['id']} {field} {summed:.2f} ≠ {total}"
            else:
                assert 0 < summed < total, f"{name}: {province['id']} covers part of the province, yet {summed:.1f} ≥ {total}"
