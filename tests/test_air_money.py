"""Issue 12: AIR's equation by hand for one year, the source–receptor form, abatement that costs
someone, leakage control on new capacity, fund clean-up that buys abatement, services as a bounded
stock, and growth that slows with income — each on the hand-made three-city state."""

from __future__ import annotations

import math

import numpy as np
import pytest
from regionsim.model.rules import air, fund, growth, joint_control, services
from regionsim.model.sectors import POLLUTANT_INDEX, SECTOR_INDEX

from tests.conftest import three_city_context

A, B, C = 0, 1, 2  # capital, newtown, milltown
QUIET = {
    "rules.air.backward_cut_rate": 0.0,
    "rules.air.coal_cap_factor": 10.0,
    "rules.joint_control.enabled": False,
    "rules.policy.enabled": False,
}


def _km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance (km), written out independently of the model."""
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def test_air_one_year_by_hand():
    """Year base+1: intensities fall once (t − base = 1), PM = background + k · SR · load."""
    ctx = three_city_context({**QUIET, "rules.air.intensity_decline": 0.1, "rules.air.wind_skew": 0.0})
    s, p = ctx.state, ctx.params["air"]
    assert s.year == s.base_year + 1
    out0, k, bg = s.base_output.copy(), s.pm25_scale.copy(), s.pm25_background.copy()
    fn = np.zeros((3, len(out0[0])))
    np.add.at(fn, s.fn_host, s.fn_output[:, None] * s.fn_emission_factor[:, None] * np.eye(len(out0[0]))[s.fn_sector])
    air.apply(ctx)
    intensity = s.base_intensity * 0.9  # one year of a 10% decline, not two
    np.testing.assert_allclose(s.intensity, intensity)
    e = (out0 + fn) @ intensity
    load = e[:, POLLUTANT_INDEX["pm25"]] + 0.3 * e[:, POLLUTANT_INDEX["so2"]] + 0.2 * e[:, POLLUTANT_INDEX["nox"]]
    where = [(116.8, 39.9, 2000.0), (117.1, 40.2, 1000.0), (115.7, 39.8, 5000.0)]
    sr = np.eye(3)
    for c, (lon_c, lat_c, area_c) in enumerate(where):
        for j, (lon_j, lat_j, _) in enumerate(where):
            if c != j:
                d = _km(lon_c, lat_c, lon_j, lat_j)
                sr[c, j] = min(1.0, p["transport_scale"] * math.sqrt(area_c / math.pi) / (math.pi * d) * math.exp(-d / p["decay_km"]))
    np.testing.assert_allclose(s.pm25, bg + k * (sr @ load), rtol=1e-9)
    # the base year's PM2.5 was 40/35/50; a 10% cleaner year with unchanged output gives 10% less above background
    np.testing.assert_allclose(s.pm25 - bg, 0.9 * (np.array([40.0, 35.0, 50.0]) - bg), rtol=1e-9)


def test_source_receptor_is_normalised_and_falls_with_distance():
    s = three_city_context().state
    sr = s.source_receptor
    assert np.allclose(np.diag(sr), 1.0)
    off = sr[~np.eye(3, dtype=bool)]
    assert (off > 0).all() and (off < 1).all()  # a neighbour's tonne counts less than one's own
    # Mill Town (≈95 km from the capital) weighs less at the capital than New Town (≈42 km)
    assert sr[A, C] < sr[A, B]


def test_transport_scale_moves_outside_share_both_ways():
    low = three_city_context({"rules.air.transport_scale": 0.2})
    high = three_city_context({"rules.air.transport_scale": 2.0})
    shares = [air.outside_share(c.state, c.params["air"], c.state.city_province[B]) for c in (low, high)]
    assert 0.0 < shares[0] < shares[1] < 1.0


def test_abatement_cost_is_lost_value_added_where_it_happens():
    ctx = three_city_context({**QUIET, "rules.air.cost_10k_yuan_per_t": 100.0, "rules.air.intensity_decline": 0.0})
    s = ctx.state
    gdp0 = s.gdp().copy()
    s.province_abatement_goal[:] = 0.0
    s.jc_abatement[:] = np.array([0.0, 0.0, 0.4])  # only Mill Town abates
    air.apply(ctx)
    assert s.abatement_cost[C] > 0 and s.abatement_cost[[A, B]].sum() == 0
    # Mill Town's GDP falls by exactly its abatement cost (no sector hits the 50% bound); others unchanged
    assert gdp0[C] - s.gdp()[C] == pytest.approx(s.abatement_cost[C], rel=1e-9)
    np.testing.assert_allclose(s.gdp()[[A, B]], gdp0[[A, B]])
    # next year, with no abatement, output returns to capacity: the cost does not compound
    s.jc_abatement[:] = 0.0
    s.year += 1
    air.apply(ctx)
    np.testing.assert_allclose(s.gdp(), gdp0, rtol=1e-12)


def test_leakage_control_upgrades_new_capacity_only_when_joint_control_is_on():
    heavy = SECTOR_INDEX["heavy_industry"]
    pm = []
    for on in (True, False):
        ctx = three_city_context(
            {**QUIET, "rules.joint_control.enabled": on, "rules.air.intensity_decline": 0.0, "rules.joint_control.equipment_upgrade": 0.5}
        )
        s = ctx.state
        s.base_output[C, heavy] *= 2.0  # capacity arriving in Mill Town (transfer or growth)
        air.apply(ctx)
        assert s.clean_share[C, heavy] == pytest.approx(0.5 if on else 0.0)
        pm.append(s.pm25[C])
    assert pm[0] < pm[1]  # the pollution haven is smaller with the entry threshold


def test_joint_control_payment_base_is_the_whole_abatement_cost():
    ctx = three_city_context({"rules.joint_control.payment_rate": 1.0})
    s = ctx.state
    joint_control.coordinate(ctx)
    air.apply(ctx)
    joint_control.pay(ctx)
    b = joint_control.benefit(s)
    np.fill_diagonal(b, 0.0)
    other = s.city_province != s.city_province[C]
    received = sum(x for x, q in zip(s.transfers.amount, s.transfers.payee, strict=True) if q == C)
    assert s.abatement_cost[C] > 0
    assert received == pytest.approx(s.abatement_cost[C] * b[other, C].sum() / b[:, C].sum())


def test_fund_cleanup_money_buys_abatement_at_the_cost_per_tonne():
    ctx = three_city_context({**QUIET, "rules.air.intensity_decline": 0.0, "rules.air.cost_10k_yuan_per_t": 10.0})
    s = ctx.state
    s.fund_cleanup[:] = np.array([0.0, 0.0, 1.0])  # 1 亿元 to Mill Town = 1,000 t at 10万元/t
    _, raw = air.emissions(s)
    air.apply(ctx)
    tonnes = raw[C, air.ABATED].sum()
    assert s.abatement[C] == pytest.approx(1000.0 / tonnes)
    assert s.abatement[[A, B]].sum() == 0.0
    assert s.abatement_cost[C] == pytest.approx(1.0)  # what was bought is what was paid


def test_fund_records_its_cleanup_payments_for_air():
    ctx = three_city_context(
        {"rules.fund.share_cleanup": 1.0, "rules.fund.share_infrastructure": 0.0, "rules.fund.share_compensation": 0.0}
    )
    s = ctx.state
    fund.apply(ctx)
    assert s.fund_cleanup[C] > 0  # Mill Town (50 µg/m³) is above its target


def test_services_stock_depreciates_and_is_bounded():
    ctx = three_city_context(
        {
            "rules.services.depreciation": 0.2,
            "rules.services.max_money_ratio": 1.5,
            "rules.services.fiscal_strength": 1.0,
            "rules.services.strength": 0.0,
        }
    )
    s = ctx.state
    s0 = s.service_stock.copy()
    budget = s.fiscal_revenue.copy()
    services.apply(ctx)
    np.testing.assert_allclose(s.service_stock, 0.8 * s0 + budget)  # steady state: unchanged
    np.testing.assert_allclose(s.service_level, s.service_base)
    s.fiscal_revenue = budget * 100.0  # a windfall: the stock grows, the level stops at the bound
    for _ in range(20):
        services.apply(ctx)
    np.testing.assert_allclose(s.service_level, 1.5 * s.service_base)
    s.fiscal_revenue = budget  # money back to normal: the stock wears down toward its steady state
    for _ in range(60):
        services.apply(ctx)
    np.testing.assert_allclose(s.service_stock, s0, rtol=1e-3)


def test_growth_slows_with_income():
    """One slow-down factor for the region, on trend and productivity growth alike (growth.py)."""
    ctx = three_city_context({"rules.growth.agglomeration": 0.0, "rules.growth.spillover": 0.0, "rules.growth.convergence": 1.0})
    s = ctx.state
    p = ctx.params["growth"]
    np.testing.assert_allclose(growth.rates(ctx), np.repeat(s.output_growth[None, :], s.n_cities, axis=0))  # base year: full pace
    assert growth.productivity_growth(s, p) == pytest.approx(p["productivity_growth"])
    s.population = s.population / 2.0  # the region twice as rich per head: trend and productivity growth halve
    np.testing.assert_allclose(growth.rates(ctx), np.repeat(s.output_growth[None, :], s.n_cities, axis=0) / 2.0)
    assert growth.productivity_growth(s, p) == pytest.approx(p["productivity_growth"] / 2.0)
    s.population = s.population * 100.0  # fifty times poorer: the factor stops at its upper clip of 2
    np.testing.assert_allclose(growth.rates(ctx), np.repeat(s.output_growth[None, :], s.n_cities, axis=0) * 2.0)
    ctx.params["growth"]["convergence"] = 2.0  # a stronger elasticity slows more at the same income
    s.population = s.population / 200.0  # four times as rich as the base year: 4^−2 = 1/16, clipped to 1/4
    np.testing.assert_allclose(growth.rates(ctx), np.repeat(s.output_growth[None, :], s.n_cities, axis=0) * 0.25)
