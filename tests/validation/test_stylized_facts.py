"""Stylized facts the model must reproduce (docs/VALIDATION.md §3 justifies each size).

Seconds, not minutes: short runs of capital_region and harbin_changchun; base-year checks of bohai_rim.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from regionsim.model.model import RegionModel
from regionsim.model.rules import INITIALISED, air
from regionsim.model.scenario import load_scenario
from regionsim.model.state import build_state

RECEIVERS = ["baoding", "cangzhou", "xingtai", "hengshui"]


def _run(scenario: str, until: int | None = None, **overrides):
    return RegionModel(scenario, rng=1, until=until, **overrides).run()


@pytest.fixture(scope="module")
def capital_on_off():
    return {on: _run("capital_region", 2030, **{"rules.joint_control.enabled": on}) for on in (True, False)}


@pytest.mark.parametrize("scenario", ["bohai_rim", "capital_region"])
def test_beijing_transport_share_in_published_range(scenario):
    """Beijing's base-year PM2.5 from outside Beijing: 28–36% (2014 apportionment), 26–42% (2017)."""
    sc = load_scenario(scenario)
    state = build_state(sc)
    params = copy.deepcopy(sc.params)
    for module in INITIALISED:
        module.initialise(state, params)
    share = air.outside_share(state, params["air"], state.province_ids.index("beijing"))
    assert 0.28 <= share <= 0.36


def test_collective_action_cleaner_air_for_money(capital_on_off):
    """Joint control lowers regional PM2.5 by at least 3% by 2030 and moves at least 30亿元 between provinces."""
    on, off = (capital_on_off[k].model_frame() for k in (True, False))
    pm_on, pm_off = on.pm25_population_weighted.iloc[-1], off.pm25_population_weighted.iloc[-1]
    assert pm_on < 0.97 * pm_off
    assert on.money_joint_control_100m_yuan.sum() > 30.0
    assert off.money_joint_control_100m_yuan.sum() == 0.0
    # the downwind capital pays: Beijing's cities are net payers of joint-control money
    ev = capital_on_off[True].event_frame()
    jc = ev[(ev.rule == "JOINT_CONTROL") & (ev.kind == "payment")]
    state = capital_on_off[True].state
    beijing = {c for c, p in zip(state.city_ids, state.city_province, strict=True) if state.province_ids[p] == "beijing"}
    assert jc[jc.source.isin(beijing)].amount.sum() > jc[jc.target.isin(beijing)].amount.sum()


def test_pollution_haven_smaller_with_leakage_control(capital_on_off):
    """Industry moving into Hebei's cheap cities raises their emissions less when the entry threshold applies."""
    frames = {k: m.agent_frame() for k, m in capital_on_off.items()}
    last = max(frames[True].year)
    so2 = {}
    for k, f in frames.items():
        rows = f[(f.agent_type == "city") & f.key.isin(RECEIVERS) & (f.year == last)]
        so2[k] = rows.so2_t.sum()
    assert so2[True] < 0.95 * so2[False]


@pytest.mark.parametrize("scenario", ["capital_region", "bohai_rim", "harbin_changchun", "classroom"])
def test_no_accelerating_growth(scenario):
    """Under default levers, GDP growth never climbs by more than 0.15 points a year, and ends no higher
    than 0.1 point above its first two years (a short hump while abatement costs ramp in is allowed)."""
    g = _run(scenario).model_frame().gdp_total_100m_yuan.to_numpy()
    rate = g[1:] / g[:-1] - 1.0
    assert np.diff(rate).max() < 0.0015
    assert rate[-1] <= rate[:2].max() + 0.001


def test_services_bounded_under_top_fund_lever():
    """At the fund's top contribution rate, no city's service level leaves [1/2, 2]× its base (max_money_ratio)."""
    m = _run("capital_region", 2028, **{"rules.fund.contribution_rate": 0.2, "rules.services.strength": 0.0})
    s = m.state
    ratio = s.service_level / s.service_base
    assert ratio.min() >= 0.5**0.5 - 1e-9 and ratio.max() <= 2.0**0.5 + 1e-9
