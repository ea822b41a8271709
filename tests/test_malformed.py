"""Broken scenario files, as a new user writes them: `regionsim validate` must reject each one with
exit status 2, name the key path (and the file), and never show a traceback.

The files live in tests/malformed/ (each starts with a comment saying what is wrong with it); variants
there point at tests/fixtures/three_cities.toml or at each other.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import cli

ROOT = Path(__file__).resolve().parent.parent
MALFORMED = ROOT / "tests" / "malformed"

# file → text that must appear in the report (a key path, or the kind of problem when there is none)
EXPECTED = {
    "bad_city_id.toml": "cities[new town].id",
    "bad_toml_syntax.toml": "bad_toml_syntax.toml:71: not valid TOML",
    "base_year_after_horizon.toml": "meta.horizon",
    "duplicate_city_id.toml": "cities[capital].id: duplicate id",
    "empty_file.toml": "meta: missing section",
    "enabled_not_bool.toml": "rules.fund.enabled",
    "horizon_not_whole.toml": "meta.horizon: must be a whole number",
    "incentive_unknown_city.toml": "rules.relocate.incentives.atlantis",
    "infinite_longitude.toml": "cities[capital].lon",
    "lever_as_text.toml": "rules.fund.contribution_rate",
    "lever_out_of_range.toml": "rules.tax_share.split_to_origin: must be from 0 to 1",
    "link_zero_minutes.toml": "links[0].minutes",
    "missing_sections.toml": "sectors: missing section",
    "missing_sector.toml": "sectors.productivity_10k_yuan_per_job: missing sectors: agriculture",
    "nan_population.toml": "cities[capital].population_10k",
    "negative_population.toml": "cities[capital].population_10k: must be from 0",
    "non_numeric_population.toml": "cities[capital].population_10k: must be a number",
    "number_without_source.toml": "cities[capital].population_10k: number without a source",
    "outline_bad_points.toml": "provinces[east].outline",
    "sections_of_wrong_kind.toml": "cities: must be a list of [[cities]] tables",
    "shares_not_one.toml": "cities[capital].gdp_share: shares must sum to 1",
    "target_with_two_scopes.toml": "targets[3]",
    "typo_in_key.toml": "cities[capital].populaton_10k: unknown key 'populaton_10k' (did you mean 'population_10k'?)",
    "unknown_city_in_link.toml": "links[0].to: unknown city id 'nowhere'",
    "unknown_function_type.toml": "function_stocks[3].type",
    "unknown_profile.toml": "cities[capital].profile: unknown profile id 'capitol' (did you mean 'capital'?)",
    "unknown_province.toml": "cities[capital].province: unknown province id 'north'",
    "unknown_rule.toml": "rules.joint_controll: unknown rule 'joint_controll' (did you mean 'joint_control'?)",
    "unknown_section.toml": "rulez: unknown section",
    "unknown_zone.toml": "cities[capital].zone: unknown value 'optimized' (did you mean 'optimised'?)",
    "utf8_with_bom.toml": "cities[capital].zone",
    "variant_bad_key.toml": "variant.basee: unknown key",
    "variant_cycle_a.toml": "variant.base: variants form a cycle",
    "variant_cycle_b.toml": "variant.base: variants form a cycle",
    "variant_lever_out_of_range.toml": "rules.air.decay_km: must be from 1 to 5000",
    "variant_missing_base.toml": "variant.base: capital_regoin: no such scenario. Did you mean capital_region",
    "variant_set_into_value.toml": "rules.air.decay_km",
    "variant_unknown_record.toml": "set.cities.atlantis.population_10k: no record with id 'atlantis'",
    "variant_unknown_rule.toml": "set.rules.eco_compensation.enabled: unknown rule",
    "wrong_encoding.toml": "not UTF-8 text",
}


def validate(*args: str) -> subprocess.CompletedProcess:
    """`regionsim validate ARGS` in its own process (forked from a warm interpreter: tests/conftest.py `cli`)."""
    return cli("validate", *args)


def test_every_malformed_file_has_an_expectation():
    files = sorted(p.name for p in MALFORMED.glob("*.toml"))
    assert len(files) >= 20
    assert files == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_validate_rejects_with_key_path(name):
    done = validate(str(MALFORMED / name))
    report = done.stdout + done.stderr
    assert done.returncode == 2, report
    assert "Traceback" not in report
    assert EXPECTED[name] in report, report
    assert name in report or "three_cities.toml (via" in report, "the report names the file"


def test_every_problem_is_reported_at_once():
    done = validate(str(MALFORMED / "empty_file.toml"))
    report = done.stdout + done.stderr
    for section in ("meta", "sectors", "profiles", "provinces", "cities"):
        assert f"{section}: missing section" in report


def test_several_files_in_one_call():
    done = validate(str(MALFORMED / "unknown_zone.toml"), str(MALFORMED / "wrong_encoding.toml"), "bohai_rim")
    report = done.stdout + done.stderr
    assert done.returncode == 2
    assert "unknown_zone.toml" in report and "wrong_encoding.toml" in report
    assert "Traceback" not in report


def test_shipped_library_validates():
    names = ["capital_region", "bohai_rim", "harbin_changchun", *sorted(p.stem for p in (ROOT / "scenarios" / "variants").glob("*.toml"))]
    done = validate(*names)
    assert done.returncode == 0, done.stdout + done.stderr
