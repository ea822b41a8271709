"""The mechanisms that brought dead levers to life, each on a hand-computed case:
the service stock's saturating money factor, links that approach their fastest time, cost indices
that follow relative income and density, the labour ceiling relative to the base year, CO2 by
province on the accounting basis ENERGY chooses, and TRANSFER's event-log threshold as a display
setting rather than a lever."""

from __future__ import annotations

import math

import numpy as np
import pytest
from regionsim.model.errors import ScenarioError
from regionsim.model.model import RegionModel
from regionsim.model.rules import REGISTRY, fund, growth, services

from tests.conftest import three_city_context

A, B, C = 0, 1, 2  # capital, newtown, milltown


def test_money_factor_follows_the_stock_near_the_base_and_saturates_at_the_bound():
    ratio = np.array([1.0, 2.0, 0.5, 1e6])
    money = services.money_factor(ratio, 2.0)
    assert money[0] == pytest.approx(1.0)
    assert money[1] == pytest.approx(2.0 ** math.tanh(1.0))  # ln 2 / ln 2 = 1: 2^0.7616 = 1.695
    assert money[2] == pytest.approx(1.0 / money[1])  # as much below as above
    assert 1.9999 < money[3] <= 2.0  # never past the bound
    assert services.money_factor(np.array([1.1]), 2.0)[0] == pytest.approx(1.1, rel=2e-3)  # ≈ the ratio near 1
    # a looser bound lets a doubling do more: 6^tanh(ln 2 / ln 6) = 1.936
    assert services.money_factor(np.array([2.0]), 6.0)[0] == pytest.approx(6.0 ** math.tanh(math.log(2) / math.log(6)))
    np.testing.assert_allclose(services.money_factor(ratio, 1.0), 1.0)  # B = 1: money does nothing


def test_links_approach_their_fastest_time():
    factor = np.array([1.0, 0.7, 0.61, 1.0])
    amount = np.array([10.0, 10.0, 10.0, 0.0])
    out = fund.faster_links(factor, amount, 0.002, 0.6)
    # a new link: 10 亿元 cut 0.002 · 10 = 2% of its base time; nearer the floor, the same money cuts less
    np.testing.assert_allclose(out, [1.0 - 0.02, 0.6 + 0.1 * 0.95, 0.6 + 0.01 * 0.95, 1.0])
    assert (fund.faster_links(factor, np.full(4, 1e6), 0.002, 0.6) >= 0.6 - 1e-12).all()  # never past the floor
    np.testing.assert_allclose(fund.faster_links(factor, amount, 0.002, 1.0), factor)  # floor 1: nothing changes
    # a lower floor leaves more to gain: the same spending cuts more
    assert (
        fund.faster_links(np.array([0.8]), np.array([10.0]), 0.002, 0.3)[0]
        < fund.faster_links(np.array([0.8]), np.array([10.0]), 0.002, 0.6)[0]
    )


def test_cost_index_follows_relative_income_and_density():
    ctx = three_city_context({"rules.growth.cost_income_elasticity": 0.5, "rules.growth.cost_density_elasticity": 1.0})
    s, p = ctx.state, ctx.params["growth"]
    np.testing.assert_allclose(growth.cost_indices(s, p), s.cost_index0)  # base year: unchanged
    s.base_output *= 2.0  # everyone twice as rich: relative income unchanged, so costs unchanged
    s.fn_output *= 2.0
    np.testing.assert_allclose(growth.cost_indices(s, p), s.cost_index0)
    total = s.population.sum()
    s.population = s.population.copy()
    s.population[C] *= 1.21  # Mill Town crowds by 21% while the region's residents are fixed
    s.population *= total / s.population.sum()
    income = (s.gdp() / s.population) / s.city_gdp_per_capita0 / (s.gdp().sum() / s.population.sum() / s.gdp_per_capita0)
    crowding = (s.population / s.initial_population) / (s.population.sum() / s.initial_population.sum())
    np.testing.assert_allclose(growth.cost_indices(s, p), s.cost_index0 * income**0.5 * crowding)
    assert growth.cost_indices(s, p)[C] > s.cost_index0[C]  # denser (and poorer per head, less so): dearer
    assert growth.cost_indices(s, p)[A] < s.cost_index0[A]  # emptier relative to the region: cheaper


def test_job_ceiling_is_relative_to_the_base_year():
    ctx = three_city_context({"rules.growth.max_jobs_per_worker": 1.5})
    s = ctx.state
    per_resident = s.jobs().sum() / s.population.sum()
    assert s.jobs_per_resident0 == pytest.approx(per_resident)
    assert growth.job_limit(ctx) == pytest.approx(1.5 * per_resident * s.population.sum())
    s.population = s.population * 2.0
    assert growth.job_limit(ctx) == pytest.approx(3.0 * per_resident * s.population.sum() / 2.0)
    ctx.params["growth"]["max_jobs_per_worker"] = 0.5  # below today's jobs: growth above productivity stops
    s.population = s.population / 2.0
    rate = np.full_like(s.base_output, 0.10)
    limited, k = growth.labour_limited(ctx, rate)
    assert k == 0.0
    np.testing.assert_allclose(limited, growth.productivity_growth(s, ctx.params["growth"]))
    assert REGISTRY["migrate"].lever("participation") is None  # it would cancel: not presented as a lever


def test_province_co2_counts_energy_exports_where_they_are_used():
    kwargs = dict(rng=1, until=2015, record_functions=False)
    production = RegionModel("bohai_rim", **kwargs).run()
    consumption = RegionModel("bohai_rim", **kwargs, **{"rules.energy.consumption_accounting": True}).run()
    a, b = production.model_frame().iloc[-1], consumption.model_frame().iloc[-1]
    cols = [f"co2_{pid}_t" for pid in production.state.province_ids]
    assert a[cols].sum() == pytest.approx(b[cols].sum(), rel=1e-9)  # the region's total is the same
    assert a[cols].sum() == pytest.approx(a["emissions_co2_t"], rel=1e-9)
    assert b["co2_shanxi_t"] < 0.9 * a["co2_shanxi_t"]  # an energy base carries less of its exports' CO2
    assert b["co2_shandong_t"] > a["co2_shandong_t"]  # an importer carries more
    first = production.model_frame().iloc[0]  # base year: nothing traded, both bases agree
    assert consumption.model_frame().iloc[0][cols].to_numpy() == pytest.approx(first[cols].to_numpy())


def test_event_threshold_is_a_display_setting_not_a_lever():
    assert REGISTRY["transfer"].lever("event_threshold_100m_yuan") is None
    assert "event_threshold_100m_yuan" in REGISTRY["transfer"].list_params
    few = RegionModel("bohai_rim", rng=1, until=2015, **{"rules.transfer.event_threshold_100m_yuan": 20.0}).run()
    many = RegionModel("bohai_rim", rng=1, until=2015).run()
    transfers = [len(m.event_frame().query("rule == 'TRANSFER'")) for m in (few, many)]
    assert 0 < transfers[0] < transfers[1]  # fewer rows logged …
    np.testing.assert_array_equal(few.model_frame().to_numpy(), many.model_frame().to_numpy())  # … nothing else changes
    with pytest.raises(ScenarioError, match="event_threshold_100m_yuan: must be a number from 0"):
        RegionModel("bohai_rim", rng=1, until=2015, **{"rules.transfer.event_threshold_100m_yuan": -1.0})
