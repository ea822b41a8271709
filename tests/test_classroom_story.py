"""The classroom story comes true: each prediction in the header of
scenarios/classroom.toml, as an assertion with a direction and a size, for seeds 1–5.

The sizes follow from the scenario's round numbers (docs/VALIDATION.md §3, "Classroom"):
Mill Town starts at 50 µg/m³; Capital at 40; the Capital's 20 heavy-plant units (18万 jobs ×
30万元 = 180亿元 of steel, 20 t of PM2.5-forming load per 亿元) are about 15% of Mill Town's own
load, so receiving most of them without clean equipment adds several µg/m³; joint control halves
the moved plants' emissions (equipment_upgrade 0.5) and abates where the smoke reaches most people.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from regionsim.model.model import RegionModel
from regionsim.model.sectors import FUNCTION_TYPE_INDEX

SEEDS = (1, 2, 3, 4, 5)
BASE_PM = {"milltown": 50.0, "capital": 40.0}  # the scenario's base-year values
VARIANTS = {
    "on": {},
    "off": {"rules.joint_control.enabled": False},
    "off_no_moves": {"rules.joint_control.enabled": False, "rules.relocate.enabled": False},
}


@pytest.fixture(scope="module")
def runs() -> dict[tuple[str, int], RegionModel]:
    return {(label, seed): RegionModel("classroom", rng=seed, **overrides).run() for label, overrides in VARIANTS.items() for seed in SEEDS}


def _pm(model: RegionModel, city: str) -> pd.Series:
    frame = model.agent_frame()
    rows = frame[(frame.agent_type == "city") & (frame.key == city)]
    return rows.set_index("year")["pm25"]


def _paid(model: RegionModel, rule: str, source: str | None = None, target: str | None = None) -> float:
    ev = model.event_frame()
    rows = ev[(ev.kind == "payment") & (ev.rule == rule)]
    if source:
        rows = rows[rows.source == source]
    if target:
        rows = rows[rows.target == target]
    return float(rows.amount.sum())


@pytest.mark.parametrize("seed", SEEDS)
def test_factories_and_markets_go_to_mill_town_universities_to_new_town(runs, seed):
    """Steel works leave the Capital for Mill Town only; factories and markets at least 90% for Mill Town (the logit
    choice now and then sends a bundle of factories to New Town, which offers incentives), never to Green County;
    universities to New Town."""
    ev = runs["on", seed].event_frame()
    moves = ev[(ev.kind == "relocation") & (ev.source == "capital")]
    heavy = moves[moves.function_type == "heavy_industry_plant"]
    assert set(heavy.target) == {"milltown"}
    assert heavy.units.sum() >= 14  # of 20
    rest = moves[moves.function_type.isin(["general_manufacturing_plant", "wholesale_market"])]
    assert set(rest.target) <= {"milltown", "newtown"}
    assert rest.units.sum() >= 35  # of 50
    assert rest[rest.target == "milltown"].units.sum() >= 0.9 * rest.units.sum()
    universities = moves[moves.function_type == "university"]
    assert set(universities.target) == {"newtown"}
    assert universities.units.sum() >= 3  # of 6


@pytest.mark.parametrize("seed", SEEDS)
def test_mill_town_pm25_rises_with_the_factories_without_joint_control(runs, seed):
    """Without joint control Mill Town's PM2.5 ends ≥ 5 µg/m³ above its base, and ≥ 5 above the same run without relocation."""
    off, still = _pm(runs["off", seed], "milltown"), _pm(runs["off_no_moves", seed], "milltown")
    assert off.iloc[0] == pytest.approx(BASE_PM["milltown"])
    assert off.iloc[-1] >= BASE_PM["milltown"] + 5.0
    assert off.iloc[-1] >= still.iloc[-1] + 5.0  # the rise is the factories', not growth in place (≈ +0.8)
    assert np.diff(off.to_numpy()).min() > -0.5  # it rises, it does not merely end higher


@pytest.mark.parametrize("seed", SEEDS)
def test_joint_control_cleans_mill_town_and_its_moved_plants(runs, seed):
    """With joint control Mill Town's PM2.5 ends ≥ 5 µg/m³ below its base and ≥ 10 below the run without it;
    every heavy plant that crossed into West Province, and every other moved industrial plant, runs at half its
    emission factor (clean equipment)."""
    on, off = _pm(runs["on", seed], "milltown"), _pm(runs["off", seed], "milltown")
    assert on.iloc[-1] <= BASE_PM["milltown"] - 5.0
    assert on.iloc[-1] <= off.iloc[-1] - 10.0
    for label, factor in (("on", 0.5), ("off", 1.0)):
        s = runs[label, seed].state
        heavy = s.fn_type == FUNCTION_TYPE_INDEX["heavy_industry_plant"]
        heavy_moved = heavy & (s.fn_host == s.city_ids.index("milltown")) & (s.fn_host != s.fn_origin)
        assert heavy_moved.sum() >= 7  # bundles of 2 units
        np.testing.assert_allclose(s.fn_emission_factor[heavy_moved], factor)
        # the entry threshold covers every moved industrial plant, wherever it went (general manufacturing too)
        industrial = np.isin(s.fn_type, [FUNCTION_TYPE_INDEX[t] for t in ("heavy_industry_plant", "general_manufacturing_plant")])
        moved = industrial & (s.fn_host != s.fn_origin)
        assert (moved & ~heavy).sum() >= 1
        np.testing.assert_allclose(s.fn_emission_factor[moved], factor)


@pytest.mark.parametrize("seed", SEEDS)
def test_capital_pays_for_mill_towns_abatement(runs, seed):
    """Joint-control money flows Capital → Mill Town on net: ≥ 30亿元 over the run and ≥ 1.5× the reverse flow."""
    model = runs["on", seed]
    to_mill = _paid(model, "JOINT_CONTROL", "capital", "milltown")
    to_capital = _paid(model, "JOINT_CONTROL", "milltown", "capital")
    assert to_mill - to_capital >= 30.0
    assert to_mill >= 1.5 * to_capital
    assert _paid(runs["off", seed], "JOINT_CONTROL") == 0.0


@pytest.mark.parametrize("seed", SEEDS)
def test_capital_air_hardly_improves_without_joint_control(runs, seed):
    """The Capital sends its factories away, but their smoke blows back: without joint control its PM2.5 stays
    within 1.5 µg/m³ of 40; with it, it ends ≥ 5 µg/m³ lower (at most 35)."""
    on, off = _pm(runs["on", seed], "capital"), _pm(runs["off", seed], "capital")
    assert abs(off.iloc[-1] - BASE_PM["capital"]) <= 1.5
    assert on.iloc[-1] <= BASE_PM["capital"] - 5.0


@pytest.mark.parametrize("seed", SEEDS)
def test_mill_town_shares_taxes_with_the_capital_until_three_years_worth(runs, seed):
    """TAX_SHARE: Mill Town pays the Capital ≥ 40亿元 over the run; no contract pays more than three years of the
    unit's pre-move tax; contracts opened by 2028 (six or more years of half the tax) are paid in full and closed."""
    model = runs["on", seed]
    s = model.state
    assert _paid(model, "TAX_SHARE", "milltown", "capital") >= 40.0
    assert _paid(model, "TAX_SHARE", "capital") == 0.0  # the Capital pays nobody: it only receives
    mill = s.city_ids.index("milltown")
    received = (s.fn_host == mill) & (s.fn_origin == s.city_ids.index("capital"))
    assert (s.fn_contract_paid[received] <= s.fn_contract_cap[received] * (1 + 1e-9) + 1e-12).all()
    early = received & (s.fn_year_moved <= 2028)
    assert early.sum() >= 5
    np.testing.assert_allclose(s.fn_contract_paid[early], s.fn_contract_cap[early], rtol=1e-9)
    assert (s.fn_contract_origin[early] == -1).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_capital_and_new_town_pay_green_county(runs, seed):
    """ECO_COMP: only the Capital and New Town pay, only Green County receives, at least 5万元/km² × 8,000 km²
    = 4亿元 a year (plus a share of the output it gives up)."""
    model = runs["on", seed]
    ev = model.event_frame()
    eco = ev[(ev.kind == "payment") & (ev.rule == "ECO_COMP")]
    assert set(eco.source) == {"capital", "newtown"}
    assert set(eco.target) == {"greencounty"}
    yearly = eco.groupby("year").amount.sum()
    assert len(yearly) == 10
    assert yearly.min() >= 4.0 - 1e-9
